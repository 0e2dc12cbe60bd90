/*
 * pending-coop.c -- libcoop's memory overhead per pending task.
 *
 *   pending-coop WORKERS N [STATE_BYTES]
 *
 * The main thread spawns N detached tasks with STATE_BYTES (>= 16) of state
 * each.  Each task registers its waker on one shared waker cell that never
 * fires and returns PENDING, so once all N have been polled, all N are
 * parked and nothing else is alive.  The overhead per task is the growth of
 * resident memory (VmRSS) and of malloc's in-use bytes (mallinfo2) over N,
 * minus the state the caller asked to store.  Cancelling the scope then
 * wakes every one of them and they acknowledge.
 */
#include "config.h"

#include <malloc.h>
#include <sched.h>
#include <stdatomic.h>

#include "bench-util.h"
#include "coop.h"

struct pend {
	coop_waker_cell *cell;
	_Atomic long *parked;
	/* padding up to STATE_BYTES follows */
};

static coop_poll pend_poll(coop_cx *cx, void *state)
{
	struct pend *p = state;

	if (coop_cx_cancelled(cx))
		return COOP_CANCELLED;
	coop_waker_cell_register(p->cell, cx);
	atomic_fetch_add_explicit(p->parked, 1, memory_order_relaxed);
	return COOP_PENDING;
}

int main(int argc, char **argv)
{
	unsigned workers = (unsigned)bench_arg_int(argc, argv, 1, 2);
	long n = bench_arg_int(argc, argv, 2, 200000);
	size_t state_size = (size_t)bench_arg_int(argc, argv, 3, 16);
	coop_waker_cell cell = COOP_WAKER_CELL_INIT;
	_Atomic long parked = 0;
	unsigned char buf[4096] = {0};
	coop_rt_options ro = {0};
	coop_rt *rt;
	coop_scope *scope;
	coop_outcome o;

	if (state_size < sizeof(struct pend) || state_size > sizeof(buf))
		return 2;
	ro.workers = workers;
	if (coop_rt_new(&ro, &rt) < 0 || coop_scope_new(rt, NULL, NULL, &scope) < 0)
		return 1;
	struct pend *p = (struct pend *)buf;
	p->cell = &cell;
	p->parked = &parked;

	long rss0 = bench_status_kb("VmRSS");
	size_t heap0 = mallinfo2().uordblks;
	for (long i = 0; i < n; i++)
		if (coop_spawn(scope, pend_poll, buf, state_size, NULL, NULL, NULL) < 0)
			abort();
	while (atomic_load_explicit(&parked, memory_order_relaxed) < n)
		sched_yield(); /* a benchmark may wait this way; the library never does */
	long rss1 = bench_status_kb("VmRSS");
	/* mallinfo2 counts the main arena only; tasks spawned from main live
	 * there (the workers allocate nothing here). */
	size_t heap1 = mallinfo2().uordblks;

	coop_scope_cancel(scope, COOP_REASON_CLIENT);
	coop_scope_join(scope, &o);
	coop_scope_free(scope);
	coop_waker_cell_clear(&cell);
	coop_rt_free(rt);

	double rss_per = (double)(rss1 - rss0) * 1024.0 / (double)n;
	double heap_per = (double)(heap1 - heap0) / (double)n;
	printf("RESULT bench=pending rt=coop workers=%u n=%ld state_bytes=%zu"
	       " rss_per_task=%.1f heap_per_task=%.1f overhead_rss=%.1f overhead_heap=%.1f"
	       " ok=%d\n",
	       workers, n, state_size, rss_per, heap_per, rss_per - (double)state_size,
	       heap_per - (double)state_size, o.status == COOP_STATUS_CANCELLED);
	return 0;
}
