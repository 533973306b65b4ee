"""What makes the site follow the code without editing it: the API pages, the domains on them, the gallery.

* ``api/index.rst`` lists every name of ``symupdates.__all__``, grouped by package (``core``, ``rules``,
  ``wrappers``, ``runtime``) and, inside it, by the module that defines it, with one autosummary page each:
  a new public name, or a module split in two, gets its place with no edit here.
* A declared rule or transform (one with ``.declaration``, see ``symupdates.core.transform``) shows each
  hyper-parameter's domain on its API page, taken from its declaration: the numbers the code refuses are
  the numbers the page states, from one source.
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
MATHJAX_FILE = "tex-svg.js"
PACKAGE = "symupdates"
PACKAGES = ("core", "rules", "wrappers", "runtime")  # the API page's order: the stack, bottom up
# A numpy-style parameter line, ``name : type`` or ``name1, name2 : type``.
PARAMETER_LINE = re.compile(r"^(\w+(?:, \w+)*) : (.*)$")
# A domain a docstring's type states in its own words (``>= 0``, ``in [0, 1]``): the declared one replaces it.
DOMAIN_IN_TYPE = re.compile(r",? (?:[<>]=?) -?[\d.]+|,? in [\[(][^\])]*[\])]")


def defining_module(package, name):
    """The submodule that defines ``name``: ``__module__`` for functions and classes, else the submodule
    whose source assigns it at top level (constants have no ``__module__``)."""
    module = getattr(getattr(package, name), "__module__", None)
    if module and module.startswith(package.__name__ + "."):
        return module
    root = Path(package.__file__).parent
    for path in sorted(root.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return ".".join([package.__name__, *path.relative_to(root).with_suffix("").parts])
    raise ValueError(f"cannot tell which module of {package.__name__} defines {name!r}")


def entry(package, module, name):
    """A name's autosummary entry: ``NAME`` (documented as ``package.NAME``), or for a constant
    ``module.NAME``, where autodoc finds the ``#:`` comment that documents it."""
    if hasattr(getattr(package, name), "__module__"):
        return name
    return f"{module.removeprefix(package.__name__ + '.')}.{name}"


def heading(text, underline):
    return [text, underline * len(text), ""]


def api_index(package):
    """reST of the API page: per package of ``PACKAGES`` (its docstring), per module of it in alphabetical
    order (its docstring), an autosummary of the module's public names in ``__all__`` order."""
    modules = {}
    for name in package.__all__:
        modules.setdefault(defining_module(package, name), []).append(name)
    out = heading("API reference", "=") + [
        f"Every public name of ``{package.__name__}`` (its ``__all__``), grouped by the package and the"
        f" module that define it. All are imported as ``{package.__name__}.NAME``.",
        "",
    ]
    unplaced = [m for m in modules if m.split(".")[1] not in PACKAGES]
    if unplaced:
        raise ValueError(f"public names defined outside {', '.join(PACKAGES)}: {unplaced}")
    for subpackage in PACKAGES:
        members = sorted(m for m in modules if m.split(".")[1] == subpackage)
        full = f"{package.__name__}.{subpackage}"
        out += heading(f"``{full}``", "-")
        out += [f".. automodule:: {full}", "   :no-members:", "   :no-index:", ""]
        for module in members:
            out += heading(f"``{module}``", "~")
            out += [f".. automodule:: {module}", "   :no-members:", "   :no-index:", ""]
            out += [f".. currentmodule:: {package.__name__}", ""]
            out += [".. autosummary::", "   :toctree: generated", ""]
            out += [*(f"   {entry(package, module, name)}" for name in modules[module]), ""]
    return "\n".join(out)


def write_api_index(app, config):
    package = importlib.import_module(PACKAGE)
    path = DOCS / "api" / "index.rst"
    path.parent.mkdir(exist_ok=True)
    text = api_index(package)
    if not path.exists() or path.read_text() != text:  # unchanged files keep incremental builds incremental
        path.write_text(text)


def with_domain(type_text, domain):
    """A parameter's type with ``domain``'s text in place of any domain the docstring wrote itself, before
    the ``keyword-only`` / ``optional`` flags."""
    head, *flags = re.split(r", (?=keyword-only|optional)", DOMAIN_IN_TYPE.sub("", type_text))
    return ", ".join([head, domain.text, *flags])


def document_domains(app, what, name, obj, options, lines):
    """In a declared function's Parameters section, each hyper-parameter's type states the domain its
    declaration checks (``fn.declaration.domains``). Domains that admit every real number say nothing."""
    from symupdates.core.hyperparams import REAL

    declaration = getattr(obj, "declaration", None)
    if declaration is None:
        return
    domains = {key: d for key, d in declaration.domains.items() if d is not REAL}
    if not domains:
        return
    start = lines.index("Parameters") + 2 if "Parameters" in lines else len(lines)  # none: all missing
    end = next((i for i in range(start, len(lines) - 1) if set(lines[i + 1]) == {"-"}), len(lines))
    found = set()
    for i in range(end - 1, start - 1, -1):  # backwards: a line split in two moves only the lines after it
        match = PARAMETER_LINE.match(lines[i])
        if not match:
            continue
        names = match.group(1).split(", ")
        found.update(names)
        if not any(n in domains for n in names):
            continue
        groups = {}  # names sharing a line, regrouped by domain: beta1 and beta2 stay together
        for n in names:
            groups.setdefault(domains.get(n), []).append(n)
        description = []
        for line in lines[i + 1 :]:
            if line and not line.startswith(" "):
                break
            description.append(line)
        while description and not description[-1]:
            description.pop()
        replacement = []
        for domain, group in groups.items():
            type_text = match.group(2) if domain is None else with_domain(match.group(2), domain)
            replacement += [f"{', '.join(group)} : {type_text}", *description]
        lines[i : i + 1 + len(description)] = replacement
    missing = sorted(set(domains) - found)
    if missing:
        raise ValueError(f"{name}: the docstring's Parameters section lacks {missing}, which have domains")


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
    app.connect("autodoc-process-docstring", document_domains, priority=400)  # before napoleon reads it
    app.connect("builder-inited", gallery_thumbnails, priority=900)  # after sphinx-gallery wrote its pages
    app.connect("source-read", gallery_page)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
