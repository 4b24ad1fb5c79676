/* What the files compiled once per instruction set share (SIMD_SOURCES in setup.py, which
 * defines PYNN_ISA as generic, avx2 or avx512 and passes that set's -m flags): the vector
 * width, the vector types, a fused multiply-add, and the ISA suffix of exported names.
 * Kernels are written once with GNU C vector extensions; only the width differs. */
#ifndef PYNN_SIMD_ISA_H
#define PYNN_SIMD_ISA_H

#include "pynn_common.h"

#define PYNN_ISA_SYM(name) PYNN_CAT(name, PYNN_CAT(_, PYNN_ISA))
#define PYNN_STR_(x) #x
#define PYNN_STR(x) PYNN_STR_(x)

/* PYNN_ISA_LEVEL: 1 generic (SSE2 or NEON: 16 vector registers), 2 AVX2+FMA (16),
 * 3 AVX-512 (32). The names are numbers only here, so that PYNN_ISA still pastes as a
 * name afterwards. */
#define generic 1
#define avx2 2
#define avx512 3
#if PYNN_ISA == avx512
#define PYNN_ISA_LEVEL 3
#define VBYTES 64
#define VREGS 32
#elif PYNN_ISA == avx2
#define PYNN_ISA_LEVEL 2
#define VBYTES 32
#define VREGS 16
#elif PYNN_ISA == generic
#define PYNN_ISA_LEVEL 1
#define VBYTES 16
#define VREGS 16
#else
#error "PYNN_ISA must be generic, avx2 or avx512"
#endif
#undef generic
#undef avx2
#undef avx512

/* The vector of each precision, name_f32 and name_f64 so that a template reaches them as
 * PYNN_FN(vec) (pynn_template.h); ivec has integer lanes of the same width (masks). */
typedef float vec_f32 __attribute__((vector_size(VBYTES)));
typedef double vec_f64 __attribute__((vector_size(VBYTES)));
typedef int32_t ivec_f32 __attribute__((vector_size(VBYTES)));
typedef int64_t ivec_f64 __attribute__((vector_size(VBYTES)));

/* pynn_vfma: a * b + c, fused where the ISA has FMA (PYNN_FN(pynn_vfma) in a template). ISO C
 * mode (-std=c11) turns off GCC's automatic contraction of a * b + c, so it is spelled out
 * with the ISA's intrinsic. */
#define PYNN_VECTOR_FN static inline __attribute__((always_inline))
#if defined(__FMA__) && VBYTES == 64 && defined(__AVX512F__)
#include <immintrin.h>
PYNN_VECTOR_FN vec_f32 pynn_vfma_f32(vec_f32 a, vec_f32 b, vec_f32 c)
{
    return (vec_f32)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
}
PYNN_VECTOR_FN vec_f64 pynn_vfma_f64(vec_f64 a, vec_f64 b, vec_f64 c)
{
    return (vec_f64)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
}
#elif defined(__FMA__) && VBYTES == 32
#include <immintrin.h>
PYNN_VECTOR_FN vec_f32 pynn_vfma_f32(vec_f32 a, vec_f32 b, vec_f32 c)
{
    return (vec_f32)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
}
PYNN_VECTOR_FN vec_f64 pynn_vfma_f64(vec_f64 a, vec_f64 b, vec_f64 c)
{
    return (vec_f64)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
}
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
PYNN_VECTOR_FN vec_f32 pynn_vfma_f32(vec_f32 a, vec_f32 b, vec_f32 c)
{
    return (vec_f32)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
}
PYNN_VECTOR_FN vec_f64 pynn_vfma_f64(vec_f64 a, vec_f64 b, vec_f64 c)
{
    return (vec_f64)vfmaq_f64((float64x2_t)c, (float64x2_t)a, (float64x2_t)b);
}
#else
PYNN_VECTOR_FN vec_f32 pynn_vfma_f32(vec_f32 a, vec_f32 b, vec_f32 c) { return a * b + c; }
PYNN_VECTOR_FN vec_f64 pynn_vfma_f64(vec_f64 a, vec_f64 b, vec_f64 c) { return a * b + c; }
#endif

#endif /* PYNN_SIMD_ISA_H */
