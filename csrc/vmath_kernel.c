/* Array forms of pynn_math.h's functions (contract in vmath_kernel.h), compiled once per
 * instruction set (see simd_isa.h). */
#include "vmath_kernel.h"
#include "pynn_math.h"
#include "simd_isa.h"

static void exp_f32(int64_t n, const float *x, float *y)
{
    PYNN_SIMD()
    for (int64_t i = 0; i < n; ++i)
        y[i] = pynn_exp_f32(x[i]);
}

const pynn_vmath_desc PYNN_ISA_SYM(pynn_vmath_desc) = {exp_f32};
