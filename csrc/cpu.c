#include "cpu.h"

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
    int avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1;
    if (isa == PYNN_ISA_AVX2)
        return avx2 && (xcr0 & 0x6) == 0x6;
    if (isa == PYNN_ISA_AVX512)
        return avx2 && avx512f && (xcr0 & 0xe6) == 0xe6;
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
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
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
