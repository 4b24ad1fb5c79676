"""The kernel table: both backends define every kernel, with the same signature and
docstring, and the generated wrappers are those the table describes."""

import inspect
import os

import pytest

from pynn import backend
from pynn.backend import _codegen, _kernel_table
from pynn.backend import reference as reference_module


@pytest.mark.parametrize("name", backend.KERNELS)
def test_kernel_exists_in_both_backends_with_one_signature(name, compiled, reference):
    assert hasattr(reference, name), f"reference backend lacks {name}"
    assert hasattr(compiled, name), f"compiled backend lacks {name}"
    assert inspect.signature(getattr(compiled, name)) == inspect.signature(
        getattr(reference, name)
    )


def test_set_backend_switches_every_kernel(compiled, reference):
    before = backend.get_backend()
    try:
        backend.set_backend("reference")
        assert all(getattr(backend.active, k) is getattr(reference, k) for k in backend.KERNELS)
        backend.set_backend("compiled")
        assert all(getattr(backend.active, k) is getattr(compiled, k) for k in backend.KERNELS)
    finally:
        backend.set_backend(before)


def test_set_backend_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown backend 'fast'"):
        backend.set_backend("fast")


@pytest.mark.parametrize("name", backend.KERNELS)
def test_compiled_kernel_has_the_reference_docstring(name, compiled, reference):
    assert getattr(compiled, name).__doc__ == getattr(reference, name).__doc__


SMALL = [row for row in _kernel_table.TABLE if row.args]


@pytest.mark.parametrize("row", SMALL, ids=[row.name for row in SMALL])
def test_table_wrapper_takes_the_arguments_the_row_lists(row, compiled):
    # The built extension against the table: a row edited without a rebuild fails here.
    wrapper = getattr(compiled._native, row.name)
    expected = [*_codegen.Wrapper(row).py_args, "isa", "n_threads"]
    assert list(inspect.signature(wrapper).parameters) == expected
    # and every argument compiled.py passes is a reference parameter or converted from them
    ref = inspect.signature(getattr(reference_module, row.name)).parameters
    for arg in expected[:-2]:
        assert arg in ref or arg in (row.convert or {}), (row.name, arg)


def test_generated_files_are_those_of_the_table():
    here = os.path.dirname(_codegen.__file__)
    if not all(os.path.exists(os.path.join(here, f + suffix)) for f in _codegen.OUTPUTS
               for suffix in ("", ".tp")):
        pytest.skip("an installed pynn: the generated files were left in its build")
    for name, text in _codegen.render(here).items():
        with open(os.path.join(here, name)) as f:
            assert f.read() == text, f"{name} is stale: rebuild (python setup.py build_ext)"


def _row(args, **more):
    return _kernel_table.Kernel("k", "activation", "k_fwd", args, **more)


@pytest.mark.parametrize("args, message", [
    ("n, in x[*n], frob y", "cannot read the argument 'frob y'"),
    ("n, in x[*n], out y[m, n]", "uses a size no earlier array binds"),
    ("n, in? x[*n], out y[*n]", "first array must be required"),
    ("n, m, in x[*n], out y[*n]", r"bind, \['n'\], are not the size arguments, \['m', 'n'\]"),
    ("n, in x[*n], double vs, out y[*n]", r"reuses the names \['vs'\]"),
    ("n, h, in x[n, h], inout z[n, h]", r"inout z\[n, h\] is not supported"),
])
def test_codegen_rejects_rows_it_cannot_wrap(args, message):
    with pytest.raises(ValueError, match=message):
        _codegen.Wrapper(_row(args))


def test_codegen_declares_each_row_for_both_dtypes():
    decl = _codegen.Declaration(_row("n, in x[*n], double slope, out y[*n]"))
    assert decl.fields == [
        "void (*k_fwd_f32)(int64_t n, const float *x, double slope, float *y, int n_threads)",
        ("void (*k_fwd_f64)(int64_t n, const double *x, double slope, double *y, "
         "int n_threads)"),
    ]


def test_optional_array_with_a_condition_is_required_when_it_holds():
    w = _codegen.Wrapper(_row("n, inout p[*n], inout? b[*n] if m != 0, hyper h",
                              hyper=("s", "double m")))
    text = "\n".join(w.take)
    assert "if not (m != 0):\n    i_b = -1\nelif i_b < 0:\n    raise Refused" in text
    assert w.params == ["p", "b", "double m"] and w.returns == "None"


def test_an_extension_without_a_rows_wrapper_says_rebuild(compiled):
    row = _kernel_table.Kernel("not_built_forward", "activation", "nb_fwd",
                               "n, in x[*n], out y[*n]", refused="check.float_arrays(kernel, x=x)")
    with pytest.raises(ImportError, match="predates the kernel table's row 'not_built_forward': "
                                          "rebuild it"):
        compiled._from_table(row)
