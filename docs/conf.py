"""Sphinx configuration: the guide (docs/*.md, through MyST) and the API reference, which
autosummary and autodoc generate from the docstrings of the modules docs/api.rst lists.

Build it with the pynn you want documented importable (installed, or built in place and run
from the repository root)::

    python -m sphinx -W -b html docs docs/_build/html

The generated pages (docs/api/, docs/_build/) are never committed.
"""

import importlib
import inspect
import re
import sys
from pathlib import Path

project = "pynn"
author = "the pynn developers"
copyright = "the pynn developers"
release = importlib.import_module("pynn").__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "myst_parser",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "plots"]
html_theme = "alabaster"

# A reference to a name that does not exist is an error (with -W), not plain text.
nitpicky = True

# One page per module (the template in _templates/autosummary), written at build time.
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
# The signatures carry no annotations; the numpydoc sections say the types.
autodoc_typehints = "none"
# An override without a docstring (forward, extra_repr) is documented on its base class.
autodoc_inherit_docstrings = False

# The docstrings are numpydoc, read by napoleon (set up in setup() below); layers add a
# Shape section.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
# Types stay text: "ndarray of shape (N, C, H, W)" is no class to link. An Attributes
# section is a list like Parameters, not one object per entry that would collide with the
# properties autodoc documents.
napoleon_custom_sections = ["Shape", ("Attributes", "params_style")]
napoleon_use_param = False
napoleon_use_rtype = False

# A link to a section of a guide page (page.md#heading) resolves as it does on GitHub.
myst_heading_anchors = 3



def python_reexport(obj):
    """Whether ``obj`` is a class, function or module of Python's standard library that a pynn
    module re-exports (``pynn.multiprocessing`` is ``multiprocessing`` with tensors). Those
    are Python's to document: a page lists the names pynn defines. tests/test_api_docs.py
    holds the docstrings to the same rule."""
    origin = obj.__name__ if inspect.ismodule(obj) else getattr(obj, "__module__", None)
    if not isinstance(origin, str) or not (inspect.ismodule(obj) or callable(obj)):
        return False
    return origin.partition(".")[0] in sys.stdlib_module_names


def _pages():
    """The modules docs/api.rst lists, each of which gets a page."""
    text = (Path(__file__).parent / "api.rst").read_text()
    block = re.search(r"^\.\. autosummary::\n((?:[ \t]+.*\n|\n)+)", text, re.MULTILINE)
    return [line.strip() for line in block.group(1).splitlines()
            if line.strip() and not line.strip().startswith(":")]


def _class_pages(pages):
    """``{id(class): page}``, the first page whose ``__all__`` lists each class. A class that
    several documented modules export (``pynn.data`` re-exports ``pynn.utils.data``) is
    described on that page only: Sphinx registers a class under its defining module's name
    too, and a second description of it is a duplicate."""
    owner = {}
    for page in pages:
        module = importlib.import_module(page)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                owner.setdefault(id(obj), page)
    return owner


def described_on(page, obj):
    """Whether the page of module ``page`` describes ``obj`` (one of its ``__all__``)."""
    return not python_reexport(obj) and _CLASS_PAGES.get(id(obj), page) == page


def _submodules(pages):
    """``{page: [(module name, summary line, its page or None)]}`` for the modules in each
    page's ``__all__`` (autodoc leaves them out). Roles in a summary become literals: the
    target may be a module the reference does not document."""
    page_of = {id(importlib.import_module(page)): page for page in pages}
    out = {}
    for page in pages:
        module = importlib.import_module(page)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) and not python_reexport(obj):
                summary = (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")
                summary = re.sub(r":[a-z:]+:`~?([^`<]+?)`", r"``\1``", summary)
                out.setdefault(page, []).append((f"{page}.{name}", summary, page_of.get(id(obj))))
    return out


# The kernels pynn.backend documents, from the reference backend that defines them, and
# the submodules each page names.
autosummary_context = {"kernels": importlib.import_module("pynn.backend").KERNELS,
                       "submodules": _submodules(_pages())}
_CLASS_PAGES = _class_pages(_pages())


def setup(app):
    """napoleon for functions, classes and modules only.

    The docstrings of properties and data are prose ("Where the tensor lives: always
    ``device("cpu")``"), which napoleon would split at the colon into a type and a text.
    """
    from sphinx.ext import napoleon

    app.setup_extension("sphinx.ext.napoleon")
    for listener in list(app.events.listeners["autodoc-process-docstring"]):
        if listener.handler is napoleon._process_docstring:
            app.disconnect(listener.id)

    def sections(app, what, name, obj, options, lines):
        if what not in ("attribute", "data", "property"):
            napoleon._process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", sections)

    def skip_described_elsewhere(app, what, name, obj, skip, options):
        if what == "module" and not described_on(app.env.docname.rpartition("/")[2], obj):
            return True
        return None

    app.connect("autodoc-skip-member", skip_described_elsewhere)
