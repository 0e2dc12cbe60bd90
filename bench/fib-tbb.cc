/*
 * fib-tbb.cc -- the fib workload with oneTBB task_group (libtbb-dev).
 *
 *   fib-tbb WORKERS N CUTOFF [RUNS]
 *
 * Same shape as fib-coop.c: a call with n >= max(CUTOFF, 2) runs both
 * children with task_group::run and waits with task_group::wait; the root
 * is a task too.  global_control caps the threads at WORKERS; the main
 * thread is one of them (it works inside wait), as oneTBB intends.
 */
#include "config.h"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include "bench-fib.h"
#include "bench-util.h"

static int fib_cutoff;

static long fib(int n)
{
	long x, y;

	if (n < 2 || n < fib_cutoff)
		return bench_fib_leaf(n);
	tbb::task_group g;
	g.run([&] { x = fib(n - 1); });
	g.run([&] { y = fib(n - 2); });
	g.wait();
	return x + y;
}

static long run_fib(int n)
{
	long r = 0;
	tbb::task_group g;

	g.run([&] { r = fib(n); });
	g.wait();
	return r;
}

int main(int argc, char **argv)
{
	int workers = bench_arg_int(argc, argv, 1, 2);
	int n = bench_arg_int(argc, argv, 2, 30);

	fib_cutoff = bench_arg_int(argc, argv, 3, 0);
	tbb::global_control gc(tbb::global_control::max_allowed_parallelism, (size_t)workers);
	(void)run_fib(15); /* warm-up: the arena and its workers exist */

	int runs = bench_arg_runs(argc, argv, 4);
	uint64_t dt[BENCH_RUNS_MAX];
	long v = 0;
	for (int r = 0; r < runs; r++) {
		uint64_t t0 = bench_now_ns();
		v = run_fib(n);
		dt[r] = bench_now_ns() - t0;
	}
	struct bench_runs tr = bench_time_runs(dt, runs);
	uint64_t tasks = bench_fib_tasks(n, fib_cutoff);

	printf("RESULT bench=fib rt=tbb workers=%d n=%d cutoff=%d runs=%d time_s=%.6f"
	       " time_min_s=%.6f tasks=%llu tasks_per_s=%.0f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, fib_cutoff, tr.runs, tr.median_s, tr.min_s, (unsigned long long)tasks,
	       (double)tasks / tr.median_s, bench_cpu_s(), bench_maxrss_kb(), v == bench_fib_leaf(n));
	return 0;
}
