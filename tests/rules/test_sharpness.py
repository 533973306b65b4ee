"""sam and ASAM against a NumPy implementation of Foret et al.'s (and Kwon et al.'s) algorithm on a
non-quadratic loss, both in one function; the backends agree; a list of gradients is refused when the rule is
built."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su
from support.modes import EQUATIONS, require_mode

RHO, LR, MU, STEPS = 0.3, 0.1, 0.9, 6
TARGET = np.array([0.5, -1.0])


def loss_and_grads(w, W):
    """``L = 0.5 * ||W w - b||^2 + 0.25 * sum(w^4)`` and its gradients, in NumPy."""
    r = W @ w - TARGET
    return 0.5 * r @ r + 0.25 * np.sum(w**4), [W.T @ r + w**3, np.outer(r, w)]


def reference_sam(initial, adaptive, rho=RHO):
    """Foret et al. Algorithm 1 (Kwon et al. for ASAM: T = |p|), the step by torch's SGD with momentum."""
    params = [p.copy() for p in initial]
    buffers = [np.zeros_like(p) for p in params]
    history = []
    for _ in range(STEPS):
        _, grads = loss_and_grads(*params)
        scales = [np.abs(p) if adaptive else np.ones_like(p) for p in params]
        norm = np.sqrt(sum(np.sum((t * g) ** 2) for t, g in zip(scales, grads, strict=True)))
        perturbed = [
            p + rho * t**2 * g / (norm + 1e-12) for p, t, g in zip(params, scales, grads, strict=True)
        ]
        _, sharp = loss_and_grads(*perturbed)
        buffers = [MU * b + g for b, g in zip(buffers, sharp, strict=True)]
        params = [p - LR * b for p, b in zip(params, buffers, strict=True)]
        history.append(params)
    return history


def build(adaptive, prefix):
    rng = np.random.default_rng(3)
    w = pytensor.shared(rng.normal(size=2), name=prefix + "w")
    W = pytensor.shared(rng.normal(size=(2, 2)), name=prefix + "W")
    r = W @ w - TARGET
    loss = 0.5 * pt.sum(r**2) + 0.25 * pt.sum(w**4)
    rule = su.sam(su.sgd(learning_rate=LR, momentum=MU), rho=RHO, adaptive=adaptive)
    return [w, W], rule(loss, [w, W])


@pytest.mark.fast
def test_sam_and_asam_match_the_papers_algorithm():
    cases = {adaptive: build(adaptive, f"{adaptive}.") for adaptive in (False, True)}
    initial = {a: [p.get_value() for p in params] for a, (params, _) in cases.items()}
    updates = {k: v for _, u in cases.values() for k, v in u.items()}
    step = pytensor.function([], [], updates=updates, mode=EQUATIONS)
    got = {a: [] for a in cases}
    for _ in range(STEPS):
        step()
        for a, (params, _) in cases.items():
            got[a].append([p.get_value() for p in params])
    for adaptive in cases:
        want = reference_sam(initial[adaptive], adaptive)
        for t, (g, w) in enumerate(zip(got[adaptive], want, strict=True)):
            for k in range(2):
                np.testing.assert_allclose(
                    g[k], w[k], rtol=1e-12, err_msg=f"adaptive={adaptive} step {t} param {k}"
                )
    # The perturbation matters: plain SGD with momentum from the same start ends elsewhere.
    plain = reference_sam(initial[False], adaptive=False, rho=0.0)
    assert not np.allclose(got[False][-1][0], plain[-1][0], rtol=1e-3)


@pytest.mark.parametrize("mode", ["CVM", "JAX"])
def test_backends_agree_with_numba(mode):
    require_mode(mode)
    results = {}
    for m in ("NUMBA", mode):
        params, updates = build(True, "")
        step = pytensor.function([], [], updates=updates, mode=m)
        for _ in range(3):
            step()
        results[m] = [p.get_value() for p in params]
    for a, b in zip(results["NUMBA"], results[mode], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_gradients_instead_of_a_loss_are_refused_when_built():
    w = pytensor.shared(np.ones(2), name="w")
    with pytest.raises(ValueError, match="sam needs the loss"):
        su.sam(su.sgd(learning_rate=0.1))([2 * w], [w])
    with pytest.raises(TypeError, match="inner must be a Transform"):
        su.sam(0.1)
    with pytest.raises(ValueError, match="rho"):
        su.sam(su.sgd(), rho=-1.0)
