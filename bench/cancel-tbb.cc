/*
 * cancel-tbb.cc -- cancel latency on oneTBB.
 *
 *   cancel-tbb WORKERS N [UNIT_NS] [WARM_MS]
 *
 * The peer of cancel-coop.c: N tasks in one task_group spin in steps of
 * about UNIT_NS, checking tbb::is_current_task_group_canceling() before
 * each.  oneTBB tasks run to completion (no yield), so WORKERS of them spin
 * and the rest wait in the task pool.  After WARM_MS a helper thread calls
 * task_group::cancel; the time from that call until task_group::wait
 * returns on the main thread (which works inside wait) is the latency.
 */
#include "config.h"

#include <atomic>
#include <thread>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

#include "bench-util.h"

static uint64_t unit_steps;

int main(int argc, char **argv)
{
	int workers = bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 100000);
	int unit_ns = bench_arg_int(argc, argv, 3, 200);
	int warm_ms = bench_arg_int(argc, argv, 4, 100);
	std::atomic<uint64_t> sink{0};
	std::atomic<long> cancelled{0};
	std::atomic<uint64_t> t0{0};

	unit_steps = bench_unit_calibrate((uint64_t)unit_ns);
	tbb::global_control gc(tbb::global_control::max_allowed_parallelism, (size_t)workers);
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

	printf("# tasks that saw the cancellation while running: %ld\n", cancelled.load());
	printf("RESULT bench=cancel rt=tbb workers=%d n=%ld unit_ns=%d time_s=%.6f"
	       " cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, unit_ns, (double)dt / 1e9, bench_cpu_s(), bench_maxrss_kb(),
	       status == tbb::canceled);
	return 0;
}
