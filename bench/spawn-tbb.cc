/*
 * spawn-tbb.cc -- flat spawn with oneTBB: the main thread runs N empty
 * lambdas in one task_group, then waits (and works) in task_group::wait.
 *
 *   spawn-tbb WORKERS N
 */
#include "config.h"

#include <atomic>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include "bench-util.h"

static void run_spawn(long n)
{
	tbb::task_group g;

	for (long i = 0; i < n; i++)
		g.run([] { __asm__ volatile(""); });
	g.wait();
}

int main(int argc, char **argv)
{
	int workers = bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 1000000);

	tbb::global_control gc(tbb::global_control::max_allowed_parallelism, (size_t)workers);
	run_spawn(1000); /* warm-up */

	uint64_t t0 = bench_now_ns();
	run_spawn(n);
	uint64_t dt = bench_now_ns() - t0;

	printf("RESULT bench=spawn rt=tbb workers=%d n=%ld time_s=%.6f tasks=%ld"
	       " tasks_per_s=%.0f cpu_s=%.3f maxrss_kb=%ld ok=1\n",
	       workers, n, (double)dt / 1e9, n, (double)n / ((double)dt / 1e9),
	       bench_cpu_s(), bench_maxrss_kb());
	return 0;
}
