# Array access for every wrapper of _native.pyx's small kernels (GEMM, activations, softmax,
# bias gradients, optimiser updates, recurrent cells, once per time step); _native.pyx
# includes it once, before the families that use it.
#
# Each array is read through one Py_buffer and checked at C speed: typed memoryviews, a
# fused-type dispatch and checks in Python would cost more than a batch-1 kernel's work.
# An input in a form the kernel cannot read as it is (an ndarray subclass, misaligned data,
# strides where the kernel needs C order) is copied once, here, into a plain array; an array
# the kernel writes (an out or an optimiser's state) is only ever viewed, never copied. What
# no copy can fix (not a float32/float64 ndarray in native byte order, mixed dtypes, wrong
# shapes, an unwritable or overlapping output) makes the wrapper raise Refused, which
# compiled.py turns into the error of the checks it shares with the reference backend.
# Results are made by NumPy's C API and described by a view filled in here (new_output),
# which saves a numpy.empty call and a buffer request an array.
from cpython.buffer cimport PyBUF_RECORDS_RO, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport uintptr_t
from libc.string cimport memset
cimport numpy as cnp

import numpy as _numpy

cnp.import_array()

cdef object _NDARRAY = _numpy.ndarray


class Refused(Exception):
    """Raised by a wrapper whose arguments no copy makes valid; compiled.py runs the shared
    checks for the error message."""

cdef enum:
    MAX_VIEWS = 12


cdef struct Views:
    Py_buffer view[MAX_VIEWS]
    int n


cdef inline int take(Views *vs, object obj, int type_a, int type_b) except -2:
    """Hold a view of ``obj`` in ``vs`` and return its index; -1 (nothing held) unless ``obj``
    is an exact ndarray of NumPy type number ``type_a`` or ``type_b`` in native byte order.
    The view's alignment and shape are the caller's to check; every view taken is let go by
    ``release_all``, whatever the answer."""
    if type(obj) is not _NDARRAY:
        return -1
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>obj)
    # Types checked before the buffer is asked for: the buffer protocol cannot describe some
    # dtypes, and a refusal through an exception costs more than these tests.
    if (t != type_a and t != type_b) or not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>obj):
        return -1
    if vs.n == MAX_VIEWS:
        raise IndexError("more array views than a Views holds")
    PyObject_GetBuffer(obj, &vs.view[vs.n], PyBUF_RECORDS_RO)
    vs.n += 1
    return vs.n - 1


cdef inline bint aligned(const Py_buffer *v) noexcept:
    if <uintptr_t>v.buf % <uintptr_t>v.itemsize:
        return False
    for d in range(v.ndim):
        if v.strides[d] % v.itemsize:
            return False
    return True


cdef inline void drop_last(Views *vs) noexcept:
    vs.n -= 1
    PyBuffer_Release(&vs.view[vs.n])


cdef inline bint native_float(object obj) noexcept:
    """Whether ``obj`` is an ndarray (or subclass) of float32 or float64, native byte order."""
    if not isinstance(obj, _NDARRAY):
        return False
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>obj)
    return (t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64) \
        and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>obj)


cdef int acquire_copy(Views *vs, object obj) except -2:
    """The rare path of ``acquire``: a view of a plain copy of ``obj`` (kept alive by the
    view) when it is a float32/float64 ndarray in native byte order, else -1. (Apart, so
    that the common path stays small enough to be inlined.)"""
    if not native_float(obj):
        return -1
    return take(vs, _numpy.require(obj, requirements="CAE"), cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)


cdef inline int acquire(Views *vs, object obj) except -2:
    """Hold a view of the input ``obj`` (read, never written) in ``vs`` and return its index:
    of ``obj`` itself when it is an exact ndarray of native float32 or float64, aligned and
    C-contiguous; else of a plain copy when it is such an array in another form; else -1
    (the checks say why)."""
    cdef int i = take(vs, obj, cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)
    if i >= 0:
        if aligned(&vs.view[i]) and c_contiguous(&vs.view[i]):
            return i
        drop_last(vs)
    return acquire_copy(vs, obj)


cdef inline int acquire_strided(Views *vs, object obj) except -2:
    """As ``acquire`` for a kernel that reads any strides: only a subclass or misaligned
    data is copied."""
    cdef int i = take(vs, obj, cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)
    if i >= 0:
        if aligned(&vs.view[i]):
            return i
        drop_last(vs)
    return acquire_copy(vs, obj)


cdef int acquire_subclass_written(Views *vs, object obj) except -2:
    """The rare path of ``acquire_written``: an ndarray subclass, viewed as an ndarray of the
    same memory."""
    if type(obj) is _NDARRAY or not native_float(obj):
        return -1
    cdef int i = take(vs, obj.view(_NDARRAY), cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)
    if i < 0 or not aligned(&vs.view[i]) or vs.view[i].readonly:
        return -1
    return i


cdef inline int acquire_written(Views *vs, object obj) except -2:
    """Hold a view of ``obj``, an array the kernel writes: an ndarray of native float32 or
    float64 (a subclass is viewed as an ndarray of the same memory), aligned and writeable;
    -1 otherwise, since a copy would not be written through. Strides are the caller's to
    check."""
    cdef int i = take(vs, obj, cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)
    if i < 0:
        return acquire_subclass_written(vs, obj)
    if not aligned(&vs.view[i]) or vs.view[i].readonly:
        return -1
    return i


cdef inline bint same_layout(const Py_buffer *v, const Py_buffer *like) noexcept:
    """Whether ``v`` is C-contiguous with the element type and shape of ``like``."""
    if v.itemsize != like.itemsize or v.ndim != like.ndim or not c_contiguous(v):
        return False
    for d in range(v.ndim):
        if v.shape[d] != like.shape[d]:
            return False
    return True


cdef inline int acquire_like(Views *vs, object obj, const Py_buffer *like) except -2:
    """As ``acquire``, and -1 also when the element type or the shape is not ``like``'s."""
    cdef int i = acquire(vs, obj)
    if i < 0 or not same_layout(&vs.view[i], like):
        return -1
    return i


cdef inline int acquire_written_like(Views *vs, object obj, const Py_buffer *like) except -2:
    """As ``acquire_written``, and -1 also unless C-contiguous of ``like``'s element type
    and shape."""
    cdef int i = acquire_written(vs, obj)
    if i < 0 or not same_layout(&vs.view[i], like):
        return -1
    return i


cdef int acquire_index(Views *vs, object obj, bint written=False) except -2:
    """Hold a view of ``obj`` as native int64 values, aligned and C-contiguous: an input
    array of another integer type or form is copied once; -1 when ``obj`` is no integer
    ndarray, or is written but not in that form."""
    cdef int i = take(vs, obj, cnp.NPY_LONG, cnp.NPY_LONGLONG)
    if i >= 0:
        if (vs.view[i].itemsize == 8 and aligned(&vs.view[i]) and c_contiguous(&vs.view[i])
                and not (written and vs.view[i].readonly)):
            return i
        drop_last(vs)
    if written or not isinstance(obj, _NDARRAY) or obj.dtype.kind not in "iu":
        return -1
    return take(vs, _numpy.require(obj, _numpy.int64, requirements="CAE"), cnp.NPY_LONG,
                cnp.NPY_LONGLONG)


cdef int hold(Views *vs, object obj, bint written=False, bint index=False) except -2:
    """For the kernels whose arguments compiled.py checks before the call (convolution,
    pooling, attention): the index of a C-contiguous view of ``obj`` (an input copied once
    if it is in another form), -1 for None. An array the checks passed cannot be refused:
    if it is, the checks and this disagree, a bug that must not pass for a result."""
    if obj is None:
        return -1
    cdef int i
    if index:
        i = acquire_index(vs, obj, written)
    elif written:
        i = acquire_written(vs, obj)
        if i >= 0 and not c_contiguous(&vs.view[i]):
            i = -1
    else:
        i = acquire(vs, obj)
    if i < 0:
        raise RuntimeError(f"the compiled kernel refused a checked argument: "
                           f"{type(obj).__name__} {getattr(obj, 'dtype', '')} "
                           f"{getattr(obj, 'shape', '')}")
    return i


cdef inline void *data(Views *vs, int i) noexcept nogil:
    """The data of view ``i``; NULL for -1 (an argument left out)."""
    return NULL if i < 0 else vs.view[i].buf


cdef object new_output(Views *vs, int ndim, const Py_ssize_t *shape, Py_ssize_t itemsize):
    """A new, uninitialised, C-contiguous float32 (itemsize 4) or float64 array of that shape,
    with a view of it appended to ``vs`` as ``acquire`` would have taken it. The view holds
    no reference (release_all lets go of nothing); the returned array keeps the data alive."""
    if vs.n == MAX_VIEWS:
        raise IndexError("more array views than a Views holds")
    cdef cnp.ndarray arr = cnp.PyArray_SimpleNew(
        ndim, <cnp.npy_intp *>shape, cnp.NPY_FLOAT32 if itemsize == 4 else cnp.NPY_FLOAT64)
    cdef Py_buffer *v = &vs.view[vs.n]
    memset(v, 0, sizeof(Py_buffer))  # obj, suboffsets and internal stay NULL
    v.buf = cnp.PyArray_DATA(arr)
    v.len = cnp.PyArray_NBYTES(arr)
    v.itemsize = itemsize
    v.readonly = 0
    v.ndim = ndim
    v.format = b"f" if itemsize == 4 else b"d"
    v.shape = <Py_ssize_t *>cnp.PyArray_DIMS(arr)
    v.strides = <Py_ssize_t *>cnp.PyArray_STRIDES(arr)
    vs.n += 1
    return arr


cdef inline object new_matrix(Views *vs, Py_ssize_t rows, Py_ssize_t cols,
                              Py_ssize_t itemsize):
    """``new_output`` of shape (rows, cols)."""
    cdef Py_ssize_t shape[2]
    shape[0], shape[1] = rows, cols
    return new_output(vs, 2, shape, itemsize)


cdef inline object new_like(Views *vs, int i):
    """``new_output`` of the shape and element type of ``vs.view[i]``."""
    return new_output(vs, vs.view[i].ndim, vs.view[i].shape, vs.view[i].itemsize)


cdef inline void release_all(Views *vs) noexcept:
    for i in range(vs.n):
        PyBuffer_Release(&vs.view[i])
    vs.n = 0


cdef inline bint c_contiguous(const Py_buffer *v) noexcept:
    cdef Py_ssize_t expected = v.itemsize
    for d in range(v.ndim):
        if v.shape[d] == 0:
            return True
    for d in range(v.ndim - 1, -1, -1):
        if v.shape[d] != 1 and v.strides[d] != expected:
            return False
        expected *= v.shape[d]
    return True


cdef inline Py_ssize_t elements(const Py_buffer *v) noexcept:
    return v.len // v.itemsize


cdef inline bint may_overlap(const Py_buffer *u, const Py_buffer *v) noexcept:
    """Whether the byte ranges the two views span intersect: numpy.may_share_memory's
    bounds test, at C speed."""
    cdef char *lo[2]
    cdef char *hi[2]
    cdef const Py_buffer *w
    for k in range(2):
        w = u if k == 0 else v
        lo[k] = hi[k] = <char *>w.buf
        for d in range(w.ndim):
            if w.shape[d] == 0:
                return False
            if w.strides[d] < 0:
                lo[k] += (w.shape[d] - 1) * w.strides[d]
            else:
                hi[k] += (w.shape[d] - 1) * w.strides[d]
        hi[k] += w.itemsize
    return lo[0] < hi[1] and lo[1] < hi[0]


cdef inline bint has_zero_stride(const Py_buffer *v) noexcept:
    """Whether a view with more than one element repeats one (a broadcast view)."""
    if elements(v) <= 1:
        return False
    for d in range(v.ndim):
        if v.shape[d] > 1 and v.strides[d] == 0:
            return True
    return False

