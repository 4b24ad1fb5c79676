# Cython wrappers of csrc/pool.c: NCHW C-contiguous arrays, GIL released.

cdef pynn_pool_geom planes_geom(Py_ssize_t planes, Py_ssize_t h, Py_ssize_t w, Py_ssize_t oh,
                              Py_ssize_t ow, tuple k, tuple s, tuple p):
    cdef pynn_pool_geom g
    g.planes, g.h, g.w, g.oh, g.ow = planes, h, w, oh, ow
    g.kh, g.kw = k
    g.sh, g.sw = s
    g.ph, g.pw = p
    return g


def max_pool2d_forward(const floating[:, :, :, ::1] x, tuple k, tuple s, tuple p,
                       floating[:, :, :, ::1] y, int64_t[:, :, :, ::1] idx, int n_threads):
    cdef pynn_pool_geom g = planes_geom(
        x.shape[0] * x.shape[1], x.shape[2], x.shape[3], y.shape[2], y.shape[3], k, s, p)
    if y.size == 0:
        return
    with nogil:
        if floating is float:
            pynn_maxpool2d_fwd_f32(&g, &x[0, 0, 0, 0], &y[0, 0, 0, 0], &idx[0, 0, 0, 0],
                                   n_threads)
        else:
            pynn_maxpool2d_fwd_f64(&g, &x[0, 0, 0, 0], &y[0, 0, 0, 0], &idx[0, 0, 0, 0],
                                   n_threads)


def max_pool2d_backward(const floating[:, :, :, ::1] dy, const int64_t[:, :, :, ::1] idx,
                        floating[:, :, :, ::1] dx, int n_threads):
    """Returns False if an index lies outside its plane (dx then holds garbage)."""
    cdef pynn_pool_geom g = planes_geom(
        dx.shape[0] * dx.shape[1], dx.shape[2], dx.shape[3], dy.shape[2], dy.shape[3],
        (1, 1), (1, 1), (0, 0))
    cdef int status = PYNN_OK
    if dx.size == 0:
        return True
    with nogil:
        if floating is float:
            status = pynn_maxpool2d_bwd_f32(&g, &dy[0, 0, 0, 0], &idx[0, 0, 0, 0],
                                            &dx[0, 0, 0, 0], n_threads)
        else:
            status = pynn_maxpool2d_bwd_f64(&g, &dy[0, 0, 0, 0], &idx[0, 0, 0, 0],
                                            &dx[0, 0, 0, 0], n_threads)
    return status == PYNN_OK


def avg_pool2d_forward(const floating[:, :, :, ::1] x, tuple k, tuple s, tuple p,
                       bint count_include_pad, floating[:, :, :, ::1] y, int n_threads):
    cdef pynn_pool_geom g = planes_geom(
        x.shape[0] * x.shape[1], x.shape[2], x.shape[3], y.shape[2], y.shape[3], k, s, p)
    if y.size == 0:
        return
    with nogil:
        if floating is float:
            pynn_avgpool2d_fwd_f32(&g, &x[0, 0, 0, 0], count_include_pad, &y[0, 0, 0, 0],
                                   n_threads)
        else:
            pynn_avgpool2d_fwd_f64(&g, &x[0, 0, 0, 0], count_include_pad, &y[0, 0, 0, 0],
                                   n_threads)


def avg_pool2d_backward(const floating[:, :, :, ::1] dy, tuple k, tuple s, tuple p,
                        bint count_include_pad, floating[:, :, :, ::1] dx, int n_threads):
    cdef pynn_pool_geom g = planes_geom(
        dx.shape[0] * dx.shape[1], dx.shape[2], dx.shape[3], dy.shape[2], dy.shape[3], k, s, p)
    if dx.size == 0:
        return
    with nogil:
        if floating is float:
            pynn_avgpool2d_bwd_f32(&g, &dy[0, 0, 0, 0], count_include_pad, &dx[0, 0, 0, 0],
                                   n_threads)
        else:
            pynn_avgpool2d_bwd_f64(&g, &dy[0, 0, 0, 0], count_include_pad, &dx[0, 0, 0, 0],
                                   n_threads)
