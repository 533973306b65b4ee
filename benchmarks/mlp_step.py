"""(b) A full training step of a small MLP: forward, softmax cross-entropy, backward, Adam update.

784-50-10 tanh and 784-256-10 relu, batch 64 and 256, float32, the same random data and initial weights
for every peer: symupdates in PyTensor's NUMBA, CVM and JAX modes (through ``fast_function``; NUMBA also
with the ordinary call), torch eager with its fused Adam (1 thread), and jax.jit + optax with donated
buffers.
"""

from common import interleaved_median_us  # first: puts this checkout on sys.path

# isort: split

import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates as su

LR = 1e-3
CONFIGS = {
    "784-50-10 tanh": (50, "tanh"),
    "784-256-10 relu": (256, "relu"),
}
BATCHES = [64, 256]


def data(hidden, batch):
    rng = np.random.default_rng(0)
    weights = [
        (rng.normal(size=(784, hidden)) / np.sqrt(784)).astype(np.float32),
        np.zeros(hidden, np.float32),
        (rng.normal(size=(hidden, 10)) / np.sqrt(hidden)).astype(np.float32),
        np.zeros(10, np.float32),
    ]
    x = rng.normal(size=(batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=batch).astype(np.int64)
    return weights, x, y


def pytensor_loss(x, y, params, activation):
    w1, b1, w2, b2 = params
    act = pt.tanh if activation == "tanh" else (lambda z: pt.maximum(z, np.float32(0)))
    logits = act(x @ w1 + b1) @ w2 + b2
    logp = pt.special.log_softmax(logits, axis=-1)
    # Picking log p(y) by a one-hot product rather than logp[arange(batch), y]: see notes.md (JAX mode).
    return -(logp * pt.eq(pt.arange(10)[None, :], y[:, None])).sum(axis=-1).mean()


def symupdates_step(weights, x, y, activation, mode, fast=True):
    params = [pytensor.shared(w.copy()) for w in weights]
    xv = pt.matrix("x", dtype="float32", shape=x.shape)
    yv = pt.vector("y", dtype="int64", shape=y.shape)
    loss = pytensor_loss(xv, yv, params, activation)
    step = su.fast_function([xv, yv], loss, updates=su.adam(loss, params, learning_rate=LR), mode=mode)
    call = step if fast else step.function
    # np.asarray waits for JAX mode's asynchronous result (the loss is ready once the whole step is done).
    return lambda: np.asarray(call(x, y))


def torch_step(weights, x, y, activation):
    import torch

    w1, b1, w2, b2 = (torch.from_numpy(w.copy()).requires_grad_() for w in weights)
    act = torch.tanh if activation == "tanh" else torch.relu
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam([w1, b1, w2, b2], lr=LR, fused=True)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(act(xt @ w1 + b1) @ w2 + b2, yt)
        loss.backward()
        opt.step()
        return loss

    return step


def jax_step(weights, x, y, activation):
    import jax
    import jax.numpy as jnp
    import optax

    act = jnp.tanh if activation == "tanh" else jax.nn.relu
    tx = optax.adam(LR)

    def loss_fn(ps, xb, yb):
        w1, b1, w2, b2 = ps
        logits = act(xb @ w1 + b1) @ w2 + b2
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    def update(ps, state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(ps, xb, yb)
        steps, state = tx.update(grads, state, ps)
        return optax.apply_updates(ps, steps), state, loss

    update = jax.jit(update, donate_argnums=(0, 1))
    box = [[jnp.asarray(w) for w in weights]]
    box.append(tx.init(box[0]))
    xj, yj = jnp.asarray(x), jnp.asarray(y.astype(np.int32))

    def step():
        box[0], box[1], loss = update(box[0], box[1], xj, yj)
        return loss.block_until_ready()

    return step


PEERS = [
    "symupdates NUMBA",
    "symupdates NUMBA fast",
    "symupdates CVM fast",
    "symupdates JAX fast",
    "torch eager + fused Adam",
    "jax.jit + optax",
]


def run(configs=CONFIGS, batches=BATCHES, repeats=15, modes=("NUMBA", "CVM", "JAX"), log=print):
    import torch

    torch.set_num_threads(1)
    rows = []
    for name, (hidden, activation) in configs.items():
        for batch in batches:
            weights, x, y = data(hidden, batch)
            steps = {}
            for mode in modes:
                steps[f"symupdates {mode} fast"] = symupdates_step(weights, x, y, activation, mode)
            steps["symupdates NUMBA"] = symupdates_step(weights, x, y, activation, "NUMBA", fast=False)
            steps["torch eager + fused Adam"] = torch_step(weights, x, y, activation)
            steps["jax.jit + optax"] = jax_step(weights, x, y, activation)
            times = interleaved_median_us(steps, repeats=repeats, min_seconds=0.02)
            rows.append((f"{name}, batch {batch}", times))
            log(f"  {name} batch {batch}: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="One section of benchmarks/run.py: the MLP training step.")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--batches", nargs="+", type=int, default=BATCHES)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    run({k: CONFIGS[k] for k in args.configs}, args.batches, args.repeats)
