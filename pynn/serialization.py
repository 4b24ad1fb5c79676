"""save / load: nested containers of arrays in an ``.npz`` archive, without pickle.

File layout (a zip archive as written by ``numpy.savez``, readable with ``np.load``):

- one ``.npy`` member per array, named by its path in the structure with ``/`` between
  the levels and every level percent-escaped (``model/fc1.weight``,
  ``optimizer/state/0/exp_avg``; a key ``"a/b"`` becomes ``a%2Fb``);
- a member ``pynn:meta`` (a name no escaped path can take): a uint8 array holding UTF-8
  JSON ``{"magic": "pynn", "pynn_format": 1, "tree": ...}``, where ``tree`` describes the
  structure. JSON scalars (int, float, bool, null, str) stand for themselves; containers
  and arrays are tagged objects: ``{"dict": [[key, node], ...]}`` (a list of pairs, so int
  keys stay ints and order is kept), ``{"list": [...]}``, ``{"tuple": [...]}``,
  ``{"array": member}`` and ``{"scalar": member}`` (a NumPy scalar, kept as a 0-d array).
- format 2 adds ``{"tensor": member}`` for a Tensor, with ``"requires_grad": true`` and
  ``"parameter": true`` beside the member when they apply, and
  ``{"namespace": [[name, node], ...]}`` for an ``argparse.Namespace`` (a script's
  arguments). A file without them is written as format 1, so older versions of pynn still
  read it.
- format 3 adds whole modules (``torch.save(model, f)``): ``{"module": {"class":
  "package.module:Qual.Name", "training": bool, "parameters": pairs, "buffers": pairs,
  "non_persistent": [name, ...], "modules": pairs, "attrs": pairs}}``, and
  ``{"same": n}`` for the n-th module or tensor met before (tied weights, a submodule used
  twice), counted in the order the loader builds them.

Nothing is pickled, and :func:`load` reads with ``allow_pickle=False``: opening an
untrusted file never runs code. A module's class is found by name among the modules the
program has already imported (never imported by :func:`load`), must be a
:class:`pynn.nn.Module` subclass, and is made without calling its ``__init__``; its
attributes are data only. Other objects (an optimiser, a class instance, a function) are
refused when saving: save their ``state_dict()`` or their values.
"""

import argparse
import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .formats._limits import (
    Budget,
    check_max_bytes,
    check_members,
    default_limit,
    file_size,
    read_npy_header,
)
from .tensor import Tensor, _wrap

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_VERSION = 3  # the newest format written and read
MAGIC = "pynn"
META_KEY = "pynn:meta"


# ---------------------------------------------------------------------------- flattening
def _flatten(obj):
    """(tree, {member name: ndarray}, format version needed) for ``obj``."""
    from .nn.module import Module

    arrays = {}
    shared = {}  # id of a module or tensor met inside a module -> its index, for {"same": n}
    keep_alive = []  # the objects behind those ids, so that no id is reused while walking

    def member(path):
        name = "/".join(quote(str(p), safe="") for p in path) or "root"
        unique, k = name, 1
        while unique in arrays:  # e.g. keys 0 and "0" side by side; '#' is always escaped
            unique, k = f"{name}#{k}", k + 1
        return unique

    def add_array(arr, path, where):
        if arr.dtype.hasobject:
            raise TypeError(f"save: the array at {where} has dtype {arr.dtype}, which holds "
                            f"Python objects; only plain numeric/string arrays are saved")
        name = member(path)
        arrays[name] = arr
        return name

    def walk(node, path):
        where = "/".join(str(p) for p in path) or "the top level"
        if node is None or isinstance(node, (bool, str)):
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, np.ndarray):
            return {"array": add_array(node, path, where)}
        if isinstance(node, np.generic):
            return {"scalar": add_array(np.asarray(node), path, where)}
        if isinstance(node, dict):
            items = []
            for key, value in node.items():
                if isinstance(key, np.integer):
                    key = int(key)
                if not isinstance(key, (str, int)):
                    raise TypeError(f"save: dict key {key!r} at {where} is a "
                                    f"{type(key).__name__}; keys must be str or int")
                items.append([key, walk(value, path + [key])])
            return {"dict": items}
        if isinstance(node, (list, tuple)):
            kind = "tuple" if isinstance(node, tuple) else "list"
            return {kind: [walk(v, path + [i]) for i, v in enumerate(node)]}
        if isinstance(node, argparse.Namespace):  # a script's arguments, in checkpoints
            version[0] = max(version[0], 2)
            return {"namespace": [[key, walk(value, path + [key])]
                                  for key, value in vars(node).items()]}
        if isinstance(node, Module):
            version[0] = 3
            return walk_module(node, path, where)
        if isinstance(node, Tensor):
            version[0] = max(version[0], 2)
            if shared_seen(node, in_module[0]) is not None:
                return {"same": shared[id(node)]}
            out = {"tensor": add_array(node._data, path, where)}
            if node.requires_grad:
                out["requires_grad"] = True
            if _is_parameter(node):
                out["parameter"] = True
            return out
        data = getattr(node, "data", None)
        if isinstance(data, np.ndarray):
            return {"array": add_array(data, path, where)}
        if in_module[0] and _pynn_function_name(node) is not None:
            return {"function": _pynn_function_name(node)}  # self.activation = F.relu
        name = type(node).__name__
        if callable(getattr(node, "state_dict", None)):
            raise TypeError(f"save: cannot save a {name} object (at {where}): pynn does not "
                            f"pickle objects. Save its state_dict() instead, e.g. "
                            f"pynn.save(optimizer.state_dict(), path), and load it into a new "
                            f"{name} with load_state_dict(pynn.load(path)).")
        raise TypeError(f"save: cannot save a {name} (at {where}): pynn does not pickle "
                        f"objects; supported: dict, list, tuple, Tensor, ndarray, NumPy "
                        f"scalars, int, float, bool, str, None, and Modules whose attributes "
                        f"are these (for an optimiser, save its state_dict())")

    def shared_seen(obj, counted):
        """The index of ``obj`` if it was met before; else count it (when ``counted``)."""
        if id(obj) in shared:
            return shared[id(obj)]
        if counted:
            shared[id(obj)] = len(shared)
            keep_alive.append(obj)
        return None

    def walk_module(module, path, where):
        if shared_seen(module, True) is not None:
            return {"same": shared[id(module)]}
        cls = type(module)
        if "<locals>" in cls.__qualname__:
            raise TypeError(f"save: cannot save the {cls.__qualname__} at {where}: its class is "
                            f"defined inside a function, so a loading program cannot find it "
                            f"by name; define it at module level, or save its state_dict()")
        refusal = getattr(cls, "_not_serializable", None)  # a class that says why it can't be
        if refusal:
            raise TypeError(f"save: cannot save the {cls.__name__} at {where}: {refusal}")
        hooks = [h for h in ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks")
                 if module.__dict__.get(h)]
        if hooks:
            raise TypeError(f"save: the {cls.__name__} at {where} has hooks ({hooks[0]}); "
                            f"pynn saves data, not functions: remove the hooks first, or save "
                            f"its state_dict()")
        outer, in_module[0] = in_module[0], True
        try:
            def pairs(table, kind):
                return [[key, walk(value, path + [key])] for key, value in table.items()]

            skip = set(_MODULE_MACHINERY) | set(getattr(cls, "_not_saved", ()))
            attrs = {k: v for k, v in module.__dict__.items() if k not in skip}
            node = {"class": f"{cls.__module__}:{cls.__qualname__}",
                    "training": bool(module.training),
                    "parameters": pairs(module._parameters, "parameter"),
                    "buffers": pairs(module._buffers, "buffer"),
                    "non_persistent": sorted(module._non_persistent_buffers_set),
                    "modules": pairs(module._modules, "module"),
                    "attrs": pairs(attrs, "attribute")}
        finally:
            in_module[0] = outer
        return {"module": node}

    version = [1]  # tensors and namespaces need format 2, modules 3
    in_module = [False]  # tensors inside a module may be shared (tied weights)
    tree = walk(obj, [])
    return tree, arrays, version[0]


# What Module.__init__ sets up: saved through the module node's own fields (or, for the
# hooks, refused when not empty), never as attributes.
_MODULE_MACHINERY = ("training", "_parameters", "_buffers", "_non_persistent_buffers_set",
                     "_modules", "_forward_pre_hooks", "_forward_hooks", "_backward_hooks",
                     "_hooked")


def _is_parameter(t):
    from .nn.parameter import Parameter

    return isinstance(t, Parameter)


class _Archive(zipfile.ZipFile):
    """A ZipFile being written that an exception (an interrupt, a full disk) can abandon at
    any moment: that exception must propagate as itself, and ``save`` deletes the file."""

    def abandon(self, member=None):
        """Let go without writing more or raising. ``close()`` would write, and, with a member
        open (or being opened when the exception came), raise ValueError in its place."""
        if member is not None:
            io.BufferedIOBase.close(member)  # marked closed: its own close() would write
        self._writing = False
        self.fp = None  # close() now does nothing

    def __del__(self):
        # ZipFile's finaliser closes, which raises if __init__ was interrupted; ours are
        # closed or abandoned explicitly
        pass


def _write_archive(fileobj, meta, arrays, compress):
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    zf = member = None
    try:
        zf = _Archive(fileobj, "w", compression=compression, allowZip64=True)
        for name, arr in [(META_KEY, meta)] + list(arrays.items()):
            member = zf.open(name + ".npy", "w", force_zip64=True)
            np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)
            member.close()
            member = None
        zf.close()
    except BaseException:
        if zf is not None:
            zf.abandon(member)
        raise


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(obj, f, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True, *, compress=False):
    """Save ``obj`` to a file, without pickle (``torch.save``).

    Save ``obj`` (``torch.save``): nested containers of tensors, arrays and Python scalars,
    such as a ``state_dict`` or a checkpoint dict, without pickle.

    Parameters
    ----------
    obj : dict, list, tuple, Tensor, ndarray or scalar, nested
        Leaves: Tensors and Parameters (their values and dtype, loaded back as Tensors),
        ndarrays (any non-object dtype), NumPy scalars, int, float, bool, str, None, objects
        with a ``.data`` ndarray (saved as that array). Dict keys: str or int (any
        characters, ``/`` included); dict subclasses (OrderedDict) come back as dicts,
        namedtuples as tuples; an ``argparse.Namespace`` (a script's arguments) comes back as
        one. A whole :class:`pynn.nn.Module` (``torch.save(model, f)``) is saved as data:
        its class's name, mode, parameters, buffers, submodules and attributes (data, or
        pynn functions such as ``F.relu``); weights tied between modules stay tied. A
        module with hooks, of a class defined inside a function, or with an attribute of
        another kind is refused, as are optimisers and other objects (TypeError): pynn
        does not pickle objects; save their ``state_dict()``.
    f : str, PathLike or writable binary file object
        Written exactly there (no ``.npz`` is appended). A path is written atomically: to
        a temporary file in the same directory, flushed and fsynced, then renamed over
        ``f``, so a crash leaves either the old file or the new one, never half of one; an
        error or an interrupt (KeyboardInterrupt) propagates as itself and leaves no
        temporary file. A
        path ending in ``.safetensors`` is written in that format instead, by
        ``pynn.formats.save_safetensors`` (a flat dict of tensors, such as a
        ``state_dict``), for other libraries to read.
    pickle_module, pickle_protocol, _use_new_zipfile_serialization : any
        Accepted for compatibility with ``torch.save`` and ignored (nothing is pickled).
    compress : bool, default False, keyword-only
        Deflate the members (smaller, slower).
    """
    if pickle_module is not None:
        raise TypeError("save: pynn does not pickle objects, so pickle_module is not "
                        "supported; save tensors, arrays and Python containers")
    path = f
    if not hasattr(path, "write") and os.fspath(path).endswith(".safetensors"):
        from .formats import save_safetensors

        save_safetensors(obj, path)
        return
    tree, arrays, version = _flatten(obj)
    meta_json = json.dumps({"magic": MAGIC, "pynn_format": version, "tree": tree},
                           allow_nan=True)
    meta = np.frombuffer(meta_json.encode("utf-8"), dtype=np.uint8)
    if hasattr(path, "write"):
        _write_archive(path, meta, arrays, compress)
        return
    _atomic_write(path, lambda out, tmp: _write_archive(out, meta, arrays, compress))


def _atomic_write(path, write):
    """Write ``path`` whole or not at all: ``write(out, tmp)`` fills a temporary file of the
    same directory (through the open binary file ``out`` or by its path ``tmp``), which is
    fsynced and renamed over ``path``. Whatever stops it (an error, an interrupt) propagates
    as itself, leaving the old file and no temporary file."""
    path = Path(os.fspath(path))
    directory = path.parent
    tmp = fd = out = None
    try:
        # O_EXCL with mode 0o666 gives the umask's usual permissions (mkstemp forces 0600).
        while fd is None:
            tmp = directory / f".{path.name}.{os.urandom(6).hex()}.tmp"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_BINARY", 0), 0o666)
            except FileExistsError:
                tmp = None  # another's file: not ours to delete
        out = os.fdopen(fd, "wb")  # owns fd from here on
        with out:
            write(out, tmp)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        tmp = None
    except BaseException:
        if out is not None:
            out.close()
        elif fd is not None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    _fsync_dir(directory)


# ------------------------------------------------------------------------------- loading
def _error(source, message):
    return ValueError(f"{source}: {message}")


def _open_zip(fileobj, source):
    start = fileobj.tell()
    head = fileobj.read(4)
    fileobj.seek(start)
    if not head:
        raise _error(source, "not a pynn file: the file is empty")
    if head[:2] != b"PK":
        raise _error(source, "not a pynn file: not a zip/.npz archive "
                             f"(it starts with {head!r})")
    try:
        zf = zipfile.ZipFile(fileobj, "r")
    except Exception as exc:  # noqa: BLE001 (zipfile's many ways of failing on a bad directory)
        raise _error(source, f"truncated or corrupt archive ({type(exc).__name__}: {exc})") \
            from None
    try:
        check_members(zf, source)
    except BaseException:
        zf.close()
        raise
    return zf


# the metadata's JSON becomes Python objects several times its size: it counts this much
_META_WEIGHT = 8


def _read_member(zf, name, source, budget, weight=1):
    """The array in member ``name`` (without ``.npy``), read within ``budget``: its header
    must agree with the size the archive declares, which bounds what inflating it makes."""
    try:
        info = zf.getinfo(name + ".npy")
    except KeyError:
        raise _error(source, f"the structure refers to array {name!r}, which is absent from "
                             f"the archive (damaged or edited file)") from None
    budget.take(weight * info.file_size, f"array {name!r} ({info.file_size} bytes)")
    problem = None
    try:
        with zf.open(info) as member:
            try:
                dtype, shape, fortran, nbytes = read_npy_header(member, info.file_size)
            except ValueError as exc:
                problem = f"array {name!r} is corrupt ({exc})"
            else:
                if dtype.hasobject:
                    problem = (f"array {name!r} holds pickled Python objects; pynn files "
                               f"never do, and they are not loaded")
                else:
                    buf = bytearray(nbytes)
                    got = member.readinto(buf) if nbytes else 0
                    if got != nbytes:
                        raise EOFError(f"read {got} of {nbytes} bytes")
                    member.read(1)  # at the end: zipfile checks the CRC
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        problem = f"array {name!r} is truncated or corrupt ({exc})"
    except Exception as exc:  # noqa: BLE001 (whatever else zipfile raises on a bad member)
        problem = f"array {name!r} is corrupt ({type(exc).__name__}: {exc})"
    if problem:
        raise _error(source, problem)
    try:
        if not nbytes:
            return np.empty(shape, dtype, order="F" if fortran else "C")
        return np.frombuffer(buf, dtype).reshape(shape, order="F" if fortran else "C")
    except (ValueError, TypeError, MemoryError) as exc:
        raise _error(source, f"array {name!r} is corrupt ({exc})") from None


class _Repeated(ValueError):
    pass


def _unique_pairs(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = next(key for key in keys if keys.count(key) > 1)
        raise _Repeated(f"the key {repeated!r} appears twice in one object")
    return dict(pairs)


def _read_meta(zf, source, budget):
    names = set(zf.namelist())
    if META_KEY + ".npy" not in names:
        raise _error(source, "not a pynn file: a zip/.npz archive without pynn metadata "
                             f"(no '{META_KEY}' entry); use numpy.load for plain .npz files")
    raw = _read_member(zf, META_KEY, source, budget, _META_WEIGHT)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _error(source, f"not a pynn file: bad metadata entry ({raw.dtype}, {raw.shape})")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"), object_pairs_hook=_unique_pairs)
    except RecursionError:
        raise _error(source, "corrupt pynn metadata: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _error(source, f"corrupt pynn metadata ({exc})") from None
    if not isinstance(meta, dict) or meta.get("magic") != MAGIC:
        raise _error(source, "not a pynn file: metadata lacks the 'pynn' magic")
    version = meta.get("pynn_format")
    if version is None:
        raise _error(source, "pynn metadata has no format version ('pynn_format')")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _error(source, f"invalid pynn format version {version!r}")
    if version > FORMAT_VERSION:
        raise _error(source, f"written in pynn format {version}, newer than this version of "
                             f"pynn reads (up to {FORMAT_VERSION}); upgrade pynn to load it")
    if "tree" not in meta:
        raise _error(source, "pynn metadata has no structure ('tree')")
    return meta


def _rebuild(tree, zf, source, version, budget):
    used = set()
    shared = []  # the modules, and the tensors inside modules, in the order they are built
    in_module = [False]

    def member(name):
        # save writes each array once: a second reference could multiply a small file
        if name in used:
            raise _error(source, f"corrupt pynn metadata: the structure refers to array "
                                 f"{name!r} twice, which pynn files never do")
        used.add(name)
        return _read_member(zf, name, source, budget)

    def pairs(value, what, key_types):
        seen = set()
        for pair in value:
            if not (isinstance(pair, list) and len(pair) == 2
                    and isinstance(pair[0], key_types) and not isinstance(pair[0], bool)):
                raise _error(source, f"corrupt pynn metadata: bad {what} item {str(pair)[:80]}")
            if (type(pair[0]), pair[0]) in seen:
                raise _error(source, f"corrupt pynn metadata: the {what} key {pair[0]!r} is "
                                     f"repeated")
            seen.add((type(pair[0]), pair[0]))
            yield pair[0], build(pair[1])

    def build(node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if version >= 2 and isinstance(node, dict) and isinstance(node.get("tensor"), str) \
                and set(node) <= {"tensor", "requires_grad", "parameter"}:
            arr = member(node["tensor"])
            grad = node.get("requires_grad", False)
            if not isinstance(grad, bool) or not isinstance(node.get("parameter", False), bool):
                raise _error(source, f"corrupt pynn metadata: bad tensor node {str(node)[:80]}")
            if grad and arr.dtype.kind not in "fc":
                raise _error(source, f"corrupt pynn metadata: the {arr.dtype} tensor "
                                     f"{node['tensor']!r} is marked requires_grad")
            if node.get("parameter"):
                from .nn.parameter import Parameter

                t = Parameter(arr, requires_grad=grad)
            else:
                t = _wrap(arr, None).requires_grad_(grad)
            if in_module[0]:
                shared.append(t)
            return t
        if isinstance(node, dict) and len(node) == 1:
            (kind, value), = node.items()
            if kind == "module" and version >= 3 and isinstance(value, dict):
                return build_module(value)
            if kind == "function" and version >= 3 and isinstance(value, str) and in_module[0]:
                return _pynn_function(value, source)
            if kind == "same" and version >= 3 and type(value) is int:
                if not 0 <= value < len(shared):
                    raise _error(source, f"corrupt pynn metadata: a reference to object {value} "
                                         f"of {len(shared)} built so far")
                return shared[value]
            if kind == "dict" and isinstance(value, list):
                return dict(pairs(value, "dict", (str, int)))
            if kind in ("list", "tuple") and isinstance(value, list):
                items = [build(v) for v in value]
                return tuple(items) if kind == "tuple" else items
            if kind == "namespace" and version >= 2 and isinstance(value, list):
                return argparse.Namespace(**dict(pairs(value, "namespace", str)))
            if kind in ("array", "scalar") and isinstance(value, str):
                arr = member(value)
                return arr[()] if kind == "scalar" else arr
        raise _error(source, f"corrupt pynn metadata: unknown node {str(node)[:80]}")

    def build_module(node):
        from .nn.module import Module
        from .nn.parameter import Parameter

        fields = {"class", "training", "parameters", "buffers", "non_persistent", "modules",
                  "attrs"}
        if set(node) != fields or not isinstance(node["class"], str) \
                or not isinstance(node["training"], bool) \
                or not all(isinstance(node[k], list) for k in fields - {"class", "training"}) \
                or not all(isinstance(n, str) for n in node["non_persistent"]):
            raise _error(source, f"corrupt pynn metadata: bad module node {str(node)[:80]}")
        cls = _module_class(node["class"], source)
        module = object.__new__(cls)  # no code of the class runs: its state is set below
        Module.__init__(module)
        shared.append(module)
        outer, in_module[0] = in_module[0], True
        try:
            tables = {}
            for field, expected in (("parameters", Parameter), ("buffers", Tensor),
                                    ("modules", Module), ("attrs", object)):
                table = dict(pairs(node[field], f"module {field}", str))
                for name, value in table.items():
                    if value is not None and not isinstance(value, expected):
                        raise _error(source, f"corrupt pynn metadata: {node['class']} "
                                             f"{field} entry {name!r} is a "
                                             f"{type(value).__name__}")
                tables[field] = table
        finally:
            in_module[0] = outer
        for name in tables["attrs"]:
            # an attribute never stands in for a method or property of the class
            if name.startswith("__") or hasattr(cls, name) and not isinstance(
                    getattr(cls, name), (bool, int, float, str, type(None), tuple)):
                raise _error(source, f"corrupt pynn metadata: {node['class']} attribute "
                                     f"{name!r} would hide the class's own {name!r}")
        d = module.__dict__
        d["training"] = node["training"]
        d["_parameters"].update(tables["parameters"])
        d["_buffers"].update(tables["buffers"])
        d["_non_persistent_buffers_set"].update(node["non_persistent"])
        d["_modules"].update(tables["modules"])
        d.update(tables["attrs"])
        return module

    try:
        return build(tree)
    except RecursionError:
        raise _error(source, "corrupt pynn metadata: the structure is nested too deeply") \
            from None


def _pynn_function_name(fn):
    """``"pynn.module:name"`` for a function of pynn's that this name finds again, else None."""
    import sys

    if not callable(fn) or isinstance(fn, type):
        return None
    mod_name, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not (isinstance(mod_name, str) and isinstance(qualname, str)) \
            or not (mod_name == "pynn" or mod_name.startswith("pynn.")) \
            or not qualname.isidentifier():
        return None
    if getattr(sys.modules.get(mod_name), qualname, None) is not fn:
        return None
    return f"{mod_name}:{qualname}"


def _pynn_function(spec, source):
    """The function of pynn's that :func:`_pynn_function_name` named (a module attribute
    such as ``activation = F.relu``); only pynn's own functions, only already imported."""
    import sys

    mod_name, _, name = spec.partition(":")
    fn = None
    if (mod_name == "pynn" or mod_name.startswith("pynn.")) and name.isidentifier():
        fn = getattr(sys.modules.get(mod_name), name, None)
    if fn is None or _pynn_function_name(fn) != spec:
        raise _error(source, f"corrupt pynn metadata: {spec[:80]!r} is not a pynn function")
    return fn


def _module_class(spec, source):
    """The Module subclass named ``"package.module:Qual.Name"``, found among the modules
    already imported: loading never imports (so never runs) code a file names."""
    import sys

    from .nn.module import Module

    mod_name, _, qualname = spec.partition(":")
    mod = sys.modules.get(mod_name)
    if mod is None:
        raise _error(source, f"the file holds a model of class {qualname} from module "
                             f"{mod_name!r}, which this program has not imported; pynn never "
                             f"imports code named by a file: import {mod_name} (or define "
                             f"{qualname}) before loading")
    obj = mod
    for part in qualname.split("."):
        obj = getattr(obj, part, None) if part.isidentifier() else None
        if obj is None:
            raise _error(source, f"the file holds a model of class {qualname}, which module "
                                 f"{mod_name!r} does not define (define it before loading)")
    if not (isinstance(obj, type) and issubclass(obj, Module)):
        raise _error(source, f"corrupt pynn metadata: {spec} is not a pynn.nn.Module class")
    return obj


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         max_bytes=None, **pickle_load_args):
    """Load what :func:`save` wrote (``torch.load``).

    Parameters
    ----------
    f : str, PathLike or readable binary file object
    map_location : None, "cpu", a CPU device, a dict or a callable, optional
        Accepted for compatibility: everything loads on the CPU. A CUDA (or other
        accelerator) device is refused: pynn runs on the CPU only.
    pickle_module : None
        Nothing is unpickled; another value is refused.
    weights_only : bool, optional
        Accepted: loading never runs code, whatever its value.
    mmap : bool, optional
        Accepted and ignored (the arrays are read into memory).
    max_bytes : int or float, optional, keyword-only
        The most bytes the arrays of a pynn or PyTorch file (zip archives, which may be
        compressed) may inflate to while loading, as the archive's headers declare them,
        checked before each is read. Default: 32 times the file's size plus 64 MiB, which
        a file written without compression never reaches; a compressed file of long runs
        of one value (or one built to exhaust memory) may. Raise it for a file you trust
        (``float("inf")``: no limit). A safetensors file is not compressed: it takes what
        it holds.
    **pickle_load_args : any
        Accepted for compatibility with ``torch.load`` and ignored (nothing is unpickled).

    Returns
    -------
    The saved structure with plain Python containers (dicts keep their str/int keys and
    order, tuples stay tuples), **Tensors** where Tensors were saved (Parameters as
    Parameters, with their dtype and ``requires_grad``) and ndarrays where ndarrays were;
    NumPy scalars and Python scalars keep their types. A checkpoint written by
    ``torch.save`` is read by ``pynn.formats.load_torch`` (an allow-list reader that
    never runs code from the file), a safetensors file by
    ``pynn.formats.load_safetensors`` (a dict of Tensors); the format is told from
    the content, not from the name.

    Raises
    ------
    ValueError
        The file is not a pynn file (not a zip/npz, or an npz without pynn metadata), is
        truncated or corrupt (any damage: bad headers, sizes that disagree, metadata nested
        too deeply, encrypted members or compression other than deflate), is ambiguous (two
        members of one name, a key repeated in the metadata, an array referred to twice),
        would inflate past ``max_bytes``, was written by a newer format version, refers to
        absent arrays, or contains pickled objects (never unpickled). The message names the
        file and the problem. PyTorch and safetensors files raise
        ``pynn.formats.CheckpointError``, a ValueError.
    FileNotFoundError
        No such file.
    """
    if pickle_module is not None:
        raise TypeError("load: pynn files hold no pickled objects, so pickle_module is not "
                        "supported")
    _check_map_location(map_location)
    check_max_bytes(max_bytes, "load")
    path = f
    if hasattr(path, "read"):
        fileobj = path if _seekable(path) else io.BytesIO(path.read())
        source = str(getattr(path, "name", None) or "<file object>")
        return _load_from(fileobj, source, max_bytes)
    source = os.fspath(path)
    with open(source, "rb") as fileobj:
        return _load_from(fileobj, source, max_bytes)




def _seekable(f):
    try:
        return f.seekable()
    except AttributeError:
        return False


def _check_map_location(location):
    """Refuse a map_location naming a device other than the CPU."""
    if location is None or callable(location):
        return
    if isinstance(location, dict):
        targets = location.values()
    else:
        targets = [location]
    for target in targets:
        name = str(getattr(target, "type", target)).split(":")[0].lower()
        if name != "cpu":
            raise RuntimeError(f"load: map_location={location!r} names the device "
                               f"{name!r}, but pynn runs on the CPU only; use "
                               f"map_location='cpu' (or leave it out)")


def _load_from(fileobj, source, max_bytes):
    from .formats import detect_format, load_safetensors

    if detect_format(fileobj) == "safetensors":
        return load_safetensors(fileobj)
    start = fileobj.tell()
    limit = default_limit(file_size(fileobj)) if max_bytes is None else max_bytes
    budget = Budget(source, limit, explicit=max_bytes is not None)
    with _open_zip(fileobj, source) as zf:
        names = zf.namelist()
        if META_KEY + ".npy" not in names and any(
                n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            torch_file = True
        else:
            torch_file = False
            meta = _read_meta(zf, source, budget)
            return _rebuild(meta["tree"], zf, source, meta["pynn_format"], budget)
    if torch_file:  # written by torch.save: its restricted reader, which never runs code
        from .formats import load_torch

        fileobj.seek(start)
        return load_torch(fileobj, max_bytes=max_bytes)
