"""The Python snippets of README.md and of the documentation pages (docs/*.md) run, and print what their
comments say they print.

A snippet runs if it is self-contained (starts with an import, has no ``# ...`` placeholder and no
Theano/Lasagne import). A ``print(...)`` whose comment, on the same line or alone on the next, is a literal
output (numbers, lists, arrays, booleans) must print exactly that, up to white space.
"""

import os
import re
import subprocess
import sys

import pytest

from support import ROOT

LITERAL = re.compile(r"[\[\]\(\)\d\s.,+\-eE]+|(True|False)( (True|False))*")
CHECKER = """
import re as _re
def _normal(text):
    return _re.sub(r"\\s+", " ", text).replace("[ ", "[").strip()
def _expect(expected):
    def check(*values):
        printed = " ".join(str(v) for v in values)
        print(printed)
        assert _normal(printed) == _normal(expected), f"printed {printed!r}, the page says {expected!r}"
    return check
"""


PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def snippets():
    """``{"page:n": snippet}`` of the runnable snippets, a snippet shown on two pages run once."""
    found = {}
    for page in PAGES:
        blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
        runnable = [
            b
            for b in blocks
            if b.startswith("import") and "# ..." not in b and not re.search(r"import (theano|lasagne)", b)
        ]
        for n, block in enumerate(runnable):
            if block not in found.values():
                found[f"{page.relative_to(ROOT)}:{n}"] = block
    return found


def with_checks(snippet):
    """The snippet with each print that has a literal expected output replaced by a checking print."""
    lines = snippet.splitlines()
    checks = 0
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("print("):
            continue
        comment = line.split("  # ", 1)[1].strip() if "  # " in line else None
        if comment is None and i + 1 < len(lines) and lines[i + 1].startswith("# "):
            comment = lines[i + 1][2:].strip()
        if comment and LITERAL.fullmatch(comment):
            lines[i] = line.replace("print(", f"_expect({comment!r})(", 1)
            checks += 1
    return CHECKER + "\n".join(lines) + "\n", checks


def test_pages_have_runnable_snippets_with_checked_outputs():
    pages = {key.split(":")[0] for key in snippets()}
    assert "README.md" in pages and len(pages) >= 8, pages
    assert sum(with_checks(s)[1] for s in snippets().values()) >= 10


@pytest.mark.parametrize("key", list(snippets()))
def test_snippet(key, tmp_path):
    code, _ = with_checks(snippets()[key])
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
