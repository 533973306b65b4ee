"""The documentation site builds with no warning, documents every public name, states the facts of the code
that the code holds (the PyTensor range, each hyper-parameter's domain), and renders in Chromium.

The site is built as docs/getting_started.md says (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``), from a copy of the checkout's docs, examples, benchmark results, pyproject.toml and
package, so that parallel test workers never write into the same source tree. Headless Chromium (Debian's
``chromium`` and ``chromium-driver``, installed by ``.ci/run``) then opens the index, an API page with
equations, a gallery page and the search page; their screenshots are kept in ``docs/_build/screenshots``.
"""

import html as html_text
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

import symupdates
from support import ROOT
from symupdates.core.hyperparams import REAL

SCREENSHOTS = ROOT / "docs" / "_build" / "screenshots"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
]


def require(available, reason):
    """Skip when a tool is missing, except in CI, whose .ci/run installs everything these tests use."""
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install it: {reason}")
        pytest.skip(reason)


def installed(module):
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(html directory, sphinx's output) of a build with warnings as errors."""
    extensions = ("sphinx", "myst_parser", "sphinx_gallery", "sphinx_rtd_theme", "mathjax")
    missing = [m for m in extensions if not installed(m)]
    require(not missing, f"the docs extra is not installed (missing {', '.join(missing)})")
    source = tmp_path_factory.mktemp("checkout")
    ignore = shutil.ignore_patterns("_build", "api", "auto_examples", "__pycache__")
    for name in ("docs", "examples", "symupdates"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    (source / "benchmarks").mkdir()
    shutil.copy2(ROOT / "benchmarks" / "results.md", source / "benchmarks")  # the performance page shows it
    shutil.copy2(ROOT / "pyproject.toml", source)  # the pages' PyTensor range
    html = source / "docs" / "_build" / "html"
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", str(html)],
        cwd=source,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(source)},
    )
    return html, run


def test_site_builds_without_warnings(site):
    html, run = site
    assert run.returncode == 0 and "WARNING" not in run.stderr + run.stdout, run.stderr[-5000:]
    for page in ("index", "getting_started", "optimizers", "api/index", "auto_examples/index", "search"):
        assert (html / f"{page}.html").is_file(), page


def test_every_public_name_has_an_api_page(site):
    html, run = site
    index = (html / "api" / "index.html").read_text()
    for name in symupdates.__all__:
        pages = (html / "api" / "generated").glob("symupdates.*.html")
        documented = [p for p in pages if p.stem.endswith("." + name)]
        assert any(f'id="{p.stem}"' in p.read_text() for p in documented), f"no API page documents {name}"
        assert f"{documented[0].stem}.html" in index, f"the API index does not link {name}"


def page_text(path):
    """The visible text of a built page, tags removed and entities resolved."""
    return html_text.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_pages_state_the_pytensor_range_of_pyproject(site):
    html, run = site
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    requirement = next(d for d in dependencies if d.startswith("pytensor"))
    stated = {}
    for page in html.glob("*.html"):
        for spec in re.findall(r"pytensor\s*(?:[<>=!~]=?\s*[\d.*]+\s*,?\s*)+", page_text(page), flags=re.I):
            stated.setdefault(spec.strip().rstrip(","), []).append(page.name)
    assert "porting.html" in stated.get(requirement, []) and "pymc.html" in stated[requirement], stated
    assert set(stated) == {requirement}, stated


def test_api_pages_state_each_declared_domain(site):
    """The domain each declared rule and transform checks is on its page, beside the parameter's type."""
    html, run = site
    for name in symupdates.__all__:
        declaration = getattr(getattr(symupdates, name), "declaration", None)
        if declaration is None:
            continue
        page = (html / "api" / "generated" / f"symupdates.{name}.html").read_text()
        # napoleon: <p><strong>beta1</strong> (<em>float or symbolic scalar, in [0, 1)</em>) – ...</p>
        fields = {
            html_text.unescape(names): html_text.unescape(re.sub(r"<[^>]+>", "", rest))
            for names, rest in re.findall(r"<p><strong>([^<]+)</strong>( \(.*?)</p>", page, flags=re.S)
        }
        for key, domain in declaration.domains.items():
            if domain is not REAL:
                assert domain.text in fields[key], f"{name}: {key} shows {fields[key]!r}, not {domain.text!r}"


@pytest.fixture(scope="module")
def browser():
    has_chromium = CHROMIUM.exists() and CHROMEDRIVER.exists()
    require(has_chromium, "no headless Chromium: apt-get install chromium chromium-driver")
    require(installed("selenium"), "selenium is not installed (test extra)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, html, page, screenshot):
    driver.get((html / page).as_uri())
    driver.execute_async_script(  # every image loaded or failed, and web fonts ready
        "const done = arguments[0];"
        "Promise.all([document.fonts.ready, ...[...document.images].map(i => i.complete ? 0 :"
        " new Promise(r => { i.onload = i.onerror = r; }))]).then(() => done());"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / screenshot))


def test_pages_render_in_chromium(site, browser):
    html, run = site
    assert run.returncode == 0, run.stderr[-5000:]

    open_page(browser, html, "index.html", "index.png")
    assert "symupdates" in browser.title
    assert browser.find_elements("css selector", "a[href='api/index.html']")

    # adam's docstring has display math: MathJax must have typeset it, leaving no LaTeX source as text.
    open_page(browser, html, "api/generated/symupdates.adam.html", "api_adam.png")
    browser.execute_async_script("MathJax.startup.promise.then(() => arguments[0]())")
    browser.save_screenshot(str(SCREENSHOTS / "api_adam.png"))
    assert browser.find_elements("css selector", "mjx-container svg")
    text = browser.find_element("css selector", "div[role=main]").text
    for latex in ("\\frac", "\\sqrt", "\\beta", "\\["):
        assert latex not in text, f"raw LaTeX {latex} on the adam page"

    open_page(browser, html, "auto_examples/optimizer_paths.html", "gallery_optimizer_paths.png")
    widths = browser.execute_script(
        "return [...document.querySelectorAll('div[role=main] img')].map(i => [i.src, i.naturalWidth])"
    )
    assert len(widths) >= 3 and all(width > 0 for _, width in widths), widths

    browser.get((html / "search.html").as_uri() + "?q=adagrad")
    browser.execute_async_script(
        "const done = arguments[0]; const t0 = Date.now(); (function poll() {"
        " if (document.querySelector('#search-results li') || Date.now() - t0 > 20000) done();"
        " else setTimeout(poll, 100); })();"
    )
    browser.save_screenshot(str(SCREENSHOTS / "search_adagrad.png"))
    results = [a.get_attribute("href") for a in browser.find_elements("css selector", "#search-results li a")]
    assert any("/symupdates.adagrad.html" in r for r in results), results
