"""Record reference trajectories of torch.optim and optax optimizers into tests/fixtures/parity/*.npz.

Needs the ``parity`` extra (``pip install -e ".[parity]"``: torch==2.13.0, jax, optax); the tests that
read the fixtures (tests/integration/test_parity.py) need neither. Run from the repository root::

    python scripts/record_parity.py

Every case optimizes the same problem in float64: two params (shapes (3,) and (2, 3)) drawn by a seeded NumPy
generator and a fixed sequence of 20 gradients per param (also seeded, of scale 1 and 1e-4; they do not depend
on the params, so each framework sees exactly the same gradients). Muon, for 2-D params only, has its own
problem (shapes (2, 3) and (4, 2): a wide and a tall matrix). Each fixture stores the problem, the trajectory
(the params after each step), for schedule-free rules the evaluation params after each step, and a ``source``
string naming the framework call.
"""

import argparse
import contextlib
from pathlib import Path

import numpy as np

STEPS = 20
SHAPES = [(3,), (2, 3)]
MATRIX_SHAPES = [(2, 3), (4, 2)]
SEED = 20260
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "parity"
TORCH_VERSION = "2.13.0"


def problem(shapes=SHAPES):
    """Initial params and gradients ``grads[k][step]``, the same for every case of these shapes."""
    rng = np.random.default_rng(SEED)
    initial = [rng.normal(size=s) for s in shapes]
    # The second param's gradients are small (~1e-4), so that where epsilon goes changes the numbers.
    grads = [rng.normal(size=(STEPS, *s)) * scale for s, scale in zip(shapes, [1.0, 1e-4], strict=True)]
    return initial, grads


# case name -> the torch.optim call, as a string evaluated with ``torch`` and ``params`` in scope.
TORCH_CASES = {
    "torch_Adagrad": "torch.optim.Adagrad(params, lr=0.1)",
    "torch_Adagrad_lr_decay": (
        "torch.optim.Adagrad(params, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1)"
    ),
    "torch_Adam": "torch.optim.Adam(params, lr=0.01)",
    "torch_Adam_amsgrad": "torch.optim.Adam(params, lr=0.01, betas=(0.8, 0.9), amsgrad=True)",
    "torch_AdamW": "torch.optim.AdamW(params, lr=0.01, weight_decay=0.1)",
    "torch_RMSprop": "torch.optim.RMSprop(params, lr=0.01)",
    "torch_NAdam": "torch.optim.NAdam(params, lr=0.01)",
    "torch_RAdam": "torch.optim.RAdam(params, lr=0.01)",
    "torch_Adamax": "torch.optim.Adamax(params, lr=0.01)",
    "torch_Adadelta": "torch.optim.Adadelta(params, lr=1.0)",
    "torch_SGD": "torch.optim.SGD(params, lr=0.05)",
    "torch_SGD_momentum": "torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.01)",
    "torch_SGD_nesterov": "torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)",
    "torch_Rprop": "torch.optim.Rprop(params, lr=0.01)",
    "torch_Adafactor": "torch.optim.Adafactor(params, lr=0.01)",
    "torch_Adafactor_weight_decay": "torch.optim.Adafactor(params, lr=0.01, weight_decay=0.1)",
    # The options of torch's rules: centered RMSprop and its momentum, SGD's dampening, NAdam's and RAdam's
    # weight decay (coupled and decoupled), and maximize wherever torch has it.
    "torch_RMSprop_centered_momentum": "torch.optim.RMSprop(params, lr=0.01, centered=True, momentum=0.9)",
    "torch_RMSprop_momentum": "torch.optim.RMSprop(params, lr=0.01, momentum=0.5)",
    "torch_SGD_dampening": "torch.optim.SGD(params, lr=0.05, momentum=0.9, dampening=0.3)",
    "torch_NAdam_weight_decay": "torch.optim.NAdam(params, lr=0.01, weight_decay=0.1)",
    "torch_NAdam_decoupled_weight_decay": (
        "torch.optim.NAdam(params, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)"
    ),
    "torch_RAdam_weight_decay": "torch.optim.RAdam(params, lr=0.01, weight_decay=0.1)",
    "torch_RAdam_decoupled_weight_decay": (
        "torch.optim.RAdam(params, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)"
    ),
    "torch_SGD_maximize": "torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True)",
    "torch_Adam_maximize": "torch.optim.Adam(params, lr=0.01, maximize=True)",
    "torch_Adam_amsgrad_maximize": "torch.optim.Adam(params, lr=0.01, amsgrad=True, maximize=True)",
    "torch_AdamW_maximize": "torch.optim.AdamW(params, lr=0.01, weight_decay=0.1, maximize=True)",
    "torch_Adagrad_maximize": "torch.optim.Adagrad(params, lr=0.1, maximize=True)",
    "torch_RMSprop_maximize": "torch.optim.RMSprop(params, lr=0.01, maximize=True)",
    "torch_NAdam_maximize": "torch.optim.NAdam(params, lr=0.01, maximize=True)",
    "torch_RAdam_maximize": "torch.optim.RAdam(params, lr=0.01, maximize=True)",
    "torch_Adamax_maximize": "torch.optim.Adamax(params, lr=0.01, maximize=True)",
    "torch_Adadelta_maximize": "torch.optim.Adadelta(params, lr=1.0, maximize=True)",
    "torch_Rprop_maximize": "torch.optim.Rprop(params, lr=0.01, maximize=True)",
    "torch_Adafactor_maximize": "torch.optim.Adafactor(params, lr=0.01, maximize=True)",
}

# Muon's cases, on MATRIX_SHAPES. torch runs Newton-Schulz in bfloat16; the "_float64" cases run torch's own
# code with its bfloat16 cast made a no-op, i.e. torch's algorithm in float64.
TORCH_MATRIX_CASES = {
    "torch_Muon": "torch.optim.Muon(params, lr=0.02)",
    "torch_Muon_float64": "torch.optim.Muon(params, lr=0.02)",
    "torch_Muon_adamw_lr_float64": (
        "torch.optim.Muon(params, lr=0.02, nesterov=False, adjust_lr_fn='match_rms_adamw')"
    ),
}

# case name -> the optax call, evaluated with ``optax`` in scope.
OPTAX_CASES = {
    "optax_adagrad": "optax.adagrad(0.1)",
    "optax_adam": "optax.adam(0.01)",
    "optax_adam_eps_root": "optax.adam(0.01, eps=0.0, eps_root=1e-8)",
    "optax_adamw": "optax.adamw(0.01, weight_decay=0.1)",
    "optax_adamax": "optax.adamax(0.01)",
    "optax_rmsprop": "optax.rmsprop(0.01)",
    "optax_radam": "optax.radam(0.01)",
    "optax_sgd_nesterov": "optax.sgd(0.05, momentum=0.9, nesterov=True)",
    "optax_lion": "optax.lion(0.001)",
    "optax_yogi": "optax.yogi(0.01)",
    "optax_adabelief": "optax.adabelief(0.01)",
    "optax_lamb": "optax.lamb(0.01, weight_decay=0.01)",
    "optax_lars": "optax.lars(0.1, weight_decay=0.01)",
    "optax_novograd": "optax.novograd(0.01, weight_decay=0.01)",
    "optax_schedule_free_adamw": "optax.contrib.schedule_free_adamw(0.01, weight_decay=0.1)",
    "optax_schedule_free_adamw_defaults": "optax.contrib.schedule_free_adamw()",
    "optax_schedule_free_sgd": "optax.contrib.schedule_free_sgd(0.05, weight_decay=0.01)",
    "optax_prodigy": "optax.contrib.prodigy()",
    "optax_prodigy_options": "optax.contrib.prodigy(0.5, beta3=0.9, weight_decay=0.1, safeguard_warmup=True)",
    "optax_dadapt_adamw": "optax.contrib.dadapt_adamw()",
    "optax_dadapt_adamw_weight_decay": "optax.contrib.dadapt_adamw(0.5, weight_decay=0.1)",
}


@contextlib.contextmanager
def bfloat16_cast_disabled():
    """Within the block, ``Tensor.bfloat16()`` returns a float64 copy (torch's Muon then runs in the params'
    float64; a copy, as the cast makes, since Newton-Schulz then divides it in place)."""
    import torch

    original = torch.Tensor.bfloat16
    torch.Tensor.bfloat16 = lambda self, *args, **kwargs: self.clone()
    try:
        yield
    finally:
        torch.Tensor.bfloat16 = original


def torch_trajectory(call, initial, grads):
    import torch

    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in initial]
    optimizer = eval(call, {"torch": torch, "params": params})
    history = [[] for _ in params]
    for step in range(STEPS):
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g[step], dtype=torch.float64)
        optimizer.step()
        for h, p in zip(history, params, strict=True):
            h.append(p.detach().numpy().copy())
    return [np.stack(h) for h in history]


def optax_trajectory(call, initial, grads):
    import jax
    import jax.numpy as jnp
    import optax
    import optax.contrib  # noqa: F401 (the schedule-free, prodigy and dadapt cases)

    params = tuple(jnp.asarray(p, dtype=jnp.float64) for p in initial)
    optimizer = eval(call, {"optax": optax})
    state = optimizer.init(params)
    history = [[] for _ in params]
    evaluated = [[] for _ in params]
    for step in range(STEPS):
        g = tuple(jnp.asarray(g[step], dtype=jnp.float64) for g in grads)
        updates, state = optimizer.update(g, state, params)
        params = optax.apply_updates(params, updates)
        for h, p in zip(history, params, strict=True):
            h.append(np.asarray(jax.device_get(p), dtype=np.float64).copy())
        if "schedule_free" in call:
            for e, p in zip(evaluated, optax.contrib.schedule_free_eval_params(state, params), strict=True):
                e.append(np.asarray(jax.device_get(p), dtype=np.float64).copy())
    return [np.stack(h) for h in history], [np.stack(e) for e in evaluated if e]


def save(name, source, initial, grads, trajectory, evaluated=()):
    arrays = {"source": np.array(source)}
    for k, (p0, g, t) in enumerate(zip(initial, grads, trajectory, strict=True)):
        arrays[f"initial_{k}"], arrays[f"grads_{k}"], arrays[f"trajectory_{k}"] = p0, g, t
    for k, e in enumerate(evaluated):
        arrays[f"evaluated_{k}"] = e
    FIXTURES.mkdir(parents=True, exist_ok=True)
    np.savez(FIXTURES / f"{name}.npz", **arrays)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["torch", "optax"], help="record one framework only")
    args = parser.parse_args()
    initial, grads = problem()
    if args.only != "optax":
        import torch

        if torch.__version__.split("+")[0] != TORCH_VERSION:
            raise SystemExit(f"torch=={TORCH_VERSION} is required, found {torch.__version__}")
        for name, call in TORCH_CASES.items():
            save(
                name,
                f"torch {torch.__version__}: {call}",
                initial,
                grads,
                torch_trajectory(call, initial, grads),
            )
            print("recorded", name)
        matrix_initial, matrix_grads = problem(MATRIX_SHAPES)
        for name, call in TORCH_MATRIX_CASES.items():
            in_float64 = name.endswith("_float64")
            with bfloat16_cast_disabled() if in_float64 else contextlib.nullcontext():
                trajectory = torch_trajectory(call, matrix_initial, matrix_grads)
            source = f"torch {torch.__version__}: {call}" + (
                ", Newton-Schulz in float64" if in_float64 else ""
            )
            save(name, source, matrix_initial, matrix_grads, trajectory)
            print("recorded", name)
    if args.only != "torch":
        import jax
        import optax

        jax.config.update("jax_enable_x64", True)
        for name, call in OPTAX_CASES.items():
            source = f"optax {optax.__version__} (jax {jax.__version__}, x64): {call}"
            save(name, source, initial, grads, *optax_trajectory(call, initial, grads))
            print("recorded", name)


if __name__ == "__main__":
    main()
