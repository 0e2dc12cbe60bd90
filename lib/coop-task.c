/*
 * coop-task.c -- tasks: spawning, the poll loop of one task, wakers, join
 * handles and task-level cancellation.
 *
 * A task's life is driven by one atomic state word (see coop-internal.h).
 * The protocol, after tokio's and async-task's task state machines:
 *   - wake on an idle task sets SCHEDULED and queues it (one reference goes
 *     with it into the queue);
 *   - wake on a RUNNING task sets NOTIFIED instead, and the worker polls it
 *     again after the current poll: a wake is never lost and a task is never
 *     polled by two threads at once;
 *   - wake on a SCHEDULED or COMPLETE task does nothing;
 *   - completion sets COMPLETE and, if a joiner registered its waker (the
 *     JOIN_WAKER bit), takes that waker and wakes it.
 * Every state CAS is acq_rel: the release half publishes what the thread
 * did to the task before the transition (the waker's data, the poller's
 * writes to the state), the acquire half lets the next owner see it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coop-internal.h"

/* 112 + malloc's 16-byte chunk header (or the block cache's class) = 128. */
_Static_assert(sizeof(struct coop__task) <= 112,
	       "the runtime's overhead per task must stay within 128 bytes");
_Static_assert(sizeof(struct coop__task) % 16 == 0, "task state must stay 16-byte aligned");

#define ACQ_REL memory_order_acq_rel
#define ACQUIRE memory_order_acquire
#define RELAXED memory_order_relaxed

static inline bool cas_state(struct coop__task *t, uint32_t *expected, uint32_t desired)
{
	return atomic_compare_exchange_weak_explicit(&t->state, expected, desired, ACQ_REL,
						     ACQUIRE);
}

void coop__task_ref(struct coop__task *t)
{
	/* relaxed: a new reference is made from an existing one, so the task
	 * cannot be freed concurrently (the usual refcount argument). */
	atomic_fetch_add_explicit(&t->refs, 1, RELAXED);
}

/* Drop n references at once (the last one frees the block). */
static void task_unref_n(struct coop__task *t, uint32_t n)
{
	/* Holding all n that are left, nobody else can take or make one, so
	 * the RMW is skipped (a joiner freeing a finished child's handle is
	 * the common case).  acquire: pairs with the release half of the
	 * other holders' decrements before the block is reused.  Otherwise
	 * acq_rel: the release half orders this thread's uses of the task
	 * before the free; the acquire half, for the last reference, makes
	 * all other threads' uses visible before the memory is reused. */
	if (atomic_load_explicit(&t->refs, ACQUIRE) != n &&
	    atomic_fetch_sub_explicit(&t->refs, n, ACQ_REL) != n)
		return;
	if (!coop_waker_is_empty(t->join_waker))
		coop_waker_drop(t->join_waker);
	/* Only a completed task can get here: its scope may be gone, so
	 * nothing above may touch t->scope. */
	coop__task_block_free(t);
}

void coop__task_unref(struct coop__task *t)
{
	task_unref_n(t, 1);
}

/* ---- cancellation as seen by a task ------------------------------------------ */

/* Inline here, out of line for the other files: the run and completion
 * paths ask once per task. */
static inline __attribute__((always_inline)) bool task_cancelled(struct coop__task *t)
{
	/* acquire: pairs with the acq_rel CAS that set CANCEL. */
	if (atomic_load_explicit(&t->state, ACQUIRE) & TASK_CANCEL)
		return true;
	if (t->flags & TASKF_SHIELDED)
		return false;
	/* acquire: pairs with the release CAS in coop_scope_cancel. */
	return atomic_load_explicit(&t->scope->cancel, ACQUIRE) != 0;
}

bool coop__task_cancelled(struct coop__task *t)
{
	return task_cancelled(t);
}

static inline __attribute__((always_inline)) coop_reason
task_cancel_reason(struct coop__task *t, uint64_t *ret_requested_ns)
{
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);
	coop_reason r = (coop_reason)((s & TASK_REASON_MASK) >> TASK_REASON_SHIFT);

	if (r != COOP_REASON_NONE) {
		if (ret_requested_ns)
			*ret_requested_ns = atomic_load_explicit(&t->cancel_requested_ns, RELAXED);
		return r;
	}
	if ((s & TASK_COMPLETE) || (t->flags & TASKF_SHIELDED))
		return COOP_REASON_NONE;
	r = (coop_reason)atomic_load_explicit(&t->scope->cancel, ACQUIRE);
	if (r != COOP_REASON_NONE && ret_requested_ns)
		*ret_requested_ns = atomic_load_explicit(&t->scope->cancel_requested_ns, RELAXED);
	return r;
}

coop_reason coop__task_cancel_reason(struct coop__task *t, uint64_t *ret_requested_ns)
{
	return task_cancel_reason(t, ret_requested_ns);
}

/* ---- wakers ------------------------------------------------------------------------ */

/*
 * Wake a task.  With `consume`, the caller hands over one reference (a
 * waker being consumed): if the task gets queued, that reference becomes
 * the queue's, saving an increment and a decrement per wake.
 */
static void task_wake(struct coop__task *t, bool consume)
{
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);

	if (t->flags & TASKF_BLOCKING) {
		/* A blocking job cannot be rescheduled; waking it interrupts
		 * coop_token_sleep so that it sees a cancellation at once. */
		if (!(s & TASK_COMPLETE))
			coop__blocking_wake(t->rt, t);
		goto release;
	}
	for (;;) {
		if (s & TASK_COMPLETE)
			goto release;
		if (s & TASK_RUNNING) {
			if (s & TASK_NOTIFIED)
				goto release;
			if (cas_state(t, &s, s | TASK_NOTIFIED))
				goto release;
			continue;
		}
		if (s & TASK_SCHEDULED)
			goto release;
		if (cas_state(t, &s, s | TASK_SCHEDULED)) {
			/* We own the scheduling now; the task cannot complete
			 * until it runs, so its scope is alive. */
			if (!consume)
				coop__task_ref(t);
			coop__schedule(t->rt, t, false);
			return;
		}
	}
release:
	if (consume)
		coop__task_unref(t);
}

void coop__task_wake_by_ref(struct coop__task *t)
{
	task_wake(t, false);
}

static void *task_waker_clone(void *data)
{
	coop__task_ref(data);
	return data;
}

static void task_waker_wake(void *data)
{
	task_wake(data, true);
}

static void task_waker_wake_by_ref(void *data)
{
	coop__task_wake_by_ref(data);
}

static void task_waker_drop(void *data)
{
	coop__task_unref(data);
}

const coop_waker_vtable coop__task_waker_vtable = {
	task_waker_clone,
	task_waker_wake,
	task_waker_wake_by_ref,
	task_waker_drop,
};

static inline void counter_inc(_Atomic uint64_t *c, uint64_t n)
{
	/* relaxed load + store: only the owning worker writes its counters. */
	atomic_store_explicit(c, atomic_load_explicit(c, RELAXED) + n, RELAXED);
}

/* ---- liveness in the scope (see coop__task.holder) ------------------------------ */

/*
 * Give back n counts of t->lent; each task whose count reaches zero gives
 * its own count back to its holder, up the chain, and the last one to the
 * scope.  `extra` more references of the first task are dropped along with
 * the one that "subtree unfinished" holds, in one RMW (its run queue's
 * reference, when a worker completes it).
 *
 * On a worker, the count for the holder (or the scope) is not applied at
 * once but deferred in the worker (rel_*), and counts for the same target
 * add up there: a spawner whose children finish on two workers would
 * otherwise have its `lent` line bounce between them once per child, and a
 * scope fed from outside (its tasks counted on `live`) likewise.  Deferring
 * is safe because a target whose count is deferred cannot finish early,
 * only late, and not for long: the worker applies the counts before it runs
 * any task not counted under the same target (while it runs one that is,
 * the target has that task's count and cannot finish anyway) and before it
 * goes idle.  The target stays allocated: its own count keeps it alive.
 */
static void lent_release(struct coop__task *t, uint32_t n, uint32_t extra, struct coop__worker *w);

static void defer_release(struct coop__worker *w, struct coop__task *holder, coop_scope *scope)
{
	if (w->rel_n && w->rel_task == holder && (holder || w->rel_scope == scope)) {
		w->rel_n++;
		return;
	}
	coop__worker_release_flush(w);
	w->rel_task = holder;
	w->rel_scope = holder ? NULL : scope;
	w->rel_n = 1;
}

void coop__worker_release_flush(struct coop__worker *w)
{
	/* A loop: applying counts can complete a holder, whose own count is
	 * deferred in turn (chains are at most TASKM_DEPTH_MAX long). */
	while (w->rel_n) {
		uint32_t n = w->rel_n;
		struct coop__task *t = w->rel_task;
		coop_scope *s = w->rel_scope;

		w->rel_n = 0;
		w->rel_task = NULL;
		w->rel_scope = NULL;
		if (t)
			lent_release(t, n, 0, w);
		else
			coop__scope_leave_n(s, n);
	}
}

static void lent_release(struct coop__task *t, uint32_t n, uint32_t extra, struct coop__worker *w)
{
	while (t) {
		/* Holding all n counts that are left, nobody else holds one,
		 * and nobody can add one (only the task itself, while running
		 * with its own count still held, lends), so the RMW is not
		 * needed.  acquire: pairs with the release half of the other
		 * holders' decrements, so the subtree's work is visible before
		 * the count goes up the chain.  Otherwise acq_rel, like a
		 * refcount: the last decrement sees everything. */
		if (atomic_load_explicit(&t->lent, ACQUIRE) != n &&
		    atomic_fetch_sub_explicit(&t->lent, n, ACQ_REL) != n) {
			if (extra)
				task_unref_n(t, extra);
			return;
		}
		struct coop__task *holder = t->holder;
		coop_scope *scope = t->scope;
		/* the reference "subtree unfinished" held (+ extra) */
		task_unref_n(t, 1 + extra);
		if (w) {
			defer_release(w, holder, scope);
			return;
		}
		if (!holder) {
			coop__scope_leave(scope);
			return;
		}
		t = holder;
		n = 1;
		extra = 0;
	}
}

/* ---- completion ------------------------------------------------------------------ */

static inline void task_complete(struct coop__task *t, coop_status status, uint32_t extra_refs,
				 uint64_t now);

void coop__task_complete(struct coop__task *t, coop_status status)
{
	task_complete(t, status, 0, 0);
}

/*
 * The time for a task that cancellation reached before it started.  A
 * cancelled scope's queued tasks are completed back to back, and a clock
 * reading (33 ns on a KVM guest) was a fifth of each; so up to 16 in a row
 * share one reading.  Any poll in between starts a new run (drain_left is
 * reset in coop__task_run, and so does the worker going idle), so a shared
 * reading is at most 16 such completions old; task_complete reads the clock
 * again if the reading is older than the task's cancellation request.
 */
static uint64_t drain_clock(struct coop__worker *w)
{
	if (w->drain_left) {
		w->drain_left--;
		return w->drain_ns;
	}
	w->drain_ns = coop_now_ns();
	w->drain_left = 15;
	return w->drain_ns;
}

/* Complete t and drop extra_refs more of its references; now is the time
 * if the caller has it, else 0.  Inline in each of its three callers: the
 * drain of a cancelled scope, which calls it with constants, got 4 to 5 %
 * faster (paired, 11 repetitions), and fib's count did not move. */
static inline __attribute__((always_inline)) void
task_complete(struct coop__task *t, coop_status status, uint32_t extra_refs, uint64_t now)
{
	coop_scope *scope = t->scope;
	coop_rt *rt = scope->rt;
	uint64_t requested = 0;
	coop_reason reason = task_cancel_reason(t, &requested);

	if (t->flags & TASKF_DROP)
		(*coop__task_drop_slot(t))(coop__task_state(t));
	if (t->flags & TASKF_TIMEOUT)
		coop__task_timeout_disarm(t);
	/* Before finished_ns is written: it shares the list links. */
	if (t->mflags & TASKM_IN_PLIST)
		coop__scope_unpark(scope, t);
	if (reason != COOP_REASON_NONE) {
		/* A shared drain reading may predate a request made since
		 * (another scope cancelled mid-run): never acknowledge before
		 * the request. */
		if (!now || now < requested)
			now = coop_now_ns();
		t->finished_ns = now;
		atomic_store_explicit(&t->cancel_requested_ns, requested, RELAXED);
		if (status == COOP_STATUS_CANCELLED)
			coop__record_cancel_latency(rt, now > requested ? now - requested : 0);
	}

	/* Publish the outcome, freeze the effective cancel reason into the
	 * state (the scope may be gone when the handle reads it) and take the
	 * joiner's waker if one is registered (woken last, below). */
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);
	uint32_t done;
	do {
		done = (s & ~(TASK_RUNNING | TASK_SCHEDULED | TASK_NOTIFIED | TASK_REASON_MASK |
			      TASK_STATUS_MASK)) |
		       TASK_COMPLETE | ((uint32_t)reason << TASK_REASON_SHIFT) |
		       ((uint32_t)status << TASK_STATUS_SHIFT);
	} while (!cas_state(t, &s, done));
	coop_waker joiner = {NULL, NULL};
	if (s & TASK_JOIN_WAKER) {
		joiner = t->join_waker;
		t->join_waker = (coop_waker){NULL, NULL};
	}
	struct coop__worker *w = coop__current_worker(rt);
	bool blocking = t->flags & TASKF_BLOCKING;
	if (!blocking) {
		if (w)
			counter_inc(&w->c.tasks_finished[status], 1);
		else
			atomic_fetch_add_explicit(&rt->ext_tasks_finished[status], 1, RELAXED);
	}
	coop__scope_child_done(scope, t, status, w);
	lent_release(t, 1, extra_refs, blocking ? NULL : w); /* t may be gone now */
	if (joiner.vtable) {
		/* The joiner may act on the end at once (coopd starts the nodes
		 * that were waiting for it): the task's count in its scope's
		 * `live` is applied first, not left deferred in this worker, so
		 * that the scope closed by the joiner is done, and a fail_fast
		 * sibling started then finds nobody else to cancel (before, one
		 * that failed on another worker counted a sibling_failed
		 * request that reached nobody).  Counts deferred on a holder
		 * task stay deferred: the holder is unfinished anyway. */
		if (w && !blocking && w->rel_n && !w->rel_task)
			coop__worker_release_flush(w);
		coop_waker_wake(joiner);
	}
}

/* ---- running one task -------------------------------------------------------------- */

static coop_status status_of(coop_poll r)
{
	switch (r) {
	case COOP_READY:
		return COOP_STATUS_OK;
	case COOP_CANCELLED:
		return COOP_STATUS_CANCELLED;
	default:
		return COOP_STATUS_FAILED;
	}
}

/* Complete t, just taken from a queue by w, never started (state s) and
 * reached by cancellation: CANCELLED unpolled, dropping the queue's
 * reference. */
static void task_drain(struct coop__worker *w, struct coop__task *t, uint32_t s)
{
	if (w->rel_n && !coop__worker_release_covers(w, t))
		coop__worker_release_flush(w);
	while (!cas_state(t, &s, (s & ~(TASK_SCHEDULED | TASK_NOTIFIED)) | TASK_RUNNING))
		;
	task_complete(t, COOP_STATUS_CANCELLED, 1, drain_clock(w));
}

/* Send an admitted task to its pool: the blocking pool or the workers. */
static inline void task_start(struct coop__task *t)
{
	if (t->flags & TASKF_BLOCKING)
		coop__blocking_submit(t->rt, t);
	else
		coop__schedule(t->rt, t, false);
}

void coop__task_run(struct coop__worker *w, struct coop__task *t)
{
	coop_scope *scope = t->scope;

	/* A task that cancellation reached before its first poll is never
	 * polled.  Otherwise STARTED is set by the same CAS that takes the
	 * task; a cancellation racing with it is seen by the poll itself. */
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);
	if (!(s & TASK_STARTED) && task_cancelled(t)) {
		task_drain(w, t, s);
		return;
	}
	while (!cas_state(t, &s,
			  (s & ~(TASK_SCHEDULED | TASK_NOTIFIED)) | TASK_RUNNING | TASK_STARTED))
		;

	w->drain_left = 0; /* see drain_clock */
	struct coop__budget budget = {scope->budget, false, false, false, false, 0};
	coop_cx cx = {scope->rt, t, w, {&coop__task_waker_vtable, t}, &budget};
	/* Not NULL when this run is nested in a join (join_inline). */
	struct coop__task *outer = w->current;
	w->current = t;
	coop_poll r = t->poll(&cx, coop__task_state(t));
	w->current = outer;

	{
		uint32_t p = atomic_load_explicit(&t->polls, RELAXED);

		if (p != UINT32_MAX)
			atomic_store_explicit(&t->polls, p + 1, RELAXED);
	}
	counter_inc(&w->c.polls, 1);
	if (budget.short_circuits)
		counter_inc(&w->c.short_circuits, budget.short_circuits);
	if (r != COOP_PENDING) {
		task_complete(t, status_of(r), 1, 0); /* and the queue's reference */
		return;
	}
	if (budget.forced) {
		/* Out of budget: straight back to the run queue, behind the
		 * other runnable tasks, keeping the queue's reference. */
		atomic_store_explicit(&t->forced_yields,
				      atomic_load_explicit(&t->forced_yields, RELAXED) + 1,
				      RELAXED);
		counter_inc(&w->c.forced_yields, 1);
		s = atomic_load_explicit(&t->state, ACQUIRE);
		while (!cas_state(t, &s, (s & ~(TASK_RUNNING | TASK_NOTIFIED)) | TASK_SCHEDULED))
			;
		coop__schedule(scope->rt, t, true);
		return;
	}
	if (!(t->mflags & TASKM_IN_PLIST) && (budget.waker_exposed || !budget.joined_sibling))
		coop__scope_park(scope, t, w);
	s = atomic_load_explicit(&t->state, ACQUIRE);
	for (;;) {
		if (s & TASK_NOTIFIED) {
			if (cas_state(t, &s,
				      (s & ~(TASK_RUNNING | TASK_NOTIFIED)) | TASK_SCHEDULED)) {
				coop__schedule(scope->rt, t, false);
				return;
			}
		} else if (cas_state(t, &s, s & ~TASK_RUNNING)) {
			coop__task_unref(t); /* the queue's reference */
			return;
		}
	}
}

bool coop__task_drain_if_cancelled(struct coop__worker *w, struct coop__task *t)
{
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);

	if ((s & TASK_STARTED) || !task_cancelled(t))
		return false;
	task_drain(w, t, s);
	return true;
}

void coop__task_start(struct coop__task *t)
{
	task_start(t);
}

/* ---- spawning -------------------------------------------------------------------------- */

/* Inline into coop_spawn, where flags is 0 and the blocking paths drop out
 * (spawning is a fifth of the instructions of fib with a task per call). */
static inline __attribute__((always_inline)) int
task_spawn(coop_scope *scope, coop_poll_fn poll, const void *state, size_t state_size,
	   coop_drop_fn drop, const coop_spawn_opts *opts, uint8_t flags, coop_handle **ret_handle)
{
	struct coop__task *t;
	coop_rt *rt;
	size_t size;
	uint8_t cls;
	int r;

	if (!scope || (state_size && !state) || state_size > (1u << 30))
		return -EINVAL;
	rt = scope->rt;
	bool with_timeout = opts && opts->timeout_ns;
	size = sizeof(*t) + (with_timeout ? COOP__TASK_EXT : 0) + (drop ? COOP__TASK_EXT : 0) +
	       ((state_size + 15) & ~(size_t)15);
	t = coop__task_alloc(rt, size, &cls);
	if (!t)
		return -ENOMEM;

	/* Spawned by a running task of the same scope: counted by it (it
	 * cannot finish its count before ours), not on the scope's shared
	 * counter.  Otherwise enter the scope, which fails once it finished. */
	struct coop__worker *w = coop__current_worker(rt);
	struct coop__task *holder = w ? w->current : NULL;
	unsigned depth = 0;
	if (holder && holder->scope == scope &&
	    (holder->mflags >> TASKM_DEPTH_SHIFT) < TASKM_DEPTH_MAX) {
		depth = (holder->mflags >> TASKM_DEPTH_SHIFT) + 1u;
		/* relaxed: made from the holder's own count, which is held. */
		atomic_fetch_add_explicit(&holder->lent, 1, RELAXED);
	} else {
		holder = NULL;
		r = coop__scope_enter(scope);
		if (r < 0) {
			t->alloc_cls = cls;
			t->rt = rt;
			coop__task_block_free(t);
			return r;
		}
	}
	/* SCHEDULED from the start: the task is on its way to a queue (or the
	 * scope's max_parallel line), so early wakes must not queue it. */
	atomic_init(&t->state, TASK_SCHEDULED);
	/* the run queue's, "subtree unfinished", and the handle's */
	atomic_init(&t->refs, ret_handle ? 3 : 2);
	atomic_init(&t->lent, 1);
	t->qnext = NULL;
	t->poll = poll;
	t->holder = holder;
	t->scope = scope;
	t->join_waker = (coop_waker){NULL, NULL};
	t->pprev = t->pnext = NULL;
	t->value = 0;
	/* Not yet visible to any other thread: plain initialization. */
	atomic_init(&t->polls, 0);
	atomic_init(&t->forced_yields, 0);
	t->alloc_cls = cls;
	t->flags = (uint8_t)(flags | (opts && opts->shielded ? TASKF_SHIELDED : 0) |
			     (with_timeout ? TASKF_TIMEOUT : 0) | (drop ? TASKF_DROP : 0));
	t->shard = 0;
	t->mflags = (uint8_t)(depth << TASKM_DEPTH_SHIFT);
	atomic_init(&t->cancel_requested_ns, 0);
	t->rt = rt;
	if (with_timeout)
		*coop__task_timeout_slot(t) = NULL;
	if (drop)
		*coop__task_drop_slot(t) = drop;
	if (state_size)
		memcpy(coop__task_state(t), state, state_size);

	if (!(flags & TASKF_BLOCKING)) {
		if (w)
			counter_inc(&w->c.tasks_spawned, 1);
		else
			atomic_fetch_add_explicit(&rt->ext_tasks_spawned, 1, RELAXED);
	}
	if (ret_handle)
		*ret_handle = (coop_handle *)t;
	if (with_timeout)
		(void)coop__task_timeout_arm(rt, t, opts->timeout_ns);
	/* Without max_parallel every child is admitted: no call. */
	if (scope->max_parallel == 0 || coop__scope_admit(scope, t))
		task_start(t);
	return 0;
}

int coop__task_spawn(coop_scope *scope, coop_poll_fn poll, const void *state, size_t state_size,
		     coop_drop_fn drop, const coop_spawn_opts *opts, uint8_t flags,
		     coop_handle **ret_handle)
{
	return task_spawn(scope, poll, state, state_size, drop, opts, flags, ret_handle);
}

int coop_spawn(coop_scope *scope, coop_poll_fn poll, const void *state, size_t state_size,
	       coop_drop_fn drop, const coop_spawn_opts *opts, coop_handle **ret_handle)
{
	if (!poll)
		return -EINVAL;
	return task_spawn(scope, poll, state, state_size, drop, opts, 0, ret_handle);
}

/* ---- the poll context -------------------------------------------------------------- */

coop_waker coop_cx_waker(coop_cx *cx)
{
	cx->budget->waker_exposed = true;
	return cx->waker;
}

void coop_cx_set_value(coop_cx *cx, int64_t value)
{
	cx->task->value = value;
}

coop_scope *coop_cx_scope(coop_cx *cx)
{
	return cx->task->scope;
}

coop_rt *coop_cx_rt(coop_cx *cx)
{
	return cx->rt;
}

bool coop_cx_cancelled(coop_cx *cx)
{
	return coop__task_cancelled(cx->task);
}

coop_reason coop_cx_cancel_reason(coop_cx *cx)
{
	return coop__task_cancel_reason(cx->task, NULL);
}

bool coop_cx_proceed(coop_cx *cx)
{
	if (!cx)
		return true;
	struct coop__budget *b = cx->budget;
	if (b->left == 0) {
		b->preempted = true;
		b->forced = true;
		return false;
	}
	b->left--;
	return true;
}

bool coop_cx_maybe_yield(coop_cx *cx)
{
	if (!cx)
		return false;
	struct coop__budget *b = cx->budget;
	if (b->left > 0)
		b->left--;
	if (b->left == 0) {
		b->preempted = true;
		b->forced = true;
		return true;
	}
	return false;
}

bool coop_cx_preempted(const coop_cx *cx)
{
	return cx && cx->budget->preempted;
}

uint32_t coop_cx_budget_left(const coop_cx *cx)
{
	return cx ? cx->budget->left : UINT32_MAX;
}

/* ---- join handles ------------------------------------------------------------------ */

static void fill_outcome(struct coop__task *t, uint32_t s, coop_outcome *o)
{
	if (!o)
		return;
	o->status = (coop_status)((s & TASK_STATUS_MASK) >> TASK_STATUS_SHIFT);
	o->cancel_reason = (coop_reason)((s & TASK_REASON_MASK) >> TASK_REASON_SHIFT);
	o->value = t->value;
	o->cancel_requested_ns = o->cancel_reason != COOP_REASON_NONE
					 ? atomic_load_explicit(&t->cancel_requested_ns, RELAXED)
					 : 0;
	o->finished_ns = t->finished_ns;
	o->started = (s & TASK_STARTED) != 0;
	o->polls = atomic_load_explicit(&t->polls, RELAXED);
	o->forced_yields = atomic_load_explicit(&t->forced_yields, RELAXED);
}

void coop_handle_stats(const coop_handle *handle, uint64_t *ret_polls, uint64_t *ret_forced_yields)
{
	const struct coop__task *t = (const struct coop__task *)handle;

	/* relaxed: counters for people; the polling worker is their only
	 * writer and nothing is published through them. */
	*ret_polls = atomic_load_explicit(&t->polls, RELAXED);
	*ret_forced_yields = atomic_load_explicit(&t->forced_yields, RELAXED);
}

bool coop_handle_done(coop_handle *handle, coop_outcome *ret_outcome)
{
	struct coop__task *t = (struct coop__task *)handle;
	/* acquire: pairs with the CAS that set COMPLETE, making the outcome
	 * fields written before it visible. */
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);

	if (!(s & TASK_COMPLETE))
		return false;
	fill_outcome(t, s, ret_outcome);
	return true;
}

/*
 * The task is about to wait on child t.  Waiting on a sibling (same scope,
 * not shielded) needs no parked-list entry: a cancellation of the scope
 * reaches the sibling, whose end wakes us.  Any other wait could leave the
 * task parked where cancellation would not find it.
 */
static coop_poll handle_pending(struct coop__task *t, coop_cx *cx)
{
	if (t->scope == cx->task->scope && !(t->flags & TASKF_SHIELDED))
		cx->budget->joined_sibling = true;
	else
		cx->budget->waker_exposed = true;
	return COOP_PENDING;
}

/*
 * Join inlining.  A task about to wait on child t whose children are still
 * at the bottom of this worker's own deque (t itself, or children it spawned
 * after t) takes them and runs them here, nested in its own poll, instead of
 * returning PENDING to be woken and polled again when they are done: no
 * park, no wake, no waker clone, one poll instead of two.  This is what a
 * oneTBB task_group::wait does ("help while waiting").  Only the caller's own
 * children are run, never unrelated work; anything else at the bottom is
 * pushed back and the join waits as usual.  Bounded by INLINE_DEPTH_MAX nested
 * polls (stack), and it stops when the injection queue has work on the
 * worker's 61st tick, as the worker loop would.
 */
#define INLINE_DEPTH_MAX 32

static void join_inline(struct coop__task *t, coop_cx *cx)
{
	struct coop__worker *w = cx->worker;
	struct coop__task *self = cx->task;

	if (!w || w->current != self || w->inline_depth >= INLINE_DEPTH_MAX)
		return;
	/* acquire: as in coop_handle_poll, the outcome must be visible. */
	while (!(atomic_load_explicit(&t->state, ACQUIRE) & TASK_COMPLETE)) {
		if (++w->tick % 61 == 0 && coop__inject_len(&w->rt->inject) > 0)
			return;
		struct coop__task *b = coop__deque_take(&w->deque);
		if (!b)
			return; /* stolen: the thief runs it, we wait */
		/* b is ours now (the queue's reference), so reading its
		 * spawn-time fields is safe. */
		if (b != t && b->holder != self) {
			/* Cannot fail: take just made room. */
			(void)coop__deque_push(&w->deque, b);
			return;
		}
		w->inline_depth++;
		coop__task_run(w, b);
		w->inline_depth--;
	}
}

/*
 * Stores w (the caller's, consumed on success) as t's join waker, dropping
 * one stored before.  Returns false, w still the caller's, once t has
 * completed; *s is then the completed state.  The CAS that sets JOIN_WAKER
 * (acq_rel) publishes the field to the completer, whose CAS sees the bit;
 * while the bit is clear and COMPLETE is not set the field is ours.
 */
static bool join_waker_store(struct coop__task *t, uint32_t *s, coop_waker w)
{
	for (;;) {
		if (*s & TASK_COMPLETE)
			return false;
		if (*s & TASK_JOIN_WAKER) {
			/* Take the field back to replace it; fails if the task
			 * completed meanwhile (then the completer owns it). */
			if (!cas_state(t, s, *s & ~TASK_JOIN_WAKER))
				continue;
			coop_waker_drop(t->join_waker);
			*s &= ~TASK_JOIN_WAKER;
		}
		t->join_waker = w;
		if (cas_state(t, s, *s | TASK_JOIN_WAKER))
			return true;
		t->join_waker = (coop_waker){NULL, NULL};
	}
}

/* coop_handle_poll of a child not complete at the first look: run it here
 * if it is still ours to run, else register the joiner's waker.  Out of
 * line, so that the poll of a finished child saves no registers. */
static __attribute__((noinline)) coop_poll handle_poll_slow(struct coop__task *t, coop_cx *cx,
							    coop_outcome *ret_outcome)
{
	join_inline(t, cx);
	/* acquire: as in coop_handle_poll. */
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);

	if (!(s & TASK_COMPLETE)) {
		/* Registered before by this task: nothing to do. */
		if ((s & TASK_JOIN_WAKER) && t->join_waker.data == cx->waker.data &&
		    t->join_waker.vtable == cx->waker.vtable)
			return handle_pending(t, cx);
		coop_waker w = coop_waker_clone(cx->waker);
		if (join_waker_store(t, &s, w))
			return handle_pending(t, cx);
		coop_waker_drop(w);
	}
	fill_outcome(t, s, ret_outcome);
	return COOP_READY;
}

void coop_handle_wake_when_done(coop_handle *handle, coop_waker waker)
{
	struct coop__task *t = (struct coop__task *)handle;
	/* acquire: as in coop_handle_poll (a waker woken here, at once, may
	 * read the outcome). */
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);

	if (!join_waker_store(t, &s, waker))
		coop_waker_wake(waker);
}

coop_poll coop_handle_poll(coop_handle *handle, coop_cx *cx, coop_outcome *ret_outcome)
{
	struct coop__task *t = (struct coop__task *)handle;
	/* acquire: pairs with the CAS that set COMPLETE, making the outcome
	 * fields written before it visible. */
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);

	if (!(s & TASK_COMPLETE))
		return handle_poll_slow(t, cx, ret_outcome);
	fill_outcome(t, s, ret_outcome);
	return COOP_READY;
}

void coop_handle_cancel(coop_handle *handle, coop_reason reason)
{
	struct coop__task *t = (struct coop__task *)handle;
	uint64_t zero = 0;

	if (!t || reason == COOP_REASON_NONE || (unsigned)reason >= COOP_REASON__COUNT)
		return;
	uint32_t s = atomic_load_explicit(&t->state, ACQUIRE);
	if (s & (TASK_COMPLETE | TASK_CANCEL))
		return;
	/* relaxed: the first requester's time wins; it is read after the
	 * acq_rel CAS below by whoever sees CANCEL. */
	atomic_compare_exchange_strong_explicit(&t->cancel_requested_ns, &zero, coop_now_ns(),
						RELAXED, RELAXED);
	for (;;) {
		if (s & (TASK_COMPLETE | TASK_CANCEL))
			return;
		if (cas_state(t, &s, s | TASK_CANCEL | ((uint32_t)reason << TASK_REASON_SHIFT)))
			break;
	}
	atomic_fetch_add_explicit(&t->rt->cancel_requests[reason], 1, RELAXED);
	coop__task_wake_by_ref(t);
}

void coop_handle_free(coop_handle *handle)
{
	if (handle)
		coop__task_unref((struct coop__task *)handle);
}
