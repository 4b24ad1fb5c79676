# Cython wrapper of csrc/softmax.c's fused softmax-cross-entropy, GIL released (see
# _buffers.pxi for how arrays are taken and when they are refused): by hand, since it takes
# labels and answers a bad row. The softmax family's other kernels are in the kernel table.

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
