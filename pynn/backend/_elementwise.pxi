# Cython wrapper of csrc/elementwise.c's bias gradient, GIL released, run by the kernels built
# for the ISA given (see _buffers.pxi for how arrays are taken and when an argument is
# refused): by hand, for its axis. The optimiser updates are in the kernel table.

def bias_grad(dy, int axis, int isa, int n_threads):
    """A new array (channels,): the sum of dy (C-contiguous, at least 1-D) over every axis but
    ``axis``, which must be in range; Refused when dy is not valid."""
    cdef const pynn_elementwise_desc *k = pynn_elementwise_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t outer = 1, inner = 1, channels
    cdef int i, d
    try:
        i = acquire(&vs, dy)
        if i < 0 or not -vs.view[i].ndim <= axis < vs.view[i].ndim:
            raise Refused
        if axis < 0:  # (C division: % would keep the sign)
            axis += vs.view[0].ndim
        for d in range(vs.view[0].ndim):
            if d < axis:
                outer *= vs.view[0].shape[d]
            elif d > axis:
                inner *= vs.view[0].shape[d]
        channels = vs.view[0].shape[axis]
        db = new_output(&vs, 1, &vs.view[0].shape[axis], vs.view[0].itemsize)
        with nogil:
            if channels == 0:
                pass
            elif outer == 0 or inner == 0:
                memset(vs.view[1].buf, 0, vs.view[1].len)
            elif vs.view[0].itemsize == 4:
                k.bias_grad_f32(outer, channels, inner, <const float *>vs.view[0].buf,
                                <float *>vs.view[1].buf, n_threads)
            else:
                k.bias_grad_f64(outer, channels, inner, <const double *>vs.view[0].buf,
                                <double *>vs.view[1].buf, n_threads)
        return db
    finally:
        release_all(&vs)
