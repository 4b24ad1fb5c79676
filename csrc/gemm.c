/* General matrix multiply, Goto/BLIS style (contract in gemm.h).
 *
 * Loops, outermost first: jc over nc-column blocks of B and C; pc over kc-deep blocks of
 * the inner dimension, for which the whole team packs B[pc:pc+kc, jc:jc+nc] into NR-column
 * micro-panels (kept in L3, shared); then each thread, over its own rows in mc-row blocks,
 * packs A[ic:ic+mc, pc:pc+kc] into MR-row micro-panels (kept in L2), and runs the
 * register-blocked micro-kernel over every (NR-column micro-panel of its share, MR-row
 * micro-panel) pair: the B micro-panel stays in L1 while the A micro-panels stream past it.
 * Packing reads A and B through arbitrary strides, so transposed and strided operands cost
 * nothing extra. The micro-kernel finishes each tile through a fused epilogue: alpha, beta
 * (first kc block only; later blocks accumulate), bias and ReLU (last kc block only).
 *
 * Small problems skip packing and threads (gemm_direct). Products with a short side and a
 * long k, or small ones with a very long k, whose operands both run contiguously along k (A
 * row-major times B^T row-major, as in a convolution's weight gradient or a Linear layer's
 * forward) take the dot form instead, which reads both in place
 * and reduces along k in vectors (gemm_use_dot, gemm_dot_tmpl.h); so does a narrow row-major
 * B, copied k-contiguous first (gemm_narrow_b_to_dot). The micro-kernels and their
 * register blocks per instruction set live in gemm_kernel.c; the cache blocks come from the
 * caches of the machine, read once at first use (gemm_model, gemm_blocks). */
#include <string.h>

#include "cpu.h"
#include "gemm.h"
#include "gemm_kernel.h"

/* The path cut-offs below stay fixed counts rather than work against a per-machine figure:
 * - the direct and per-thread limits are already work (multiply-adds). The figure behind the
 *   per-thread one, the time to wake a thread over the work a core does in it, depends on
 *   the OpenMP runtime and the load as much as on the CPU, and could not be fitted on a
 *   shared host (other users' load made its 2-thread timings of small products noise); it
 *   stays as first measured (bench/RESULTS.md, "Measurements behind the kernels' choices");
 * - the packing cut-offs count how often a packed panel is reused, the ratio of work to
 *   copying on any machine;
 * - the dot-form cut-offs compare two kernels' shapes of waste (reductions against idle
 *   lanes and copies), in units of k and of the register block, not of the caches. */
/* Below this many multiply-adds packing costs more than it saves. */
#define GEMM_DIRECT_MAX_FMAS 4096
/* Pack A only when B has more than this many NR-column panels to reuse it ... */
#define GEMM_PACK_A_MIN_PANELS 4
/* ... and B only when A has more than this many MR-row panels (or B is not row-major). */
#define GEMM_PACK_B_MIN_PANELS 8
/* Each extra thread must get at least this many multiply-adds to pay for waking it. */
#define GEMM_FMAS_PER_THREAD (64 * 64 * 32)

/* The dot form (no packing) when both operands are contiguous along k, k is at least this
 * long, and C has a side at most GEMM_DOT_MAX_SIDE long: packing a transposed B (its
 * columns are rows of B^T) costs about a cycle per element, which a skinny A does not
 * amortise, while the dot form's per-element reduction needs a long k to vanish: it won on
 * a conv weight gradient (6 x 25 x 784) and on 16 x 150 x 512, and lost at k = 128 or 64
 * (bench/RESULTS.md, "Measurements behind the kernels' choices"). */
#define GEMM_DOT_MIN_K 256
#define GEMM_DOT_MAX_SIDE 32
/* Also when both sides are at most GEMM_DOT_LONG_MAX_SIDE and k is at least
 * GEMM_DOT_LONG_MIN_K: a Linear layer fed flattened convolution features, x W^T with
 * 100 x 4320 x 100, ran faster in the dot form, because packing both operands took a large
 * share of the time. At k = 256-784 the dot form's reductions made it the slower of the two
 * (bench/RESULTS.md, "Measurements behind the kernels' choices"). Every A block streams all
 * of B^T, so B^T must stay cache-sized (GEMM_DOT_LONG_MAX_ELEMS elements). */
#define GEMM_DOT_LONG_MIN_K 2048
#define GEMM_DOT_LONG_MAX_SIDE 128
#define GEMM_DOT_LONG_MAX_ELEMS ((int64_t)1 << 20)

/* A row-major B of at most GEMM_DOT_MAX_SIDE columns, whose packed micro-panels would leave
 * over a quarter of their lanes idle, is copied k-contiguous (n x k elements, little beside
 * the m x n x k product) so that the dot form applies. The classifier head 128 x 256 x 10
 * uses 10 of 16 lanes packed and ran faster in the dot form; at n = 16 packing was ahead
 * (bench/RESULTS.md, "Measurements behind the kernels' choices"). */
static int gemm_narrow_b_to_dot(int64_t n, int64_t k, int64_t nr)
{
    const int64_t half = nr / 2, padded = (n + half - 1) / half * half;
    return k >= GEMM_DOT_MIN_K && n <= GEMM_DOT_MAX_SIDE && 4 * n < 3 * padded;
}

/* Tasks per thread and phase: enough for a fast thread to make up for a slow one. */
#define GEMM_TASKS_PER_THREAD 4

/* The next task number from a counter shared by the team (first come, first served). */
static inline int64_t gemm_claim(int64_t *counter)
{
    int64_t t;
    PYNN_OMP(atomic capture)
    t = (*counter)++;
    return t;
}

static int gemm_is_small(int64_t m, int64_t n, int64_t k)
{
    return m * n * k <= GEMM_DIRECT_MAX_FMAS;
}

static int gemm_use_dot(int64_t m, int64_t n, int64_t k, int64_t csa, int64_t rsb)
{
    if (csa != 1 || rsb != 1 || k < GEMM_DOT_MIN_K)
        return 0;
    if (PYNN_MIN(m, n) <= GEMM_DOT_MAX_SIDE)
        return 1;
    const int64_t side = PYNN_MAX(m, n);
    return k >= GEMM_DOT_LONG_MIN_K && side <= GEMM_DOT_LONG_MAX_SIDE &&
           side * k <= GEMM_DOT_LONG_MAX_ELEMS;
}

static int gemm_threads(int64_t m, int64_t n, int64_t k, int64_t mr, int64_t nr, int n_threads)
{
    const int64_t tiles = ((m + mr - 1) / mr) * ((n + nr - 1) / nr);
    int64_t nt = PYNN_MIN((int64_t)n_threads, m * n * k / GEMM_FMAS_PER_THREAD);
    nt = PYNN_MIN(nt, tiles);
    return nt < 1 ? 1 : (int)nt;
}

static const pynn_gemm_desc *gemm_desc(int isa)
{
    return PYNN_ISA_DESC(pynn_gemm_desc, isa);
}

/* Ways of a `way`-byte cache way that `bytes` of consecutive memory occupy. */
static int64_t gemm_ways(int64_t bytes, int64_t way) { return (bytes + way - 1) / way; }

/* The cache blocks for an mr x nr register block of `size`-byte elements, after the
 * analytical model of Low et al. ("Analytical Modeling Is Enough for High-Performance BLIS",
 * ACM TOMS 2016), adapted to this driver's loop order, where the micro-kernel keeps one
 * kc x nr micro-panel of B and streams mr x kc micro-panels of A past it:
 * - kc: one A micro-panel in L1 with one way left over (the paper's condition), but not the
 *   B micro-panel, which streams from L2: the kernel reads it as nr-wide vectors, nr * size
 *   bytes for every mr vector FMAs, far below what L2 delivers, and a deeper panel spreads
 *   the load and store of each C tile over more work. Holding both panels in L1, as the paper
 *   does, gives a shallower kc, slower than 512-768 on large squares and 4096 x 512 x 128
 *   (bench/RESULTS.md, "GEMM blocking from the caches").
 *   The B micro-panel is kept to an eighth of this core's share of L2, so that A's block
 *   keeps most of it.
 * - mc: the mc x kc block of A in the ways of this core's share of L2 that neither a B
 *   micro-panel nor one way for C's tiles and the data being packed take.
 * - nc: the kc x nc block of B in this core's share of L3 less one way. Without L3 the
 *   block streams from memory once per depth block (its micro-panels are then reused from
 *   L2), so nc only sets how often A's blocks are packed again: GEMM_NC_NO_L3 columns.
 * Sizes round down to whole micro-panels (kc to a multiple of 8 for the unrolled loop), and
 * never below GEMM_MIN_KC deep or GEMM_MIN_NC wide: a cache too small for the model still
 * gets blocks that amortise the packing. Unknown associativity counts as 8 ways (16 in L3).
 * kc_given > 0 replaces the model's kc (PYNN_GEMM_BLOCKING), mc and nc then follow it. */
#define GEMM_MIN_KC 32
#define GEMM_MIN_NC 512
#define GEMM_NC_NO_L3 4096

static void gemm_model(int64_t mr, int64_t nr, int64_t size, const pynn_cache_info *ci,
                       int64_t kc_given, pynn_gemm_blocking *out)
{
    const pynn_cache_level *l1 = &ci->l1d, *l2 = &ci->l2, *l3 = &ci->l3;
    out->mr = mr, out->nr = nr;

    const int64_t w1 = l1->ways > 0 ? l1->ways : 8, way1 = PYNN_MAX(l1->size / w1, 1);
    const int64_t w2 = l2->ways > 0 ? l2->ways : 8;
    const int64_t share2 = l2->sharing > 0 ? l2->sharing : 1, l2_mine = l2->size / share2;
    int64_t kc = kc_given;
    if (kc <= 0) {
        kc = (w1 >= 2 ? w1 - 1 : 1) * way1 / (mr * size);
        kc = PYNN_MIN(kc, l2_mine / 8 / (nr * size));
        kc = PYNN_MAX(kc / 8 * 8, (int64_t)GEMM_MIN_KC);
    }
    out->kc = kc;

    const int64_t way2 = PYNN_MAX(l2->size / w2, 1);
    const int64_t a_ways = w2 - 1 - gemm_ways(nr * kc * size, way2);
    const int64_t mc = PYNN_MAX(a_ways, 1) * way2 / share2 / (kc * size);
    out->mc = PYNN_MAX(mc / mr, 1) * mr;

    int64_t nc = GEMM_NC_NO_L3;
    if (l3->size > 0) {
        const int64_t w3 = l3->ways > 0 ? l3->ways : 16;
        const int64_t share3 = l3->sharing > 0 ? l3->sharing : 1;
        nc = l3->size / w3 * (w3 - 1) / share3 / (kc * size);
    }
    out->nc = PYNN_MAX(nc / nr, (GEMM_MIN_NC + nr - 1) / nr) * nr;
}

void pynn_gemm_blocking_model(int isa, int f64, const pynn_cache_info *caches, int64_t out[5])
{
    const pynn_gemm_regblock *rb = f64 ? &gemm_desc(isa)->f64 : &gemm_desc(isa)->f32;
    pynn_gemm_blocking bl;
    gemm_model(rb->mr, rb->nr, f64 ? 8 : 4, caches, 0, &bl);
    out[0] = bl.mr, out[1] = bl.nr, out[2] = bl.kc, out[3] = bl.mc, out[4] = bl.nc;
}

/* The blocks every call uses, per ISA and precision, set once on first use. */
static pynn_gemm_blocking gemm_table[PYNN_ISA_AVX512 + 1][2];
static int gemm_table_source;
static pynn_once_flag gemm_table_once = PYNN_ONCE_INIT;

/* PYNN_GEMM_BLOCKING="mc,kc,nc": three fields, each a positive integer or empty (the
 * model's value). 1 when it parses, with the values in v[] (0 where empty). */
static int gemm_parse_override(const char *s, int64_t v[3])
{
    for (int i = 0; i < 3; ++i) {
        v[i] = 0;
        if (*s >= '0' && *s <= '9') {
            char *end;
            const long long x = strtoll(s, &end, 10);
            if (x <= 0 || x > (1 << 24))
                return 0;
            v[i] = (int64_t)x;
            s = end;
        }
        if (i < 2 && *s++ != ',')
            return 0;
    }
    return *s == 0;
}

static void gemm_table_init(void)
{
    const pynn_cache_info *ci = pynn_cpu_caches();
    const char *env = getenv("PYNN_GEMM_BLOCKING");
    int64_t v[3] = {0, 0, 0};
    gemm_table_source = PYNN_GEMM_FROM_MODEL;
    if (env && *env)
        gemm_table_source = gemm_parse_override(env, v) ? PYNN_GEMM_FROM_ENV
                                                        : PYNN_GEMM_FROM_MODEL_BAD_ENV;
    for (int isa = 0; isa <= PYNN_ISA_AVX512; ++isa)
        for (int f64 = 0; f64 < 2; ++f64) {
            pynn_gemm_blocking *bl = &gemm_table[isa][f64];
            const pynn_gemm_regblock *rb = f64 ? &gemm_desc(isa)->f64 : &gemm_desc(isa)->f32;
            const int from_env = gemm_table_source == PYNN_GEMM_FROM_ENV;
            gemm_model(rb->mr, rb->nr, f64 ? 8 : 4, ci, from_env ? v[1] : 0, bl);
            if (!from_env)
                continue;
            if (v[0])
                bl->mc = (v[0] + bl->mr - 1) / bl->mr * bl->mr;
            if (v[2])
                bl->nc = (v[2] + bl->nr - 1) / bl->nr * bl->nr;
        }
}

static const pynn_gemm_blocking *gemm_blocks(int isa, int f64)
{
    pynn_call_once(&gemm_table_once, gemm_table_init);
    return &gemm_table[isa][f64 != 0];
}

/* dst[p * ldd + r] := src[r * lds + p] for r < w, p < kc: the transposing copy that packing a
 * row-major A into MR-row micro-panels, or a column-major B (B^T row-major, as in x W^T) into
 * NR-column ones, comes down to. Done in 4 x 4 (float) or 2 x 2 (double) blocks of 16-byte
 * vectors, whose shuffles every target has (SSE2, NEON): element by element, it cost about a
 * third of the multiply in a convolution's weight gradient. Rows past the last whole group,
 * and compilers without __builtin_shufflevector (GCC before 12), take the scalar loop. */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define GEMM_VECTOR_TRANSPOSE 1
typedef float gemm_v4f __attribute__((vector_size(16)));
typedef double gemm_v2d __attribute__((vector_size(16)));
#else
#define GEMM_VECTOR_TRANSPOSE 0
#endif

static void transpose_into_f32(const float *PYNN_RESTRICT src, int64_t lds, int64_t w,
                               int64_t kc, float *PYNN_RESTRICT dst, int64_t ldd)
{
    int64_t p = 0;
#if GEMM_VECTOR_TRANSPOSE
    const int64_t w4 = w / 4 * 4;
    for (; p + 4 <= kc; p += 4) {
        for (int64_t r = 0; r < w4; r += 4) {
            const float *s = src + r * lds + p;
            gemm_v4f r0, r1, r2, r3;
            memcpy(&r0, s, sizeof r0);
            memcpy(&r1, s + lds, sizeof r1);
            memcpy(&r2, s + 2 * lds, sizeof r2);
            memcpy(&r3, s + 3 * lds, sizeof r3);
            const gemm_v4f t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
            const gemm_v4f t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
            const gemm_v4f t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
            const gemm_v4f t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
            const gemm_v4f c0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
            const gemm_v4f c1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
            const gemm_v4f c2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
            const gemm_v4f c3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
            float *d = dst + p * ldd + r;
            memcpy(d, &c0, sizeof c0);
            memcpy(d + ldd, &c1, sizeof c1);
            memcpy(d + 2 * ldd, &c2, sizeof c2);
            memcpy(d + 3 * ldd, &c3, sizeof c3);
        }
        for (int64_t r = w4; r < w; ++r)
            for (int64_t q = p; q < p + 4; ++q)
                dst[q * ldd + r] = src[r * lds + q];
    }
#endif
    for (; p < kc; ++p)
        for (int64_t r = 0; r < w; ++r)
            dst[p * ldd + r] = src[r * lds + p];
}

static void transpose_into_f64(const double *PYNN_RESTRICT src, int64_t lds, int64_t w,
                               int64_t kc, double *PYNN_RESTRICT dst, int64_t ldd)
{
    int64_t p = 0;
#if GEMM_VECTOR_TRANSPOSE
    const int64_t w2 = w / 2 * 2;
    for (; p + 2 <= kc; p += 2) {
        for (int64_t r = 0; r < w2; r += 2) {
            const double *s = src + r * lds + p;
            gemm_v2d r0, r1;
            memcpy(&r0, s, sizeof r0);
            memcpy(&r1, s + lds, sizeof r1);
            const gemm_v2d c0 = __builtin_shufflevector(r0, r1, 0, 2);
            const gemm_v2d c1 = __builtin_shufflevector(r0, r1, 1, 3);
            double *d = dst + p * ldd + r;
            memcpy(d, &c0, sizeof c0);
            memcpy(d + ldd, &c1, sizeof c1);
        }
        for (int64_t r = w2; r < w; ++r)
            for (int64_t q = p; q < p + 2; ++q)
                dst[q * ldd + r] = src[r * lds + q];
    }
#endif
    for (; p < kc; ++p)
        for (int64_t r = 0; r < w; ++r)
            dst[p * ldd + r] = src[r * lds + p];
}

#define T float
#define SFX f32
#include "gemm_tmpl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "gemm_tmpl.h"
#undef T
#undef SFX

int pynn_gemm_blocking_of(int isa, int f64, int64_t out[5])
{
    const pynn_gemm_blocking *bl = gemm_blocks(isa, f64);
    out[0] = bl->mr, out[1] = bl->nr, out[2] = bl->kc, out[3] = bl->mc, out[4] = bl->nc;
    return gemm_table_source;
}

int64_t pynn_fma_probe_f32(int isa, int64_t rounds, float *sink)
{
    return gemm_desc(isa)->fma_probe_f32(rounds, sink);
}
