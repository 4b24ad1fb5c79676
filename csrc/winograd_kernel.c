/* The Winograd F(2x2, 3x3) transforms (contracts in winograd_kernel.h), compiled once per
 * instruction set (simd_isa.h). Written once for `real` (the template half below,
 * pynn_template.h). */
#ifndef PYNN_FN
#include "winograd_kernel.h"
#include "simd_isa.h"

#define PYNN_TEMPLATE "winograd_kernel.c"
#include "pynn_template.h"

const pynn_winograd_desc PYNN_ISA_SYM(pynn_winograd_desc) = {
    PYNN_DESC_ENTRIES(PYNN_WINOGRAD_KERNELS)};

#else /* the template (pynn_template.h) */

/* Tiles a step: at most 256 bits of them. A tile row is short (14 tiles on a 28-wide image,
 * under one AVX-512 vector), and a row is taken in whole steps, its last step moved back to
 * end with the row (recomputing a few tiles) rather than finishing tile by tile. */
#define STEP (PYNN_MIN(VBYTES, 32) / (int)sizeof(real))

/* Runs the statements over n tiles of a row with `s` the first tile and `steps` the count of
 * each call: whole steps, the last moved back to end with the row; a row shorter than a step
 * in half or quarter steps (an 8-wide image's rows are 4 tiles, a 4-wide one's 2), and one of
 * a single tile at once (steps a constant in each case, so that the transforms' loops are one
 * vector step: with the count not known, they ran tile by tile). */
#define IN_STEPS_OF(width, n, ...)                                                                \
    for (int64_t s = 0;; s += (width)) {                                                          \
        s = PYNN_MIN(s, (n) - (width));                                                           \
        const int steps = (width);                                                                \
        __VA_ARGS__                                                                               \
        if (s + (width) == (n))                                                                   \
            break;                                                                                \
    }
#define IN_STEPS(n, ...)                                                                          \
    do {                                                                                          \
        if ((n) >= STEP) {                                                                        \
            IN_STEPS_OF(STEP, n, __VA_ARGS__)                                                     \
        } else if ((n) >= STEP / 2) {                                                             \
            IN_STEPS_OF(STEP / 2, n, __VA_ARGS__)                                                 \
        } else if (STEP >= 8 && (n) >= STEP / 4) {                                                \
            IN_STEPS_OF(STEP / 4, n, __VA_ARGS__)                                                 \
        } else if ((n) > 0) {                                                                     \
            IN_STEPS_OF(1, n, __VA_ARGS__)                                                        \
        }                                                                                         \
    } while (0)

/* Tiles tx .. tx + count - 1 of a tile row (count a constant in the steps, so that the loop
 * is one vector step). */
static inline __attribute__((always_inline)) void PYNN_FN(input_tiles)(
    const real *PYNN_RESTRICT r0, int64_t len, int64_t tx, int count, real *PYNN_RESTRICT out,
    int64_t v_step)
{
    const real *PYNN_RESTRICT r1 = r0 + len, *PYNN_RESTRICT r2 = r1 + len;
    const real *PYNN_RESTRICT r3 = r2 + len;
    PYNN_SIMD()
    for (int i = 0; i < count; ++i) {
        /* B^T d: the 4 rows combined, column by column (columns 2 tx .. 2 tx + 3). */
        real w[4][4];
        for (int s = 0; s < 4; ++s) {
            const int64_t col = 2 * (tx + i) + s;
            w[0][s] = r0[col] - r2[col];
            w[1][s] = r1[col] + r2[col];
            w[2][s] = r2[col] - r1[col];
            w[3][s] = r1[col] - r3[col];
        }
        /* (B^T d) B: each of those rows combined the same way along the columns. */
        for (int r = 0; r < 4; ++r) {
            out[(4 * r + 0) * v_step + i] = w[r][0] - w[r][2];
            out[(4 * r + 1) * v_step + i] = w[r][1] + w[r][2];
            out[(4 * r + 2) * v_step + i] = w[r][2] - w[r][1];
            out[(4 * r + 3) * v_step + i] = w[r][1] - w[r][3];
        }
    }
}

static void PYNN_FN(input_rows)(const real *plane, int64_t len, int64_t tw, int64_t tx0,
                                int64_t count, real *v, int64_t v_step)
{
    for (int64_t done = 0, tx = tx0; done < count; tx = 0, plane += 2 * len) {
        const int64_t run = PYNN_MIN(tw - tx, count - done);
        real *out = v + done;
        IN_STEPS(run, PYNN_FN(input_tiles)(plane, len, tx + s, steps, out + s, v_step););
        done += run;
    }
}

/* The output transform of `count` tiles (a constant in the steps) into rows y0 and y1; relu a
 * constant at each call, so that its select leaves the loop. */
static inline __attribute__((always_inline)) void PYNN_FN(output_tiles)(
    const real *PYNN_RESTRICT m, int64_t m_step, int count, real bias, const int relu,
    real *PYNN_RESTRICT y0, real *PYNN_RESTRICT y1)
{
    PYNN_SIMD()
    for (int i = 0; i < count; ++i) {
        /* M A: each row's 4 sums into 2; then A^T (M A): the 4 rows into 2. */
        real t0[4], t1[4];
        for (int r = 0; r < 4; ++r) {
            const real m0 = m[(4 * r + 0) * m_step + i], m1 = m[(4 * r + 1) * m_step + i];
            const real m2 = m[(4 * r + 2) * m_step + i], m3 = m[(4 * r + 3) * m_step + i];
            t0[r] = m0 + m1 + m2;
            t1[r] = m1 - m2 - m3;
        }
        real a = t0[0] + t0[1] + t0[2] + bias, b = t1[0] + t1[1] + t1[2] + bias;
        real c = t0[1] - t0[2] - t0[3] + bias, d = t1[1] - t1[2] - t1[3] + bias;
        if (relu) {
            a = a < 0 ? 0 : a, b = b < 0 ? 0 : b;
            c = c < 0 ? 0 : c, d = d < 0 ? 0 : d;
        }
        y0[2 * i] = a, y0[2 * i + 1] = b;
        y1[2 * i] = c, y1[2 * i + 1] = d;
    }
}

/* One tile row's `cols` outputs (2 a tile, the last tile's second one dropped when cols is
 * odd) in steps, into rows y0 and y1. */
static inline __attribute__((always_inline)) void PYNN_FN(output_run)(
    const real *m, int64_t m_step, int64_t cols, real bias, const int relu, real *y0, real *y1)
{
    const int64_t whole = cols / 2;
    IN_STEPS(whole, PYNN_FN(output_tiles)(m + s, m_step, steps, bias, relu, y0 + 2 * s,
                                          y1 + 2 * s););
    if (cols % 2) {
        real last[2], below[2];
        PYNN_FN(output_tiles)(m + whole, m_step, 1, bias, relu, last, below);
        y0[2 * whole] = last[0];
        y1[2 * whole] = below[0];
    }
}

static void PYNN_FN(output_rows)(const real *m, int64_t m_step, int64_t tw, int64_t tx0,
                                 int64_t count, real bias, int relu, real *y, int64_t ow,
                                 int64_t rows, real *spare)
{
    for (int64_t done = 0, tx = tx0, r = 0; done < count; tx = 0, r += 2) {
        const int64_t run = PYNN_MIN(tw - tx, count - done);
        const int64_t cols = PYNN_MIN(2 * run, ow - 2 * tx);
        real *y0 = y + r * ow + 2 * tx, *y1 = r + 1 < rows ? y0 + ow : spare;
        if (relu)
            PYNN_FN(output_run)(m + done, m_step, cols, bias, 1, y0, y1);
        else
            PYNN_FN(output_run)(m + done, m_step, cols, bias, 0, y0, y1);
        done += run;
    }
}

/* The gradient transform A dY A^T of `count` whole 2x2 tiles of dy (a constant in the steps),
 * rows y0 and y1: A dY's 4 rows from dy's 2, then the same along the columns. */
static inline __attribute__((always_inline)) void PYNN_FN(grad_tiles)(
    const real *PYNN_RESTRICT y0, const real *PYNN_RESTRICT y1, int count,
    real *PYNN_RESTRICT out, int64_t m_step)
{
    PYNN_SIMD()
    for (int i = 0; i < count; ++i) {
        const real a = y0[2 * i], b = y0[2 * i + 1], c = y1[2 * i], d = y1[2 * i + 1];
        const real r[4][2] = {{a, b}, {a + c, b + d}, {a - c, b - d}, {-c, -d}};
        for (int k = 0; k < 4; ++k) {
            out[(4 * k + 0) * m_step + i] = r[k][0];
            out[(4 * k + 1) * m_step + i] = r[k][0] + r[k][1];
            out[(4 * k + 2) * m_step + i] = r[k][0] - r[k][1];
            out[(4 * k + 3) * m_step + i] = -r[k][1];
        }
    }
}

static void PYNN_FN(grad_rows)(const real *y, int64_t ow, int64_t rows, int64_t tw, int64_t tx0,
                               int64_t count, const real *zeros, real *m, int64_t m_step)
{
    for (int64_t done = 0, tx = tx0, r = 0; done < count; tx = 0, r += 2) {
        const int64_t run = PYNN_MIN(tw - tx, count - done);
        const real *y0 = y + r * ow + 2 * tx, *y1 = r + 1 < rows ? y0 + ow : zeros;
        real *out = m + done;
        /* Whole tiles in steps; a last tile half past an odd width reads zeros there. */
        const int64_t whole = PYNN_MIN(run, (ow - 2 * tx) / 2);
        IN_STEPS(whole, PYNN_FN(grad_tiles)(y0 + 2 * s, y1 + 2 * s, steps, out + s, m_step););
        if (whole < run) {
            const real top[2] = {y0[2 * whole], 0}, below[2] = {y1[2 * whole], 0};
            PYNN_FN(grad_tiles)(top, below, 1, out + whole, m_step);
        }
        done += run;
    }
}

#undef IN_STEPS
#undef IN_STEPS_OF
#undef STEP
#endif
