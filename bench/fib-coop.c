/*
 * fib-coop.c -- fib(n) on libcoop with a task at every call above the cutoff.
 *
 *   fib-coop WORKERS N CUTOFF [RUNS [proceed]]
 *
 * A call with n >= max(CUTOFF, 2) spawns both children as tasks into the
 * same scope, keeps their join handles and returns PENDING until both have
 * finished (a continuation, as a poll-based runtime must); calls below the
 * cutoff run serially inside their task.  With "proceed", every poll first
 * asks coop_cx_proceed, the cooperation check that issue 3 prices; the
 * budget is fresh at each poll, so it never runs out here and the run
 * measures the check's cost alone.  RUNS (default 1) times fib(n) that many
 * times in a row in this process and reports the median (bench_time_runs).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>

#include "bench-fib.h"
#include "bench-util.h"
#include "coop.h"

struct fib {
	int n;
	int phase;
	coop_handle *a, *b;
	int64_t va, vb;
};

static int fib_cutoff;
static bool fib_proceed;

static coop_poll fib_poll(coop_cx *cx, void *state)
{
	struct fib *f = state;
	coop_outcome o;

	if (fib_proceed && !coop_cx_proceed(cx))
		return COOP_PENDING;
	if (f->phase == 0) {
		if (f->n < 2 || f->n < fib_cutoff) {
			coop_cx_set_value(cx, bench_fib_leaf(f->n));
			return COOP_READY;
		}
		struct fib ca = {f->n - 1, 0, NULL, NULL, 0, 0};
		struct fib cb = {f->n - 2, 0, NULL, NULL, 0, 0};
		if (coop_spawn(coop_cx_scope(cx), fib_poll, &ca, sizeof(ca), NULL, NULL, &f->a) <
			    0 ||
		    coop_spawn(coop_cx_scope(cx), fib_poll, &cb, sizeof(cb), NULL, NULL, &f->b) < 0)
			abort();
		f->phase = 1;
	}
	if (f->a) {
		if (coop_handle_poll(f->a, cx, &o) == COOP_PENDING)
			return COOP_PENDING;
		f->va = o.value;
		coop_handle_free(f->a);
		f->a = NULL;
	}
	if (f->b) {
		if (coop_handle_poll(f->b, cx, &o) == COOP_PENDING)
			return COOP_PENDING;
		f->vb = o.value;
		coop_handle_free(f->b);
		f->b = NULL;
	}
	coop_cx_set_value(cx, f->va + f->vb);
	return COOP_READY;
}

/* One fib(n) from the calling thread: root task, join, its value. */
static int64_t run_fib(coop_rt *rt, int n)
{
	coop_scope *scope;
	coop_handle *h;
	coop_outcome o;
	struct fib root = {n, 0, NULL, NULL, 0, 0};

	if (coop_scope_new(rt, NULL, NULL, &scope) < 0 ||
	    coop_spawn(scope, fib_poll, &root, sizeof(root), NULL, NULL, &h) < 0)
		abort();
	coop_scope_join(scope, NULL);
	if (!coop_handle_done(h, &o))
		abort();
	coop_handle_free(h);
	coop_scope_free(scope);
	return o.value;
}

int main(int argc, char **argv)
{
	unsigned workers = (unsigned)bench_arg_int(argc, argv, 1, 2);
	int n = bench_arg_int(argc, argv, 2, 30);
	coop_rt_options ro = {0};
	coop_rt *rt;

	fib_cutoff = bench_arg_int(argc, argv, 3, 0);
	int runs = bench_arg_runs(argc, argv, 4);
	fib_proceed = argc > 5 && strcmp(argv[5], "proceed") == 0;
	ro.workers = workers;
	if (coop_rt_new(&ro, &rt) < 0)
		return 1;
	(void)run_fib(rt, 15); /* warm-up: threads running, caches touched */

	uint64_t dt[BENCH_RUNS_MAX];
	int64_t v = 0;
	for (int r = 0; r < runs; r++) {
		uint64_t t0 = bench_now_ns();
		v = run_fib(rt, n);
		dt[r] = bench_now_ns() - t0;
	}
	struct bench_runs tr = bench_time_runs(dt, runs);
	uint64_t tasks = bench_fib_tasks(n, fib_cutoff);
	coop_stats st;

	coop_rt_stats(rt, &st);
	coop_rt_free(rt);
	printf("# steals=%" PRIu64 " parks=%" PRIu64 " polls=%" PRIu64 "\n", st.steals, st.parks,
	       st.polls);
	printf("RESULT bench=fib%s rt=coop workers=%u n=%d cutoff=%d runs=%d time_s=%.6f"
	       " time_min_s=%.6f tasks=%" PRIu64
	       " tasks_per_s=%.0f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       fib_proceed ? "-proceed" : "", workers, n, fib_cutoff, tr.runs, tr.median_s,
	       tr.min_s, tasks, (double)tasks / tr.median_s, bench_cpu_s(), bench_maxrss_kb(),
	       v == bench_fib_leaf(n));
	return 0;
}
