/* The argmax-driven weight and input gradients of a pooled convolution, the image-read
 * forward and weight gradient of a plain one, and the 2x2 max-pooling of a plane (contracts in
 * conv_pool_kernel.h), compiled once per instruction set (see simd_isa.h); each object exports
 * pynn_conv_pool_desc_<isa>. The kernels are written once for `real` (the template half
 * below, pynn_template.h). */
#ifndef PYNN_FN
#include <math.h>
#include <string.h>

#include "conv_pool_kernel.h"
#include "pool.h"
#include "pynn_math.h"
#include "simd_isa.h"

/* Patch rows are one kernel row wide, 3 to 7 values in the usual layers. AVX-512's 16 lanes
 * would leave most of a vector idle, and in the input gradient, where the rows of a patch lie
 * row_len apart, a vector longer than row_len (a 14-wide image) makes each row's load overlap
 * the store of the row before, which store-to-load forwarding cannot serve: every row then
 * waits for the store to retire. So that build runs these kernels on 256-bit vectors. */
#if VBYTES >= 32 && defined(__AVX2__)
#include <immintrin.h>
#endif
#if VBYTES > 32
typedef float cp_vec_f32 __attribute__((vector_size(32)));
typedef double cp_vec_f64 __attribute__((vector_size(32)));
typedef int32_t cp_ivec_f32 __attribute__((vector_size(32)));
typedef int64_t cp_ivec_f64 __attribute__((vector_size(32)));
PYNN_VECTOR_FN cp_vec_f32 cp_vfma_f32(cp_vec_f32 a, cp_vec_f32 b, cp_vec_f32 c)
{
    return (cp_vec_f32)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
}
PYNN_VECTOR_FN cp_vec_f64 cp_vfma_f64(cp_vec_f64 a, cp_vec_f64 b, cp_vec_f64 c)
{
    return (cp_vec_f64)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
}
#if defined(__AVX512VL__)
#define CP_VREGS 32
#else
#define CP_VREGS 16 /* without AVX512VL, 256-bit operations reach only the first 16 registers */
#endif
#else
typedef vec_f32 cp_vec_f32;
typedef vec_f64 cp_vec_f64;
typedef ivec_f32 cp_ivec_f32;
typedef ivec_f64 cp_ivec_f64;
#define cp_vfma_f32 pynn_vfma_f32
#define cp_vfma_f64 pynn_vfma_f64
#define CP_VREGS VREGS
#endif

/* The 2x2, stride-2 max-pooling of float32 rows (maxpool_2x2 below): 16 windows a step in
 * the AVX-512 build, 8 in the AVX2 build, then 4 with SSE2 (every x86-64 build), the portable
 * loop for the rest; compiled per instruction set, so the convolutions' pooling and the
 * pooling layer get the machine's widest step. The 8- and 4-window steps are compiled only
 * where no wider step replaces them. */
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(__AVX512F__)
#include <emmintrin.h>

static inline __m128 pick_ps(__m128 take, __m128 a, __m128 b)
{
    return _mm_or_ps(_mm_and_ps(take, a), _mm_andnot_ps(take, b));
}

/* b replaces a when it is larger or NaN: the first maximum, or the last NaN, wins. */
static inline __m128 replaces_ps(__m128 b, __m128 a)
{
    return _mm_or_ps(_mm_cmpgt_ps(b, a), _mm_cmpunord_ps(b, b));
}

/* Columns [ox, ...) of output row `oy` of y and idx, 4 windows a step, from input rows
 * r0 = x + 2 oy w and r1 = r0 + w; `at` is 2 oy w, the flat position of r0. Needs
 * w < INT32_MAX. Returns the first column not done. */
static inline int64_t maxpool_quads_2x2_f32(const float *r0, const float *r1, int64_t w,
                                            int64_t ow, int64_t at, float *yrow,
                                            int64_t *irow, int64_t ox)
{
    const __m128i one = _mm_set1_epi32(1), below = _mm_set1_epi32((int32_t)w);
    const __m128i zero = _mm_setzero_si128();
    for (; ox + 4 <= ow; ox += 4) {
        const __m128 t0 = _mm_loadu_ps(r0 + 2 * ox), t1 = _mm_loadu_ps(r0 + 2 * ox + 4);
        const __m128 u0 = _mm_loadu_ps(r1 + 2 * ox), u1 = _mm_loadu_ps(r1 + 2 * ox + 4);
        const __m128 a = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
        const __m128 b = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
        const __m128 c = _mm_shuffle_ps(u0, u1, _MM_SHUFFLE(2, 0, 2, 0));
        const __m128 d = _mm_shuffle_ps(u0, u1, _MM_SHUFFLE(3, 1, 3, 1));
        const __m128 top = replaces_ps(b, a), bottom = replaces_ps(d, c);
        const __m128 m_top = pick_ps(top, b, a), m_bottom = pick_ps(bottom, d, c);
        const __m128 lower = replaces_ps(m_bottom, m_top);
        _mm_storeu_ps(yrow + ox, pick_ps(lower, m_bottom, m_top));
        /* The winner's offset in its window: lower ? w + bottom : top, as 0/1 from masks. */
        const __m128i top01 = _mm_and_si128(_mm_castps_si128(top), one);
        const __m128i bottom01 = _mm_add_epi32(below, _mm_and_si128(_mm_castps_si128(bottom), one));
        const __m128i take = _mm_castps_si128(lower);
        const __m128i offset = _mm_or_si128(_mm_and_si128(take, bottom01),
                                            _mm_andnot_si128(take, top01));
        const int64_t start = at + 2 * ox;
        _mm_storeu_si128((__m128i *)(irow + ox),
                         _mm_add_epi64(_mm_unpacklo_epi32(offset, zero),
                                       _mm_set_epi64x(start + 2, start)));
        _mm_storeu_si128((__m128i *)(irow + ox + 2),
                         _mm_add_epi64(_mm_unpackhi_epi32(offset, zero),
                                       _mm_set_epi64x(start + 6, start + 4)));
    }
    return ox;
}
#endif

#if defined(__AVX2__) && !defined(__AVX512F__)
/* The same 8 windows a step (the AVX2 build), from column 0. A 256-bit vector holds the
 * windows of a 12-wide row (the CNN's 24 x 24 planes) in one step and a 4-window step. */
static inline __m256 replaces_ps8(__m256 b, __m256 a)
{
    return _mm256_or_ps(_mm256_cmp_ps(b, a, _CMP_GT_OQ), _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
}

/* The even (odd = 0) or odd (odd = 1) values of v0 then v1, in order. */
static inline __m256 deal_ps8(__m256 v0, __m256 v1, int odd)
{
    const __m256 mixed = odd ? _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1))
                             : _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline int64_t maxpool_octs_2x2_f32(const float *r0, const float *r1, int64_t w,
                                           int64_t ow, int64_t at, float *yrow, int64_t *irow)
{
    const __m256i one = _mm256_set1_epi32(1), below = _mm256_set1_epi32((int32_t)w);
    const __m256i pairs = _mm256_setr_epi64x(0, 2, 4, 6), next4 = _mm256_set1_epi64x(8);
    int64_t ox = 0;
    for (; ox + 8 <= ow; ox += 8) {
        const __m256 t0 = _mm256_loadu_ps(r0 + 2 * ox), t1 = _mm256_loadu_ps(r0 + 2 * ox + 8);
        const __m256 u0 = _mm256_loadu_ps(r1 + 2 * ox), u1 = _mm256_loadu_ps(r1 + 2 * ox + 8);
        const __m256 a = deal_ps8(t0, t1, 0), b = deal_ps8(t0, t1, 1);
        const __m256 c = deal_ps8(u0, u1, 0), d = deal_ps8(u0, u1, 1);
        const __m256 top = replaces_ps8(b, a), bottom = replaces_ps8(d, c);
        const __m256 m_top = _mm256_blendv_ps(a, b, top);
        const __m256 m_bottom = _mm256_blendv_ps(c, d, bottom);
        const __m256 lower = replaces_ps8(m_bottom, m_top);
        _mm256_storeu_ps(yrow + ox, _mm256_blendv_ps(m_top, m_bottom, lower));
        /* The winner's offset in its window: lower ? w + bottom : top, as 0/1 from masks. */
        const __m256i top01 = _mm256_and_si256(_mm256_castps_si256(top), one);
        const __m256i bottom01 =
            _mm256_add_epi32(below, _mm256_and_si256(_mm256_castps_si256(bottom), one));
        const __m256i offset = _mm256_castps_si256(_mm256_blendv_ps(
            _mm256_castsi256_ps(top01), _mm256_castsi256_ps(bottom01), lower));
        const __m256i start = _mm256_add_epi64(_mm256_set1_epi64x(at + 2 * ox), pairs);
        _mm256_storeu_si256((__m256i *)(irow + ox),
                            _mm256_add_epi64(_mm256_cvtepi32_epi64(
                                                 _mm256_castsi256_si128(offset)),
                                             start));
        _mm256_storeu_si256((__m256i *)(irow + ox + 4),
                            _mm256_add_epi64(_mm256_cvtepi32_epi64(
                                                 _mm256_extracti128_si256(offset, 1)),
                                             _mm256_add_epi64(start, next4)));
    }
    return ox;
}
#endif

#if defined(__AVX512F__)
/* 16 windows a step (the AVX-512 build), the last step masked: a 12-wide row (the CNN's
 * 24 x 24 planes) is one step, where the 8-window steps above take two of different kinds.
 * Masked-off lanes are neither read nor written, so the row's ends are safe. */
static inline int64_t maxpool_16s_2x2_f32(const float *r0, const float *r1, int64_t w,
                                          int64_t ow, int64_t at, float *yrow, int64_t *irow)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i one = _mm512_set1_epi32(1), below = _mm512_set1_epi32((int32_t)w);
    const __m512i pairs = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i next8 = _mm512_set1_epi64(16);
    for (int64_t ox = 0; ox < ow; ox += 16) {
        const int64_t n = PYNN_MIN(16, ow - ox);
        const __mmask16 out = (__mmask16)((1u << n) - 1);
        /* the window's 2n values of each row, in two vectors */
        const __mmask16 in0 = (__mmask16)(n >= 8 ? 0xffffu : (1u << (2 * n)) - 1);
        const __mmask16 in1 = (__mmask16)(n > 8 ? (1u << (2 * n - 16)) - 1 : 0);
        const float *p0 = r0 + 2 * ox, *p1 = r1 + 2 * ox;
        const __m512 t0 = _mm512_maskz_loadu_ps(in0, p0), t1 = _mm512_maskz_loadu_ps(in1, p0 + 16);
        const __m512 u0 = _mm512_maskz_loadu_ps(in0, p1), u1 = _mm512_maskz_loadu_ps(in1, p1 + 16);
        const __m512 a = _mm512_permutex2var_ps(t0, even, t1);
        const __m512 b = _mm512_permutex2var_ps(t0, odd, t1);
        const __m512 c = _mm512_permutex2var_ps(u0, even, u1);
        const __m512 d = _mm512_permutex2var_ps(u0, odd, u1);
        /* b replaces a when it is larger or NaN: the first maximum, or the last NaN, wins */
        const __mmask16 top = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ) |
                              _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
        const __mmask16 bottom = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ) |
                                 _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q);
        const __m512 m_top = _mm512_mask_blend_ps(top, a, b);
        const __m512 m_bottom = _mm512_mask_blend_ps(bottom, c, d);
        const __mmask16 lower = _mm512_cmp_ps_mask(m_bottom, m_top, _CMP_GT_OQ) |
                                _mm512_cmp_ps_mask(m_bottom, m_bottom, _CMP_UNORD_Q);
        _mm512_mask_storeu_ps(yrow + ox, out, _mm512_mask_blend_ps(lower, m_top, m_bottom));
        /* The winner's offset in its window: lower ? w + bottom : top. */
        const __m512i offset = _mm512_mask_blend_epi32(
            lower, _mm512_maskz_mov_epi32(top, one), _mm512_mask_add_epi32(below, bottom, below, one));
        const __m512i start = _mm512_add_epi64(_mm512_set1_epi64(at + 2 * ox), pairs);
        _mm512_mask_storeu_epi64(irow + ox, (__mmask8)out,
                                 _mm512_add_epi64(_mm512_cvtepi32_epi64(
                                                      _mm512_castsi512_si256(offset)),
                                                  start));
        _mm512_mask_storeu_epi64(irow + ox + 8, (__mmask8)(out >> 8),
                                 _mm512_add_epi64(_mm512_cvtepi32_epi64(
                                                      _mm512_extracti64x4_epi64(offset, 1)),
                                                  _mm512_add_epi64(start, next8)));
    }
    return ow;
}
#endif

/* The vector steps of a row of 2x2 windows; the template's portable loop does the rest, the
 * whole row without SSE2 (aarch64) and in float64 (the precision of gradient checks). */
static inline int64_t maxpool_vec_2x2_f32(const float *r0, const float *r1, int64_t w,
                                          int64_t ow, int64_t at, float *yrow, int64_t *irow)
{
#if defined(__AVX512F__)
    return maxpool_16s_2x2_f32(r0, r1, w, ow, at, yrow, irow);
#else
    int64_t ox = 0;
#if defined(__AVX2__)
    ox = maxpool_octs_2x2_f32(r0, r1, w, ow, at, yrow, irow);
#endif
#if defined(__SSE2__) || defined(_M_X64)
    ox = maxpool_quads_2x2_f32(r0, r1, w, ow, at, yrow, irow, ox);
#else
    (void)r0, (void)r1, (void)w, (void)ow, (void)at, (void)yrow, (void)irow;
#endif
    return ox;
#endif
}
#define maxpool_vec_2x2_f64(r0, r1, w, ow, at, yrow, irow) ((int64_t)0)

/* Accumulators of the weight gradient: all but a few of the vector registers. */
#define NACC (CP_VREGS - 4)

/* Output positions a block of fwd_oc (conv_oc.h): its 2 x FO_NP sums fill all but a few
 * registers. A row's last block is rounded up to a multiple of FO_NP_STEP, a third of that
 * (the padded image's slack covers the values read past the row). */
#if VREGS >= 32
#define FO_NP 12
#else
#define FO_NP 6
#endif
#define FO_NP_STEP (FO_NP / 3)

#define PYNN_TEMPLATE "conv_pool_kernel.c"
#include "pynn_template.h"

const pynn_conv_pool_desc PYNN_ISA_SYM(pynn_conv_pool_desc) = {
    .lanes_f32 = (int)(sizeof(cp_vec_f32) / sizeof(float)),
    .lanes_f64 = (int)(sizeof(cp_vec_f64) / sizeof(double)),
    .wide_lanes_f32 = (int)(sizeof(vec_f32) / sizeof(float)),
    .wide_lanes_f64 = (int)(sizeof(vec_f64) / sizeof(double)),
    .oc_block_f32 = 2 * (int)(sizeof(vec_f32) / sizeof(float)),
    .oc_block_f64 = 2 * (int)(sizeof(vec_f64) / sizeof(double)),
    .oc_tile = FO_NP,
    .oc_tile_step = FO_NP_STEP,
    PYNN_DESC_ENTRIES(PYNN_CONV_POOL_KERNELS)};

#else /* the template (pynn_template.h) */
#define VL ((int64_t)(sizeof(PYNN_FN(cp_vec)) / sizeof(real)))

/* acc += d * one patch's rows. */
static inline __attribute__((always_inline)) void PYNN_FN(dw_patch)(
    const int nrows, const int nv, real d, const real *row, int64_t row_len, PYNN_FN(cp_vec) *acc)
{
    const PYNN_FN(cp_vec) dv = (PYNN_FN(cp_vec)){0} + d;
#pragma GCC unroll 32
    for (int r = 0; r < nrows; ++r, row += row_len) {
#pragma GCC unroll 4
        for (int v = 0; v < nv; ++v) {
            PYNN_FN(cp_vec) xv;
            memcpy(&xv, row + v * VL, sizeof xv);
            acc[r * nv + v] = PYNN_FN(cp_vfma)(dv, xv, acc[r * nv + v]);
        }
    }
}

/* One pass over an output channel's pooled values, for `nrows` patch rows of `nv` vectors
 * (constants where this is inlined, so the accumulators stay in registers and the rows are
 * reached by adding row_len, not by loading offsets), added into dst's nrows * nv vectors.
 * With room for two sets of accumulators, even and odd pooled values go to separate sets, so
 * that successive patches do not wait on one fused multiply-add's latency. */
static inline __attribute__((always_inline)) void PYNN_FN(dw_pass)(
    const int nrows, const int nv, int64_t pooled, const real *dy, const int64_t *idx,
    const int64_t *pos_off, const real *xrows, int64_t row_len, real *dst)
{
    const int na = nrows * nv, ways = 2 * na <= NACC ? 2 : 1;
    PYNN_FN(cp_vec) acc[2][NACC];
#pragma GCC unroll 32
    for (int a = 0; a < na; ++a)
        acc[0][a] = acc[1][a] = (PYNN_FN(cp_vec)){0};
    int64_t p = 0;
    for (; p + ways <= pooled; p += ways) {
#pragma GCC unroll 2
        for (int w = 0; w < ways; ++w)
            PYNN_FN(dw_patch)(nrows, nv, dy[p + w], xrows + pos_off[idx[p + w]],
                              row_len, acc[w]);
    }
    if (p < pooled)
        PYNN_FN(dw_patch)(nrows, nv, dy[p], xrows + pos_off[idx[p]], row_len, acc[0]);
#pragma GCC unroll 32
    for (int a = 0; a < na; ++a) {
        PYNN_FN(cp_vec) sum;
        memcpy(&sum, dst + a * VL, sizeof sum);
        sum += ways == 2 ? acc[0][a] + acc[1][a] : acc[0][a];
        memcpy(dst + a * VL, &sum, sizeof sum);
    }
}

/* Up to NACC vectors of one output channel's gradient stay in registers (the rest of the
 * register file holds the broadcast dy values and a loaded patch vector) while the channel's
 * pooled values go by; patches with more rows take several passes. */
static void PYNN_FN(dw)(const pynn_conv_pool_geom *g, const real *xpad, const real *dy,
                        const int64_t *idx, real *dwrows)
{
    const int64_t nv = g->nv, rows = g->rows, pooled = g->pooled;
    const int64_t group = NACC / nv; /* patch rows a pass */
    for (int64_t oc = 0; oc < g->o; ++oc) {
        const real *dyo = dy + oc * pooled;
        const int64_t *io = idx + oc * pooled;
        real *dwo = dwrows + oc * rows * nv * VL;
        for (int64_t r0 = 0; r0 < rows; r0 += group) {
            const int nrows = (int)PYNN_MIN(group, rows - r0);
            const real *xrows = xpad + r0 * g->row_len;
            real *dst = dwo + r0 * nv * VL;
            /* Every (rows, vectors per row) that fits the register file, as constants. Each
             * pass adds into dst itself: an array of sums here, which the default case would
             * leave unset, drew -Wmaybe-uninitialized from gcc -O3. */
#define PYNN_PASS(r, v)                                                                            \
    case r:                                                                                        \
        PYNN_FN(dw_pass)(r, v, pooled, dyo, io, g->pos_off, xrows, g->row_len, dst);               \
        break;
            if (nv == 1) {
                switch (nrows) {
                    PYNN_PASS(1, 1) PYNN_PASS(2, 1) PYNN_PASS(3, 1) PYNN_PASS(4, 1)
                    PYNN_PASS(5, 1) PYNN_PASS(6, 1) PYNN_PASS(7, 1) PYNN_PASS(8, 1)
                    PYNN_PASS(9, 1) PYNN_PASS(10, 1) PYNN_PASS(11, 1) PYNN_PASS(12, 1)
#if NACC > 12
                    PYNN_PASS(13, 1) PYNN_PASS(14, 1) PYNN_PASS(15, 1) PYNN_PASS(16, 1)
                    PYNN_PASS(17, 1) PYNN_PASS(18, 1) PYNN_PASS(19, 1) PYNN_PASS(20, 1)
                    PYNN_PASS(21, 1) PYNN_PASS(22, 1) PYNN_PASS(23, 1) PYNN_PASS(24, 1)
                    PYNN_PASS(25, 1) PYNN_PASS(26, 1) PYNN_PASS(27, 1) PYNN_PASS(28, 1)
#endif
                default:
                    break;
                }
            } else {
                switch (nrows) {
                    PYNN_PASS(1, 2) PYNN_PASS(2, 2) PYNN_PASS(3, 2) PYNN_PASS(4, 2)
                    PYNN_PASS(5, 2) PYNN_PASS(6, 2)
#if NACC > 12
                    PYNN_PASS(7, 2) PYNN_PASS(8, 2) PYNN_PASS(9, 2) PYNN_PASS(10, 2)
                    PYNN_PASS(11, 2) PYNN_PASS(12, 2) PYNN_PASS(13, 2) PYNN_PASS(14, 2)
#endif
                default:
                    break;
                }
            }
#undef PYNN_PASS
        }
    }
}

/* dst += d * one output channel's patch rows, nv vectors a row. */
static inline __attribute__((always_inline)) void PYNN_FN(dx_patch)(
    const int nv, int64_t rows, real d, const real *wrows, real *dst, int64_t row_len)
{
    const PYNN_FN(cp_vec) dv = (PYNN_FN(cp_vec)){0} + d;
    for (int64_t r = 0; r < rows; ++r, dst += row_len, wrows += nv * VL) {
#pragma GCC unroll 2
        for (int v = 0; v < nv; ++v) {
            PYNN_FN(cp_vec) acc, wv;
            memcpy(&acc, dst + v * VL, sizeof acc);
            memcpy(&wv, wrows + v * VL, sizeof wv);
            acc = PYNN_FN(cp_vfma)(dv, wv, acc);
            memcpy(dst + v * VL, &acc, sizeof acc);
        }
    }
}

/* Each pooled value's gradient times its output channel's weights, added into the patch it
 * was pooled from. Successive patches of a channel overlap, so this adds into memory rather
 * than registers; the rows of one patch lie row_len apart and do not. */
static void PYNN_FN(dx)(const pynn_conv_pool_geom *g, const real *wrows, const real *dy,
                        const int64_t *idx, real *dxpad)
{
    const int64_t nv = g->nv, rows = g->rows, kw = g->kw, pooled = g->pooled;
    const int64_t w_len = rows * nv * VL;
    for (int64_t oc = 0; oc < g->o; ++oc) {
        const real *wo = wrows + oc * w_len;
        for (int64_t p = 0; p < pooled; ++p) {
            const real d = dy[oc * pooled + p];
            real *dst = dxpad + g->pos_off[idx[oc * pooled + p]];
            if (!isfinite(d)) {
                /* The zero lanes past kw would make the neighbours inf * 0 = NaN. */
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t k = 0; k < kw; ++k)
                        dst[r * g->row_len + k] += d * wo[r * nv * VL + k];
            } else if (nv == 1) {
                PYNN_FN(dx_patch)(1, rows, d, wo, dst, g->row_len);
            } else {
                PYNN_FN(dx_patch)(2, rows, d, wo, dst, g->row_len);
            }
        }
    }
}

/* The values [0, n) of a row as a vector, zero past n (n < VL): the lanes past a row's end
 * hold neighbouring values that must not meet the other operand, not even as 0 * inf. */
static inline __attribute__((always_inline)) PYNN_FN(cp_vec)
    PYNN_FN(dw_rows_part)(const real *src, int64_t n)
{
#if defined(__AVX2__)
    /* A masked load (the lanes past n neither read nor fault) of the 256-bit vector these
     * kernels use in the AVX2 and AVX-512 builds: filled lane by lane, the vectors of rows
     * narrower than one (6-wide planes) took most of the weight gradient. Counted in float
     * lanes, a double being two of them. */
    _Static_assert(sizeof(PYNN_FN(cp_vec)) == 32, "a 256-bit vector");
    const int floats = (int)(n * (int64_t)(sizeof(real) / sizeof(float)));
#if defined(__AVX512VL__)
    const __m256 loaded = _mm256_maskz_loadu_ps((__mmask8)((1u << floats) - 1), src);
#else
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 loaded = _mm256_maskload_ps((const float *)src,
                                             _mm256_cmpgt_epi32(_mm256_set1_epi32(floats), lane));
#endif
    PYNN_FN(cp_vec) v;
    memcpy(&v, &loaded, sizeof(v));
    return v;
#else
    PYNN_FN(cp_vec) v = {0};
    for (int64_t l = 0; l < n; ++l)
        v[l] = src[l];
    return v;
#endif
}

/* The image-read weight gradient's blocks: DWR_M output channels x DWR_N taps of sums, DWR_M
 * dy vectors and an image vector in registers (16 registers: 3 x 4; the AVX-512 build's 32:
 * 4 x 6, 10 loads for 24 fused multiply-adds instead of 7 for 12). */
#if CP_VREGS >= 32
#define DWR_M 4
#define DWR_N 6
#else
#define DWR_M 3
#define DWR_N 4
#endif

/* acc (dm output channels x dn taps, VL partial sums each, `taps` vectors apart per channel)
 * += the products of dm planes of dy (oc_step apart) with dn taps' rows of the image, over
 * every output row. dm and dn are constants where this is inlined, so the dm x dn sums stay
 * in registers: dm + dn loads feed dm * dn fused multiply-adds. */
static inline __attribute__((always_inline)) void PYNN_FN(dw_rows_block)(
    const int dm, const int dn, const pynn_conv_rows_geom *g, const real *x, const int64_t *off,
    const real *dy, real *acc)
{
    const int64_t ow = g->ow, full = ow / VL * VL, rest = ow - full;
    PYNN_FN(cp_vec) s[DWR_M][DWR_N], d[DWR_M];
    int64_t o[DWR_N];
#pragma GCC unroll 6
    for (int b = 0; b < dn; ++b)
        o[b] = off[b];
#pragma GCC unroll 4
    for (int a = 0; a < dm; ++a)
#pragma GCC unroll 6
        for (int b = 0; b < dn; ++b)
            memcpy(&s[a][b], acc + (a * g->taps + b) * VL, sizeof(PYNN_FN(cp_vec)));
    for (int64_t oy = 0; oy < g->oh; ++oy) {
        const real *dyr = dy + oy * ow, *xr = x + oy * g->x_row;
        for (int64_t v = 0; v < full; v += VL) {
#pragma GCC unroll 4
            for (int a = 0; a < dm; ++a)
                memcpy(&d[a], dyr + a * g->oc_step + v, sizeof(PYNN_FN(cp_vec)));
#pragma GCC unroll 6
            for (int b = 0; b < dn; ++b) {
                PYNN_FN(cp_vec) xv;
                memcpy(&xv, xr + o[b] + v, sizeof(PYNN_FN(cp_vec)));
#pragma GCC unroll 4
                for (int a = 0; a < dm; ++a)
                    s[a][b] = PYNN_FN(cp_vfma)(d[a], xv, s[a][b]);
            }
        }
        if (rest) {
#pragma GCC unroll 4
            for (int a = 0; a < dm; ++a)
                d[a] = PYNN_FN(dw_rows_part)(dyr + a * g->oc_step + full, rest);
#pragma GCC unroll 6
            for (int b = 0; b < dn; ++b) {
                const PYNN_FN(cp_vec) xv = PYNN_FN(dw_rows_part)(xr + o[b] + full, rest);
#pragma GCC unroll 4
                for (int a = 0; a < dm; ++a)
                    s[a][b] = PYNN_FN(cp_vfma)(d[a], xv, s[a][b]);
            }
        }
    }
#pragma GCC unroll 4
    for (int a = 0; a < dm; ++a)
#pragma GCC unroll 6
        for (int b = 0; b < dn; ++b)
            memcpy(acc + (a * g->taps + b) * VL, &s[a][b], sizeof(PYNN_FN(cp_vec)));
}

/* Blocks of DWR_M output channels x DWR_N taps; the ragged last ones with fewer, each shape a
 * constant. */
static void PYNN_FN(dw_rows)(const pynn_conv_rows_geom *g, const real *x, const real *dy,
                             real *acc)
{
    for (int64_t oc = 0; oc < g->o; oc += DWR_M) {
        const int dm = (int)PYNN_MIN(DWR_M, g->o - oc);
        const real *dyo = dy + oc * g->oc_step;
        real *acco = acc + oc * g->taps * VL;
        for (int64_t t = 0; t < g->taps; t += DWR_N) {
            const int dn = (int)PYNN_MIN(DWR_N, g->taps - t);
            const int64_t *off = g->tap_off + t;
            real *a = acco + t * VL;
#define PYNN_DWR_BLOCK(m, n)                                                                       \
    case (m) * 8 + (n):                                                                            \
        PYNN_FN(dw_rows_block)(m, n, g, x, off, dyo, a);                                           \
        break;
#if DWR_N > 4
#define PYNN_DWR_ROW(m)                                                                            \
    PYNN_DWR_BLOCK(m, 1) PYNN_DWR_BLOCK(m, 2) PYNN_DWR_BLOCK(m, 3) PYNN_DWR_BLOCK(m, 4)           \
    PYNN_DWR_BLOCK(m, 5) PYNN_DWR_BLOCK(m, 6)
#else
#define PYNN_DWR_ROW(m)                                                                            \
    PYNN_DWR_BLOCK(m, 1) PYNN_DWR_BLOCK(m, 2) PYNN_DWR_BLOCK(m, 3) PYNN_DWR_BLOCK(m, 4)
#endif
            switch (dm * 8 + dn) {
                PYNN_DWR_ROW(1) PYNN_DWR_ROW(2) PYNN_DWR_ROW(3)
#if DWR_M > 3
                PYNN_DWR_ROW(4)
#endif
            default:
                break;
            }
#undef PYNN_DWR_ROW
#undef PYNN_DWR_BLOCK
        }
    }
}

/* The flat weight gradient's vectors are the ISA's own (512 bits and 32 registers in the
 * AVX-512 build): its operands are long rows, not patch rows, and the larger block halves
 * the loads per fused multiply-add. Blocks of DWF_M output channels x DWF_N taps. */
#define NVL ((int64_t)(sizeof(PYNN_FN(vec)) / sizeof(real)))
#if VREGS >= 32
#define DWF_M 4
#define DWF_N 6
#else
#define DWF_M 3
#define DWF_N 4
#endif

/* The sum of v's lanes, in a fixed order. */
static inline __attribute__((always_inline)) real PYNN_FN(vsum)(PYNN_FN(vec) v)
{
#if VBYTES == 64 && defined(__AVX512F__)
    if (sizeof(real) == sizeof(float))
        return (real)_mm512_reduce_add_ps((__m512)v);
    return (real)_mm512_reduce_add_pd((__m512d)v);
#else
    real sum = 0;
    for (int64_t l = 0; l < NVL; ++l)
        sum += v[l];
    return sum;
#endif
}

/* dw (dm output channels x dn taps, rows `taps` apart) += dm rows of dy times dn taps' rows of
 * the image, over the oh images; dm and dn are constants where this is inlined, so the
 * dm x dn sums stay in registers: dm + dn loads feed dm * dn fused multiply-adds. The sums
 * are reduced once for all images: those reductions were a twelfth of the kernel's time with
 * one image a call. */
static inline __attribute__((always_inline)) void PYNN_FN(dw_flat_block)(
    const int dm, const int dn, const pynn_conv_rows_geom *g, const real *x, const int64_t *off,
    const real *dy, real *dw)
{
    PYNN_FN(vec) s[DWF_M][DWF_N], d[DWF_M];
    const real *xb[DWF_N];
#pragma GCC unroll 8
    for (int b = 0; b < dn; ++b)
        xb[b] = x + off[b];
#pragma GCC unroll 4
    for (int a = 0; a < dm; ++a)
#pragma GCC unroll 8
        for (int b = 0; b < dn; ++b)
            s[a][b] = (PYNN_FN(vec)){0};
    for (int64_t i = 0; i < g->oh; ++i, dy += g->o * g->oc_step) {
        for (int64_t v = 0; v < g->ow; v += NVL) {
#pragma GCC unroll 4
            for (int a = 0; a < dm; ++a)
                memcpy(&d[a], dy + a * g->oc_step + v, sizeof(PYNN_FN(vec)));
#pragma GCC unroll 8
            for (int b = 0; b < dn; ++b) {
                PYNN_FN(vec) xv;
                memcpy(&xv, xb[b] + i * g->x_row + v, sizeof xv);
#pragma GCC unroll 4
                for (int a = 0; a < dm; ++a)
                    s[a][b] = PYNN_FN(pynn_vfma)(d[a], xv, s[a][b]);
            }
        }
    }
#pragma GCC unroll 4
    for (int a = 0; a < dm; ++a)
#pragma GCC unroll 8
        for (int b = 0; b < dn; ++b)
            dw[a * g->taps + b] += PYNN_FN(vsum)(s[a][b]);
}

static void PYNN_FN(dw_flat)(const pynn_conv_rows_geom *g, const real *x, const real *dy,
                             real *dw)
{
    for (int64_t oc = 0; oc < g->o; oc += DWF_M) {
        const int dm = (int)PYNN_MIN(DWF_M, g->o - oc);
        const real *dyo = dy + oc * g->oc_step;
        real *dwo = dw + oc * g->taps;
        for (int64_t t = 0; t < g->taps; t += DWF_N) {
            const int dn = (int)PYNN_MIN(DWF_N, g->taps - t);
            const int64_t *off = g->tap_off + t;
            /* every (dm, dn) as constants */
#define PYNN_DWF(m, n)                                                                             \
    case (m) * 8 + (n):                                                                            \
        PYNN_FN(dw_flat_block)(m, n, g, x, off, dyo, dwo + t);                                     \
        break;
#define PYNN_DWF_ROW(m)                                                                            \
    PYNN_DWF(m, 1) PYNN_DWF(m, 2) PYNN_DWF(m, 3) PYNN_DWF(m, 4)
            switch (dm * 8 + dn) {
                PYNN_DWF_ROW(1) PYNN_DWF_ROW(2) PYNN_DWF_ROW(3)
#if DWF_M > 3
                PYNN_DWF_ROW(4) PYNN_DWF(1, 5) PYNN_DWF(1, 6) PYNN_DWF(2, 5) PYNN_DWF(2, 6)
                PYNN_DWF(3, 5) PYNN_DWF(3, 6) PYNN_DWF(4, 5) PYNN_DWF(4, 6)
#endif
            default:
                break;
            }
#undef PYNN_DWF_ROW
#undef PYNN_DWF
        }
    }
}
#undef NVL

/* One output row of the common 2x2, stride 2, unpadded pooling: every window is whole. The
 * two pairs of a window are compared first, then their winners, which gives the row-major
 * rule (the first maximum, or the last NaN) with independent selects; the position is kept
 * as a small offset and widened in a second loop. Both loops vectorise, which comparing the
 * four candidates in a chain does not. */
static void PYNN_FN(maxpool_row_2x2)(const real *PYNN_RESTRICT xp, int64_t w, int64_t ow,
                                     int64_t iy, real *PYNN_RESTRICT yrow,
                                     int64_t *PYNN_RESTRICT irow)
{
    const real *r0 = xp + iy * w, *r1 = r0 + w;
    int32_t offset[PYNN_POOL_ROW_BLOCK];
    const int64_t done = PYNN_FN(maxpool_vec_2x2)(r0, r1, w, ow, iy * w, yrow, irow);
    for (int64_t start = done; start < ow; start += PYNN_POOL_ROW_BLOCK) {
        const int64_t len = PYNN_MIN(PYNN_POOL_ROW_BLOCK, ow - start);
        const real *a0 = r0 + 2 * start, *a1 = r1 + 2 * start;
        for (int64_t j = 0; j < len; ++j) {
            const real a = a0[2 * j], b = a0[2 * j + 1], c = a1[2 * j], d = a1[2 * j + 1];
            const int top = (b > a) | (b != b), bottom = (d > c) | (d != d);
            const real m_top = PYNN_FN(pynn_select)(top, b, a);
            const real m_bottom = PYNN_FN(pynn_select)(bottom, d, c);
            const int lower = (m_bottom > m_top) | (m_bottom != m_bottom);
            yrow[start + j] = PYNN_FN(pynn_select)(lower, m_bottom, m_top);
            offset[j] = pynn_select_i32(lower, (int32_t)w + bottom, top);
        }
        const int64_t at = iy * w + 2 * start;
        for (int64_t j = 0; j < len; ++j)
            irow[start + j] = at + 2 * j + offset[j];
    }
}

static double PYNN_FN(sum)(const real *x, int64_t n) { return PYNN_FN(pynn_sum)(x, n); }

static void PYNN_FN(maxpool_2x2)(const real *x, int64_t w, int64_t oh, int64_t ow, real *y,
                                 int64_t *idx)
{
    for (int64_t oy = 0; oy < oh; ++oy)
        PYNN_FN(maxpool_row_2x2)(x, w, ow, 2 * oy, y + oy * ow, idx + oy * ow);
}

#define FR_NAME(x) PYNN_FN(x)
#define FR_VEC PYNN_FN(cp_vec)
#define FR_IVEC PYNN_FN(cp_ivec)
#define FR_FMA PYNN_FN(cp_vfma)
#define FR_N 3
#define FR_UNROLL _Pragma("GCC unroll 3")
#define FR_WIDEN_F32(v) _mm512_castps256_ps512((__m256)(v))
#define FR_WIDEN_F64(v) _mm512_castpd256_pd512((__m256d)(v))
#include "conv_rows_fwd.h" /* 256-bit vectors */
#undef FR_NAME
#undef FR_VEC
#undef FR_IVEC
#undef FR_FMA
#undef FR_N
#undef FR_UNROLL
#undef FR_WIDEN_F32
#undef FR_WIDEN_F64
#define FR_NAME(x) PYNN_FN(x##_wide)
#define FR_VEC PYNN_FN(vec)
#define FR_IVEC PYNN_FN(ivec)
#define FR_FMA PYNN_FN(pynn_vfma)
#define FR_N (VREGS >= 32 ? 6 : 3)
#if VREGS >= 32
#define FR_UNROLL _Pragma("GCC unroll 6")
#else
#define FR_UNROLL _Pragma("GCC unroll 3")
#endif
#define FR_WIDEN_F32(v) ((__m512)(v))
#define FR_WIDEN_F64(v) ((__m512d)(v))
#include "conv_rows_fwd.h" /* the ISA's vectors */
#undef FR_NAME
#undef FR_VEC
#undef FR_IVEC
#undef FR_FMA
#undef FR_N
#undef FR_UNROLL
#undef FR_WIDEN_F32
#undef FR_WIDEN_F64
#include "conv_oc.h"

#undef VL
#endif
