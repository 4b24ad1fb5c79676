"""Cython wrappers of csrc/elementwise.c: reductions and fused optimiser updates on flat
C-contiguous arrays, GIL released."""
from cython cimport floating
from pynn.backend._kernels cimport *


def bias_grad(const floating[:, :, ::1] dy, floating[::1] db, int n_threads):
    """dy viewed as (outer, channels, inner); db (channels,) := its sum over outer and inner."""
    if db.shape[0] == 0:
        return
    if dy.shape[0] == 0 or dy.shape[2] == 0:
        db[:] = 0
        return
    with nogil:
        if floating is float:
            pynn_bias_grad_f32(dy.shape[0], dy.shape[1], dy.shape[2], &dy[0, 0, 0], &db[0],
                               n_threads)
        else:
            pynn_bias_grad_f64(dy.shape[0], dy.shape[1], dy.shape[2], &dy[0, 0, 0], &db[0],
                               n_threads)


def sgd_step(floating[::1] param, const floating[::1] grad, floating[::1] buf, double lr,
             double momentum, double dampening, double weight_decay, bint nesterov,
             bint maximize, bint first_step, int n_threads):
    cdef pynn_sgd_hyper h
    h.lr, h.momentum, h.dampening, h.weight_decay = lr, momentum, dampening, weight_decay
    h.nesterov, h.maximize, h.first_step = nesterov, maximize, first_step
    if param.shape[0] == 0:
        return
    cdef floating *buf_ptr = NULL if buf is None else &buf[0]
    with nogil:
        if floating is float:
            pynn_sgd_step_f32(param.shape[0], &param[0], &grad[0], buf_ptr, &h, n_threads)
        else:
            pynn_sgd_step_f64(param.shape[0], &param[0], &grad[0], buf_ptr, &h, n_threads)


def adam_step(floating[::1] param, const floating[::1] grad, floating[::1] exp_avg,
              floating[::1] exp_avg_sq, floating[::1] max_exp_avg_sq, long long step,
              double lr, double beta1, double beta2, double eps, double weight_decay,
              bint decoupled_weight_decay, bint maximize, int n_threads):
    cdef pynn_adam_hyper h
    h.lr, h.beta1, h.beta2, h.eps, h.weight_decay = lr, beta1, beta2, eps, weight_decay
    h.step, h.decoupled_weight_decay, h.maximize = step, decoupled_weight_decay, maximize
    if param.shape[0] == 0:
        return
    cdef floating *max_ptr = NULL if max_exp_avg_sq is None else &max_exp_avg_sq[0]
    with nogil:
        if floating is float:
            pynn_adam_step_f32(param.shape[0], &param[0], &grad[0], &exp_avg[0],
                               &exp_avg_sq[0], max_ptr, &h, n_threads)
        else:
            pynn_adam_step_f64(param.shape[0], &param[0], &grad[0], &exp_avg[0],
                               &exp_avg_sq[0], max_ptr, &h, n_threads)


def rmsprop_step(floating[::1] param, const floating[::1] grad, floating[::1] square_avg,
                 floating[::1] momentum_buffer, floating[::1] grad_avg, double lr,
                 double alpha, double eps, double weight_decay, double momentum,
                 bint centered, bint maximize, int n_threads):
    cdef pynn_rmsprop_hyper h
    h.lr, h.alpha, h.eps, h.weight_decay, h.momentum = lr, alpha, eps, weight_decay, momentum
    h.centered, h.maximize = centered, maximize
    if param.shape[0] == 0:
        return
    cdef floating *buf_ptr = NULL if momentum_buffer is None else &momentum_buffer[0]
    cdef floating *avg_ptr = NULL if grad_avg is None else &grad_avg[0]
    with nogil:
        if floating is float:
            pynn_rmsprop_step_f32(param.shape[0], &param[0], &grad[0], &square_avg[0],
                                  buf_ptr, avg_ptr, &h, n_threads)
        else:
            pynn_rmsprop_step_f64(param.shape[0], &param[0], &grad[0], &square_avg[0],
                                  buf_ptr, avg_ptr, &h, n_threads)
