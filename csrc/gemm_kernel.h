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
 * each object exports one descriptor, pynn_gemm_desc_<isa>. */
#ifndef PYNN_GEMM_KERNEL_H
#define PYNN_GEMM_KERNEL_H

#include "pynn_common.h"

typedef struct {
    float alpha, beta;
    int load_c, relu, bias_axis;
    const float *bias;
} pynn_gemm_ep_f32;

typedef struct {
    double alpha, beta;
    int load_c, relu, bias_axis;
    const double *bias;
} pynn_gemm_ep_f64;

typedef void (*pynn_gemm_ukr_f32)(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a,
                                  const float *b, int64_t rs_b, float *c, int64_t rsc,
                                  int64_t csc, int64_t mr, int64_t nr,
                                  const pynn_gemm_ep_f32 *ep);
typedef void (*pynn_gemm_ukr_f64)(int64_t kc, const double *a, int64_t rs_a, int64_t cs_a,
                                  const double *b, int64_t rs_b, double *c, int64_t rsc,
                                  int64_t csc, int64_t mr, int64_t nr,
                                  const pynn_gemm_ep_f64 *ep);

/* The dot form, for operands both contiguous along k (A row-major, B stored as B^T
 * row-major): C(i, j) := relu?(alpha * sum_p a[i * rsa + p] * bt[j * rsbt + p]
 * + beta * C(i, j) + bias) for i < m, j < n, C at c[i * rsc + j * csc], the epilogue as above
 * with ep->bias indexed from row / column 0 of this call. Nothing is packed: it serves
 * products whose M and N are too small to amortise packing (convolution weight gradients,
 * a classifier head) and whose K is long. */
typedef void (*pynn_gemm_dot_f32)(int64_t m, int64_t n, int64_t k, const float *a, int64_t rsa,
                                  const float *bt, int64_t rsbt, float *c, int64_t rsc,
                                  int64_t csc, const pynn_gemm_ep_f32 *ep);
typedef void (*pynn_gemm_dot_f64)(int64_t m, int64_t n, int64_t k, const double *a,
                                  int64_t rsa, const double *bt, int64_t rsbt, double *c,
                                  int64_t rsc, int64_t csc, const pynn_gemm_ep_f64 *ep);

/* Register block (mr x nr) of one precision on one ISA; the cache blocks are gemm.c's, from
 * the caches of the machine that runs it. */
typedef struct {
    int mr, nr;
} pynn_gemm_regblock;

typedef struct {
    const char *name;
    pynn_gemm_regblock f32, f64;
    pynn_gemm_ukr_f32 ukr_f32;
    pynn_gemm_ukr_f64 ukr_f64;
    /* The same with one vector per row (nr <= NR / 2), for the ragged last column panel;
     * packed B panels keep their full NR row stride. */
    pynn_gemm_ukr_f32 ukr_half_f32;
    pynn_gemm_ukr_f64 ukr_half_f64;
    /* The same with mr / 2 rows (and full width), for a ragged last row panel of at most
     * mr / 2 rows: A's panel keeps its MR stride, which this kernel reads as given. */
    pynn_gemm_ukr_f32 ukr_short_f32;
    pynn_gemm_ukr_f64 ukr_short_f64;
    pynn_gemm_dot_f32 dot_f32;
    pynn_gemm_dot_f64 dot_f64;
    int dot_m, dot_n; /* the dot form's register block, for splitting work among threads */
    /* Peak probe: `rounds` rounds of independent vector FMA chains (no memory traffic);
     * returns the float32 operations done. `sink` keeps the work from being optimised out. */
    int64_t (*fma_probe_f32)(int64_t rounds, float *sink);
} pynn_gemm_desc;

extern const pynn_gemm_desc pynn_gemm_desc_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const pynn_gemm_desc pynn_gemm_desc_avx2;
extern const pynn_gemm_desc pynn_gemm_desc_avx512;
#endif

#endif /* PYNN_GEMM_KERNEL_H */
