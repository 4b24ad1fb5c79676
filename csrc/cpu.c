#include "cpu.h"

#include <time.h>

#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#define PYNN_X86_64 1
#else
#define PYNN_X86_64 0
#endif

#if PYNN_X86_64 && defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>

/* MSVC has no __builtin_cpu_supports: read CPUID and XCR0 (OS saves the wide registers). */
static int msvc_supports(int isa)
{
    int r[4];
    __cpuid(r, 0);
    if (r[0] < 7)
        return 0;
    __cpuid(r, 1);
    int fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (!(fma && osxsave && avx))
        return 0;
    unsigned long long xcr0 = _xgetbv(0);
    __cpuidex(r, 7, 0);
    int avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1, avx512dq = (r[1] >> 17) & 1,
        avx512bw = (r[1] >> 30) & 1, avx512vl = (r[1] >> 31) & 1;
    if (isa == PYNN_ISA_AVX2)
        return avx2 && (xcr0 & 0x6) == 0x6;
    if (isa == PYNN_ISA_AVX512)
        return avx2 && avx512f && avx512dq && avx512bw && avx512vl && (xcr0 & 0xe6) == 0xe6;
    return 0;
}
#endif

int pynn_cpu_isa_supported(int isa)
{
    if (isa == PYNN_ISA_GENERIC)
        return 1;
#if PYNN_X86_64 && defined(_MSC_VER)
    return msvc_supports(isa);
#elif PYNN_X86_64 && defined(__GNUC__)
    /* libgcc's and compiler-rt's checks include the OS's XSAVE support (XCR0). */
    __builtin_cpu_init();
    if (isa == PYNN_ISA_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (isa == PYNN_ISA_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 0;
#else
    return 0;
#endif
}

int pynn_cpu_best_isa(void)
{
    for (int isa = PYNN_ISA_AVX512; isa > PYNN_ISA_GENERIC; --isa)
        if (pynn_cpu_isa_supported(isa))
            return isa;
    return PYNN_ISA_GENERIC;
}

int pynn_openmp_enabled(void) { return PYNN_HAVE_OPENMP; }

#define ROUND_TRIP_SAMPLES 5

double pynn_team_round_trip_ns(int rounds)
{
#if PYNN_HAVE_OPENMP
    if (rounds < 1)
        rounds = 1;
    double samples[ROUND_TRIP_SAMPLES];
    int team = 0;
    /* The ball is the count of passes so far: thread 0 makes it odd, thread 1 even. */
    long ball = 0;
    PYNN_OMP(parallel num_threads(2) shared(ball, team, samples))
    {
        const int me = omp_get_thread_num();
        PYNN_OMP(single)
        team = omp_get_num_threads();
        if (team == 2) {
            for (int s = 0; s < ROUND_TRIP_SAMPLES; ++s) {
                PYNN_OMP(barrier)
                const double start = omp_get_wtime();
                for (long i = 0; i < rounds; ++i) {
                    const long base = 2 * ((long)s * rounds + i);
                    if (me == 0) {
                        PYNN_OMP(atomic write)
                        ball = base + 1;
                    }
                    for (long seen = -1; seen != base + 1 + (me == 0);) {
                        PYNN_OMP(atomic read)
                        seen = ball;
                    }
                    if (me == 1) {
                        PYNN_OMP(atomic write)
                        ball = base + 2;
                    }
                }
                if (me == 0)
                    samples[s] = (omp_get_wtime() - start) * 1e9 / rounds;
            }
        }
    }
    if (team != 2)
        return -1;
    for (int i = 1; i < ROUND_TRIP_SAMPLES; ++i) /* insertion sort, for the median */
        for (int j = i; j > 0 && samples[j] < samples[j - 1]; --j) {
            const double t = samples[j];
            samples[j] = samples[j - 1];
            samples[j - 1] = t;
        }
    return samples[ROUND_TRIP_SAMPLES / 2];
#else
    (void)rounds;
    return -1;
#endif
}

/* ---- How fast full-width AVX-512 is against 256-bit vectors ---- */

/* Seconds of a monotonic-enough wall clock (C11; this is not a timing of record, only the
 * ratio of two short runs). */
static double seconds_now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The best FMA rate of isa's probe (gemm.h), in operations a second: runs long enough (a fifth
 * of a millisecond or more each) to be timed, best of WIDE_PROBE_RUNS. */
#define WIDE_PROBE_RUNS 5
static double fma_rate(int isa)
{
    float sink = 0;
    int64_t rounds = 1 << 10;
    double best = 0;
    for (int run = 0; run < WIDE_PROBE_RUNS;) {
        const double start = seconds_now();
        const int64_t flops = pynn_fma_probe_f32(isa, rounds, &sink);
        const double elapsed = seconds_now() - start;
        if (elapsed < 2e-4) {
            rounds *= 4;
            continue;
        }
        best = PYNN_MAX(best, (double)flops / elapsed);
        ++run;
    }
    return best;
}

static double wide_speedup = 1;
static pynn_once_flag wide_once = PYNN_ONCE_INIT;

static void wide_measure(void)
{
    if (!pynn_cpu_isa_supported(PYNN_ISA_AVX512) || !pynn_cpu_isa_supported(PYNN_ISA_AVX2))
        return;
    const double narrow = fma_rate(PYNN_ISA_AVX2), wide = fma_rate(PYNN_ISA_AVX512);
    if (narrow > 0)
        wide_speedup = PYNN_MAX(1.0, PYNN_MIN(2.0, wide / narrow));
}

double pynn_cpu_wide_speedup(void)
{
    pynn_call_once(&wide_once, wide_measure);
    return wide_speedup;
}

/* ---- Cache sizes, for the GEMM's blocking model ---- */

#include <stdio.h>

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#if defined(_WIN32)
static BOOL CALLBACK once_trampoline(PINIT_ONCE flag, PVOID init, PVOID *ctx)
{
    (void)flag, (void)ctx;
    ((void (*)(void))init)();
    return TRUE;
}

void pynn_call_once(pynn_once_flag *flag, void (*init)(void))
{
    InitOnceExecuteOnce(flag, once_trampoline, (PVOID)init, NULL);
}
#else
void pynn_call_once(pynn_once_flag *flag, void (*init)(void)) { pthread_once(flag, init); }
#endif

#if PYNN_X86_64 && (defined(__GNUC__) || defined(_MSC_VER))
#if !defined(_MSC_VER)
#include <cpuid.h>
#endif

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
#if defined(_MSC_VER)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int i = 0; i < 4; ++i)
        r[i] = (unsigned)v[i];
#else
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

/* The deterministic cache parameters: Intel's leaf 4 and AMD's 0x8000001D share a layout
 * (EAX type, level and sharing; EBX line, partitions and ways; ECX sets). Older AMD parts
 * without 0x8000001D (before Zen) are left to sysfs. */
static int caches_from_cpuid(pynn_cache_info *out)
{
    unsigned r[4];
    cpuid(0, 0, r);
    const unsigned max_leaf = r[0];
    const int amd = r[1] == 0x68747541u /* "Auth" */ || r[1] == 0x6f677948u /* "Hygo" */;
    unsigned leaf = 4;
    if (amd) {
        cpuid(0x80000000u, 0, r);
        if (r[0] < 0x8000001Du)
            return 0;
        cpuid(0x80000001u, 0, r);
        if (!((r[2] >> 22) & 1)) /* TOPOEXT: leaf 0x8000001D is valid */
            return 0;
        leaf = 0x8000001Du;
    } else if (max_leaf < 4) {
        return 0;
    }
    for (unsigned sub = 0; sub < 16; ++sub) {
        cpuid(leaf, sub, r);
        const unsigned type = r[0] & 31, level = (r[0] >> 5) & 7;
        if (type == 0)
            break;
        if (type == 2) /* instructions */
            continue;
        pynn_cache_level c;
        c.line = (int)(r[1] & 0xfff) + 1;
        c.ways = (int)(r[1] >> 22) + 1;
        const int64_t parts = (int64_t)((r[1] >> 12) & 0x3ff) + 1, sets = (int64_t)r[2] + 1;
        c.size = (int64_t)c.ways * parts * c.line * sets;
        c.sharing = (int)((r[0] >> 14) & 0xfff) + 1;
        if ((r[0] >> 9) & 1) /* fully associative */
            c.ways = (int)(c.size / c.line);
        if (level == 1)
            out->l1d = c;
        else if (level == 2)
            out->l2 = c;
        else if (level == 3)
            out->l3 = c;
    }
    return out->l1d.size > 0 && out->l2.size > 0;
}
#endif

#if defined(__linux__)
/* One line of /sys/devices/system/cpu/cpu0/cache/index<i>/<name>, or "" */
static void sysfs_read(int index, const char *name, char *buf, size_t len)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", index, name);
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (!fgets(buf, (int)len, f))
        buf[0] = 0;
    fclose(f);
}

/* The number of CPUs in a list such as "0-3,8-11". */
static int cpu_list_count(const char *s)
{
    int count = 0;
    while (*s >= '0' && *s <= '9') {
        char *end;
        const long lo = strtol(s, &end, 10);
        long hi = lo;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        count += hi >= lo ? (int)(hi - lo + 1) : 1;
        s = *end == ',' ? end + 1 : end;
    }
    return count;
}

static int caches_from_sysfs(pynn_cache_info *out)
{
    char buf[256];
    for (int index = 0; index < 16; ++index) {
        sysfs_read(index, "type", buf, sizeof buf);
        if (!buf[0])
            break;
        if (strncmp(buf, "Instruction", 11) == 0)
            continue;
        pynn_cache_level c;
        sysfs_read(index, "size", buf, sizeof buf);
        char *end;
        c.size = strtoll(buf, &end, 10);
        c.size *= *end == 'K' ? 1024 : *end == 'M' ? 1024 * 1024 : *end == 'G' ? 1 << 30 : 1;
        sysfs_read(index, "ways_of_associativity", buf, sizeof buf);
        c.ways = atoi(buf);
        sysfs_read(index, "coherency_line_size", buf, sizeof buf);
        c.line = atoi(buf);
        sysfs_read(index, "shared_cpu_list", buf, sizeof buf);
        c.sharing = cpu_list_count(buf);
        sysfs_read(index, "level", buf, sizeof buf);
        const int level = atoi(buf);
        if (level == 1)
            out->l1d = c;
        else if (level == 2)
            out->l2 = c;
        else if (level == 3)
            out->l3 = c;
    }
    return out->l1d.size > 0 && out->l2.size > 0;
}
#endif

#if defined(__APPLE__)
static int64_t sysctl_int(const char *name, const char *fallback)
{
    int64_t v = 0;
    size_t len = sizeof v;
    if (sysctlbyname(name, &v, &len, NULL, 0) != 0 || len > sizeof v) {
        v = 0, len = sizeof v;
        if (!fallback || sysctlbyname(fallback, &v, &len, NULL, 0) != 0 || len > sizeof v)
            return 0;
    }
    return len == sizeof(int32_t) ? (int64_t)(int32_t)v : v; /* little-endian, both ABIs */
}

/* Apple silicon reports the performance cores as perflevel0, whose L2 serves a cluster;
 * Intel Macs report hw.l*cachesize per core. No associativity is given. */
static int caches_from_sysctl(pynn_cache_info *out)
{
    const int line = (int)sysctl_int("hw.cachelinesize", NULL);
    out->l1d.size = sysctl_int("hw.perflevel0.l1dcachesize", "hw.l1dcachesize");
    out->l2.size = sysctl_int("hw.perflevel0.l2cachesize", "hw.l2cachesize");
    out->l2.sharing = (int)sysctl_int("hw.perflevel0.cpusperl2", NULL);
    out->l3.size = sysctl_int("hw.l3cachesize", NULL);
    out->l1d.line = out->l2.line = out->l3.line = line;
    return out->l1d.size > 0 && out->l2.size > 0;
}
#endif

static pynn_cache_info cache_info;
static pynn_once_flag cache_once = PYNN_ONCE_INIT;

/* Fields a source left unknown get the common values, so that the model always has them. */
static void caches_complete(pynn_cache_level *c, int ways)
{
    if (c->size <= 0) {
        memset(c, 0, sizeof *c);
        return;
    }
    if (c->line <= 0)
        c->line = 64;
    if (c->ways <= 0)
        c->ways = ways;
    if (c->sharing <= 0)
        c->sharing = 1;
}

/* The sources in the order pynn_cpu_caches() tries them; names kept for the whole run. */
static const char *const cache_sources[] = {"cpuid", "sysfs", "sysctl", "default"};

int pynn_cpu_caches_from(const char *source, pynn_cache_info *out)
{
    int ok = 0;
    memset(out, 0, sizeof *out);
#if PYNN_X86_64 && (defined(__GNUC__) || defined(_MSC_VER))
    if (strcmp(source, "cpuid") == 0)
        ok = caches_from_cpuid(out);
#endif
#if defined(__linux__)
    if (strcmp(source, "sysfs") == 0)
        ok = caches_from_sysfs(out);
#endif
#if defined(__APPLE__)
    if (strcmp(source, "sysctl") == 0)
        ok = caches_from_sysctl(out);
#endif
    if (strcmp(source, "default") == 0) {
        /* The smallest caches of the CPUs pynn is built for. */
        out->l1d.size = 32 * 1024;
        out->l2.size = 512 * 1024;
        ok = 1;
    }
    if (!ok) {
        memset(out, 0, sizeof *out);
        return 0;
    }
    for (size_t i = 0; i < sizeof cache_sources / sizeof *cache_sources; ++i)
        if (strcmp(source, cache_sources[i]) == 0)
            out->source = cache_sources[i];
    caches_complete(&out->l1d, 8);
    caches_complete(&out->l2, 8);
    caches_complete(&out->l3, 16);
    return 1;
}

static void caches_read(void)
{
    for (size_t i = 0; i < sizeof cache_sources / sizeof *cache_sources; ++i)
        if (pynn_cpu_caches_from(cache_sources[i], &cache_info))
            return;
}

const pynn_cache_info *pynn_cpu_caches(void)
{
    pynn_call_once(&cache_once, caches_read);
    return &cache_info;
}
