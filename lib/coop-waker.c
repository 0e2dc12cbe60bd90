/*
 * coop-waker.c -- the waker value type and the one-waker cell.
 *
 * Wakers are (vtable, data) pairs so that anything -- a task, a child of a
 * combinator, a test -- can be woken through one interface.  The cell is the
 * meeting point of one registering poller and any number of firing threads;
 * a tiny spinlock guards it because its critical sections are a few stores.
 */
#include "config.h"

#include <sched.h>

#include "coop-internal.h"

coop_waker coop_waker_clone(coop_waker waker)
{
	if (!waker.vtable)
		return waker;
	return (coop_waker){waker.vtable, waker.vtable->clone(waker.data)};
}

void coop_waker_wake(coop_waker waker)
{
	if (waker.vtable)
		waker.vtable->wake(waker.data);
}

void coop_waker_wake_by_ref(coop_waker waker)
{
	if (waker.vtable)
		waker.vtable->wake_by_ref(waker.data);
}

void coop_waker_drop(coop_waker waker)
{
	if (waker.vtable)
		waker.vtable->drop(waker.data);
}

static void cell_lock(coop_waker_cell *cell)
{
	/* acquire: the holder sees the previous holder's writes to waker. */
	while (atomic_exchange_explicit(&cell->lock, 1, memory_order_acquire))
		sched_yield();
}

static void cell_unlock(coop_waker_cell *cell)
{
	/* release: publishes our writes to waker to the next holder. */
	atomic_store_explicit(&cell->lock, 0, memory_order_release);
}

void coop_waker_cell_register(coop_waker_cell *cell, coop_cx *cx)
{
	coop_waker mine = coop_cx_waker(cx);
	coop_waker old = {NULL, NULL};

	cell_lock(cell);
	if (cell->waker.vtable != mine.vtable || cell->waker.data != mine.data) {
		old = cell->waker;
		cell->waker = coop_waker_clone(mine);
	}
	cell_unlock(cell);
	coop_waker_drop(old);
}

void coop__waker_cell_put(coop_waker_cell *cell, coop_waker waker)
{
	coop_waker old;

	cell_lock(cell);
	old = cell->waker;
	cell->waker = waker;
	cell_unlock(cell);
	coop_waker_drop(old);
}

void coop_waker_cell_wake(coop_waker_cell *cell)
{
	coop_waker w;

	cell_lock(cell);
	w = cell->waker;
	cell->waker = (coop_waker){NULL, NULL};
	cell_unlock(cell);
	coop_waker_wake(w);
}

void coop_waker_cell_clear(coop_waker_cell *cell)
{
	coop_waker w;

	cell_lock(cell);
	w = cell->waker;
	cell->waker = (coop_waker){NULL, NULL};
	cell_unlock(cell);
	coop_waker_drop(w);
}
