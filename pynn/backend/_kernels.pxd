# The C kernels as Cython sees them. Every declaration is `noexcept nogil`: the C code never
# raises, so Cython must not take the GIL back to check for exceptions.
from libc.stdint cimport int64_t

cdef extern from "pynn_common.h":
    enum:
        PYNN_OK
        PYNN_ERR_NOMEM
        PYNN_ERR_ARG

cdef extern from "cpu.h":
    int pynn_cpu_isa_supported(int isa) noexcept nogil
    int pynn_cpu_best_isa() noexcept nogil
    int pynn_openmp_enabled() noexcept nogil
    int pynn_openmp_max_threads() noexcept nogil

cdef extern from "gemm.h":
    int pynn_gemm_f32(int64_t m, int64_t n, int64_t k, float alpha,
                      const float *a, int64_t rsa, int64_t csa,
                      const float *b, int64_t rsb, int64_t csb,
                      float beta, float *c, int64_t rsc, int64_t csc,
                      const float *bias, int bias_axis, int relu, int isa,
                      int n_threads) noexcept nogil
    int pynn_gemm_f64(int64_t m, int64_t n, int64_t k, double alpha,
                      const double *a, int64_t rsa, int64_t csa,
                      const double *b, int64_t rsb, int64_t csb,
                      double beta, double *c, int64_t rsc, int64_t csc,
                      const double *bias, int bias_axis, int relu, int isa,
                      int n_threads) noexcept nogil
