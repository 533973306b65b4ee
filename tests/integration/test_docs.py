"""The documentation site builds with no warning, documents every public name, and renders in Chromium.

The site is built as README says (``python -m sphinx -W --keep-going -b html docs docs/_build/html``), from
a copy of the checkout's docs, examples, README and package, so that parallel test workers never write into
the same source tree. Headless Chromium (Debian's ``chromium`` and ``chromium-driver``, installed by
``.ci/run``) then opens the index, an API page with equations, a gallery page and the search page; their
screenshots are kept in ``docs/_build/screenshots``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import symupdates
from support import ROOT

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
    shutil.copy2(ROOT / "README.md", source)
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
