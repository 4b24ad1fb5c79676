"""A fuzz target for ``pynn.load``: real files (pynn's ``.npz``, stored and deflated;
safetensors; checkpoints written by ``torch.save``) mutated by Hypothesis, from bit flips and
truncation to edits that keep the zip valid (a member duplicated, dropped or renamed, its
bytes changed under a correct CRC, the metadata's JSON, a ``.npy`` header, the safetensors
header, the pickle).

Whatever the file, ``pynn.load`` returns plain data or raises the documented ValueError (a
:class:`pynn.formats.CheckpointError` is one) naming the file; it never crashes, allocates
more than its limit allows, or runs long.

The normal suite runs a short, derandomised pass. ``PYNN_FUZZ_EXAMPLES=N`` runs N random
examples per target instead (a long run: N in the tens of thousands); run it under a memory
limit, so that a file which makes the loader allocate gigabytes fails the test instead of
waking the kernel's OOM killer::

    PYNN_FUZZ_EXAMPLES=20000 prlimit --as=8000000000 python -m pytest tests/fuzz
"""

import argparse
import collections
import io
import os
import re
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pynn
from pynn.formats._limits import default_limit

LONG = int(os.environ.get("PYNN_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=LONG or 120,
    derandomize=not LONG,
    database=None,
    deadline=None,  # timed below, with a bound that tolerates a busy machine
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
SECONDS = 10.0  # per load: the seeds are a few KiB; anything near this is a hang


# ---------------------------------------------------------------------------------- seeds
def _pynn_checkpoint():
    rng = np.random.default_rng(0)
    model = pynn.nn.Sequential(pynn.nn.Linear(3, 4), pynn.nn.BatchNorm1d(4))
    return {
        "model": model.state_dict(),
        "params": list(model.parameters()),
        "optimizer": {"state": {0: {"step": 3, "exp_avg": rng.standard_normal(4)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0]}]},
        "args": argparse.Namespace(lr=0.1, name="run"),
        "misc": [np.float32(0.5), np.int16(-3), "text", None, True, 1.5, {0: "a", "0": "b"}],
        "codes": np.arange(6, dtype=np.uint8).reshape(2, 3),
        "fortran": np.asfortranarray(rng.standard_normal((3, 2))),
        "names": np.array(["a", "bc"]),
    }


def _seeds():
    seeds = {}
    for compress in (False, True):
        buf = io.BytesIO()
        pynn.save(_pynn_checkpoint(), buf, compress=compress)
        seeds[f"pynn{'-deflated' if compress else ''}.npz"] = buf.getvalue()
    try:
        import safetensors  # noqa: F401
    except ImportError:
        pass
    else:
        from pynn.formats import save_safetensors

        buf = io.BytesIO()
        state = {k: v for k, v in _pynn_checkpoint()["model"].items()}
        save_safetensors(state, buf, metadata={"epoch": "3"})
        seeds["model.safetensors"] = buf.getvalue()
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(0)
        lin = torch.nn.Linear(3, 4)
        base = torch.arange(12.0)
        obj = {"model": lin.state_dict(), "param": lin.weight, "view": base[2:8].view(2, 3),
               "t": base.t() if base.dim() == 2 else base[::3],
               "bf16": torch.ones(3, dtype=torch.bfloat16), "size": torch.Size([2, 3]),
               "dtype": torch.float64, "meta": collections.OrderedDict(a=1), "bytes": b"xy",
               "set": {1, 2}, "complex": 1 + 2j}
        buf = io.BytesIO()
        torch.save(obj, buf)
        seeds["ckpt.pt"] = buf.getvalue()
    return seeds


SEEDS = _seeds()
NAMES = sorted(SEEDS)


# ------------------------------------------------------------------------------ mutations
INTERESTING = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0xFFFF, 0x10000, 2**31 - 1,
               2**31, 2**32 - 1, 2**32, 2**40, 2**48, 2**62, 2**63 - 1, 2**64 - 1]
DESCRS = ["<f8", "<f4", "|u1", "|b1", ">i4", "|O", "<U0", "|V0", "|S0", "<c16", "<M8[s]",
          "[('a', '<f4', (1000000000,))]", "[('a', '|O')]", "'<f8' * 3", "<f99"]


def _bitflip(draw, blob):
    if not blob:
        return blob
    out = bytearray(blob)
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(out) - 1))
        out[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(out)


def _overwrite(draw, blob):
    if not blob:
        return blob
    i = draw(st.integers(0, len(blob) - 1))
    if draw(st.booleans()):
        width = draw(st.sampled_from([1, 2, 4, 8]))
        value = draw(st.sampled_from(INTERESTING)) % (1 << (8 * width))
        patch = value.to_bytes(width, "little")
    else:
        patch = draw(st.binary(min_size=1, max_size=16))
    return blob[:i] + patch + blob[i + len(patch):]


def _truncate(draw, blob):
    return blob[:draw(st.integers(0, max(len(blob) - 1, 0)))]


def _splice(draw, blob):
    if len(blob) < 2:
        return blob
    a = draw(st.integers(0, len(blob) - 1))
    b = draw(st.integers(a, min(len(blob), a + 4096)))
    at = draw(st.integers(0, len(blob)))
    if draw(st.booleans()):
        return blob[:at] + blob[a:b] + blob[at:]  # duplicate a slice
    return blob[:a] + blob[b:]  # delete it


def _members(blob):
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            return [(info.filename, zf.read(info)) for info in zf.infolist()]
    except Exception:  # noqa: BLE001 (already too damaged for the zip-level edits)
        return None


def _zip(members, compression):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return buf.getvalue()


def _edit_npy_header(draw, data):
    if len(data) < 10 or data[6] != 1:  # pynn writes version 1.0 headers
        return _overwrite(draw, data)
    length = int.from_bytes(data[8:10], "little")
    header = data[10:10 + length].decode("latin-1")
    choice = draw(st.integers(0, 2))
    if choice == 0:
        dims = draw(st.lists(st.sampled_from(INTERESTING + [-1, 3]), max_size=4))
        header = re.sub(r"'shape': \([^)]*\)", f"'shape': {tuple(dims)!r}", header)
    elif choice == 1:
        descr = draw(st.sampled_from(DESCRS))
        header = re.sub(r"'descr': ('[^']*'|\[.*\])", lambda m: f"'descr': {descr}", header)
    else:
        header = header.replace("False", draw(st.sampled_from(["True", "0", "None", "((("])))
    raw = header.encode("latin-1")
    return data[:8] + len(raw).to_bytes(2, "little") + raw + data[10 + length:]


def _edit_json(draw, text):
    """Edits a hostile writer would make to the metadata's JSON text."""
    choice = draw(st.integers(0, 5))
    if choice == 0:  # one member named twice
        refs = re.findall(r'"(?:array|tensor|scalar)": "([^"]*)"', text)
        if len(refs) >= 2:
            a, b = draw(st.sampled_from(refs)), draw(st.sampled_from(refs))
            return text.replace(f'"{a}"', f'"{b}"', 1)
    if choice == 1:  # a key repeated in an object
        return text.replace('{"magic": "pynn"', '{"magic": "pynn", "magic": "pynn"', 1)
    if choice == 2:  # nested deep
        depth = draw(st.sampled_from([10, 400, 1000, 3000]))
        return text.replace('"tree": ', '"tree": ' + '{"list": [' * depth, 1)[:-1] \
            + "]}" * depth + "}"
    if choice == 3:  # a number replaced
        numbers = list(re.finditer(r"\b\d+\b", text))
        if numbers:
            m = draw(st.sampled_from(numbers))
            value = draw(st.sampled_from(INTERESTING + [-1, "1e400", "NaN", '"x"']))
            return text[:m.start()] + str(value) + text[m.end():]
    if choice == 4:  # a dict item repeated
        m = re.search(r'\["([^"]*)", ', text)
        if m:
            return text[:m.start()] + text[m.start():m.start() + 200].split("]", 1)[0] + \
                "], " + text[m.start():]
    return text.replace('"requires_grad": true', '"requires_grad": 1', 1).replace(
        '"list"', '"tuple"', 1)


def _member_edit(draw, blob):
    members = _members(blob)
    if not members:
        return _bitflip(draw, blob)
    names = [name for name, _ in members]
    choice = draw(st.integers(0, 5))
    # the edits of the metadata and of the pickle aim at them: parsers behind a correct CRC
    aimed = [j for j, n in enumerate(names) if n == "pynn:meta.npy" or n.endswith("data.pkl")]
    if choice in (4, 5) and aimed:
        i = draw(st.sampled_from(aimed))
    else:
        i = draw(st.integers(0, len(members) - 1))
    name, data = members[i]
    if choice == 0:  # a member twice
        members.insert(draw(st.integers(0, len(members))), (name, _bitflip(draw, data)))
    elif choice == 1:  # a member dropped
        del members[i]
    elif choice == 2:  # a member renamed to another's name
        members[i] = (draw(st.sampled_from(names)), data)
    elif choice == 3 and name.endswith(".npy") and name != "pynn:meta.npy":
        members[i] = (name, _edit_npy_header(draw, data))
    elif choice == 4 and name == "pynn:meta.npy":
        head = re.match(rb"\x93NUMPY.*?\n", data, re.DOTALL)
        text = data[head.end():].decode("utf-8", "replace") if head else ""
        raw = np.frombuffer(_edit_json(draw, text).encode(), np.uint8)
        buf = io.BytesIO()
        np.lib.format.write_array(buf, raw)
        members[i] = (name, buf.getvalue())
    else:  # its bytes changed, under a correct CRC (the parsers behind it get the bytes)
        members[i] = (name, draw(st.sampled_from([_bitflip, _overwrite, _truncate]))(draw, data))
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    return _zip(members, compression)


def _safetensors_edit(draw, blob):
    if len(blob) < 9:
        return blob
    length = int.from_bytes(blob[:8], "little")
    header = blob[8:8 + length].decode("utf-8", "replace")
    rest = blob[8 + length:]
    numbers = list(re.finditer(r"\d+", header))
    choice = draw(st.integers(0, 3))
    if choice == 0 and numbers:
        m = draw(st.sampled_from(numbers))
        header = header[:m.start()] + str(draw(st.sampled_from(INTERESTING))) + header[m.end():]
    elif choice == 1:
        keys = re.findall(r'"([^"]+)":\{"dtype"', header)
        if keys:
            key = draw(st.sampled_from(keys))
            entry = re.search(r'"' + re.escape(key) + r'":\{[^}]*\}', header)
            if entry:  # a tensor named twice
                header = header[:-1] + "," + entry.group(0) + "}"
    elif choice == 2:
        header = header.replace('"F32"', draw(st.sampled_from(
            ['"F64"', '"BF16"', '"F8_E8M0"', '"X"', '1', '"BOOL"'])), 1)
    else:
        depth = draw(st.sampled_from([10, 200, 5000]))
        header = '{"__metadata__":' + '{"a":' * depth + '"x"' + "}" * depth + "," + header[1:]
    raw = header.encode()
    return len(raw).to_bytes(8, "little") + raw + rest


RAW = [_bitflip, _overwrite, _truncate, _splice]


@st.composite
def mutated(draw, kinds):
    name = draw(st.sampled_from([n for n in NAMES if n.endswith(kinds)]))
    blob = SEEDS[name]
    for _ in range(draw(st.integers(1, 3))):
        if name.endswith(".safetensors"):
            edit = draw(st.sampled_from(RAW + [_safetensors_edit] * 3))
        else:
            edit = draw(st.sampled_from(RAW + [_member_edit] * 4))
        blob = edit(draw, blob)
    return name, blob


# ----------------------------------------------------------------------------- the target
_PLAIN = (str, int, float, complex, bool, bytes, bytearray, type(None), np.ndarray, np.generic,
          pynn.Tensor, pynn.Size, pynn.device, pynn.dtype)
_CONTAINERS = (dict, list, tuple, set, frozenset, argparse.Namespace)


def _check_plain(obj, depth=0):
    assert isinstance(obj, _PLAIN + _CONTAINERS), type(obj)
    if isinstance(obj, np.ndarray):
        assert not obj.dtype.hasobject
    if isinstance(obj, argparse.Namespace):
        obj = vars(obj)
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_plain(key, depth + 1)
            _check_plain(value, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)) and not isinstance(obj, pynn.Size):
        for value in obj:
            _check_plain(value, depth + 1)


def load_hostile(name, blob):
    """Load ``blob``: the result or the ValueError; asserts the bounds."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = pynn.load(io.BytesIO(blob))
    except ValueError as exc:
        result = exc
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # what the limit allows, once for the archive's data and once for what is made of it,
    # plus the interpreter's own working memory
    assert peak <= 2 * default_limit(len(blob)) + (16 << 20), f"{name}: peak {peak} bytes"
    assert elapsed < SECONDS, f"{name}: {elapsed:.1f} s"
    if isinstance(result, ValueError):
        assert str(result).startswith("<file object>"), result  # names the file
    else:
        _check_plain(result)
    return result


def _target(kinds):
    @FUZZ
    @given(mutated(kinds))
    def run(case):
        load_hostile(*case)

    return run


def _max_rss():
    try:
        import resource
    except ImportError:  # Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


@pytest.mark.parametrize("kinds", [".npz", ".safetensors", ".pt"])
def test_fuzz_load(kinds):
    if not any(n.endswith(kinds) for n in NAMES):
        pytest.skip(f"no {kinds} seed (its package is not installed)")
    before = _max_rss()
    _target(kinds)()
    # what tracemalloc does not see (the safetensors package allocates in Rust) shows here
    assert _max_rss() - before < 512 << 20


def test_the_seeds_load():
    for name in NAMES:
        assert not isinstance(load_hostile(name, SEEDS[name]), ValueError), name
