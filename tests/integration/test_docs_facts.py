"""The documentation states facts of the code from the code, one source each.

* The supported PyTensor range: pages write ``{{pytensor_requirement}}``, which docs/conf.py reads from
  pyproject.toml's dependencies; no page source spells a range of its own.
* Each hyper-parameter's domain: the API pages take it from the declaration that the code checks
  (``fn.declaration.domains``), through docs/_ext/sitegen.py's ``document_domains``.

tests/test_docs.py checks the same facts on the built site.
"""

import re
import runpy
import sys
import tomllib
from pathlib import Path

import pytest

import symupdates
from symupdates.core.hyperparams import REAL

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENT = re.compile(r"pytensor\s*(?:[<>=!~]=?\s*[\d.*]+\s*,?\s*)+", re.I)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def pytensor_requirement():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(d for d in dependencies if d.startswith("pytensor"))


def test_conf_reads_the_pytensor_requirement_from_pyproject():
    conf = runpy.run_path(str(ROOT / "docs" / "conf.py"))
    assert conf["myst_substitutions"]["pytensor_requirement"] == f"`{pytensor_requirement()}`"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_spells_a_pytensor_range_of_its_own(page):
    assert REQUIREMENT.findall(page.read_text()) == [], "write {{pytensor_requirement}} instead"


def declared():
    return [n for n in symupdates.__all__ if getattr(getattr(symupdates, n), "declaration", None)]


@pytest.fixture(scope="module")
def sitegen():
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    try:
        import sitegen
    finally:
        sys.path.remove(str(ROOT / "docs" / "_ext"))
    return sitegen


@pytest.mark.parametrize("name", declared())
def test_api_docstring_states_each_declared_domain(sitegen, name):
    from sphinx.util.docstrings import prepare_docstring

    fn = getattr(symupdates, name)
    lines = prepare_docstring(fn.__doc__)
    sitegen.document_domains(None, "function", f"symupdates.{name}", fn, {}, lines)
    types = {}
    for line in lines:
        if match := sitegen.PARAMETER_LINE.match(line):
            for key in match.group(1).split(", "):
                types[key] = match.group(2)
    for key, domain in fn.declaration.domains.items():
        if domain is not REAL:
            assert domain.text in types[key], f"{name}({key}): {types[key]!r} lacks {domain.text!r}"
            # the docstring's own words for a domain give way to the declared one
            assert not sitegen.DOMAIN_IN_TYPE.search(types[key].replace(domain.text, "")), types[key]
