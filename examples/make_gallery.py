"""Make the pictures of the docs' examples page by running the examples with the options shown there.

    python examples/make_gallery.py [--out DIR] [--overwrite]
    python examples/make_gallery.py --out docs/images --overwrite    # regenerate the docs' pictures

Each example runs in a subprocess (as ``python examples/NAME.py ... --out TMP``) and the pictures the docs
show are copied to ``--out``, by default a new directory ``gallery-*`` under the current one; the other
files the examples write (histories, other plots) are dropped. A picture that already exists in ``--out``
(e.g. a tracked file in docs/images) is replaced only with ``--overwrite``: without it the script stops
before running anything. Prints what each command printed, so the numbers quoted in docs/examples.md can be
checked against it.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent

# command-line arguments of each example -> the pictures of it that docs/examples.md shows
GALLERY = {
    ("adagrad_2d.py",): ["adagrad_2d.png"],
    ("optimizer_paths.py",): [
        "optimizer_paths_contour.png",
        "optimizer_paths_surface.png",
        "optimizer_paths.gif",
    ],
    ("matrix_factorization.py", "--fit-rank", "20", "--l2", "1"): ["matrix_factorization.png"],
    ("linear_regression.py",): ["linear_regression.png"],
    ("train_mlp.py", "--no-progress"): ["train_mlp_adagrad.png"],
    ("compare_optimizers.py",): ["compare_optimizers.png"],
    ("compare_modern.py",): ["compare_modern.png"],
    ("nmf.py",): ["nmf_losses.png", "nmf_components.png"],
    ("port_from_lasagne.py",): ["port_from_lasagne.png"],
    ("recommender.py",): ["recommender.png"],
    ("full_batch.py",): ["full_batch.png"],
    ("meta_learning.py",): ["meta_learning.png"],
}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="directory for the pictures (None: a new gallery-* here)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace pictures that already exist in --out (docs/images)"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="gallery-", dir="."))
    existing = [p for pictures in GALLERY.values() for p in pictures if (args.out / p).exists()]
    if existing and not args.overwrite:
        parser.error(f"{args.out} already has {', '.join(existing)}; pass --overwrite to replace them")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for command, pictures in GALLERY.items():
            print(f"$ python examples/{' '.join(command)}", flush=True)
            script, *options = command
            subprocess.run([sys.executable, str(EXAMPLES / script), *options, "--out", scratch], check=True)
            for picture in pictures:
                shutil.copy(Path(scratch) / picture, args.out / picture)
    total = sum((args.out / p).stat().st_size for pictures in GALLERY.values() for p in pictures)
    print(f"gallery in {args.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
