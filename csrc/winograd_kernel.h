/* The transforms of Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms
 * for Convolutional Neural Networks", 2016), which winograd.c runs a 3x3, stride-1 convolution
 * with; compiled once per instruction set (simd_isa.h), exporting pynn_winograd_desc_<isa>.
 *
 * A 2x2 tile of outputs is computed from the 4x4 patch d of the input under it (rows and
 * columns 2 ty .. 2 ty + 3 and 2 tx .. 2 tx + 3 of the padded image) and the 3x3 filter g as
 *
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 *
 *   B^T = | 1  0 -1  0 |    G = |  1    0    0  |    A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |        |  0    0    1  |
 *
 * The 16 products of one position xi = 4 r + s of the 4x4 transforms, summed over the input
 * channels, are a GEMM (o x c times c x tiles): 16 multiply-adds for 4 outputs where the
 * direct convolution takes 36. The transforms only add and subtract (G's halves are exact),
 * so the rounding differs from the direct sum's by a few ulp. */
#ifndef PYNN_WINOGRAD_KERNEL_H
#define PYNN_WINOGRAD_KERNEL_H

#include "pynn_common.h"

#define PYNN_WINOGRAD_KERNELS(K, real, sfx)                                                        \
    /* The input transform of `count` tiles of one channel, taken row by row from tile tx0 of a    \
     * row of tw tiles: `plane` holds the padded image rows under them, len apart, from the       \
     * first tile row's top (tile (ty, tx) reads rows 2 ty .. 2 ty + 3, columns 2 tx .. 2 tx + 3,  \
     * ty counted from there). v[xi * v_step + i] := (B^T d B)[xi] of the i-th tile, xi = 4 r + s. \
     */                                                                                            \
    K(void, input_rows, (const real *plane, int64_t len, int64_t tw, int64_t tx0, int64_t count,   \
                         real *v, int64_t v_step))                                                 \
    /* The output transform of `count` tiles of one output channel, as input_rows takes them:     \
     * m[xi * m_step + i] holds the 16 sums of the i-th tile, which gives outputs (2 ty + r,       \
     * 2 tx + s) := relu?((A^T M A)[r][s] + bias) (relu: max(v, 0), NaN kept) of y, rows of ow    \
     * values from the first tile row's top, of which only the first `rows` rows and ow columns   \
     * are written; a tile row's second output row past them goes to `spare` (2 tw values). */    \
    K(void, output_rows, (const real *m, int64_t m_step, int64_t tw, int64_t tx0, int64_t count,   \
                          real bias, int relu, real *y, int64_t ow, int64_t rows, real *spare)) \
    /* The weight gradient's transform of `count` tiles of one output channel's dy, as             \
     * output_rows lays them out in y (rows of ow values, the first `rows` of them there; past     \
     * them, and past ow, dy counts as zero): m[xi * m_step + i] := (A dY A^T)[xi] of the i-th     \
     * tile's 2x2 dY, A = (A^T)^T. `zeros` holds 2 tw zeros. */                                    \
    K(void, grad_rows, (const real *y, int64_t ow, int64_t rows, int64_t tw, int64_t tx0,          \
                        int64_t count, const real *zeros, real *m, int64_t m_step))

typedef struct {
    PYNN_DESC_FIELDS(PYNN_WINOGRAD_KERNELS)
} pynn_winograd_desc;

PYNN_DECLARE_DESCS(winograd)

#endif
