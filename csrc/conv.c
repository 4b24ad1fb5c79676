/* Written once for a generic `real`, compiled for float and double: this file includes
 * itself twice with PYNN_REAL set (the bottom half is the template). */
#ifndef PYNN_REAL
#include <string.h>

#include "conv.h"
#include "gemm.h"

/* A 1x1 window with stride 1 and no padding: the image already is its column matrix. */
static int is_pointwise(const pynn_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

#define PYNN_REAL float
#define PYNN_FN(name) name##_f32
#define PYNN_GEMM pynn_gemm_f32
#include "conv.c"
#undef PYNN_REAL
#undef PYNN_FN
#undef PYNN_GEMM
#define PYNN_REAL double
#define PYNN_FN(name) name##_f64
#define PYNN_GEMM pynn_gemm_f64
#include "conv.c"

#else /* template */
#define real PYNN_REAL

/* y_img := relu?(W cols + b) for one image, with `cols` scratch (unused when pointwise). */
static int PYNN_FN(forward_image)(const pynn_conv_geom *g, int64_t o, const real *x_img,
                                  const real *w, const real *b, int relu, real *y_img,
                                  real *cols, int isa, int n_threads)
{
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow;
    const real *src = x_img;
    if (!is_pointwise(g)) {
        PYNN_FN(pynn_im2col)(g, x_img, cols);
        src = cols;
    }
    return PYNN_GEMM(o, npix, kdim, 1, w, kdim, 1, src, npix, 1, 0, y_img, npix, 1, b, 0, relu,
                     isa, n_threads);
}

int PYNN_FN(pynn_conv2d_fwd)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                             const real *w, const real *b, int relu, real *y, int isa,
                             int n_threads)
{
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow;
    const int64_t x_step = g->c * g->h * g->w, y_step = o * npix;
    const size_t cols_bytes = is_pointwise(g) ? 0 : (size_t)(kdim * npix) * sizeof(real);
    int status = PYNN_OK;

    if (n < n_threads) { /* few images: thread each image's GEMM instead */
        real *cols = cols_bytes ? pynn_alloc(cols_bytes) : NULL;
        if (cols_bytes && !cols)
            return PYNN_ERR_NOMEM;
        for (int64_t i = 0; i < n && status == PYNN_OK; ++i)
            status = PYNN_FN(forward_image)(g, o, x + i * x_step, w, b, relu, y + i * y_step,
                                            cols, isa, n_threads);
        pynn_free(cols);
        return status;
    }

    PYNN_OMP(parallel num_threads(n_threads) if(n_threads > 1))
    {
        real *cols = cols_bytes ? pynn_alloc(cols_bytes) : NULL;
        int mine = (cols_bytes && !cols) ? PYNN_ERR_NOMEM : PYNN_OK;
        /* Every thread runs the loop (a worksharing loop must be reached by all threads);
         * one that could not allocate only skips its images and reports. */
        PYNN_OMP(for schedule(static))
        for (int64_t i = 0; i < n; ++i)
            if (mine == PYNN_OK)
                mine = PYNN_FN(forward_image)(g, o, x + i * x_step, w, b, relu,
                                              y + i * y_step, cols, isa, 1);
        if (mine != PYNN_OK) {
            PYNN_OMP(atomic write)
            status = mine;
        }
        pynn_free(cols);
    }
    return status;
}

/* Accumulate one image's gradients: dw_acc += dY cols^T, db_acc += row sums of dY, and (when
 * dx_img is given) dx_img := col2im(W^T dY). */
static int PYNN_FN(backward_image)(const pynn_conv_geom *g, int64_t o, const real *x_img,
                                   const real *w, const real *dy_img, real *dx_img,
                                   real *dw_acc, double *db_acc, real *cols, real *dcols,
                                   int isa, int n_threads)
{
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow;
    const int pointwise = is_pointwise(g);
    const real *src = x_img;
    if (!pointwise) {
        PYNN_FN(pynn_im2col)(g, x_img, cols);
        src = cols;
    }
    int status = PYNN_GEMM(o, kdim, npix, 1, dy_img, npix, 1, src, 1, npix, 1, dw_acc, kdim, 1,
                           NULL, 0, 0, isa, n_threads);
    if (status != PYNN_OK)
        return status;
    if (db_acc) {
        for (int64_t oc = 0; oc < o; ++oc) {
            const real *row = dy_img + oc * npix;
            double s = 0;
            for (int64_t p = 0; p < npix; ++p)
                s += row[p];
            db_acc[oc] += s;
        }
    }
    if (dx_img) {
        real *dst = pointwise ? dx_img : dcols;
        status = PYNN_GEMM(kdim, npix, o, 1, w, 1, kdim, dy_img, npix, 1, 0, dst, npix, 1,
                           NULL, 0, 0, isa, n_threads);
        if (status == PYNN_OK && !pointwise)
            PYNN_FN(pynn_col2im)(g, dcols, dx_img);
    }
    return status;
}

int PYNN_FN(pynn_conv2d_bwd)(const pynn_conv_geom *g, int64_t n, int64_t o, const real *x,
                             const real *w, const real *dy, real *dx, real *dw, real *db,
                             int isa, int n_threads)
{
    const int64_t kdim = g->c * g->kh * g->kw, npix = g->oh * g->ow;
    const int64_t x_step = g->c * g->h * g->w, y_step = o * npix;
    const int64_t teams = n < n_threads ? 1 : n_threads;
    const size_t cols_len = is_pointwise(g) ? 0 : (size_t)(kdim * npix);
    /* Per-thread accumulators for dw (the first team member uses dw itself) and db, summed in
     * a fixed order afterwards so the result does not depend on scheduling. */
    real *dw_extra = teams > 1 ? pynn_alloc((size_t)((teams - 1) * o * kdim) * sizeof(real))
                               : NULL;
    double *db_acc = db ? pynn_alloc((size_t)(teams * o) * sizeof(double)) : NULL;
    int status = PYNN_OK;
    if ((teams > 1 && !dw_extra) || (db && !db_acc)) {
        status = PYNN_ERR_NOMEM;
        goto done;
    }
    memset(dw, 0, (size_t)(o * kdim) * sizeof(real));
    if (dw_extra)
        memset(dw_extra, 0, (size_t)((teams - 1) * o * kdim) * sizeof(real));
    if (db_acc)
        memset(db_acc, 0, (size_t)(teams * o) * sizeof(double));

    if (teams == 1) {
        real *cols = cols_len ? pynn_alloc(cols_len * sizeof(real)) : NULL;
        real *dcols = cols_len && dx ? pynn_alloc(cols_len * sizeof(real)) : NULL;
        if (cols_len && (!cols || (dx && !dcols)))
            status = PYNN_ERR_NOMEM;
        for (int64_t i = 0; i < n && status == PYNN_OK; ++i)
            status = PYNN_FN(backward_image)(g, o, x + i * x_step, w, dy + i * y_step,
                                             dx ? dx + i * x_step : NULL, dw, db_acc, cols,
                                             dcols, isa, n_threads);
        pynn_free(cols);
        pynn_free(dcols);
    } else {
        PYNN_OMP(parallel num_threads((int)teams))
        {
            const int t = pynn_thread_id();
            real *dw_mine = t == 0 ? dw : dw_extra + (t - 1) * o * kdim;
            real *cols = cols_len ? pynn_alloc(cols_len * sizeof(real)) : NULL;
            real *dcols = cols_len && dx ? pynn_alloc(cols_len * sizeof(real)) : NULL;
            int mine = (cols_len && (!cols || (dx && !dcols))) ? PYNN_ERR_NOMEM : PYNN_OK;
            PYNN_OMP(for schedule(static))
            for (int64_t i = 0; i < n; ++i)
                if (mine == PYNN_OK)
                    mine = PYNN_FN(backward_image)(g, o, x + i * x_step, w, dy + i * y_step,
                                                   dx ? dx + i * x_step : NULL, dw_mine,
                                                   db_acc ? db_acc + t * o : NULL, cols, dcols,
                                                   isa, 1);
            if (mine != PYNN_OK) {
                PYNN_OMP(atomic write)
                status = mine;
            }
            pynn_free(cols);
            pynn_free(dcols);
        }
        for (int64_t t = 1; t < teams; ++t) {
            const real *part = dw_extra + (t - 1) * o * kdim;
            for (int64_t i = 0; i < o * kdim; ++i)
                dw[i] += part[i];
        }
    }
    if (db && status == PYNN_OK) {
        for (int64_t oc = 0; oc < o; ++oc) {
            double s = 0;
            for (int64_t t = 0; t < teams; ++t)
                s += db_acc[t * o + oc];
            db[oc] = (real)s;
        }
    }
done:
    pynn_free(dw_extra);
    pynn_free(db_acc);
    return status;
}

#undef real
#endif
