/* General matrix multiply, Goto/BLIS style (contract in gemm.h).
 *
 * Loops, outermost first: jc over nc-column blocks of B and C; pc over kc-deep blocks of
 * the inner dimension, for which B[pc:pc+kc, jc:jc+nc] is packed into NR-column micro-panels
 * by each thread for its own rows (kept in its share of L3), or once for the whole team when
 * B must be packed and the rows are few, or else read in place (gemm_blocked); then each
 * thread, over its own rows in mc-row blocks, packs A[ic:ic+mc, pc:pc+kc] into MR-row
 * micro-panels (kept in L2), and runs the
 * register-blocked micro-kernel over every (NR-column micro-panel of its share, MR-row
 * micro-panel) pair: the B micro-panel stays in L1 while the A micro-panels stream past it.
 * Packing reads A and B through arbitrary strides, so transposed and strided operands cost
 * nothing extra. The micro-kernel finishes each tile through a fused epilogue: alpha, beta
 * (first kc block only; later blocks accumulate), bias and ReLU (last kc block only).
 *
 * Small problems skip packing and threads (gemm_direct). Products with a short side and a
 * long k, or small ones with a very long k, whose operands both run contiguously along k (A
 * row-major times B^T row-major, as in a convolution's weight gradient or a Linear layer's
 * forward) take the dot form instead, which reads both in place and reduces along k in
 * vectors (gemm_use_dot, gemm_kernel.c); so does a narrow row-major B, copied k-contiguous
 * first (gemm_narrow_b_to_dot), and the narrow ragged last column panel of a wider product,
 * the rest of which is blocked (gemm_narrow_tail_to_dot). The micro-kernels and their
 * register blocks per instruction set live in gemm_kernel.c; the cache blocks come from the
 * caches of the machine, read once at first use (gemm_model, gemm_blocks). */
#ifndef PYNN_FN
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

/* The height of the micro-kernel that runs an mr-row panel of A (one_vec: a one-vector-wide
 * panel of B): MR, or for a ragged last panel of at most MR / 2 or MR / 3 rows (16 = 12 + 4
 * rows of a convolution's im2col product) a kernel of that height, not MR rows' work. The
 * one-vector kernels come in MR and MR / 2 rows only. */
static int64_t gemm_ukr_rows(int64_t mr, int64_t MR, int one_vec)
{
    if (!one_vec && 3 * mr <= MR)
        return MR / 3;
    return 2 * mr <= MR ? MR / 2 : MR;
}

/* The same for the ragged last column panel of a wider product (100 output features are
 * 3 x 32 + 4): when its micro-kernel, one vector wide if the panel fits in one, would leave
 * over a quarter of its lanes idle and k is long enough for the dot form, those columns take
 * the dot form (their B^T copied k-contiguous, unless B^T is row-major) and the rest the
 * blocked path. */
static int gemm_narrow_tail_to_dot(int64_t tail, int64_t k, int64_t nr)
{
    const int64_t width = 2 * tail <= nr ? nr / 2 : nr;
    return tail > 0 && k >= GEMM_DOT_MIN_K && 4 * tail < 3 * width;
}

/* Tasks per thread and phase: enough for a fast thread to make up for a slow one ... */
#define GEMM_TASKS_PER_THREAD 4
/* ... but each of at least this many multiply-adds: a task is claimed from a counter shared by
 * the team, and that cache line moves between the cores at every claim (the team's round
 * trip, 50 to 350 ns on the Zen 4 VMs of bench/RESULTS.md). A square 64 product dealt out
 * in 12 one-tile tasks spent a quarter of its 2-thread time claiming them, and ran slower
 * than on one thread. */
#define GEMM_FMAS_PER_TASK (64 * 64 * 16)

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

/* How many tasks a team of nt threads deals a phase of `fmas` multiply-adds out in. */
static int64_t gemm_tasks(int64_t fmas, int nt)
{
    return PYNN_MIN((int64_t)GEMM_TASKS_PER_THREAD * nt,
                    PYNN_MAX((int64_t)nt, fmas / GEMM_FMAS_PER_TASK));
}

static int gemm_threads(int64_t m, int64_t n, int64_t k, int64_t mr, int64_t nr, int n_threads)
{
    const int64_t tiles = ((m + mr - 1) / mr) * ((n + nr - 1) / nr);
    int64_t nt = PYNN_MIN((int64_t)n_threads, m * n * k / GEMM_FMAS_PER_THREAD);
    nt = PYNN_MIN(nt, tiles);
    return nt < 1 ? 1 : (int)nt;
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
    const pynn_gemm_desc *desc = pynn_gemm_kernels(isa);
    const pynn_gemm_regblock *rb = f64 ? &desc->f64 : &desc->f32;
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
            const pynn_gemm_desc *desc = pynn_gemm_kernels(isa);
            const pynn_gemm_regblock *rb = f64 ? &desc->f64 : &desc->f32;
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

#define PYNN_TEMPLATE "gemm.c"
#include "pynn_template.h"

int pynn_gemm_blocking_of(int isa, int f64, int64_t out[5])
{
    const pynn_gemm_blocking *bl = gemm_blocks(isa, f64);
    out[0] = bl->mr, out[1] = bl->nr, out[2] = bl->kc, out[3] = bl->mc, out[4] = bl->nc;
    return gemm_table_source;
}

int64_t pynn_fma_probe_f32(int isa, int64_t rounds, float *sink)
{
    return pynn_gemm_kernels(isa)->fma_probe_f32(rounds, sink);
}

#else /* the template, for each real (pynn_template.h) */
#define CTX PYNN_FN(gemm_ctx)

typedef struct {
    int64_t m, n, k;
    real alpha, beta;
    const real *a;
    int64_t rsa, csa;
    const real *b;
    int64_t rsb, csb;
    real *c;
    int64_t rsc, csc;
    const real *bias;
    int bias_axis, relu;
    PYNN_FN(pynn_gemm_ukr) ukr, ukr_half, ukr_short, ukr_half_short, ukr_third;
    int64_t vl;                 /* lanes of one vector: the one-vector kernels' width */
    int64_t mr, nr, kc, mc, nc; /* kc and nc balanced so that the last block is not a sliver */
    int pack_a, pack_b;         /* 0: read that operand in place (see pynn_gemm_*) */
    int b_private;              /* each thread packs the B blocks its rows need */
    const real *b_prepacked;    /* B packed before the call (pynn_gemm_packed), or NULL */
    real *bpack;                /* kc x nc, shared by the team (pack_b), or one per thread
                                   (b_private), bpack_size elements apart */
    int64_t bpack_size;
    real *apack;                /* per thread, apack_size elements apart: an mc x kc block of
                                   A (pack_a), else one MR x kc edge micro-panel of A; then
                                   one kc x NR edge micro-panel of B (!pack_b) */
    int64_t apack_size, ablock_size;
    int64_t *counters;          /* task counters: with pack_b two (pack B, multiply) per
                                   (jc, pc) block, else one per jc block */
} CTX;

/* C(i, j) := relu?(alpha * acc + beta * C(i, j) + bias) for one row of jn values; beta == 0
 * never reads C. Used by the direct path, where nothing is packed. */
static void PYNN_FN(store_row)(const CTX *x, int64_t i, int64_t j0, int64_t jn, const real *acc)
{
    real *ci = x->c + i * x->rsc + j0 * x->csc;
    for (int64_t j = 0; j < jn; ++j) {
        real v = x->alpha * acc[j];
        if (x->beta != 0)
            v += x->beta * ci[j * x->csc];
        if (x->bias)
            v += x->bias[x->bias_axis == 1 ? j0 + j : i];
        if (x->relu && v < 0)
            v = 0;
        ci[j * x->csc] = v;
    }
}

/* Small or degenerate problems (k == 0 included): one output row at a time, in chunks of
 * columns accumulated in a local buffer, with no packing and no threads. */
static void PYNN_FN(gemm_direct)(const CTX *x)
{
    enum { CHUNK = 64 };
    real acc[CHUNK];
    for (int64_t i = 0; i < x->m; ++i) {
        for (int64_t j0 = 0; j0 < x->n; j0 += CHUNK) {
            const int64_t jn = PYNN_MIN((int64_t)CHUNK, x->n - j0);
            for (int64_t j = 0; j < jn; ++j)
                acc[j] = 0;
            for (int64_t p = 0; p < x->k; ++p) {
                const real av = x->a[i * x->rsa + p * x->csa];
                const real *bp = x->b + p * x->rsb + j0 * x->csb;
                if (x->csb == 1)
                    for (int64_t j = 0; j < jn; ++j)
                        acc[j] += av * bp[j];
                else
                    for (int64_t j = 0; j < jn; ++j)
                        acc[j] += av * bp[j * x->csb];
            }
            PYNN_FN(store_row)(x, i, j0, jn, acc);
        }
    }
}

/* The dot form (gemm_kernel.h) over the whole product. C^T = B^T A^T is the same problem
 * with the operands' roles swapped, which turns the dm x dn register block into dn x dm:
 * the orientation that wastes fewer lanes on ragged edge blocks is taken (6 x 25 fits
 * 3 x 4 blocks better, 16 x 150 fits 4 x 3 exactly). With a team, the side of C with more
 * blocks is split into block-aligned ranges handed out first come, first served. */
static void PYNN_FN(gemm_dot)(const CTX *x, const pynn_gemm_desc *desc, int n_threads)
{
    const PYNN_FN(pynn_gemm_dot) dot = desc->PYNN_FN(dot);
    const int64_t dm = desc->dot_m, dn = desc->dot_n;
#define PYNN_PADDED(len, blk) (((len) + (blk) - 1) / (blk) * (blk))
    const int swap = PYNN_PADDED(x->m, dn) * PYNN_PADDED(x->n, dm) <
                     PYNN_PADDED(x->m, dm) * PYNN_PADDED(x->n, dn);
#undef PYNN_PADDED
    /* The problem as the kernel sees it: m rows of a, n rows of bt, C(i, j) at i rs + j cs. */
    const int64_t m = swap ? x->n : x->m, n = swap ? x->m : x->n;
    const real *a = swap ? x->b : x->a, *bt = swap ? x->a : x->b;
    const int64_t rsa = swap ? x->csb : x->rsa, rsbt = swap ? x->rsa : x->csb;
    const int64_t rsc = swap ? x->csc : x->rsc, csc = swap ? x->rsc : x->csc;
    PYNN_FN(pynn_gemm_ep) ep;
    ep.alpha = x->alpha;
    ep.beta = x->beta;
    ep.load_c = x->beta != 0;
    ep.relu = x->relu;
    ep.bias_axis = swap ? 1 - x->bias_axis : x->bias_axis;
    ep.bias = x->bias;
    const int nt = gemm_threads(m, n, x->k, dm, dn, n_threads);
    if (nt == 1) {
        dot(m, n, x->k, a, rsa, bt, rsbt, x->c, rsc, csc, &ep);
        return;
    }
    const int64_t mblocks = (m + dm - 1) / dm, nblocks = (n + dn - 1) / dn;
    const int by_rows = mblocks >= nblocks;
    const int64_t blocks = by_rows ? mblocks : nblocks, step = by_rows ? dm : dn;
    const int64_t tasks = PYNN_MIN(blocks, gemm_tasks(m * n * x->k, nt));
    PYNN_OMP(parallel for num_threads(nt) schedule(dynamic, 1))
    for (int64_t t = 0; t < tasks; ++t) {
        const int64_t lo = blocks * t / tasks * step, hi = blocks * (t + 1) / tasks * step;
        PYNN_FN(pynn_gemm_ep) mine = ep;
        if (by_rows) {
            if (mine.bias && mine.bias_axis == 0)
                mine.bias += lo;
            dot(PYNN_MIN(hi, m) - lo, n, x->k, a + lo * rsa, rsa, bt, rsbt, x->c + lo * rsc,
                rsc, csc, &mine);
        } else {
            if (mine.bias && mine.bias_axis == 1)
                mine.bias += lo;
            dot(m, PYNN_MIN(hi, n) - lo, x->k, a, rsa, bt + lo * rsbt, rsbt, x->c + lo * csc,
                rsc, csc, &mine);
        }
    }
}

/* dst[p * ld + col] := 0 for w <= col < end, p < kc: a packed panel's padding. A short
 * padding is written column by column: row by row the compiler makes each row's few bytes a
 * memset call, which costs more than the stores; from GEMM_PAD_ROW_MIN elements a row, the
 * call writes whole vectors and is worth it. */
#define GEMM_PAD_ROW_MIN 16
/* dst + i * dst_step := the `width` values at src + i * src_step, for i < count. The packs'
 * strips are a dozen or a few dozen values: constant-size copies compile to a few vector
 * moves, where a memcpy call a strip cost more than its copy. */
static inline void PYNN_FN(copy_strips)(real *PYNN_RESTRICT dst, int64_t dst_step,
                                        const real *PYNN_RESTRICT src, int64_t src_step,
                                        int64_t count, int64_t width)
{
    switch (width) {
#define PYNN_COPY_STRIPS(W)                                                                        \
    case W:                                                                                        \
        for (int64_t i = 0; i < count; ++i)                                                        \
            memcpy(dst + i * dst_step, src + i * src_step, W * sizeof(real));                      \
        break;
        PYNN_COPY_STRIPS(4)
        PYNN_COPY_STRIPS(6)
        PYNN_COPY_STRIPS(8)
        PYNN_COPY_STRIPS(12)
        PYNN_COPY_STRIPS(16)
        PYNN_COPY_STRIPS(32)
#undef PYNN_COPY_STRIPS
    default:
        for (int64_t i = 0; i < count; ++i)
            memcpy(dst + i * dst_step, src + i * src_step, (size_t)width * sizeof(real));
    }
}

static void PYNN_FN(zero_columns)(real *dst, int64_t kc, int64_t w, int64_t end, int64_t ld)
{
    if (end - w >= GEMM_PAD_ROW_MIN) {
        for (int64_t p = 0; p < kc; ++p)
            for (int64_t col = w; col < end; ++col)
                dst[p * ld + col] = 0;
        return;
    }
    for (int64_t col = w; col < end; ++col)
        for (int64_t p = 0; p < kc; ++p)
            dst[p * ld + col] = 0;
}

/* Pack rows [i0, i0 + mc) x depth [p0, p0 + kc) of A into MR-row micro-panels:
 * dst[panel * MR * kc + p * MR + r]; a ragged last panel is zero-padded to `height` rows
 * (gemm_ukr_rows: the rows its micro-kernels read), the rest of its MR left unwritten. */
static void PYNN_FN(pack_a)(const CTX *x, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                            int64_t height, real *PYNN_RESTRICT dst)
{
    const int64_t MR = x->mr, rsa = x->rsa, csa = x->csa;
    for (int64_t ir = 0; ir < mc; ir += MR, dst += MR * kc) {
        const int64_t mr = PYNN_MIN(MR, mc - ir);
        const real *src = x->a + (i0 + ir) * rsa + p0 * csa;
        if (csa == 1) {
            PYNN_FN(transpose_into)(src, rsa, mr, kc, dst, MR);
        } else if (rsa == 1) { /* a transposed A: every weight gradient X^T dY */
            PYNN_FN(copy_strips)(dst, MR, src, csa, kc, mr);
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                const real *s = src + p * csa;
                for (int64_t r = 0; r < mr; ++r)
                    dst[p * MR + r] = s[r * rsa];
            }
        }
        if (mr < MR)
            PYNN_FN(zero_columns)(dst, kc, mr, height, MR);
    }
}

/* Pack NR-column micro-panels q0 <= q < q1 of columns [j0, j0 + nc) x depth [p0, p0 + kc)
 * of B: dst[(q - q0) * NR * kc + p * NR + c], columns past the edge zero. */
static void PYNN_FN(pack_b)(const CTX *x, int64_t j0, int64_t nc, int64_t p0, int64_t kc,
                            int64_t q0, int64_t q1, real *PYNN_RESTRICT dst)
{
    const int64_t NR = x->nr, rsb = x->rsb, csb = x->csb;
    /* Whole panels of a row-major B, taken row by row: B is read in order, one stream, where
     * panel by panel it is read in NR-wide strips, kc rows apart, that a deep block of a
     * wide B (kc rows of 2 KB in the LSTM's weight gradient) does not keep in cache between
     * the strips. */
    const int64_t whole = csb == 1 ? PYNN_MIN(q1, nc / NR) : q0;
    if (whole - q0 > 1) {
        const real *src = x->b + p0 * rsb + (j0 + q0 * NR);
        const int64_t panels = whole - q0, step = NR * kc;
        for (int64_t p = 0; p < kc; ++p)
            PYNN_FN(copy_strips)(dst + p * NR, step, src + p * rsb, NR, panels, NR);
        dst += panels * step;
        q0 = whole;
    }
    for (int64_t q = q0; q < q1; ++q) {
        const int64_t jr = q * NR, nr = PYNN_MIN(NR, nc - jr);
        const real *src = x->b + p0 * rsb + (j0 + jr) * csb;
        real *d = dst + (q - q0) * NR * kc;
        if (csb == 1) {
            PYNN_FN(copy_strips)(d, NR, src, rsb, kc, nr);
        } else if (rsb == 1) {
            /* Transposed B (B^T row-major, as in x W^T). */
            PYNN_FN(transpose_into)(src, csb, nr, kc, d, NR);
        } else {
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t col = 0; col < nr; ++col)
                    d[p * NR + col] = src[col * csb + p * rsb];
        }
        PYNN_FN(zero_columns)(d, kc, nr, NR, NR);
    }
}

/* Rows [ic, ic + mc) of C in the nc-column block at jc times B's NR-column micro-panels
 * [q0, q1) there, over depth [pc, pc + kc); `bp` holds that block of B packed (pack_b). The
 * first depth block applies beta, the last bias and ReLU; the others accumulate into C. `ap`
 * is the thread's own packing room. */
static void PYNN_FN(multiply_block)(const CTX *x, real *ap, const real *bp, int64_t jc,
                                    int64_t nc, int64_t pc, int64_t kc, int64_t ic, int64_t mc,
                                    int64_t q0, int64_t q1)
{
    const int64_t MR = x->mr, NR = x->nr;
    const int first = pc == 0, last = pc + kc >= x->k;
    PYNN_FN(pynn_gemm_ep) ep;
    ep.alpha = x->alpha;
    ep.beta = first ? x->beta : 1;
    ep.load_c = !first || x->beta != 0;
    ep.relu = last && x->relu;
    ep.bias_axis = x->bias_axis;
    /* The rows the kernels read of A's ragged last panel, if any: only the chunk's last B
     * panel can be narrow, and a one-vector kernel reads at least as many rows. */
    const int64_t height =
        gemm_ukr_rows((mc - 1) % MR + 1, MR, PYNN_MIN(NR, nc - (q1 - 1) * NR) <= x->vl);
    const real *ablk;
    int64_t rs_a, cs_a, panel_a; /* strides of A's micro-panels, and between them */
    if (x->pack_a) {
        PYNN_FN(pack_a)(x, ic, mc, pc, kc, height, ap);
        ablk = ap, rs_a = 1, cs_a = MR, panel_a = MR * kc;
    } else {
        ablk = x->a + ic * x->rsa + pc * x->csa;
        rs_a = x->rsa, cs_a = x->csa, panel_a = MR * x->rsa;
    }
    /* The ragged last micro-panel of an unpacked A: packed alone, once per block (its
     * micro-kernel reads `height` rows, more than A has there). */
    const int64_t ragged = x->pack_a ? mc : mc / MR * MR;
    if (ragged < mc)
        PYNN_FN(pack_a)(x, ic + ragged, mc - ragged, pc, kc, height, ap);
    for (int64_t q = q0; q < q1; ++q) {
        const int64_t jr = q * NR, nr = PYNN_MIN(NR, nc - jr);
        const real *bq;
        int64_t rs_b;
        if (x->pack_b) {
            bq = bp + q * NR * kc, rs_b = NR;
        } else if (nr == NR) {
            bq = x->b + pc * x->rsb + (jc + jr), rs_b = x->rsb;
        } else {
            /* The ragged last panel of an unpacked B: pack it alone. */
            PYNN_FN(pack_b)(x, jc, nc, pc, kc, q, q + 1, ap + x->ablock_size);
            bq = ap + x->ablock_size, rs_b = NR;
        }
        const int one_vec = nr <= x->vl;
        for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = PYNN_MIN(MR, mc - ir);
            const int64_t h = gemm_ukr_rows(mr, MR, one_vec);
            const PYNN_FN(pynn_gemm_ukr) ukr_rows =
                one_vec      ? (h < MR ? x->ukr_half_short : x->ukr_half)
                : h == MR    ? x->ukr
                : 2 * h == MR ? x->ukr_short
                              : x->ukr_third;
            ep.bias = NULL;
            if (last && x->bias)
                ep.bias = x->bias + (x->bias_axis == 1 ? jc + jr : ic + ir);
            const real *aq = ablk + (ir / MR) * panel_a;
            int64_t rs_aq = rs_a, cs_aq = cs_a;
            if (ir >= ragged)
                aq = ap, rs_aq = 1, cs_aq = MR;
            ukr_rows(kc, aq, rs_aq, cs_aq, bq, rs_b,
                     x->c + (ic + ir) * x->rsc + (jc + jr) * x->csc, x->rsc, x->csc, mr, nr,
                     &ep);
        }
    }
}

/* Task t of a team: the mc_step-row block t / nchunks of C times chunk t % nchunks of the
 * block's micro-panels. */
static void PYNN_FN(multiply_task)(const CTX *x, real *ap, const real *bp, int64_t jc,
                                   int64_t nc, int64_t pc, int64_t kc, int64_t t,
                                   int64_t mc_step, int64_t nchunks)
{
    const int64_t npanels = (nc + x->nr - 1) / x->nr, chunk = t % nchunks;
    const int64_t ic = t / nchunks * mc_step, mc = PYNN_MIN(mc_step, x->m - ic);
    PYNN_FN(multiply_block)(x, ap, bp, jc, nc, pc, kc, ic, mc, npanels * chunk / nchunks,
                            npanels * (chunk + 1) / nchunks);
}

/* x's register and cache blocks for its m, n, k: kc and nc balanced over the problem, so
 * that the last block is not a sliver. */
static void PYNN_FN(gemm_balance)(CTX *x, const pynn_gemm_blocking *bl)
{
    x->mr = bl->mr, x->nr = bl->nr, x->mc = bl->mc;
    const int64_t kblocks = (x->k + bl->kc - 1) / bl->kc;
    x->kc = (x->k + kblocks - 1) / kblocks;
    const int64_t nblocks = (x->n + bl->nc - 1) / bl->nc;
    x->nc = ((x->n + nblocks - 1) / nblocks + x->nr - 1) / x->nr * x->nr;
}

/* Where the block of B at columns jc (nc of them) and depth pc lies in a B packed whole
 * (pynn_gemm_pack_b): column blocks one after the other, each its depth blocks in order, each
 * of those as pack_b lays it out. The column blocks before jc are full, nc wide: k rows each. */
static int64_t PYNN_FN(prepacked_offset)(const CTX *x, int64_t jc, int64_t nc, int64_t pc)
{
    return jc * x->k + (nc + x->nr - 1) / x->nr * x->nr * pc;
}

/* One thread's share of the product when every thread packs the B blocks its own rows
 * need (b_private): a fixed share of A's micro-panels, no barriers. Fixed, so a thread that
 * another process slows holds up the product, where the shared path's tasks would move to
 * the other threads: with the default thread count pynn then runs fewer threads
 * (pynn.get_num_threads); dealing rows out as tasks would pack B once a task, not once a
 * thread. */
static void PYNN_FN(gemm_worker_private)(const CTX *x, int tid, int nt)
{
    const int64_t MR = x->mr, NR = x->nr, panels = (x->m + MR - 1) / MR;
    const int64_t r0 = panels * tid / nt * MR;
    const int64_t r1 = PYNN_MIN(x->m, panels * (tid + 1) / nt * MR);
    real *ap = x->apack + tid * x->apack_size, *bp = x->bpack + tid * x->bpack_size;
    for (int64_t jc = 0; jc < x->n; jc += x->nc) {
        const int64_t nc = PYNN_MIN(x->nc, x->n - jc), npanels = (nc + NR - 1) / NR;
        for (int64_t pc = 0; pc < x->k; pc += x->kc) {
            const int64_t kc = PYNN_MIN(x->kc, x->k - pc);
            PYNN_FN(pack_b)(x, jc, nc, pc, kc, 0, npanels, bp);
            for (int64_t ic = r0; ic < r1; ic += x->mc)
                PYNN_FN(multiply_block)(x, ap, bp, jc, nc, pc, kc, ic,
                                        PYNN_MIN(x->mc, r1 - ic), 0, npanels);
        }
    }
}

/* One thread's share of the blocked product. Work is handed out in tasks, first come first
 * served (a shared counter per phase), so that a thread slowed down by another process on
 * its core takes fewer of them instead of holding up the team. A task is an mc-row block of
 * A times a chunk of B's micro-panels; tasks follow the MR x NR grid of C, so every tile is
 * computed the same way whatever the thread count.
 *
 * Every depth block after the first adds into the C tiles that the previous one wrote, so
 * no tile may be updated by two threads at once:
 * - B packed: for each (jc, pc) the team packs the kc x nc block of B, waits, multiplies it,
 *   and waits again before the next block. A tile can change threads between depth blocks;
 *   the barrier orders the two updates (and protects the shared packed B).
 * - B read in place: nothing is shared, so a task keeps its tiles through every depth block
 *   and no barrier is needed. */
static void PYNN_FN(gemm_worker)(const CTX *x, int tid, int nt)
{
    const int64_t MR = x->mr, NR = x->nr;
    /* Row blocks of at most mc rows; with a team, at least gemm_tasks' count of a phase
     * (one depth block of one column block; all of k when B is read in place) when A has
     * that many micro-panels (smaller blocks re-read the shared packed B, which is cheaper
     * than splitting B's panels and packing the same A block once per chunk). */
    const int64_t phase_fmas = x->m * PYNN_MIN(x->n, x->nc) * (x->pack_b ? PYNN_MIN(x->k, x->kc)
                                                                          : x->k);
    const int64_t tasks_wanted = gemm_tasks(phase_fmas, nt);
    int64_t mblocks = (x->m + x->mc - 1) / x->mc;
    if (nt > 1)
        mblocks = PYNN_MAX(mblocks, PYNN_MIN((x->m + MR - 1) / MR, tasks_wanted));
    const int64_t mc_step = ((x->m + mblocks - 1) / mblocks + MR - 1) / MR * MR;
    const int64_t nrow = (x->m + mc_step - 1) / mc_step;
    real *ap = x->apack + tid * x->apack_size;
    int64_t *counter = x->counters;

    for (int64_t jc = 0; jc < x->n; jc += x->nc) {
        const int64_t nc = PYNN_MIN(x->nc, x->n - jc);
        const int64_t npanels = (nc + NR - 1) / NR;
        /* Split B's panels into chunks only when there are too few row blocks to share. */
        int64_t nchunks = 1;
        if (nt > 1)
            nchunks = PYNN_MIN(npanels, (tasks_wanted + nrow - 1) / nrow);
        const int64_t ntasks = nrow * nchunks;
        /* One thread packs the block in one call, row by row (see pack_b). */
        const int64_t nbtasks =
            nt == 1 ? 1 : PYNN_MIN(npanels, tasks_wanted);
        if (!x->pack_b) {
            for (int64_t t; (t = gemm_claim(counter)) < ntasks;)
                for (int64_t pc = 0; pc < x->k; pc += x->kc)
                    PYNN_FN(multiply_task)(x, ap, NULL, jc, nc, pc,
                                           PYNN_MIN(x->kc, x->k - pc), t, mc_step, nchunks);
            counter += 1;
            continue;
        }
        for (int64_t pc = 0; pc < x->k; pc += x->kc, counter += 2) {
            const int64_t kc = PYNN_MIN(x->kc, x->k - pc);
            const real *bp = x->bpack;
            if (x->b_prepacked) {
                bp = x->b_prepacked + PYNN_FN(prepacked_offset)(x, jc, nc, pc);
            } else {
                for (int64_t t; (t = gemm_claim(&counter[0])) < nbtasks;) {
                    const int64_t b0 = npanels * t / nbtasks, b1 = npanels * (t + 1) / nbtasks;
                    PYNN_FN(pack_b)(x, jc, nc, pc, kc, b0, b1, x->bpack + b0 * NR * kc);
                }
                if (nt > 1) {
                    PYNN_OMP(barrier)
                }
            }
            for (int64_t t; (t = gemm_claim(&counter[1])) < ntasks;)
                PYNN_FN(multiply_task)(x, ap, bp, jc, nc, pc, kc, t, mc_step, nchunks);
            /* B's buffer is refilled, and the tiles are added to, by whoever comes next. */
            if (nt > 1) {
                PYNN_OMP(barrier)
            }
        }
    }
}

/* x's B (k x n) transposed into a new k-contiguous buffer (free with pynn_free), NULL when
 * memory runs out: the copy that lets a narrow row-major B take the dot form. */
static real *PYNN_FN(gemm_b_transposed)(const CTX *x)
{
    const int64_t n = x->n, k = x->k;
    real *bt = (real *)pynn_alloc(sizeof(real) * (size_t)(n * k));
    if (!bt)
        return NULL;
    if (x->csb == 1) {
        PYNN_FN(transpose_into)(x->b, x->rsb, k, n, bt, k);
    } else {
        for (int64_t p = 0; p < k; ++p)
            for (int64_t j = 0; j < n; ++j)
                bt[j * k + p] = x->b[p * x->rsb + j * x->csb];
    }
    return bt;
}

/* The blocked product (the loops described at the top of this file) of x, whose m, n, k,
 * operands, epilogue and bias are set; packs allocated before anything is written to C.
 * Returns PYNN_OK or PYNN_ERR_NOMEM. */
static int PYNN_FN(gemm_blocked)(CTX *x, const pynn_gemm_desc *desc,
                                 const pynn_gemm_blocking *bl, int n_threads)
{
    x->ukr = desc->PYNN_FN(ukr);
    x->ukr_half = desc->PYNN_FN(ukr_half);
    x->ukr_short = desc->PYNN_FN(ukr_short);
    x->ukr_half_short = desc->PYNN_FN(ukr_half_short);
    x->ukr_third = desc->PYNN_FN(ukr_third);
    x->vl = bl->nr / 2;
    PYNN_FN(gemm_balance)(x, bl);

    const int nt = gemm_threads(x->m, x->n, x->k, x->mr, x->nr, n_threads);
    /* Packing copies an operand once so that the micro-kernel streams it; it pays when the
     * copy is reused. A's block is reused by every NR-column panel of B, B's by every MR-row
     * panel of A. Unpacked, A is read through its strides and B (row-major only, in whole
     * NR-wide panels) through its row stride. A micro-panel still has to fit a row of A in a
     * load, so A with neither stride 1 is always packed. */
    x->pack_a = x->n > GEMM_PACK_A_MIN_PANELS * x->nr;
    /* A packed panel of B pays for its copy only in the thread whose caches hold it: read by
     * another thread, it is first moved between cores, which costs more than reading B in
     * place or packing it again where cores are far apart (different dies, or a VM's vCPUs
     * on different dies of the host: bench/RESULTS.md, "Threads far apart"). So B is packed
     * when each thread's share of A reuses it enough, and then each thread packs the B blocks
     * its own rows need (b_private); the team shares one packed B only when B must be packed
     * (not row-major) and there are too few rows to share out. */
    const int64_t rows_to_pack_b = GEMM_PACK_B_MIN_PANELS * x->mr * nt;
    x->pack_b = x->b_prepacked || x->csb != 1 || x->m > rows_to_pack_b;
    x->b_private = !x->b_prepacked && nt > 1 && x->m > rows_to_pack_b;
    /* Whole cache lines per part, so that every packed B panel is 64-byte aligned. */
    const int64_t line = PYNN_ALIGN / sizeof(real);
    x->ablock_size = x->pack_a ? (x->mc + x->mr - 1) / x->mr * x->mr * x->kc : x->mr * x->kc;
    x->ablock_size = (x->ablock_size + line - 1) / line * line;
    x->apack_size = x->ablock_size + (x->pack_b ? 0 : (x->nr * x->kc + line - 1) / line * line);
    x->bpack_size = x->pack_b && !x->b_prepacked ? (x->kc * x->nc + line - 1) / line * line : 0;
    const int64_t bsize = x->bpack_size * (x->b_private ? nt : 1);
    const int64_t nphases = 2 * ((x->n + x->nc - 1) / x->nc) * ((x->k + x->kc - 1) / x->kc);
    const size_t pack_bytes = sizeof(real) * (size_t)(bsize + nt * x->apack_size);
    char *buf = (char *)pynn_alloc(pack_bytes + sizeof(int64_t) * (size_t)nphases);
    if (!buf)
        return PYNN_ERR_NOMEM;
    x->bpack = (real *)buf;
    x->apack = x->bpack + bsize;
    x->counters = (int64_t *)(buf + pack_bytes);
    memset(x->counters, 0, sizeof(int64_t) * (size_t)nphases);

    if (nt == 1) {
        PYNN_FN(gemm_worker)(x, 0, 1);
    } else {
        PYNN_OMP(parallel num_threads(nt))
        {
            if (x->b_private)
                PYNN_FN(gemm_worker_private)(x, pynn_thread_id(), pynn_team_size());
            else
                PYNN_FN(gemm_worker)(x, pynn_thread_id(), pynn_team_size());
        }
    }
    pynn_free(buf);
    return PYNN_OK;
}

void PYNN_FN(pynn_transpose)(int64_t rows, int64_t cols, const real *src, int64_t lds,
                            real *dst, int64_t ldd)
{
    PYNN_FN(transpose_into)(src, lds, rows, cols, dst, ldd);
}

int64_t PYNN_FN(pynn_gemm_packed_b_len)(int64_t k, int64_t n, int isa)
{
    const int64_t nr = gemm_blocks(isa, sizeof(real) == sizeof(double))->nr;
    return pynn_size_mul(pynn_ceil_div(PYNN_MAX(n, 0), nr) * nr, PYNN_MAX(k, 0));
}

void PYNN_FN(pynn_gemm_pack_b)(int64_t k, int64_t n, const real *b, int64_t rsb, int64_t csb,
                               int isa, real *bp)
{
    CTX x;
    memset(&x, 0, sizeof x);
    x.k = k, x.n = n, x.b = b, x.rsb = rsb, x.csb = csb;
    PYNN_FN(gemm_balance)(&x, gemm_blocks(isa, sizeof(real) == sizeof(double)));
    for (int64_t jc = 0; jc < n; jc += x.nc) {
        const int64_t nc = PYNN_MIN(x.nc, n - jc);
        for (int64_t pc = 0; pc < k; pc += x.kc)
            PYNN_FN(pack_b)(&x, jc, nc, pc, PYNN_MIN(x.kc, k - pc), 0, (nc + x.nr - 1) / x.nr,
                            bp + PYNN_FN(prepacked_offset)(&x, jc, nc, pc));
    }
}

int PYNN_FN(pynn_gemm_packed)(int64_t m, int64_t n, int64_t k, real alpha, const real *a,
                              int64_t rsa, int64_t csa, const real *bp, real beta, real *c,
                              int64_t rsc, const real *bias, int bias_axis, int relu, int isa,
                              int n_threads)
{
    if (k <= 0 || m <= 0 || n <= 0) /* C := relu?(beta C + bias): B is not read */
        return PYNN_FN(pynn_gemm)(m, n, k, alpha, a, rsa, csa, NULL, 0, 0, beta, c, rsc, 1, bias,
                                  bias_axis, relu, isa, n_threads);
    CTX x;
    memset(&x, 0, sizeof x);
    x.m = m, x.n = n, x.k = k, x.alpha = alpha, x.beta = beta;
    x.a = a, x.rsa = rsa, x.csa = csa;
    x.c = c, x.rsc = rsc, x.csc = 1;
    x.bias = bias, x.bias_axis = bias_axis, x.relu = relu;
    x.csb = 1; /* as packed: never transposed again */
    x.b_prepacked = bp;
    return PYNN_FN(gemm_blocked)(&x, pynn_gemm_kernels(isa),
                                 gemm_blocks(isa, sizeof(real) == sizeof(double)), n_threads);
}

int PYNN_FN(pynn_gemm)(int64_t m, int64_t n, int64_t k, real alpha, const real *a, int64_t rsa,
                       int64_t csa, const real *b, int64_t rsb, int64_t csb, real beta, real *c,
                       int64_t rsc, int64_t csc, const real *bias, int bias_axis, int relu, int isa,
                       int n_threads)
{
    if (m <= 0 || n <= 0)
        return PYNN_OK;
    CTX x;
    memset(&x, 0, sizeof x);
    /* Column-major C: compute C^T = B^T A^T instead, so that the micro-tiles are stored
     * along contiguous rows. */
    if (csc != 1 && rsc == 1) {
        x.m = n, x.n = m;
        x.a = b, x.rsa = csb, x.csa = rsb;
        x.b = a, x.rsb = csa, x.csb = rsa;
        x.rsc = csc, x.csc = rsc;
        x.bias_axis = 1 - bias_axis;
    } else {
        x.m = m, x.n = n;
        x.a = a, x.rsa = rsa, x.csa = csa;
        x.b = b, x.rsb = rsb, x.csb = csb;
        x.rsc = rsc, x.csc = csc;
        x.bias_axis = bias_axis;
    }
    x.k = k;
    x.alpha = alpha, x.beta = beta;
    x.c = c;
    x.bias = bias;
    x.relu = relu;

    if (k <= 0 || gemm_is_small(m, n, k)) {
        PYNN_FN(gemm_direct)(&x);
        return PYNN_OK;
    }

    const pynn_gemm_desc *desc = pynn_gemm_kernels(isa);
    const pynn_gemm_blocking *bl = gemm_blocks(isa, sizeof(real) == sizeof(double));
    if (x.csa == 1 && x.rsb != 1 && gemm_narrow_b_to_dot(x.n, k, bl->nr)) {
        real *bt = PYNN_FN(gemm_b_transposed)(&x);
        if (!bt)
            return PYNN_ERR_NOMEM;
        x.b = bt, x.rsb = 1, x.csb = k;
        PYNN_FN(gemm_dot)(&x, desc, n_threads);
        pynn_free(bt);
        return PYNN_OK;
    }
    if (gemm_use_dot(x.m, x.n, k, x.csa, x.rsb)) {
        PYNN_FN(gemm_dot)(&x, desc, n_threads);
        return PYNN_OK;
    }
    const int64_t tail = x.n % bl->nr;
    if (x.csa == 1 && x.n > bl->nr && gemm_narrow_tail_to_dot(tail, k, bl->nr)) {
        /* The last `tail` columns in the dot form (B^T copied k-contiguous unless it is),
         * the others blocked; both allocate before writing C. */
        CTX t = x;
        t.n = tail;
        t.b += (x.n - tail) * x.csb;
        t.c += (x.n - tail) * x.csc;
        if (t.bias && t.bias_axis == 1)
            t.bias += x.n - tail;
        real *bt = NULL;
        if (x.rsb != 1) {
            bt = PYNN_FN(gemm_b_transposed)(&t);
            if (!bt)
                return PYNN_ERR_NOMEM;
            t.b = bt, t.rsb = 1, t.csb = k;
        }
        x.n -= tail;
        const int status = PYNN_FN(gemm_blocked)(&x, desc, bl, n_threads);
        if (status == PYNN_OK)
            PYNN_FN(gemm_dot)(&t, desc, n_threads);
        pynn_free(bt);
        return status;
    }
    return PYNN_FN(gemm_blocked)(&x, desc, bl, n_threads);
}

#undef CTX
#endif
