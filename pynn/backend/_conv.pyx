"""Cython wrappers of csrc/im2col.c and csrc/conv.c: NCHW C-contiguous arrays, GIL released."""
from cython cimport floating
from pynn.backend._kernels cimport *


cdef pynn_conv_geom make_geom(Py_ssize_t c, Py_ssize_t h, Py_ssize_t w, tuple k, tuple s,
                              tuple p, tuple d, tuple out_hw):
    cdef pynn_conv_geom g
    g.c, g.h, g.w = c, h, w
    g.kh, g.kw = k
    g.sh, g.sw = s
    g.ph, g.pw = p
    g.dh, g.dw = d
    g.oh, g.ow = out_hw
    return g


def im2col(const floating[:, :, :, ::1] x, tuple k, tuple s, tuple p, tuple d, tuple out_hw,
           floating[:, :, ::1] cols, int n_threads):
    cdef pynn_conv_geom g = make_geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, out_hw)
    if cols.size == 0:
        return
    with nogil:
        if floating is float:
            pynn_im2col_batch_f32(&g, x.shape[0], &x[0, 0, 0, 0], &cols[0, 0, 0], n_threads)
        else:
            pynn_im2col_batch_f64(&g, x.shape[0], &x[0, 0, 0, 0], &cols[0, 0, 0], n_threads)


def col2im(const floating[:, :, ::1] cols, tuple k, tuple s, tuple p, tuple d, tuple out_hw,
           floating[:, :, :, ::1] x, int n_threads):
    cdef pynn_conv_geom g = make_geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, out_hw)
    if x.size == 0:
        return
    if cols.size == 0:  # no channels or windows: nothing scatters into x
        x[...] = 0
        return
    with nogil:
        if floating is float:
            pynn_col2im_batch_f32(&g, x.shape[0], &cols[0, 0, 0], &x[0, 0, 0, 0], n_threads)
        else:
            pynn_col2im_batch_f64(&g, x.shape[0], &cols[0, 0, 0], &x[0, 0, 0, 0], n_threads)


def conv2d_forward(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
                   const floating[::1] b, tuple k, tuple s, tuple p, tuple d, bint relu,
                   floating[:, :, :, ::1] y, int isa, int n_threads):
    cdef pynn_conv_geom g = make_geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d,
                                      (y.shape[2], y.shape[3]))
    cdef const floating *bias = NULL if b is None else &b[0]
    cdef int status
    if y.size == 0:
        return
    with nogil:
        if floating is float:
            status = pynn_conv2d_fwd_f32(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         bias, relu, &y[0, 0, 0, 0], isa, n_threads)
        else:
            status = pynn_conv2d_fwd_f64(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         bias, relu, &y[0, 0, 0, 0], isa, n_threads)
    if status != PYNN_OK:
        raise MemoryError("conv2d_forward: out of memory for the column buffer")


def conv2d_backward(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
                    const floating[:, :, :, ::1] dy, tuple k, tuple s, tuple p, tuple d,
                    floating[:, :, :, ::1] dx, floating[:, ::1] dw, floating[::1] db,
                    int isa, int n_threads):
    cdef pynn_conv_geom g = make_geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d,
                                      (dy.shape[2], dy.shape[3]))
    cdef floating *dx_ptr = NULL if dx is None else &dx[0, 0, 0, 0]
    cdef floating *db_ptr = NULL if db is None else &db[0]
    cdef int status
    with nogil:
        if floating is float:
            status = pynn_conv2d_bwd_f32(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         &dy[0, 0, 0, 0], dx_ptr, &dw[0, 0], db_ptr, isa,
                                         n_threads)
        else:
            status = pynn_conv2d_bwd_f64(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         &dy[0, 0, 0, 0], dx_ptr, &dw[0, 0], db_ptr, isa,
                                         n_threads)
    if status != PYNN_OK:
        raise MemoryError("conv2d_backward: out of memory for the column buffers")
