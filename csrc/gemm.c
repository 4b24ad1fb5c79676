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
 * B, copied k-contiguous first (gemm_narrow_b_to_dot). The micro-kernels and
 * their block sizes per instruction set live in gemm_kernel.c. */
#include <string.h>

#include "gemm.h"
#include "gemm_kernel.h"

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
 * amortise, while the dot form's per-element reduction needs a long k to vanish. Measured
 * on one Zen 1 core: 6 x 25 x 784 (a conv weight gradient) 14 vs 8 GFLOP/s, 16 x 150 x 512
 * 30 vs 20, 128 x 10 x 256 19 vs 15; at k = 128 or 64 the packed path was ahead. */
#define GEMM_DOT_MIN_K 256
#define GEMM_DOT_MAX_SIDE 32
/* Also when both sides are at most GEMM_DOT_LONG_MAX_SIDE and k is at least
 * GEMM_DOT_LONG_MIN_K: a Linear layer fed flattened convolution features, x W^T with
 * 100 x 4320 x 100, ran at 33-35 GFLOP/s in the dot form and 27-29 packed (three runs on one
 * Zen 1 core, alternating), where packing both operands cost ~12% of the time. At k = 256-784
 * the dot form's reductions made it the slower of the two. Every A block streams all of B^T,
 * so B^T must stay cache-sized (GEMM_DOT_LONG_MAX_ELEMS elements). */
#define GEMM_DOT_LONG_MIN_K 2048
#define GEMM_DOT_LONG_MAX_SIDE 128
#define GEMM_DOT_LONG_MAX_ELEMS ((int64_t)1 << 20)

/* A row-major B of at most GEMM_DOT_MAX_SIDE columns, whose packed micro-panels would leave
 * over a quarter of their lanes idle, is copied k-contiguous (n x k elements, little beside
 * the m x n x k product) so that the dot form applies. The classifier head 128 x 256 x 10
 * uses 10 of 16 lanes packed: on one Zen 1 core it ran at 20 GFLOP/s packed, 25 in the dot
 * form; at n = 16 packing was ahead, 35 against 30. */
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

void pynn_gemm_blocking_of(int isa, int f64, int64_t out[5])
{
    const pynn_gemm_blocking *bl = f64 ? &gemm_desc(isa)->f64 : &gemm_desc(isa)->f32;
    out[0] = bl->mr, out[1] = bl->nr, out[2] = bl->kc, out[3] = bl->mc, out[4] = bl->nc;
}

int64_t pynn_fma_probe_f32(int isa, int64_t rounds, float *sink)
{
    return gemm_desc(isa)->fma_probe_f32(rounds, sink);
}
