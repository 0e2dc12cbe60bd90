/*
 * cancel-coop.c -- cancel latency on libcoop.
 *
 *   cancel-coop WORKERS N [UNIT_NS] [WARM_MS]
 *
 * N tasks spin forever in budgeted steps of about UNIT_NS of CPU each
 * (coop_cx_maybe_yield after every step, coop_cx_cancelled before it).
 * After WARM_MS, when some have run and yielded and the rest still wait in
 * the queues, the main thread cancels the scope; the time from the request
 * to coop_scope_join returning is the latency reported.
 */
#include "config.h"

#include <inttypes.h>

#include "bench-util.h"
#include "coop.h"

static uint64_t unit_steps;

static coop_poll spin_poll(coop_cx *cx, void *state)
{
	uint64_t *sink = state;

	for (;;) {
		if (coop_cx_cancelled(cx))
			return COOP_CANCELLED;
		*sink += bench_spin(unit_steps);
		if (coop_cx_maybe_yield(cx))
			return COOP_PENDING;
	}
}

int main(int argc, char **argv)
{
	unsigned workers = (unsigned)bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 100000);
	int unit_ns = bench_arg_int(argc, argv, 3, 200);
	int warm_ms = bench_arg_int(argc, argv, 4, 100);
	coop_rt_options ro = {0};
	coop_rt *rt;
	coop_scope *scope;
	coop_outcome o;
	coop_stats st;
	uint64_t sink = 0;

	unit_steps = bench_unit_calibrate((uint64_t)unit_ns);
	ro.workers = workers;
	if (coop_rt_new(&ro, &rt) < 0 || coop_scope_new(rt, NULL, NULL, &scope) < 0)
		return 1;
	for (long i = 0; i < n; i++)
		if (coop_spawn(scope, spin_poll, &sink, sizeof(sink), NULL, NULL, NULL) < 0)
			abort();
	bench_sleep_ms(warm_ms);

	coop_rt_stats(rt, &st);
	uint64_t started = st.polls;
	uint64_t t0 = bench_now_ns();
	coop_scope_cancel(scope, COOP_REASON_CLIENT);
	coop_scope_join(scope, &o);
	uint64_t dt = bench_now_ns() - t0;

	coop_rt_stats(rt, &st);
	coop_scope_free(scope);
	coop_rt_free(rt);
	printf("# polls before cancel=%" PRIu64 ", mean ack latency per task=%.1f us\n", started,
	       st.cancel_latency_count
		       ? (double)st.cancel_latency_sum_ns / (double)st.cancel_latency_count / 1e3
		       : 0.0);
	printf("RESULT bench=cancel rt=coop workers=%u n=%ld unit_ns=%d time_s=%.6f"
	       " cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, unit_ns, (double)dt / 1e9, bench_cpu_s(), bench_maxrss_kb(),
	       o.status == COOP_STATUS_CANCELLED &&
		       st.tasks_finished[COOP_STATUS_CANCELLED] == (uint64_t)n);
	return 0;
}
