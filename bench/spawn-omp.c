/*
 * spawn-omp.c -- flat spawn with OpenMP tasks: one thread of a team of
 * WORKERS creates N empty tasks, then waits for them with taskwait.
 *
 *   spawn-omp WORKERS N
 */
#include "config.h"

#include <omp.h>

#include "bench-util.h"

static long run_spawn(int workers, long n)
{
	long done = 0;

#pragma omp parallel num_threads(workers)
#pragma omp single
	{
		for (long i = 0; i < n; i++) {
#pragma omp task
			{
				__asm__ volatile("");
			}
		}
#pragma omp taskwait
		done = n;
	}
	return done;
}

int main(int argc, char **argv)
{
	int workers = bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 1000000);

	omp_set_dynamic(0);
	(void)run_spawn(workers, 1000); /* warm-up */

	uint64_t t0 = bench_now_ns();
	long done = run_spawn(workers, n);
	uint64_t dt = bench_now_ns() - t0;

	printf("RESULT bench=spawn rt=omp workers=%d n=%ld time_s=%.6f tasks=%ld"
	       " tasks_per_s=%.0f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, (double)dt / 1e9, n, (double)n / ((double)dt / 1e9), bench_cpu_s(),
	       bench_maxrss_kb(), done == n);
	return 0;
}
