# Cython wrappers of csrc/activation.c, GIL released: one entry for the forward passes and
# one for the backward passes, the activation chosen by its code and run by the kernels built
# for the ISA given (see _buffers.pxi for how arrays are taken and when refused).

# Activation codes (GELU_TANH is GELU's tanh approximation); `param` is leaky ReLU's slope.
cdef enum:
    ACT_RELU, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH, ACT_GELU, ACT_GELU_TANH

RELU, LEAKY_RELU, SIGMOID, TANH = ACT_RELU, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH
GELU, GELU_TANH = ACT_GELU, ACT_GELU_TANH


cdef void run_forward(int act, int64_t n, const floating *x, double param, floating *y,
                      int isa, int n_threads) noexcept nogil:
    cdef const pynn_activation_desc *k = pynn_activation_kernels(isa)
    if floating is float:
        if act == ACT_RELU:
            k.relu_fwd_f32(n, x, y, n_threads)
        elif act == ACT_LEAKY_RELU:
            k.leaky_relu_fwd_f32(n, x, param, y, n_threads)
        elif act == ACT_SIGMOID:
            k.sigmoid_fwd_f32(n, x, y, n_threads)
        elif act == ACT_TANH:
            k.tanh_fwd_f32(n, x, y, n_threads)
        else:
            k.gelu_fwd_f32(n, x, act == ACT_GELU_TANH, y, n_threads)
    else:
        if act == ACT_RELU:
            k.relu_fwd_f64(n, x, y, n_threads)
        elif act == ACT_LEAKY_RELU:
            k.leaky_relu_fwd_f64(n, x, param, y, n_threads)
        elif act == ACT_SIGMOID:
            k.sigmoid_fwd_f64(n, x, y, n_threads)
        elif act == ACT_TANH:
            k.tanh_fwd_f64(n, x, y, n_threads)
        else:
            k.gelu_fwd_f64(n, x, act == ACT_GELU_TANH, y, n_threads)


cdef void run_backward(int act, int64_t n, const floating *a, const floating *dy,
                       double param, floating *dx, int isa, int n_threads) noexcept nogil:
    # `a` is what the gradient is computed from: the output y for ReLU, sigmoid and tanh,
    # the input x for leaky ReLU and GELU.
    cdef const pynn_activation_desc *k = pynn_activation_kernels(isa)
    if floating is float:
        if act == ACT_RELU:
            k.relu_bwd_f32(n, a, dy, dx, n_threads)
        elif act == ACT_LEAKY_RELU:
            k.leaky_relu_bwd_f32(n, a, dy, param, dx, n_threads)
        elif act == ACT_SIGMOID:
            k.sigmoid_bwd_f32(n, a, dy, dx, n_threads)
        elif act == ACT_TANH:
            k.tanh_bwd_f32(n, a, dy, dx, n_threads)
        else:
            k.gelu_bwd_f32(n, a, dy, act == ACT_GELU_TANH, dx, n_threads)
    else:
        if act == ACT_RELU:
            k.relu_bwd_f64(n, a, dy, dx, n_threads)
        elif act == ACT_LEAKY_RELU:
            k.leaky_relu_bwd_f64(n, a, dy, param, dx, n_threads)
        elif act == ACT_SIGMOID:
            k.sigmoid_bwd_f64(n, a, dy, dx, n_threads)
        elif act == ACT_TANH:
            k.tanh_bwd_f64(n, a, dy, dx, n_threads)
        else:
            k.gelu_bwd_f64(n, a, dy, act == ACT_GELU_TANH, dx, n_threads)


def activation_forward(int act, x, double param, int isa, int n_threads):
    """A new array ``act(x)`` for x of any shape, C-contiguous; Refused when x is not
    valid."""
    cdef Views vs
    vs.n = 0
    cdef int i
    cdef int64_t n
    try:
        i = acquire(&vs, x)
        if i < 0:
            raise Refused
        y = new_like(&vs, 0)
        n = elements(&vs.view[0])
        with nogil:
            if n == 0:
                pass
            elif vs.view[0].itemsize == 4:
                run_forward(act, n, <const float *>vs.view[0].buf, param,
                            <float *>vs.view[1].buf, isa, n_threads)
            else:
                run_forward(act, n, <const double *>vs.view[0].buf, param,
                            <double *>vs.view[1].buf, isa, n_threads)
        return y
    finally:
        release_all(&vs)


def activation_backward(int act, a, dy, double param, int isa, int n_threads):
    """A new array, the gradient of ``act`` at ``a`` (see run_backward) given ``dy``, both
    C-contiguous and of one shape and dtype; Refused otherwise."""
    cdef Views vs
    vs.n = 0
    cdef int i
    cdef int64_t n
    try:
        i = acquire(&vs, a)
        if i < 0 or acquire_like(&vs, dy, &vs.view[i]) < 0:
            raise Refused
        dx = new_like(&vs, 0)
        n = elements(&vs.view[0])
        with nogil:
            if n == 0:
                pass
            elif vs.view[0].itemsize == 4:
                run_backward(act, n, <const float *>vs.view[0].buf,
                             <const float *>vs.view[1].buf, param, <float *>vs.view[2].buf,
                             isa, n_threads)
            else:
                run_backward(act, n, <const double *>vs.view[0].buf,
                             <const double *>vs.view[1].buf, param, <double *>vs.view[2].buf,
                             isa, n_threads)
        return dx
    finally:
        release_all(&vs)
