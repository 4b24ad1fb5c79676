"""Cython wrappers of csrc/softmax.c: (rows, cols) C-contiguous arrays, GIL released."""
from cython cimport floating
from libc.stdint cimport int64_t
from pynn.backend._kernels cimport *


def softmax_forward(const floating[:, ::1] x, floating[:, ::1] y, int n_threads):
    if x.shape[0] == 0 or x.shape[1] == 0:
        return
    with nogil:
        if floating is float:
            pynn_softmax_fwd_f32(x.shape[0], x.shape[1], &x[0, 0], &y[0, 0], n_threads)
        else:
            pynn_softmax_fwd_f64(x.shape[0], x.shape[1], &x[0, 0], &y[0, 0], n_threads)


def softmax_backward(const floating[:, ::1] y, const floating[:, ::1] dy, floating[:, ::1] dx,
                     int n_threads):
    if y.shape[0] == 0 or y.shape[1] == 0:
        return
    with nogil:
        if floating is float:
            pynn_softmax_bwd_f32(y.shape[0], y.shape[1], &y[0, 0], &dy[0, 0], &dx[0, 0],
                                 n_threads)
        else:
            pynn_softmax_bwd_f64(y.shape[0], y.shape[1], &y[0, 0], &dy[0, 0], &dx[0, 0],
                                 n_threads)


def log_softmax_forward(const floating[:, ::1] x, floating[:, ::1] y, int n_threads):
    if x.shape[0] == 0 or x.shape[1] == 0:
        return
    with nogil:
        if floating is float:
            pynn_log_softmax_fwd_f32(x.shape[0], x.shape[1], &x[0, 0], &y[0, 0], n_threads)
        else:
            pynn_log_softmax_fwd_f64(x.shape[0], x.shape[1], &x[0, 0], &y[0, 0], n_threads)


def log_softmax_backward(const floating[:, ::1] y, const floating[:, ::1] dy,
                         floating[:, ::1] dx, int n_threads):
    if y.shape[0] == 0 or y.shape[1] == 0:
        return
    with nogil:
        if floating is float:
            pynn_log_softmax_bwd_f32(y.shape[0], y.shape[1], &y[0, 0], &dy[0, 0], &dx[0, 0],
                                     n_threads)
        else:
            pynn_log_softmax_bwd_f64(y.shape[0], y.shape[1], &y[0, 0], &dy[0, 0], &dx[0, 0],
                                     n_threads)


def softmax_cross_entropy_forward(const floating[:, ::1] logits, const int64_t[::1] labels,
                                  int64_t ignore_index, double label_smoothing,
                                  floating[:, ::1] probs, double[::1] loss_rows, int n_threads):
    """Returns (bad_row, loss_sum, n_valid); bad_row is -1 when every label is valid."""
    cdef double loss_sum = 0
    cdef int64_t n_valid = 0, bad = -1
    cdef double *rows_ptr = NULL if loss_rows is None else &loss_rows[0]
    if logits.shape[0] == 0:
        return -1, 0.0, 0
    with nogil:
        if floating is float:
            bad = pynn_softmax_xent_fwd_f32(logits.shape[0], logits.shape[1], &logits[0, 0],
                                            &labels[0], ignore_index, label_smoothing,
                                            &probs[0, 0], rows_ptr, &loss_sum, &n_valid,
                                            n_threads)
        else:
            bad = pynn_softmax_xent_fwd_f64(logits.shape[0], logits.shape[1], &logits[0, 0],
                                            &labels[0], ignore_index, label_smoothing,
                                            &probs[0, 0], rows_ptr, &loss_sum, &n_valid,
                                            n_threads)
    return bad, loss_sum, n_valid


def softmax_cross_entropy_backward(const floating[:, ::1] probs, const int64_t[::1] labels,
                                   int64_t ignore_index, double label_smoothing, double grad,
                                   bint mean, const floating[::1] grad_rows,
                                   floating[:, ::1] dlogits, int n_threads):
    """Returns the first row with an invalid label, or -1."""
    cdef int64_t bad = -1
    cdef const floating *rows_ptr = NULL if grad_rows is None else &grad_rows[0]
    if probs.shape[0] == 0:
        return -1
    with nogil:
        if floating is float:
            bad = pynn_softmax_xent_bwd_f32(probs.shape[0], probs.shape[1], &probs[0, 0],
                                            &labels[0], ignore_index, label_smoothing, grad,
                                            mean, rows_ptr, &dlogits[0, 0], n_threads)
        else:
            bad = pynn_softmax_xent_bwd_f64(probs.shape[0], probs.shape[1], &probs[0, 0],
                                            &labels[0], ignore_index, label_smoothing, grad,
                                            mean, rows_ptr, &dlogits[0, 0], n_threads)
    return bad
