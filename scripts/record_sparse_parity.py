"""Record torch's sparse optimizers on sparse embedding gradients into tests/fixtures/sparse_parity/*.npz.

Needs torch==2.13.0 (the ``parity`` extra); tests/wrappers/test_sparse.py reads the fixtures without it. Run
from the repository root::

    python scripts/record_sparse_parity.py

The problem, in float64: a table of 8 rows x 3 and 20 steps; at each step a batch of 6 row indices (with
duplicates; some rows are left out of many steps) and one gradient row per index, drawn by a seeded NumPy
generator and independent of the table, so that both frameworks see the same gradients. torch gets them as
``nn.Embedding(sparse=True)`` gradients of ``(embedding(idx) * rows).sum()``; each fixture stores the problem,
the table after each step and the torch call.
"""

from pathlib import Path

import numpy as np

STEPS, ROWS, DIM, BATCH, SEED = 20, 8, 3, 6, 15
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sparse_parity"
TORCH_VERSION = "2.13.0"
CASES = {
    "torch_SGD_sparse": "torch.optim.SGD(params, lr=0.1)",
    "torch_Adagrad_sparse": (
        "torch.optim.Adagrad(params, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1)"
    ),
    "torch_SparseAdam": "torch.optim.SparseAdam(params, lr=0.05, betas=(0.8, 0.95))",
}


def problem():
    rng = np.random.default_rng(SEED)
    initial = rng.normal(size=(ROWS, DIM))
    # Rows 0-4 are drawn far more often than rows 5-7, so lazy and dense rules part.
    indices = np.where(
        rng.random((STEPS, BATCH)) < 0.85,
        rng.integers(0, 5, (STEPS, BATCH)),
        rng.integers(5, ROWS, (STEPS, BATCH)),
    )
    indices[:, 1] = indices[:, 0]
    rows = rng.normal(size=(STEPS, BATCH, DIM))
    return initial, indices, rows


def record(name, call):
    import torch

    assert torch.__version__.split("+")[0] == TORCH_VERSION, torch.__version__
    torch.set_default_dtype(torch.float64)
    initial, indices, rows = problem()
    embedding = torch.nn.Embedding(ROWS, DIM, sparse=True)
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(initial))
    params = list(embedding.parameters())
    opt = eval(call, {"torch": torch, "params": params})
    trajectory = []
    for idx, row_grads in zip(indices, rows, strict=True):
        opt.zero_grad()
        (embedding(torch.from_numpy(idx)) * torch.from_numpy(row_grads)).sum().backward()
        assert embedding.weight.grad.is_sparse
        opt.step()
        trajectory.append(embedding.weight.detach().numpy().copy())
    np.savez(
        FIXTURES / f"{name}.npz",
        initial=initial,
        indices=indices,
        rows=rows,
        trajectory=np.array(trajectory),
        source=np.array(f"torch {torch.__version__}: {call}"),
    )


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, call in CASES.items():
        record(name, call)
        print("recorded", name)


if __name__ == "__main__":
    main()
