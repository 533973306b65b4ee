"""(a) The pure update step: gradients are given, one step of adagrad/adam/rmsprop/momentum on float32 params.

Peers, all in this one process on the same float32 data: symupdates (NUMBA plain call, NUMBA and CVM
through ``fast_function``, and NUMBA with the rule wrapped in ``symupdates.flatten``), torch.optim
(for-loop, foreach, fused where torch has it; 1 thread), optax + jax.jit with donated buffers,
hand-written NumPy (in place), and a hand-written numba loop per rule that reads and writes each array
once: the memory-bandwidth bound, measured; next to it the same bound computed, the bytes the compiled
step's loops move (``symupdates.inspect_step``) divided by the bandwidth of a streaming copy of as many bytes.
"""

import math

from common import interleaved_median_us  # first: puts this checkout on sys.path

# isort: split

import numba
import numpy as np
import pytensor
import pytensor.tensor as pt

import symupdates as su

LR, EPS, RHO, B1, B2, MOM = 0.01, 1e-6, 0.9, 0.9, 0.999, 0.9
RULES = ["adagrad", "adam", "rmsprop", "momentum"]
SHAPES = {
    "1 x 1e6": (1, 10**6),
    "100 x 1e4": (100, 10**4),
    "100 x 100": (100, 100),
    "10 x 100": (10, 100),
    "1 x 1": (1, 1),
}
HYPER = {
    "adagrad": dict(learning_rate=LR, epsilon=EPS),
    "adam": dict(learning_rate=LR, beta1=B1, beta2=B2, epsilon=EPS),
    "rmsprop": dict(learning_rate=LR, rho=RHO, epsilon=EPS),
    "momentum": dict(learning_rate=LR, momentum=MOM),
}
N_STATE = {"adagrad": 1, "adam": 2, "rmsprop": 1, "momentum": 1}


# --- the bandwidth bound: one vectorized pass over the arrays (numba flags as in PyTensor's loops) --------
@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _adagrad_kernel(p, g, a, lr, eps):
    for i in range(p.size):
        ai = a[i] + g[i] * g[i]
        a[i] = ai
        p[i] -= lr * g[i] / np.sqrt(ai + eps)


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _rmsprop_kernel(p, g, a, lr, rho, eps):
    for i in range(p.size):
        ai = rho * a[i] + (np.float32(1) - rho) * g[i] * g[i]
        a[i] = ai
        p[i] -= lr * g[i] / np.sqrt(ai + eps)


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _adam_kernel(p, g, m, v, step_size, b1, b2, eps):
    for i in range(p.size):
        mi = b1 * m[i] + (np.float32(1) - b1) * g[i]
        vi = b2 * v[i] + (np.float32(1) - b2) * g[i] * g[i]
        m[i] = mi
        v[i] = vi
        p[i] -= step_size * mi / (np.sqrt(vi) + eps)


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _momentum_kernel(p, g, vel, lr, mom):
    for i in range(p.size):
        vi = mom * vel[i] - lr * g[i]
        vel[i] = vi
        p[i] += vi


def streaming_kernel(rule, params, grads):
    f32 = np.float32
    state = [[np.zeros_like(p) for p in params] for _ in range(N_STATE[rule])]
    t = [0]

    def step():
        if rule == "adagrad":
            for p, g, a in zip(params, grads, state[0], strict=True):
                _adagrad_kernel(p, g, a, f32(LR), f32(EPS))
        elif rule == "rmsprop":
            for p, g, a in zip(params, grads, state[0], strict=True):
                _rmsprop_kernel(p, g, a, f32(LR), f32(RHO), f32(EPS))
        elif rule == "adam":
            t[0] += 1
            size = f32(LR * math.sqrt(1 - B2 ** t[0]) / (1 - B1 ** t[0]))
            for p, g, m, v in zip(params, grads, *state, strict=True):
                _adam_kernel(p, g, m, v, size, f32(B1), f32(B2), f32(EPS))
        else:
            for p, g, vel in zip(params, grads, state[0], strict=True):
                _momentum_kernel(p, g, vel, f32(LR), f32(MOM))

    return step


# --- hand-written NumPy, in place with one scratch buffer per param ---------------------------------------
def numpy_in_place(rule, params, grads):
    f32 = np.float32
    state = [[np.zeros_like(p) for p in params] for _ in range(N_STATE[rule])]
    scratch = [np.empty_like(p) for p in params]
    t = [0]

    def step():
        t[0] += 1
        size = f32(LR * math.sqrt(1 - B2 ** t[0]) / (1 - B1 ** t[0]))
        for i, (p, g, tmp) in enumerate(zip(params, grads, scratch, strict=True)):
            if rule in ("adagrad", "rmsprop"):
                a = state[0][i]
                np.multiply(g, g, out=tmp)
                if rule == "rmsprop":
                    a *= f32(RHO)
                    tmp *= f32(1 - RHO)
                a += tmp
                np.add(a, f32(EPS), out=tmp)
                np.sqrt(tmp, out=tmp)
                np.divide(g, tmp, out=tmp)
                tmp *= f32(LR)
                p -= tmp
            elif rule == "adam":
                m, v = state[0][i], state[1][i]
                m *= f32(B1)
                np.multiply(g, f32(1 - B1), out=tmp)
                m += tmp
                v *= f32(B2)
                np.multiply(g, g, out=tmp)
                tmp *= f32(1 - B2)
                v += tmp
                np.sqrt(v, out=tmp)
                tmp += f32(EPS)
                np.divide(m, tmp, out=tmp)
                tmp *= size
                p -= tmp
            else:
                vel = state[0][i]
                vel *= f32(MOM)
                np.multiply(g, f32(LR), out=tmp)
                vel -= tmp
                p += vel

    return step


# --- symupdates ---------------------------------------------------------------------------------------------
def symupdates_steps(rule, params, grads, mode, flatten=False):
    """(plain call, fast call) of one compiled step of ``rule`` whose gradients are inputs; with
    ``flatten``, the rule wrapped in ``symupdates.flatten`` (its state one vector for all params)."""
    shared = [pytensor.shared(p.copy(), shape=p.shape) for p in params]
    inputs = [pt.tensor(dtype="float32", shape=p.shape) for p in params]
    transform = getattr(su, rule)(**HYPER[rule])
    if flatten:
        # Lasagne's momentum acts on a finished updates dict; its transform form is sgd's momentum option.
        transform = su.flatten(su.sgd(learning_rate=LR, momentum=MOM) if rule == "momentum" else transform)
    step = su.fast_function(inputs, updates=transform(inputs, shared), mode=mode)
    return (lambda: step.function(*grads)), (lambda: step(*grads)), step


# --- torch and optax ----------------------------------------------------------------------------------------
def torch_step(rule, params, grads, variant):
    import torch

    tensors = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.from_numpy(g)
    flag = {"for-loop": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True)}[
        variant
    ]
    if rule == "adagrad":
        opt = torch.optim.Adagrad(tensors, lr=LR, eps=EPS, **flag)
    elif rule == "adam":
        opt = torch.optim.Adam(tensors, lr=LR, betas=(B1, B2), eps=EPS, **flag)
    elif rule == "rmsprop":
        opt = torch.optim.RMSprop(tensors, lr=LR, alpha=RHO, eps=EPS, **flag)
    else:
        opt = torch.optim.SGD(tensors, lr=LR, momentum=MOM, **flag)
    opt.step()  # raises here if the variant is not supported
    return opt.step


def optax_step(rule, params, grads):
    import jax
    import jax.numpy as jnp
    import optax

    tx = {
        "adagrad": optax.adagrad(LR, eps=EPS),
        "adam": optax.adam(LR, b1=B1, b2=B2, eps=EPS),
        "rmsprop": optax.rmsprop(LR, decay=RHO, eps=EPS),
        "momentum": optax.sgd(LR, momentum=MOM),
    }[rule]

    @jax.jit
    def update(ps, state, gs):
        steps, state = tx.update(gs, state, ps)
        return optax.apply_updates(ps, steps), state

    update = jax.jit(update, donate_argnums=(0, 1))
    box = [[jnp.asarray(p) for p in params]]
    box.append(tx.init(box[0]))
    jgrads = [jnp.asarray(g) for g in grads]

    def step():
        box[0], box[1] = update(box[0], box[1], jgrads)
        jax.block_until_ready(box[0])

    return step


PEERS = [
    "symupdates NUMBA",
    "symupdates NUMBA fast",
    "symupdates CVM fast",
    "symupdates NUMBA fast flatten",
    "torch for-loop",
    "torch foreach",
    "torch fused",
    "optax+jit",
    "NumPy in place",
    "numba kernel (bound)",
    "bytes / bandwidth",
]
BASELINES = ["torch for-loop", "torch foreach", "torch fused", "optax+jit", "NumPy in place"]


def run(rules=RULES, shapes=SHAPES, repeats=15, min_seconds=0.02, log=print):
    """One row per rule and shape; each timed block of calls lasts at least ``min_seconds``."""
    import torch

    torch.set_num_threads(1)
    rows = []
    for rule in rules:
        for case, (n, size) in shapes.items():
            rng = np.random.default_rng(0)
            params = [rng.normal(size=size).astype(np.float32) for _ in range(n)]
            grads = [rng.normal(size=size).astype(np.float32) for _ in range(n)]
            steps = {}
            steps["symupdates NUMBA"], steps["symupdates NUMBA fast"], numba_step = symupdates_steps(
                rule, params, grads, "NUMBA"
            )
            steps["symupdates CVM fast"] = symupdates_steps(rule, params, grads, "CVM")[1]
            if n > 1:
                _, flattened, _ = symupdates_steps(rule, params, grads, "NUMBA", flatten=True)
                steps["symupdates NUMBA fast flatten"] = flattened
            for variant in ["for-loop", "foreach", "fused"]:
                try:
                    steps[f"torch {variant}"] = torch_step(rule, params, grads, variant)
                except (RuntimeError, TypeError, ValueError):
                    pass  # torch has no fused RMSprop
            steps["optax+jit"] = optax_step(rule, params, grads)
            steps["NumPy in place"] = numpy_in_place(rule, [p.copy() for p in params], grads)
            steps["numba kernel (bound)"] = streaming_kernel(rule, [p.copy() for p in params], grads)
            times = interleaved_median_us(steps, repeats=repeats, min_seconds=min_seconds)
            # The bytes the compiled step's loops move (symupdates.inspect_step) at the measured bandwidth.
            times["bytes / bandwidth"] = su.inspect_step(numba_step, bandwidth="measure").bound_us
            rows.append((f"{rule} {case}", times))
            log(f"  {rule} {case}: " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="A section of benchmarks/run.py: selected rules and shapes.")
    parser.add_argument("--rules", nargs="+", default=RULES, choices=RULES)
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--min-seconds", type=float, default=0.02, help="length of one timed block of calls")
    args = parser.parse_args()
    run(args.rules, {k: SHAPES[k] for k in args.shapes}, args.repeats, args.min_seconds)
