/*
 * fib-omp.c -- the fib workload with OpenMP tasks (gcc -fopenmp, libgomp).
 *
 *   fib-omp WORKERS N CUTOFF
 *
 * Same shape as fib-coop.c: a call with n >= max(CUTOFF, 2) runs both
 * children as `omp task`s and waits with `taskwait`; the root is a task
 * created by one thread of a team of WORKERS.
 */
#include "config.h"

#include <omp.h>

#include "bench-util.h"

static int fib_cutoff;

static long fib(int n)
{
	long x, y;

	if (n < 2 || n < fib_cutoff)
		return bench_fib_serial(n);
#pragma omp task shared(x) firstprivate(n)
	x = fib(n - 1);
#pragma omp task shared(y) firstprivate(n)
	y = fib(n - 2);
#pragma omp taskwait
	return x + y;
}

static long run_fib(int workers, int n)
{
	long r = 0;

#pragma omp parallel num_threads(workers)
#pragma omp single
	{
#pragma omp task shared(r)
		r = fib(n);
#pragma omp taskwait
	}
	return r;
}

int main(int argc, char **argv)
{
	int workers = bench_arg_int(argc, argv, 1, 2);
	int n = bench_arg_int(argc, argv, 2, 30);

	fib_cutoff = bench_arg_int(argc, argv, 3, 0);
	omp_set_dynamic(0);
	(void)run_fib(workers, 15); /* warm-up: the team exists */

	uint64_t t0 = bench_now_ns();
	long v = run_fib(workers, n);
	uint64_t dt = bench_now_ns() - t0;
	uint64_t tasks = bench_fib_tasks(n, fib_cutoff);

	printf("RESULT bench=fib rt=omp workers=%d n=%d cutoff=%d time_s=%.6f tasks=%llu"
	       " tasks_per_s=%.0f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, fib_cutoff, (double)dt / 1e9, (unsigned long long)tasks,
	       (double)tasks / ((double)dt / 1e9), bench_cpu_s(), bench_maxrss_kb(), v == bench_fib_serial(n));
	return 0;
}
