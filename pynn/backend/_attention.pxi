# Cython wrappers of csrc/attention.c: q, k, v, probs, dout and the outputs C-contiguous
# (checked by compiled.py); the masks any (B, L, S) view, broadcast ones included (their zero
# strides reach the C code), or None. GIL released.

cdef inline void view3(bint absent, const floating[:, :, :] m, const floating **data,
                       int64_t *sb, int64_t *sl, int64_t *ss):
    cdef Py_ssize_t isz = sizeof(floating)
    data[0] = NULL
    sb[0] = sl[0] = ss[0] = 0
    if absent or m.shape[0] == 0 or m.shape[1] == 0 or m.shape[2] == 0:
        return
    data[0] = &m[0, 0, 0]
    sb[0], sl[0], ss[0] = m.strides[0] // isz, m.strides[1] // isz, m.strides[2] // isz


def attention_forward(const floating[:, :, ::1] q, const floating[:, :, ::1] k,
                      const floating[:, :, ::1] v, mask, bint causal, double scale, dropout,
                      floating[:, :, ::1] out, floating[:, :, ::1] probs, int isa,
                      int n_threads):
    cdef Py_ssize_t b = q.shape[0], l = q.shape[1], s = k.shape[1], e = q.shape[2]
    cdef Py_ssize_t ev = v.shape[2]
    cdef int status = PYNN_OK
    cdef pynn_bcast3_f32 m32, d32
    cdef pynn_bcast3_f64 m64, d64
    cdef const floating[:, :, :] mv = mask if mask is not None else None
    cdef const floating[:, :, :] dv = dropout if dropout is not None else None
    if b == 0 or l == 0:
        return
    if floating is float:
        view3(mask is None, mv, &m32.data, &m32.sb, &m32.sl, &m32.ss)
        view3(dropout is None, dv, &d32.data, &d32.sb, &d32.sl, &d32.ss)
    else:
        view3(mask is None, mv, &m64.data, &m64.sb, &m64.sl, &m64.ss)
        view3(dropout is None, dv, &d64.data, &d64.sb, &d64.sl, &d64.ss)
    with nogil:
        if floating is float:
            status = pynn_attention_fwd_f32(b, l, s, e, ev, &q[0, 0, 0] if e else NULL,
                                            &k[0, 0, 0] if s and e else NULL,
                                            &v[0, 0, 0] if s and ev else NULL, m32, causal,
                                            scale, d32, &out[0, 0, 0] if ev else NULL,
                                            &probs[0, 0, 0] if s else NULL, isa, n_threads)
        else:
            status = pynn_attention_fwd_f64(b, l, s, e, ev, &q[0, 0, 0] if e else NULL,
                                            &k[0, 0, 0] if s and e else NULL,
                                            &v[0, 0, 0] if s and ev else NULL, m64, causal,
                                            scale, d64, &out[0, 0, 0] if ev else NULL,
                                            &probs[0, 0, 0] if s else NULL, isa, n_threads)
    if status != PYNN_OK:
        raise MemoryError("attention_forward: out of memory for the scratch buffers")


def attention_backward(const floating[:, :, ::1] q, const floating[:, :, ::1] k,
                       const floating[:, :, ::1] v, const floating[:, :, ::1] probs,
                       const floating[:, :, ::1] dout, double scale, dropout,
                       floating[:, :, ::1] dq, floating[:, :, ::1] dk, floating[:, :, ::1] dv,
                       int isa, int n_threads):
    cdef Py_ssize_t b = q.shape[0], l = q.shape[1], s = k.shape[1], e = q.shape[2]
    cdef Py_ssize_t ev = v.shape[2]
    cdef int status = PYNN_OK
    cdef pynn_bcast3_f32 d32
    cdef pynn_bcast3_f64 d64
    cdef const floating[:, :, :] dm = dropout if dropout is not None else None
    if b == 0 or (l == 0 and s == 0):
        return
    if floating is float:
        view3(dropout is None, dm, &d32.data, &d32.sb, &d32.sl, &d32.ss)
    else:
        view3(dropout is None, dm, &d64.data, &d64.sb, &d64.sl, &d64.ss)
    with nogil:
        if floating is float:
            status = pynn_attention_bwd_f32(
                b, l, s, e, ev, &q[0, 0, 0] if l and e else NULL,
                &k[0, 0, 0] if s and e else NULL, &v[0, 0, 0] if s and ev else NULL,
                &probs[0, 0, 0] if l and s else NULL, &dout[0, 0, 0] if l and ev else NULL,
                scale, d32, &dq[0, 0, 0] if l and e else NULL,
                &dk[0, 0, 0] if s and e else NULL, &dv[0, 0, 0] if s and ev else NULL, isa,
                n_threads)
        else:
            status = pynn_attention_bwd_f64(
                b, l, s, e, ev, &q[0, 0, 0] if l and e else NULL,
                &k[0, 0, 0] if s and e else NULL, &v[0, 0, 0] if s and ev else NULL,
                &probs[0, 0, 0] if l and s else NULL, &dout[0, 0, 0] if l and ev else NULL,
                scale, d64, &dq[0, 0, 0] if l and e else NULL,
                &dk[0, 0, 0] if s and e else NULL, &dv[0, 0, 0] if s and ev else NULL, isa,
                n_threads)
    if status != PYNN_OK:
        raise MemoryError("attention_backward: out of memory for the scratch buffers")
