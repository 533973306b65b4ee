"""Independent NumPy implementations of the optimizers beyond Lasagne, written from their papers'
equations (in the forms of the reference implementation each docstring names), one array at a time.

Each ``ref_<rule>(p, grads, **hyper)`` returns the list of parameter values after each step, computing in
``p``'s dtype (scalar schedules such as NAdam's momentum product are computed in float64, then cast).
"""

import numpy as np

from support.reference import _typed


def ref_sgd_torch(p, grads, learning_rate, momentum=0.0, weight_decay=0.0, nesterov=False):
    h = _typed(p, lr=learning_rate, mu=momentum, wd=weight_decay)
    buf = None
    out = []
    for g in grads:
        d = g + h["wd"] * p
        if h["mu"] != 0:
            buf = d if buf is None else h["mu"] * buf + d  # torch starts the buffer at the first gradient
            d = d + h["mu"] * buf if nesterov else buf
        p = p - h["lr"] * d
        out.append(p)
    return out


def ref_adagrad_torch(
    p, grads, learning_rate, epsilon, lr_decay=0.0, initial_accumulator_value=0.0, outside=False
):
    h = _typed(p, lr=learning_rate, eps=epsilon, decay=lr_decay, one=1)
    a = np.full_like(p, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads):
        a = a + g * g
        rate = h["lr"] / (h["one"] + p.dtype.type(t) * h["decay"])
        p = p - rate * g / ((np.sqrt(a) + h["eps"]) if outside else np.sqrt(a + h["eps"]))
        out.append(p)
    return out


def _adam_loop(p, grads, beta1, beta2, direction):
    """Shared loop: m, v moments with bias-correction factors; ``direction(m, v, c1, c2, g)``."""
    h = _typed(p, b1=beta1, b2=beta2, one=1)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        t = p.dtype.type(t)
        m = h["b1"] * m + (h["one"] - h["b1"]) * g
        v = h["b2"] * v + (h["one"] - h["b2"]) * g * g
        yield direction(m, v, h["one"] - h["b1"] ** t, h["one"] - h["b2"] ** t, g, t)


def ref_adam_outside(p, grads, learning_rate, beta1, beta2, epsilon):
    lr, eps = _typed(p, lr=learning_rate, eps=epsilon).values()
    out = []
    for d in _adam_loop(
        p, grads, beta1, beta2, lambda m, v, c1, c2, g, t: (m / c1) / (np.sqrt(v / c2) + eps)
    ):
        p = p - lr * d
        out.append(p)
    return out


def ref_adamw(p, grads, learning_rate, beta1, beta2, epsilon, weight_decay):
    lr, eps, wd = _typed(p, lr=learning_rate, eps=epsilon, wd=weight_decay).values()
    out = []
    for d in _adam_loop(
        p, grads, beta1, beta2, lambda m, v, c1, c2, g, t: (m / c1) / (np.sqrt(v / c2) + eps)
    ):
        p = p * (p.dtype.type(1) - lr * wd) - lr * d  # torch: p.mul_(1 - lr * wd), then the Adam step
        out.append(p)
    return out


def ref_nadam(p, grads, learning_rate, beta1, beta2, epsilon, momentum_decay):
    lr, eps = _typed(p, lr=learning_rate, eps=epsilon).values()
    product = 1.0
    out = []

    def mu(t):
        return beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))

    for t, d in enumerate(_adam_loop(p, grads, beta1, beta2, lambda *a: a), start=1):
        m, v, _, c2, g, _ = d
        product *= mu(t)
        on_g = p.dtype.type((1 - mu(t)) / (1 - product))
        on_m = p.dtype.type(mu(t + 1) / (1 - product * mu(t + 1)))
        denom = np.sqrt(v / c2) + eps
        p = p - lr * on_g * g / denom - lr * on_m * m / denom
        out.append(p)
    return out


def ref_radam(p, grads, learning_rate, beta1, beta2, epsilon, hat=True):
    lr, eps = _typed(p, lr=learning_rate, eps=epsilon).values()
    rho_inf = 2 / (1 - beta2) - 1
    out = []
    for t, (m, v, c1, c2, _, _) in enumerate(_adam_loop(p, grads, beta1, beta2, lambda *a: a), start=1):
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        m_hat = m / c1
        if rho_t > 5:
            r = p.dtype.type(
                np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            )
            adaptive = np.sqrt(c2) / (np.sqrt(v) + eps) if hat else 1 / (np.sqrt(v / c2) + eps)
            p = p - lr * m_hat * r * adaptive
        else:
            p = p - lr * m_hat
        out.append(p)
    return out


def ref_lion(p, grads, learning_rate, beta1, beta2, weight_decay):
    h = _typed(p, lr=learning_rate, b1=beta1, b2=beta2, wd=weight_decay, one=1)
    m = np.zeros_like(p)
    out = []
    for g in grads:
        c = np.sign(h["b1"] * m + (h["one"] - h["b1"]) * g)
        p = p - h["lr"] * (c + h["wd"] * p)
        m = h["b2"] * m + (h["one"] - h["b2"]) * g
        out.append(p)
    return out


def ref_rprop(p, grads, learning_rate, etaminus, etaplus, min_step, max_step):
    h = _typed(p, em=etaminus, ep=etaplus, lo=min_step, hi=max_step)
    prev = np.zeros_like(p)
    size = np.full_like(p, learning_rate)
    out = []
    for g in grads:
        product = g * prev
        size = np.where(product > 0, size * h["ep"], np.where(product < 0, size * h["em"], size))
        size = np.minimum(np.maximum(size, h["lo"]), h["hi"])
        g = np.where(product < 0, np.zeros_like(g), g)
        p = p - np.sign(g) * size
        prev = g
        out.append(p)
    return out


def ref_sign_sgd(p, grads, learning_rate):
    lr = p.dtype.type(learning_rate)
    out = []
    for g in grads:
        p = p - lr * np.sign(g)
        out.append(p)
    return out


def ref_signum(p, grads, learning_rate, momentum):
    h = _typed(p, lr=learning_rate, mu=momentum, one=1)
    m = np.zeros_like(p)
    out = []
    for g in grads:
        m = h["mu"] * m + (h["one"] - h["mu"]) * g  # Bernstein et al.'s Algorithm 1
        p = p - h["lr"] * np.sign(m)
        out.append(p)
    return out


def ref_yogi(p, grads, learning_rate, beta1, beta2, epsilon, initial_accumulator_value):
    h = _typed(p, lr=learning_rate, b1=beta1, b2=beta2, eps=epsilon, one=1)
    m = np.full_like(p, initial_accumulator_value)  # optax starts both moments there
    v = np.full_like(p, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, start=1):
        t = p.dtype.type(t)
        m = h["b1"] * m + (h["one"] - h["b1"]) * g
        v = v - (h["one"] - h["b2"]) * np.sign(v - g * g) * g * g
        m_hat, v_hat = m / (h["one"] - h["b1"] ** t), v / (h["one"] - h["b2"] ** t)
        p = p - h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])
        out.append(p)
    return out


def ref_adabelief(p, grads, learning_rate, beta1, beta2, epsilon):
    h = _typed(p, lr=learning_rate, b1=beta1, b2=beta2, eps=epsilon, one=1)
    m = np.zeros_like(p)
    s = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        t = p.dtype.type(t)
        m = h["b1"] * m + (h["one"] - h["b1"]) * g
        s = h["b2"] * s + (h["one"] - h["b2"]) * (g - m) ** 2 + h["eps"]
        m_hat, s_hat = m / (h["one"] - h["b1"] ** t), s / (h["one"] - h["b2"] ** t)
        p = p - h["lr"] * m_hat / (np.sqrt(s_hat) + h["eps"])
        out.append(p)
    return out


def _trust(p, u, coefficient=1.0, eps=0.0):
    p_norm, u_norm = np.sqrt(np.sum(p * p)), np.sqrt(np.sum(u * u))
    if p_norm == 0 or u_norm == 0:
        return u
    return u * (p.dtype.type(coefficient) * p_norm / (u_norm + p.dtype.type(eps)))


def ref_lamb(p, grads, learning_rate, beta1, beta2, epsilon, weight_decay):
    lr, eps, wd = _typed(p, lr=learning_rate, eps=epsilon, wd=weight_decay).values()
    out = []
    for m, v, c1, c2, _, _ in _adam_loop(p, grads, beta1, beta2, lambda *a: a):
        u = (m / c1) / (np.sqrt(v / c2) + eps) + wd * p
        p = p - lr * _trust(p, u)
        out.append(p)
    return out


def ref_lars(p, grads, learning_rate, momentum, weight_decay, trust_coefficient, epsilon):
    h = _typed(p, lr=learning_rate, mu=momentum, wd=weight_decay)
    b = np.zeros_like(p)
    out = []
    for g in grads:
        u = _trust(p, g + h["wd"] * p, trust_coefficient, epsilon)
        b = h["mu"] * b + u
        p = p - h["lr"] * b
        out.append(p)
    return out


def ref_novograd(p, grads, learning_rate, beta1, beta2, epsilon, weight_decay):
    h = _typed(p, lr=learning_rate, b1=beta1, b2=beta2, eps=epsilon, wd=weight_decay, one=1)
    m = np.zeros_like(p)
    n = None
    out = []
    for g in grads:
        norm2 = np.sum(g * g)
        n = norm2 if n is None else h["b2"] * n + (h["one"] - h["b2"]) * norm2
        m = h["b1"] * m + (g / (np.sqrt(n) + h["eps"]) + h["wd"] * p)
        p = p - h["lr"] * m
        out.append(p)
    return out


def ref_adafactor(
    p, grads, learning_rate, decay_rate, clipping_threshold, epsilon2, weight_decay, epsilon1=None
):
    t_ = p.dtype.type
    eps1 = t_(np.finfo(p.dtype).eps if epsilon1 is None else epsilon1)
    factored = p.ndim >= 2
    row = np.zeros(p.shape[:-1] + (1,), p.dtype) if factored else None
    col = np.zeros(p.shape[:-2] + (1, p.shape[-1]), p.dtype) if factored else None
    v = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        w = t_(t) ** t_(-decay_rate)
        rho = min(t_(learning_rate), t_(1) / np.sqrt(t_(t)))
        alpha = max(t_(epsilon2), np.sqrt(np.mean(p * p))) * rho
        if factored:
            row = (1 - w) * row + w * np.mean(g * g, axis=-1, keepdims=True)
            col = (1 - w) * col + w * np.mean(g * g, axis=-2, keepdims=True)
            estimate = (row * col) / np.maximum(np.mean(row, axis=-2, keepdims=True), eps1)
        else:
            v = (1 - w) * v + w * g * g
            estimate = v
        u = g / np.sqrt(np.maximum(estimate, eps1 * eps1))
        clip = max(t_(1), np.sqrt(np.mean(u * u)) / t_(clipping_threshold))
        p = p * (t_(1) - t_(learning_rate) * t_(weight_decay)) - alpha / clip * u
        out.append(p)
    return out


REFERENCES_MORE = {
    "nadam": ref_nadam,
    "adamw": ref_adamw,
    "radam": ref_radam,
    "lion": ref_lion,
    "rprop": ref_rprop,
    "sign_sgd": ref_sign_sgd,
    "signum": ref_signum,
    "yogi": ref_yogi,
    "adabelief": ref_adabelief,
    "lamb": ref_lamb,
    "lars": ref_lars,
    "adafactor": ref_adafactor,
    "novograd": ref_novograd,
}

# Two settings per rule: its defaults, and one far from them (applied through symbolic inputs).
DEFAULTS_MORE = {
    "nadam": dict(learning_rate=2e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, momentum_decay=4e-3),
    "adamw": dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=1e-2),
    "radam": dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8),
    "lion": dict(learning_rate=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0),
    "rprop": dict(learning_rate=1e-2, etaminus=0.5, etaplus=1.2, min_step=1e-6, max_step=50.0),
    "sign_sgd": dict(learning_rate=1e-3),
    "signum": dict(learning_rate=1e-3, momentum=0.9),
    "yogi": dict(learning_rate=1e-2, beta1=0.9, beta2=0.999, epsilon=1e-3, initial_accumulator_value=1e-6),
    "adabelief": dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-16),
    "lamb": dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-6, weight_decay=0.0),
    "lars": dict(learning_rate=0.1, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3, epsilon=0.0),
    "adafactor": dict(
        learning_rate=1e-2, decay_rate=0.8, clipping_threshold=1.0, epsilon2=1e-3, weight_decay=0.0
    ),
    "novograd": dict(learning_rate=1e-3, beta1=0.9, beta2=0.25, epsilon=1e-6, weight_decay=0.0),
    # Their numbers are checked against torch and optax in tests/integration/test_parity.py; here for backends
    # and fusion.
    "muon": dict(learning_rate=1e-3, weight_decay=0.1, momentum=0.95),
    "schedule_free_adamw": dict(learning_rate=0.0025, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.0),
    "schedule_free_sgd": dict(learning_rate=1.0, beta1=0.9, weight_decay=0.0),
    "prodigy": dict(learning_rate=1.0, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.0),
    "dadapt_adamw": dict(learning_rate=1.0, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=0.0),
}

OTHER_MORE = {
    "nadam": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4, momentum_decay=0.1),
    "adamw": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4, weight_decay=0.3),
    "radam": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4),
    "lion": dict(learning_rate=0.05, beta1=0.5, beta2=0.8, weight_decay=0.2),
    "rprop": dict(learning_rate=1e-2, etaminus=0.3, etaplus=1.5, min_step=5e-3, max_step=0.03),
    "sign_sgd": dict(learning_rate=0.07),
    "signum": dict(learning_rate=0.05, momentum=0.5),
    "yogi": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4, initial_accumulator_value=1e-6),
    "adabelief": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4),
    "lamb": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4, weight_decay=0.3),
    "lars": dict(learning_rate=0.5, momentum=0.5, weight_decay=0.3, trust_coefficient=0.1, epsilon=1e-3),
    "adafactor": dict(
        learning_rate=0.3, decay_rate=0.6, clipping_threshold=0.5, epsilon2=0.05, weight_decay=0.2
    ),
    "novograd": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4, weight_decay=0.3),
    "muon": dict(learning_rate=0.05, weight_decay=0.3, momentum=0.5),
    "schedule_free_adamw": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4, weight_decay=0.3),
    "schedule_free_sgd": dict(learning_rate=0.05, beta1=0.5, weight_decay=0.3),
    "prodigy": dict(learning_rate=0.5, beta1=0.5, beta2=0.9, epsilon=1e-4, weight_decay=0.3),
    "dadapt_adamw": dict(learning_rate=0.5, beta1=0.5, beta2=0.9, epsilon=1e-4, weight_decay=0.3),
}
