# Cython wrappers of csrc/softmax.c's fused softmax-cross-entropy and layer norm, GIL released
# (see _buffers.pxi for how arrays are taken and when they are refused): by hand, since the
# loss takes labels and answers a bad row and the layer norm takes and makes vectors of a row's
# or a column's length. The softmax family's other kernels are in the kernel table.

cdef int acquire_labels(Views *vs, object obj, Py_ssize_t n) except -2:
    """``acquire_index``, and -1 also unless the labels' shape is (n,)."""
    cdef int i = acquire_index(vs, obj)
    if i < 0 or vs.view[i].ndim != 1 or vs.view[i].shape[0] != n:
        return -1
    return i


def cross_entropy_forward(logits, labels, int64_t ignore_index, double label_smoothing,
                          bint per_row, int isa, int n_threads):
    """For logits (N, C), C >= 1, and int64 labels (N,), both C-contiguous:
    ``(bad_row, loss_sum, n_valid, probs, loss_rows)``, where bad_row is -1 when every label
    is valid and loss_rows (float64) is None unless per_row. Refused when an array is not
    valid."""
    cdef Views vs
    vs.n = 0
    cdef double loss_sum = 0
    cdef int64_t n_valid = 0, bad = -1
    cdef double *rows_ptr = NULL
    cdef int i
    cdef int64_t n, c
    try:
        i = acquire(&vs, logits)
        if i < 0 or vs.view[i].ndim != 2 or vs.view[i].shape[1] < 1:
            raise Refused
        n, c = vs.view[0].shape[0], vs.view[0].shape[1]
        if acquire_labels(&vs, labels, n) < 0:
            raise Refused
        probs = new_matrix(&vs, n, c, vs.view[0].itemsize)
        loss_rows = None
        if per_row:
            loss_rows = new_output(&vs, 1, &vs.view[0].shape[0], 8)
            rows_ptr = <double *>vs.view[3].buf
        with nogil:
            if n == 0:
                pass
            elif vs.view[0].itemsize == 4:
                bad = pynn_softmax_kernels(isa).softmax_xent_fwd_f32(
                    n, c, <const float *>vs.view[0].buf, <const int64_t *>vs.view[1].buf,
                    ignore_index, label_smoothing, <float *>vs.view[2].buf, rows_ptr,
                    &loss_sum, &n_valid, n_threads)
            else:
                bad = pynn_softmax_kernels(isa).softmax_xent_fwd_f64(
                    n, c, <const double *>vs.view[0].buf, <const int64_t *>vs.view[1].buf,
                    ignore_index, label_smoothing, <double *>vs.view[2].buf, rows_ptr,
                    &loss_sum, &n_valid, n_threads)
        return bad, loss_sum, n_valid, probs, loss_rows
    finally:
        release_all(&vs)


def cross_entropy_backward(probs, labels, int64_t ignore_index, double label_smoothing,
                           double grad, bint mean, grad_rows, int isa, int n_threads):
    """For probs (N, C), C >= 1, int64 labels (N,) and, when given, grad_rows (N,) of probs'
    dtype (then it is the upstream gradient per row, else ``grad`` for all), all
    C-contiguous: ``(bad_row, dlogits)``. Refused when an array is not valid."""
    cdef Views vs
    vs.n = 0
    cdef int64_t bad = -1
    cdef const void *rows_ptr = NULL
    cdef int i, j, k
    cdef int64_t n, c
    try:
        i = acquire(&vs, probs)
        if i < 0 or vs.view[i].ndim != 2 or vs.view[i].shape[1] < 1:
            raise Refused
        n, c = vs.view[0].shape[0], vs.view[0].shape[1]
        if acquire_labels(&vs, labels, n) < 0:
            raise Refused
        if grad_rows is not None:
            if type(grad_rows) is not _NDARRAY or cnp.PyArray_TYPE(<cnp.ndarray>grad_rows) \
                    != cnp.PyArray_TYPE(<cnp.ndarray>probs):
                try:  # the upstream gradient in probs' dtype (it may be a list, a scalar)
                    grad_rows = _numpy.require(grad_rows, (<cnp.ndarray>probs).dtype,
                                               requirements="CAE")
                except (TypeError, ValueError):
                    raise Refused from None
            j = acquire(&vs, grad_rows)
            if j < 0 or vs.view[j].ndim != 1 or vs.view[j].shape[0] != n:
                raise Refused
            rows_ptr = vs.view[j].buf
        k = vs.n
        dlogits = new_matrix(&vs, n, c, vs.view[0].itemsize)
        with nogil:
            if n == 0:
                pass
            elif vs.view[0].itemsize == 4:
                bad = pynn_softmax_kernels(isa).softmax_xent_bwd_f32(
                    n, c, <const float *>vs.view[0].buf, <const int64_t *>vs.view[1].buf,
                    ignore_index, label_smoothing, grad, mean, <const float *>rows_ptr,
                    <float *>vs.view[k].buf, n_threads)
            else:
                bad = pynn_softmax_kernels(isa).softmax_xent_bwd_f64(
                    n, c, <const double *>vs.view[0].buf, <const int64_t *>vs.view[1].buf,
                    ignore_index, label_smoothing, grad, mean, <const double *>rows_ptr,
                    <double *>vs.view[k].buf, n_threads)
        return bad, dlogits
    finally:
        release_all(&vs)


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


def layer_norm_forward(x, weight, bias, double eps, int isa, int n_threads):
    """For x (N, C) and weight / bias (C,) or None, of x's dtype: ``(y, mean, rstd)``.
    Refused when an array is not valid."""
    cdef Views vs
    vs.n = 0
    cdef int i, iw, ib, iy
    cdef Py_ssize_t rows, cols, isz
    try:
        i = acquire(&vs, x)
        if i < 0 or vs.view[i].ndim != 2:
            raise Refused
        rows, cols, isz = vs.view[i].shape[0], vs.view[i].shape[1], vs.view[i].itemsize
        iw = acquire_vector(&vs, weight, cols, isz)
        ib = acquire_vector(&vs, bias, cols, isz)
        if iw < -1 or ib < -1:
            raise Refused
        y = new_matrix(&vs, rows, cols, isz)
        iy = vs.n - 1
        mean = new_output(&vs, 1, &vs.view[i].shape[0], isz)
        rstd = new_output(&vs, 1, &vs.view[i].shape[0], isz)
        with nogil:
            if rows == 0:
                pass
            elif isz == 4:
                pynn_softmax_kernels(isa).layer_norm_fwd_f32(
                    rows, cols, <const float *>data(&vs, i), <const float *>data(&vs, iw),
                    <const float *>data(&vs, ib), eps, <float *>data(&vs, iy),
                    <float *>data(&vs, iy + 1), <float *>data(&vs, iy + 2), n_threads)
            else:
                pynn_softmax_kernels(isa).layer_norm_fwd_f64(
                    rows, cols, <const double *>data(&vs, i), <const double *>data(&vs, iw),
                    <const double *>data(&vs, ib), eps, <double *>data(&vs, iy),
                    <double *>data(&vs, iy + 1), <double *>data(&vs, iy + 2), n_threads)
        return y, mean, rstd
    finally:
        release_all(&vs)


def layer_norm_backward(x, dy, mean, rstd, weight, bint input_grad, bint weight_grad,
                        bint bias_grad, int isa, int n_threads):
    """For x and dy (N, C), mean and rstd (N,) and weight (C,) or None, of one dtype:
    ``(dx, dweight, dbias)``, each None unless asked for. Refused when an array is not valid;
    MemoryError when the column sums' scratch cannot be had."""
    cdef Views vs
    vs.n = 0
    cdef int i, idy, im, ir, iw, idx = -1, idw = -1, idb = -1, status = 0
    cdef Py_ssize_t rows, cols, isz
    try:
        i = acquire(&vs, x)
        if i < 0 or vs.view[i].ndim != 2:
            raise Refused
        rows, cols, isz = vs.view[i].shape[0], vs.view[i].shape[1], vs.view[i].itemsize
        idy = acquire_like(&vs, dy, &vs.view[i])
        im = acquire_vector(&vs, mean, rows, isz)
        ir = acquire_vector(&vs, rstd, rows, isz)
        iw = acquire_vector(&vs, weight, cols, isz)
        if idy < 0 or im < 0 or ir < 0 or iw < -1:
            raise Refused
        dx = dweight = dbias = None
        if input_grad:
            dx = new_matrix(&vs, rows, cols, isz)
            idx = vs.n - 1
        if weight_grad:
            dweight = new_output(&vs, 1, &vs.view[i].shape[1], isz)
            idw = vs.n - 1
        if bias_grad:
            dbias = new_output(&vs, 1, &vs.view[i].shape[1], isz)
            idb = vs.n - 1
        with nogil:
            if isz == 4:
                status = pynn_softmax_kernels(isa).layer_norm_bwd_f32(
                    rows, cols, <const float *>data(&vs, i), <const float *>data(&vs, idy),
                    <const float *>data(&vs, im), <const float *>data(&vs, ir),
                    <const float *>data(&vs, iw), <float *>data(&vs, idx),
                    <float *>data(&vs, idw), <float *>data(&vs, idb), n_threads)
            else:
                status = pynn_softmax_kernels(isa).layer_norm_bwd_f64(
                    rows, cols, <const double *>data(&vs, i), <const double *>data(&vs, idy),
                    <const double *>data(&vs, im), <const double *>data(&vs, ir),
                    <const double *>data(&vs, iw), <double *>data(&vs, idx),
                    <double *>data(&vs, idw), <double *>data(&vs, idb), n_threads)
        if status != 0:
            raise MemoryError("layer_norm_backward: no memory for the column sums' scratch")
        return dx, dweight, dbias
    finally:
        release_all(&vs)
