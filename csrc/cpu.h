/* What this CPU and this build can run. */
#ifndef PYNN_CPU_H
#define PYNN_CPU_H

#include "pynn_common.h"

/* 1 when a kernel built for `isa` (enum pynn_isa) exists in this build and the CPU and OS
 * can run it, else 0. */
int pynn_cpu_isa_supported(int isa);

/* The best ISA for which pynn_cpu_isa_supported() is 1. */
int pynn_cpu_best_isa(void);

/* 1 when the kernels were built with OpenMP. */
int pynn_openmp_enabled(void);

/* How far apart the first two threads of an OpenMP team are, as the kernels' teams run now:
 * the median nanoseconds a cache line takes to go from one to the other and back, over
 * `rounds` round trips (at least 1) in each of 5 samples; -1 without OpenMP or when the team
 * got one thread. Near cores (one die) take tens of nanoseconds, cores on different dies
 * (or a VM's vCPUs that the host put there) hundreds, which is what threads pay each time
 * they hand each other data. For reports (pynn.show_config, the benchmark). */
double pynn_team_round_trip_ns(int rounds);

/* How many times the float32 FMA throughput of the AVX2 build's 256-bit vectors the AVX-512
 * build's full-width ones reach on this core: measured once, on first call (the best of a
 * few runs of each build's FMA probe, a millisecond or two in all), 1 where the CPU or build
 * has no AVX-512. Cores that split 512-bit operations in halves (Zen 4) reach about 1, cores
 * with full-width units (Zen 5, Intel's server cores) about 2: kernels that can take a row in
 * either width weigh the lanes each would waste by it. Thread-safe. */
double pynn_cpu_wide_speedup(void);

/* One cache level of one core as the GEMM's blocking model sees it (gemm.c). size == 0: the
 * level is absent or could not be read; ways == 0: associativity unknown (fully associative
 * caches report size / line). `sharing` counts the logical CPUs that share the level. */
typedef struct {
    int64_t size;
    int ways, line, sharing;
} pynn_cache_level;

typedef struct pynn_cache_info {
    pynn_cache_level l1d, l2, l3;
    const char *source; /* "cpuid", "sysfs", "sysctl", or "default" when nothing was read */
} pynn_cache_info;

/* The data caches of the CPU, read on first call (cpuid leaf 0x8000001D on AMD, 4 on
 * Intel; else Linux's sysfs; else macOS's sysctl; else a default of 32 KiB / 512 KiB / no
 * L3) and kept: thread-safe, the same pointer every call. */
const pynn_cache_info *pynn_cpu_caches(void);

/* One source alone, read now ("cpuid", "sysfs", "sysctl", "default"): 1 and *out filled as
 * pynn_cpu_caches() would (unknown fields completed), or 0 when this source gives nothing
 * here. For tests and reports. */
int pynn_cpu_caches_from(const char *source, pynn_cache_info *out);

/* Runs init() once per flag however many threads call at once, all returning after it
 * finished: for tables computed on first use and read-only afterwards. */
#if defined(_WIN32)
#include <windows.h>
typedef INIT_ONCE pynn_once_flag;
#define PYNN_ONCE_INIT INIT_ONCE_STATIC_INIT
#else
#include <pthread.h>
typedef pthread_once_t pynn_once_flag;
#define PYNN_ONCE_INIT PTHREAD_ONCE_INIT
#endif
void pynn_call_once(pynn_once_flag *flag, void (*init)(void));

#endif
