# Cython wrappers of csrc/rnn.c, GIL released: one recurrent cell step on C-contiguous
# (N, k * H) arrays of one dtype, outputs allocated here, run by the kernels built for the ISA
# given (see _buffers.pxi for how arrays are taken and when refused).

cdef int acquire_matrix(Views *vs, object obj, Py_ssize_t itemsize, Py_ssize_t rows,
                        Py_ssize_t cols) except -2:
    """As ``acquire``, and -1 also unless ``obj`` is C-contiguous, (rows, cols) and of the
    element size given."""
    cdef int i = acquire(vs, obj)
    if i < 0:
        return -1
    cdef const Py_buffer *v = &vs.view[i]
    if v.itemsize != itemsize or v.ndim != 2 or v.shape[0] != rows or v.shape[1] != cols:
        return -1
    return i


cdef int acquire_cell(Views *vs, object first, int width, states) except -2:
    """Views of a cell's inputs: ``first`` (N, width * H), C-contiguous, then each of
    ``states`` (N, H) of its dtype. Returns H, or -1 when any is refused."""
    cdef int i = acquire(vs, first)
    if i < 0 or vs.view[i].ndim != 2 or vs.view[i].shape[1] % width:
        return -1
    cdef Py_ssize_t n = vs.view[i].shape[0], hidden = vs.view[i].shape[1] // width
    for state in states:
        if acquire_matrix(vs, state, vs.view[i].itemsize, n, hidden) < 0:
            return -1
    return hidden


def lstm_cell_forward(gates, c_prev, int isa, int n_threads):
    """gates (N, 4H), c_prev (N, H) -> ``(h, c, acts)``, acts (N, 5H); Refused when an
    array is not valid."""
    cdef const pynn_rnn_desc *k = pynn_rnn_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t n, hidden
    try:
        hidden = acquire_cell(&vs, gates, 4, (c_prev,))
        if hidden < 0:
            raise Refused
        n = vs.view[0].shape[0]
        h = new_matrix(&vs, n, hidden, vs.view[0].itemsize)
        c = new_matrix(&vs, n, hidden, vs.view[0].itemsize)
        acts = new_matrix(&vs, n, 5 * hidden, vs.view[0].itemsize)
        with nogil:
            if n == 0 or hidden == 0:
                pass
            elif vs.view[0].itemsize == 4:
                k.lstm_cell_fwd_f32(n, hidden, <const float *>vs.view[0].buf,
                                    <const float *>vs.view[1].buf, <float *>vs.view[2].buf,
                                    <float *>vs.view[3].buf, <float *>vs.view[4].buf, n_threads)
            else:
                k.lstm_cell_fwd_f64(n, hidden, <const double *>vs.view[0].buf,
                                    <const double *>vs.view[1].buf, <double *>vs.view[2].buf,
                                    <double *>vs.view[3].buf, <double *>vs.view[4].buf,
                                    n_threads)
        return h, c, acts
    finally:
        release_all(&vs)


def lstm_cell_backward(acts, c_prev, dh, dc, int isa, int n_threads):
    """acts (N, 5H), c_prev, dh and dc (None: zero) (N, H) -> ``(dgates, dc_prev)``; Refused when an
    array is not valid."""
    cdef const pynn_rnn_desc *k = pynn_rnn_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t n, hidden
    cdef int i
    cdef const void *dc_p = NULL
    try:
        hidden = acquire_cell(&vs, acts, 5, (c_prev, dh) if dc is None else (c_prev, dh, dc))
        if hidden < 0:
            raise Refused
        n = vs.view[0].shape[0]
        if dc is not None:
            dc_p = vs.view[3].buf
        i = vs.n
        dgates = new_matrix(&vs, n, 4 * hidden, vs.view[0].itemsize)
        dc_prev = new_matrix(&vs, n, hidden, vs.view[0].itemsize)
        with nogil:
            if n == 0 or hidden == 0:
                pass
            elif vs.view[0].itemsize == 4:
                k.lstm_cell_bwd_f32(n, hidden, <const float *>vs.view[0].buf,
                                    <const float *>vs.view[1].buf, <const float *>vs.view[2].buf,
                                    <const float *>dc_p, <float *>vs.view[i].buf,
                                    <float *>vs.view[i + 1].buf, n_threads)
            else:
                k.lstm_cell_bwd_f64(n, hidden, <const double *>vs.view[0].buf,
                                    <const double *>vs.view[1].buf,
                                    <const double *>vs.view[2].buf, <const double *>dc_p,
                                    <double *>vs.view[i].buf, <double *>vs.view[i + 1].buf,
                                    n_threads)
        return dgates, dc_prev
    finally:
        release_all(&vs)


def gru_cell_forward(gi, gh, h_prev, int isa, int n_threads):
    """gi and gh (N, 3H), h_prev (N, H) -> ``(h, acts)``, acts (N, 4H); Refused when an
    array is not valid."""
    cdef const pynn_rnn_desc *k = pynn_rnn_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t n, hidden
    try:
        hidden = acquire_cell(&vs, gi, 3, (h_prev,))
        if hidden < 0 or acquire_matrix(&vs, gh, vs.view[0].itemsize, vs.view[0].shape[0],
                                        3 * hidden) < 0:
            raise Refused
        n = vs.view[0].shape[0]
        h = new_matrix(&vs, n, hidden, vs.view[0].itemsize)
        acts = new_matrix(&vs, n, 4 * hidden, vs.view[0].itemsize)
        with nogil:
            if n == 0 or hidden == 0:
                pass
            elif vs.view[0].itemsize == 4:
                k.gru_cell_fwd_f32(n, hidden, <const float *>vs.view[0].buf,
                                   <const float *>vs.view[2].buf, <const float *>vs.view[1].buf,
                                   <float *>vs.view[3].buf, <float *>vs.view[4].buf, n_threads)
            else:
                k.gru_cell_fwd_f64(n, hidden, <const double *>vs.view[0].buf,
                                   <const double *>vs.view[2].buf,
                                   <const double *>vs.view[1].buf, <double *>vs.view[3].buf,
                                   <double *>vs.view[4].buf, n_threads)
        return h, acts
    finally:
        release_all(&vs)


def gru_cell_backward(acts, h_prev, dh, int isa, int n_threads):
    """acts (N, 4H), h_prev and dh (N, H) -> ``(dgi, dgh, dh_prev)``; Refused when an
    array is not valid."""
    cdef const pynn_rnn_desc *k = pynn_rnn_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t n, hidden
    try:
        hidden = acquire_cell(&vs, acts, 4, (h_prev, dh))
        if hidden < 0:
            raise Refused
        n = vs.view[0].shape[0]
        dgi = new_matrix(&vs, n, 3 * hidden, vs.view[0].itemsize)
        dgh = new_matrix(&vs, n, 3 * hidden, vs.view[0].itemsize)
        dh_prev = new_matrix(&vs, n, hidden, vs.view[0].itemsize)
        with nogil:
            if n == 0 or hidden == 0:
                pass
            elif vs.view[0].itemsize == 4:
                k.gru_cell_bwd_f32(n, hidden, <const float *>vs.view[0].buf,
                                   <const float *>vs.view[1].buf, <const float *>vs.view[2].buf,
                                   <float *>vs.view[3].buf, <float *>vs.view[4].buf,
                                   <float *>vs.view[5].buf, n_threads)
            else:
                k.gru_cell_bwd_f64(n, hidden, <const double *>vs.view[0].buf,
                                   <const double *>vs.view[1].buf,
                                   <const double *>vs.view[2].buf, <double *>vs.view[3].buf,
                                   <double *>vs.view[4].buf, <double *>vs.view[5].buf,
                                   n_threads)
        return dgi, dgh, dh_prev
    finally:
        release_all(&vs)
