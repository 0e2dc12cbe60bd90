/*
 * scope-demo.c -- libcoop in one page: a scope that runs cooperative tasks
 * and blocking work, borrows data from main's stack, and reports outcomes.
 *
 *   ./scope-demo
 *
 * Each task sums a slice of an array that lives on main's stack: that is
 * safe because coop_scope_join does not return before every child has
 * finished.  A blocking job sleeps (checking its cancellation token), and a
 * timer task waits on the runtime's timer without blocking a worker.
 */
#include <inttypes.h>
#include <stdio.h>

#include "coop.h"

struct slice {
	const int64_t *data;
	size_t len;
};

/* A task that sums its slice, asking for cooperation every element so that
 * a long slice yields the worker to others instead of hogging it. */
struct sum_state {
	struct slice s;
	size_t i;
	int64_t acc;
};

static coop_poll sum_poll(coop_cx *cx, void *state)
{
	struct sum_state *st = state;

	while (st->i < st->s.len) {
		if (coop_cx_cancelled(cx))
			return COOP_CANCELLED;
		if (!coop_cx_proceed(cx))
			return COOP_PENDING; /* out of budget: re-queued, not parked */
		st->acc += st->s.data[st->i++];
	}
	coop_cx_set_value(cx, st->acc);
	return COOP_READY;
}

static coop_poll nap(coop_token *token, void *arg)
{
	const uint64_t *ms = arg;

	if (coop_token_sleep(token, *ms * 1000000u))
		return COOP_CANCELLED;
	coop_token_set_value(token, (int64_t)*ms);
	return COOP_READY;
}

struct wait_state {
	coop_timer *timer;
};

static coop_poll wait_poll(coop_cx *cx, void *state)
{
	struct wait_state *st = state;

	return coop_timer_poll(st->timer, cx);
}

static void wait_drop(void *state)
{
	struct wait_state *st = state;

	coop_timer_free(st->timer);
}

int main(void)
{
	enum { N = 100000, PARTS = 8 };
	static int64_t numbers[N];
	coop_handle *parts[PARTS], *sleeper, *waiter;
	coop_outcome o;
	coop_scope *scope;
	coop_rt *rt;
	int64_t total = 0;
	uint64_t ms = 20;
	int r;

	for (size_t i = 0; i < N; i++)
		numbers[i] = (int64_t)i;

	r = coop_rt_new(NULL, &rt);
	if (r < 0) {
		fprintf(stderr, "coop_rt_new: %d\n", r);
		return 1;
	}
	r = coop_scope_new(rt, NULL, NULL, &scope);
	if (r < 0)
		return 1;

	for (int p = 0; p < PARTS; p++) {
		struct sum_state st = {{numbers + p * (N / PARTS), N / PARTS}, 0, 0};
		if (coop_spawn(scope, sum_poll, &st, sizeof(st), NULL, NULL, &parts[p]) < 0)
			return 1;
	}
	if (coop_spawn_blocking(scope, nap, &ms, NULL, &sleeper) < 0)
		return 1;
	struct wait_state ws;
	if (coop_timer_new(rt, coop_now_ns() + 10 * 1000000u, &ws.timer) < 0)
		return 1;
	if (coop_spawn(scope, wait_poll, &ws, sizeof(ws), wait_drop, NULL, &waiter) < 0)
		return 1;

	coop_scope_join(scope, &o); /* block_on: returns after every child */

	for (int p = 0; p < PARTS; p++) {
		coop_outcome po;
		coop_handle_done(parts[p], &po);
		total += po.value;
		coop_handle_free(parts[p]);
	}
	coop_handle_done(sleeper, &o);
	printf("sum of 0..%d = %" PRId64 " (expected %" PRId64 ")\n", N - 1, total,
	       (int64_t)N * (N - 1) / 2);
	printf("blocking job slept %" PRId64 " ms, status %d\n", o.value, (int)o.status);
	coop_handle_free(sleeper);
	coop_handle_free(waiter);

	coop_stats stats;
	coop_rt_stats(rt, &stats);
	printf("workers %u, tasks %" PRIu64 ", polls %" PRIu64 ", forced yields %" PRIu64 "\n",
	       stats.workers, stats.tasks_spawned, stats.polls, stats.forced_yields);
	coop_scope_free(scope);
	coop_rt_free(rt);
	return total == (int64_t)N * (N - 1) / 2 ? 0 : 1;
}
