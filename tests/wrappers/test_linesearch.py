"""scale_by_backtracking_linesearch against optax 0.2.8's (float64, JAX x64)."""

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
