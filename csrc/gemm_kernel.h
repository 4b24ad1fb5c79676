/* GEMM micro-kernels, private to the gemm family (gemm.c and gemm_kernel.c).
 *
 * A micro-kernel computes one MR x NR tile of C from a micro-panel of A, A(i, p) =
 * a[i * rs_a + p * cs_a] for i < MR, and one of B, B(p, j) = b[p * rs_b + j] for j < NR, and
 * stores it through the epilogue. Packed panels (rs_a = 1, cs_a = MR, rs_b = NR, zero-padded,
 * 64-byte aligned) take the fast path; other strides let the driver read A, or whole
 * NR-column panels of a row-major B, in place when packing would not pay:
 *
 *   C(i, j) := relu?( alpha * AB(i, j) + beta * C(i, j) + bias )     for i < mr, j < nr
 *
 * where the beta term is present only when ep->load_c (so beta == 0 never reads C), bias is
 * ep->bias[j] (bias_axis 1) or ep->bias[i] (bias_axis 0) when ep->bias is not NULL, already
 * offset to the tile, and relu when ep->relu. The driver asks for the beta term on the first
 * K block only (later blocks accumulate with beta = 1) and for bias and ReLU on the last.
 *
 * gemm_kernel.c is compiled once per instruction set (PYNN_ISA = generic, avx2, avx512);
 * each object exports one descriptor, pynn_gemm_desc_<isa>, which gemm.c takes from
 * pynn_gemm_kernels(isa). The per-precision types are the template half below. */
#ifndef PYNN_FN
#ifndef PYNN_GEMM_KERNEL_H
#define PYNN_GEMM_KERNEL_H

#include "pynn_common.h"

/* A micro-kernel's parameters, the epilogue of type ep_type. */
#define PYNN_GEMM_UKR_PARAMS(real, ep_type)                                                   \
    (int64_t kc, const real *PYNN_RESTRICT a, int64_t rs_a, int64_t cs_a,                     \
     const real *PYNN_RESTRICT b, int64_t rs_b, real *PYNN_RESTRICT c, int64_t rsc,           \
     int64_t csc, int64_t mr, int64_t nr, const ep_type *ep)

/* The dot form, for operands both contiguous along k (A row-major, B stored as B^T
 * row-major): C(i, j) := relu?(alpha * sum_p a[i * rsa + p] * bt[j * rsbt + p]
 * + beta * C(i, j) + bias) for i < m, j < n, C at c[i * rsc + j * csc], the epilogue as above
 * with ep->bias indexed from row / column 0 of this call. Nothing is packed: it serves
 * products whose M and N are too small to amortise packing (convolution weight gradients,
 * a classifier head) and whose K is long. */
#define PYNN_GEMM_DOT_PARAMS(real, ep_type)                                                   \
    (int64_t m, int64_t n, int64_t k, const real *a, int64_t rsa, const real *bt,             \
     int64_t rsbt, real *c, int64_t rsc, int64_t csc, const ep_type *ep)

#define PYNN_TEMPLATE "gemm_kernel.h"
#include "pynn_template.h"

#define PYNN_GEMM_MICRO_KERNELS(K, real, sfx)                                                 \
    K(void, ukr, PYNN_GEMM_UKR_PARAMS(real, pynn_gemm_ep_##sfx))                              \
    /* The same with one vector per row (nr <= NR / 2), for the ragged last column panel;     \
     * packed B panels keep their full NR row stride. */                                      \
    K(void, ukr_half, PYNN_GEMM_UKR_PARAMS(real, pynn_gemm_ep_##sfx))                         \
    /* The same with mr / 2 rows (and full width), for a ragged last row panel of at most     \
     * mr / 2 rows: A's panel keeps its MR stride, which this kernel reads as given. */       \
    K(void, ukr_short, PYNN_GEMM_UKR_PARAMS(real, pynn_gemm_ep_##sfx))                        \
    /* Both: mr / 2 rows of one vector. */                                                    \
    K(void, ukr_half_short, PYNN_GEMM_UKR_PARAMS(real, pynn_gemm_ep_##sfx))                   \
    /* mr / 3 rows (and full width), for a ragged last row panel of at most mr / 3 rows. */  \
    K(void, ukr_third, PYNN_GEMM_UKR_PARAMS(real, pynn_gemm_ep_##sfx))                        \
    K(void, dot, PYNN_GEMM_DOT_PARAMS(real, pynn_gemm_ep_##sfx))

/* Register block (mr x nr) of one precision on one ISA; the cache blocks are gemm.c's, from
 * the caches of the machine that runs it. */
typedef struct {
    int mr, nr;
} pynn_gemm_regblock;

typedef struct {
    const char *name;
    pynn_gemm_regblock f32, f64;
    int dot_m, dot_n; /* the dot form's register block, for splitting work among threads */
    /* Peak probe: `rounds` rounds of independent vector FMA chains (no memory traffic);
     * returns the float32 operations done. `sink` keeps the work from being optimised out. */
    int64_t (*fma_probe_f32)(int64_t rounds, float *sink);
    PYNN_DESC_FIELDS(PYNN_GEMM_MICRO_KERNELS)
} pynn_gemm_desc;

PYNN_DECLARE_DESCS(gemm)

#endif /* PYNN_GEMM_KERNEL_H */
#else /* the per-precision types (pynn_template.h) */

typedef struct {
    real alpha, beta;
    int load_c, relu, bias_axis;
    const real *bias;
} PYNN_FN(pynn_gemm_ep);

typedef void(*PYNN_FN(pynn_gemm_ukr)) PYNN_GEMM_UKR_PARAMS(real, PYNN_FN(pynn_gemm_ep));
typedef void(*PYNN_FN(pynn_gemm_dot)) PYNN_GEMM_DOT_PARAMS(real, PYNN_FN(pynn_gemm_ep));

#endif
