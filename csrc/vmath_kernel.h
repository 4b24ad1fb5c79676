/* Elementary functions over whole arrays, compiled once per instruction set as gemm_kernel.c
 * is (vmath_kernel.c exports pynn_vmath_desc_<isa>): the per-element functions of
 * pynn_math.h vectorise in a plain loop, and at AVX2 width with fused multiply-adds they run
 * in about half the time of the portable build's SSE2 code. */
#ifndef PYNN_VMATH_KERNEL_H
#define PYNN_VMATH_KERNEL_H

#include "pynn_common.h"

typedef struct {
    /* y[i] := pynn_exp_f32(x[i]) for i < n; y may be x. */
    void (*exp_f32)(int64_t n, const float *x, float *y);
} pynn_vmath_desc;

extern const pynn_vmath_desc pynn_vmath_desc_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const pynn_vmath_desc pynn_vmath_desc_avx2;
extern const pynn_vmath_desc pynn_vmath_desc_avx512;
#endif

#endif
