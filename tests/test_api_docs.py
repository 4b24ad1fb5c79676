"""The API reference: every public name has a numpydoc docstring, and docs/api/ is current.

"Public" and "documented" are what ``docs/make_api.py`` documents: each page module's public
names, the methods their classes define, and the backend's kernels.
"""

import ast
import importlib.util
import inspect
import re
import textwrap

import pytest
from helpers import ROOT

from pynn.nn import Module


def _load_make_api():
    spec = importlib.util.spec_from_file_location("make_api", ROOT / "docs" / "make_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_api = _load_make_api()
DOCUMENTED = list(make_api.iter_documented())
# Functions and classes whose signature must be documented in a Parameters section.
SIGNED = ("class", "function", "kernel")
ARRAY_TYPE = re.compile(r"\b(Tensor|ndarray|array)s?\b")
COLLECTION = re.compile(r"(sequence|iterable|list|tuple|dict|mapping)\b")
SHAPE_WORDS = re.compile(r"shape|\(|scalar|0-d|like|same|broadcast")


def _doc(obj, kind):
    if kind == "module":
        return inspect.cleandoc(obj.__doc__ or "")
    if kind == "data":
        return ""
    return make_api._own_doc(obj)


def _sections(doc):
    return dict(make_api.parse_docstring(doc)[1])


def _signature_names(obj, kind):
    """Parameter names of a function, a class's constructor or a method (no self/cls)."""
    if isinstance(obj, property):
        return []
    func = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    params = list(inspect.signature(func).parameters.values())
    if kind == "method" and not isinstance(obj, staticmethod) and params:
        params = params[1:]
    return [p.name for p in params]


def _documented_names(doc):
    entries = make_api.parse_entries(_sections(doc).get("Parameters", []))
    return [name.lstrip("*") for names, _, _ in entries for name in names]


def _returns_value(func):
    """Whether ``func``'s own body has a ``return <value>`` (not counting nested functions)."""
    func = inspect.unwrap(func)
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    node = tree.body[0]
    stack = list(node.body)
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        value = n.value if isinstance(n, ast.Return) else None
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            return True
        stack.extend(ast.iter_child_nodes(n))
    return False


def _report(problems):
    return "\n".join(problems) + (
        "\n(fix the docstrings in pynn/, then run `python docs/make_api.py`)" if problems else "")


def test_the_reference_covers_the_public_api():
    kinds = {kind for _, _, kind in DOCUMENTED}
    assert kinds == {"module", "class", "function", "method", "kernel", "data"}
    names = {qual for qual, _, _ in DOCUMENTED}
    for expected in ("pynn.Tensor", "pynn.nn.Linear", "pynn.nn.Linear.reset_parameters",
                     "pynn.functional.conv2d", "pynn.optim.lr_scheduler.OneCycleLR",
                     "pynn.data.transforms.RandomCrop", "pynn.train.fit",
                     "pynn.backend.gemm", "pynn.backend.set_backend", "pynn.nn.init.zeros_"):
        assert expected in names
    import pynn.backend

    assert {q.rsplit(".", 1)[1] for q, _, k in DOCUMENTED if k == "kernel"} == set(
        pynn.backend.KERNELS)


def test_every_public_name_has_a_summary_line():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind == "data":
            doc = make_api.data_comments(importlib.import_module(qual.rsplit(".", 1)[0])).get(
                qual.rsplit(".", 1)[1], "")
        else:
            doc = _doc(obj, kind)
        first = doc.split("\n", 1)[0].strip()
        if not first:
            problems.append(f"{qual}: no docstring" if not doc else f"{qual}: no summary line")
        elif kind != "data" and (len(doc.split("\n")) > 1 and doc.split("\n")[1].strip()):
            problems.append(f"{qual}: the summary is more than one line (end it, then leave a "
                            f"blank line)")
    assert not problems, _report(problems)


def test_parameters_sections_match_the_signatures():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind not in SIGNED + ("method",):
            continue
        doc = _doc(obj, kind)
        wanted = _signature_names(obj, kind)
        has_section = "Parameters" in _sections(doc)
        if not has_section:
            if wanted and kind in SIGNED:
                problems.append(f"{qual}: no Parameters section for {', '.join(wanted)}")
            continue
        documented = _documented_names(doc)
        missing = [n for n in wanted if n not in documented]
        extra = [n for n in documented if n not in wanted]
        if missing:
            problems.append(f"{qual}: Parameters does not document {', '.join(missing)}")
        if extra:
            problems.append(f"{qual}: Parameters documents {', '.join(extra)}, which the "
                            f"signature does not take")
    assert not problems, _report(problems)


def test_parameters_have_types_and_arrays_have_shapes():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind not in SIGNED + ("method",):
            continue
        entries = make_api.parse_entries(_sections(_doc(obj, kind)).get("Parameters", []))
        for names, typ, desc in entries:
            label = f"{qual}({', '.join(names)})"
            if not typ:
                problems.append(f"{label}: no type (`name : type`)")
            elif (ARRAY_TYPE.search(typ) and not COLLECTION.match(typ)
                  and not SHAPE_WORDS.search(typ + " ".join(desc))):
                problems.append(f"{label}: an array argument without its shape ({typ!r})")
    assert not problems, _report(problems)


def test_functions_document_what_they_return():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind not in ("function", "kernel") or not inspect.isfunction(obj):
            continue
        sections = _sections(_doc(obj, kind))
        if _returns_value(obj) and not {"Returns", "Yields"} & set(sections):
            problems.append(f"{qual}: returns a value but has no Returns section")
    assert not problems, _report(problems)


def test_layers_document_their_shapes():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind != "class" or not issubclass(obj, Module) or obj.forward is Module.forward:
            continue
        forward_doc = make_api._own_doc(obj.forward)
        if "Shape" not in _sections(_doc(obj, kind)) and "Returns" not in _sections(forward_doc):
            problems.append(f"{qual}: no Shape section (input and output shapes)")
    assert not problems, _report(problems)


def test_the_committed_reference_is_current():
    stale = make_api.check()
    assert not stale, (f"docs/api/ is stale ({', '.join(stale)}): run "
                       f"`python docs/make_api.py` and commit the result")


@pytest.mark.parametrize("doc, expected", [
    ("Sum.\n\nParameters\n----------\na, b : int\n    Terms.\n*args : any\n",
     ["a", "b", "args"]),
    ("No parameters.", []),
])
def test_documented_names_are_parsed(doc, expected):
    assert _documented_names(doc) == expected
