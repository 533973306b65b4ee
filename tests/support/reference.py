"""Independent NumPy implementations of the published update equations, one array at a time.

Each ``ref_<rule>(p, grads, **hyper)`` returns the list of parameter values after each step, computing in
``p``'s dtype. They are written from the equations (Lasagne's forms), not from the library's code.
"""

import numpy as np


def _typed(p, **hyper):
    t = p.dtype.type
    return {k: t(v) for k, v in hyper.items()}


def ref_sgd(p, grads, learning_rate):
    h = _typed(p, lr=learning_rate)
    out = []
    for g in grads:
        p = p - h["lr"] * g
        out.append(p)
    return out


def ref_momentum(p, grads, learning_rate, momentum):
    h = _typed(p, lr=learning_rate, mu=momentum)
    v = np.zeros_like(p)
    out = []
    for g in grads:
        x = h["mu"] * v + (p - h["lr"] * g)
        v = x - p
        p = x
        out.append(p)
    return out


def ref_nesterov_momentum(p, grads, learning_rate, momentum):
    h = _typed(p, lr=learning_rate, mu=momentum)
    v = np.zeros_like(p)
    out = []
    for g in grads:
        target = p - h["lr"] * g
        x = h["mu"] * v + target - p
        v = x
        p = h["mu"] * x + target
        out.append(p)
    return out


def ref_adagrad(p, grads, learning_rate, epsilon):
    h = _typed(p, lr=learning_rate, eps=epsilon)
    a = np.zeros_like(p)
    out = []
    for g in grads:
        a = a + g**2
        p = p - h["lr"] * g / np.sqrt(a + h["eps"])
        out.append(p)
    return out


def ref_adagrad_window(p, grads, learning_rate, epsilon, n_win, include_current_gradient=True):
    h = _typed(p, lr=learning_rate, eps=epsilon)
    squares = []
    out = []
    for g in grads:
        previous = squares
        squares = (squares + [g**2])[-n_win:]
        total = np.zeros_like(p)
        for s in squares if include_current_gradient else previous:
            total = total + s
        p = p - h["lr"] * g / np.sqrt(total + h["eps"])
        out.append(p)
    return out


def ref_rmsprop(p, grads, learning_rate, rho, epsilon):
    h = _typed(p, lr=learning_rate, rho=rho, eps=epsilon, one=1)
    a = np.zeros_like(p)
    out = []
    for g in grads:
        a = h["rho"] * a + (h["one"] - h["rho"]) * g**2
        p = p - h["lr"] * g / np.sqrt(a + h["eps"])
        out.append(p)
    return out


def ref_adadelta(p, grads, learning_rate, rho, epsilon):
    h = _typed(p, lr=learning_rate, rho=rho, eps=epsilon, one=1)
    a = np.zeros_like(p)
    u = np.zeros_like(p)
    out = []
    for g in grads:
        a = h["rho"] * a + (h["one"] - h["rho"]) * g**2
        d = g * np.sqrt(u + h["eps"]) / np.sqrt(a + h["eps"])
        p = p - h["lr"] * d
        u = h["rho"] * u + (h["one"] - h["rho"]) * d**2
        out.append(p)
    return out


def ref_adam(p, grads, learning_rate, beta1, beta2, epsilon, amsgrad=False):
    h = _typed(p, lr=learning_rate, b1=beta1, b2=beta2, eps=epsilon, one=1)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vhat = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        t = p.dtype.type(t)
        a_t = h["lr"] * np.sqrt(h["one"] - h["b2"] ** t) / (h["one"] - h["b1"] ** t)
        m = h["b1"] * m + (h["one"] - h["b1"]) * g
        v = h["b2"] * v + (h["one"] - h["b2"]) * g**2
        vhat = np.maximum(vhat, v)
        p = p - a_t * m / (np.sqrt(vhat if amsgrad else v) + h["eps"])
        out.append(p)
    return out


def ref_amsgrad(p, grads, learning_rate, beta1, beta2, epsilon):
    return ref_adam(p, grads, learning_rate, beta1, beta2, epsilon, amsgrad=True)


def ref_adamax(p, grads, learning_rate, beta1, beta2, epsilon):
    h = _typed(p, lr=learning_rate, b1=beta1, b2=beta2, eps=epsilon, one=1)
    m = np.zeros_like(p)
    u = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        t = p.dtype.type(t)
        a_t = h["lr"] / (h["one"] - h["b1"] ** t)
        m = h["b1"] * m + (h["one"] - h["b1"]) * g
        u = np.maximum(h["b2"] * u, np.abs(g))
        p = p - a_t * m / (u + h["eps"])
        out.append(p)
    return out


REFERENCES = {
    "sgd": ref_sgd,
    "momentum": ref_momentum,
    "nesterov_momentum": ref_nesterov_momentum,
    "adagrad": ref_adagrad,
    "adagrad_window": ref_adagrad_window,
    "rmsprop": ref_rmsprop,
    "adadelta": ref_adadelta,
    "adam": ref_adam,
    "amsgrad": ref_amsgrad,
    "adamax": ref_adamax,
}

# The defaults of each rule (Lasagne's and PyMC's), and a second setting far from them.
DEFAULTS = {
    "sgd": dict(learning_rate=1e-3),
    "momentum": dict(learning_rate=1e-3, momentum=0.9),
    "nesterov_momentum": dict(learning_rate=1e-3, momentum=0.9),
    "adagrad": dict(learning_rate=1.0, epsilon=1e-6),
    "adagrad_window": dict(learning_rate=0.001, epsilon=0.1, n_win=10),
    "rmsprop": dict(learning_rate=1.0, rho=0.9, epsilon=1e-6),
    "adadelta": dict(learning_rate=1.0, rho=0.95, epsilon=1e-6),
    "adam": dict(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8),
    "adamax": dict(learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8),
    "amsgrad": dict(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8),
}

OTHER = {
    "sgd": dict(learning_rate=0.3),
    "momentum": dict(learning_rate=0.05, momentum=0.5),
    "nesterov_momentum": dict(learning_rate=0.05, momentum=0.7),
    "adagrad": dict(learning_rate=0.1, epsilon=1e-3),
    "adagrad_window": dict(learning_rate=0.05, epsilon=1e-4, n_win=3),
    "rmsprop": dict(learning_rate=0.01, rho=0.5, epsilon=1e-4),
    "adadelta": dict(learning_rate=0.5, rho=0.7, epsilon=1e-4),
    "adam": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4),
    "adamax": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4),
    "amsgrad": dict(learning_rate=0.05, beta1=0.5, beta2=0.9, epsilon=1e-4),
}
