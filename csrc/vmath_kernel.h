/* Elementary functions over whole arrays, compiled once per instruction set as gemm_kernel.c
 * is (vmath_kernel.c exports pynn_vmath_desc_<isa>): the per-element functions of
 * pynn_math.h vectorise in a plain loop, 4 lanes without fused multiply-adds in the portable
 * build, 8 with them in the AVX2 build. (On a Zen 1, whose FP pipes are 128 bits wide, that
 * saved ~15% of a softmax's exponentials.) */
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
