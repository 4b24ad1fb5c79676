/* Elementary functions the kernels call per element, written so that a loop calling them
 * vectorises (a libm call in a loop stops the compiler from vectorising it). */
#ifndef PYNN_MATH_H
#define PYNN_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* a * b + c, rounded once where the target has FMA (the AVX2 and AVX-512 builds of
 * SIMD_SOURCES, and aarch64), else twice. ISO C mode keeps the compiler from fusing a * b + c
 * on its own, and without hardware FMA fmaf is a slow library call that stops vectorisation. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define PYNN_FMAF(a, b, c) fmaf(a, b, c)
#else
#define PYNN_FMAF(a, b, c) ((a) * (b) + (c))
#endif

/* exp(x) in float32 to within about 1 ulp for x in [-87.3, 88.7]; 0 below (FLT_MIN is
 * exp(-87.34), so only would-be subnormals are flushed), +inf above, NaN for NaN.
 * exp(x) = 2^n e^r with n = round(x / ln 2) and |r| <= ln(2) / 2, e^r by its Taylor series to
 * degree 7 (truncation error below 1e-8). Rounding uses the 1.5 * 2^23 trick rather than a
 * float-to-int conversion, which would be undefined for NaN. */
static inline float pynn_exp_f32(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693145751953125f, ln2_lo = 1.42860682030941723212e-6f;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23 */
    float xc = x > 88.7f ? 88.7f : x;
    xc = xc < -87.3f ? -87.3f : xc;
    const float shifted = PYNN_FMAF(xc, log2e, round_magic);
    const float n = shifted - round_magic;
    const float r = PYNN_FMAF(-n, ln2_lo, PYNN_FMAF(-n, ln2_hi, xc));
    /* Estrin's scheme: four dependent steps instead of Horner's seven, so that a loop's
     * iterations overlap (Horner's chain made the softmax loop latency-bound). */
    const float r2 = r * r, r4 = r2 * r2;
    const float p01 = 1.0f + r, p23 = PYNN_FMAF(r, 1.0f / 6, 0.5f);
    const float p45 = PYNN_FMAF(r, 1.0f / 120, 1.0f / 24);
    const float p67 = PYNN_FMAF(r, 1.0f / 5040, 1.0f / 720);
    const float p = PYNN_FMAF(r4, PYNN_FMAF(r2, p67, p45), PYNN_FMAF(r2, p23, p01));
    uint32_t bits, scale_bits;
    memcpy(&bits, &shifted, sizeof bits);
    scale_bits = (bits - 0x4b400000u + 127u) << 23; /* 2^n: n sits in the low mantissa bits */
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    float result = p * scale;
    result = x < -87.3f ? 0.0f : result;
    result = x > 88.7f ? INFINITY : result;
    return result;
}

/* float64 keeps libm's exp, tanh and expm1: the kernels that need float64 are the gradient
 * checks, where accuracy matters more than speed. */
static inline double pynn_exp_f64(double x) { return exp(x); }

/* exp(x) - 1 without the cancellation of the subtraction near 0: a Taylor polynomial for
 * |x| < ln(2) / 2 (degree 8, truncation below 3e-10 relative), exp(x) - 1 beyond, where the
 * difference loses at most a bit. Both sides are computed so that a loop vectorises. */
static inline float pynn_expm1_f32(float x)
{
    float p = 1.0f / 40320;
    p = p * x + 1.0f / 5040;
    p = p * x + 1.0f / 720;
    p = p * x + 1.0f / 120;
    p = p * x + 1.0f / 24;
    p = p * x + 1.0f / 6;
    p = p * x + 0.5f;
    const float small = (p * x + 1.0f) * x;
    const float large = pynn_exp_f32(x) - 1.0f;
    return fabsf(x) < 0.34657359f ? small : large;
}

/* tanh(x) = -expm1(-2|x|) / (2 + expm1(-2|x|)) with the sign of x: within a few ulp of libm's
 * tanhf (tested), +-1 from |x| ~ 9 on, NaN for NaN; and it vectorises where tanhf, a libm
 * call, keeps a loop scalar. */
static inline float pynn_tanh_f32(float x)
{
    const float em = pynn_expm1_f32(-2.0f * fabsf(x)); /* in [-1, 0] */
    return copysignf(-em / (2.0f + em), x);
}
static inline double pynn_tanh_f64(double x) { return tanh(x); }

/* 1 / (1 + exp(-x)) without overflow for either sign of x. */
static inline float pynn_sigmoid_f32(float x)
{
    const float e = pynn_exp_f32(-fabsf(x)); /* in (0, 1] */
    const float r = 1.0f / (1.0f + e);       /* outside the select, which then vectorises */
    return x >= 0 ? r : e * r;
}
static inline double pynn_sigmoid_f64(double x)
{
    const double e = exp(-fabs(x));
    const double r = 1.0 / (1.0 + e);
    return x >= 0 ? r : e * r;
}

/* take ? a : b through a bit mask. Compilers turn a plain `?:` on floats into a branch, and on
 * random data that branch mispredicts about half the time, several times the cost of the
 * window's arithmetic. */
#define PYNN_DEFINE_SELECT(name, real, bits)                           \
    static inline real name(int take, real a, real b)                  \
    {                                                                  \
        bits ua, ub, m = (bits)0 - (bits)take;                         \
        memcpy(&ua, &a, sizeof a);                                     \
        memcpy(&ub, &b, sizeof b);                                     \
        ub = (ua & m) | (ub & ~m);                                     \
        memcpy(&b, &ub, sizeof b);                                     \
        return b;                                                      \
    }
PYNN_DEFINE_SELECT(pynn_select_f32, float, uint32_t)
PYNN_DEFINE_SELECT(pynn_select_f64, double, uint64_t)
#undef PYNN_DEFINE_SELECT

static inline int32_t pynn_select_i32(int take, int32_t a, int32_t b)
{
    const int32_t m = -(int32_t)take;
    return (a & m) | (b & ~m);
}

static inline int64_t pynn_select_i64(int take, int64_t a, int64_t b)
{
    const int64_t m = -(int64_t)take;
    return (a & m) | (b & ~m);
}

/* The sum of n values, accumulated in double in 16 interleaved partial sums. One running sum
 * is a chain of dependent additions (4 cycles each) that the compiler may not reorder
 * without -ffast-math; independent ones vectorise and pipeline: 16 doubles are two chains of
 * 512-bit vectors, four of 256 (8 lanes left AVX-512 one chain, bound by its latency). */
#define PYNN_DEFINE_SUM(name, real)                                    \
    static inline double name(const real *x, int64_t n)                \
    {                                                                  \
        double lane[16] = {0};                                         \
        int64_t i = 0;                                                 \
        for (; i + 16 <= n; i += 16)                                   \
            for (int k = 0; k < 16; ++k)                               \
                lane[k] += x[i + k];                                   \
        double s = 0;                                                  \
        for (; i < n; ++i)                                             \
            s += x[i];                                                 \
        for (int k = 0; k < 16; ++k)                                   \
            s += lane[k];                                              \
        return s;                                                      \
    }
PYNN_DEFINE_SUM(pynn_sum_f32, float)
PYNN_DEFINE_SUM(pynn_sum_f64, double)
#undef PYNN_DEFINE_SUM

#endif
