"""Multiplicative updates against the closed-form Lee-Seung NMF rules written in NumPy, Lee and Seung's
monotonicity theorem in three backends, and properties of the gradient split.

Compile budget: one function for all closed-form Frobenius problems (alternating in one function), two for
KL (one step per factor), one per backend for the 200-iteration runs, one for the property tests; the
algebra runs on NumPy kernels (no backend compilation), the backends only in the 200-iteration runs.
"""

from itertools import pairwise

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pytensor.compile.mode import Mode
from pytensor.graph.basic import equal_computations

import symupdates
from support.modes import require_mode
from symupdates import SplitError, multiplicative, split_gradient

# Numba warns that matrix products of transposed (non-contiguous) arrays are slower.
pytestmark = pytest.mark.filterwarnings(r"ignore:np.dot\(\) is faster")

# The algebra (closed forms, split properties) is checked on graphs rewritten as in production but run by
# NumPy's kernels, which compile in a second; the backends are checked by the 200-iteration test.
NUMPY_MODE = Mode(linker="py", optimizer="fast_run")

SHAPE = (6, 3, 5)  # X is 6 x 5, W is 6 x 3, H is 3 x 5
LAMBDA = 0.3


def nmf_problem(seed, dtype="float64", shape=SHAPE, name=""):
    """Random strictly positive data ``X`` (a NumPy array) and factors ``W``, ``H`` (shared)."""
    rng = np.random.default_rng(seed)
    m, r, n = shape
    X = (rng.random((m, n)) + 0.1).astype(dtype)
    W = pytensor.shared((rng.random((m, r)) + 0.1).astype(dtype), name=f"W{name}")
    H = pytensor.shared((rng.random((r, n)) + 0.1).astype(dtype), name=f"H{name}")
    return X, W, H


def frobenius_squared(X, W, H):
    return ((X - W @ H) ** 2).sum()


LOSSES = {
    "half_squared": lambda X, W, H: 0.5 * frobenius_squared(X, W, H),
    "squared": frobenius_squared,
    "norm": lambda X, W, H: pt.sqrt(frobenius_squared(X, W, H)),
    "kl": lambda X, W, H: (X * pt.log(X / (W @ H)) - X + W @ H).sum(),
    "l1_penalty": lambda X, W, H: 0.5 * frobenius_squared(X, W, H) + LAMBDA * W.sum(),
    "l2_penalty": lambda X, W, H: 0.5 * frobenius_squared(X, W, H) + 0.5 * LAMBDA * (W**2).sum(),
}


# Closed-form rules, written from the papers (Lee and Seung 2001; Hoyer 2002 / Pauca et al. 2006 for the
# penalties), one factor at a time.
def frobenius_w(X, W, H, l1=0.0, l2=0.0, power=1.0, eps=0.0):
    return W * ((X @ H.T + eps) / (W @ H @ H.T + l1 + l2 * W + eps)) ** power


def frobenius_h(X, W, H, power=1.0, eps=0.0):
    return H * ((W.T @ X + eps) / (W.T @ W @ H + eps)) ** power


def kl_w(X, W, H):
    return W * ((X / (W @ H)) @ H.T) / H.sum(axis=1)[None, :]


def kl_h(X, W, H):
    return H * (W.T @ (X / (W @ H))) / W.sum(axis=0)[:, None]


def frobenius_loss(X, W, H):
    return 0.5 * float(((X.astype("float64") - W.astype("float64") @ H.astype("float64")) ** 2).sum())


def kl_loss(X, W, H):
    X, WH = X.astype("float64"), W.astype("float64") @ H.astype("float64")
    return float((X * np.log(X / WH) - X + WH).sum())


def assert_close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0, err_msg=what)


# -- Frobenius, with penalties, by-hand pairs, power and simultaneous updates: one compiled function -----

FROBENIUS_CASES = {
    # name: (loss, multiplicative keyword arguments, closed-form W step, closed-form H step)
    "half_squared": ("half_squared", {}, frobenius_w, frobenius_h),
    "squared": ("squared", {}, frobenius_w, frobenius_h),
    "norm": ("norm", {}, frobenius_w, frobenius_h),
    "l1_penalty": ("l1_penalty", {}, lambda X, W, H: frobenius_w(X, W, H, l1=LAMBDA), frobenius_h),
    "l2_penalty": ("l2_penalty", {}, lambda X, W, H: frobenius_w(X, W, H, l2=LAMBDA), frobenius_h),
    "power_and_epsilon": (
        "half_squared",
        {"power": 0.5, "epsilon": 1e-3},
        lambda X, W, H: frobenius_w(X, W, H, power=0.5, eps=1e-3),
        lambda X, W, H: frobenius_h(X, W, H, power=0.5, eps=1e-3),
    ),
}


@pytest.fixture(scope="module")
def frobenius_runs():
    """Five alternating steps of every case, plus a by-hand (P, N) problem and a simultaneous one, all
    updated by one compiled function; returns {case: (X, [(W, H) before each step and after the last])}."""
    problems, updates = {}, {}
    for seed, (case, (loss, kwargs, _, _)) in enumerate(FROBENIUS_CASES.items()):
        X, W, H = nmf_problem(seed, name=case)
        # epsilon=0: the exact rule, so that the steps match the closed form to rounding.
        kwargs = {"epsilon": 0.0, **kwargs}
        updates.update(multiplicative(LOSSES[loss](X, W, H), [W, H], alternating=True, **kwargs))
        problems[case] = (X, W, H)
    X, W, H = nmf_problem(10, name="by_hand")
    # The H pair is written with the old W; alternating=True substitutes the new one.
    pairs = [(W @ H @ H.T, X @ H.T), (W.T @ W @ H, W.T @ X)]
    updates.update(multiplicative(pairs, [W, H], epsilon=0.0, alternating=True))
    problems["by_hand"] = (X, W, H)
    X, W, H = nmf_problem(11, name="simultaneous")
    updates.update(multiplicative(LOSSES["half_squared"](X, W, H), [W, H], epsilon=0.0))
    problems["simultaneous"] = (X, W, H)
    step = pytensor.function([], [], updates=updates, mode=NUMPY_MODE)
    history = {case: [(W.get_value(), H.get_value())] for case, (_, W, H) in problems.items()}
    for _ in range(5):
        step()
        for case, (_, W, H) in problems.items():
            history[case].append((W.get_value(), H.get_value()))
    return {case: (problems[case][0], history[case]) for case in problems}


def check_alternating(X, history, w_step, h_step, what):
    for k, ((W, H), (W1, H1)) in enumerate(pairwise(history)):
        W_want = w_step(X, W, H)
        assert_close(W1, W_want, f"{what}: W at step {k}")
        assert_close(H1, h_step(X, W_want, H), f"{what}: H at step {k}")


@pytest.mark.fast
@pytest.mark.parametrize("case", sorted(FROBENIUS_CASES))
def test_alternating_step_equals_closed_form_lee_seung_rule(frobenius_runs, case):
    _, _, w_step, h_step = FROBENIUS_CASES[case]
    X, history = frobenius_runs[case]
    check_alternating(X, history, w_step, h_step, case)


def test_pairs_given_by_hand_are_used_as_they_are(frobenius_runs):
    X, history = frobenius_runs["by_hand"]
    check_alternating(X, history, frobenius_w, frobenius_h, "by hand")


def test_simultaneous_updates_move_both_factors_from_the_current_values(frobenius_runs):
    X, history = frobenius_runs["simultaneous"]
    for k, ((W, H), (W1, H1)) in enumerate(pairwise(history)):
        assert_close(W1, frobenius_w(X, W, H), f"W at step {k}")
        assert_close(H1, frobenius_h(X, W, H), f"H at step {k}")
    # Both factors correct the same residual, so W H overshoots and the loss oscillates, as documented.
    losses = [frobenius_loss(X, W, H) for W, H in history]
    assert max(np.diff(losses)) > 0 and all((W >= 0).all() and (H >= 0).all() for W, H in history)


# -- KL divergence: one compiled step per factor -------------------------------------------------------


@pytest.mark.fast
def test_kl_steps_per_factor_equal_closed_form_rules():
    X, W, H = nmf_problem(20)
    loss = LOSSES["kl"](X, W, H)
    w_updates = multiplicative(loss, [W], nonnegative=[H], epsilon=0.0)
    h_updates = multiplicative(loss, [H], nonnegative=[W], epsilon=0.0)
    w_step = pytensor.function([], [], updates=w_updates, mode=NUMPY_MODE)
    h_step = pytensor.function([], [], updates=h_updates, mode=NUMPY_MODE)
    for k in range(5):
        W0, H0 = W.get_value(), H.get_value()
        w_step()
        assert_close(W.get_value(), kl_w(X, W0, H0), f"W at step {k}")
        h_step()
        assert_close(H.get_value(), kl_h(X, W.get_value(), H0), f"H at step {k}")


# -- Lee and Seung's theorem over 200 alternating iterations, in every backend --------------------------

# float32 steps round to float32: near convergence a step can raise the (float64-evaluated) loss by a few
# float32 ulps of it.
MONOTONE_RTOL = {"float64": 1e-12, "float32": 1e-6}


@pytest.mark.parametrize("mode", ["NUMBA", "CVM", "JAX"])
def test_loss_never_increases_and_params_stay_nonnegative(mode):
    require_mode(mode)
    problems, updates = [], {}
    # KL's graph is compiled in the default backend only, to save compile time; Frobenius in all three.
    cases = [("half_squared", frobenius_loss)] + ([("kl", kl_loss)] if mode == "NUMBA" else [])
    for seed, dtype in enumerate(["float32", "float64"]):
        for loss, reference in cases:
            X, W, H = nmf_problem(30 + seed, dtype, shape=(12, 4, 10), name=f"_{loss}_{dtype}")
            updates.update(multiplicative(LOSSES[loss](X, W, H), [W, H], alternating=True))
            problems.append((f"{loss} {dtype}", reference, X, W, H))
    step = pytensor.function([], [], updates=updates, mode=mode)
    losses = {what: [reference(X, W.get_value(), H.get_value())] for what, reference, X, W, H in problems}
    for _ in range(200):
        step()
        for what, reference, X, W, H in problems:
            W1, H1 = W.get_value(), H.get_value()
            assert W1.dtype == H1.dtype == X.dtype
            assert (W1 >= 0).all() and (H1 >= 0).all(), what
            losses[what].append(reference(X, W1, H1))
    for what, _, _, W, _ in problems:
        history = np.array(losses[what])
        increase = np.diff(history) / history[:-1]
        assert increase.max() <= MONOTONE_RTOL[W.dtype], f"{what}: loss rose by {increase.max():.3g} relative"
        assert history[-1] < 0.5 * history[0], what


# -- split_gradient: properties for random non-negative inputs, one compiled function -------------------

SIGNED = pt.constant(np.array([1.0, -2.0, 0.5]))  # a constant of both signs, broadcast along rows
PROPERTY_LOSSES = {
    **LOSSES,
    "mean": lambda X, W, H: ((X - W @ H) ** 2).mean(),
    "signed_constant": lambda X, W, H: (W * SIGNED[None, :]).sum() + (W**2).sum(),
    "negative_scale": lambda X, W, H: -3.0 * (X * (W @ H)).sum() + ((W @ H) ** 2).sum(),
    "weighted": lambda X, W, H: (((X - W @ H) ** 2) / (1.0 + X)).sum(),
    "nonnegative_ops": lambda X, W, H: (
        pt.softplus(W @ H - X) + pt.exp(-(W @ H)) + pt.sqr(X - W @ H) + pt.sqrt(W @ H) + pt.abs(W @ H)
    ).sum(),
    "reshape_transpose": lambda X, W, H: ((X.T - H.T @ W.T).reshape((-1,)) ** 2).sum(),
    "rows_and_switch": lambda X, W, H: (
        ((X - W @ H)[1:] ** 2).sum() + pt.switch(X > 0.5, W @ H, -(W @ H)).sum()
    ),
    "column_broadcast": lambda X, W, H: ((X - (W @ H).sum(axis=0, keepdims=True)) ** 2).sum(),
}


@pytest.fixture(scope="module")
def gradient_and_parts():
    """One function of (X, W, H) returning [g, P, N] of every property loss, for each of W and H."""
    X, W, H = pt.matrix("X"), pt.matrix("W"), pt.matrix("H")
    outputs = []
    for loss in PROPERTY_LOSSES.values():
        cost = loss(X, W, H)
        for g in pytensor.grad(cost, [W, H], disconnected_inputs="ignore"):
            outputs += [g, *split_gradient(g, nonnegative=[X, W, H])]
    return pytensor.function([X, W, H], outputs, mode=NUMPY_MODE)


def nonnegative_matrices(rows, cols):
    return arrays("float64", (rows, cols), elements=st.floats(1e-3, 10.0))


@settings(max_examples=30, deadline=None)
@given(data=st.data(), m=st.integers(2, 5), n=st.integers(1, 4))
def test_split_parts_are_nonnegative_and_differ_by_the_gradient(gradient_and_parts, data, m, n):
    X = data.draw(nonnegative_matrices(m, n))
    W = data.draw(nonnegative_matrices(m, 3))
    H = data.draw(nonnegative_matrices(3, n))
    values = gradient_and_parts(X, W, H)
    names = [f"{loss} d/d{p}" for loss in PROPERTY_LOSSES for p in "WH"]
    parts = zip(values[0::3], values[1::3], values[2::3], strict=True)
    for name, (g, P, N) in zip(names, parts, strict=True):
        assert P.shape == N.shape == g.shape, name
        assert (P >= 0).all() and (N >= 0).all(), name
        # P and N may both be much larger than their difference: compare at their scale.
        np.testing.assert_array_less(np.abs(P - N - g), 1e-12 * (P + N + np.abs(g)) + 1e-300, err_msg=name)


def test_half_squared_frobenius_split_is_the_textbook_one():
    X, W, H = nmf_problem(40)
    P, N = split_gradient(pytensor.grad(LOSSES["half_squared"](X, W, H), W), nonnegative=[W, H])
    W0, H0 = W.get_value(), H.get_value()
    parts = pytensor.function([], [P, N], mode=NUMPY_MODE)()
    assert_close(parts[0], W0 @ H0 @ H0.T, "P")
    assert_close(parts[1], X @ H0.T, "N")


# -- errors, raised while the graph is built -----------------------------------------------------------


@pytest.mark.parametrize(
    "loss, op",
    [
        (lambda X, W, H: (pt.sin(W @ H) * X).sum(), "Cos"),
        (lambda X, W, H: (W * pt.log(X - 0.5)).sum() + H.sum(), "Log"),
        (lambda X, W, H: ((W @ H) / (X - 0.5)).sum(), "True_div"),
        (lambda X, W, H: ((X - W @ H) ** 4).sum(), "Pow"),
        (lambda X, W, H: pt.abs(X - W @ H).sum(), "Sign"),
    ],
)
def test_sign_indefinite_gradient_raises_naming_the_op_and_the_param(loss, op):
    _, W, H = nmf_problem(50)
    X = pt.matrix("X")  # symbolic: with a NumPy X, log(X - 0.5) would be a constant of known sign
    with pytest.raises(SplitError, match=rf"params\[0\] \('W'\).*{op}"):
        multiplicative(loss(X, W, H), [W, H], nonnegative=[X])


def test_undeclared_data_is_named():
    X = pt.matrix("X")
    _, W, H = nmf_problem(51)
    with pytest.raises(SplitError, match="depends on X, which is not declared non-negative"):
        multiplicative(LOSSES["half_squared"](X, W, H), [W, H])
    assert len(multiplicative(LOSSES["half_squared"](X, W, H), [W, H], nonnegative=[X])) == 2


def test_split_error_is_a_value_error():
    assert issubclass(SplitError, ValueError)
    assert symupdates.SplitError is SplitError and "split_gradient" in symupdates.__all__


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"power": -1.0}, ValueError, "power"),
        ({"epsilon": -1e-12}, ValueError, "epsilon"),
        ({"epsilon": "small"}, TypeError, "epsilon"),
        ({"nonnegative": pt.matrix("X")}, TypeError, "nonnegative must be a list"),
        ({"nonnegative": [np.ones(2)]}, TypeError, r"nonnegative\[0\]"),
        ({"alternating": 1}, TypeError, "alternating"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    X, W, H = nmf_problem(52)
    with pytest.raises(error, match=match):
        multiplicative(LOSSES["half_squared"](X, W, H), [W, H], **kwargs)


def test_bad_pairs_and_missing_arguments_are_named():
    X, W, H = nmf_problem(53)
    with pytest.raises(ValueError, match=r"loss_or_grads\[0\] must be a \(P, N\) pair"):
        multiplicative([(W,), (H, H)], [W, H])
    with pytest.raises(ValueError, match="Got 1 gradient expressions for 2 parameters"):
        multiplicative([(W, W)], [W, H])
    with pytest.raises(ValueError, match=r"has static shape|has ndim"):
        multiplicative([(W.sum(), W), (H, H)], [W, H])
    with pytest.raises(ValueError, match="params is missing"):
        multiplicative(LOSSES["kl"](X, W, H))


def test_negative_initial_values_are_named():
    X, W, H = nmf_problem(56)
    H.set_value(-H.get_value())
    with pytest.raises(ValueError, match=r"params\[1\] \('H'\) has negative entries"):
        multiplicative(LOSSES["half_squared"](X, W, H), [W, H])


def test_gradients_given_as_expressions_are_split_like_the_loss():
    X, W, H = nmf_problem(57)
    loss = LOSSES["l2_penalty"](X, W, H)
    from_loss = multiplicative(loss, [W, H], alternating=True)
    from_grads = multiplicative(pytensor.grad(loss, [W, H]), [W, H], alternating=True)
    assert equal_computations(list(from_loss.values()), list(from_grads.values()))


def test_partial_application_and_dtypes():
    X32, W32, H32 = nmf_problem(54, "float32")
    rule = multiplicative(power=0.5, nonnegative=[])
    # float64 data with float32 factors: every update keeps its variable's type.
    updates = rule(LOSSES["kl"](X32.astype("float64"), W32, H32), [W32, H32])
    assert isinstance(updates, symupdates.Updates)
    assert list(updates) == [W32, H32] and updates.params == [W32, H32] and updates.state == []
    for var, value in updates.items():
        assert value.dtype == var.dtype and var.type.is_super(value.type)


def test_inputs_are_not_mutated():
    X, W, H = nmf_problem(55)
    nonnegative = [pt.matrix("Y")]
    pairs = [(W, W), (H, H)]
    multiplicative(pairs, [W, H], nonnegative=nonnegative)
    assert nonnegative == [nonnegative[0]] and pairs == [(W, W), (H, H)]
