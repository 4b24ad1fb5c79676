/* How far apart two cores are: the time a cache line takes to go from one to the other and
 * back, bounced between two threads pinned to them. Near cores (one die) answer in tens of
 * nanoseconds, cores on different dies (or a VM's vCPUs the host placed there) in hundreds;
 * bench/RESULTS.md, "Threads far apart", shows what that does to 2-thread kernels.
 *
 *   cc -O2 -pthread bench/tools/core_round_trip.c -o /tmp/core_round_trip
 *   /tmp/core_round_trip [cpu_a cpu_b]        (default: CPUs 0 and 1; Linux only) */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUND_TRIPS 200000

static _Alignas(64) atomic_long ball;
static int cpu_b;

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
        fprintf(stderr, "cannot run on CPU %d\n", cpu);
        exit(1);
    }
}

static void *returner(void *unused)
{
    (void)unused;
    pin(cpu_b);
    for (long i = 0; i < ROUND_TRIPS; ++i) {
        while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 1)
            ;
        atomic_store_explicit(&ball, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const int cpu_a = argc > 2 ? atoi(argv[1]) : 0;
    cpu_b = argc > 2 ? atoi(argv[2]) : 1;
    pin(cpu_a);
    pthread_t thread;
    if (pthread_create(&thread, NULL, returner, NULL) != 0)
        return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < ROUND_TRIPS; ++i) {
        atomic_store_explicit(&ball, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 2)
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(thread, NULL);
    const double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%.0f ns round trip between CPUs %d and %d\n", ns / ROUND_TRIPS, cpu_a, cpu_b);
    return 0;
}
