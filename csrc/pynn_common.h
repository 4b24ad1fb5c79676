/* Shared by every pynn kernel family: status codes, the ISA enum, OpenMP glue and
 * aligned allocation. Kernels are re-entrant: no static buffers, no global state. */
#ifndef PYNN_COMMON_H
#define PYNN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef PYNN_HAVE_OPENMP
#define PYNN_HAVE_OPENMP 0
#endif

#define PYNN_PRAGMA(x) _Pragma(#x)

/* Token pasting after macro expansion (names built from PYNN_ISA or a type suffix). */
#define PYNN_CAT_(a, b) a##b
#define PYNN_CAT(a, b) PYNN_CAT_(a, b)

/* `omp simd` needs no OpenMP runtime: setup.py compiles with -fopenmp-simd on gcc and clang,
 * so reductions vectorise in serial builds too. */
#if PYNN_HAVE_OPENMP || defined(__GNUC__)
#define PYNN_SIMD(x) PYNN_PRAGMA(omp simd x)
#else
#define PYNN_SIMD(x)
#endif

/* Runs the statement (the arguments after `clauses`, which may hold commas) for each int64_t
 * i in [0, n), split across n_threads when `in_parallel` holds; `clauses` adds to the
 * parallel-for (a reduction, or nothing). A parallel-for whose if()
 * is false still enters the OpenMP runtime, which allocates and frees a team (which can cost
 * more than a small softmax's exponentials), so the serial case is a plain loop. */
#define PYNN_PARALLEL_FOR(i, n, n_threads, in_parallel, clauses, ...)                           \
    do {                                                                                      \
        if (in_parallel) {                                                                    \
            PYNN_OMP(parallel for num_threads(n_threads) schedule(static) clauses)            \
            for (int64_t i = 0; i < (n); ++i)                                                 \
                __VA_ARGS__;                                                                  \
        } else {                                                                              \
            for (int64_t i = 0; i < (n); ++i)                                                 \
                __VA_ARGS__;                                                                  \
        }                                                                                     \
    } while (0)

/* PYNN_PARALLEL_FOR for loops that must vectorise whichever way they run (`omp simd`: the
 * optimiser updates, whose sqrt and division GCC leaves scalar otherwise). */
#define PYNN_PARALLEL_FOR_SIMD(i, n, n_threads, in_parallel, ...)                              \
    do {                                                                                      \
        if (in_parallel) {                                                                    \
            PYNN_OMP(parallel for simd num_threads(n_threads) schedule(static))               \
            for (int64_t i = 0; i < (n); ++i)                                                 \
                __VA_ARGS__;                                                                  \
        } else {                                                                              \
            PYNN_SIMD()                                                                       \
            for (int64_t i = 0; i < (n); ++i)                                                 \
                __VA_ARGS__;                                                                  \
        }                                                                                     \
    } while (0)

#if PYNN_HAVE_OPENMP
#include <omp.h>
/* _Pragma keeps serial builds free of -Wunknown-pragmas warnings. */
#define PYNN_OMP(x) PYNN_PRAGMA(omp x)
static inline int pynn_thread_id(void) { return omp_get_thread_num(); }
static inline int pynn_team_size(void) { return omp_get_num_threads(); }
#else
#define PYNN_OMP(x)
static inline int pynn_thread_id(void) { return 0; }
static inline int pynn_team_size(void) { return 1; }
#endif

#if defined(_MSC_VER)
#define PYNN_RESTRICT __restrict
#include <malloc.h>
#else
#define PYNN_RESTRICT restrict
#endif

#define PYNN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PYNN_MAX(a, b) ((a) > (b) ? (a) : (b))

enum pynn_status { PYNN_OK = 0, PYNN_ERR_NOMEM = 1, PYNN_ERR_ARG = 2 };

/* Instruction sets a SIMD kernel is built for, best last. */
enum pynn_isa { PYNN_ISA_GENERIC = 0, PYNN_ISA_AVX2 = 1, PYNN_ISA_AVX512 = 2 };

/* Every kernel family lists its kernels once, in its header, as an X-macro
 * PYNN_<FAMILY>_KERNELS(K, real, sfx) of K(return type, name, (parameters)) entries, the
 * parameters written for the element type `real` (sfx, f32 or f64, for other per-precision
 * names: pynn_bcast3_##sfx). A portable family's header expands it into prototypes of
 * name_f32 and name_f64 (PYNN_DECLARE_PROTOS). A family in SIMD_SOURCES (setup.py) expands
 * it into its descriptor's fields (PYNN_DESC_FIELDS) and declares each ISA's descriptor
 * (PYNN_DECLARE_DESCS); its .c file, compiled once per ISA, defines the kernels as static
 * functions and exports its ISA's descriptor, PYNN_ISA_SYM(pynn_<family>_desc) (simd_isa.h),
 * initialised by PYNN_DESC_ENTRIES. Either way the kernels are defined once, for `real`, as
 * PYNN_FN(name) (pynn_template.h). */
#define PYNN_PROTO_F32(ret, name, params) ret name##_f32 params;
#define PYNN_PROTO_F64(ret, name, params) ret name##_f64 params;
#define PYNN_FIELD_F32(ret, name, params) ret (*name##_f32) params;
#define PYNN_FIELD_F64(ret, name, params) ret (*name##_f64) params;
#define PYNN_ENTRY_F32(ret, name, params) .name##_f32 = name##_f32,
#define PYNN_ENTRY_F64(ret, name, params) .name##_f64 = name##_f64,
#define PYNN_DECLARE_PROTOS(KERNELS)                                                          \
    KERNELS(PYNN_PROTO_F32, float, f32) KERNELS(PYNN_PROTO_F64, double, f64)
#define PYNN_DESC_FIELDS(KERNELS)                                                             \
    KERNELS(PYNN_FIELD_F32, float, f32) KERNELS(PYNN_FIELD_F64, double, f64)
#define PYNN_DESC_ENTRIES(KERNELS)                                                            \
    KERNELS(PYNN_ENTRY_F32, float, f32) KERNELS(PYNN_ENTRY_F64, double, f64)

/* Declares pynn_<family>_desc_<isa> for each ISA built here (off x86-64 only the generic
 * one) and pynn_<family>_kernels(isa), the descriptor for an enum pynn_isa that the CPU
 * supports. */
#if defined(__x86_64__) || defined(_M_X64)
#define PYNN_DECLARE_DESCS(family)                                                            \
    extern const pynn_##family##_desc pynn_##family##_desc_generic,                           \
        pynn_##family##_desc_avx2, pynn_##family##_desc_avx512;                               \
    static inline const pynn_##family##_desc *pynn_##family##_kernels(int isa)                \
    {                                                                                         \
        return isa == PYNN_ISA_AVX512 ? &pynn_##family##_desc_avx512                          \
               : isa == PYNN_ISA_AVX2 ? &pynn_##family##_desc_avx2                            \
                                      : &pynn_##family##_desc_generic;                        \
    }
#else
#define PYNN_DECLARE_DESCS(family)                                                            \
    extern const pynn_##family##_desc pynn_##family##_desc_generic;                           \
    static inline const pynn_##family##_desc *pynn_##family##_kernels(int isa)                \
    {                                                                                         \
        (void)isa;                                                                            \
        return &pynn_##family##_desc_generic;                                                 \
    }
#endif

/* Sizes and offsets formed from a caller's dimensions (a padded image, a workspace of columns,
 * an output plane under a huge stride) can exceed int64_t even when every array passed in is
 * small; signed overflow is undefined, and a wrapped size allocates a buffer too small for
 * what is then written. Every such product or sum goes through these: a * b (a + b) for
 * a, b >= 0, or PYNN_SIZE_OVERFLOW when that does not fit in int64_t. A negative operand
 * gives PYNN_SIZE_OVERFLOW too, so a chain of them is checked once, at its end: a negative
 * result is reported as PYNN_ERR_NOMEM (no buffer of that size can exist), and pynn_alloc_n
 * returns NULL for it as for memory that ran out. */
#define PYNN_SIZE_OVERFLOW ((int64_t)-1)

static inline int64_t pynn_size_mul(int64_t a, int64_t b)
{
    int64_t r;
    if (a < 0 || b < 0)
        return PYNN_SIZE_OVERFLOW;
#if defined(__GNUC__) || defined(__clang__)
    if (__builtin_mul_overflow(a, b, &r))
        return PYNN_SIZE_OVERFLOW;
#else
    if (a != 0 && b > INT64_MAX / a)
        return PYNN_SIZE_OVERFLOW;
    r = a * b;
#endif
    return r;
}

static inline int64_t pynn_size_add(int64_t a, int64_t b)
{
    return a < 0 || b < 0 || a > INT64_MAX - b ? PYNN_SIZE_OVERFLOW : a + b;
}

/* ceil(a / b) for a >= 0, b > 0, where a + b - 1 may overflow (a stride near INT64_MAX). */
static inline int64_t pynn_ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

/* Copy n bytes of an image row (whole values of 4 or 8 bytes). Image rows are short (112
 * bytes for 28 floats), and a memcpy call per row cost more than its copy (a twentieth of the
 * flat weight gradient); constant-size blocks compile to vector moves, the last one
 * overlapping the one before. */
static inline void pynn_copy_row(void *PYNN_RESTRICT dst, const void *PYNN_RESTRICT src,
                                 size_t n)
{
    char *d = (char *)dst;
    const char *s = (const char *)src;
    if (n >= 32) {
        for (size_t i = 0; i + 32 < n; i += 32)
            memcpy(d + i, s + i, 32);
        memcpy(d + n - 32, s + n - 32, 32);
    } else if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            memcpy(d + i, s + i, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n > 0) {
        memcpy(d, s, 4); /* one float (rows are whole values of 4 or 8 bytes) */
    }
}

#define PYNN_ALIGN 64

/* Cache-line aligned buffer, NULL on failure; free with pynn_free. */
static inline void *pynn_alloc(size_t bytes)
{
    /* C11 aligned_alloc wants a whole number of alignments. */
    bytes = (bytes + PYNN_ALIGN - 1) / PYNN_ALIGN * PYNN_ALIGN;
    if (bytes == 0)
        bytes = PYNN_ALIGN;
#if defined(_MSC_VER)
    return _aligned_malloc(bytes, PYNN_ALIGN);
#else
    return aligned_alloc(PYNN_ALIGN, bytes);
#endif
}

/* As pynn_alloc, filled with zero bytes. */
static inline void *pynn_alloc_zeroed(size_t bytes)
{
    void *p = pynn_alloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* A buffer of n elements of `size` bytes (calloc's form): NULL, as when memory runs out, if
 * n is negative (PYNN_SIZE_OVERFLOW) or n * size, rounded up to the alignment, overflows
 * size_t. */
static inline void *pynn_alloc_n(int64_t n, size_t size, int zeroed)
{
    if (n < 0 || (uint64_t)n > (SIZE_MAX - PYNN_ALIGN) / (size ? size : 1))
        return NULL;
    return zeroed ? pynn_alloc_zeroed((size_t)n * size) : pynn_alloc((size_t)n * size);
}

static inline void pynn_free(void *p)
{
#if defined(_MSC_VER)
    _aligned_free(p);
#else
    free(p);
#endif
}

#endif /* PYNN_COMMON_H */
