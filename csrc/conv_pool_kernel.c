/* The argmax-driven weight and input gradients of a pooled convolution (contract in
 * conv_pool_kernel.h), compiled once per instruction set (see simd_isa.h); each object
 * exports pynn_conv_pool_desc_<isa>. */
#include <math.h>
#include <string.h>

#include "conv_pool_kernel.h"
#include "simd_isa.h"

/* Accumulators of the weight gradient: all but a few of the vector registers. */
#define NACC (VREGS - 4)

#define T float
#define VT vf32
#define VFMA VFMA_F32
#define DW_NAME PYNN_ISA_SYM(pynn_conv_pool_dw_f32)
#define DX_NAME PYNN_ISA_SYM(pynn_conv_pool_dx_f32)
#include "conv_pool_kernel_tmpl.h"
#undef T
#undef VT
#undef VFMA
#undef DW_NAME
#undef DX_NAME

#define T double
#define VT vf64
#define VFMA VFMA_F64
#define DW_NAME PYNN_ISA_SYM(pynn_conv_pool_dw_f64)
#define DX_NAME PYNN_ISA_SYM(pynn_conv_pool_dx_f64)
#include "conv_pool_kernel_tmpl.h"
#undef T
#undef VT
#undef VFMA
#undef DW_NAME
#undef DX_NAME

const pynn_conv_pool_desc PYNN_ISA_SYM(pynn_conv_pool_desc) = {
    (int)(sizeof(vf32) / sizeof(float)),
    (int)(sizeof(vf64) / sizeof(double)),
    PYNN_ISA_SYM(pynn_conv_pool_dw_f32),
    PYNN_ISA_SYM(pynn_conv_pool_dw_f64),
    PYNN_ISA_SYM(pynn_conv_pool_dx_f32),
    PYNN_ISA_SYM(pynn_conv_pool_dx_f64),
};
