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



def _pages():
    """The modules docs/api.rst lists, each of which gets a page."""
    text = (Path(__file__).parent / "api.rst").read_text()
    block = re.search(r"^\.\. autosummary::\n((?:[ \t]+.*\n|\n)+)", text, re.MULTILINE)
    return [line.strip() for line in block.group(1).splitlines()
            if line.strip() and not line.strip().startswith(":")]


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
            if inspect.ismodule(obj):
                summary = (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")
                summary = re.sub(r":[a-z:]+:`~?([^`<]+?)`", r"``\1``", summary)
                out.setdefault(page, []).append((f"{page}.{name}", summary, page_of.get(id(obj))))
    return out


# The kernels pynn.backend documents, from the reference backend that defines them, and
# the submodules each page names.
autosummary_context = {"kernels": importlib.import_module("pynn.backend").KERNELS,
                       "submodules": _submodules(_pages())}


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
