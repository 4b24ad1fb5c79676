# Cython wrappers of csrc/elementwise.c: bias gradients and fused optimiser updates, GIL
# released, run by the kernels built for the ISA given (see _buffers.pxi for how arrays are taken
# and when an argument is refused).

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


cdef int acquire_update(Views *vs, param, grad, states, void **state_data) except -2:
    """Views of an update's arrays: param (writeable, C-contiguous), grad (param's shape and
    dtype, copied to C order if need be), and each array of ``states`` (None, or as param),
    whose data goes to ``state_data[k]`` (NULL for None). Returns 0, or -1 when any is
    refused."""
    i = acquire_written(vs, param)
    if i < 0 or not c_contiguous(&vs.view[i]):
        return -1
    if acquire_like(vs, grad, &vs.view[0]) < 0:
        return -1
    for k, state in enumerate(states):
        state_data[k] = NULL
        if state is not None:
            i = acquire_written_like(vs, state, &vs.view[0])
            if i < 0:
                return -1
            state_data[k] = vs.view[i].buf
    return 0


def sgd_step(param, grad, buf, double lr, double momentum, double dampening,
             double weight_decay, bint nesterov, bint maximize, bint first_step,
             int isa, int n_threads):
    """One SGD update of param in place; buf is the momentum buffer (used when momentum !=
    0) or None. True; Refused when an array is
    not valid."""
    cdef pynn_sgd_hyper h
    h.lr, h.momentum, h.dampening, h.weight_decay = lr, momentum, dampening, weight_decay
    h.nesterov, h.maximize, h.first_step = nesterov, maximize, first_step
    cdef const pynn_elementwise_desc *k = pynn_elementwise_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t n
    cdef void *state[3]
    try:
        if acquire_update(&vs, param, grad, (buf,), state) < 0:
            raise Refused
        n = elements(&vs.view[0])
        if momentum == 0:
            state[0] = NULL
        with nogil:
            if n == 0:
                pass
            elif vs.view[0].itemsize == 4:
                k.sgd_step_f32(n, <float *>vs.view[0].buf, <const float *>vs.view[1].buf,
                               <float *>state[0], &h, n_threads)
            else:
                k.sgd_step_f64(n, <double *>vs.view[0].buf, <const double *>vs.view[1].buf,
                               <double *>state[0], &h, n_threads)
        return True
    finally:
        release_all(&vs)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, long long step, double lr,
              double beta1, double beta2, double eps, double weight_decay,
              bint decoupled_weight_decay, bint maximize, int isa, int n_threads):
    """One Adam/AdamW update of param in place; max_exp_avg_sq is None unless AMSGrad. True;
    Refused when an array is not valid."""
    cdef pynn_adam_hyper h
    h.lr, h.beta1, h.beta2, h.eps, h.weight_decay = lr, beta1, beta2, eps, weight_decay
    h.step, h.decoupled_weight_decay, h.maximize = step, decoupled_weight_decay, maximize
    cdef const pynn_elementwise_desc *k = pynn_elementwise_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t n
    cdef void *state[3]
    try:
        if exp_avg is None or exp_avg_sq is None or acquire_update(
                &vs, param, grad, (exp_avg, exp_avg_sq, max_exp_avg_sq), state) < 0:
            raise Refused
        n = elements(&vs.view[0])
        with nogil:
            if n == 0:
                pass
            elif vs.view[0].itemsize == 4:
                k.adam_step_f32(n, <float *>vs.view[0].buf, <const float *>vs.view[1].buf,
                                <float *>state[0], <float *>state[1], <float *>state[2],
                                &h, n_threads)
            else:
                k.adam_step_f64(n, <double *>vs.view[0].buf,
                                <const double *>vs.view[1].buf, <double *>state[0],
                                <double *>state[1], <double *>state[2], &h, n_threads)
        return True
    finally:
        release_all(&vs)


def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, double lr, double alpha,
                 double eps, double weight_decay, double momentum, bint centered,
                 bint maximize, int isa, int n_threads):
    """One RMSProp update of param in place; momentum_buffer (used when momentum != 0) and
    grad_avg (used when centered) may be None. True; Refused when an array is not
    valid."""
    cdef pynn_rmsprop_hyper h
    h.lr, h.alpha, h.eps, h.weight_decay, h.momentum = lr, alpha, eps, weight_decay, momentum
    h.centered, h.maximize = centered, maximize
    cdef const pynn_elementwise_desc *k = pynn_elementwise_kernels(isa)
    cdef Views vs
    vs.n = 0
    cdef int64_t n
    cdef void *state[3]
    try:
        if square_avg is None or acquire_update(
                &vs, param, grad, (square_avg, momentum_buffer, grad_avg), state) < 0:
            raise Refused
        n = elements(&vs.view[0])
        if momentum == 0:
            state[1] = NULL
        if not centered:
            state[2] = NULL
        with nogil:
            if n == 0:
                pass
            elif vs.view[0].itemsize == 4:
                k.rmsprop_step_f32(n, <float *>vs.view[0].buf,
                                   <const float *>vs.view[1].buf, <float *>state[0],
                                   <float *>state[1], <float *>state[2], &h, n_threads)
            else:
                k.rmsprop_step_f64(n, <double *>vs.view[0].buf,
                                   <const double *>vs.view[1].buf, <double *>state[0],
                                   <double *>state[1], <double *>state[2], &h, n_threads)
        return True
    finally:
        release_all(&vs)
