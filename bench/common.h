/* Helpers shared by the benchmark programs. */
#ifndef REDSTORE_BENCH_COMMON_H
#define REDSTORE_BENCH_COMMON_H

#include <redstore.h>
#include <stdint.h>
#include <stdio.h>

/* Exits with a message naming what failed when rc != 0. */
void bench_check(int rc, const char *what);
/* Monotonic microseconds. */
int64_t bench_now_us(void);
/* The p-th percentile (0..100) of n values (sorts them). */
double bench_percentile(double *v, size_t n, double p);
/* The median of n values (sorts them). */
double bench_median(double *v, size_t n);
/* Runs a shell command and returns its whole standard output (malloc'ed) or NULL. */
char *bench_capture(const char *cmd);
/* Runs a `redis-benchmark -q ...` command line and returns its requests per second (exits on failure). */
double bench_redis_benchmark(const char *cmd);
/* Prints the machine: CPU model, cores, memory. */
void bench_print_machine(void);

#endif
