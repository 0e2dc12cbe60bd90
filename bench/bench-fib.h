/*
 * bench-fib.h -- what the three fib programs share: the serial leaf (one
 * copy, in bench-fib.c) and the number of tasks the workload makes.
 */
#ifndef BENCH_FIB_H
#define BENCH_FIB_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fib(n) serially: the calls below the cutoff, and the check of results. */
long bench_fib_leaf(int n);

#ifdef __cplusplus
}
#endif

/* How many tasks fib(n) makes when a call with n >= max(cutoff, 2) spawns
 * both of its children as tasks and the root is a task too: every spawning
 * call C(n) = 1 + C(n-1) + C(n-2) (0 below the cutoff) spawns two. */
static inline uint64_t bench_fib_tasks(int n, int cutoff)
{
	uint64_t c[128] = {0};

	if (cutoff < 2)
		cutoff = 2;
	if (n < 0 || n >= 128)
		return 0;
	for (int i = 0; i <= n; i++)
		c[i] = i < cutoff ? 0 : 1 + c[i - 1] + c[i - 2];
	return 1 + 2 * c[n];
}

#endif
