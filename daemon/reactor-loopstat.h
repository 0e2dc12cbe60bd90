/*
 * reactor-loopstat.h - how long the loop thread is held at a time.
 *
 * Every callback coopd runs on its event loop delays every other client
 * (docs/security.md, "Fair share").  This measures each run of the loop's
 * pending callbacks (one libev iteration's work, from the return of
 * epoll_wait to the next call of it) so that a hold shows in the metrics
 * (coopd_loop_busy_max_seconds, coopd_loop_iteration_seconds:
 * docs/metrics.md) instead of only in other clients' round trips.
 */
#ifndef COOPD_REACTOR_LOOPSTAT_H
#define COOPD_REACTOR_LOOPSTAT_H

#include <ev.h>
#include <stdint.h>

#define LOOPSTAT_BUCKETS 12

struct loopstat {
	uint64_t max_ns;                    /* longest since start */
	uint64_t count;                     /* iterations that ran callbacks */
	uint64_t sum_ns;                    /* their total */
	uint64_t buckets[LOOPSTAT_BUCKETS]; /* not cumulative; last: +Inf */
};

/* The upper bounds (seconds) of the buckets but the last (+Inf). */
extern const double loopstat_bounds[LOOPSTAT_BUCKETS - 1];

/* Times every later iteration of loop into st (loop thread only). */
void loopstat_attach(struct ev_loop *loop, struct loopstat *st);

#endif
