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

#endif
