"""The API reference: every public name has a numpydoc docstring, and Sphinx builds it.

The reference (docs/api.rst) is one page per module it lists; autodoc documents each module's
``__all__``, the methods and properties each class defines itself (an override without a
docstring of its own is left to its base class), and, on the ``pynn.backend`` page, every
kernel of ``KERNELS`` from the reference backend. "Public" here means exactly that.
"""

import ast
import enum
import importlib
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zlib

import pytest
from helpers import ROOT

import pynn
from pynn.nn import Module

API_INDEX = ROOT / "docs" / "api.rst"
# Functions and classes whose signature must be documented in a Parameters section.
SIGNED = ("class", "function", "kernel")
ARRAY_TYPE = re.compile(r"\b(Tensor|ndarray|array)s?\b")
COLLECTION = re.compile(r"(sequence|iterable|list|tuple|dict|mapping)\b")
SHAPE_WORDS = re.compile(r"shape|\(|scalar|0-d|like|same|broadcast")
# Methods that only customise behaviour documented on the base class (Module.extra_repr).
HOOKS = ("extra_repr",)


def reference_modules():
    """The modules docs/api.rst lists under its autosummary directive, in its order."""
    if not API_INDEX.is_file():
        pytest.skip("not a source checkout (no docs/api.rst)", allow_module_level=True)
    text = API_INDEX.read_text()
    block = re.search(r"^\.\. autosummary::\n((?:[ \t]+.*\n|\n)+)", text, re.MULTILINE)
    assert block, "docs/api.rst has no autosummary directive"
    return [line.strip() for line in block.group(1).splitlines()
            if line.strip() and not line.strip().startswith(":")]


def own_doc(obj):
    """The docstring ``obj`` itself defines (a class does not inherit its base's)."""
    if isinstance(obj, property):
        obj = obj.fget
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
    else:
        doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else ""


def doc_comments(module):
    """``{name: comment}`` for module-level assignments under ``#:`` lines (autodoc's rule)."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign):
            continue
        comment = []
        i = node.lineno - 2
        while i >= 0 and lines[i].startswith("#:"):
            comment.insert(0, lines[i][2:].strip())
            i -= 1
        for target in node.targets:
            if isinstance(target, ast.Name) and comment:
                out[target.id] = "\n".join(comment)
    return out


def public_methods(cls):
    """``[(name, member)]``: public functions and properties ``cls`` itself defines."""
    return [(name, member) for name, member in cls.__dict__.items()
            if not name.startswith("_") and name not in HOOKS
            and (isinstance(member, (staticmethod, classmethod, property))
                 or inspect.isfunction(member))]


def _is_alias(cls, name, member):
    """Whether ``cls.name`` is another name of a method ``cls`` defines (``clip = clamp``)."""
    original = getattr(member, "__name__", name)
    return original != name and cls.__dict__.get(original) is member


def _overrides(cls, name):
    return any(name in base.__dict__ for base in cls.__mro__[1:])


def _sphinx_conf():
    """docs/conf.py as a module: the rules of what the reference documents live there."""
    spec = importlib.util.spec_from_file_location("pynn_docs_conf", ROOT / "docs" / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def iter_documented():
    """Yield ``(qualname, obj, kind)`` for everything the reference documents."""
    modules = reference_modules()  # skips the tests outside a source checkout
    conf = _sphinx_conf()
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            qual = f"{module_name}.{name}"
            if not conf.described_on(module_name, obj):
                continue
            if inspect.ismodule(obj):
                yield qual, obj, "module"
            elif inspect.isclass(obj):
                yield qual, obj, "class"
                for mname, member in public_methods(obj):
                    if _is_alias(obj, mname, member):
                        continue
                    if not _overrides(obj, mname) or own_doc(member):
                        yield f"{qual}.{mname}", member, "method"
            elif callable(obj):
                yield qual, obj, "function"
            else:
                yield qual, obj, "data"
    reference = importlib.import_module("pynn.backend.reference")
    for name in pynn.backend.KERNELS:
        yield f"pynn.backend.{name}", getattr(reference, name), "kernel"


def parse_sections(doc):
    """``{title: body_lines}`` of a numpydoc docstring (a title underlined with dashes)."""
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    sections, current = {}, None
    i = 0
    while i < len(lines):
        line, under = lines[i], lines[i + 1] if i + 1 < len(lines) else ""
        if (line.strip() and not line.startswith(" ") and re.fullmatch(r"-{3,}", under)
                and len(under) >= len(line.strip()) - 1):
            current = sections.setdefault(line.strip(), [])
            i += 2
            continue
        if current is not None:
            current.append(line)
        i += 1
    return {title: textwrap.dedent("\n".join(body)).strip("\n").splitlines()
            for title, body in sections.items()}


def parse_entries(body):
    """``[(names, type, description_lines)]`` of a Parameters-like section body."""
    entries = []
    for line in body:
        if line.strip() and not line[0].isspace():
            head, _, typ = line.partition(" : ")
            entries.append(([n.strip() for n in head.split(",") if n.strip()], typ.strip(), []))
        elif entries:
            entries[-1][2].append(line)
    return entries


DOCUMENTED = list(iter_documented())


def _doc(obj, kind):
    if kind == "module":
        return inspect.cleandoc(obj.__doc__ or "")
    if kind == "data":
        return ""
    return own_doc(obj)


def _signature_names(obj, kind):
    """Parameter names of a function, a class's constructor or a method (no self/cls)."""
    if isinstance(obj, property):
        return []
    func = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    try:
        params = list(inspect.signature(func).parameters.values())
    except ValueError:  # an exception class keeping its builtin base's constructor
        return []
    if kind == "method" and not isinstance(obj, staticmethod) and params:
        params = params[1:]
    return [p.name for p in params]


def _documented_names(doc):
    entries = parse_entries(parse_sections(doc).get("Parameters", []))
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
    return "\n".join(problems) + ("\n(fix the docstrings in pynn/)" if problems else "")


def test_the_reference_covers_the_public_api():
    kinds = {kind for _, _, kind in DOCUMENTED}
    assert kinds == {"module", "class", "function", "method", "kernel", "data"}
    names = {qual for qual, _, _ in DOCUMENTED}
    for expected in ("pynn.Tensor", "pynn.nn.Linear", "pynn.nn.Linear.reset_parameters",
                     "pynn.functional.conv2d", "pynn.optim.lr_scheduler.OneCycleLR",
                     "pynn.data.transforms.RandomCrop", "pynn.train.fit", "pynn.float32",
                     "pynn.backend.gemm", "pynn.backend.set_backend", "pynn.nn.init.zeros_"):
        assert expected in names
    assert {q.rsplit(".", 1)[1] for q, _, k in DOCUMENTED if k == "kernel"} == set(
        pynn.backend.KERNELS)


def test_every_public_name_has_a_summary_line():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind == "data":
            module, name = qual.rsplit(".", 1)
            doc = doc_comments(importlib.import_module(module)).get(name, "")
            if not doc:
                problems.append(f"{qual}: no `#:` comment above its assignment")
            continue
        doc = _doc(obj, kind)
        first = doc.split("\n", 1)[0].strip()
        if not first:
            problems.append(f"{qual}: no docstring" if not doc else f"{qual}: no summary line")
        elif len(doc.split("\n")) > 1 and doc.split("\n")[1].strip():
            problems.append(f"{qual}: the summary is more than one line (end it, then leave a "
                            f"blank line)")
    assert not problems, _report(problems)


def test_parameters_sections_match_the_signatures():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind not in SIGNED + ("method",):
            continue
        if inspect.isclass(obj) and issubclass(obj, enum.Enum):
            continue  # its members are the API, not the constructor EnumMeta gives it
        doc = _doc(obj, kind)
        wanted = _signature_names(obj, kind)
        if "Parameters" not in parse_sections(doc):
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
        entries = parse_entries(parse_sections(_doc(obj, kind)).get("Parameters", []))
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
        sections = parse_sections(_doc(obj, kind))
        if _returns_value(obj) and not {"Returns", "Yields"} & set(sections):
            problems.append(f"{qual}: returns a value but has no Returns section")
    assert not problems, _report(problems)


def test_layers_document_their_shapes():
    problems = []
    for qual, obj, kind in DOCUMENTED:
        if kind != "class" or not issubclass(obj, Module) or obj.forward is Module.forward:
            continue
        forward_doc = own_doc(obj.forward)
        if ("Shape" not in parse_sections(_doc(obj, kind))
                and "Returns" not in parse_sections(forward_doc)):
            problems.append(f"{qual}: no Shape section (input and output shapes)")
    assert not problems, _report(problems)


@pytest.mark.parametrize("doc, expected", [
    ("Sum.\n\nParameters\n----------\na, b : int\n    Terms.\n*args : any\n",
     ["a", "b", "args"]),
    ("No parameters.", []),
])
def test_documented_names_are_parsed(doc, expected):
    assert _documented_names(doc) == expected


def test_the_reference_lists_modules():
    modules = reference_modules()
    assert modules[0] == "pynn" and "pynn.backend" in modules and len(set(modules)) == len(
        modules)


def test_sphinx_builds_the_docs_without_warnings(tmp_path):
    """The guide and the reference, with every warning an error: a broken cross-reference
    (nitpicky), bad reST in a docstring, a page in no table of contents."""
    pytest.importorskip("sphinx", minversion="8")
    pytest.importorskip("myst_parser")
    if not API_INDEX.is_file():
        pytest.skip("not a source checkout (no docs/)")
    # A copy, so that the stubs autosummary writes do not land in the source tree.
    src = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", src, ignore=shutil.ignore_patterns("_build", "api"))
    # The pynn under test (installed or built in place), not the checkout's sources.
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(pynn.__file__)))
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(src), str(tmp_path / "html")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    if run.returncode != 0:
        pytest.fail(f"sphinx-build failed:\n{run.stderr[-6000:]}{run.stdout[-2000:]}",
                    pytrace=False)
    # Everything the docstring checks above hold to the standard is on a page (modules are
    # listed on their parent's page, kernels are under the reference backend's names).
    documented = _inventory(tmp_path / "html" / "objects.inv")
    wanted = {q.replace("pynn.backend.", "pynn.backend.reference.") if kind == "kernel" else q
              for q, _, kind in DOCUMENTED if kind != "module"}
    missing = sorted(wanted - documented)
    assert not missing, f"not in the built reference: {', '.join(missing)}"


def _inventory(path):
    """The Python objects a Sphinx ``objects.inv`` lists (four header lines, then zlib)."""
    body = zlib.decompress(path.read_bytes().split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if " py:" in line}
