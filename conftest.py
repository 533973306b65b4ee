"""Collection rules for the whole checkout (tests/conftest.py holds the tests' own helpers)."""

import importlib.util

# The pytensor-ml adapter imports pytensor-ml (Python >= 3.12): its doctests run where it is installed
# (CI's pymc6+pytensor-ml leg), and are not collected elsewhere.
collect_ignore = [] if importlib.util.find_spec("pytensor_ml") else ["symupdates/interop/pytensor_ml.py"]
