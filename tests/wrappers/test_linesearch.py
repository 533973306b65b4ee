"""scale_by_backtracking_linesearch and scale_by_zoom_linesearch against optax 0.2.8's (float64, JAX x64)."""

import functools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import symupdates as su

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")


def rosenbrock(w, np_like):
    return np_like.sum(100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)


@pytest.mark.parametrize(
    ("direction", "options"),
    [
        ("sgd", {"max_backtracking_steps": 15}),
        ("sgd", {"max_backtracking_steps": 4, "decrease_factor": 0.5, "increase_factor": 2.0, "rtol": 1e-3}),
        ("adam", {"max_backtracking_steps": 10, "max_learning_rate": 0.5, "slope_rtol": 0.3}),
    ],
)
def test_matches_optax(direction, options):
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    start = np.array([-1.2, 1.0, -0.5, 0.8])
    if direction == "sgd":
        ours, theirs = su.sgd(learning_rate=1.0), optax.sgd(learning_rate=1.0)
    else:
        # optax's epsilon is added to the bias-corrected sqrt(v_hat)
        ours = su.chain(su.scale_by_adam(epsilon_placement="outside"), su.scale_by_learning_rate(0.1))
        theirs = optax.adam(learning_rate=0.1)
    w = pytensor.shared(start.copy(), name="w")
    updates = su.chain(ours, su.scale_by_backtracking_linesearch(**options))(rosenbrock(w, pt), [w])
    step = pytensor.function([], updates.monitors["linesearch_steps"], updates=updates)

    solver = optax.chain(theirs, optax.scale_by_backtracking_linesearch(**options))
    params = jnp.asarray(start)
    state = solver.init(params)

    def fn(p):
        return rosenbrock(p, jnp)

    for call in range(12):
        value, grad = jax.value_and_grad(fn)(params)
        change, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=fn)
        params = optax.apply_updates(params, change)
        steps = step()
        np.testing.assert_allclose(
            w.get_value(), np.asarray(params), rtol=1e-12, atol=1e-14, err_msg=f"call {call}"
        )
        assert steps == int(state[-1].info.num_linesearch_steps), f"call {call}"


def test_needs_the_loss_and_checks_arguments():
    w = pytensor.shared(np.ones(2), name="w")
    with pytest.raises(ValueError, match="max_backtracking_steps"):
        su.scale_by_backtracking_linesearch(0)
    with pytest.raises(ValueError, match="decrease_factor"):
        su.scale_by_backtracking_linesearch(3, decrease_factor=-1.0)
    rule = su.chain(su.sgd(learning_rate=1.0), su.scale_by_backtracking_linesearch(3))
    with pytest.raises(ValueError, match="needs the loss"):
        rule([2 * w], [w])


def _directions(direction):
    if direction == "sgd":
        return su.sgd(learning_rate=1.0), optax.sgd(learning_rate=1.0)
    # optax's epsilon is added to the bias-corrected sqrt(v_hat)
    return (
        su.chain(su.scale_by_adam(epsilon_placement="outside"), su.scale_by_learning_rate(0.1)),
        optax.adam(learning_rate=0.1),
    )


def _optax_phases(direction, options, start, calls):
    """Per call of optax's zoom search along the same path: "S" for each interval-search trial, "Z" for
    each zoom trial, then "!" if it failed and took the safe step (optax's own state machine, stepped by
    hand as scale_by_zoom_linesearch's while_loop does)."""
    import jax.numpy as jnp
    from optax._src.linesearch import zoom_linesearch

    options = dict(options)
    strategy = options.pop("initial_guess_strategy", "keep")
    options["max_stepsize"] = options.pop("max_learning_rate", None)
    options["interval_threshold"] = options.pop("stepsize_precision", 1e-5)
    init, step, running = zoom_linesearch(**options)
    value_and_grad = jax.value_and_grad(lambda p: rosenbrock(p, jnp))
    step = jax.jit(functools.partial(step, value_and_grad_fn=value_and_grad, fn_kwargs={}))
    running = jax.jit(running)
    params, learning_rate = jnp.asarray(start), 1.0
    _, theirs = _directions(direction)
    direction_state = theirs.init(params)
    phases = []
    for _ in range(calls):
        value, grad = value_and_grad(params)
        change, direction_state = theirs.update(grad, direction_state, params)
        guess = {"prev_stepsize": learning_rate, "initial_guess_strategy": strategy}
        state = init(change, params, value=value, grad=grad, **guess)
        trials = ""
        while running(state):
            trials += "Z" if state.interval_found else "S"
            state = step(state)
        phases.append(trials + ("!" if state.failed and state.safe_stepsize > 0 else ""))
        learning_rate = state.stepsize
        params = params + learning_rate * change
    return phases


@pytest.mark.parametrize(
    ("direction", "options", "expected_phases"),
    [
        # eta = 1 overshoots: 8 zoom trials (cubic interpolation, one bisection), then eta is kept
        pytest.param("sgd", {"max_linesearch_steps": 15}, "SZZZZZZZZ" + "S" * 11, id="sgd-zoom"),
        # "keep" capped at max_learning_rate = 3 (the search stops there, curvature not met), then zooms
        # by parabolas and bisection below it
        pytest.param(
            "adam",
            {"max_linesearch_steps": 4, "max_learning_rate": 3.0, "increase_factor": 1.5, "curv_rtol": 0.05},
            "SSSS" + "S" + "SZ" + "SZZZ" + "SZ" + "SSZ" * 7,
            id="adam-keep-capped",
        ),
        # "one": out of steps while increasing, the safe step (sufficient decrease) is taken ("!")
        pytest.param(
            "adam",
            {
                "max_linesearch_steps": 3,
                "initial_guess_strategy": "one",
                "increase_factor": 1.2,
                "curv_rtol": 0.05,
                "approx_dec_rtol": None,
                "tol": 1e-3,
            },
            "SSS!" * 5 + "SZ" + "SZZ" * 6,
            id="adam-one-safe-step",
        ),
    ],
)
def test_zoom_matches_optax(direction, options, expected_phases):
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    start, calls = np.array([-1.2, 1.0, -0.5, 0.8]), 12
    phases = _optax_phases(direction, options, start, calls)
    assert "".join(phases) == expected_phases  # the path exercises what the comment above says

    ours, theirs = _directions(direction)
    w = pytensor.shared(start.copy(), name="w")
    updates = su.chain(ours, su.scale_by_zoom_linesearch(**options))(rosenbrock(w, pt), [w])
    names = ["linesearch_steps", "decrease_error", "curvature_error"]
    step = pytensor.function([], [updates.monitors[n] for n in names], updates=updates)
    (kept,) = (v for v in updates.state if v.name == "zoom_linesearch.learning_rate")

    solver = optax.chain(theirs, optax.scale_by_zoom_linesearch(**options))
    params = jnp.asarray(start)
    state = solver.init(params)

    def fn(p):
        return rosenbrock(p, jnp)

    @jax.jit
    def update(state, params):
        value, grad = jax.value_and_grad(fn)(params)
        return solver.update(grad, state, params, value=value, grad=grad, value_fn=fn)

    for call in range(calls):
        change, state = update(state, params)
        params = optax.apply_updates(params, change)
        steps, decrease_error, curvature_error = step()
        info = state[-1].info
        np.testing.assert_allclose(
            w.get_value(), np.asarray(params), rtol=1e-12, atol=1e-14, err_msg=f"call {call}"
        )
        assert steps == int(info.num_linesearch_steps) == len(phases[call].rstrip("!")), f"call {call}"
        np.testing.assert_allclose(
            [decrease_error, curvature_error],
            [info.decrease_error, info.curvature_error],
            rtol=1e-12,
            atol=1e-12,
            err_msg=f"call {call}",
        )
        assert kept.get_value() == pytest.approx(float(state[-1].learning_rate), rel=1e-12)


def test_zoom_needs_the_loss_and_checks_arguments():
    w = pytensor.shared(np.ones(2), name="w")
    with pytest.raises(ValueError, match="max_linesearch_steps"):
        su.scale_by_zoom_linesearch(0)
    with pytest.raises(ValueError, match="increase_factor"):
        su.scale_by_zoom_linesearch(3, increase_factor=0.0)
    with pytest.raises(ValueError, match="max_learning_rate"):
        su.scale_by_zoom_linesearch(3, max_learning_rate=-1.0)
    with pytest.raises(ValueError, match="curv_rtol"):
        su.scale_by_zoom_linesearch(3, curv_rtol=-0.5)
    with pytest.raises(ValueError, match="initial_guess_strategy"):
        su.scale_by_zoom_linesearch(3, initial_guess_strategy="previous")
    su.scale_by_zoom_linesearch(3, curv_rtol=np.inf, approx_dec_rtol=None)  # optax's documented options
    rule = su.chain(su.sgd(learning_rate=1.0), su.scale_by_zoom_linesearch(3))
    with pytest.raises(ValueError, match="scale_by_zoom_linesearch needs the loss"):
        rule([2 * w], [w])
