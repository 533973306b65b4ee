"""Run the benchmarks: ``python benchmarks/run.py`` (full, writes benchmarks/results.md) or ``--quick``.

Every peer runs single-threaded (torch.set_num_threads(1); OpenBLAS, MKL, OpenMP and XLA limited to one
thread), as PyTensor's compiled loops are; times are medians of repeats after warm-up, in microseconds of
wall clock (CPU time where a table says so), with the ratio to the fastest non-symupdates peer of the row in
parentheses.
"""

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402  first: limits every library to one thread

# isort: split
import compile_time  # noqa: E402
import mlp_step  # noqa: E402
import sparse_step  # noqa: E402
import steps_per_call  # noqa: E402
import update_step  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a subset, under 2 minutes; writes nothing")
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats per peer (full run)")
    args = parser.parse_args()
    start = time.perf_counter()
    info = common.machine_info()
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    sections = []

    def report(done):
        text = "\n".join(
            [
                "## Benchmark results",
                "",
                f"Command: `python benchmarks/run.py{' --quick' if args.quick else ''}"
                f"{'' if args.quick or args.repeats == 15 else f' --repeats {args.repeats}'}` "
                f"({time.perf_counter() - start:.0f} s{'' if done else ', sections so far'}). All peers "
                "single-threaded; microseconds per step of wall clock, CPU time where a table says so "
                "(median of repeats after warm-up, peers measured round-robin), in parentheses the ratio to "
                "the fastest non-symupdates peer of the row (< 1: faster than every peer).",
                "",
                *[f"- {k}: {v}" for k, v in info.items()],
                "",
                *sections,
            ]
        )
        if not args.quick:
            (HERE / "results.md").write_text(text)
        return text

    if args.quick:
        mlp_rows = mlp_step.run(
            configs={"784-50-10 tanh": mlp_step.CONFIGS["784-50-10 tanh"]}, batches=[64], repeats=5, log=log
        )
    else:
        mlp_rows = mlp_step.run(repeats=args.repeats, log=log)
    sections.append(
        common.ratio_table(
            "MLP training step (forward, softmax cross-entropy, backward, Adam), float32",
            mlp_rows,
            mlp_step.PEERS,
        )
    )
    report(done=False)
    if args.quick:
        update_rows = update_step.run(
            rules=["adagrad", "adam"],
            shapes={k: update_step.SHAPES[k] for k in ["1 x 1e6", "10 x 100"]},
            repeats=5,
            log=log,
        )
    else:
        update_rows = update_step.run(repeats=args.repeats, log=log)
    sections.append(
        common.ratio_table(
            "Pure update step (gradients given), float32",
            update_rows,
            update_step.PEERS,
            update_step.BASELINES,
            note="`numba kernel (bound)` is a hand-written one-pass loop: the memory-bandwidth bound, "
            "not a peer; `bytes / bandwidth` is the same bound computed: the bytes the compiled step's loops "
            "read and write (`symupdates.inspect_step`) over the bandwidth of a streaming copy of as many "
            "bytes (for 10 x 100 it leaves out the cost of 10 calls' worth of arrays). `flatten`: the rule "
            "wrapped in `symupdates.flatten` (the state of all params as one "
            "vector, the gradients concatenated each step).",
        )
    )
    report(done=False)
    # The quick run leaves out the MLP rows and the sharded section (its own subprocess with 4 CPU devices).
    sections += steps_per_call.run(repeats=5 if args.quick else args.repeats, mlp=not args.quick, log=log)
    if not args.quick:
        sections.append(steps_per_call.sharded_table(args.repeats, log=log))
    sparse_rows = sparse_step.run(
        sizes=[10**4, 10**5] if args.quick else sparse_step.SIZES,
        rules=["adagrad"] if args.quick else sparse_step.RULES,
        log=log,
    )
    sections.append(sparse_step.table(sparse_rows))
    report(done=False)
    # The cold NUMBA and C builds take minutes: the quick run measures only JAX's.
    sections.append(
        compile_time.table(
            compile_time.run(modes=["JAX"] if args.quick else ["NUMBA", "CVM", "JAX"], log=log)
        )
    )
    print(report(done=True))
    print(f"total {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
