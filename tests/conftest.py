import warnings

# pip-installed PyTensor warns at every C compilation that it found no BLAS; our graphs are elementwise.
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

# support/ holds the shared references, helpers and scripts run in fresh processes (parallel_cases.py sets
# up JAX devices when imported): nothing to collect, not even doctests.
collect_ignore = ["support"]
