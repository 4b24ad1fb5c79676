/* General matrix multiply, Goto/BLIS style, with a fused bias + ReLU epilogue.
 *
 *   C := relu?( alpha * A B + beta * C + bias )
 *
 * A is m x k, element (i, p) at a[i * rsa + p * csa]; B is k x n, element (p, j) at
 * b[p * rsb + j * csb]; C is m x n, element (i, j) at c[i * rsc + j * csc]. Strides are in
 * elements and may be any value, negative or zero included, so a transpose is a swap of
 * strides and costs nothing. C must not overlap A, B or bias.
 *
 * beta == 0 means C is written without being read: it may hold NaN or garbage.
 * bias is NULL, or a vector added after scaling: bias[j] (length n) when bias_axis == 1,
 * bias[i] (length m) when bias_axis == 0. relu != 0 applies max(x, 0) last.
 * k == 0 gives C := relu?(beta * C + bias).
 * isa is an enum pynn_isa the CPU supports (pynn_cpu_isa_supported); n_threads >= 1. A
 * call with n_threads == 1 opens no OpenMP region, so it is safe inside one.
 * Returns PYNN_OK, or PYNN_ERR_NOMEM before anything is written to C. */
#ifndef PYNN_GEMM_H
#define PYNN_GEMM_H

#include "pynn_common.h"

struct pynn_cache_info; /* cpu.h */

#define PYNN_GEMM_KERNELS(K, real, sfx)                                                            \
    K(int, pynn_gemm, (int64_t m, int64_t n, int64_t k, real alpha,                                \
                       const real *a, int64_t rsa, int64_t csa,                                    \
                       const real *b, int64_t rsb, int64_t csb,                                    \
                       real beta, real *c, int64_t rsc, int64_t csc,                               \
                       const real *bias, int bias_axis, int relu, int isa, int n_threads))         \
    /* dst[p * ldd + r] := src[r * lds + p] for r < rows, p < cols: the transposition the          \
     * packing uses, in blocks of registers, for callers that keep a transposed copy. */           \
    K(void, pynn_transpose, (int64_t rows, int64_t cols, const real *src, int64_t lds,             \
                             real *dst, int64_t ldd))                                              \
    /* Products that reuse one B (the recurrent layers multiply by the same weights at every       \
     * step): B (k x n, element (p, j) at b[p * rsb + j * csb]) packed once as the blocked         \
     * product packs it, into bp of pynn_gemm_packed_b_len elements (for this k, n and isa);       \
     * then C := relu?(alpha * A B + beta * C + bias) as pynn_gemm computes it, C row-major       \
     * (rows rsc apart), B read from bp. */                                                        \
    K(int64_t, pynn_gemm_packed_b_len, (int64_t k, int64_t n, int isa))                            \
    K(void, pynn_gemm_pack_b, (int64_t k, int64_t n, const real *b, int64_t rsb, int64_t csb,      \
                               int isa, real *bp))                                                 \
    K(int, pynn_gemm_packed, (int64_t m, int64_t n, int64_t k, real alpha, const real *a,          \
                              int64_t rsa, int64_t csa, const real *bp, real beta, real *c,        \
                              int64_t rsc, const real *bias, int bias_axis, int relu, int isa,     \
                              int n_threads))

PYNN_DECLARE_PROTOS(PYNN_GEMM_KERNELS)

/* The blocks of one precision: the register block mr x nr of the ISA's micro-kernel, and the
 * cache blocks (kc: depth of packed panels, mc: rows of A's packed block kept in L2, nc:
 * columns of B's packed block kept in L3) from the caches (gemm.c has the model). The
 * driver then balances kc and nc over each problem, so the last block is not a sliver. */
typedef struct {
    int64_t mr, nr, kc, mc, nc;
} pynn_gemm_blocking;

/* Where the blocks came from: the model, PYNN_GEMM_BLOCKING="mc,kc,nc" (any field may be
 * empty: the model's value; mc and nc round up to whole micro-panels), or the model because
 * that variable did not parse. */
enum { PYNN_GEMM_FROM_MODEL = 0, PYNN_GEMM_FROM_ENV = 1, PYNN_GEMM_FROM_MODEL_BAD_ENV = 2 };

/* The blocking of one precision (f64 != 0: double) on `isa` that every call uses, set on the
 * first call from pynn_cpu_caches() and the environment: out[] := mr, nr, kc, mc, nc.
 * Returns the source (above). Lets tests put shapes on every block edge and reports say
 * what ran. */
int pynn_gemm_blocking_of(int isa, int f64, int64_t out[5]);

/* What the model gives for other caches (a CPU this is not running on), as above. */
void pynn_gemm_blocking_model(int isa, int f64, const struct pynn_cache_info *caches,
                               int64_t out[5]);

/* Runs `rounds` rounds of the ISA's independent FMA chains on one thread and returns the
 * float32 operations done: time it to measure this core's FMA peak. */
int64_t pynn_fma_probe_f32(int isa, int64_t rounds, float *sink);

#endif
