"""GEMM: ``C := relu?(alpha * A B + beta * C + bias)`` in C (csrc/gemm.c), for float32 and
float64 operands of any strides."""
from cython cimport floating

from pynn.backend._kernels cimport PYNN_ERR_NOMEM, pynn_gemm_f32, pynn_gemm_f64


def gemm(const floating[:, :] a, const floating[:, :] b, floating[:, :] out, alpha, beta,
         bias, int bias_axis, bint relu, int isa, int n_threads):
    """``out := relu?(alpha * a @ b + beta * out + bias)``, in place.

    Parameters
    ----------
    a : ndarray of shape (M, K)                       # IN, any strides
    b : ndarray of shape (K, N)                       # IN, any strides
    out : ndarray of shape (M, N)                     # IN/OUT, not read when beta == 0
    bias : ndarray of shape (N,) if bias_axis == 1 else (M,), or None   # IN
    isa : int, an ``enum pynn_isa`` this CPU supports
    n_threads : int >= 1

    Shapes, dtypes and overlap are checked by the caller (``_checks.gemm_operands``).
    """
    cdef Py_ssize_t m = a.shape[0], k = a.shape[1], n = b.shape[1]
    cdef Py_ssize_t isz = sizeof(floating)
    cdef const floating[::1] bias_v
    cdef const floating *bias_p = NULL
    cdef floating alpha_ = alpha, beta_ = beta
    cdef int status = 0
    if b.shape[0] != k or out.shape[0] != m or out.shape[1] != n:
        raise ValueError(f"gemm: shapes do not match: a {(m, k)}, b {(b.shape[0], n)}, "
                         f"out {(out.shape[0], out.shape[1])}")
    if m == 0 or n == 0:
        return
    if bias is not None:
        bias_v = bias
        if bias_v.shape[0] != (n if bias_axis == 1 else m):
            raise ValueError(f"gemm: bias has length {bias_v.shape[0]}, expected "
                             f"{n if bias_axis == 1 else m}")
        bias_p = &bias_v[0]
    # With k == 0, a and b hold no elements and their data pointers must not be touched.
    cdef const floating *a_p = &a[0, 0] if k > 0 else NULL
    cdef const floating *b_p = &b[0, 0] if k > 0 else NULL
    cdef Py_ssize_t rsa = a.strides[0] // isz, csa = a.strides[1] // isz
    cdef Py_ssize_t rsb = b.strides[0] // isz, csb = b.strides[1] // isz
    cdef Py_ssize_t rsc = out.strides[0] // isz, csc = out.strides[1] // isz
    with nogil:
        if floating is float:
            status = pynn_gemm_f32(m, n, k, alpha_, a_p, rsa, csa, b_p, rsb, csb, beta_,
                                   &out[0, 0], rsc, csc, bias_p, bias_axis, relu, isa,
                                   n_threads)
        else:
            status = pynn_gemm_f64(m, n, k, alpha_, a_p, rsa, csa, b_p, rsb, csb, beta_,
                                   &out[0, 0], rsc, csc, bias_p, bias_axis, relu, isa,
                                   n_threads)
    if status == PYNN_ERR_NOMEM:
        raise MemoryError(f"gemm: out of memory multiplying {(m, k)} by {(k, n)}")
    elif status != 0:
        raise RuntimeError(f"gemm: C kernel failed with status {status}")
