# Array access for the wrappers of the kernels that run many times a step on small arrays
# (GEMM, activations, softmax, bias gradients, optimiser updates, recurrent cells, once per
# time step); _native.pyx includes it once, before the families that use it.
#
# Each array is read through one Py_buffer and checked at C speed. Typed memoryviews cost
# about 0.3 us per array and a fused-type dispatch about 0.7 us more, and the checks in
# Python another 1-3 us: on a batch-1 training step that was most of a kernel call. These
# wrappers take the arrays as they are when they can (an exact ndarray of native float32 or
# float64, aligned, C-contiguous where the kernel needs it, shapes that fit) and allocate
# the result; otherwise they return None and compiled.py runs the checks shared with the
# reference backend, which raise its error, or normalises the arrays and calls again.
# Results are made by NumPy's C API and described by a view filled in here (new_output):
# numpy.empty called from here and a buffer then taken of its result cost ~0.55 us more
# an array, a tenth of a 128 x 10 softmax-cross-entropy step.
# (Convolution, pooling and attention, whose calls are long enough for this not to matter,
# use typed memoryviews.)
from cpython.buffer cimport PyBUF_RECORDS_RO, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport uintptr_t
from libc.string cimport memset
cimport numpy as cnp

import numpy as _numpy

cnp.import_array()

cdef object _NDARRAY = _numpy.ndarray

cdef enum:
    MAX_VIEWS = 8


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


cdef inline int acquire(Views *vs, object obj) except -2:
    """Hold a view of ``obj`` in ``vs``; return its index, or -1 when ``obj`` is not an exact
    ndarray of native float32 or float64 with aligned data and strides."""
    cdef int i = take(vs, obj, cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)
    if i < 0 or not aligned(&vs.view[i]):
        return -1
    return i


cdef inline int acquire_like(Views *vs, object obj, const Py_buffer *like,
                             bint writable=False) except -2:
    """As ``acquire``, and -1 also when the element type or the shape is not ``like``'s, the
    array is not C-contiguous, or it is read-only and ``writable`` is asked for."""
    cdef int i = acquire(vs, obj)
    if i < 0:
        return -1
    cdef const Py_buffer *v = &vs.view[i]
    if v.itemsize != like.itemsize or v.ndim != like.ndim or not c_contiguous(v) \
            or (writable and v.readonly):
        return -1
    for d in range(v.ndim):
        if v.shape[d] != like.shape[d]:
            return -1
    return i


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

