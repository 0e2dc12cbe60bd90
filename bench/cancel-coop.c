/*
 * cancel-coop.c -- cancel latency on libcoop.
 *
 *   cancel-coop WORKERS N [UNIT_NS] [WARM_MS] [RUNS]
 *
 * N tasks spin forever in budgeted steps of about UNIT_NS of CPU each
 * (coop_cx_maybe_yield after every step, coop_cx_cancelled before it).
 * After WARM_MS, when some have run and yielded and the rest still wait in
 * the queues, the main thread cancels the scope; the time from the request
 * to coop_scope_join returning is the latency.  RUNS (default 1) repeats
 * the whole experiment, a new scope each time, in this process; the median
 * is reported.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>

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

/* One experiment: spawn, let them spin, cancel; the latency in ns.  *ok
 * stays true only if every task was reported cancelled. */
static uint64_t cancel_once(coop_rt *rt, long n, int warm_ms, uint64_t *sink, bool *ok,
			    uint64_t *polls_before)
{
	coop_scope *scope;
	coop_outcome o;
	coop_stats st;

	coop_rt_stats(rt, &st);
	uint64_t cancelled_before = st.tasks_finished[COOP_STATUS_CANCELLED];
	if (coop_scope_new(rt, NULL, NULL, &scope) < 0)
		abort();
	for (long i = 0; i < n; i++)
		if (coop_spawn(scope, spin_poll, sink, sizeof(*sink), NULL, NULL, NULL) < 0)
			abort();
	bench_sleep_ms(warm_ms);

	coop_rt_stats(rt, &st);
	*polls_before = st.polls;
	uint64_t t0 = bench_now_ns();
	coop_scope_cancel(scope, COOP_REASON_CLIENT);
	coop_scope_join(scope, &o);
	uint64_t dt = bench_now_ns() - t0;

	coop_rt_stats(rt, &st);
	coop_scope_free(scope);
	*ok = *ok && o.status == COOP_STATUS_CANCELLED &&
	      st.tasks_finished[COOP_STATUS_CANCELLED] - cancelled_before == (uint64_t)n;
	return dt;
}

int main(int argc, char **argv)
{
	unsigned workers = (unsigned)bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 100000);
	int unit_ns = bench_arg_int(argc, argv, 3, 200);
	int warm_ms = bench_arg_int(argc, argv, 4, 100);
	int runs = bench_arg_runs(argc, argv, 5);
	coop_rt_options ro = {0};
	coop_rt *rt;
	coop_stats st;
	uint64_t sink = 0, polls_before = 0, polls_prev = 0;
	uint64_t dt[BENCH_RUNS_MAX];
	bool ok = true;

	unit_steps = bench_unit_calibrate((uint64_t)unit_ns);
	ro.workers = workers;
	if (coop_rt_new(&ro, &rt) < 0)
		return 1;
	for (int r = 0; r < runs; r++) {
		coop_rt_stats(rt, &st);
		polls_prev = st.polls;
		dt[r] = cancel_once(rt, n, warm_ms, &sink, &ok, &polls_before);
	}
	struct bench_runs tr = bench_time_runs(dt, runs);

	coop_rt_stats(rt, &st);
	coop_rt_free(rt);
	printf("# polls before the last cancel=%" PRIu64 ", mean ack latency per task=%.1f us\n",
	       polls_before - polls_prev,
	       st.cancel_latency_count
		       ? (double)st.cancel_latency_sum_ns / (double)st.cancel_latency_count / 1e3
		       : 0.0);
	printf("RESULT bench=cancel rt=coop workers=%u n=%ld unit_ns=%d runs=%d time_s=%.6f"
	       " time_min_s=%.6f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       workers, n, unit_ns, tr.runs, tr.median_s, tr.min_s, bench_cpu_s(),
	       bench_maxrss_kb(), ok);
	return 0;
}
