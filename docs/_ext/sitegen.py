"""What makes the site follow the repository without editing it: README sections, the API and the gallery.

* A line ``% readme: Title`` in a page (a MyST comment) is replaced by README.md's section ``## Title`` with
  its subsections, headings shifted so that the section's own heading is H2; when the page has the
  section's title (or for README's H1 title section, whose lead text only is taken), the page's H1 stands
  for the section's heading. Links into ``docs/`` are made relative to the page; links to other repository
  files (and to the built site) become their path as code, as they are not pages of the site. A missing
  section is an error, so a renamed README heading cannot silently empty a page.
* ``api/index.rst`` lists every name of ``symupdates.__all__``, grouped by the module that defines it, with
  one autosummary page each: a new public name gets its page with no edit here.
* Each gallery page (sphinx-gallery's ``auto_examples/NAME``) shows the pictures that
  ``examples/make_gallery.py`` maps to ``NAME.py`` (its ``GALLERY``), taken from ``docs/images``.
* MathJax is served from the ``django-static-mathjax`` package (MathJax 3, SVG output: one file, no fonts to
  fetch), so equations render without network.
"""

import ast
import importlib
import importlib.util
import re
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent
ROOT = DOCS.parent
HEADING = re.compile(r"^(#{1,6}) (.*)$")
README_MARKER = re.compile(r"^% readme: (.+)$", re.M)
LINK = re.compile(r"(!?\[[^\]]*\])\(([^)\s]+)\)")
MATHJAX_FILE = "tex-svg.js"
PACKAGE = "symupdates"


def readme_sections(text):
    """``{title: (level, first line, end line)}`` for every heading outside fenced code."""
    lines = text.splitlines()
    headings, fenced = [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := HEADING.match(line)):
            headings.append((i, len(match.group(1)), match.group(2).strip()))
    sections = {}
    for k, (start, level, title) in enumerate(headings):
        # The title section (H1) is its lead text only; any other runs until a heading of its level or above.
        later = [i for i, lvl, _ in headings[k + 1 :] if level == 1 or lvl <= level]
        sections[title] = (level, start, later[0] if later else len(lines))
    return lines, sections


def relink(text, page):
    """README links made to work from ``page`` (a docname): docs/ files relative to it, others as code."""
    up = "../" * page.count("/")

    def fix(match):
        label, target = match.groups()
        if re.match(r"[a-z]+:|#", target):
            return match.group(0)
        if target.startswith("docs/") and not target.startswith("docs/_build/"):  # a missing one warns
            return f"{label}({up}{target[len('docs/') :]})"
        return f"{label[1:-1]} (`{target}`)" if not label.startswith("!") else match.group(0)

    return LINK.sub(fix, text)


def readme_section(title, page, page_title):
    lines, sections = readme_sections((ROOT / "README.md").read_text())
    if title not in sections:
        raise ValueError(f"{page}: README.md has no section {title!r} (its sections: {', '.join(sections)})")
    level, start, end = sections[title]
    # A section that the page is named after (or the H1 title section) gives its text, the page its heading.
    is_page = level == 1 or title == page_title
    shift = (1 if is_page else 2) - level
    body, fenced = [], False
    for line in lines[start + is_page : end]:
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        body.append(f"{'#' * (len(match.group(1)) + shift)} {match.group(2)}" if match else line)
    return relink("\n".join(body), page)


def include_readme(app, docname, source):
    page_title = re.search(r"^# (.*)$", source[0], re.M)
    page_title = page_title and page_title.group(1).strip()

    def section(match):
        return readme_section(match.group(1).strip(), docname, page_title)

    source[0] = README_MARKER.sub(section, source[0])


def defining_module(package, name):
    """The submodule that defines ``name``: ``__module__`` for functions and classes, else the submodule
    whose source assigns it at top level (constants have no ``__module__``)."""
    module = getattr(getattr(package, name), "__module__", None)
    if module and module.startswith(package.__name__ + "."):
        return module
    for path in sorted(Path(package.__file__).parent.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return f"{package.__name__}.{path.stem}"
    raise ValueError(f"cannot tell which module of {package.__name__} defines {name!r}")


def entry(package, module, name):
    """A name's autosummary entry: ``NAME`` (documented as ``package.NAME``), or for a constant
    ``module.NAME``, where autodoc finds the ``#:`` comment that documents it."""
    if hasattr(getattr(package, name), "__module__"):
        return name
    return f"{module.removeprefix(package.__name__ + '.')}.{name}"


def api_index(package):
    """reST of the API page: per defining module (in the order of the package docstring's layout), the
    module's docstring and an autosummary of its public names, in ``__all__`` order."""
    groups = {}
    for name in package.__all__:
        groups.setdefault(defining_module(package, name), []).append(name)
    layout = package.__doc__ or ""
    order = sorted(groups, key=lambda m: (layout.find(f"``{m.rsplit('.', 1)[1]}``") % (len(layout) + 1), m))
    out = [
        "API reference",
        "=============",
        "",
        f"Every public name of ``{package.__name__}`` (its ``__all__``), grouped by the module that defines"
        f" it. All are imported as ``{package.__name__}.NAME``.",
        "",
    ]
    for module in order:
        out += [
            f"``{module}``",
            "-" * (len(module) + 4),
            "",
            f".. automodule:: {module}",
            "   :no-members:",
            "   :no-index:",
            "",
            f".. currentmodule:: {package.__name__}",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "",
            *(f"   {entry(package, module, name)}" for name in groups[module]),
            "",
        ]
    return "\n".join(out)


def write_api_index(app, config):
    package = importlib.import_module(PACKAGE)
    path = DOCS / "api" / "index.rst"
    path.parent.mkdir(exist_ok=True)
    text = api_index(package)
    if not path.exists() or path.read_text() != text:  # unchanged files keep incremental builds incremental
        path.write_text(text)


def gallery_pictures():
    """``{example file name: [picture names]}`` from ``examples/make_gallery.py``'s ``GALLERY``."""
    spec = importlib.util.spec_from_file_location("make_gallery", ROOT / "examples" / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {command[0]: pictures for command, pictures in module.GALLERY.items()}


def gallery_page(app, docname, source):
    """An example's page: the docstring's first line as its title, then the example's pictures."""
    gallery = app.config.sphinx_gallery_conf["gallery_dirs"]
    if not docname.startswith(gallery + "/") or docname == gallery + "/index":
        return
    label = re.search(r"^\.\. _sphx_glr_\S+:\n\n(.+)$", source[0], re.M)
    if label is None:
        raise ValueError(f"{docname}: no docstring after sphinx-gallery's label (a new page format?)")
    title_end = label.end(1)
    source[0] = source[0][:title_end] + "\n" + "=" * len(label.group(1)) + source[0][title_end:]
    pictures = gallery_pictures().get(docname.split("/", 1)[1] + ".py", [])
    missing = [p for p in pictures if not (DOCS / "images" / p).exists()]
    if missing:
        raise FileNotFoundError(f"docs/images lacks {missing}: run python examples/make_gallery.py")
    # The usage line of the docstring, ``    python examples/NAME.py [...]``, is a shell command, not a quote.
    source[0] = re.sub(r"\n\n(    python examples/)", r"\n\n.. code-block:: bash\n\n\1", source[0], count=1)
    images = "".join(f".. image:: /images/{p}\n   :alt: {p}\n\n" for p in pictures)
    # Right after the example's docstring, before its code, where an executed gallery shows its figures.
    first_code = source[0].index(".. GENERATED FROM PYTHON SOURCE LINES", title_end)
    source[0] = source[0][:first_code] + images + source[0][first_code:]


def gallery_thumbnails(app):
    """The gallery index shows each example's first still picture (sphinx-gallery made placeholders, as
    the examples are not run)."""
    from sphinx_gallery.gen_rst import scale_image

    conf = app.config.sphinx_gallery_conf
    gallery = conf["gallery_dirs"] if isinstance(conf["gallery_dirs"], str) else conf["gallery_dirs"][0]
    for example, pictures in gallery_pictures().items():
        stills = [p for p in pictures if not p.endswith(".gif")]
        thumb = DOCS / gallery / "images" / "thumb" / f"sphx_glr_{Path(example).stem}_thumb.png"
        if stills and thumb.parent.is_dir():
            scale_image(DOCS / "images" / stills[0], thumb, *conf["thumbnail_size"])


def mathjax_source():
    import mathjax  # the django-static-mathjax package

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / MATHJAX_FILE


def copy_mathjax(app, exception):
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(mathjax_source(), target / MATHJAX_FILE)


def setup(app):
    app.connect("config-inited", write_api_index)  # before Sphinx lists the documents
    app.connect("source-read", include_readme)
    app.connect("builder-inited", gallery_thumbnails, priority=900)  # after sphinx-gallery wrote its pages
    app.connect("source-read", gallery_page)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
