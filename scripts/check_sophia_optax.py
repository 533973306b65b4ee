"""Compare symupdates.sophia with optax.contrib.sophia, both fed the same Rademacher vectors.

optax draws its vectors from JAX's generator; here its ``hessian_diagonal_fn`` is Hutchinson's estimator of
optax (``z * jvp(grad(obj_fn), z)``) with ``z`` taken from ``symupdates.hutchinson_diagonal``, so that the
two runs differ only in the rule. Needs jax and optax; prints the largest relative difference of the
params over the steps, for optax's defaults and for a setting where some steps are not clipped::

    python scripts/check_sophia_optax.py
"""

import argparse

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates as su

M = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 1.5]])
B = np.array([0.5, -1.0])
SETTINGS = {
    "optax defaults, lr 0.1": dict(learning_rate=0.1),
    "beta2 0.5, gamma 1, clip 0.5, lr 0.1": dict(learning_rate=0.1, beta2=0.5, gamma=1.0, clip_threshold=0.5),
}


def loss_of(w, K, np_like):
    r = np_like.dot(M, w) - B
    quartic = 0.25 * np_like.sum(w**4) + 0.25 * np_like.sum(K**4)
    return 0.5 * np_like.sum(r**2) + quartic + 0.5 * np_like.sum(K) ** 2


def ours(settings, initial, steps, interval):
    params = [pytensor.shared(p.copy(), name=n) for p, n in zip(initial, "wK", strict=True)]
    updates = su.sophia(loss_of(*params, pt), params, update_interval=interval, **settings)
    step = pytensor.function([], [], updates=updates, mode="CVM")
    history = []
    for _ in range(steps):
        step()
        history.append([p.get_value() for p in params])
    draw = pt.scalar("draw", dtype="int64")
    _, vectors = su.hutchinson_diagonal(loss_of(*params, pt), params, draw)
    return history, pytensor.function([draw], vectors, mode="CVM")


def theirs(settings, initial, steps, interval, vectors):
    import jax
    import jax.numpy as jnp
    import optax
    import optax.contrib

    jax.config.update("jax_enable_x64", True)

    def hutchinson_with_given_vectors():
        def update(updates, state, params=None, obj_fn=None, z=None, **extra):
            hvp = jax.jvp(jax.grad(obj_fn), (params,), (z,))[1]
            return jax.tree.map(lambda h, r: h * r, hvp, z), state

        return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)

    optimizer = optax.contrib.sophia(
        **settings_optax(settings),
        update_interval=interval,
        hessian_diagonal_fn=hutchinson_with_given_vectors(),
    )
    params = tuple(jnp.asarray(p) for p in initial)
    state = optimizer.init(params)
    obj = lambda ps: loss_of(*ps, jnp)  # noqa: E731
    history = []
    for count in range(steps):
        z = tuple(jnp.asarray(v) for v in vectors(count))
        updates, state = optimizer.update(jax.grad(obj)(params), state, params, obj_fn=obj, z=z)
        params = optax.apply_updates(params, updates)
        history.append([np.asarray(p) for p in params])
    return history


def settings_optax(settings):
    names = {"beta1": "b1", "beta2": "b2", "epsilon": "eps"}
    return {names.get(k, k): v for k, v in settings.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--update-interval", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(4)
    initial = [rng.normal(size=3), rng.normal(size=(2, 1, 2, 2))]
    for label, settings in SETTINGS.items():
        got, vectors = ours(settings, initial, args.steps, args.update_interval)
        want = theirs(settings, initial, args.steps, args.update_interval, vectors)
        worst = max(
            np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-300))
            for gs, ws in zip(got, want, strict=True)
            for g, w in zip(gs, ws, strict=True)
        )
        print(
            f"{label}: {args.steps} steps, update_interval {args.update_interval}: "
            f"largest relative difference {worst:.1e}"
        )


if __name__ == "__main__":
    main()
