/* The Winograd F(2x2, 3x3) convolution (contract in winograd.h). Written once for `real`: the
 * template half below is instantiated for float and double (pynn_template.h). */
#ifndef PYNN_FN
#include <string.h>

#include "winograd.h"
#include "gemm.h"
#include "winograd_kernel.h"

/* The most tiles a block takes, the columns of its GEMMs. */
#define WINO_MAX_TILES 512
/* Blocks a batch of small images is dealt into (block_tiles). */
#define WINO_MIN_BLOCKS 4
/* Channels on each side below which the transforms, which cost the same per channel whatever
 * the other side, outweigh what the GEMMs save; and the narrowest output whose tile rows fill
 * the transforms' vector steps (8 tiles). Narrower outputs (a ResNet's later stages, 14x14 to
 * 4x4) pay with deeper filters and whole tiles: the transforms then take half and quarter
 * steps, which cost more a tile, and an odd height or width wastes a quarter of its tiles or
 * more (7x7, 5x5). Measured on a Zen 4 (bench/RESULTS.md) against the direct kernels that
 * read the image and leave out the padded kernel rows (fwd_oc, dw_oc): even outputs won with
 * 64 channels on each side on 8x8 and 12x12, 96 and 256 on 6x6, 128 on 8x8 and 10x10, 256 on
 * 4x4, and lost with 64 on 6x6 (by a third), which width x channels >= 512 leaves out; 64 on
 * 10x10 and 128 on 4x4 and 6x6 lost by 8-20% and stay, as no simple rule separates them. Odd
 * outputs (7x7, 9x9) lost up to 256 channels, tied at 384 and won at 512 (ImageNet ResNets'
 * last stage). */
#define WINO_MIN_CHANNELS 16
#define WINO_MIN_WIDTH 16
#define WINO_NARROW_MIN_CHANNELS 64
#define WINO_NARROW_MIN_WORK 512 /* output width x the fewer channels */
#define WINO_ODD_MIN_CHANNELS 512
#define WINO_ODD_MIN_WIDTH 5

int pynn_winograd_pays(const pynn_conv_geom *g, int64_t o)
{
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1)
        return 0;
    const int64_t fewer = PYNN_MIN(g->c, o);
    if (g->ow >= WINO_MIN_WIDTH)
        return fewer >= WINO_MIN_CHANNELS;
    const int whole_tiles = g->ow % 2 == 0 && g->oh % 2 == 0;
    return fewer >= WINO_NARROW_MIN_CHANNELS && g->ow * fewer >= WINO_NARROW_MIN_WORK &&
           (whole_tiles || (fewer >= WINO_ODD_MIN_CHANNELS && g->ow >= WINO_ODD_MIN_WIDTH &&
                            g->oh >= WINO_ODD_MIN_WIDTH));
}

/* Tiles a block: whole images while they fit in WINO_MAX_TILES, else whole tile rows, so that
 * every tile row is taken in whole vector steps (a row split between blocks leaves pieces
 * shorter than a step, done tile by tile: blocks sized to the L2 that way ran the 32 -> 64
 * layer's forward a third slower than blocks of two whole 28x28 images). A batch of whole-image
 * blocks is dealt into at least WINO_MIN_BLOCKS of them (when it has that many images), so
 * that every thread of a team gets some: 64 images of 4x4 (4 tiles each, a ResNet's last
 * stage) would otherwise be one block. The blocks depend on the batch alone, so the tiles are
 * computed the same way at any thread count. */
static int64_t block_tiles(int64_t th, int64_t tw, int64_t n)
{
    const int64_t per_image = th * tw;
    if (per_image <= WINO_MAX_TILES)
        return PYNN_MIN(WINO_MAX_TILES / per_image, pynn_ceil_div(n, WINO_MIN_BLOCKS)) *
               per_image;
    return PYNN_MAX(1, WINO_MAX_TILES / tw) * tw;
}

/* A block's tiles [start, end) run through consecutive images: the part in start's image
 * ends at the returned tile (end, or that image's last tile + 1); *img is that image and
 * *ty0 the tile row start lies on (th x tw tiles an image). */
static int64_t image_segment(int64_t start, int64_t end, int64_t th, int64_t tw, int64_t *img,
                             int64_t *ty0)
{
    const int64_t per_image = th * tw;
    *img = start / per_image;
    *ty0 = start % per_image / tw;
    return PYNN_MIN(end, (*img + 1) * per_image);
}

#define PYNN_TEMPLATE "winograd.c"
#include "pynn_template.h"

#else /* the template (pynn_template.h) */

/* The filter transform as a matrix: (G g G^T)[4 r + s] = sum over taps 3 i + j of
 * G[r][i] G[s][j] g[i][j], G of winograd_kernel.h (entries 0, 1 and +-1/2, so the products are
 * exact). Both filter transforms are then GEMMs over all o x c filters at once: taken filter
 * by filter, each writing 16 values o c apart, the forward's was a tenth of a 256 -> 256 4x4
 * layer's call, and the weight gradient's ran on one thread. */
static void PYNN_FN(transform_matrix)(real mat[16][9])
{
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    for (int r = 0; r < 4; ++r)
        for (int s = 0; s < 4; ++s)
            for (int i = 0; i < 3; ++i)
                for (int j = 0; j < 3; ++j)
                    mat[4 * r + s][3 * i + j] = (real)(G[r][i] * G[s][j]);
}

/* u[xi][oc][ci] := (G g G^T)[xi] of every filter g = w[oc][ci] (winograd_kernel.h). */
static int PYNN_FN(filter_transform)(int64_t o, int64_t c, const real *w, real *u, int isa,
                                     int n_threads)
{
    real mat[16][9];
    PYNN_FN(transform_matrix)(mat);
    /* U (16 x o c) := M (16 x 9) W^T, W the o c filters as rows of 9 taps */
    return PYNN_FN(pynn_gemm)(16, o * c, 9, 1, &mat[0][0], 9, 1, w, 1, 9, 0, u, o * c, 1, NULL,
                              0, 0, isa, n_threads);
}

/* What every block reads. */
typedef struct {
    const pynn_conv_geom *g;
    int64_t o, th, tw, tiles, block, len; /* len: a padded image row, >= w + 2 pw */
    const real *x, *u, *b;
    int relu, isa;
    real *y;
    const pynn_winograd_desc *desc;
} PYNN_FN(wino_args);

/* One thread's room: the block's transformed input v (16 x c x block) and output m
 * (16 x o x block), a padded plane of `plane_rows` rows of len values (zero outside the
 * image's columns, which are the only ones written), and a spare row of 2 tw values
 * (output_rows' row past the output; grad_rows' zeros). */
typedef struct {
    real *v, *m, *plane, *spare;
} PYNN_FN(wino_room);

/* s := a thread's room, of the sizes wino_plan gave (the spare row zeroed: the weight
 * gradient reads it as the zeros past dy); PYNN_OK or PYNN_ERR_NOMEM, room_free either way. */
static int PYNN_FN(room_alloc)(PYNN_FN(wino_room) *s, int64_t v_len, int64_t m_len,
                               int64_t plane_len, int64_t tw)
{
    s->v = pynn_alloc_n(v_len, sizeof(real), 0);
    s->m = pynn_alloc_n(m_len, sizeof(real), 0);
    s->plane = pynn_alloc_n(plane_len, sizeof(real), 1);
    s->spare = pynn_alloc_n(2 * tw, sizeof(real), 1);
    return s->v && s->m && s->plane && s->spare ? PYNN_OK : PYNN_ERR_NOMEM;
}

static void PYNN_FN(room_free)(PYNN_FN(wino_room) *s)
{
    pynn_free(s->v);
    pynn_free(s->m);
    pynn_free(s->plane);
    pynn_free(s->spare);
}

/* Rows 2 ty0 .. 2 ty1 + 3 of channel plane xc padded, into the room's plane from its row 0. */
static void PYNN_FN(pad_rows)(const PYNN_FN(wino_args) *a, const real *xc, int64_t ty0,
                              int64_t ty1, real *plane)
{
    const pynn_conv_geom *g = a->g;
    for (int64_t r = 2 * ty0; r < 2 * ty1 + 4; ++r) {
        real *dst = plane + (r - 2 * ty0) * a->len + g->pw;
        const int64_t iy = r - g->ph;
        if (iy >= 0 && iy < g->h)
            pynn_copy_row(dst, xc + iy * g->w, sizeof(real) * (size_t)g->w);
        else
            memset(dst, 0, sizeof(real) * (size_t)g->w);
    }
}

static void PYNN_FN(input_block)(const PYNN_FN(wino_args) *a, int64_t t0, int64_t count,
                                 const PYNN_FN(wino_room) *s)
{
    const pynn_conv_geom *g = a->g;
    /* Image by image: each channel's rows under the block's tiles there are padded once. */
    for (int64_t start = t0, end = t0 + count, stop, img, ty0; start < end; start = stop) {
        stop = image_segment(start, end, a->th, a->tw, &img, &ty0);
        const int64_t ty1 = (stop - 1) / a->tw % a->th;
        for (int64_t ci = 0; ci < g->c; ++ci) {
            PYNN_FN(pad_rows)(a, a->x + (img * g->c + ci) * g->h * g->w, ty0, ty1, s->plane);
            a->desc->PYNN_FN(input_rows)(s->plane, a->len, a->tw, start % a->tw, stop - start,
                                         s->v + ci * a->block + (start - t0), g->c * a->block);
        }
    }
}

static void PYNN_FN(output_block)(const PYNN_FN(wino_args) *a, int64_t t0, int64_t count,
                                  const PYNN_FN(wino_room) *s)
{
    const pynn_conv_geom *g = a->g;
    for (int64_t start = t0, end = t0 + count, stop, img, ty0; start < end; start = stop) {
        stop = image_segment(start, end, a->th, a->tw, &img, &ty0);
        for (int64_t oc = 0; oc < a->o; ++oc)
            a->desc->PYNN_FN(output_rows)(
                s->m + oc * a->block + (start - t0), a->o * a->block, a->tw, start % a->tw,
                stop - start, a->b ? a->b[oc] : 0, a->relu,
                a->y + ((img * a->o + oc) * g->oh + 2 * ty0) * g->ow, g->ow, g->oh - 2 * ty0,
                s->spare);
    }
}

static int PYNN_FN(run_block)(const PYNN_FN(wino_args) *a, int64_t t0,
                              const PYNN_FN(wino_room) *s)
{
    const int64_t count = PYNN_MIN(a->block, a->tiles - t0), c = a->g->c, o = a->o;
    PYNN_FN(input_block)(a, t0, count, s);
    for (int xi = 0; xi < 16; ++xi) {
        const int status = PYNN_FN(pynn_gemm)(o, count, c, 1, a->u + xi * o * c, c, 1,
                                              s->v + xi * c * a->block, a->block, 1, 0,
                                              s->m + xi * o * a->block, a->block, 1, NULL, 0, 0,
                                              a->isa, 1);
        if (status != PYNN_OK)
            return status;
    }
    PYNN_FN(output_block)(a, t0, count, s);
    return PYNN_OK;
}

/* The sizes a call's blocks and rooms take (elements): *u_len of the transformed filters,
 * *v_len, *m_len and *plane_len of a thread's room. Returns 0 when a size overflows. */
static int PYNN_FN(wino_plan)(PYNN_FN(wino_args) *a, int64_t n, int64_t *u_len, int64_t *v_len,
                              int64_t *m_len, int64_t *plane_len)
{
    const pynn_conv_geom *g = a->g;
    a->th = pynn_ceil_div(g->oh, 2), a->tw = pynn_ceil_div(g->ow, 2);
    a->tiles = pynn_size_mul(pynn_size_mul(n, a->th), a->tw);
    a->len = 2 * a->tw + 2;
    *u_len = pynn_size_mul(16, pynn_size_mul(a->o, g->c));
    if (a->tiles < 0 || *u_len < 0)
        return 0;
    a->block = PYNN_MIN(block_tiles(a->th, a->tw, n), a->tiles);
    /* A block spans at most this many tile rows of one image, each reading 2 more image rows. */
    const int64_t plane_rows = 2 * PYNN_MIN(a->th, pynn_ceil_div(a->block, a->tw) + 1) + 2;
    *v_len = pynn_size_mul(16, pynn_size_mul(g->c, a->block));
    *m_len = pynn_size_mul(16, pynn_size_mul(a->o, a->block));
    *plane_len = pynn_size_mul(plane_rows, a->len);
    return *v_len >= 0 && *m_len >= 0 && *plane_len >= 0;
}

int PYNN_FN(pynn_winograd_conv)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                                const real *w, const real *b, int relu, real *y, int isa,
                                int n_threads)
{
    if (n <= 0 || o <= 0)
        return PYNN_OK;
    PYNN_FN(wino_args) a = {.g = g, .o = o, .x = x, .b = b, .relu = relu, .isa = isa, .y = y,
                            .desc = pynn_winograd_kernels(isa)};
    int64_t u_len, v_len, m_len, plane_len;
    if (!PYNN_FN(wino_plan)(&a, n, &u_len, &v_len, &m_len, &plane_len))
        return PYNN_ERR_NOMEM;
    real *u = pynn_alloc_n(u_len, sizeof(real), 0);
    if (!u)
        return PYNN_ERR_NOMEM;
    int status = PYNN_FN(filter_transform)(o, g->c, w, u, isa, n_threads);
    if (status != PYNN_OK) {
        pynn_free(u);
        return status;
    }
    a.u = u;
    const int64_t blocks = pynn_ceil_div(a.tiles, a.block);
    const int nt = (int)PYNN_MIN((int64_t)n_threads, blocks);
    (void)nt; /* read only by the OpenMP pragma */
    PYNN_OMP(parallel num_threads(nt) if (nt > 1))
    {
        PYNN_FN(wino_room) s;
        int mine = PYNN_FN(room_alloc)(&s, v_len, m_len, plane_len, a.tw);
        PYNN_OMP(for schedule(static))
        for (int64_t blk = 0; blk < blocks; ++blk)
            if (mine == PYNN_OK)
                mine = PYNN_FN(run_block)(&a, blk * a.block, &s);
        if (mine != PYNN_OK) {
            PYNN_OMP(atomic write)
            status = mine;
        }
        PYNN_FN(room_free)(&s);
    }
    pynn_free(u);
    return status;
}

/* dw[oc][ci] := G^T dU G of dU[xi][oc][ci] (16 x o x c), the gradient of U = G g G^T: the
 * transposed GEMM of filter_transform, dW^T (9 x o c) := M^T dU. */
static int PYNN_FN(filter_gradient)(int64_t o, int64_t c, const real *du, real *dw, int isa,
                                    int n_threads)
{
    real mat[16][9];
    PYNN_FN(transform_matrix)(mat);
    return PYNN_FN(pynn_gemm)(9, o * c, 16, 1, &mat[0][0], 1, 9, du, o * c, 1, 0, dw, 1, 9, NULL,
                              0, 0, isa, n_threads);
}

/* The dy transforms of a block's tiles into the room's m (16 x o x block). */
static void PYNN_FN(grad_block)(const PYNN_FN(wino_args) *a, const real *dy, int64_t t0,
                                int64_t count, const PYNN_FN(wino_room) *s)
{
    const pynn_conv_geom *g = a->g;
    for (int64_t start = t0, end = t0 + count, stop, img, ty0; start < end; start = stop) {
        stop = image_segment(start, end, a->th, a->tw, &img, &ty0);
        for (int64_t oc = 0; oc < a->o; ++oc)
            a->desc->PYNN_FN(grad_rows)(dy + ((img * a->o + oc) * g->oh + 2 * ty0) * g->ow, g->ow,
                                        g->oh - 2 * ty0, a->tw, start % a->tw, stop - start,
                                        s->spare, s->m + oc * a->block + (start - t0),
                                        a->o * a->block);
    }
}

int PYNN_FN(pynn_winograd_dw)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                              const real *dy, real *dw, int isa, int n_threads)
{
    PYNN_FN(wino_args) a = {.g = g, .o = o, .x = x, .isa = isa,
                            .desc = pynn_winograd_kernels(isa)};
    int64_t u_len, v_len, m_len, plane_len;
    if (n <= 0 || o <= 0 || !PYNN_FN(wino_plan)(&a, n, &u_len, &v_len, &m_len, &plane_len))
        return n <= 0 || o <= 0 ? PYNN_OK : PYNN_ERR_NOMEM;
    const int64_t blocks = pynn_ceil_div(a.tiles, a.block);
    const int nt = (int)PYNN_MIN((int64_t)n_threads, blocks);
    /* Each thread's sums of dU, added in thread order afterwards. */
    real *du = pynn_alloc_n(pynn_size_mul(nt, u_len), sizeof(real), 1);
    if (!du)
        return PYNN_ERR_NOMEM;
    int status = PYNN_OK;
    PYNN_OMP(parallel num_threads(nt) if (nt > 1))
    {
        PYNN_FN(wino_room) s;
        int mine = PYNN_FN(room_alloc)(&s, v_len, m_len, plane_len, a.tw);
        real *mine_du = du + pynn_thread_id() * u_len;
        real *vt = pynn_alloc_n(PYNN_FN(pynn_gemm_packed_b_len)(a.block, g->c, isa), sizeof(real),
                                0);
        if (!vt)
            mine = PYNN_ERR_NOMEM;
        PYNN_OMP(for schedule(static))
        for (int64_t blk = 0; blk < blocks; ++blk) {
            const int64_t t0 = blk * a.block, count = PYNN_MIN(a.block, a.tiles - t0);
            if (mine != PYNN_OK)
                continue;
            PYNN_FN(input_block)(&a, t0, count, &s);
            PYNN_FN(grad_block)(&a, dy, t0, count, &s);
            /* dU[xi] += dM[xi] (o x tiles) V[xi]^T (tiles x c), V^T packed for the blocked
             * product: as it lies, its short side (c) sends pynn_gemm to the dot form, which
             * ran these products at half the speed. */
            for (int xi = 0; xi < 16 && mine == PYNN_OK; ++xi) {
                PYNN_FN(pynn_gemm_pack_b)(count, g->c, s.v + xi * g->c * a.block, 1, a.block,
                                          isa, vt);
                mine = PYNN_FN(pynn_gemm_packed)(o, g->c, count, 1, s.m + xi * o * a.block,
                                                 a.block, 1, vt, 1, mine_du + xi * o * g->c,
                                                 g->c, NULL, 0, 0, isa, 1);
            }
        }
        if (mine != PYNN_OK) {
            PYNN_OMP(atomic write)
            status = mine;
        }
        PYNN_FN(room_free)(&s);
        pynn_free(vt);
    }
    if (status == PYNN_OK) {
        for (int t = 1; t < nt; ++t)
            for (int64_t i = 0; i < u_len; ++i)
                du[i] += du[t * u_len + i];
        status = PYNN_FN(filter_gradient)(o, g->c, du, dw, isa, n_threads);
    }
    pynn_free(du);
    return status;
}

#endif
