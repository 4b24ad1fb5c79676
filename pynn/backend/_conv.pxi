# Cython wrappers of csrc/im2col.c and csrc/conv.c: NCHW C-contiguous arrays, GIL released.

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


cdef str buffer_sizes(const floating[:, :, :, ::1] x, tuple k, tuple out_hw):
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


def conv2d_forward(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
                   const floating[::1] b, tuple k, tuple s, tuple p, tuple d, tuple out_hw,
                   bint relu, tuple pool, floating[:, :, :, ::1] y, int64_t[:, :, :, ::1] idx,
                   int isa, int n_threads):
    """y := relu?(conv) of shape (N, O) + out_hw, or with pool = (kernel, stride, padding)
    that output max-pooled, its argmax in idx (same shape as y)."""
    cdef pynn_conv_geom g = make_geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, out_hw)
    cdef pynn_pool_geom pg
    cdef const pynn_pool_geom *pool_ptr = NULL
    cdef int64_t *idx_ptr = NULL
    cdef const floating *bias = NULL
    cdef int status
    if y.size == 0:
        return
    if b is not None:  # (a conditional expression here would drop the const: a C warning)
        bias = &b[0]
    if pool is not None:
        pg = pool_geom(out_hw, pool, y.shape[2], y.shape[3])
        pool_ptr = &pg
        idx_ptr = &idx[0, 0, 0, 0]
    with nogil:
        if floating is float:
            status = pynn_conv2d_fwd_f32(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         bias, relu, pool_ptr, &y[0, 0, 0, 0], idx_ptr, isa,
                                         n_threads)
        else:
            status = pynn_conv2d_fwd_f64(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         bias, relu, pool_ptr, &y[0, 0, 0, 0], idx_ptr, isa,
                                         n_threads)
    if status != PYNN_OK:
        raise MemoryError("conv2d_forward: out of memory for the column buffer"
                          + buffer_sizes(x, k, out_hw))


def conv2d_backward(const floating[:, :, :, ::1] x, const floating[:, ::1] w,
                    const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] relu_y,
                    tuple k, tuple s, tuple p, tuple d, tuple out_hw, tuple pool,
                    const int64_t[:, :, :, ::1] idx, floating[:, :, :, ::1] dx,
                    floating[:, ::1] dw, floating[::1] db, int isa, int n_threads):
    """Gradients of conv2d_forward; with pool, dy is the pooled output's gradient and idx its
    argmax; with relu_y (the forward's output), dy passes where relu_y > 0. Returns False if
    an index lies outside its plane."""
    cdef pynn_conv_geom g = make_geom(x.shape[1], x.shape[2], x.shape[3], k, s, p, d, out_hw)
    cdef pynn_pool_geom pg
    cdef const pynn_pool_geom *pool_ptr = NULL
    cdef const int64_t *idx_ptr = NULL
    cdef floating *dx_ptr = NULL if dx is None else &dx[0, 0, 0, 0]
    cdef floating *db_ptr = NULL if db is None else &db[0]
    cdef const floating *relu_ptr = NULL
    cdef int status
    if relu_y is not None:
        relu_ptr = &relu_y[0, 0, 0, 0]
    if pool is not None:
        pg = pool_geom(out_hw, pool, dy.shape[2], dy.shape[3])
        pool_ptr = &pg
        idx_ptr = &idx[0, 0, 0, 0]
    with nogil:
        if floating is float:
            status = pynn_conv2d_bwd_f32(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         pool_ptr, &dy[0, 0, 0, 0], relu_ptr, idx_ptr, dx_ptr,
                                         &dw[0, 0], db_ptr, isa, n_threads)
        else:
            status = pynn_conv2d_bwd_f64(&g, x.shape[0], w.shape[0], &x[0, 0, 0, 0], &w[0, 0],
                                         pool_ptr, &dy[0, 0, 0, 0], relu_ptr, idx_ptr, dx_ptr,
                                         &dw[0, 0], db_ptr, isa, n_threads)
    if status == PYNN_ERR_NOMEM:
        raise MemoryError("conv2d_backward: out of memory for the column buffers"
                          + buffer_sizes(x, k, out_hw))
    return status == PYNN_OK
