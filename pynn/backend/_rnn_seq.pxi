# Cython wrappers of csrc/rnn_seq.c, arrays checked by compiled.py (shapes, one float dtype,
# the arrays written C-contiguous and writeable) and read through _buffers.pxi. GIL released.


def lstm_sequence_forward(x, w_ih, w_hh, bias, hs, cs, acts, bint reverse, int isa,
                          int n_threads):
    cdef Views vs
    vs.n = 0
    cdef int status = PYNN_OK, ib, ihs, ics, ia
    cdef int64_t L, n, d, h
    try:
        hold(&vs, x)
        hold(&vs, w_ih)
        hold(&vs, w_hh)
        ib = hold(&vs, bias)
        ihs = hold(&vs, hs, True)
        ics = hold(&vs, cs, True)
        ia = hold(&vs, acts, True)
        L, n, d = vs.view[0].shape[0], vs.view[0].shape[1], vs.view[0].shape[2]
        h = vs.view[2].shape[1]
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_lstm_seq_fwd_f32(
                    L, n, d, h, <const float *>data(&vs, 0), <const float *>data(&vs, 1),
                    <const float *>data(&vs, 2), <const float *>data(&vs, ib),
                    <float *>data(&vs, ihs), <float *>data(&vs, ics), <float *>data(&vs, ia),
                    reverse, isa, n_threads)
            else:
                status = pynn_lstm_seq_fwd_f64(
                    L, n, d, h, <const double *>data(&vs, 0), <const double *>data(&vs, 1),
                    <const double *>data(&vs, 2), <const double *>data(&vs, ib),
                    <double *>data(&vs, ihs), <double *>data(&vs, ics), <double *>data(&vs, ia),
                    reverse, isa, n_threads)
        if status != PYNN_OK:
            raise MemoryError("lstm_sequence_forward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)


def lstm_sequence_backward(acts, cs, w_hh, dout, dc, dgates, dc0, dh0, bint reverse, int isa,
                           int n_threads):
    cdef Views vs
    vs.n = 0
    cdef int status = PYNN_OK, idc, idg, idc0, idh0
    cdef int64_t L, n, h
    try:
        hold(&vs, acts)
        hold(&vs, cs)
        hold(&vs, w_hh)
        hold(&vs, dout)
        idc = hold(&vs, dc)
        idg = hold(&vs, dgates, True)
        idc0 = hold(&vs, dc0, True)
        idh0 = hold(&vs, dh0, True)
        L, n, h = vs.view[3].shape[0], vs.view[3].shape[1], vs.view[3].shape[2]
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_lstm_seq_bwd_f32(
                    L, n, h, <const float *>data(&vs, 0), <const float *>data(&vs, 1),
                    <const float *>data(&vs, 2), <const float *>data(&vs, 3),
                    <const float *>data(&vs, idc), <float *>data(&vs, idg),
                    <float *>data(&vs, idc0), <float *>data(&vs, idh0), reverse, isa, n_threads)
            else:
                status = pynn_lstm_seq_bwd_f64(
                    L, n, h, <const double *>data(&vs, 0), <const double *>data(&vs, 1),
                    <const double *>data(&vs, 2), <const double *>data(&vs, 3),
                    <const double *>data(&vs, idc), <double *>data(&vs, idg),
                    <double *>data(&vs, idc0), <double *>data(&vs, idh0), reverse, isa,
                    n_threads)
        if status != PYNN_OK:
            raise MemoryError("lstm_sequence_backward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)


def gru_sequence_forward(x, w_ih, w_hh, b_ih, b_hh, hs, acts, bint reverse, int isa,
                         int n_threads):
    cdef Views vs
    vs.n = 0
    cdef int status = PYNN_OK, ibi, ibh, ihs, ia
    cdef int64_t L, n, d, h
    try:
        hold(&vs, x)
        hold(&vs, w_ih)
        hold(&vs, w_hh)
        ibi = hold(&vs, b_ih)
        ibh = hold(&vs, b_hh)
        ihs = hold(&vs, hs, True)
        ia = hold(&vs, acts, True)
        L, n, d = vs.view[0].shape[0], vs.view[0].shape[1], vs.view[0].shape[2]
        h = vs.view[2].shape[1]
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_gru_seq_fwd_f32(
                    L, n, d, h, <const float *>data(&vs, 0), <const float *>data(&vs, 1),
                    <const float *>data(&vs, 2), <const float *>data(&vs, ibi),
                    <const float *>data(&vs, ibh), <float *>data(&vs, ihs),
                    <float *>data(&vs, ia), reverse, isa, n_threads)
            else:
                status = pynn_gru_seq_fwd_f64(
                    L, n, d, h, <const double *>data(&vs, 0), <const double *>data(&vs, 1),
                    <const double *>data(&vs, 2), <const double *>data(&vs, ibi),
                    <const double *>data(&vs, ibh), <double *>data(&vs, ihs),
                    <double *>data(&vs, ia), reverse, isa, n_threads)
        if status != PYNN_OK:
            raise MemoryError("gru_sequence_forward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)


def gru_sequence_backward(acts, hs, w_hh, dout, dgi, dgh, dh0, bint reverse, int isa,
                          int n_threads):
    cdef Views vs
    vs.n = 0
    cdef int status = PYNN_OK, idgi, idgh, idh0
    cdef int64_t L, n, h
    try:
        hold(&vs, acts)
        hold(&vs, hs)
        hold(&vs, w_hh)
        hold(&vs, dout)
        idgi = hold(&vs, dgi, True)
        idgh = hold(&vs, dgh, True)
        idh0 = hold(&vs, dh0, True)
        L, n, h = vs.view[3].shape[0], vs.view[3].shape[1], vs.view[3].shape[2]
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_gru_seq_bwd_f32(
                    L, n, h, <const float *>data(&vs, 0), <const float *>data(&vs, 1),
                    <const float *>data(&vs, 2), <const float *>data(&vs, 3),
                    <float *>data(&vs, idgi), <float *>data(&vs, idgh), <float *>data(&vs, idh0),
                    reverse, isa, n_threads)
            else:
                status = pynn_gru_seq_bwd_f64(
                    L, n, h, <const double *>data(&vs, 0), <const double *>data(&vs, 1),
                    <const double *>data(&vs, 2), <const double *>data(&vs, 3),
                    <double *>data(&vs, idgi), <double *>data(&vs, idgh),
                    <double *>data(&vs, idh0), reverse, isa, n_threads)
        if status != PYNN_OK:
            raise MemoryError("gru_sequence_backward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)


def rnn_sequence_forward(x, w_ih, w_hh, bias, hs, bint relu, bint reverse, int isa,
                         int n_threads):
    cdef Views vs
    vs.n = 0
    cdef int status = PYNN_OK, ib, ihs
    cdef int64_t L, n, d, h
    try:
        hold(&vs, x)
        hold(&vs, w_ih)
        hold(&vs, w_hh)
        ib = hold(&vs, bias)
        ihs = hold(&vs, hs, True)
        L, n, d = vs.view[0].shape[0], vs.view[0].shape[1], vs.view[0].shape[2]
        h = vs.view[2].shape[1]
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_rnn_seq_fwd_f32(
                    L, n, d, h, <const float *>data(&vs, 0), <const float *>data(&vs, 1),
                    <const float *>data(&vs, 2), <const float *>data(&vs, ib),
                    <float *>data(&vs, ihs), relu, reverse, isa, n_threads)
            else:
                status = pynn_rnn_seq_fwd_f64(
                    L, n, d, h, <const double *>data(&vs, 0), <const double *>data(&vs, 1),
                    <const double *>data(&vs, 2), <const double *>data(&vs, ib),
                    <double *>data(&vs, ihs), relu, reverse, isa, n_threads)
        if status != PYNN_OK:
            raise MemoryError("rnn_sequence_forward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)


def rnn_sequence_backward(hs, w_hh, dout, dgates, dh0, bint relu, bint reverse, int isa,
                          int n_threads):
    cdef Views vs
    vs.n = 0
    cdef int status = PYNN_OK, idg, idh0
    cdef int64_t L, n, h
    try:
        hold(&vs, hs)
        hold(&vs, w_hh)
        hold(&vs, dout)
        idg = hold(&vs, dgates, True)
        idh0 = hold(&vs, dh0, True)
        L, n, h = vs.view[2].shape[0], vs.view[2].shape[1], vs.view[2].shape[2]
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_rnn_seq_bwd_f32(
                    L, n, h, <const float *>data(&vs, 0), <const float *>data(&vs, 1),
                    <const float *>data(&vs, 2), <float *>data(&vs, idg),
                    <float *>data(&vs, idh0), relu, reverse, isa, n_threads)
            else:
                status = pynn_rnn_seq_bwd_f64(
                    L, n, h, <const double *>data(&vs, 0), <const double *>data(&vs, 1),
                    <const double *>data(&vs, 2), <double *>data(&vs, idg),
                    <double *>data(&vs, idh0), relu, reverse, isa, n_threads)
        if status != PYNN_OK:
            raise MemoryError("rnn_sequence_backward: out of memory for the scratch buffers")
    finally:
        release_all(&vs)
