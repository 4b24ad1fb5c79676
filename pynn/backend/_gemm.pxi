# GEMM: ``C := relu?(alpha * op(A) op(B) + beta * C + bias)`` in C (csrc/gemm.c), for float32
# and float64 operands of any strides (see _buffers.pxi for how arrays are taken and when None
# is returned).

def gemm(a, b, out, bint trans_a, bint trans_b, double alpha, double beta, bias,
         int bias_axis, bint relu, int isa, int n_threads):
    """``out := relu?(alpha * op(a) op(b) + beta * out + bias)`` with op a transpose when
    asked, and return out (a new array, beta ignored, when out is None).

    a, b: 2-D of one dtype, any strides. out: None or (M, N) of that dtype, writeable, with
    no zero stride and no byte in the span of a, b or bias. bias: None or (N,) if bias_axis is
    1 else (M,), C-contiguous. isa: an ``enum pynn_isa`` this CPU supports. Raises Refused
    when the arrays are not valid.
    """
    cdef Views vs
    vs.n = 0
    cdef const void *bias_p = NULL
    cdef const void *a_p
    cdef const void *b_p
    cdef int status = 0, i, j
    cdef Py_ssize_t isz, m, n, k, kb, rsa, csa, rsb, csb, rsc, csc
    cdef Py_buffer *va
    cdef Py_buffer *vb
    cdef Py_buffer *vc
    try:
        if acquire_strided(&vs, a) < 0 or acquire_strided(&vs, b) < 0:
            raise Refused
        va, vb = &vs.view[0], &vs.view[1]
        isz = va.itemsize
        if va.ndim != 2 or vb.ndim != 2 or vb.itemsize != isz:
            raise Refused
        # op(X)'s rows and columns, and their strides in elements.
        m, k = va.shape[1 if trans_a else 0], va.shape[0 if trans_a else 1]
        rsa, csa = va.strides[1 if trans_a else 0] // isz, va.strides[0 if trans_a else 1] // isz
        kb, n = vb.shape[1 if trans_b else 0], vb.shape[0 if trans_b else 1]
        rsb, csb = vb.strides[1 if trans_b else 0] // isz, vb.strides[0 if trans_b else 1] // isz
        if kb != k:
            raise Refused
        if bias is not None:
            i = acquire(&vs, bias)
            if (i < 0 or bias_axis not in (0, 1) or vs.view[i].itemsize != isz
                    or vs.view[i].ndim != 1 or vs.view[i].shape[0] != (n if bias_axis else m)):
                raise Refused
            bias_p = vs.view[i].buf
        if out is None:  # made here: nothing to check
            out = new_matrix(&vs, m, n, isz)
            beta = 0
            vc = &vs.view[vs.n - 1]
        else:
            i = acquire_written(&vs, out)
            if i < 0:
                raise Refused
            vc = &vs.view[i]
            if vc.itemsize != isz or vc.ndim != 2 or vc.shape[0] != m or vc.shape[1] != n \
                    or vc.readonly or has_zero_stride(vc):
                raise Refused
            for j in range(i):  # the operands and the bias, which out must not overlap
                if may_overlap(vc, &vs.view[j]):
                    raise Refused
        if m == 0 or n == 0:
            return out
        rsc, csc = vc.strides[0] // isz, vc.strides[1] // isz
        # With k == 0, a and b hold no elements and their data pointers must not be touched.
        a_p = va.buf if k > 0 else NULL
        b_p = vb.buf if k > 0 else NULL
        with nogil:
            if isz == 4:
                status = pynn_gemm_f32(m, n, k, <float>alpha, <const float *>a_p, rsa, csa,
                                       <const float *>b_p, rsb, csb, <float>beta,
                                       <float *>vc.buf, rsc, csc, <const float *>bias_p,
                                       bias_axis, relu, isa, n_threads)
            else:
                status = pynn_gemm_f64(m, n, k, alpha, <const double *>a_p, rsa, csa,
                                       <const double *>b_p, rsb, csb, beta,
                                       <double *>vc.buf, rsc, csc, <const double *>bias_p,
                                       bias_axis, relu, isa, n_threads)
    finally:
        release_all(&vs)
    if status == PYNN_ERR_NOMEM:
        raise MemoryError(f"gemm: out of memory multiplying {(m, k)} by {(k, n)}")
    elif status != 0:
        raise RuntimeError(f"gemm: C kernel failed with status {status}")
    return out
