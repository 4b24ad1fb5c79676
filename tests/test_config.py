"""pynn.backend.show_config: what the machine and the build give, as the kernels see it."""

import os

import pynn
from pynn.backend import _cpu, compiled, config, show_config


def test_config_reports_the_kernels_in_use(capsys):
    info = show_config()
    assert info == config()
    assert info["isa"] == compiled.get_isa() and info["isa"] in info["isas"]
    assert info["openmp"] == pynn.openmp_enabled()
    assert info["threads"] == pynn.get_num_threads()
    number = _cpu.ISA_NAMES.index(info["isa"])
    assert info["gemm_blocking"]["float32"] == _cpu.gemm_blocking(number)
    for b in info["gemm_blocking"].values():
        assert min(b.values()) >= 1 and b["mc"] % b["mr"] == 0 and b["nc"] % b["nr"] == 0
    printed = capsys.readouterr().out
    assert f"isa: {info['isa']}" in printed and "gemm float64" in printed


def test_config_follows_set_isa_and_threads():
    before_isa, before_threads = compiled.get_isa(), pynn.get_num_threads()
    try:
        compiled.set_isa("generic")
        pynn.set_num_threads(3)
        info = config()
        assert info["isa"] == "generic" and info["threads"] == 3
        assert info["gemm_blocking"]["float32"] == _cpu.gemm_blocking(0)
    finally:
        compiled.set_isa(before_isa)
        pynn.set_num_threads(before_threads)


def test_config_reads_the_cache_sizes_on_linux():
    caches = config()["caches"]
    if os.path.isdir("/sys/devices/system/cpu/cpu0/cache"):
        assert caches.get("L1d", 0) >= 4096 and caches.get("L2", 0) >= caches["L1d"]
