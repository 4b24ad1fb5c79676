/* Instantiates a template once per precision. Define PYNN_TEMPLATE as the file to include (a
 * string), then include this header: that file is read once with `real` = float and
 * PYNN_FN(name) = name_f32, once with double and name_f64. A template names everything that
 * depends on the precision PYNN_FN(name): its own functions and types, and what it calls
 * (PYNN_FN(pynn_gemm), PYNN_FN(vec) from simd_isa.h, desc->PYNN_FN(relu_bwd)).
 * Every kernel family is written this way: its .c file includes itself, and its template
 * half is the part under #ifdef PYNN_FN. No include guard: each use instantiates anew. */
#ifndef PYNN_TEMPLATE
#error "define PYNN_TEMPLATE as the file to instantiate before including pynn_template.h"
#endif

#define real float
#define PYNN_FN(name) name##_f32
#include PYNN_TEMPLATE
#undef real
#undef PYNN_FN

#define real double
#define PYNN_FN(name) name##_f64
#include PYNN_TEMPLATE
#undef real
#undef PYNN_FN

#undef PYNN_TEMPLATE
