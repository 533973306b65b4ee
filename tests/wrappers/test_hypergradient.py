"""symupdates.hypergradient against a NumPy transcription of Baydin et al. (2018), Algorithms 1-3.

The NumPy reference computes the gradient of the same loss by hand (``x.T @ r``); the compiled step
computes it with PyTensor's gradient graph, whose matrix products and sums add the same terms in another
order, so the params differ in their last bits (a few 1e-15 relative here) and the check is to 1e-12
relative after 25 steps, for the learning rates and the params.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su

STEPS = 25


def make_data():
    rng = np.random.default_rng(3)
    return {
        "W": rng.normal(scale=0.3, size=(4, 2)),
        "b": rng.normal(scale=0.1, size=2),
        "X": rng.normal(size=(STEPS, 16, 4)),
        "Y": rng.normal(size=(STEPS, 16, 2)),
    }


def numpy_grads(W, b, x, y):
    """The gradient of ``0.5 * mean over rows of ||x W + b - y||^2``."""
    r = x @ W + b - y
    return [x.T @ r / len(x), r.sum(axis=0) / len(x)]


def numpy_hd(data, alpha, beta, direction_of):
    """Baydin et al.'s loop: alpha_t = alpha_{t-1} - beta * h_t with h_t = g_t . grad_alpha u_{t-1}
    = -g_t . d_{t-1}; u_t = -alpha_t d_t. ``direction_of(t, g) -> d`` is the rule's direction."""
    params = [data["W"].copy(), data["b"].copy()]
    grad_alpha_u = [np.zeros_like(p) for p in params]
    alphas = []
    for t in range(1, STEPS + 1):
        g = numpy_grads(*params, data["X"][t - 1], data["Y"][t - 1])
        h = sum((gi * ui).sum() for gi, ui in zip(g, grad_alpha_u, strict=True))
        alpha = alpha - beta * h
        d = direction_of(t, g)
        params = [p - alpha * di for p, di in zip(params, d, strict=True)]
        grad_alpha_u = [-di for di in d]
        alphas.append(alpha)
    return params, np.array(alphas)


def sgd_direction():  # Algorithm 1, SGD-HD
    return lambda t, g: g


def nesterov_direction(mu):  # Algorithm 2, SGDN-HD: v_t = mu v_{t-1} + g_t, u_t = -alpha_t (g_t + mu v_t)
    velocity = []

    def direction(t, g):
        if not velocity:
            velocity.extend(np.zeros_like(gi) for gi in g)
        velocity[:] = [mu * v + gi for v, gi in zip(velocity, g, strict=True)]
        return [gi + mu * v for gi, v in zip(g, velocity, strict=True)]

    return direction


def adam_direction(beta1, beta2, eps):  # Algorithm 3, Adam-HD
    moments = []

    def direction(t, g):
        if not moments:
            moments.extend([np.zeros_like(gi), np.zeros_like(gi)] for gi in g)
        out = []
        for (m, v), gi in zip(moments, g, strict=True):
            m[...] = beta1 * m + (1 - beta1) * gi
            v[...] = beta2 * v + (1 - beta2) * gi**2
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            out.append(m_hat / (np.sqrt(v_hat) + eps))
        return out

    return direction


CASES = {
    "SGD-HD": (su.sgd(learning_rate=0.05), 1e-3, 0.05, sgd_direction),
    "SGDN-HD": (
        su.sgd(learning_rate=0.02, momentum=0.9, nesterov=True),
        1e-3,
        0.02,
        lambda: nesterov_direction(0.9),
    ),
    "Adam-HD": (
        su.adam(learning_rate=0.01, epsilon_placement="outside"),
        1e-4,
        0.01,
        lambda: adam_direction(0.9, 0.999, 1e-8),
    ),
}


def compiled_hd(rule, beta, data):
    W = pytensor.shared(data["W"].copy(), name="W")
    b = pytensor.shared(data["b"].copy(), name="b")
    x, y = pt.dmatrix("x"), pt.dmatrix("y")
    loss = 0.5 * ((pt.dot(x, W) + b - y) ** 2).sum(axis=1).mean()
    updates = su.hypergradient(rule, hypergradient_lr=beta)(loss, [W, b])
    step = pytensor.function([x, y], updates.monitors["learning_rate"], updates=updates, mode="NUMBA")
    return step, updates, [W, b]


@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_the_papers_algorithm(case):
    rule, beta, alpha0, direction = CASES[case]
    data = make_data()
    step, _, params = compiled_hd(rule, beta, data)
    alphas = np.array([step(data["X"][t], data["Y"][t]) for t in range(STEPS)])
    ref_params, ref_alphas = numpy_hd(data, alpha0, beta, direction())
    np.testing.assert_allclose(alphas, ref_alphas, rtol=1e-12)
    for p, ref in zip(params, ref_params, strict=True):
        np.testing.assert_allclose(p.get_value(), ref, rtol=1e-12, atol=1e-15)
    assert alphas[0] == alpha0
    # The learning rate really moved, so the comparison checks the hypergradient.
    assert abs(alphas[-1] - alpha0) > 1e-3 * alpha0


def test_learning_rate_is_named_checkpointed_state(tmp_path):
    data = make_data()
    step, updates, params = compiled_hd(su.sgd(learning_rate=0.05), 1e-3, data)
    rate = next(var for var in updates.state if var.name == "hypergradient.learning_rate")
    for t in range(3):
        step(data["X"][t], data["Y"][t])
    learned = rate.get_value()
    assert learned != 0.05
    su.save_state(updates, tmp_path / "hd.npz")
    su.reset_state(updates)
    assert rate.get_value() == 0.05
    su.load_state(updates, tmp_path / "hd.npz")
    assert rate.get_value() == learned


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="ending in scale_by_learning_rate"):
        su.hypergradient(su.scale_by_adam(), hypergradient_lr=1e-3)
    with pytest.raises(TypeError, match="must be a number"):
        su.hypergradient(su.sgd(learning_rate=su.linear_schedule(0.1, 0.0, 10)), hypergradient_lr=1e-3)
    with pytest.raises(ValueError, match="hypergradient_lr"):
        su.hypergradient(su.sgd(learning_rate=0.1), hypergradient_lr=-1.0)
