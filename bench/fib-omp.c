/*
 * fib-omp.c -- the fib workload with OpenMP tasks (gcc -fopenmp, libgomp).
 *
 *   fib-omp WORKERS N CUTOFF [RUNS]
 *
 * Same shape as fib-coop.c: a call with n >= max(CUTOFF, 2) runs both
 * children as `omp task`s and waits with `taskwait`; the root is a task
 * created by one thread of a team of WORKERS.
 */
#include "config.h"

#include <omp.h>

#include "bench-fib.h"
#include "bench-util.h"

static int fib_cutoff;

static long fib(int n)
{
	long x, y;

	if (n < 2 || n < fib_cutoff)
		return bench_fib_leaf(n);
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

	int runs = bench_arg_runs(argc, argv, 4);
	uint64_t dt[BENCH_RUNS_MAX];
	long v = 0;
	for (int r = 0; r < runs; r++) {
		uint64_t t0 = bench_now_ns();
		v = run_fib(workers, n);
		dt[r] = bench_now_ns() - t0;
	}
	struct bench_runs tr = bench_time_runs(dt, runs);
	uint64_t tasks = bench_fib_tasks(n, fib_cutoff);

	printf("RESULT bench=fib rt=omp workers=%d n=%d cutoff=%d runs=%d time_s=%.6f"
	       " time_min_s=%.6f tasks=%llu tasks_per_s=%.0f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, fib_cutoff, tr.runs, tr.median_s, tr.min_s, (unsigned long long)tasks,
	       (double)tasks / tr.median_s, bench_cpu_s(), bench_maxrss_kb(),
	       v == bench_fib_leaf(n));
	return 0;
}
