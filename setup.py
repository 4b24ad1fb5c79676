"""Build pynn's compiled kernels.

Two things here are not plain setuptools:

* OpenMP is probed by compiling, linking and running a small program with the flag the
  compiler needs. When that fails (or ``PYNN_NO_OPENMP=1``), the kernels build serial and a
  warning says so; ``pynn.openmp_enabled()`` reports which build you have.
* The C sources in ``csrc/`` are compiled once into the static library ``libpynn``, which the
  one extension module, ``pynn.backend._native``, links. Its Cython declarations
  (``_kernels.pxd``) and the small kernels' wrappers (``_table.pxi``) are written first from
  the kernel table, ``pynn/backend/_kernel_table.py``, by ``pynn/backend/_codegen.py``.
  Files listed in ``SIMD_SOURCES`` are compiled once per instruction set (AVX-512, AVX2+FMA,
  portable) with that set's flags and a ``PYNN_ISA`` suffix; the CPU picks among them at run
  time. Nothing is built with ``-march=native``, so one wheel runs on any x86-64 or aarch64.
"""

import os
import platform
import runpy
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import warnings

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"
# Compiled once per instruction set (with OpenMP's flags too: the activation, optimiser, softmax
# and recurrent families share their loops among threads themselves); every other csrc/*.c
# file is compiled once, portable.
SIMD_SOURCES = ["gemm_kernel.c", "conv_pool_kernel.c", "activation.c", "elementwise.c",
                "norm.c", "rnn.c", "softmax.c", "winograd_kernel.c"]
PORTABLE_SOURCES = sorted(
    f for f in os.listdir(CSRC) if f.endswith(".c") and f not in SIMD_SOURCES
)
# The one extension module: _native.pyx includes every family's wrappers (_<family>.pxi).
NATIVE = os.path.join("pynn", "backend", "_native.pyx")


def _is_x86_64():
    machine = platform.machine().lower()
    return machine in ("x86_64", "amd64", "x64")


def isa_variants(compiler_type):
    """Return ``[(name, flags)]`` of the instruction sets to build SIMD_SOURCES for."""
    if not _is_x86_64():
        return [("generic", [])]
    if compiler_type == "msvc":
        return [("avx512", ["/arch:AVX512"]), ("avx2", ["/arch:AVX2"]), ("generic", [])]
    # The avx512 build is x86-64-v4's set less CD (every AVX-512 core since Skylake-X, Zen 4 and
    # Zen 5; not the Xeon Phi, which then runs avx2): with VL, 256-bit operations reach all 32
    # registers, which the convolutions' 256-bit kernels use for larger blocks.
    return [
        ("avx512", ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma"]),
        ("avx2", ["-mavx2", "-mfma"]),
        ("generic", []),
    ]


def openmp_flags(compiler_type):
    """Return ``(compile_args, link_args)`` candidates for this compiler."""
    if compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin" and "clang" in _compiler_version():
        # Apple clang has no -fopenmp driver flag; libomp comes from Homebrew or conda.
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


def _compiler_version():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    try:
        out = subprocess.run(
            cc.split() + ["--version"], capture_output=True, text=True, timeout=30, check=False
        )
        return (out.stdout + out.stderr).lower()
    except (OSError, subprocess.SubprocessError):
        return ""


OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n == omp_get_max_threads());
        return 0;
    }
    """
)


def probe_openmp(compiler, compile_args, link_args):
    """Compile, link and run a test program; True when OpenMP works end to end."""
    tmp = tempfile.mkdtemp(prefix="pynn-omp-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        objects = compiler.compile([src], output_dir=tmp, extra_postargs=compile_args)
        exe = os.path.join(tmp, "probe")
        compiler.link_executable(objects, exe, extra_postargs=link_args)
        out = subprocess.run([exe], capture_output=True, text=True, timeout=60, check=False)
        return out.returncode == 0 and out.stdout.strip() == "1"
    except Exception:  # noqa: BLE001  any compile, link or run failure means "no OpenMP"
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    """Compile csrc/ once (SIMD files once per ISA) into libpynn, then link the extension."""

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        if ctype == "msvc":
            base = ["/O2"]
            warn = ["/W3"]
        else:
            # Two parts of -ffast-math that change no result, only what a loop may
            # vectorise: -fno-trapping-math (clang's default) lets gcc turn selects such as
            # leaky ReLU's into vector blends (pynn never unmasks FP traps), and
            # -fno-math-errno lets sqrt be an instruction instead of a libm call that may set
            # errno (nothing reads it). No reassociation, no finite-math assumptions.
            base = ["-O3", "-std=c11", "-fopenmp-simd", "-fno-trapping-math",
                    "-fno-math-errno"]
            warn = ["-Wall", "-Wextra"]
            if os.environ.get("PYNN_SANITIZE"):
                # Developer build for ASan/UBSan runs (see CONTRIBUTING): no -O3 surprises.
                base = ["-O1", "-g", "-fno-omit-frame-pointer", "-std=c11", "-fopenmp-simd",
                        "-fsanitize=" + os.environ["PYNN_SANITIZE"]]

        omp_compile, omp_link = [], []
        if os.environ.get("PYNN_NO_OPENMP", "0") not in ("", "0"):
            warnings.warn("PYNN_NO_OPENMP is set: building pynn's kernels serial (one thread).",
                          stacklevel=1)
        else:
            cand_c, cand_l = openmp_flags(ctype)
            if probe_openmp(self.compiler, cand_c, cand_l):
                omp_compile, omp_link = cand_c, cand_l
            else:
                warnings.warn(
                    "OpenMP could not be compiled, linked and run with this compiler: "
                    "building pynn's kernels serial (one thread). On macOS install libomp.",
                    stacklevel=1,
                )
        defines = [("PYNN_HAVE_OPENMP", "1" if omp_compile else "0")]

        objects = []
        obj_dir = os.path.join(self.build_temp, "csrc")
        srcs = [os.path.join(CSRC, s) for s in PORTABLE_SOURCES]
        objects += self.compiler.compile(
            srcs, output_dir=obj_dir, macros=defines, include_dirs=[CSRC],
            extra_postargs=base + warn + omp_compile,
        )
        for isa, flags in isa_variants(ctype):
            isa_dir = os.path.join(obj_dir, isa)
            srcs = [os.path.join(CSRC, s) for s in SIMD_SOURCES]
            built = self.compiler.compile(
                srcs, output_dir=isa_dir, macros=defines + [("PYNN_ISA", isa)],
                include_dirs=[CSRC], extra_postargs=base + warn + omp_compile + flags,
            )
            # An archive keeps one member per file name: the ISAs' objects need their own.
            for obj in built:
                stem, suffix = os.path.splitext(obj)
                named = f"{stem}_{isa}{suffix}"
                os.replace(obj, named)
                objects.append(named)
        lib_dir = os.path.join(self.build_temp, "lib")
        self.compiler.create_static_lib(objects, "pynn", output_dir=lib_dir)
        sanitize_link = (["-fsanitize=" + os.environ["PYNN_SANITIZE"]]
                         if os.environ.get("PYNN_SANITIZE") and ctype != "msvc" else [])
        csrc_files = [os.path.join(CSRC, f) for f in os.listdir(CSRC)]
        for ext in self.extensions:
            ext.libraries = ["pynn"] + ext.libraries + (["m"] if ctype != "msvc" else [])
            ext.library_dirs = [lib_dir] + ext.library_dirs
            # Relink when any C source or header changes, not only the Cython.
            ext.depends = ext.depends + csrc_files
            ext.include_dirs = [CSRC] + ext.include_dirs
            ext.define_macros = defines + ext.define_macros
            # Cython's generated C is compiled without -Wall: its warnings are not ours.
            ext.extra_compile_args = base + omp_compile
            ext.extra_link_args = omp_link + sanitize_link
        super().build_extensions()


def extensions():
    import numpy
    from Cython.Build import cythonize

    pyx_dir = os.path.join("pynn", "backend")
    # By path: pynn cannot be imported before its extension is built.
    runpy.run_path(os.path.join(pyx_dir, "_codegen.py"))["generate"](pyx_dir)
    exts = [
        Extension("pynn.backend._native", [NATIVE],
                  include_dirs=[numpy.get_include()],
                  depends=[os.path.join(pyx_dir, f) for f in os.listdir(pyx_dir)
                           if f.endswith((".pxi", ".pxd", ".tp"))
                           or f in ("_kernel_table.py", "_codegen.py")],
                  define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
