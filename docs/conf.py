"""Sphinx configuration. Build the site (warnings are errors) with

    python -m sphinx -W --keep-going -b html docs docs/_build/html

and open docs/_build/html/index.html. Nothing is fetched from the network at build or view time.
"""

import sys
import tomllib
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))  # document this checkout's package, not another installed copy

import symupdates  # noqa: E402

project = "symupdates"
release = version = symupdates.__version__
author = "symupdates developers"
copyright = "symupdates developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sitegen",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext", "images"]
html_theme = "sphinx_rtd_theme"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_title = f"symupdates {release}"

# numpy-style docstrings; the docstring examples run as doctests in the test suite, here they are shown.
autosummary_generate = True
templates_path = ["_templates"]  # a class page documents the class's own members (not a bare list of them)
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# A broken :func:, :meth:, :mod: or :obj: reference is a warning (so an error); the parameter types of the
# docstrings are free text ("float or symbolic scalar, >= 0"), which napoleon turns into py:class targets.
nitpicky = True
nitpick_ignore_regex = [("py:class", ".*")]

# MathJax 3 from the django-static-mathjax package, copied to _static by the sitegen extension.
mathjax_path = "mathjax/tex-svg.js"

myst_heading_anchors = 3

# Facts of the code that pages state are read from the code: ``{{pytensor_requirement}}`` in a page is the
# PyTensor requirement of pyproject.toml's dependencies.
_DEPENDENCIES = tomllib.loads((DOCS.parent / "pyproject.toml").read_text())["project"]["dependencies"]
myst_enable_extensions = ["substitution"]
myst_substitutions = {
    "pytensor_requirement": "`{}`".format(next(d for d in _DEPENDENCIES if d.startswith("pytensor")))
}

# intersphinx: none of PyTensor, NumPy, optax or torch ships its objects.inv in the installed package, and
# the build must not use the network, so no inventories are configured; external names stay plain text.

# The gallery shows examples/*.py with the pictures examples/make_gallery.py made at the examples' defaults
# (docs/images, the ones docs/examples.md shows). The examples are not re-run here:
# tests/integration/test_examples.py runs each, and their full runs take minutes, their few-step runs would
# show unfinished pictures.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "plot_gallery": "False",
    "ignore_pattern": r"(^|/)(_[^/]*|make_gallery)\.py$",
    "write_computation_times": False,
    "download_all_examples": False,
    "show_signature": False,
}
