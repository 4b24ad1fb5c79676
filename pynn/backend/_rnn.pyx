"""Cython wrappers of csrc/rnn.c: C-contiguous 2-D arrays of one dtype (checked by
compiled.py), outputs preallocated by the caller, GIL released."""
from cython cimport floating
from pynn.backend._kernels cimport *


def lstm_cell_forward(const floating[:, ::1] gates, const floating[:, ::1] c_prev,
                      floating[:, ::1] h, floating[:, ::1] c, floating[:, ::1] acts,
                      int n_threads):
    cdef Py_ssize_t n = c_prev.shape[0], hidden = c_prev.shape[1]
    if n == 0 or hidden == 0:
        return
    with nogil:
        if floating is float:
            pynn_lstm_cell_fwd_f32(n, hidden, &gates[0, 0], &c_prev[0, 0], &h[0, 0], &c[0, 0],
                                   &acts[0, 0], n_threads)
        else:
            pynn_lstm_cell_fwd_f64(n, hidden, &gates[0, 0], &c_prev[0, 0], &h[0, 0], &c[0, 0],
                                   &acts[0, 0], n_threads)


def lstm_cell_backward(const floating[:, ::1] acts, const floating[:, ::1] c_prev,
                       const floating[:, ::1] dh, dc, floating[:, ::1] dgates,
                       floating[:, ::1] dc_prev, int n_threads):
    """``dc`` is None (zero) or an array like ``dh``."""
    cdef Py_ssize_t n = c_prev.shape[0], hidden = c_prev.shape[1]
    cdef const floating[:, ::1] dc_v
    cdef const floating *dc_p = NULL
    if n == 0 or hidden == 0:
        return
    if dc is not None:
        dc_v = dc
        dc_p = &dc_v[0, 0]
    with nogil:
        if floating is float:
            pynn_lstm_cell_bwd_f32(n, hidden, &acts[0, 0], &c_prev[0, 0], &dh[0, 0], dc_p,
                                   &dgates[0, 0], &dc_prev[0, 0], n_threads)
        else:
            pynn_lstm_cell_bwd_f64(n, hidden, &acts[0, 0], &c_prev[0, 0], &dh[0, 0], dc_p,
                                   &dgates[0, 0], &dc_prev[0, 0], n_threads)


def gru_cell_forward(const floating[:, ::1] gi, const floating[:, ::1] gh,
                     const floating[:, ::1] h_prev, floating[:, ::1] h, floating[:, ::1] acts,
                     int n_threads):
    cdef Py_ssize_t n = h_prev.shape[0], hidden = h_prev.shape[1]
    if n == 0 or hidden == 0:
        return
    with nogil:
        if floating is float:
            pynn_gru_cell_fwd_f32(n, hidden, &gi[0, 0], &gh[0, 0], &h_prev[0, 0], &h[0, 0],
                                  &acts[0, 0], n_threads)
        else:
            pynn_gru_cell_fwd_f64(n, hidden, &gi[0, 0], &gh[0, 0], &h_prev[0, 0], &h[0, 0],
                                  &acts[0, 0], n_threads)


def gru_cell_backward(const floating[:, ::1] acts, const floating[:, ::1] h_prev,
                      const floating[:, ::1] dh, floating[:, ::1] dgi, floating[:, ::1] dgh,
                      floating[:, ::1] dh_prev, int n_threads):
    cdef Py_ssize_t n = h_prev.shape[0], hidden = h_prev.shape[1]
    if n == 0 or hidden == 0:
        return
    with nogil:
        if floating is float:
            pynn_gru_cell_bwd_f32(n, hidden, &acts[0, 0], &h_prev[0, 0], &dh[0, 0], &dgi[0, 0],
                                  &dgh[0, 0], &dh_prev[0, 0], n_threads)
        else:
            pynn_gru_cell_bwd_f64(n, hidden, &acts[0, 0], &h_prev[0, 0], &dh[0, 0], &dgi[0, 0],
                                  &dgh[0, 0], &dh_prev[0, 0], n_threads)
