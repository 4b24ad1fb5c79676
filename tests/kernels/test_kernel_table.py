"""The kernel table: both backends define every kernel, with the same signature."""

import inspect

import pytest

from pynn import backend


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
