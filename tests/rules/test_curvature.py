"""Hutchinson estimates against exact Hessians (exact for a diagonal one, unbiased for a full one, balanced
and uncorrelated signs); adahessian and sophia against NumPy transcriptions of the authors' and optax's
algorithms, fed the same random vectors; the same vectors and numbers in every backend; bad input refused
when the rule is built."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from support.modes import EQUATIONS, require_mode

A = np.array([[2.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 3.0]])  # the full Hessian of the quadratic
C = np.linspace(0.5, 3.0, 40).reshape(8, 5)  # the diagonal Hessian of the separable quadratic
DRAWS = 2000


def quadratics():
    """``0.5 x^T A x + 0.5 sum(C * Y^2)``: Hessians ``A`` (full) and ``diag(C)``."""
    x = pytensor.shared(np.array([0.3, -1.0, 2.0]), name="x")
    y = pytensor.shared(np.ones((8, 5)), name="y")
    return [x, y], 0.5 * pt.dot(x, pt.dot(A, x)) + 0.5 * pt.sum(C * y**2)


def hutchinson_function(mode):
    """``f(draw) -> [estimates..., vectors..., vectors of seed 1...]`` on the quadratics."""
    params, loss = quadratics()
    draw = pt.scalar("draw", dtype="int64")
    estimates, vectors = su.hutchinson_diagonal(loss, params, draw)
    _, other_seed = su.hutchinson_diagonal(loss, params, draw, seed=1)
    return pytensor.function([draw], estimates + vectors + other_seed, mode=mode)


def test_hutchinson_estimates_are_exact_for_a_diagonal_hessian_and_unbiased_for_a_full_one():
    f = hutchinson_function("CVM")
    results = [f(d) for d in range(DRAWS)]
    estimates_x = np.array([r[0] for r in results])
    vectors_x, vectors_y = np.array([r[2] for r in results]), np.array([r[3] for r in results])
    for r in results:
        np.testing.assert_array_equal(r[1], C)  # z * (diag(C) z) = C as z^2 = 1
    # The NumPy reference with the same vectors: z * (A z).
    np.testing.assert_allclose(estimates_x, vectors_x * (vectors_x @ A), rtol=1e-14)
    # Unbiased: the mean of z_i z_j A_ij (j != i) is 0, with standard deviation sqrt(sum_j A_ij^2 / N).
    spread = np.sqrt((A**2).sum(axis=1) - np.diag(A) ** 2) / np.sqrt(DRAWS)
    assert np.all(np.abs(estimates_x.mean(axis=0) - np.diag(A)) < 5 * spread)
    # Rademacher signs, balanced and uncorrelated across elements, params, draws and seeds.
    signs = np.concatenate([vectors_x, vectors_y.reshape(DRAWS, -1)], axis=1)
    other = np.concatenate([np.array([r[k] for r in results]).reshape(DRAWS, -1) for k in (4, 5)], axis=1)
    assert set(np.unique(signs)) == {-1.0, 1.0}
    assert np.abs(signs.mean()) < 5 / np.sqrt(signs.size)
    assert np.all(np.abs(signs.mean(axis=0)) < 5 / np.sqrt(DRAWS))
    columns = np.concatenate([signs, other], axis=1)
    correlation = columns.T @ columns / DRAWS - np.eye(columns.shape[1])
    assert np.abs(correlation).max() < 5 / np.sqrt(DRAWS)
    lagged = (signs[1:] * signs[:-1]).mean(axis=0)  # draw d against draw d + 1
    assert np.all(np.abs(lagged) < 5 / np.sqrt(DRAWS))


# -- The rules against NumPy transcriptions of their algorithms ---------------------------------------------

B = np.array([0.5, -1.0])
STEPS, INTERVAL = 7, 3


def loss_and_hvp(w, K, zw, zK):
    """``L = 0.5 ||M w - B||^2 + 0.25 sum(w^4) + 0.25 sum(K^4) + 0.5 sum(K)^2``, its gradients and H z."""
    M = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 1.5]])
    r = M @ w - B
    grads = [M.T @ r + w**3, K**3 + K.sum()]
    hvps = [M.T @ (M @ zw) + 3 * w**2 * zw, 3 * K**2 * zK + zK.sum()]
    return grads, hvps


def build(rule, prefix):
    rng = np.random.default_rng(4)
    w = pytensor.shared(rng.normal(size=3), name=prefix + "w")
    K = pytensor.shared(rng.normal(size=(2, 1, 2, 2)), name=prefix + "K")
    M = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 1.5]])
    r = pt.dot(M, w) - B
    loss = 0.5 * pt.sum(r**2) + 0.25 * pt.sum(w**4) + 0.25 * pt.sum(K**4) + 0.5 * pt.sum(K) ** 2
    return [w, K], loss, rule(loss, [w, K])


def reference_adahessian(initial, vectors, lr, beta1, beta2, eps, wd, power):
    """The authors' AdaHessian step (github.com/amirgholami/adahessian) with timm's update_each."""
    params = [p.copy() for p in initial]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    history = []
    for t in range(1, STEPS + 1):
        grads, hvps = loss_and_hvp(*params, *vectors(t - 1))
        if (t - 1) % INTERVAL == 0:
            d = [z * hz for z, hz in zip(vectors(t - 1), hvps, strict=True)]
            d[1] = np.broadcast_to(np.abs(d[1]).mean(axis=(2, 3), keepdims=True), d[1].shape)
        for i, g in enumerate(grads):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * d[i] ** 2
            denom = (np.sqrt(v[i]) ** power) / np.sqrt(1 - beta2**t) ** power + eps
            params[i] = params[i] - lr * (m[i] / (1 - beta1**t) / denom + wd * params[i])
        history.append(list(params))
    return history


def reference_sophia(initial, vectors, lr, beta1, beta2, eps, wd, gamma, clip):
    """optax.contrib.scale_by_sophia's update_fn, then add_decayed_weights and the learning rate."""
    params = [p.copy() for p in initial]
    mu = [np.zeros_like(p) for p in params]
    nu = [np.zeros_like(p) for p in params]
    history, clipped = [], []
    for count in range(STEPS):
        grads, hvps = loss_and_hvp(*params, *vectors(count))
        new = []
        for i, g in enumerate(grads):
            mu[i] = beta1 * mu[i] + (1 - beta1) * g
            u = mu[i] / (1 - beta1 ** (count + 1)) / np.maximum(gamma * nu[i], eps)
            clipped.append(np.abs(u) > clip)
            new.append(params[i] - lr * (np.clip(u, -clip, clip) + wd * params[i]))
        if count % INTERVAL == 0:
            nu = [beta2 * n + (1 - beta2) * z * hz for n, z, hz in zip(nu, vectors(count), hvps, strict=True)]
        params = new
        history.append(params)
    return history, np.concatenate([c.ravel() for c in clipped])


ADAHESSIAN = dict(learning_rate=0.1, beta1=0.8, beta2=0.9, epsilon=1e-3, weight_decay=0.01, hessian_power=0.7)
SOPHIA = dict(
    learning_rate=0.1, beta1=0.9, beta2=0.5, epsilon=1e-8, weight_decay=0.01, gamma=1.0, clip_threshold=0.5
)


@pytest.mark.fast
def test_adahessian_and_sophia_match_numpy_transcriptions_with_the_same_random_vectors():
    cases = {
        "adahessian": build(su.adahessian(**ADAHESSIAN, update_interval=INTERVAL, seed=5), "a."),
        "sophia": build(su.sophia(**SOPHIA, update_interval=INTERVAL, seed=5), "s."),
    }
    initial = {name: [p.get_value() for p in params] for name, (params, _, _) in cases.items()}
    updates = {k: v for _, _, u in cases.values() for k, v in u.items()}
    draw = pt.scalar("draw", dtype="int64")
    params, loss, _ = cases["sophia"]
    _, vector_exprs = su.hutchinson_diagonal(loss, params, draw, seed=5)
    step = pytensor.function([], [], updates=updates, mode=EQUATIONS)
    vectors = pytensor.function([draw], vector_exprs, mode=EQUATIONS)
    got = {name: [] for name in cases}
    for _ in range(STEPS):
        step()
        for name, (params, _, _) in cases.items():
            got[name].append([p.get_value() for p in params])
    want = {
        "adahessian": reference_adahessian(initial["adahessian"], vectors, *ADAHESSIAN.values()),
    }
    want["sophia"], clipped = reference_sophia(initial["sophia"], vectors, *SOPHIA.values())
    assert clipped.any() and not clipped.all()  # both branches of the clip are tested
    for name in cases:
        for t, (g, w) in enumerate(zip(got[name], want[name], strict=True)):
            for k in range(2):
                np.testing.assert_allclose(g[k], w[k], rtol=1e-12, err_msg=f"{name} step {t + 1} param {k}")


def backend_run(mode):
    """The Hutchinson outputs at four draws and the params and state of both rules after each of those four
    steps, in ``mode``: one compiled function (the rules' updates, the estimates and vectors as outputs)."""
    params, loss = quadratics()
    draw = pt.scalar("draw", dtype="int64")
    estimates, vectors = su.hutchinson_diagonal(loss, params, draw)
    _, other_seed = su.hutchinson_diagonal(loss, params, draw, seed=1)
    updates = {}
    for rule, prefix in ((su.adahessian(update_interval=2), "a."), (su.sophia(update_interval=2), "s.")):
        updates.update(build(rule, prefix)[2])
    f = pytensor.function([draw], estimates + vectors + other_seed, updates=updates, mode=mode)
    outputs, states = [], []
    for d in (0, 1, 7, 2**40):  # each call is also a step of both rules
        outputs.append(f(d))
        states.append([v.get_value() for v in updates])
    return outputs, states, [v.name for v in updates]


_runs = {}


@pytest.mark.parametrize("mode", ["NUMBA", "JAX"])
def test_backends_agree_with_the_c_backend(mode):
    """The same random vectors (bit for bit) and the same trajectories in NUMBA, JAX and C."""
    require_mode(mode)
    if "CVM" not in _runs:
        _runs["CVM"] = backend_run("CVM")
    (want_outputs, want_states, names), (outputs, states, got_names) = _runs["CVM"], backend_run(mode)
    assert got_names == names
    for a, b in zip(want_outputs, outputs, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(y, x)
    for step, (want, got) in enumerate(zip(want_states, states, strict=True)):
        for name, x, y in zip(names, want, got, strict=True):
            np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-300, err_msg=f"{name} after call {step + 1}")


def test_gradients_instead_of_a_loss_and_bad_arguments_are_refused_when_built():
    w = pytensor.shared(np.ones(2), name="w")
    for rule in (su.adahessian, su.sophia):
        with pytest.raises(ValueError, match=f"{rule.__name__} needs the loss"):
            rule([2 * w], [w])
        for bad in (0, 2.5, True):
            with pytest.raises(ValueError, match="update_interval"):
                rule(update_interval=bad)
        with pytest.raises(ValueError, match="seed"):
            rule(seed=-1)
    with pytest.raises(ValueError, match="gamma"):
        su.sophia(gamma=0.0)
    assert w.get_value().tolist() == [1.0, 1.0]
