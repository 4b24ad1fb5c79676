# Cython wrappers of csrc/pool.c: NCHW arrays checked by compiled.py, read through
# _buffers.pxi (C order, inputs copied once if need be), GIL released.

cdef pynn_pool_geom planes_geom(const Py_buffer *x, const Py_buffer *y, tuple k, tuple s,
                                tuple p):
    """The pooling of x's planes into y's (N * C planes each)."""
    cdef pynn_pool_geom g
    g.planes = x.shape[0] * x.shape[1]
    g.h, g.w, g.oh, g.ow = x.shape[2], x.shape[3], y.shape[2], y.shape[3]
    g.kh, g.kw = k
    g.sh, g.sw = s
    g.ph, g.pw = p
    return g


def max_pool2d_forward(x, tuple k, tuple s, tuple p, y, idx, int isa, int n_threads):
    cdef Views vs
    vs.n = 0
    cdef pynn_pool_geom g
    try:
        hold(&vs, x)
        hold(&vs, y, True)
        hold(&vs, idx, True, True)
        g = planes_geom(&vs.view[0], &vs.view[1], k, s, p)
        if vs.view[1].len == 0:
            return
        with nogil:
            if vs.view[0].itemsize == 4:
                pynn_maxpool2d_fwd_f32(&g, <const float *>vs.view[0].buf,
                                       <float *>vs.view[1].buf, <int64_t *>vs.view[2].buf,
                                       isa, n_threads)
            else:
                pynn_maxpool2d_fwd_f64(&g, <const double *>vs.view[0].buf,
                                       <double *>vs.view[1].buf, <int64_t *>vs.view[2].buf,
                                       isa, n_threads)
    finally:
        release_all(&vs)


def max_pool2d_backward(dy, idx, dx, int n_threads):
    """Returns False if an index lies outside its plane (dx then holds garbage)."""
    cdef Views vs
    vs.n = 0
    cdef pynn_pool_geom g
    cdef int status = PYNN_OK
    try:
        hold(&vs, dy)
        hold(&vs, idx, False, True)
        hold(&vs, dx, True)
        g = planes_geom(&vs.view[2], &vs.view[0], (1, 1), (1, 1), (0, 0))
        if vs.view[2].len == 0:
            return True
        with nogil:
            if vs.view[0].itemsize == 4:
                status = pynn_maxpool2d_bwd_f32(&g, <const float *>vs.view[0].buf,
                                                <const int64_t *>vs.view[1].buf,
                                                <float *>vs.view[2].buf, n_threads)
            else:
                status = pynn_maxpool2d_bwd_f64(&g, <const double *>vs.view[0].buf,
                                                <const int64_t *>vs.view[1].buf,
                                                <double *>vs.view[2].buf, n_threads)
        return status == PYNN_OK
    finally:
        release_all(&vs)


def avg_pool2d_forward(x, tuple k, tuple s, tuple p, bint count_include_pad, y, int n_threads):
    cdef Views vs
    vs.n = 0
    cdef pynn_pool_geom g
    try:
        hold(&vs, x)
        hold(&vs, y, True)
        g = planes_geom(&vs.view[0], &vs.view[1], k, s, p)
        if vs.view[1].len == 0:
            return
        with nogil:
            if vs.view[0].itemsize == 4:
                pynn_avgpool2d_fwd_f32(&g, <const float *>vs.view[0].buf, count_include_pad,
                                       <float *>vs.view[1].buf, n_threads)
            else:
                pynn_avgpool2d_fwd_f64(&g, <const double *>vs.view[0].buf, count_include_pad,
                                       <double *>vs.view[1].buf, n_threads)
    finally:
        release_all(&vs)


def avg_pool2d_backward(dy, tuple k, tuple s, tuple p, bint count_include_pad, dx,
                        int n_threads):
    cdef Views vs
    vs.n = 0
    cdef pynn_pool_geom g
    try:
        hold(&vs, dy)
        hold(&vs, dx, True)
        g = planes_geom(&vs.view[1], &vs.view[0], k, s, p)
        if vs.view[1].len == 0:
            return
        with nogil:
            if vs.view[0].itemsize == 4:
                pynn_avgpool2d_bwd_f32(&g, <const float *>vs.view[0].buf, count_include_pad,
                                       <float *>vs.view[1].buf, n_threads)
            else:
                pynn_avgpool2d_bwd_f64(&g, <const double *>vs.view[0].buf, count_include_pad,
                                       <double *>vs.view[1].buf, n_threads)
    finally:
        release_all(&vs)
