"""pynn.backend.show_config and the GEMM blocking: what the machine and the build give, as the
kernels see it, and the blocks chosen from the caches (csrc/gemm.c's model)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import pynn
from pynn.backend import _native, compiled, config, show_config

RUNNABLE = [i for i, _ in enumerate(_native.ISA_NAMES) if _native.isa_supported(i)]
OVERRIDE = os.environ.get("PYNN_GEMM_BLOCKING")


def test_config_reports_the_kernels_in_use(capsys):
    info = show_config()
    again = config()
    # the round trip is measured at each call
    assert {**info, "round_trip_ns": None} == {**again, "round_trip_ns": None}
    assert info["isa"] == compiled.get_isa() and info["isa"] in info["isas"]
    assert info["openmp"] == pynn.openmp_enabled()
    assert info["threads"] == pynn.get_num_threads()
    number = _native.ISA_NAMES.index(info["isa"])
    assert info["gemm_blocking"]["float32"] == _native.gemm_blocking(number)
    assert info["gemm_blocking"]["float64"] == _native.gemm_blocking(number, True)
    for b in info["gemm_blocking"].values():
        assert min(b[k] for k in ("mr", "nr", "kc", "mc", "nc")) >= 1
        assert b["mc"] % b["mr"] == 0 and b["nc"] % b["nr"] == 0
    printed = capsys.readouterr().out
    assert f"isa: {info['isa']}" in printed and "gemm float64" in printed
    assert f"from {info['cache_source']}" in printed


def test_wide_speedup_is_measured_once_and_reported(capsys):
    """The ratio of AVX-512's FMA throughput to 256-bit vectors': between 1 (halves) and 2
    (full-width units), kept from the first measurement; 1 without AVX-512."""
    speedup = _native.wide_vector_speedup()
    assert 1.0 <= speedup <= 2.0
    assert _native.wide_vector_speedup() == speedup
    info = show_config()
    assert info["wide_speedup"] == speedup
    printed = capsys.readouterr().out
    if "avx512" in info["isas"]:
        assert f"512-bit FMA throughput: {speedup:.2f}x" in printed
    else:
        assert speedup == 1.0 and "512-bit" not in printed


def test_round_trip_between_the_team_threads(capsys):
    """Two threads bouncing a cache line: tens to hundreds of nanoseconds a round trip on
    any machine (a microsecond and more only when a core is shared with another process)."""
    before = pynn.get_num_threads()
    try:
        pynn.set_num_threads(2)
        ns = _native.team_round_trip_ns(500)
        if not pynn.openmp_enabled():
            assert ns is None
            return
        assert ns is None or 5 < ns < 1e6
        info = show_config()
        if info["round_trip_ns"] is not None:
            assert "round trip" in capsys.readouterr().out
        pynn.set_num_threads(1)
        assert config()["round_trip_ns"] is None
    finally:
        pynn.set_num_threads(before)


def test_config_follows_set_isa_and_threads():
    before_isa, before_threads = compiled.get_isa(), pynn.get_num_threads()
    try:
        compiled.set_isa("generic")
        pynn.set_num_threads(3)
        info = config()
        assert info["isa"] == "generic" and info["threads"] == 3
        assert info["gemm_blocking"]["float32"] == _native.gemm_blocking(0)
    finally:
        compiled.set_isa(before_isa)
        pynn.set_num_threads(before_threads)


def _sysfs_caches():
    """{level: (size, ways)} of CPU 0 from Linux's sysfs, read here independently of C."""
    root = "/sys/devices/system/cpu/cpu0/cache"
    found = {}
    for entry in sorted(os.listdir(root)):
        if not entry.startswith("index"):
            continue
        read = {}
        for key in ("level", "type", "size", "ways_of_associativity"):
            with open(os.path.join(root, entry, key)) as f:
                read[key] = f.read().strip()
        if read["type"] == "Instruction":
            continue
        size = read["size"]
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1:], 1)
        name = "L" + read["level"] + ("d" if read["level"] == "1" else "")
        found[name] = (int(size.rstrip("KMG")) * scale, int(read["ways_of_associativity"]))
    return found


def test_caches_are_read_and_complete():
    caches = _native.caches()
    assert caches["source"] in ("cpuid", "sysfs", "sysctl", "default")
    assert caches is not _native.caches() and caches == _native.caches()  # read once, copied out
    assert caches["L1d"]["size"] >= 4096 and caches["L2"]["size"] >= caches["L1d"]["size"]
    for level in ("L1d", "L2", "L3"):
        if level in caches:
            c = caches[level]
            assert c["ways"] >= 1 and c["line"] >= 16 and c["sharing"] >= 1
            assert c["size"] % c["line"] == 0
    assert config()["caches"] == {k: v["size"] for k, v in caches.items() if k != "source"}
    assert config()["cache_source"] == caches["source"]


@pytest.mark.skipif(not os.path.isdir("/sys/devices/system/cpu/cpu0/cache/index0"),
                    reason="no Linux sysfs cache description")
def test_caches_agree_with_sysfs():
    """C's sysfs reader against this file's, and the source in use (cpuid on x86) with both."""
    sysfs, from_c = _sysfs_caches(), _native.caches_from("sysfs")
    assert from_c["source"] == "sysfs"
    for level, (size, ways) in sysfs.items():
        assert (from_c[level]["size"], from_c[level]["ways"]) == (size, ways)
    caches = _native.caches()
    for level in ("L1d", "L2"):
        assert (caches[level]["size"], caches[level]["ways"]) == sysfs[level]


def test_cache_sources_one_by_one():
    used = _native.caches()
    first = next(s for s in _native.CACHE_SOURCES if _native.caches_from(s) is not None)
    assert used == _native.caches_from(first)
    assert _native.caches_from("default") == {
        "source": "default", "L1d": {"size": 32768, "ways": 8, "line": 64, "sharing": 1},
        "L2": {"size": 524288, "ways": 8, "line": 64, "sharing": 1}}
    with pytest.raises(ValueError, match="unknown source"):
        _native.caches_from("procfs")


# Caches of real and odd CPUs, per core: (L1d, L2, L3) each None or a dict as caches() gives.
def _lvl(kib, ways=None, sharing=None, line=None):
    d = {"size": int(kib * 1024)}
    if ways is not None:
        d["ways"] = ways
    if sharing is not None:
        d["sharing"] = sharing
    if line is not None:
        d["line"] = line
    return d


CPUS = {
    "zen1": (_lvl(32, 8), _lvl(512, 8), _lvl(8192, 16, 8)),
    "zen4": (_lvl(32, 8), _lvl(1024, 8), _lvl(32768, 16, 16)),
    "skylake-x": (_lvl(32, 8), _lvl(1024, 16, 2), _lvl(1408 * 18, 11, 36)),
    "apple-m1": (_lvl(128, 8), _lvl(12 * 1024, 12, 4, 128), None),
    "atom": (_lvl(24, 6), _lvl(1024, 16, 4), None),
    "sizes only": (_lvl(48), _lvl(2048), _lvl(36 * 1024)),
    "tiny direct-mapped": (_lvl(4, 1), _lvl(64, 2), None),
    "fully associative L1": (_lvl(16, 256), _lvl(256, 8), _lvl(4096)),
}


def model_twin(mr, nr, size, l1, l2, l3):
    """The blocking model of csrc/gemm.c, rewritten from its comment."""
    w1 = l1.get("ways") or 8
    way1 = l1["size"] // w1
    w2 = l2.get("ways") or 8
    share2 = l2.get("sharing") or 1
    kc = max(w1 - 1, 1) * way1 // (mr * size)
    kc = min(kc, l2["size"] // share2 // 8 // (nr * size))
    kc = max(kc // 8 * 8, 32)
    way2 = l2["size"] // w2
    b_ways = -(-nr * kc * size // way2)
    mc = max(w2 - 1 - b_ways, 1) * way2 // share2 // (kc * size)
    mc = max(mc // mr, 1) * mr
    if l3:
        w3, share3 = l3.get("ways") or 16, l3.get("sharing") or 1
        nc = l3["size"] // w3 * (w3 - 1) // share3 // (kc * size)
    else:
        nc = 4096
    nc = max(nc // nr, -(-512 // nr)) * nr
    return {"kc": kc, "mc": mc, "nc": nc}


@pytest.mark.parametrize("cpu", sorted(CPUS))
@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("isa", range(len(_native.ISA_NAMES)))
def test_blocking_model_matches_its_twin_and_fits_the_caches(cpu, double, isa):
    l1, l2, l3 = CPUS[cpu]
    caches = {"L1d": l1, "L2": l2, "L3": l3}
    b = _native.gemm_blocking_model(isa, double, caches)
    mr, nr, size = b["mr"], b["nr"], 8 if double else 4
    assert (mr, nr) == (_native.gemm_blocking(isa, double)["mr"],
                        _native.gemm_blocking(isa, double)["nr"])
    assert {k: b[k] for k in ("kc", "mc", "nc")} == model_twin(mr, nr, size, l1, l2, l3)
    assert b["kc"] % 8 == 0 and b["mc"] % mr == 0 and b["nc"] % nr == 0
    assert b["kc"] >= 32 and b["nc"] >= 512
    ways1 = l1.get("ways") or 8
    if b["kc"] > 32:
        # an A micro-panel in L1 less a way; a B micro-panel in an eighth of L2's share
        assert mr * b["kc"] * size <= l1["size"] * max(ways1 - 1, 1) // ways1
        assert nr * b["kc"] * size <= l2["size"] // (l2.get("sharing") or 1) // 8
    if b["mc"] > mr:  # A's block in this core's share of L2
        assert b["mc"] * b["kc"] * size <= l2["size"] // (l2.get("sharing") or 1)
    if l3 and b["nc"] > 512 + nr:  # B's block in this core's share of L3
        assert b["kc"] * b["nc"] * size <= l3["size"] // (l3.get("sharing") or 1)


def test_blocking_model_grows_with_the_caches():
    small = {"L1d": _lvl(32, 8), "L2": _lvl(256, 8), "L3": _lvl(4096, 16)}
    for isa in range(len(_native.ISA_NAMES)):
        b = _native.gemm_blocking_model(isa, False, small)
        big_l1 = _native.gemm_blocking_model(isa, False, dict(small, L1d=_lvl(64, 8)))
        big_l2 = _native.gemm_blocking_model(isa, False, dict(small, L2=_lvl(2048, 8)))
        big_l3 = _native.gemm_blocking_model(isa, False, dict(small, L3=_lvl(65536, 16)))
        assert big_l1["kc"] >= b["kc"] and big_l2["mc"] > b["mc"] and big_l3["nc"] > b["nc"]
        shared = _native.gemm_blocking_model(isa, False, dict(small, L3=_lvl(4096, 16, 4)))
        assert shared["nc"] < b["nc"]


@pytest.mark.skipif(bool(OVERRIDE), reason="PYNN_GEMM_BLOCKING is set")
@pytest.mark.parametrize("double", [False, True])
def test_blocking_in_use_is_the_model_of_this_cpus_caches(double):
    for isa in range(len(_native.ISA_NAMES)):
        used = _native.gemm_blocking(isa, double)
        assert used.pop("source") == "model"
        assert used == _native.gemm_blocking_model(isa, double)
        assert used == _native.gemm_blocking_model(isa, double, _native.caches())


@pytest.mark.parametrize("caches, message", [
    ({"L1d": 32768}, "L1d and L2"),
    ({"L1d": 32768, "L2": 1 << 20, "L4": 1 << 26}, "unknown cache levels"),
    ({"L1d": {"size": 32768, "assoc": 8}, "L2": 1 << 20}, "unknown keys"),
    ({"L1d": -1, "L2": 1 << 20}, "negative"),
])
def test_blocking_model_rejects_bad_caches(caches, message):
    with pytest.raises(ValueError, match=message):
        _native.gemm_blocking_model(0, False, caches)
    with pytest.raises(ValueError, match="no ISA number"):
        _native.gemm_blocking_model(7)


def _child(code, **env_vars):
    """Run `code` in a fresh interpreter importing this pynn; its last line is JSON."""
    env = dict(os.environ, **env_vars)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(pynn.__file__))
    # `python -c` puts its working directory first on the path: run where this pynn is, not in
    # a checkout whose extensions are not built (CI installs pynn and tests from the clone)
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         cwd=env["PYTHONPATH"], capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1]), run.stderr


CHILD_BLOCKING = """
    import json
    from pynn.backend import _native
    print(json.dumps([[_native.gemm_blocking(i, d) for d in (0, 1)]
                      for i in range(len(_native.ISA_NAMES))]))
"""


def test_override_sets_the_blocks_rounded_to_micro_panels():
    got, _ = _child(CHILD_BLOCKING, PYNN_GEMM_BLOCKING="100,200,300")
    for isa, per_dtype in enumerate(got):
        for b in per_dtype:
            assert b["source"] == "PYNN_GEMM_BLOCKING" and b["kc"] == 200
            assert b["mc"] == -(-100 // b["mr"]) * b["mr"]
            assert b["nc"] == -(-300 // b["nr"]) * b["nr"]


def test_override_empty_fields_keep_the_model_for_the_given_kc():
    got, _ = _child(CHILD_BLOCKING, PYNN_GEMM_BLOCKING=",96,")
    caches = _native.caches()
    for isa, per_dtype in enumerate(got):
        for double, b in enumerate(per_dtype):
            mr, nr = b["mr"], b["nr"]
            twin = model_twin(mr, nr, 8 if double else 4, caches["L1d"], caches["L2"],
                              caches.get("L3"))
            assert b["kc"] == 96
            # mc and nc follow kc 96 through the model, not the model's own kc
            size = 8 if double else 4
            l2 = caches["L2"]
            way2 = l2["size"] // l2["ways"]
            b_ways = -(-nr * 96 * size // way2)
            mc = max(l2["ways"] - 1 - b_ways, 1) * way2 // l2["sharing"] // (96 * size)
            assert b["mc"] == max(mc // mr, 1) * mr
            assert b["nc"] >= twin["nc"]  # a shallower kc leaves room for more columns


@pytest.mark.parametrize("value", ["abc", "1,2", "1,2,3,4", "0,64,64", "-5,64,64", "64;64;64"])
def test_malformed_override_warns_and_keeps_the_model(value):
    got, stderr = _child(CHILD_BLOCKING, PYNN_GEMM_BLOCKING=value)
    assert "RuntimeWarning" in stderr and "PYNN_GEMM_BLOCKING" in stderr
    for isa, per_dtype in enumerate(got):
        for double, b in enumerate(per_dtype):
            assert b.pop("source") == "model (PYNN_GEMM_BLOCKING malformed)"
            assert b == _native.gemm_blocking_model(isa, bool(double))


def test_products_are_right_with_tiny_overridden_blocks():
    """Blocks far from the model's (a ragged kc, mc and nc of one micro-panel) only change
    the speed: every ISA, both precisions, 1 and 3 threads, against float64 NumPy."""
    code = f"""
        import json
        import numpy as np
        import pynn
        from pynn.backend import _native, get
        K = get("compiled")
        rng = np.random.default_rng(0)
        worst = 0.0
        for isa in {RUNNABLE!r}:
            K.set_isa(_native.ISA_NAMES[isa])
            for dtype in (np.float32, np.float64):
                for threads in (1, 3):
                    pynn.set_num_threads(threads)
                    for m, k, n in ((37, 29, 71), (130, 65, 97), (7, 300, 45), (64, 20, 300)):
                        a = rng.standard_normal((m, k)).astype(dtype)
                        b = rng.standard_normal((k, n)).astype(dtype)
                        want = a.astype(np.float64) @ b.astype(np.float64)
                        for bt in (b, np.asfortranarray(b)):
                            got = K.gemm(a, bt)
                            worst = max(worst, float(np.abs(got - want).max() /
                                                     np.abs(want).max()))
        print(json.dumps([worst, _native.gemm_blocking(0)]))
    """
    (worst, blocking), _ = _child(code, PYNN_GEMM_BLOCKING="1,7,1")
    assert blocking["kc"] == 7 and blocking["mc"] == blocking["mr"]
    assert blocking["nc"] == blocking["nr"]
    assert worst < 1e-5


def test_first_use_from_many_threads_at_once_agrees():
    """The blocks are computed once, on first use, whichever thread comes first: threads
    that all start GEMMs together in a fresh process see the same blocks and results."""
    code = """
        import json, threading
        import numpy as np
        import pynn
        from pynn.backend import _native, get
        pynn.set_num_threads(1)
        K = get("compiled")
        rng = np.random.default_rng(1)
        a = rng.standard_normal((200, 700)).astype(np.float32)
        b = rng.standard_normal((700, 150)).astype(np.float32)
        start = threading.Barrier(8)
        out = [None] * 8
        def run(i):
            start.wait()
            c = K.gemm(a, b)
            out[i] = (c.tobytes(), _native.gemm_blocking(_native.best_isa()))
        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps([len({o[0] for o in out}), [o[1] for o in out]]))
    """
    (distinct, blocks), _ = _child(code)
    assert distinct == 1 and all(b == blocks[0] for b in blocks)


@pytest.mark.parametrize("isa", RUNNABLE)
def test_fma_probe_and_blocking_agree_on_isa_numbers(isa):
    assert _native.fma_peak_gflops(isa, 0.01) > 0
    with pytest.raises(ValueError, match="no ISA number"):
        _native.gemm_blocking(len(_native.ISA_NAMES))
