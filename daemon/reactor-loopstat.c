/*
 * reactor-loopstat.c - how long the loop thread is held at a time.
 *
 * libev lets its user run the pending callbacks itself
 * (ev_set_invoke_pending_cb): coopd's replacement times ev_invoke_pending
 * with the monotonic clock (two vDSO reads an iteration, no system call)
 * and keeps the longest and a histogram.  The loop's own bookkeeping
 * between epoll_wait and the callbacks (timer heaps, fd lists) is not
 * counted: it is microseconds, and what holds the loop is coopd's work.
 * The figures are the loop's and read on the loop (metrics-text.c), so
 * they need no lock.
 */
#include "config.h"

#include <time.h>

#include "reactor-loopstat.h"

/* 100 µs to 5 s: a ping's round trip on an idle machine is about 50 µs,
 * and issue 15 asks for a p99 under 10 ms. */
const double loopstat_bounds[LOOPSTAT_BUCKETS - 1] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
						      0.01,   0.025,   0.1,    0.5,   5.0};

static uint64_t loopstat_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void loopstat_invoke(struct ev_loop *loop)
{
	struct loopstat *st = ev_userdata(loop);
	uint64_t t0, dt;
	size_t b;

	if (!ev_pending_count(loop))
		return;
	t0 = loopstat_now_ns();
	ev_invoke_pending(loop);
	dt = loopstat_now_ns() - t0;
	if (dt > st->max_ns)
		st->max_ns = dt;
	st->count++;
	st->sum_ns += dt;
	for (b = 0; b < LOOPSTAT_BUCKETS - 1; b++)
		if ((double)dt <= loopstat_bounds[b] * 1e9)
			break;
	st->buckets[b]++;
}

void loopstat_attach(struct ev_loop *loop, struct loopstat *st)
{
	ev_set_userdata(loop, st);
	ev_set_invoke_pending_cb(loop, loopstat_invoke);
}
