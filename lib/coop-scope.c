/*
 * coop-scope.c -- scopes: the tree that bounds every child's lifetime,
 * cancellation that propagates down it, policies and bounded parallelism.
 *
 * A scope counts its unfinished children in `live`, plus one while its owner
 * keeps it open.  The thread that brings `live` to zero finishes the scope:
 * it computes the outcome, wakes joiners and reports to the parent.  Nothing
 * can enter a scope whose count reached zero (coop__scope_enter refuses), so
 * "a scope never finishes before its children" holds by construction.
 *
 * Per-worker shards keep the hot path (spawn, finish) free of shared locks:
 * each shard has the parked list of tasks that have returned PENDING at
 * least once (so cancellation can wake them) and the counters that the
 * outcome sums.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coop-internal.h"

#define RELAXED memory_order_relaxed
#define ACQUIRE memory_order_acquire
#define ACQ_REL memory_order_acq_rel
#define SEQ_CST memory_order_seq_cst

static void scope_finish(coop_scope *s);
static bool scope_cancel(coop_scope *s, coop_reason reason, bool by_policy, bool counted);

void coop__scope_ref(coop_scope *s)
{
	/* relaxed: made from an existing reference. */
	atomic_fetch_add_explicit(&s->refs, 1, RELAXED);
}

void coop__scope_unref(coop_scope *s)
{
	/* acq_rel: as coop__task_unref. */
	if (atomic_fetch_sub_explicit(&s->refs, 1, ACQ_REL) != 1)
		return;
	coop_waker_cell_clear(&s->join_cell);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->done_cond);
	free(s->shards);
	free(s);
}

int coop__scope_enter(coop_scope *s)
{
	int64_t n = atomic_load_explicit(&s->live, RELAXED);

	do {
		if (n == 0)
			return -ESHUTDOWN;
		/* relaxed on success: entering publishes nothing; the child's
		 * own hand-over (queue, lock) orders its data. */
	} while (!atomic_compare_exchange_weak_explicit(&s->live, &n, n + 1, SEQ_CST, RELAXED));
	/* seq_cst (the CAS above and this load): with scope_policy_count's
	 * store and load, one of the two sides sees the other, so a policy
	 * cancellation that reaches this child is counted exactly once. */
	if (atomic_load_explicit(&s->cancel_uncounted, SEQ_CST) != 0) {
		uint32_t r = atomic_exchange_explicit(&s->cancel_uncounted, 0, SEQ_CST);

		if (r)
			atomic_fetch_add_explicit(&s->rt->cancel_requests[r], 1, RELAXED);
	}
	return 0;
}

/* Drop one count; the thread that reaches zero finishes the scope. */
void coop__scope_leave(coop_scope *s)
{
	coop__scope_leave_n(s, 1);
}

void coop__scope_leave_n(coop_scope *s, uint32_t n)
{
	/* acq_rel: every child's writes to the shard counters happen before
	 * its decrement (release); the finisher's decrement (acquire) then
	 * sees them all through the release sequence. */
	/* Nothing may touch s after the decrement unless it reached zero: the
	 * finisher holds the "unfinished" reference, everyone else holds none. */
	if (atomic_fetch_sub_explicit(&s->live, n, ACQ_REL) == n)
		scope_finish(s);
}

/* ---- max_parallel ------------------------------------------------------------ */

bool coop__scope_admit(coop_scope *s, struct coop__task *t)
{
	bool run = true;

	if (s->max_parallel == 0)
		return true;
	pthread_mutex_lock(&s->lock);
	if (s->running < s->max_parallel) {
		s->running++;
		t->mflags |= TASKM_COUNTED;
	} else {
		t->qnext = NULL;
		if (s->pend_tail)
			s->pend_tail->qnext = t;
		else
			s->pend_head = t;
		s->pend_tail = t;
		run = false;
	}
	pthread_mutex_unlock(&s->lock);
	return run;
}

/* A counted child ended: let the next one in line start. */
void coop__scope_release_slot(coop_scope *s)
{
	struct coop__task *next;

	pthread_mutex_lock(&s->lock);
	s->running--;
	next = s->pend_head;
	if (next) {
		s->pend_head = next->qnext;
		if (!s->pend_head)
			s->pend_tail = NULL;
		next->qnext = NULL;
		next->mflags |= TASKM_COUNTED;
		s->running++;
	}
	pthread_mutex_unlock(&s->lock);
	if (next)
		coop__task_start(next);
}

/* ---- parked lists --------------------------------------------------------------- */

void coop__scope_park(coop_scope *s, struct coop__task *t, struct coop__worker *w)
{
	unsigned k = coop__scope_shard_of(s, w);
	struct coop__scope_shard *sh = &s->shards[k];

	coop__task_ref(t);
	coop__spin_lock(&sh->lock);
	t->shard = (uint8_t)k;
	t->mflags |= TASKM_IN_PLIST;
	t->pprev = NULL;
	t->pnext = sh->plist;
	if (sh->plist)
		sh->plist->pprev = t;
	sh->plist = t;
	/* A cancellation that walked this list before we joined it has set the
	 * flag before taking this lock, so we see it here and wake ourselves. */
	if (!(t->flags & TASKF_SHIELDED) && atomic_load_explicit(&s->cancel, RELAXED))
		atomic_fetch_or_explicit(&t->state, TASK_NOTIFIED, ACQ_REL);
	coop__spin_unlock(&sh->lock);
}

void coop__scope_unpark(coop_scope *s, struct coop__task *t)
{
	struct coop__scope_shard *sh = &s->shards[t->shard];

	coop__spin_lock(&sh->lock);
	if (t->pprev)
		t->pprev->pnext = t->pnext;
	else
		sh->plist = t->pnext;
	if (t->pnext)
		t->pnext->pprev = t->pprev;
	t->pprev = t->pnext = NULL;
	coop__spin_unlock(&sh->lock);
	t->mflags &= (uint8_t)~TASKM_IN_PLIST;
	coop__task_unref(t);
}

/* ---- children ending --------------------------------------------------------------- */

/* Whether anything but the child that ends is unfinished in s (its own
 * count is still held).  `closed` is read before `live`: a close in
 * between only lowers live, so an open scope is never mistaken for one
 * with another child.  A child that finished on another worker an instant
 * ago may still be counted there (coop-task.c, deferred releases): then a
 * request is counted that reached nobody. */
static bool scope_has_others(coop_scope *s, int64_t deferred)
{
	int64_t own, live;

	if (deferred < 0)
		return true;
	own = atomic_load_explicit(&s->closed, SEQ_CST) ? 1 : 2;
	/* seq_cst: see coop__scope_enter. */
	live = atomic_load_explicit(&s->live, SEQ_CST);
	return live - deferred > own;
}

/* Counts a policy cancellation of s (which has just set s->cancel) if it
 * reaches a child: one unfinished now, else the first one that enters the
 * open scope later (it is cancelled at once); a scope that never gets
 * another child counts nothing. */
static void scope_policy_count(coop_scope *s, coop_reason reason, int64_t deferred)
{
	if (scope_has_others(s, deferred)) {
		atomic_fetch_add_explicit(&s->rt->cancel_requests[reason], 1, RELAXED);
		return;
	}
	atomic_store_explicit(&s->cancel_uncounted, (uint32_t)reason, SEQ_CST);
	/* A child that entered between the check and the store may have
	 * missed the store: look again; the exchange makes it count once. */
	if (scope_has_others(s, deferred) &&
	    atomic_exchange_explicit(&s->cancel_uncounted, 0, SEQ_CST) != 0)
		atomic_fetch_add_explicit(&s->rt->cancel_requests[reason], 1, RELAXED);
}

void coop__scope_apply_policy(coop_scope *s, coop_status st, int64_t deferred)
{
	if (st == COOP_STATUS_FAILED && s->policy == COOP_POLICY_FAIL_FAST) {
		if (scope_cancel(s, COOP_REASON_SIBLING_FAILED, true, false))
			scope_policy_count(s, COOP_REASON_SIBLING_FAILED, deferred);
	} else if (st == COOP_STATUS_OK && s->policy == COOP_POLICY_RACE) {
		bool first;

		pthread_mutex_lock(&s->lock);
		first = !s->race_won;
		s->race_won = true;
		pthread_mutex_unlock(&s->lock);
		if (first)
			if (scope_cancel(s, COOP_REASON_RACE_LOST, true, false))
				scope_policy_count(s, COOP_REASON_RACE_LOST, deferred);
	}
}

static void scope_child_scope_done(coop_scope *s, const coop_outcome *o)
{
	pthread_mutex_lock(&s->lock);
	s->child_polls += o->polls;
	s->child_yields += o->forced_yields;
	if (o->status == COOP_STATUS_OK)
		s->child_ok++;
	else if (o->status == COOP_STATUS_FAILED)
		s->child_failed++;
	else
		s->child_cancelled++;
	pthread_mutex_unlock(&s->lock);
	if (s->policy != COOP_POLICY_ALL_SETTLED)
		coop__scope_apply_policy(s, o->status, 0);
	coop__scope_leave(s);
}

/* ---- finishing ------------------------------------------------------------------------ */

static void scope_disarm_deadline(coop_scope *s)
{
	bool armed;
	uint64_t id;

	pthread_mutex_lock(&s->lock);
	armed = s->deadline_armed;
	id = s->deadline_timer;
	s->deadline_armed = false;
	pthread_mutex_unlock(&s->lock);
	if (armed && s->rt->timers.disarm(s->rt->timers.ctx, id))
		coop__scope_unref(s); /* the reference the timer held */
}

static void scope_finish(coop_scope *s)
{
	coop_outcome o = {0};
	uint64_t ok, failed, cancelled;

	scope_disarm_deadline(s);
	pthread_mutex_lock(&s->lock);
	o.polls = s->child_polls;
	o.forced_yields = s->child_yields;
	ok = s->child_ok;
	failed = s->child_failed;
	cancelled = s->child_cancelled;
	for (unsigned i = 0; i < s->nshards; i++) {
		struct coop__scope_shard *sh = &s->shards[i];
		o.polls += atomic_load_explicit(&sh->polls, RELAXED);
		o.forced_yields += atomic_load_explicit(&sh->forced_yields, RELAXED);
		ok += atomic_load_explicit(&sh->n_ok, RELAXED);
		failed += atomic_load_explicit(&sh->n_failed, RELAXED);
		cancelled += atomic_load_explicit(&sh->n_cancelled, RELAXED);
	}
	if (s->policy == COOP_POLICY_RACE) {
		if (ok > 0)
			o.status = COOP_STATUS_OK;
		else if (cancelled > 0)
			o.status = COOP_STATUS_CANCELLED;
		else if (failed > 0)
			o.status = COOP_STATUS_FAILED;
		else
			o.status = COOP_STATUS_OK;
	} else {
		if (failed > 0)
			o.status = COOP_STATUS_FAILED;
		else if (cancelled > 0)
			o.status = COOP_STATUS_CANCELLED;
		else
			o.status = COOP_STATUS_OK;
	}
	coop_reason reason = (coop_reason)atomic_load_explicit(&s->cancel, ACQUIRE);
	if (reason != COOP_REASON_NONE && !s->cancel_by_policy) {
		o.cancel_reason = reason;
		o.cancel_requested_ns = atomic_load_explicit(&s->cancel_requested_ns, RELAXED);
		o.finished_ns = coop_now_ns();
	}
	o.started = true;
	s->outcome = o;
	/* release: a joiner that sees done (acquire) sees the outcome. */
	atomic_store_explicit(&s->done, true, memory_order_release);
	pthread_cond_broadcast(&s->done_cond);
	pthread_mutex_unlock(&s->lock);
	coop_waker_cell_wake(&s->join_cell);

	if (s->parent) {
		coop_scope *p = s->parent;

		pthread_mutex_lock(&p->lock);
		if (s->sib_prev)
			s->sib_prev->sib_next = s->sib_next;
		else
			p->children = s->sib_next;
		if (s->sib_next)
			s->sib_next->sib_prev = s->sib_prev;
		pthread_mutex_unlock(&p->lock);
		scope_child_scope_done(p, &o);
	} else {
		coop_rt *rt = s->rt;

		pthread_mutex_lock(&rt->roots_lock);
		if (s->root_prev)
			s->root_prev->root_next = s->root_next;
		else
			rt->roots = s->root_next;
		if (s->root_next)
			s->root_next->root_prev = s->root_prev;
		pthread_mutex_unlock(&rt->roots_lock);
	}
	coop__scope_unref(s); /* the "unfinished" reference */
}

/* ---- cancellation ------------------------------------------------------------------- */

static void wake_parked(coop_scope *s)
{
	for (unsigned i = 0; i < s->nshards; i++) {
		struct coop__scope_shard *sh = &s->shards[i];

		coop__spin_lock(&sh->lock);
		for (struct coop__task *t = sh->plist; t; t = t->pnext)
			if (!(t->flags & TASKF_SHIELDED))
				coop__task_wake_by_ref(t);
		coop__spin_unlock(&sh->lock);
	}
}

/* Returns whether this request cancelled s (false: s was done, or an
 * earlier request's reason sticks). */
static bool scope_cancel(coop_scope *s, coop_reason reason, bool by_policy, bool counted)
{
	uint32_t none = 0;
	uint64_t zero = 0;

	if (atomic_load_explicit(&s->done, ACQUIRE))
		return false;
	/* relaxed: first requester's time wins; readers load it after seeing
	 * the cancel flag, which is published by the release CAS below. */
	atomic_compare_exchange_strong_explicit(&s->cancel_requested_ns, &zero, coop_now_ns(),
						RELAXED, RELAXED);
	/* acq_rel: publishes the time above to tasks that load the flag with
	 * acquire (coop__task_cancelled). */
	if (!atomic_compare_exchange_strong_explicit(&s->cancel, &none, (uint32_t)reason, ACQ_REL,
						     ACQUIRE))
		return false; /* the first request's reason sticks */
	if (counted)
		atomic_fetch_add_explicit(&s->rt->cancel_requests[reason], 1, RELAXED);
	pthread_mutex_lock(&s->lock);
	s->cancel_by_policy = by_policy;
	pthread_mutex_unlock(&s->lock);
	wake_parked(s);
	/* Children: the lock keeps the list stable; a child created after we
	 * let go of it sees our flag when it links itself (coop_scope_new). */
	pthread_mutex_lock(&s->lock);
	for (coop_scope *c = s->children; c; c = c->sib_next)
		if (!c->shielded)
			(void)scope_cancel(c, reason, false, false);
	pthread_mutex_unlock(&s->lock);
	return true;
}

void coop_scope_cancel(coop_scope *scope, coop_reason reason)
{
	if (!scope || reason == COOP_REASON_NONE || (unsigned)reason >= COOP_REASON__COUNT)
		return;
	(void)scope_cancel(scope, reason, false, true);
}

bool coop_scope_cancelled(const coop_scope *scope)
{
	return atomic_load_explicit(&scope->cancel, ACQUIRE) != 0;
}

static void scope_deadline_fire(void *arg)
{
	coop_scope *s = arg;

	pthread_mutex_lock(&s->lock);
	s->deadline_armed = false;
	pthread_mutex_unlock(&s->lock);
	coop_scope_cancel(s, COOP_REASON_DEADLINE);
	coop__scope_unref(s);
}

/* ---- public lifecycle ------------------------------------------------------------------ */

int coop_scope_new(coop_rt *rt, coop_scope *parent, const coop_scope_opts *opts,
		   coop_scope **ret_scope)
{
	coop_scope_opts o = {0};
	coop_scope *s;
	int r;

	if (parent)
		rt = parent->rt;
	if (!rt || !ret_scope)
		return -EINVAL;
	if (opts)
		o = *opts;
	if ((unsigned)o.policy > COOP_POLICY_RACE || o.budget > INT32_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->nshards =
		(rt->nworkers < COOP__MAX_SHARDS - 1 ? rt->nworkers : COOP__MAX_SHARDS - 1) + 1;
	s->shard_per_worker = rt->nworkers < COOP__MAX_SHARDS;
	if (posix_memalign((void **)&s->shards, COOP__CACHELINE, sizeof(*s->shards) * s->nshards)) {
		free(s);
		return -ENOMEM;
	}
	memset(s->shards, 0, sizeof(*s->shards) * s->nshards);
	(void)coop__mutex_init(&s->lock);
	r = coop__cond_init_monotonic(&s->done_cond);
	if (r < 0) {
		free(s->shards);
		free(s);
		return r;
	}
	s->rt = rt;
	s->parent = parent;
	s->policy = o.policy;
	s->max_parallel = o.max_parallel;
	s->budget = o.budget ? o.budget : parent ? parent->budget : rt->default_budget;
	s->shielded = o.shielded;
	s->join_cell = (coop_waker_cell)COOP_WAKER_CELL_INIT;
	atomic_init(&s->refs, 2); /* the owner's, and "unfinished" */
	atomic_init(&s->live, 1); /* open */

	if (parent) {
		r = coop__scope_enter(parent);
		if (r < 0) {
			atomic_store_explicit(&s->refs, 1, RELAXED);
			coop__scope_unref(s);
			return r;
		}
		pthread_mutex_lock(&parent->lock);
		s->sib_next = parent->children;
		if (parent->children)
			parent->children->sib_prev = s;
		parent->children = s;
		coop_reason inherited = (coop_reason)atomic_load_explicit(&parent->cancel, ACQUIRE);
		pthread_mutex_unlock(&parent->lock);
		if (inherited && !s->shielded)
			(void)scope_cancel(s, inherited, false, false);
	} else {
		pthread_mutex_lock(&rt->roots_lock);
		s->root_next = rt->roots;
		if (rt->roots)
			rt->roots->root_prev = s;
		rt->roots = s;
		pthread_mutex_unlock(&rt->roots_lock);
	}
	if (o.deadline_ns) {
		coop__scope_ref(s); /* held by the timer */
		pthread_mutex_lock(&s->lock);
		r = rt->timers.arm(rt->timers.ctx, o.deadline_ns, scope_deadline_fire, s,
				   &s->deadline_timer);
		s->deadline_armed = r == 0;
		pthread_mutex_unlock(&s->lock);
		if (r < 0)
			coop__scope_unref(s);
	}
	*ret_scope = s;
	return 0;
}

void coop_scope_close(coop_scope *scope)
{
	/* acq_rel: the owner's spawns happen before the close. */
	if (!atomic_exchange_explicit(&scope->closed, true, ACQ_REL))
		coop__scope_leave(scope);
}

static void fill(coop_scope *s, coop_outcome *ret)
{
	if (ret)
		*ret = s->outcome;
}

bool coop_scope_done(coop_scope *scope, coop_outcome *ret_outcome)
{
	/* acquire: pairs with the release store in scope_finish. */
	if (!atomic_load_explicit(&scope->done, ACQUIRE))
		return false;
	fill(scope, ret_outcome);
	return true;
}

void coop_scope_join(coop_scope *scope, coop_outcome *ret_outcome)
{
	coop_scope_close(scope);
	pthread_mutex_lock(&scope->lock);
	while (!atomic_load_explicit(&scope->done, ACQUIRE))
		pthread_cond_wait(&scope->done_cond, &scope->lock);
	pthread_mutex_unlock(&scope->lock);
	fill(scope, ret_outcome);
}

int coop_scope_join_timeout(coop_scope *scope, uint64_t timeout_ns, coop_outcome *ret_outcome)
{
	struct timespec ts;
	int r = 0;

	coop_scope_close(scope);
	coop__abstime_after(timeout_ns, &ts);
	pthread_mutex_lock(&scope->lock);
	while (!atomic_load_explicit(&scope->done, ACQUIRE) && r == 0)
		r = pthread_cond_timedwait(&scope->done_cond, &scope->lock, &ts);
	bool done = atomic_load_explicit(&scope->done, ACQUIRE);
	pthread_mutex_unlock(&scope->lock);
	if (!done)
		return -ETIMEDOUT;
	fill(scope, ret_outcome);
	return 0;
}

coop_poll coop_scope_poll_join(coop_scope *scope, coop_cx *cx, coop_outcome *ret_outcome)
{
	coop_scope_close(scope);
	if (coop_scope_done(scope, ret_outcome))
		return COOP_READY;
	coop_waker_cell_register(&scope->join_cell, cx);
	/* The finisher wakes the cell after setting done; check again in case
	 * it did so before our registration. */
	if (coop_scope_done(scope, ret_outcome))
		return COOP_READY;
	return COOP_PENDING;
}

void coop_scope_wake_when_done(coop_scope *scope, coop_waker waker)
{
	/* In the cell before the close, which may finish the scope and so
	 * wake it right here.  The check after covers a scope that finished
	 * before the put: its finisher stored done before it took the cell's
	 * lock to wake whatever was there, our put took that lock after it,
	 * so our load sees done; taking the cell under its lock wakes the
	 * waker once, whoever gets there first. */
	coop__waker_cell_put(&scope->join_cell, waker);
	coop_scope_close(scope);
	if (atomic_load_explicit(&scope->done, ACQUIRE))
		coop_waker_cell_wake(&scope->join_cell);
}

void coop_scope_free(coop_scope *scope)
{
	if (!scope)
		return;
	coop_scope_close(scope);
	coop__scope_unref(scope);
}
