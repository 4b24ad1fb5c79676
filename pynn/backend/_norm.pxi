# Cython wrappers of csrc/norm.c's layer and batch norm, GIL released (see _buffers.pxi for
# how arrays are taken and when they are refused): by hand, since they take and make vectors
# of a row's, a column's or a channel's length, which the kernel table's shapes do not
# describe. Both norms take the same arrays and differ in where their statistics lie: the
# layer norm's x is (N, C) with a mean a row, the batch norm's (N, C, *) with a mean a channel;
# one body each for the forward and the backward serves both (`batch`).


cdef int acquire_vector(Views *vs, object obj, Py_ssize_t n, Py_ssize_t itemsize) except -2:
    """The index of a view of ``obj`` (as ``acquire``) when it has shape (n,) and that element
    size; -1 for None (left out: NULL to the kernel), -3 for anything else."""
    if obj is None:
        return -1
    cdef int i = acquire(vs, obj)
    if i < 0 or vs.view[i].ndim != 1 or vs.view[i].shape[0] != n \
            or vs.view[i].itemsize != itemsize:
        return -3
    return i


cdef int acquire_norm_input(Views *vs, object x, bint batch, Py_ssize_t *n, Py_ssize_t *c,
                            Py_ssize_t *s) except -2:
    """x's view (an (N, C) matrix, or (N, C, *) for the batch norm), with its sizes: n, c and
    s, the values a channel has in an image (1 for the layer norm); -1 when x is not valid."""
    cdef int i = acquire(vs, x)
    if i < 0 or (vs.view[i].ndim < 2 if batch else vs.view[i].ndim != 2):
        return -1
    n[0], c[0] = vs.view[i].shape[0], vs.view[i].shape[1]
    s[0] = elements(&vs.view[i]) // (n[0] * c[0]) if n[0] * c[0] else 0
    return i


cdef object norm_forward(bint batch, x, weight, bias, double eps, int isa, int n_threads):
    """``(y, mean, rstd)`` of the layer norm, ``(y, mean, var, rstd)`` of the batch norm."""
    cdef Views vs
    vs.n = 0
    cdef int i, iw, ib, iy, stats = 3 if batch else 2
    cdef Py_ssize_t n, c, s, isz
    try:
        i = acquire_norm_input(&vs, x, batch, &n, &c, &s)
        if i < 0:
            raise Refused
        isz = vs.view[i].itemsize
        iw = acquire_vector(&vs, weight, c, isz)
        ib = acquire_vector(&vs, bias, c, isz)
        if iw < -1 or ib < -1:
            raise Refused
        out = [new_like(&vs, i)]
        iy = vs.n - 1
        for _ in range(stats):  # one value a channel (batch) or a row (layer)
            out.append(new_output(&vs, 1, &vs.view[i].shape[1 if batch else 0], isz))
        with nogil:
            if (c if batch else n) == 0:  # no statistic to compute
                pass
            elif batch and isz == 4:
                pynn_norm_kernels(isa).batch_norm_fwd_f32(
                    n, c, s, <const float *>data(&vs, i), <const float *>data(&vs, iw),
                    <const float *>data(&vs, ib), eps, <float *>data(&vs, iy),
                    <float *>data(&vs, iy + 1), <float *>data(&vs, iy + 2),
                    <float *>data(&vs, iy + 3), n_threads)
            elif batch:
                pynn_norm_kernels(isa).batch_norm_fwd_f64(
                    n, c, s, <const double *>data(&vs, i), <const double *>data(&vs, iw),
                    <const double *>data(&vs, ib), eps, <double *>data(&vs, iy),
                    <double *>data(&vs, iy + 1), <double *>data(&vs, iy + 2),
                    <double *>data(&vs, iy + 3), n_threads)
            elif isz == 4:
                pynn_norm_kernels(isa).layer_norm_fwd_f32(
                    n, c, <const float *>data(&vs, i), <const float *>data(&vs, iw),
                    <const float *>data(&vs, ib), eps, <float *>data(&vs, iy),
                    <float *>data(&vs, iy + 1), <float *>data(&vs, iy + 2), n_threads)
            else:
                pynn_norm_kernels(isa).layer_norm_fwd_f64(
                    n, c, <const double *>data(&vs, i), <const double *>data(&vs, iw),
                    <const double *>data(&vs, ib), eps, <double *>data(&vs, iy),
                    <double *>data(&vs, iy + 1), <double *>data(&vs, iy + 2), n_threads)
        return tuple(out)
    finally:
        release_all(&vs)


cdef object norm_backward(bint batch, x, dy, mean, rstd, weight, bint input_grad,
                          bint weight_grad, bint bias_grad, int isa, int n_threads):
    """``(dx, dweight, dbias)``, each None unless asked for."""
    cdef Views vs
    vs.n = 0
    cdef int i, idy, im, ir, iw, idx = -1, idw = -1, idb = -1, status = 0
    cdef Py_ssize_t n, c, s, isz, stat_len
    try:
        i = acquire_norm_input(&vs, x, batch, &n, &c, &s)
        if i < 0:
            raise Refused
        isz, stat_len = vs.view[i].itemsize, c if batch else n
        idy = acquire_like(&vs, dy, &vs.view[i])
        im = acquire_vector(&vs, mean, stat_len, isz)
        ir = acquire_vector(&vs, rstd, stat_len, isz)
        iw = acquire_vector(&vs, weight, c, isz)
        if idy < 0 or im < 0 or ir < 0 or iw < -1:
            raise Refused
        dx = dweight = dbias = None
        if input_grad:
            dx = new_like(&vs, i)
            idx = vs.n - 1
        if weight_grad:
            dweight = new_output(&vs, 1, &vs.view[i].shape[1], isz)
            idw = vs.n - 1
        if bias_grad:
            dbias = new_output(&vs, 1, &vs.view[i].shape[1], isz)
            idb = vs.n - 1
        with nogil:
            if batch and c == 0:
                pass
            elif batch and isz == 4:
                pynn_norm_kernels(isa).batch_norm_bwd_f32(
                    n, c, s, <const float *>data(&vs, i), <const float *>data(&vs, idy),
                    <const float *>data(&vs, im), <const float *>data(&vs, ir),
                    <const float *>data(&vs, iw), <float *>data(&vs, idx),
                    <float *>data(&vs, idw), <float *>data(&vs, idb), n_threads)
            elif batch:
                pynn_norm_kernels(isa).batch_norm_bwd_f64(
                    n, c, s, <const double *>data(&vs, i), <const double *>data(&vs, idy),
                    <const double *>data(&vs, im), <const double *>data(&vs, ir),
                    <const double *>data(&vs, iw), <double *>data(&vs, idx),
                    <double *>data(&vs, idw), <double *>data(&vs, idb), n_threads)
            elif isz == 4:
                status = pynn_norm_kernels(isa).layer_norm_bwd_f32(
                    n, c, <const float *>data(&vs, i), <const float *>data(&vs, idy),
                    <const float *>data(&vs, im), <const float *>data(&vs, ir),
                    <const float *>data(&vs, iw), <float *>data(&vs, idx),
                    <float *>data(&vs, idw), <float *>data(&vs, idb), n_threads)
            else:
                status = pynn_norm_kernels(isa).layer_norm_bwd_f64(
                    n, c, <const double *>data(&vs, i), <const double *>data(&vs, idy),
                    <const double *>data(&vs, im), <const double *>data(&vs, ir),
                    <const double *>data(&vs, iw), <double *>data(&vs, idx),
                    <double *>data(&vs, idw), <double *>data(&vs, idb), n_threads)
        if status != 0:
            raise MemoryError("layer_norm_backward: no memory for the column sums' scratch")
        return dx, dweight, dbias
    finally:
        release_all(&vs)


def layer_norm_forward(x, weight, bias, double eps, int isa, int n_threads):
    """For x (N, C) and weight / bias (C,) or None, of x's dtype: ``(y, mean, rstd)``.
    Refused when an array is not valid."""
    return norm_forward(False, x, weight, bias, eps, isa, n_threads)


def layer_norm_backward(x, dy, mean, rstd, weight, bint input_grad, bint weight_grad,
                        bint bias_grad, int isa, int n_threads):
    """For x and dy (N, C), mean and rstd (N,) and weight (C,) or None, of one dtype:
    ``(dx, dweight, dbias)``, each None unless asked for. Refused when an array is not valid;
    MemoryError when the column sums' scratch cannot be had."""
    return norm_backward(False, x, dy, mean, rstd, weight, input_grad, weight_grad, bias_grad,
                         isa, n_threads)


def batch_norm_forward(x, weight, bias, double eps, int isa, int n_threads):
    """For x (N, C, *) and weight / bias (C,) or None, of x's dtype: ``(y, mean, var, rstd)``
    with the batch's statistics. Refused when an array is not valid."""
    return norm_forward(True, x, weight, bias, eps, isa, n_threads)


def batch_norm_backward(x, dy, mean, rstd, weight, bint input_grad, bint weight_grad,
                        bint bias_grad, int isa, int n_threads):
    """For x and dy (N, C, *), mean and rstd (C,) and weight (C,) or None, of one dtype:
    ``(dx, dweight, dbias)``, each None unless asked for. Refused when an array is not
    valid."""
    return norm_backward(True, x, dy, mean, rstd, weight, input_grad, weight_grad, bias_grad,
                         isa, n_threads)
