/*
 * spawn-coop.c -- flat spawn on libcoop: N trivial tasks into one scope.
 *
 *   spawn-coop WORKERS N [task|ext]
 *
 * "task" (the default, the shape of the OpenMP and oneTBB peers, whose
 * spawner is one of the pool's threads): one task spawns the N children,
 * detached, from a worker, so they go to that worker's deque and the other
 * workers steal.  "ext": the main thread spawns them (they go through the
 * injection queue), then joins.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>

#include "bench-util.h"
#include "coop.h"

static coop_poll trivial_poll(coop_cx *cx, void *state)
{
	return COOP_READY;
}

static coop_poll spawner_poll(coop_cx *cx, void *state)
{
	long n = *(long *)state;

	for (long i = 0; i < n; i++)
		if (coop_spawn(coop_cx_scope(cx), trivial_poll, NULL, 0, NULL, NULL, NULL) < 0)
			abort();
	return COOP_READY;
}

static void run_spawn(coop_rt *rt, long n, bool from_task)
{
	coop_scope *scope;

	if (coop_scope_new(rt, NULL, NULL, &scope) < 0)
		abort();
	if (from_task) {
		if (coop_spawn(scope, spawner_poll, &n, sizeof(n), NULL, NULL, NULL) < 0)
			abort();
	} else {
		for (long i = 0; i < n; i++)
			if (coop_spawn(scope, trivial_poll, NULL, 0, NULL, NULL, NULL) < 0)
				abort();
	}
	coop_scope_join(scope, NULL);
	coop_scope_free(scope);
}

int main(int argc, char **argv)
{
	unsigned workers = (unsigned)bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 1000000);
	bool from_task = !(argc > 3 && strcmp(argv[3], "ext") == 0);
	coop_rt_options ro = {0};
	coop_rt *rt;
	coop_stats st;

	ro.workers = workers;
	if (coop_rt_new(&ro, &rt) < 0)
		return 1;
	run_spawn(rt, 1000, from_task); /* warm-up */

	uint64_t t0 = bench_now_ns();
	run_spawn(rt, n, from_task);
	uint64_t dt = bench_now_ns() - t0;

	coop_rt_stats(rt, &st);
	coop_rt_free(rt);
	printf("# steals=%" PRIu64 " parks=%" PRIu64 "\n", st.steals, st.parks);
	printf("RESULT bench=spawn%s rt=coop workers=%u n=%ld time_s=%.6f tasks=%ld"
	       " tasks_per_s=%.0f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       from_task ? "" : "-ext", workers, n, (double)dt / 1e9, n,
	       (double)n / ((double)dt / 1e9), bench_cpu_s(), bench_maxrss_kb(),
	       st.tasks_finished[COOP_STATUS_OK] == (uint64_t)n + 1000 + 2 * from_task);
	return 0;
}
