"""Write ``_kernels.pxd`` and ``_table.pxi`` from the kernel table (``_kernel_table.py``)
through their Tempita templates (``*.tp``). setup.py runs this before Cython, by path: it
imports nothing of pynn, so it runs in a clean checkout before anything is built.

``python pynn/backend/_codegen.py`` writes the two files too, to read them.
"""

import os
import re
import runpy

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUTS = ("_kernels.pxd", "_table.pxi")
# Names the generated wrapper uses for itself: a table argument must not take them.
_RESERVED = {"desc", "vs", "isz", "hyper", "isa", "n_threads"}

_ARRAY = re.compile(r"(in|inout|out)(\?)? (\w+)\[([^\]]+)\](?: if (.+))?$")
_SCALAR = re.compile(r"(double|int) (\w+)$")
_DIM = re.compile(r"(?:(\d+)\*)?(\w+)$")


class Arg:
    """One C argument of a row: ``kind`` is size, array, scalar or hyper."""

    def __init__(self, text):
        self.text = text
        self.optional, self.cond = False, None
        m = _ARRAY.match(text)
        if m:
            self.kind, self.role = "array", m.group(1)
            self.optional, self.name, self.cond = bool(m.group(2)), m.group(3), m.group(5)
            shape = [d.strip() for d in m.group(4).split(",")]
            self.star = shape[0].startswith("*")
            if self.star:
                shape[0] = shape[0][1:]
            self.dims = [_dim(d, text) for d in shape]
            return
        m = _SCALAR.match(text)
        if m:
            self.kind, self.ctype, self.name = "scalar", m.group(1), m.group(2)
        elif text.startswith("hyper "):
            self.kind, self.name = "hyper", text.split()[1]
        elif re.fullmatch(r"\w+", text):
            self.kind, self.name = "size", text
        else:
            raise ValueError(f"kernel table: cannot read the argument {text!r}")

    def c_decl(self, hyper):
        if self.kind == "size":
            return f"int64_t {self.name}"
        if self.kind == "scalar":
            return f"{self.ctype} {self.name}"
        if self.kind == "hyper":
            return f"const {hyper} *{self.name}"
        return ("const real *" if self.role == "in" else "real *") + self.name


def _dim(text, arg):
    m = _DIM.match(text)
    if not m:
        raise ValueError(f"kernel table: cannot read the size {text!r} of {arg!r}")
    return int(m.group(1) or 1), m.group(2)


def _split(text):
    return [a.strip() for a in text.split(",") if a.strip()]


def _args(row):
    """The row's C arguments; the shape patterns' commas split into one Arg per array."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(row.args + ","):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            out.append(Arg(row.args[start:i].strip()))
            start = i + 1
    return out


def _hyper_fields(row):
    """``[(cython_type, name)]`` of the row's hyper struct."""
    return [tuple(f.rsplit(" ", 1)) for f in _split(row.hyper[1])] if row.hyper else []


class Wrapper:
    """What the template needs to write one row's Cython wrapper."""

    def __init__(self, row):
        self.name, self.family, self.stem = row.name, row.family, row.stem
        args = _args(row)
        fields = _hyper_fields(row)
        names = [a.name for a in args] + [f for _, f in fields]
        clash = _RESERVED.intersection(names) or {n for n in names if names.count(n) > 1}
        if clash:
            raise ValueError(f"kernel table: {row.name} reuses the names {sorted(clash)}")
        self.sizes = [a.name for a in args if a.kind == "size"]
        arrays = [a for a in args if a.kind == "array"]
        self.indices = [f"i_{a.name}" for a in arrays]
        # The wrapper's parameters, in C order (outputs are made here), then the hyper fields:
        # ``params`` typed for Cython, ``py_args`` their names.
        passed = [a for a in args
                  if a.kind == "scalar" or (a.kind == "array" and a.role != "out")]
        self.params = [f"{a.ctype} {a.name}" if a.kind == "scalar" else a.name for a in passed]
        self.params += [f"{t} {n}" for t, n in fields]
        self.py_args = [a.name for a in passed] + [n for _, n in fields]
        self.hyper = row.hyper[0] if row.hyper else None
        self.fields = [n for _, n in fields]
        self.take = self._take([a for a in arrays if a.role != "out"])
        self.make = []
        for a in (a for a in arrays if a.role == "out"):
            if not {s for _, s in a.dims} <= self.bound:
                raise ValueError(f"kernel table: {self.name}: {a.text} uses a size no earlier "
                                 "array binds")
            self.make.append(f"i_{a.name} = vs.n")
            if a.star:
                self.make.append(f"{a.name} = new_like(&vs, i_{self.first})")
            else:
                rows, cols = (_size_expr(d) for d in a.dims)
                self.make.append(f"{a.name} = new_matrix(&vs, {rows}, {cols}, isz)")
        if self.bound != set(self.sizes):
            raise ValueError(f"kernel table: {self.name}: the sizes the arrays bind, "
                             f"{sorted(self.bound)}, are not the size arguments, "
                             f"{sorted(self.sizes)}")
        self.outs = [a.name for a in arrays if a.role == "out"]
        self.returns = ", ".join(self.outs) if self.outs else "None"
        self.empty = " or ".join(f"{s} == 0" for s in self.sizes) or "False"
        self.calls = {}
        for real in ("float", "double"):
            call = []
            for a in args:
                if a.kind == "array":
                    const = "const " if a.role == "in" else ""
                    call.append(f"<{const}{real} *>data(&vs, i_{a.name})")
                elif a.kind == "hyper":
                    call.append("&hyper")
                else:
                    call.append(a.name)
            self.calls[real] = ", ".join(call + ["n_threads"])

    def _take(self, arrays):
        """The lines that take the input arrays' views and bind the sizes."""
        lines, bound = [], set()
        first = arrays[0]
        if first.optional or first.cond:
            raise ValueError(f"kernel table: {self.name}'s first array must be required")
        self.first = first.name
        for a in arrays:
            i = f"i_{a.name}"
            v = f"vs.view[{i}]"
            if a is first:
                take = "acquire_written" if a.role == "inout" else "acquire"
                lines.append(f"{i} = {take}(&vs, {a.name})")
                bad = [f"{i} < 0"]
                if a.role == "inout":
                    bad.append(f"not c_contiguous(&{v})")
                if a.star and len(a.dims) > 1:
                    bad.append(f"{v}.ndim < 1")
                elif not a.star:
                    bad.append(f"{v}.ndim != {len(a.dims)}")
                    bad += [f"{v}.shape[{d}] % {k}" for d, (k, _) in enumerate(a.dims) if k > 1]
                lines.append(f"if {' or '.join(bad)}:")
                lines.append("    raise Refused")
                lines.append(f"isz = {v}.itemsize")
                if a.star:
                    (_, total), *rest = a.dims
                    if rest:
                        (_, last), = rest
                        lines.append(f"{last} = {v}.shape[{v}.ndim - 1]")
                        lines.append(f"{total} = elements(&{v}) // {last} if {last} else 0")
                    else:
                        lines.append(f"{total} = elements(&{v})")
                else:
                    for d, (k, size) in enumerate(a.dims):
                        lines.append(f"{size} = {v}.shape[{d}]" + (f" // {k}" if k > 1 else ""))
                bound.update(s for _, s in a.dims)
                continue
            if not {s for _, s in a.dims} <= bound:
                raise ValueError(f"kernel table: {self.name}: {a.text} uses a size no earlier "
                                 "array binds")
            if a.star:
                take = "acquire_written_like" if a.role == "inout" else "acquire_like"
                call = f"{take}(&vs, {a.name}, &vs.view[i_{first.name}])"
            elif a.role == "in" and len(a.dims) == 2:
                rows, cols = (_size_expr(d) for d in a.dims)
                call = f"acquire_matrix(&vs, {a.name}, isz, {rows}, {cols})"
            else:
                raise ValueError(f"kernel table: {self.name}: {a.text} is not supported")
            if a.optional or a.cond:
                lines.append(f"{i} = -1")
                lines.append(f"if {a.name} is not None:")
                lines.append(f"    {i} = {call}")
                lines.append(f"    if {i} < 0:")
                lines.append("        raise Refused")
                if a.cond:
                    lines.append(f"if not ({a.cond}):")
                    lines.append(f"    {i} = -1")
                    lines.append(f"elif {i} < 0:")
                    lines.append("    raise Refused")
            else:
                lines.append(f"{i} = {call}")
                lines.append(f"if {i} < 0:")
                lines.append("    raise Refused")
        self.bound = bound
        return lines


def _size_expr(dim):
    k, size = dim
    return f"{k} * {size}" if k > 1 else size


class Declaration:
    """One row's descriptor field, for both dtypes."""

    def __init__(self, row):
        if row.decl:
            ret, params = row.decl.split(" (", 1)
            params = params.rstrip(")")
        else:
            hyper = row.hyper[0] if row.hyper else None
            ret, params = "void", ", ".join(a.c_decl(hyper) for a in _args(row))
        self.fields = []
        for real, sfx in (("float", "f32"), ("double", "f64")):
            typed = re.sub(r"\breal\b", real, params)
            self.fields.append(f"{ret} (*{row.stem}_{sfx})({typed}, int n_threads)")


def families(table):
    """``[(family, hyper structs, declarations)]`` of the descriptor families, table order."""
    out = {}
    for row in table:
        if row.args or row.decl:
            hypers, decls = out.setdefault(row.family, ([], []))
            if row.hyper:
                hypers.append((row.hyper[0], _hyper_fields(row)))
            decls.append(Declaration(row))
    return [(name, hypers, decls) for name, (hypers, decls) in out.items()]


def _c_type(cython_type):
    return "int" if cython_type == "bint" else cython_type


def render(backend_dir=HERE):
    """The generated files' text: ``{file name: text}``."""
    from Cython import Tempita

    table = runpy.run_path(os.path.join(backend_dir, "_kernel_table.py"))["TABLE"]
    names = {
        "families": families(table),
        "wrappers": [Wrapper(row) for row in table if row.args],
        "c_type": _c_type,
    }
    texts = {}
    for name in OUTPUTS:
        with open(os.path.join(backend_dir, name + ".tp")) as f:
            template = Tempita.Template(f.read(), name=name + ".tp")
        texts[name] = template.substitute(names)
    return texts


def generate(backend_dir=HERE):
    """Write the generated files, each only when its text changed (so that Cython does not
    rebuild what has not changed); return their paths."""
    paths = []
    for name, text in render(backend_dir).items():
        path = os.path.join(backend_dir, name)
        try:
            with open(path) as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            with open(path, "w") as f:
                f.write(text)
        paths.append(path)
    return paths


if __name__ == "__main__":
    print("\n".join(generate()))
