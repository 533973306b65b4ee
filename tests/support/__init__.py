"""What the tests share: NumPy references of the rules' equations, param and gradient builders, the modes
they run in, and the scripts some tests run in fresh processes. Nothing here is a test (conftest.py keeps
pytest from collecting this folder); test files import from here, never from each other."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: README.md, examples/, docs/
FIXTURES = ROOT / "tests" / "fixtures"  # recorded torch/optax trajectories (scripts/record_*parity.py)
