/*
 * job-builtin.c - builtin functions of task and blocking nodes, and the
 * waker that reports each node's end.
 *
 * Tasks run on libcoop's workers and must never block: `sleep` waits on a
 * libcoop timer (driven by the reactor, reactor-timer.c), `spin` does one
 * unit of budget per unit of work and returns PENDING when the budget is
 * spent.  Blocking functions run on the blocking pool.  Both tell the
 * reactor when they start (MAIL_STARTED) through the inbox; they read only
 * the node's immutable definition.
 *
 * How an end is reported: job_watch_end (at the end of this file).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coopd.h"
#include "graph-model.h"
#include "job-builtin.h"
#include "reactor-inbox.h"

/* Copied into every task's libcoop block (100,000 noop nodes: 100,000
 * copies), so kept to 24 bytes: the inbox is reached through the node,
 * and a task sleeps or spins, never both. */
struct task_state {
	struct rnode *n;
	union {
		coop_timer *timer; /* sleep */
		uint64_t left;     /* spin: units still to do */
	} u;
	uint8_t fn; /* enum proto_fn */
	bool started;
};

/* One attempt of the builtin: its poll without the start notice. */
static coop_poll task_attempt_poll(coop_cx *cx, struct task_state *st)
{
	const struct proto_node *def = st->n->def;
	int r;

	switch (def->fn) {
	case PROTO_FN_NOOP:
		return COOP_READY;
	case PROTO_FN_FAIL:
		coop_cx_set_value(cx, 1);
		return COOP_FAILED;
	case PROTO_FN_SLEEP:
		/* A sleep whose time is up has done its work, even if a cancel
		 * (a later deadline whose timer fired in the same loop
		 * iteration, after coopd was stopped and continued) reached the
		 * task before it was polled again: the expired timer counts
		 * first (docs/security.md, "Timers and cancels that race"). */
		if (coop_cx_cancelled(cx))
			return st->u.timer && coop_timer_poll(st->u.timer, cx) == COOP_READY
				       ? COOP_READY
				       : COOP_CANCELLED;
		if (!st->u.timer) {
			uint64_t ns = (uint64_t)def->args.sleep.ms * 1000000u;

			r = coop_timer_new(coop_cx_rt(cx), coop_now_ns() + ns, &st->u.timer);
			if (r < 0) {
				coop_cx_set_value(cx, r);
				return COOP_FAILED;
			}
		}
		return coop_timer_poll(st->u.timer, cx) == COOP_READY ? COOP_READY : COOP_PENDING;
	case PROTO_FN_SPIN:
		while (st->u.left > 0) {
			if (coop_cx_cancelled(cx))
				return COOP_CANCELLED;
			st->u.left--;
			if (coop_cx_maybe_yield(cx))
				return COOP_PENDING;
		}
		return COOP_READY;
	}
	return COOP_FAILED;
}

static coop_poll task_poll(coop_cx *cx, void *arg)
{
	struct task_state *st = arg;
	struct reactor_inbox *ib;
	coop_poll r;

	if (st->started)
		return task_attempt_poll(cx, st);
	/* The start is told with the end when the first poll ends the task
	 * (a noop, a fail): the end's MAIL_DONE wakes the loop for both.
	 * A task that goes on (sleep, spin) wakes it now. */
	st->started = true;
	ib = st->n->g->d->inbox;
	inbox_post_started_quiet(ib, st->n, coop_now_ns());
	r = task_attempt_poll(cx, st);
	if (r == COOP_PENDING)
		inbox_wake(ib);
	return r;
}

static void task_drop(void *arg)
{
	struct task_state *st = arg;

	if (st->fn == PROTO_FN_SLEEP && st->u.timer)
		coop_timer_free(st->u.timer);
}

/* Puts the builtin back to the start of an attempt. */
static void task_reset(struct task_state *st)
{
	task_drop(st);
	st->u.timer = NULL;
	if (st->fn == PROTO_FN_SPIN)
		st->u.left = (uint64_t)st->n->def->args.spin.units;
}

/*
 * A task node with retries (coopd.graph(5)).  The attempts run inside one
 * libcoop task, so that the scope's policy sees only the last one (a
 * fail_fast scope would cancel the siblings of a first failure).  Each
 * attempt gets its own deadline (timeout_ms bounds each attempt) and, when
 * it fails or times out and attempts are left, a timer for the delay
 * before the next; a cancellation seen during the delay ends the node at
 * once.  The attempts are written into n->attempts (allocated by the loop
 * before the spawn) and published with MAIL_ATTEMPT; the attempt that ends
 * the node is the node's own outcome.  Only such nodes pay for the larger
 * state.
 */
struct retry_state {
	struct task_state t;
	coop_timer *deadline; /* this attempt's timeout_ms, NULL none */
	coop_timer *delay;    /* waiting for the next attempt, NULL not */
	uint8_t attempt;      /* from 0 */
	bool begun;           /* this attempt has started */
};

static void retry_free_timers(struct retry_state *rs)
{
	if (rs->deadline)
		coop_timer_free(rs->deadline);
	if (rs->delay)
		coop_timer_free(rs->delay);
	rs->deadline = rs->delay = NULL;
}

/* Ends attempt rs->attempt (failed or timed out): the record, then the
 * delay timer.  Returns false when the delay cannot be timed. */
static bool retry_next(coop_cx *cx, struct retry_state *rs, bool timed_out)
{
	struct rnode *n = rs->t.n;
	const struct proto_node *def = n->def;
	struct node_attempt *a = &n->attempts[rs->attempt];
	double delay = (double)def->retry_delay_ms;
	char why[64];

	a->finished_ms = graph_mono_to_unix_ms(coop_now_ns());
	a->timed_out = timed_out;
	if (timed_out) {
		snprintf(why, sizeof(why), "timed out after %lld ms", (long long)def->timeout_ms);
		a->error = strdup(why);
	} else {
		a->has_value = true;
		a->value = 1;
		a->error = strdup(def->fn == PROTO_FN_FAIL ? def->args.fail.message : "failed");
	}
	for (unsigned k = 0; k < rs->attempt; k++)
		delay *= def->retry_backoff;
	if (delay > (double)PROTO_MAX_TIME_MS)
		delay = (double)PROTO_MAX_TIME_MS;
	task_reset(&rs->t);
	retry_free_timers(rs);
	rs->attempt++;
	rs->begun = false;
	inbox_post_attempt(n->g->d->inbox, n, rs->attempt, rs->attempt);
	return coop_timer_new(coop_cx_rt(cx), coop_now_ns() + (uint64_t)(delay * 1e6),
			      &rs->delay) == 0;
}

static coop_poll retry_poll(coop_cx *cx, void *arg)
{
	struct retry_state *rs = arg;
	struct rnode *n = rs->t.n;
	const struct proto_node *def = n->def;
	coop_poll r;

	for (;;) {
		if (rs->delay) {
			if (coop_cx_cancelled(cx)) {
				retry_free_timers(rs);
				return COOP_CANCELLED;
			}
			if (coop_timer_poll(rs->delay, cx) != COOP_READY)
				return COOP_PENDING;
			coop_timer_free(rs->delay);
			rs->delay = NULL;
		}
		if (!rs->begun) {
			uint64_t now = coop_now_ns();

			rs->begun = true;
			n->attempts[rs->attempt].started_ms = graph_mono_to_unix_ms(now);
			if (!rs->t.started) {
				rs->t.started = true;
				inbox_post_started(n->g->d->inbox, n, now);
			}
			inbox_post_attempt(n->g->d->inbox, n, rs->attempt + 1, rs->attempt);
			if (def->timeout_ms >= 0 &&
			    coop_timer_new(coop_cx_rt(cx),
					   now + (uint64_t)def->timeout_ms * 1000000u,
					   &rs->deadline) < 0) {
				coop_cx_set_value(cx, -ENOMEM);
				return COOP_FAILED;
			}
		}
		r = task_attempt_poll(cx, &rs->t);
		if (r == COOP_PENDING && rs->deadline &&
		    coop_timer_poll(rs->deadline, cx) == COOP_READY) {
			/* timeout_ms of this attempt has passed: a timeout
			 * that fired, like one libcoop times (docs/metrics.md). */
			coop_rt_count_cancel(coop_cx_rt(cx), COOP_REASON_TIMEOUT);
			if (rs->attempt < def->retries && !coop_cx_cancelled(cx)) {
				if (!retry_next(cx, rs, true))
					return COOP_FAILED;
				continue;
			}
			n->attempts[rs->attempt].timed_out = true;
			task_reset(&rs->t);
			retry_free_timers(rs);
			return COOP_CANCELLED;
		}
		if (r != COOP_FAILED || rs->attempt >= def->retries || coop_cx_cancelled(cx)) {
			if (r != COOP_PENDING)
				retry_free_timers(rs);
			return r;
		}
		if (!retry_next(cx, rs, false))
			return COOP_FAILED;
	}
}

static void retry_drop(void *arg)
{
	struct retry_state *rs = arg;

	task_drop(&rs->t);
	retry_free_timers(rs);
}

int job_spawn_task(struct coopd *d, struct rnode *n, coop_scope *scope, const coop_spawn_opts *opts,
		   coop_handle **ret_handle)
{
	struct task_state st = {
		.n = n,
		.fn = (uint8_t)n->def->fn,
	};

	if (n->def->fn == PROTO_FN_SPIN)
		st.u.left = (uint64_t)n->def->args.spin.units;
	if (n->attempts) {
		struct retry_state rs = {.t = st};

		return coop_spawn(scope, retry_poll, &rs, sizeof(rs), retry_drop, opts, ret_handle);
	}
	return coop_spawn(scope, task_poll, &st, sizeof(st), task_drop, opts, ret_handle);
}

/* Sleeps ns without looking at any token (run-to-completion). */
static void sleep_uninterruptible(uint64_t ns)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ns / 1000000000u);
	until.tv_nsec += (long)(ns % 1000000000u);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

/*
 * A run-to-completion sleep (ignore_cancel): it goes on when cancelled, but
 * for at most ignore_cancel_max_ms more (docs/security.md, "Fair share":
 * otherwise a user could hold blocking threads against root's cancel until
 * a restart).  Reported honestly: done within the bound, it succeeded
 * (completed anyway); cut short, it is cancelled with the value
 * JOB_IGNORE_CANCEL_CUT, which graph-run.c turns into an error text.
 */
static coop_poll sleep_run_to_completion(coop_token *tok, struct rnode *n, uint64_t ns)
{
	uint64_t end = coop_now_ns() + ns, now, cap;

	if (!coop_token_sleep(tok, ns))
		return COOP_READY;
	now = coop_now_ns();
	if (now >= end)
		return COOP_READY;
	cap = (uint64_t)atomic_load_explicit(&n->g->d->ignore_cancel_max_ms, memory_order_relaxed) *
	      1000000u;
	if (cap == 0 || end - now <= cap) {
		sleep_uninterruptible(end - now);
		return COOP_READY;
	}
	sleep_uninterruptible(cap);
	coop_token_set_value(tok, JOB_IGNORE_CANCEL_CUT);
	return COOP_CANCELLED;
}

static coop_poll blocking_fn(coop_token *tok, void *arg)
{
	struct rnode *n = arg;
	const struct proto_node *def = n->def;
	uint64_t ns;

	inbox_post_started(n->g->d->inbox, n, coop_now_ns());
	switch (def->fn) {
	case PROTO_FN_NOOP:
		return COOP_READY;
	case PROTO_FN_SLEEP:
		ns = (uint64_t)def->args.sleep.ms * 1000000u;
		if (def->args.sleep.ignore_cancel)
			return sleep_run_to_completion(tok, n, ns);
		return coop_token_sleep(tok, ns) ? COOP_CANCELLED : COOP_READY;
	case PROTO_FN_FAIL:
		coop_token_set_value(tok, 1);
		return COOP_FAILED;
	case PROTO_FN_SPIN:
		/* The validator keeps spin to tasks; be safe anyway. */
		return COOP_FAILED;
	}
	return COOP_FAILED;
}

int job_spawn_blocking(struct coopd *d, struct rnode *n, coop_scope *scope,
		       const coop_spawn_opts *opts, coop_handle **ret_handle)
{
	coop_spawn_opts o = *opts;

	/* One queue per user in the blocking pool: a user's jobs wait behind
	 * their own, and one user holds at most blocking_threads_per_user
	 * threads (docs/security.md, "Fair share"). */
	o.fair_key = n->g->uid;
	return coop_spawn_blocking(scope, blocking_fn, n, &o, ret_handle);
}

/*
 * The end of a node reaches the reactor through a waker rather than a task
 * per node: libcoop wakes it once, on the thread that ends the node's job or
 * finishes its scope, and the wake posts MAIL_DONE (a worker's wake-up and a
 * task per node fewer than a joiner task).  libcoop never clones a join
 * waker nor wakes it twice, so the node itself is the data, uncounted: a
 * node lives until its graph is freed, which waits for its MAIL_DONE.
 */
static void *done_clone(void *data)
{
	return data;
}

static void done_wake(void *data)
{
	struct rnode *n = data;

	inbox_post_done(n->g->d->inbox, n);
}

static void done_drop(void *data)
{
	(void)data;
}

static const coop_waker_vtable done_vtable = {
	.clone = done_clone,
	.wake = done_wake,
	.wake_by_ref = done_wake,
	.drop = done_drop,
};

void job_watch_end(struct rnode *n)
{
	coop_waker w = {.vtable = &done_vtable, .data = n};

	if (n->def->kind == PROTO_NODE_SCOPE)
		coop_scope_wake_when_done(n->scope, w);
	else
		coop_handle_wake_when_done(n->handle, w);
}
