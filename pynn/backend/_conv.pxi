# Cython wrappers of csrc/im2col.c and csrc/conv.c: NCHW arrays checked by compiled.py, read
# through _buffers.pxi (C order, inputs copied once if need be), GIL released.

cdef pynn_conv_geom make_geom(const Py_buffer *x, tuple k, tuple s, tuple p, tuple d,
                              tuple out_hw):
    cdef pynn_conv_geom g
    g.c, g.h, g.w = x.shape[1], x.shape[2], x.shape[3]
    g.kh, g.kw = k
    g.sh, g.sw = s
    g.ph, g.pw = p
    g.dh, g.dw = d
    g.oh, g.ow = out_hw
    return g


def im2col(x, tuple k, tuple s, tuple p, tuple d, tuple out_hw, cols, int n_threads):
    cdef Views vs
    vs.n = 0
    cdef pynn_conv_geom g
    try:
        hold(&vs, x)
        hold(&vs, cols, True)
        g = make_geom(&vs.view[0], k, s, p, d, out_hw)
        if vs.view[1].len == 0:
            return
        with nogil:
            if vs.view[0].itemsize == 4:
                pynn_im2col_batch_f32(&g, vs.view[0].shape[0], <const float *>vs.view[0].buf,
                                      <float *>vs.view[1].buf, n_threads)
            else:
                pynn_im2col_batch_f64(&g, vs.view[0].shape[0], <const double *>vs.view[0].buf,
                                      <double *>vs.view[1].buf, n_threads)
    finally:
        release_all(&vs)


def col2im(cols, tuple k, tuple s, tuple p, tuple d, tuple out_hw, x, int n_threads):
    cdef Views vs
    vs.n = 0
    cdef pynn_conv_geom g
    try:
        hold(&vs, cols)
        hold(&vs, x, True)
        g = make_geom(&vs.view[1], k, s, p, d, out_hw)
        if vs.view[1].len == 0:
            return
        if vs.view[0].len == 0:  # no channels or windows: nothing scatters into x
            memset(vs.view[1].buf, 0, vs.view[1].len)
            return
        with nogil:
            if vs.view[0].itemsize == 4:
                pynn_col2im_batch_f32(&g, vs.view[1].shape[0], <const float *>vs.view[0].buf,
                                      <float *>vs.view[1].buf, n_threads)
            else:
                pynn_col2im_batch_f64(&g, vs.view[1].shape[0], <const double *>vs.view[0].buf,
                                      <double *>vs.view[1].buf, n_threads)
    finally:
        release_all(&vs)


cdef str buffer_sizes(const Py_buffer *x, tuple k, tuple out_hw):
    """What the buffers' sizes come from (a size that overflows int64 is reported as out of
    memory: no buffer can hold it)."""
    return (f" (x shape {(x.shape[0], x.shape[1], x.shape[2], x.shape[3])}, kernel {k}, "
            f"output size {out_hw})")


cdef pynn_pool_geom pool_geom(tuple conv_hw, tuple pool, Py_ssize_t oh, Py_ssize_t ow):
    """The max pooling of one convolution output plane: pool is (kernel, stride, padding)."""
    cdef pynn_pool_geom g
    g.planes = 1
    g.h, g.w = conv_hw
    g.oh, g.ow = oh, ow
    g.kh, g.kw = pool[0]
    g.sh, g.sw = pool[1]
    g.ph, g.pw = pool[2]
    return g


def conv2d_forward(x, w, b, tuple k, tuple s, tuple p, tuple d, tuple out_hw, bint relu,
                   tuple pool, y, idx, int isa, int n_threads):
    """y := relu?(conv) of shape (N, O) + out_hw, with w (O, C*kh*kw) and b (O,) or None;
    or with pool = (kernel, stride, padding) that output max-pooled, its argmax in idx (same
    shape as y)."""
    cdef Views vs
    vs.n = 0
    cdef pynn_conv_geom g
    cdef pynn_pool_geom pg
    cdef const pynn_pool_geom *pool_ptr = NULL
    cdef int status, ib, iy, ii
    cdef const Py_buffer *vx
    try:
        hold(&vs, x)
        hold(&vs, w)
        ib = hold(&vs, b)
        iy = hold(&vs, y, True)
        ii = hold(&vs, idx, True, True)
        vx = &vs.view[0]
        g = make_geom(vx, k, s, p, d, out_hw)
        if vs.view[iy].len == 0:
            return
        if pool is not None:
            pg = pool_geom(out_hw, pool, vs.view[iy].shape[2], vs.view[iy].shape[3])
            pool_ptr = &pg
        with nogil:
            if vx.itemsize == 4:
                status = pynn_conv2d_fwd_f32(
                    &g, vx.shape[0], vs.view[1].shape[0], <const float *>vx.buf,
                    <const float *>vs.view[1].buf, <const float *>data(&vs, ib), relu,
                    pool_ptr, <float *>vs.view[iy].buf, <int64_t *>data(&vs, ii), isa,
                    n_threads)
            else:
                status = pynn_conv2d_fwd_f64(
                    &g, vx.shape[0], vs.view[1].shape[0], <const double *>vx.buf,
                    <const double *>vs.view[1].buf, <const double *>data(&vs, ib), relu,
                    pool_ptr, <double *>vs.view[iy].buf, <int64_t *>data(&vs, ii), isa,
                    n_threads)
        if status != PYNN_OK:
            raise MemoryError("conv2d_forward: out of memory for the column buffer"
                              + buffer_sizes(vx, k, out_hw))
    finally:
        release_all(&vs)


def conv2d_backward(x, w, dy, relu_y, tuple k, tuple s, tuple p, tuple d, tuple out_hw,
                    tuple pool, idx, dx, dw, db, int isa, int n_threads):
    """Gradients of conv2d_forward into dx (or None), dw (O, C*kh*kw) and db (or None); with
    pool, dy is the pooled output's gradient and idx its argmax; with relu_y (the forward's
    output), dy passes where relu_y > 0. Returns False if an index lies outside its
    plane."""
    cdef Views vs
    vs.n = 0
    cdef pynn_conv_geom g
    cdef pynn_pool_geom pg
    cdef const pynn_pool_geom *pool_ptr = NULL
    cdef int status, idy, ir, ii, idx_, idw, idb
    cdef const Py_buffer *vx
    try:
        hold(&vs, x)
        hold(&vs, w)
        idy = hold(&vs, dy)
        ir = hold(&vs, relu_y)
        ii = hold(&vs, idx, False, True)
        idx_ = hold(&vs, dx, True)
        idw = hold(&vs, dw, True)
        idb = hold(&vs, db, True)
        vx = &vs.view[0]
        g = make_geom(vx, k, s, p, d, out_hw)
        if pool is not None:
            pg = pool_geom(out_hw, pool, vs.view[idy].shape[2], vs.view[idy].shape[3])
            pool_ptr = &pg
        with nogil:
            if vx.itemsize == 4:
                status = pynn_conv2d_bwd_f32(
                    &g, vx.shape[0], vs.view[1].shape[0], <const float *>vx.buf,
                    <const float *>vs.view[1].buf, pool_ptr, <const float *>vs.view[idy].buf,
                    <const float *>data(&vs, ir), <const int64_t *>data(&vs, ii),
                    <float *>data(&vs, idx_), <float *>vs.view[idw].buf,
                    <float *>data(&vs, idb), isa, n_threads)
            else:
                status = pynn_conv2d_bwd_f64(
                    &g, vx.shape[0], vs.view[1].shape[0], <const double *>vx.buf,
                    <const double *>vs.view[1].buf, pool_ptr, <const double *>vs.view[idy].buf,
                    <const double *>data(&vs, ir), <const int64_t *>data(&vs, ii),
                    <double *>data(&vs, idx_), <double *>vs.view[idw].buf,
                    <double *>data(&vs, idb), isa, n_threads)
        if status == PYNN_ERR_NOMEM:
            raise MemoryError("conv2d_backward: out of memory for the column buffers"
                              + buffer_sizes(vx, k, out_hw))
        return status == PYNN_OK
    finally:
        release_all(&vs)
