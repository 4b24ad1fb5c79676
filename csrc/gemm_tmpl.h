/* The GEMM driver for one precision, instantiated by gemm.c with:
 *   T  element type     SFX  f32 or f64 (suffix of every name defined here)
 * See gemm.h for the contract and gemm.c for the scheme. */

#define NAME(x) PYNN_CAT(x, PYNN_CAT(_, SFX))
#define EP NAME(pynn_gemm_ep)
#define UKR NAME(pynn_gemm_ukr)
#define CTX NAME(gemm_ctx)
#define DOT NAME(pynn_gemm_dot)

typedef struct {
    int64_t m, n, k;
    T alpha, beta;
    const T *a;
    int64_t rsa, csa;
    const T *b;
    int64_t rsb, csb;
    T *c;
    int64_t rsc, csc;
    const T *bias;
    int bias_axis, relu;
    UKR ukr, ukr_half, ukr_short;
    int64_t mr, nr, kc, mc, nc; /* kc and nc balanced so that the last block is not a sliver */
    int pack_a, pack_b;         /* 0: read that operand in place (see pynn_gemm_*) */
    T *bpack;                   /* kc x nc, shared by the team (pack_b) */
    T *apack;                   /* per thread, apack_size elements apart: an mc x kc block of
                                   A (pack_a), else one MR x kc edge micro-panel of A; then
                                   one kc x NR edge micro-panel of B (!pack_b) */
    int64_t apack_size, ablock_size;
    int64_t *counters;          /* task counters: with pack_b two (pack B, multiply) per
                                   (jc, pc) block, else one per jc block */
} CTX;

/* C(i, j) := relu?(alpha * acc + beta * C(i, j) + bias) for one row of jn values; beta == 0
 * never reads C. Used by the direct path, where nothing is packed. */
static void NAME(store_row)(const CTX *x, int64_t i, int64_t j0, int64_t jn, const T *acc)
{
    T *ci = x->c + i * x->rsc + j0 * x->csc;
    for (int64_t j = 0; j < jn; ++j) {
        T v = x->alpha * acc[j];
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
static void NAME(gemm_direct)(const CTX *x)
{
    enum { CHUNK = 64 };
    T acc[CHUNK];
    for (int64_t i = 0; i < x->m; ++i) {
        for (int64_t j0 = 0; j0 < x->n; j0 += CHUNK) {
            const int64_t jn = PYNN_MIN((int64_t)CHUNK, x->n - j0);
            for (int64_t j = 0; j < jn; ++j)
                acc[j] = 0;
            for (int64_t p = 0; p < x->k; ++p) {
                const T av = x->a[i * x->rsa + p * x->csa];
                const T *bp = x->b + p * x->rsb + j0 * x->csb;
                if (x->csb == 1)
                    for (int64_t j = 0; j < jn; ++j)
                        acc[j] += av * bp[j];
                else
                    for (int64_t j = 0; j < jn; ++j)
                        acc[j] += av * bp[j * x->csb];
            }
            NAME(store_row)(x, i, j0, jn, acc);
        }
    }
}

/* The dot form (gemm_kernel.h) over the whole product. C^T = B^T A^T is the same problem
 * with the operands' roles swapped, which turns the dm x dn register block into dn x dm:
 * the orientation that wastes fewer lanes on ragged edge blocks is taken (6 x 25 fits
 * 3 x 4 blocks better, 16 x 150 fits 4 x 3 exactly). With a team, the side of C with more
 * blocks is split into block-aligned ranges handed out first come, first served. */
static void NAME(gemm_dot)(const CTX *x, const pynn_gemm_desc *desc, int n_threads)
{
    const DOT dot = desc->PYNN_CAT(dot_, SFX);
    const int64_t dm = desc->dot_m, dn = desc->dot_n;
#define PYNN_PADDED(len, blk) (((len) + (blk) - 1) / (blk) * (blk))
    const int swap = PYNN_PADDED(x->m, dn) * PYNN_PADDED(x->n, dm) <
                     PYNN_PADDED(x->m, dm) * PYNN_PADDED(x->n, dn);
#undef PYNN_PADDED
    /* The problem as the kernel sees it: m rows of a, n rows of bt, C(i, j) at i rs + j cs. */
    const int64_t m = swap ? x->n : x->m, n = swap ? x->m : x->n;
    const T *a = swap ? x->b : x->a, *bt = swap ? x->a : x->b;
    const int64_t rsa = swap ? x->csb : x->rsa, rsbt = swap ? x->rsa : x->csb;
    const int64_t rsc = swap ? x->csc : x->rsc, csc = swap ? x->rsc : x->csc;
    EP ep;
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
    const int64_t tasks = PYNN_MIN(blocks, (int64_t)GEMM_TASKS_PER_THREAD * nt);
    PYNN_OMP(parallel for num_threads(nt) schedule(dynamic, 1))
    for (int64_t t = 0; t < tasks; ++t) {
        const int64_t lo = blocks * t / tasks * step, hi = blocks * (t + 1) / tasks * step;
        EP mine = ep;
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

/* Pack rows [i0, i0 + mc) x depth [p0, p0 + kc) of A into MR-row micro-panels:
 * dst[panel * MR * kc + p * MR + r], rows past the edge zero. */
static void NAME(pack_a)(const CTX *x, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                         T *PYNN_RESTRICT dst)
{
    const int64_t MR = x->mr, rsa = x->rsa, csa = x->csa;
    for (int64_t ir = 0; ir < mc; ir += MR, dst += MR * kc) {
        const int64_t mr = PYNN_MIN(MR, mc - ir);
        const T *src = x->a + (i0 + ir) * rsa + p0 * csa;
        if (csa == 1) {
            NAME(transpose_into)(src, rsa, mr, kc, dst, MR);
        } else if (rsa == 1) {
            for (int64_t p = 0; p < kc; ++p)
                memcpy(dst + p * MR, src + p * csa, (size_t)mr * sizeof(T));
        } else {
            for (int64_t p = 0; p < kc; ++p) {
                const T *s = src + p * csa;
                for (int64_t r = 0; r < mr; ++r)
                    dst[p * MR + r] = s[r * rsa];
            }
        }
        if (mr < MR)
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t r = mr; r < MR; ++r)
                    dst[p * MR + r] = 0;
    }
}

/* Pack NR-column micro-panels q0 <= q < q1 of columns [j0, j0 + nc) x depth [p0, p0 + kc)
 * of B: dst[(q - q0) * NR * kc + p * NR + c], columns past the edge zero. */
static void NAME(pack_b)(const CTX *x, int64_t j0, int64_t nc, int64_t p0, int64_t kc,
                         int64_t q0, int64_t q1, T *PYNN_RESTRICT dst)
{
    const int64_t NR = x->nr, rsb = x->rsb, csb = x->csb;
    for (int64_t q = q0; q < q1; ++q) {
        const int64_t jr = q * NR, nr = PYNN_MIN(NR, nc - jr);
        const T *src = x->b + p0 * rsb + (j0 + jr) * csb;
        T *d = dst + (q - q0) * NR * kc;
        if (csb == 1 && nr == NR) {
            /* Constant-size copies compile to a few vector moves, not memcpy calls. */
            switch (NR) {
#define PYNN_COPY_ROWS(W)                                        \
    case W:                                                      \
        for (int64_t p = 0; p < kc; ++p)                         \
            memcpy(d + p * W, src + p * rsb, W * sizeof(T));     \
        break;
                PYNN_COPY_ROWS(4)
                PYNN_COPY_ROWS(8)
                PYNN_COPY_ROWS(16)
                PYNN_COPY_ROWS(32)
#undef PYNN_COPY_ROWS
            default:
                for (int64_t p = 0; p < kc; ++p)
                    memcpy(d + p * NR, src + p * rsb, (size_t)NR * sizeof(T));
            }
        } else if (csb == 1) {
            for (int64_t p = 0; p < kc; ++p)
                memcpy(d + p * NR, src + p * rsb, (size_t)nr * sizeof(T));
        } else if (rsb == 1) {
            /* Transposed B (B^T row-major, as in x W^T). */
            NAME(transpose_into)(src, csb, nr, kc, d, NR);
        } else {
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t col = 0; col < nr; ++col)
                    d[p * NR + col] = src[col * csb + p * rsb];
        }
        if (nr < NR)
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t col = nr; col < NR; ++col)
                    d[p * NR + col] = 0;
    }
}

/* Task t of the nc-column block at jc, over depth [pc, pc + kc): the mc_step-row block
 * t / nchunks of C times chunk t % nchunks of B's NR-column micro-panels. The first depth
 * block applies beta, the last bias and ReLU; the others accumulate into C. `ap` is the
 * thread's own packing room. */
static void NAME(multiply_task)(const CTX *x, T *ap, int64_t jc, int64_t nc, int64_t pc,
                                int64_t kc, int64_t t, int64_t mc_step, int64_t nchunks)
{
    const int64_t MR = x->mr, NR = x->nr, npanels = (nc + NR - 1) / NR;
    const int64_t ic = t / nchunks * mc_step, chunk = t % nchunks;
    const int64_t mc = PYNN_MIN(mc_step, x->m - ic);
    const int64_t q0 = npanels * chunk / nchunks, q1 = npanels * (chunk + 1) / nchunks;
    const int first = pc == 0, last = pc + kc >= x->k;
    EP ep;
    ep.alpha = x->alpha;
    ep.beta = first ? x->beta : 1;
    ep.load_c = !first || x->beta != 0;
    ep.relu = last && x->relu;
    ep.bias_axis = x->bias_axis;
    const T *ablk;
    int64_t rs_a, cs_a, panel_a; /* strides of A's micro-panels, and between them */
    if (x->pack_a) {
        NAME(pack_a)(x, ic, mc, pc, kc, ap);
        ablk = ap, rs_a = 1, cs_a = MR, panel_a = MR * kc;
    } else {
        ablk = x->a + ic * x->rsa + pc * x->csa;
        rs_a = x->rsa, cs_a = x->csa, panel_a = MR * x->rsa;
    }
    /* The ragged last micro-panel of an unpacked A: packed alone, once per block (the
     * micro-kernel always reads MR rows). */
    const int64_t ragged = x->pack_a ? mc : mc / MR * MR;
    if (ragged < mc)
        NAME(pack_a)(x, ic + ragged, mc - ragged, pc, kc, ap);
    for (int64_t q = q0; q < q1; ++q) {
        const int64_t jr = q * NR, nr = PYNN_MIN(NR, nc - jr);
        const T *bq;
        int64_t rs_b;
        if (x->pack_b) {
            bq = x->bpack + q * NR * kc, rs_b = NR;
        } else if (nr == NR) {
            bq = x->b + pc * x->rsb + (jc + jr), rs_b = x->rsb;
        } else {
            /* The ragged last panel of an unpacked B: pack it alone. */
            NAME(pack_b)(x, jc, nc, pc, kc, q, q + 1, ap + x->ablock_size);
            bq = ap + x->ablock_size, rs_b = NR;
        }
        const UKR ukr = 2 * nr <= NR ? x->ukr_half : x->ukr;
        for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = PYNN_MIN(MR, mc - ir);
            /* A ragged last row panel of at most MR / 2 rows (16 = 12 + 4 rows of a
             * convolution's im2col product) takes the half-height kernel, not MR rows' work. */
            const UKR ukr_rows = 2 * mr <= MR && 2 * nr > NR ? x->ukr_short : ukr;
            ep.bias = NULL;
            if (last && x->bias)
                ep.bias = x->bias + (x->bias_axis == 1 ? jc + jr : ic + ir);
            const T *aq = ablk + (ir / MR) * panel_a;
            int64_t rs_aq = rs_a, cs_aq = cs_a;
            if (ir >= ragged)
                aq = ap, rs_aq = 1, cs_aq = MR;
            ukr_rows(kc, aq, rs_aq, cs_aq, bq, rs_b,
                     x->c + (ic + ir) * x->rsc + (jc + jr) * x->csc, x->rsc, x->csc, mr, nr,
                     &ep);
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
static void NAME(gemm_worker)(const CTX *x, int tid, int nt)
{
    const int64_t MR = x->mr, NR = x->nr;
    /* Row blocks of at most mc rows; with a team, at least GEMM_TASKS_PER_THREAD per thread
     * when A has that many micro-panels (smaller blocks re-read the shared packed B, which
     * is cheaper than splitting B's panels and packing the same A block once per chunk). */
    int64_t mblocks = (x->m + x->mc - 1) / x->mc;
    if (nt > 1)
        mblocks = PYNN_MAX(mblocks, PYNN_MIN((x->m + MR - 1) / MR,
                                             (int64_t)GEMM_TASKS_PER_THREAD * nt));
    const int64_t mc_step = ((x->m + mblocks - 1) / mblocks + MR - 1) / MR * MR;
    const int64_t nrow = (x->m + mc_step - 1) / mc_step;
    T *ap = x->apack + tid * x->apack_size;
    int64_t *counter = x->counters;

    for (int64_t jc = 0; jc < x->n; jc += x->nc) {
        const int64_t nc = PYNN_MIN(x->nc, x->n - jc);
        const int64_t npanels = (nc + NR - 1) / NR;
        /* Split B's panels into chunks only when there are too few row blocks to share. */
        int64_t nchunks = 1;
        if (nt > 1)
            nchunks = PYNN_MIN(npanels, (GEMM_TASKS_PER_THREAD * nt + nrow - 1) / nrow);
        const int64_t ntasks = nrow * nchunks;
        const int64_t nbtasks = PYNN_MIN(npanels, (int64_t)GEMM_TASKS_PER_THREAD * nt);
        if (!x->pack_b) {
            for (int64_t t; (t = gemm_claim(counter)) < ntasks;)
                for (int64_t pc = 0; pc < x->k; pc += x->kc)
                    NAME(multiply_task)(x, ap, jc, nc, pc, PYNN_MIN(x->kc, x->k - pc), t,
                                        mc_step, nchunks);
            counter += 1;
            continue;
        }
        for (int64_t pc = 0; pc < x->k; pc += x->kc, counter += 2) {
            const int64_t kc = PYNN_MIN(x->kc, x->k - pc);
            for (int64_t t; (t = gemm_claim(&counter[0])) < nbtasks;) {
                const int64_t b0 = npanels * t / nbtasks, b1 = npanels * (t + 1) / nbtasks;
                NAME(pack_b)(x, jc, nc, pc, kc, b0, b1, x->bpack + b0 * NR * kc);
            }
            if (nt > 1) {
                PYNN_OMP(barrier)
            }
            for (int64_t t; (t = gemm_claim(&counter[1])) < ntasks;)
                NAME(multiply_task)(x, ap, jc, nc, pc, kc, t, mc_step, nchunks);
            /* B's buffer is refilled, and the tiles are added to, by whoever comes next. */
            if (nt > 1) {
                PYNN_OMP(barrier)
            }
        }
    }
}

int NAME(pynn_gemm)(int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t rsa,
                    int64_t csa, const T *b, int64_t rsb, int64_t csb, T beta, T *c,
                    int64_t rsc, int64_t csc, const T *bias, int bias_axis, int relu, int isa,
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
        NAME(gemm_direct)(&x);
        return PYNN_OK;
    }

    const pynn_gemm_desc *desc = gemm_desc(isa);
    const pynn_gemm_blocking *bl = gemm_blocks(isa, sizeof(T) == sizeof(double));
    if (x.csa == 1 && x.rsb != 1 && gemm_narrow_b_to_dot(x.n, k, bl->nr)) {
        T *bt = (T *)pynn_alloc(sizeof(T) * (size_t)(x.n * k)); /* B^T, k-contiguous */
        if (!bt)
            return PYNN_ERR_NOMEM;
        for (int64_t p = 0; p < k; ++p)
            for (int64_t j = 0; j < x.n; ++j)
                bt[j * k + p] = x.b[p * x.rsb + j * x.csb];
        x.b = bt, x.rsb = 1, x.csb = k;
        NAME(gemm_dot)(&x, desc, n_threads);
        pynn_free(bt);
        return PYNN_OK;
    }
    if (gemm_use_dot(x.m, x.n, k, x.csa, x.rsb)) {
        NAME(gemm_dot)(&x, desc, n_threads);
        return PYNN_OK;
    }
    x.ukr = desc->PYNN_CAT(ukr_, SFX);
    x.ukr_half = desc->PYNN_CAT(ukr_half_, SFX);
    x.ukr_short = desc->PYNN_CAT(ukr_short_, SFX);
    x.mr = bl->mr, x.nr = bl->nr, x.mc = bl->mc;
    const int64_t kblocks = (k + bl->kc - 1) / bl->kc;
    x.kc = (k + kblocks - 1) / kblocks;
    const int64_t nblocks = (x.n + bl->nc - 1) / bl->nc;
    x.nc = ((x.n + nblocks - 1) / nblocks + x.nr - 1) / x.nr * x.nr;

    const int nt = gemm_threads(x.m, x.n, k, x.mr, x.nr, n_threads);
    /* Packing copies an operand once so that the micro-kernel streams it; it pays when the
     * copy is reused. A's block is reused by every NR-column panel of B, B's by every MR-row
     * panel of A. Unpacked, A is read through its strides and B (row-major only, in whole
     * NR-wide panels) through its row stride. A micro-panel still has to fit a row of A in a
     * load, so A with neither stride 1 is always packed. */
    x.pack_a = x.n > GEMM_PACK_A_MIN_PANELS * x.nr;
    x.pack_b = x.csb != 1 || x.m > GEMM_PACK_B_MIN_PANELS * x.mr;
    /* Whole cache lines per part, so that every packed B panel is 64-byte aligned. */
    const int64_t line = PYNN_ALIGN / sizeof(T);
    x.ablock_size = x.pack_a ? (x.mc + x.mr - 1) / x.mr * x.mr * x.kc : x.mr * x.kc;
    x.ablock_size = (x.ablock_size + line - 1) / line * line;
    x.apack_size = x.ablock_size + (x.pack_b ? 0 : (x.nr * x.kc + line - 1) / line * line);
    const int64_t bsize = x.pack_b ? x.kc * x.nc : 0;
    const int64_t nphases = 2 * ((x.n + x.nc - 1) / x.nc) * ((k + x.kc - 1) / x.kc);
    const size_t pack_bytes = sizeof(T) * (size_t)(bsize + nt * x.apack_size);
    char *buf = (char *)pynn_alloc(pack_bytes + sizeof(int64_t) * (size_t)nphases);
    if (!buf)
        return PYNN_ERR_NOMEM;
    x.bpack = (T *)buf;
    x.apack = x.bpack + bsize; /* kc * nc * sizeof(T) is a multiple of 64 bytes */
    x.counters = (int64_t *)(buf + pack_bytes);
    memset(x.counters, 0, sizeof(int64_t) * (size_t)nphases);

    if (nt == 1) {
        NAME(gemm_worker)(&x, 0, 1);
    } else {
        PYNN_OMP(parallel num_threads(nt))
        {
            NAME(gemm_worker)(&x, pynn_thread_id(), pynn_team_size());
        }
    }
    pynn_free(buf);
    return PYNN_OK;
}

#undef NAME
#undef EP
#undef UKR
#undef CTX
#undef DOT
