# Cython wrappers of csrc/attention.c, arrays checked by compiled.py and read through
# _buffers.pxi: q, k, v, probs, dout and the outputs in C order (inputs copied once if need
# be); the masks any (B, L, S) view, broadcast ones included (their zero strides reach the C
# code), or None. GIL released.

cdef inline const void *items(Views *vs, int i) noexcept nogil:
    """The data of view ``i``, NULL when it holds no element (or i is -1): the kernel must
    not be handed a pointer into an empty array."""
    return NULL if i < 0 or vs.view[i].len == 0 else vs.view[i].buf


cdef inline void bcast3(Views *vs, int i, const void **data, int64_t *sb, int64_t *sl,
                        int64_t *ss) noexcept:
    """A (B, L, S) mask's data and strides in elements; NULL (no mask) for i == -1."""
    data[0] = items(vs, i)
    sb[0] = sl[0] = ss[0] = 0
    if data[0] == NULL:
        return
    cdef Py_ssize_t isz = vs.view[i].itemsize
    sb[0], sl[0], ss[0] = (vs.view[i].strides[0] // isz, vs.view[i].strides[1] // isz,
                           vs.view[i].strides[2] // isz)


cdef int hold_mask(Views *vs, object mask) except -2:
    """``hold`` for a mask, which keeps its strides (zero where it broadcasts)."""
    if mask is None:
        return -1
    cdef int i = acquire_strided(vs, mask)
    if i < 0:
        raise RuntimeError("the compiled kernel refused a checked attention mask")
    return i


def attention_forward(q, k, v, mask, bint causal, double scale, dropout, out, probs, int isa,
                      int n_threads):
    cdef Views vs
    vs.n = 0
    cdef Py_ssize_t b, l, s, e, ev
    cdef int status = PYNN_OK, im, idr, io, ip
    cdef pynn_bcast3_f32 m32, d32
    cdef pynn_bcast3_f64 m64, d64
    try:
        hold(&vs, q)
        hold(&vs, k)
        hold(&vs, v)
        im = hold_mask(&vs, mask)
        idr = hold_mask(&vs, dropout)
        io = hold(&vs, out, True)
        ip = hold(&vs, probs, True)
        b, l, e = vs.view[0].shape[0], vs.view[0].shape[1], vs.view[0].shape[2]
        s, ev = vs.view[1].shape[1], vs.view[2].shape[2]
        if b == 0 or l == 0:
            return
        bcast3(&vs, im, <const void **>&m32.data, &m32.sb, &m32.sl, &m32.ss)
        bcast3(&vs, idr, <const void **>&d32.data, &d32.sb, &d32.sl, &d32.ss)
        m64.data, m64.sb, m64.sl, m64.ss = <const double *>m32.data, m32.sb, m32.sl, m32.ss
        d64.data, d64.sb, d64.sl, d64.ss = <const double *>d32.data, d32.sb, d32.sl, d32.ss
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_attention_fwd_f32(
                    b, l, s, e, ev, <const float *>items(&vs, 0), <const float *>items(&vs, 1),
                    <const float *>items(&vs, 2), m32, causal, scale, d32,
                    <float *>items(&vs, io), <float *>items(&vs, ip), isa, n_threads)
            else:
                status = pynn_attention_fwd_f64(
                    b, l, s, e, ev, <const double *>items(&vs, 0),
                    <const double *>items(&vs, 1), <const double *>items(&vs, 2), m64, causal,
                    scale, d64, <double *>items(&vs, io), <double *>items(&vs, ip), isa,
                    n_threads)
        if status != PYNN_OK:
            raise MemoryError("attention_forward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)


def attention_backward(q, k, v, probs, dout, double scale, dropout, dq, dk, dv, int isa,
                       int n_threads):
    cdef Views vs
    vs.n = 0
    cdef Py_ssize_t b, l, s, e, ev
    cdef int status = PYNN_OK, idr, iq, ik, iv
    cdef pynn_bcast3_f32 d32
    cdef pynn_bcast3_f64 d64
    try:
        hold(&vs, q)
        hold(&vs, k)
        hold(&vs, v)
        hold(&vs, probs)
        hold(&vs, dout)
        idr = hold_mask(&vs, dropout)
        iq = hold(&vs, dq, True)
        ik = hold(&vs, dk, True)
        iv = hold(&vs, dv, True)
        b, l, e = vs.view[0].shape[0], vs.view[0].shape[1], vs.view[0].shape[2]
        s, ev = vs.view[1].shape[1], vs.view[2].shape[2]
        if b == 0 or (l == 0 and s == 0):
            return
        bcast3(&vs, idr, <const void **>&d32.data, &d32.sb, &d32.sl, &d32.ss)
        d64.data, d64.sb, d64.sl, d64.ss = <const double *>d32.data, d32.sb, d32.sl, d32.ss
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_attention_bwd_f32(
                    b, l, s, e, ev, <const float *>items(&vs, 0), <const float *>items(&vs, 1),
                    <const float *>items(&vs, 2), <const float *>items(&vs, 3),
                    <const float *>items(&vs, 4), scale, d32, <float *>items(&vs, iq),
                    <float *>items(&vs, ik), <float *>items(&vs, iv), isa, n_threads)
            else:
                status = pynn_attention_bwd_f64(
                    b, l, s, e, ev, <const double *>items(&vs, 0),
                    <const double *>items(&vs, 1), <const double *>items(&vs, 2),
                    <const double *>items(&vs, 3), <const double *>items(&vs, 4), scale, d64,
                    <double *>items(&vs, iq), <double *>items(&vs, ik), <double *>items(&vs, iv),
                    isa, n_threads)
        if status != PYNN_OK:
            raise MemoryError("attention_backward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)
