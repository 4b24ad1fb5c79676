"""Cython wrappers of csrc/activation.c: flat contiguous arrays in, GIL released."""
from cython cimport floating
from pynn.backend._kernels cimport *

# Each wrapper takes flat C-contiguous arrays of one dtype (checked by compiled.py) and the
# thread count; outputs are preallocated by the caller.


def relu_forward(const floating[::1] x, floating[::1] y, int n_threads):
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_relu_fwd_f32(x.shape[0], &x[0], &y[0], n_threads)
        else:
            pynn_relu_fwd_f64(x.shape[0], &x[0], &y[0], n_threads)


def relu_backward(const floating[::1] y, const floating[::1] dy, floating[::1] dx,
                  int n_threads):
    if y.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_relu_bwd_f32(y.shape[0], &y[0], &dy[0], &dx[0], n_threads)
        else:
            pynn_relu_bwd_f64(y.shape[0], &y[0], &dy[0], &dx[0], n_threads)


def leaky_relu_forward(const floating[::1] x, double slope, floating[::1] y, int n_threads):
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_leaky_relu_fwd_f32(x.shape[0], &x[0], slope, &y[0], n_threads)
        else:
            pynn_leaky_relu_fwd_f64(x.shape[0], &x[0], slope, &y[0], n_threads)


def leaky_relu_backward(const floating[::1] x, const floating[::1] dy, double slope,
                        floating[::1] dx, int n_threads):
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_leaky_relu_bwd_f32(x.shape[0], &x[0], &dy[0], slope, &dx[0], n_threads)
        else:
            pynn_leaky_relu_bwd_f64(x.shape[0], &x[0], &dy[0], slope, &dx[0], n_threads)


def sigmoid_forward(const floating[::1] x, floating[::1] y, int n_threads):
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_sigmoid_fwd_f32(x.shape[0], &x[0], &y[0], n_threads)
        else:
            pynn_sigmoid_fwd_f64(x.shape[0], &x[0], &y[0], n_threads)


def sigmoid_backward(const floating[::1] y, const floating[::1] dy, floating[::1] dx,
                     int n_threads):
    if y.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_sigmoid_bwd_f32(y.shape[0], &y[0], &dy[0], &dx[0], n_threads)
        else:
            pynn_sigmoid_bwd_f64(y.shape[0], &y[0], &dy[0], &dx[0], n_threads)


def tanh_forward(const floating[::1] x, floating[::1] y, int n_threads):
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_tanh_fwd_f32(x.shape[0], &x[0], &y[0], n_threads)
        else:
            pynn_tanh_fwd_f64(x.shape[0], &x[0], &y[0], n_threads)


def tanh_backward(const floating[::1] y, const floating[::1] dy, floating[::1] dx,
                  int n_threads):
    if y.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_tanh_bwd_f32(y.shape[0], &y[0], &dy[0], &dx[0], n_threads)
        else:
            pynn_tanh_bwd_f64(y.shape[0], &y[0], &dy[0], &dx[0], n_threads)


def gelu_forward(const floating[::1] x, bint approx_tanh, floating[::1] y, int n_threads):
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_gelu_fwd_f32(x.shape[0], &x[0], approx_tanh, &y[0], n_threads)
        else:
            pynn_gelu_fwd_f64(x.shape[0], &x[0], approx_tanh, &y[0], n_threads)


def gelu_backward(const floating[::1] x, const floating[::1] dy, bint approx_tanh,
                  floating[::1] dx, int n_threads):
    if x.shape[0] == 0:
        return
    with nogil:
        if floating is float:
            pynn_gelu_bwd_f32(x.shape[0], &x[0], &dy[0], approx_tanh, &dx[0], n_threads)
        else:
            pynn_gelu_bwd_f64(x.shape[0], &x[0], &dy[0], approx_tanh, &dx[0], n_threads)
