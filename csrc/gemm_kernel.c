/* GEMM micro-kernels, compiled once per instruction set (see simd_isa.h). Only the vector
 * width and the register block differ between ISAs; the contract is in gemm_kernel.h. Each
 * object exports pynn_gemm_desc_<isa>. */
#include <string.h>

#include "gemm_kernel.h"
#include "simd_isa.h"

/* The register blocks. Registers: MR * NV accumulators + NV loaded B vectors + 1 broadcast
 * A value must fit in the register file without spills. */
#if PYNN_ISA_LEVEL == 3
#define MR_F32 12 /* 32 zmm: 12 x 2 accumulators */
#define MR_F64 12
#define NV_ 2
#define DOT_M 4 /* 4 x 6 accumulators + 4 A vectors + 1 B vector of 32 */
#define DOT_N 6
#elif PYNN_ISA_LEVEL == 2
#define MR_F32 6 /* 16 ymm: 6 x 2 accumulators */
#define MR_F64 6
#define NV_ 2
#define DOT_M 3 /* 3 x 4 accumulators + 3 A vectors + 1 B vector of 16 */
#define DOT_N 4
#else
#define MR_F32 6 /* SSE2 or NEON: 16 registers are enough for 6 x 2 accumulators */
#define MR_F64 6
#define NV_ 2
#define DOT_M 3
#define DOT_N 4
#endif
/* mr x nr: nr is NV_ vectors wide. */
#define BLOCK_F32 {MR_F32, NV_ * (int)(sizeof(vf32) / sizeof(float))}
#define BLOCK_F64 {MR_F64, NV_ * (int)(sizeof(vf64) / sizeof(double))}

/* Each precision gets a full-width kernel (MR x NV vectors) and a half-width one (MR x 1
 * vector) for the ragged last column panel, which otherwise wastes half of its work. */
#define DECLARE_UKR(T)                                                                     \
    void UKR_NAME(int64_t kc, const T *PYNN_RESTRICT a, int64_t rs_a, int64_t cs_a,         \
                  const T *PYNN_RESTRICT b, int64_t rs_b, T *PYNN_RESTRICT c, int64_t rsc, \
                  int64_t csc, int64_t mr, int64_t nr, const EP *ep);

#define DECLARE_DOT(T)                                                                    \
    void DOT_NAME(int64_t m, int64_t n, int64_t k, const T *a, int64_t rsa, const T *bt,   \
                  int64_t rsbt, T *c, int64_t rsc, int64_t csc, const EP *ep);
#define DM DOT_M
#define DN DOT_N

#define T float
#define VT vf32
#define VI vi32
#define MR MR_F32
#define EP pynn_gemm_ep_f32
#define VFMA VFMA_F32
#define PANEL_NR (NV_ * (int)(sizeof(VT) / sizeof(T)))

#define NV NV_
#define BODY_NAME ukernel_body_f32
#define UKR_NAME PYNN_ISA_SYM(pynn_gemm_ukernel_f32)
DECLARE_UKR(float)
#include "gemm_kernel_tmpl.h"
#undef NV
#undef BODY_NAME
#undef UKR_NAME

#define NV 1
#define BODY_NAME ukernel_half_body_f32
#define UKR_NAME PYNN_ISA_SYM(pynn_gemm_ukernel_half_f32)
DECLARE_UKR(float)
#include "gemm_kernel_tmpl.h"
#undef NV
#undef BODY_NAME
#undef UKR_NAME

#undef MR
#define MR (MR_F32 / 2)
#define NV NV_
#define BODY_NAME ukernel_short_body_f32
#define UKR_NAME PYNN_ISA_SYM(pynn_gemm_ukernel_short_f32)
DECLARE_UKR(float)
#include "gemm_kernel_tmpl.h"
#undef NV
#undef BODY_NAME
#undef UKR_NAME
#undef MR
#define MR MR_F32

#define DOT_NAME PYNN_ISA_SYM(pynn_gemm_dot_f32)
DECLARE_DOT(float)
#include "gemm_dot_tmpl.h"
#undef DOT_NAME

#undef T
#undef VT
#undef VI
#undef MR
#undef EP
#undef VFMA

#define T double
#define VT vf64
#define VI vi64
#define MR MR_F64
#define EP pynn_gemm_ep_f64
#define VFMA VFMA_F64

#define NV NV_
#define BODY_NAME ukernel_body_f64
#define UKR_NAME PYNN_ISA_SYM(pynn_gemm_ukernel_f64)
DECLARE_UKR(double)
#include "gemm_kernel_tmpl.h"
#undef NV
#undef BODY_NAME
#undef UKR_NAME

#define NV 1
#define BODY_NAME ukernel_half_body_f64
#define UKR_NAME PYNN_ISA_SYM(pynn_gemm_ukernel_half_f64)
DECLARE_UKR(double)
#include "gemm_kernel_tmpl.h"
#undef NV
#undef BODY_NAME
#undef UKR_NAME

#undef MR
#define MR (MR_F64 / 2)
#define NV NV_
#define BODY_NAME ukernel_short_body_f64
#define UKR_NAME PYNN_ISA_SYM(pynn_gemm_ukernel_short_f64)
DECLARE_UKR(double)
#include "gemm_kernel_tmpl.h"
#undef NV
#undef BODY_NAME
#undef UKR_NAME
#undef MR
#define MR MR_F64

#define DOT_NAME PYNN_ISA_SYM(pynn_gemm_dot_f64)
DECLARE_DOT(double)
#include "gemm_dot_tmpl.h"
#undef DOT_NAME

#undef T
#undef VT
#undef VI
#undef MR
#undef EP
#undef VFMA
#undef PANEL_NR

/* 12 chains cover FMA latency times throughput (4-5 cycles x 2 pipes) on current cores, as
 * the micro-kernel's 12 accumulators do; the result measures the same instructions. */
#define PROBE_CHAINS 12

static int64_t PYNN_ISA_SYM(fma_probe_f32)(int64_t rounds, float *sink)
{
    vf32 acc[PROBE_CHAINS];
    const vf32 scale = (vf32){0} + 0.999999f, step = (vf32){0} + 1e-6f;
    for (int i = 0; i < PROBE_CHAINS; ++i)
        acc[i] = (vf32){0} + (float)i;
    for (int64_t r = 0; r < rounds; ++r)
        for (int i = 0; i < PROBE_CHAINS; ++i)
            acc[i] = VFMA_F32(acc[i], scale, step);
    float total = 0;
    for (int i = 0; i < PROBE_CHAINS; ++i)
        for (size_t j = 0; j < sizeof(vf32) / sizeof(float); ++j)
            total += acc[i][j];
    *sink = total;
    return rounds * PROBE_CHAINS * (int64_t)(sizeof(vf32) / sizeof(float)) * 2;
}

const pynn_gemm_desc PYNN_ISA_SYM(pynn_gemm_desc) = {
    PYNN_STR(PYNN_ISA),
    BLOCK_F32,
    BLOCK_F64,
    PYNN_ISA_SYM(pynn_gemm_ukernel_f32),
    PYNN_ISA_SYM(pynn_gemm_ukernel_f64),
    PYNN_ISA_SYM(pynn_gemm_ukernel_half_f32),
    PYNN_ISA_SYM(pynn_gemm_ukernel_half_f64),
    PYNN_ISA_SYM(pynn_gemm_ukernel_short_f32),
    PYNN_ISA_SYM(pynn_gemm_ukernel_short_f64),
    PYNN_ISA_SYM(pynn_gemm_dot_f32),
    PYNN_ISA_SYM(pynn_gemm_dot_f64),
    DOT_M,
    DOT_N,
    PYNN_ISA_SYM(fma_probe_f32),
};
