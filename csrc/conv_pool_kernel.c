/* The argmax-driven weight and input gradients of a pooled convolution, and the image-read
 * forward and weight gradient of a plain one (contracts in conv_pool_kernel.h), compiled once per
 * instruction set (see simd_isa.h); each object exports pynn_conv_pool_desc_<isa>. */
#include <math.h>
#include <string.h>

#include "conv_pool_kernel.h"
#include "simd_isa.h"

/* Patch rows are one kernel row wide, 3 to 7 values in the usual layers. AVX-512's 16 lanes
 * would leave most of a vector idle, and in the input gradient, where the rows of a patch lie
 * row_len apart, a vector longer than row_len (a 14-wide image) makes each row's load overlap
 * the store of the row before, which store-to-load forwarding cannot serve: every row then
 * waits for the store to retire. So that build runs these kernels on 256-bit vectors. */
#if VBYTES > 32
#include <immintrin.h>
typedef float cp_vf32 __attribute__((vector_size(32)));
typedef double cp_vf64 __attribute__((vector_size(32)));
typedef int32_t cp_vi32 __attribute__((vector_size(32)));
typedef int64_t cp_vi64 __attribute__((vector_size(32)));
#define CP_FMA_F32(a, b, c) ((cp_vf32)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define CP_FMA_F64(a, b, c) ((cp_vf64)_mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c)))
#define CP_VREGS 16 /* without AVX512VL, 256-bit operations reach only the first 16 registers */
#else
typedef vf32 cp_vf32;
typedef vf64 cp_vf64;
typedef vi32 cp_vi32;
typedef vi64 cp_vi64;
#define CP_FMA_F32 VFMA_F32
#define CP_FMA_F64 VFMA_F64
#define CP_VREGS VREGS
#endif

/* Accumulators of the weight gradient: all but a few of the vector registers. */
#define NACC (CP_VREGS - 4)

#define T float
#define VT cp_vf32
#define VI cp_vi32
#define VFMA CP_FMA_F32
#define DW_NAME PYNN_ISA_SYM(pynn_conv_pool_dw_f32)
#define DX_NAME PYNN_ISA_SYM(pynn_conv_pool_dx_f32)
#define DWR_NAME PYNN_ISA_SYM(pynn_conv_dw_rows_f32)
#define FWR_NAME PYNN_ISA_SYM(pynn_conv_fwd_rows_f32)
#include "conv_pool_kernel_tmpl.h"
#include "conv_rows_kernel_tmpl.h"
#undef DWR_NAME
#undef FWR_NAME
#undef T
#undef VT
#undef VI
#undef VFMA
#undef DW_NAME
#undef DX_NAME

#define T double
#define VT cp_vf64
#define VI cp_vi64
#define VFMA CP_FMA_F64
#define DW_NAME PYNN_ISA_SYM(pynn_conv_pool_dw_f64)
#define DX_NAME PYNN_ISA_SYM(pynn_conv_pool_dx_f64)
#define DWR_NAME PYNN_ISA_SYM(pynn_conv_dw_rows_f64)
#define FWR_NAME PYNN_ISA_SYM(pynn_conv_fwd_rows_f64)
#include "conv_pool_kernel_tmpl.h"
#include "conv_rows_kernel_tmpl.h"
#undef DWR_NAME
#undef FWR_NAME
#undef T
#undef VT
#undef VI
#undef VFMA
#undef DW_NAME
#undef DX_NAME

const pynn_conv_pool_desc PYNN_ISA_SYM(pynn_conv_pool_desc) = {
    (int)(sizeof(cp_vf32) / sizeof(float)),
    (int)(sizeof(cp_vf64) / sizeof(double)),
    PYNN_ISA_SYM(pynn_conv_pool_dw_f32),
    PYNN_ISA_SYM(pynn_conv_pool_dw_f64),
    PYNN_ISA_SYM(pynn_conv_pool_dx_f32),
    PYNN_ISA_SYM(pynn_conv_pool_dx_f64),
    PYNN_ISA_SYM(pynn_conv_dw_rows_f32),
    PYNN_ISA_SYM(pynn_conv_dw_rows_f64),
    PYNN_ISA_SYM(pynn_conv_fwd_rows_f32),
    PYNN_ISA_SYM(pynn_conv_fwd_rows_f64),
};
