/*
 * cancel-tbb.cc -- cancel latency on oneTBB.
 *
 *   cancel-tbb WORKERS N [UNIT_NS] [WARM_MS] [RUNS]
 *
 * The peer of cancel-coop.c: N tasks in one task_group spin in steps of
 * about UNIT_NS, checking tbb::is_current_task_group_canceling() before
 * each.  oneTBB tasks run to completion (no yield), so WORKERS of them spin
 * and the rest wait in the task pool.  After WARM_MS a helper thread calls
 * task_group::cancel; the time from that call until task_group::wait
 * returns on the main thread (which works inside wait) is the latency.
 * RUNS (default 1) repeats the experiment, a new task_group each time, in
 * this process; the median is reported.
 */
#include "config.h"

#include <atomic>
#include <thread>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include "bench-util.h"

static uint64_t unit_steps;

/* One experiment: run, let them spin, cancel; the latency in ns.  *ok stays
 * true only if wait reported the group cancelled. */
static uint64_t cancel_once(long n, int warm_ms, std::atomic<uint64_t> &sink,
			    std::atomic<long> &cancelled, bool *ok)
{
	std::atomic<uint64_t> t0{0};
	tbb::task_group g;

	for (long i = 0; i < n; i++)
		g.run([&] {
			uint64_t s = 0;
			while (!tbb::is_current_task_group_canceling())
				s += bench_spin(unit_steps);
			sink.fetch_add(s, std::memory_order_relaxed);
			cancelled.fetch_add(1, std::memory_order_relaxed);
		});
	std::thread canceller([&] {
		bench_sleep_ms(warm_ms);
		t0.store(bench_now_ns());
		g.cancel();
	});
	tbb::task_group_status status = g.wait();
	uint64_t dt = bench_now_ns() - t0.load();
	canceller.join();
	*ok = *ok && status == tbb::canceled;
	return dt;
}

int main(int argc, char **argv)
{
	int workers = bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 100000);
	int unit_ns = bench_arg_int(argc, argv, 3, 200);
	int warm_ms = bench_arg_int(argc, argv, 4, 100);
	int runs = bench_arg_runs(argc, argv, 5);
	std::atomic<uint64_t> sink{0};
	std::atomic<long> cancelled{0};
	uint64_t dt[BENCH_RUNS_MAX];
	bool ok = true;

	unit_steps = bench_unit_calibrate((uint64_t)unit_ns);
	tbb::global_control gc(tbb::global_control::max_allowed_parallelism, (size_t)workers);
	for (int r = 0; r < runs; r++)
		dt[r] = cancel_once(n, warm_ms, sink, cancelled, &ok);
	struct bench_runs tr = bench_time_runs(dt, runs);

	printf("# tasks that saw the cancellation while running: %ld in %d runs\n",
	       cancelled.load(), tr.runs);
	printf("RESULT bench=cancel rt=tbb workers=%d n=%ld unit_ns=%d runs=%d time_s=%.6f"
	       " time_min_s=%.6f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, unit_ns, tr.runs, tr.median_s, tr.min_s, bench_cpu_s(),
	       bench_maxrss_kb(), ok);
	return 0;
}
