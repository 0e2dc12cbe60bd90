/*
 * suite-lib-cancel.c -- cancellation (request, wait, report), deadlines,
 * timeouts, shielding, scope policies, max_parallel and the cooperation
 * budget.  Fairness is checked by counting scheduling events, never by time.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test-coop.h"

/* ---- building blocks -------------------------------------------------------------- */

/* Waits on a cell nobody fires: only cancellation ends it. */
struct parked {
	coop_waker_cell *cell;
};

static coop_poll parked_poll(coop_cx *cx, void *state)
{
	struct parked *p = state;

	if (coop_cx_cancelled(cx))
		return COOP_CANCELLED;
	coop_waker_cell_register(p->cell, cx);
	return COOP_PENDING;
}

/* Spins in budgeted steps forever unless cancelled. */
static coop_poll spinner_poll(coop_cx *cx, void *state)
{
	for (;;) {
		if (coop_cx_cancelled(cx))
			return COOP_CANCELLED;
		if (coop_cx_maybe_yield(cx))
			return COOP_PENDING;
	}
}

/* Sleeps on a runtime timer; acknowledges cancellation when woken. */
struct nap {
	uint64_t ms;
	coop_timer *timer;
};

static coop_poll nap_poll(coop_cx *cx, void *state)
{
	struct nap *n = state;

	if (coop_cx_cancelled(cx))
		return COOP_CANCELLED;
	if (!n->timer &&
	    coop_timer_new(coop_cx_rt(cx), coop_now_ns() + n->ms * 1000000u, &n->timer) < 0)
		return COOP_FAILED;
	if (coop_timer_poll(n->timer, cx) == COOP_PENDING)
		return COOP_PENDING;
	coop_cx_set_value(cx, (int64_t)n->ms);
	return COOP_READY;
}

static void nap_drop(void *state)
{
	coop_timer_free(((struct nap *)state)->timer);
}

static coop_handle *spawn_nap(coop_scope *s, uint64_t ms, const coop_spawn_opts *o)
{
	struct nap n = {ms, NULL};
	coop_handle *h;

	ck_assert_int_eq(coop_spawn(s, nap_poll, &n, sizeof(n), nap_drop, o, &h), 0);
	return h;
}

static coop_poll fail_poll(coop_cx *cx, void *state)
{
	coop_cx_set_value(cx, -1);
	return COOP_FAILED;
}

static coop_handle *spawn_fail(coop_scope *s)
{
	coop_handle *h;

	ck_assert_int_eq(coop_spawn(s, fail_poll, NULL, 0, NULL, NULL, &h), 0);
	return h;
}

static coop_outcome outcome_of(coop_handle *h)
{
	coop_outcome o;

	ck_assert(coop_handle_done(h, &o));
	coop_handle_free(h);
	return o;
}

/* ---- parked tasks: list links and finish time share the header -------------------- */

/* Parks on a cell until `go` is set (then READY), or until cancelled. */
struct gate {
	coop_waker_cell *cell;
	_Atomic int *go;
};

static coop_poll gate_poll(coop_cx *cx, void *state)
{
	struct gate *g = state;

	if (coop_cx_cancelled(cx))
		return COOP_CANCELLED;
	coop_waker_cell_register(g->cell, cx);
	if (atomic_load(g->go))
		return COOP_READY;
	return COOP_PENDING;
}

/*
 * A task that sat on its scope's parked list and then finished without
 * cancellation reports finished_ns = 0 (the field shares the list links);
 * one cancelled while parked reports its acknowledgement time, and the
 * list stays intact for the others.
 */
START_TEST(parked_tasks_report_finish_time_only_when_cancelled)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_waker_cell cells[3] = {COOP_WAKER_CELL_INIT, COOP_WAKER_CELL_INIT,
				    COOP_WAKER_CELL_INIT};
	_Atomic int go = 0;
	coop_handle *h[3];
	coop_stats st;

	for (int i = 0; i < 3; i++) {
		struct gate g = {&cells[i], &go};
		ck_assert_int_eq(coop_spawn(s, gate_poll, &g, sizeof(g), NULL, NULL, &h[i]), 0);
	}
	/* Each has been polled once, registered its waker and parked. */
	TEST_WAIT_UNTIL((coop_rt_stats(rt, &st), st.polls >= 3));
	atomic_store(&go, 1);
	coop_waker_cell_wake(&cells[1]); /* the middle one of the list finishes */
	TEST_WAIT_UNTIL(coop_handle_done(h[1], NULL));
	coop_scope_cancel(s, COOP_REASON_CLIENT);
	coop_scope_join(s, NULL);
	coop_outcome o1 = outcome_of(h[1]);
	ck_assert_int_eq(o1.status, COOP_STATUS_OK);
	ck_assert_int_eq(o1.cancel_reason, COOP_REASON_NONE);
	ck_assert_uint_eq(o1.finished_ns, 0);
	for (int i = 0; i < 3; i += 2) {
		coop_outcome o = outcome_of(h[i]);
		/* woken by the cancellation: they see go=1 only if not cancelled first */
		ck_assert_int_eq(o.cancel_reason, COOP_REASON_CLIENT);
		ck_assert_uint_gt(o.cancel_requested_ns, 0);
		ck_assert_uint_ge(o.finished_ns, o.cancel_requested_ns);
	}
	for (int i = 0; i < 3; i++)
		coop_waker_cell_clear(&cells[i]); /* the wakers the tasks left there */
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- cancelling 100,000 tasks -------------------------------------------------------- */

START_TEST(cancel_100k_pending_and_running)
{
	enum { N = 100000 };
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_waker_cell cell = COOP_WAKER_CELL_INIT;
	struct parked p = {&cell};
	coop_handle **h = calloc(N, sizeof(*h));
	coop_outcome o;
	coop_stats before, after;

	coop_rt_stats(rt, &before);
	ck_assert_uint_eq(before.tasks_live, 0);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			ck_assert_int_eq(
				coop_spawn(s, parked_poll, &p, sizeof(p), NULL, NULL, &h[i]), 0);
		else
			ck_assert_int_eq(coop_spawn(s, spinner_poll, NULL, 0, NULL, NULL, &h[i]),
					 0);
	}
	coop_stats mid;
	coop_rt_stats(rt, &mid);
	ck_assert_uint_ge(mid.tasks_live, N / 2); /* the parked half cannot finish yet */
	coop_scope_cancel(s, COOP_REASON_CLIENT);
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_CLIENT);
	ck_assert_uint_ge(o.finished_ns, o.cancel_requested_ns);
	int cancelled = 0;
	for (int i = 0; i < N; i++) {
		coop_outcome c = outcome_of(h[i]);
		ck_assert_int_eq(c.status, COOP_STATUS_CANCELLED);
		ck_assert_int_eq(c.cancel_reason, COOP_REASON_CLIENT);
		ck_assert_uint_ge(c.finished_ns, c.cancel_requested_ns);
		cancelled++;
	}
	ck_assert_int_eq(cancelled, N);
	coop_rt_stats(rt, &after);
	ck_assert_uint_eq(after.cancel_requests[COOP_REASON_CLIENT], 1);
	ck_assert_uint_eq(after.tasks_finished[COOP_STATUS_CANCELLED], N);
	/* The latency histogram counts exactly the acknowledged cancellations. */
	ck_assert_uint_eq(after.cancel_latency_count - before.cancel_latency_count, N);
	ck_assert_uint_eq(after.cancel_latency_buckets[COOP_CANCEL_LATENCY_BUCKETS - 1], N);
	free(h);
	coop_waker_cell_clear(&cell);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(cancel_is_idempotent_and_first_reason_sticks)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_handle *h = spawn_nap(s, 60000, NULL);
	coop_outcome o;
	coop_stats st;

	coop_scope_cancel(s, COOP_REASON_DEADLINE);
	coop_scope_cancel(s, COOP_REASON_CLIENT);
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_DEADLINE);
	ck_assert_int_eq(outcome_of(h).cancel_reason, COOP_REASON_DEADLINE);
	/* Cancelling a finished scope is a harmless no-op. */
	coop_scope_cancel(s, COOP_REASON_SHUTDOWN);
	ck_assert(coop_scope_done(s, &o));
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_DEADLINE);
	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_DEADLINE], 1);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_CLIENT], 0);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_SHUTDOWN], 0);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* coop_rt_count_cancel: an embedder's own cancellation counted among the
 * requests, from any thread; NONE and out-of-range reasons are not. */
static void *count_timeout_thread(void *arg)
{
	for (int i = 0; i < 1000; i++)
		coop_rt_count_cancel(arg, COOP_REASON_TIMEOUT);
	return NULL;
}

START_TEST(count_cancel_adds_to_requests)
{
	coop_rt *rt = test_rt_new(2);
	pthread_t th[2];
	coop_stats st;

	coop_rt_count_cancel(rt, COOP_REASON_CLIENT);
	coop_rt_count_cancel(rt, COOP_REASON_NONE);
	coop_rt_count_cancel(rt, COOP_REASON__COUNT);
	coop_rt_count_cancel(rt, (coop_reason)-1);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, count_timeout_thread, rt), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_CLIENT], 1);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_TIMEOUT], 2000);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_NONE], 0);
	for (int r = COOP_REASON_DEADLINE; r < COOP_REASON__COUNT; r++)
		if (r != COOP_REASON_TIMEOUT)
			ck_assert_uint_eq(st.cancel_requests[r], 0);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(spawn_into_cancelled_scope_never_polls)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_outcome o;

	coop_scope_cancel(s, COOP_REASON_CLIENT);
	coop_handle *h = spawn_fail(s);
	coop_scope_join(s, NULL);
	o = outcome_of(h);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert(!o.started);
	ck_assert_uint_eq(o.polls, 0);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* Cancellation reaches every descendant scope and task. */
START_TEST(cancel_reaches_descendants)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *root = test_scope(rt, NULL, NULL);
	coop_scope *a = test_scope(rt, root, NULL);
	coop_scope *b = test_scope(rt, a, NULL);
	coop_handle *h0 = spawn_nap(root, 60000, NULL);
	coop_handle *h1 = spawn_nap(a, 60000, NULL);
	coop_handle *h2 = spawn_nap(b, 60000, NULL);
	coop_outcome o;

	coop_scope_close(a);
	coop_scope_close(b);
	coop_scope_cancel(root, COOP_REASON_SHUTDOWN);
	coop_scope_join(root, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert(coop_scope_done(b, &o));
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_SHUTDOWN);
	ck_assert_int_eq(outcome_of(h0).cancel_reason, COOP_REASON_SHUTDOWN);
	ck_assert_int_eq(outcome_of(h1).cancel_reason, COOP_REASON_SHUTDOWN);
	ck_assert_int_eq(outcome_of(h2).status, COOP_STATUS_CANCELLED);
	coop_scope_free(b);
	coop_scope_free(a);
	coop_scope_free(root);
	test_rt_free_clean(rt);
}
END_TEST

/* A parent that waits on its children's join handles: cancellation must
 * reach it whether the children are its siblings (found through them) or
 * live in another scope (found through the parked list). */
struct joiner {
	coop_scope *child_scope; /* NULL: spawn into our own scope */
	coop_handle *a, *b;
};

static coop_poll joiner_poll(coop_cx *cx, void *state)
{
	struct joiner *j = state;
	coop_outcome o;

	if (!j->a) {
		coop_scope *into = j->child_scope ? j->child_scope : coop_cx_scope(cx);
		struct nap n = {60000, NULL};
		if (coop_spawn(into, nap_poll, &n, sizeof(n), nap_drop, NULL, &j->a) < 0 ||
		    coop_spawn(into, nap_poll, &n, sizeof(n), nap_drop, NULL, &j->b) < 0)
			return COOP_FAILED;
	}
	if (coop_cx_cancelled(cx))
		return COOP_CANCELLED;
	if (coop_handle_poll(j->a, cx, &o) == COOP_PENDING ||
	    coop_handle_poll(j->b, cx, &o) == COOP_PENDING)
		return COOP_PENDING;
	return COOP_READY;
}

static void joiner_drop(void *state)
{
	struct joiner *j = state;

	coop_handle_free(j->a);
	coop_handle_free(j->b);
}

START_TEST(cancel_reaches_tasks_waiting_on_children)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_scope_opts shield = {0};
	shield.shielded = true;
	/* children in a shielded scope: cancelling s does not reach them, so
	 * only the parked list can tell the parent */
	coop_scope *elsewhere = test_scope(rt, NULL, &shield);
	struct joiner siblings = {NULL, NULL, NULL}, cousins = {elsewhere, NULL, NULL};
	coop_handle *h1, *h2;
	coop_outcome o;

	ck_assert_int_eq(
		coop_spawn(s, joiner_poll, &siblings, sizeof(siblings), joiner_drop, NULL, &h1), 0);
	ck_assert_int_eq(
		coop_spawn(s, joiner_poll, &cousins, sizeof(cousins), joiner_drop, NULL, &h2), 0);
	/* let both parents reach their wait */
	coop_stats st;
	do {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
		coop_rt_stats(rt, &st);
	} while (st.tasks_spawned < 6 || st.polls < 6);
	coop_scope_cancel(s, COOP_REASON_CLIENT);
	coop_scope_join(s, NULL);
	ck_assert_int_eq(outcome_of(h1).status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(outcome_of(h2).status, COOP_STATUS_CANCELLED);
	coop_scope_cancel(elsewhere, COOP_REASON_CLIENT);
	coop_scope_join(elsewhere, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	coop_scope_free(elsewhere);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- blocking jobs and their tokens --------------------------------------------------- */

/*
 * Both jobs say when they run, and the stubborn one finishes only after the
 * cancellation was requested: that order is the point of the test, so it is
 * made certain instead of hoped for.  (A queue depth of 0 does not mean a
 * job runs: the pool thread took it and may not have started it yet, and a
 * job cancelled before it starts is never run, coop.h.  A fixed nap in the
 * stubborn job could end before a slow main thread cancels.)
 */
struct blocking_gates {
	_Atomic int running;      /* jobs that have started */
	_Atomic bool cancel_sent; /* the test has requested cancellation */
};

static coop_poll obedient_sleep(coop_token *tok, void *arg)
{
	struct blocking_gates *g = arg;

	atomic_fetch_add(&g->running, 1);
	if (coop_token_sleep(tok, 60ull * 1000000000u))
		return COOP_CANCELLED;
	return COOP_READY;
}

static coop_poll stubborn_work(coop_token *tok, void *arg)
{
	struct blocking_gates *g = arg;

	atomic_fetch_add(&g->running, 1);
	TEST_WAIT_UNTIL(atomic_load(&g->cancel_sent)); /* ignores its token */
	coop_token_set_value(tok, 7);
	return COOP_READY;
}

START_TEST(blocking_token_and_run_to_completion)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct blocking_gates g = {0, false};
	coop_handle *obedient, *stubborn;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn_blocking(s, obedient_sleep, &g, NULL, &obedient), 0);
	ck_assert_int_eq(coop_spawn_blocking(s, stubborn_work, &g, NULL, &stubborn), 0);
	/* Let both start, so that neither is cancelled before running. */
	TEST_WAIT_UNTIL(atomic_load(&g.running) == 2);
	coop_scope_cancel(s, COOP_REASON_CLIENT);
	atomic_store(&g.cancel_sent, true);
	coop_scope_join(s, NULL);
	o = outcome_of(obedient);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_CLIENT);
	ck_assert(o.started);
	o = outcome_of(stubborn);
	/* Reported honestly: it completed, although it was asked to stop. */
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_CLIENT);
	ck_assert_int_eq(o.value, 7);
	ck_assert(o.started);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- deadlines, timeouts, shielding ------------------------------------------------------- */

START_TEST(scope_deadline_cancels_with_reason_deadline)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope_opts so = {0};
	so.deadline_ns = coop_now_ns() + 20 * 1000000u;
	coop_scope *s = test_scope(rt, NULL, &so);
	coop_handle *h = spawn_nap(s, 60000, NULL);
	coop_outcome o;

	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_DEADLINE);
	ck_assert_uint_ge(o.cancel_requested_ns, so.deadline_ns);
	o = outcome_of(h);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_DEADLINE);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(deadline_not_reached_changes_nothing)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope_opts so = {0};
	so.deadline_ns = coop_now_ns() + 60ull * 1000000000u;
	coop_scope *s = test_scope(rt, NULL, &so);
	coop_handle *h = spawn_nap(s, 1, NULL);
	coop_outcome o;

	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_NONE);
	ck_assert_int_eq(outcome_of(h).status, COOP_STATUS_OK);
	coop_scope_free(s);
	test_rt_free_clean(rt); /* the disarmed deadline left nothing behind */
}
END_TEST

START_TEST(task_timeout_cancels_only_that_task)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_spawn_opts to = {0}, generous = {0};
	to.timeout_ns = 10 * 1000000u;
	generous.timeout_ns = 60ull * 1000000000u; /* never reached, even under TSan */
	coop_handle *slow = spawn_nap(s, 60000, &to);
	coop_handle *quick = spawn_nap(s, 30, NULL);
	coop_handle *fast_with_timeout = spawn_nap(s, 1, &generous);
	coop_outcome o;

	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_NONE); /* the scope was not cancelled */
	o = outcome_of(slow);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_TIMEOUT);
	o = outcome_of(quick);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_NONE);
	ck_assert_int_eq(outcome_of(fast_with_timeout).status, COOP_STATUS_OK);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(shielded_work_survives_cancellation_but_not_its_timeout)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *root = test_scope(rt, NULL, NULL);
	coop_scope_opts shield = {0};
	shield.shielded = true;
	coop_scope *cleanup = test_scope(rt, root, &shield);
	coop_spawn_opts always = {0};
	always.shielded = true;
	coop_spawn_opts always_timeout = always;
	always_timeout.timeout_ns = 10 * 1000000u;
	coop_handle *plain = spawn_nap(root, 60000, NULL);
	coop_handle *shielded = spawn_nap(root, 30, &always);
	coop_handle *shielded_slow = spawn_nap(root, 60000, &always_timeout);
	coop_handle *in_shielded_scope = spawn_nap(cleanup, 30, NULL);
	coop_outcome o;

	coop_scope_close(cleanup);
	coop_scope_cancel(root, COOP_REASON_CLIENT);
	coop_scope_join(root, NULL);
	ck_assert_int_eq(outcome_of(plain).status, COOP_STATUS_CANCELLED);
	o = outcome_of(shielded);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_NONE);
	o = outcome_of(shielded_slow);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_TIMEOUT);
	ck_assert_int_eq(outcome_of(in_shielded_scope).status, COOP_STATUS_OK);
	ck_assert(coop_scope_done(cleanup, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert(!coop_scope_cancelled(cleanup));
	coop_scope_free(cleanup);
	coop_scope_free(root);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- policies, nested three deep -------------------------------------------------------- */

START_TEST(fail_fast_three_deep)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *l0 = test_scope(rt, NULL, NULL); /* fail_fast is the default */
	coop_scope *l1 = test_scope(rt, l0, NULL);
	coop_scope *l2 = test_scope(rt, l1, NULL);
	coop_handle *s0 = spawn_nap(l0, 60000, NULL);
	coop_handle *s1 = spawn_nap(l1, 60000, NULL);
	coop_handle *s2 = spawn_nap(l2, 60000, NULL);
	coop_handle *f = spawn_fail(l2);
	coop_outcome o;

	coop_scope_close(l1);
	coop_scope_close(l2);
	coop_scope_join(l0, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_FAILED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_NONE);
	ck_assert(coop_scope_done(l1, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_FAILED);
	ck_assert(coop_scope_done(l2, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_FAILED);
	o = outcome_of(f);
	ck_assert_int_eq(o.status, COOP_STATUS_FAILED);
	ck_assert_int_eq(o.value, -1);
	coop_handle *sibs[3] = {s0, s1, s2};
	for (int i = 0; i < 3; i++) {
		o = outcome_of(sibs[i]);
		ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
		ck_assert_int_eq(o.cancel_reason, COOP_REASON_SIBLING_FAILED);
	}
	coop_scope_free(l2);
	coop_scope_free(l1);
	coop_scope_free(l0);
	test_rt_free_clean(rt);
}
END_TEST

/* A failure (fail_fast) or a win (race) counts a cancellation request only
 * when there was another child to cancel: one failing or winning child
 * alone counts nothing (issue 15 item 14). */
START_TEST(policy_cancel_counted_only_with_siblings)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope_opts race = {0};
	coop_scope *s;
	coop_handle *a, *b;
	coop_outcome o;
	coop_stats st;

	race.policy = COOP_POLICY_RACE;
	/* fail_fast, the failing child alone (several times, so that it
	 * runs on the various workers). */
	for (int i = 0; i < 8; i++) {
		s = test_scope(rt, NULL, NULL);
		a = spawn_fail(s);
		coop_scope_join(s, &o);
		ck_assert_int_eq(o.status, COOP_STATUS_FAILED);
		ck_assert_int_eq(outcome_of(a).status, COOP_STATUS_FAILED);
		coop_scope_free(s);
	}
	/* race, the winner alone */
	s = test_scope(rt, NULL, &race);
	a = spawn_nap(s, 1, NULL);
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(outcome_of(a).status, COOP_STATUS_OK);
	coop_scope_free(s);
	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_SIBLING_FAILED], 0);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_RACE_LOST], 0);

	/* fail_fast in an open scope, then a child enters it: the request
	 * reaches that child (cancelled before its first poll) and counts. */
	s = test_scope(rt, NULL, NULL);
	a = spawn_fail(s);
	while (!coop_handle_done(a, &o))
		sched_yield();
	b = spawn_nap(s, 60000, NULL);
	coop_scope_join(s, &o);
	ck_assert_int_eq(outcome_of(a).status, COOP_STATUS_FAILED);
	o = outcome_of(b);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_SIBLING_FAILED);
	coop_scope_free(s);
	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_SIBLING_FAILED], 1);

	/* with a sibling still running: one request each */
	s = test_scope(rt, NULL, NULL);
	b = spawn_nap(s, 60000, NULL);
	a = spawn_fail(s);
	coop_scope_join(s, &o);
	ck_assert_int_eq(outcome_of(a).status, COOP_STATUS_FAILED);
	o = outcome_of(b);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_SIBLING_FAILED);
	coop_scope_free(s);
	s = test_scope(rt, NULL, &race);
	b = spawn_nap(s, 60000, NULL);
	a = spawn_nap(s, 1, NULL);
	coop_scope_join(s, &o);
	ck_assert_int_eq(outcome_of(a).status, COOP_STATUS_OK);
	ck_assert_int_eq(outcome_of(b).cancel_reason, COOP_REASON_RACE_LOST);
	coop_scope_free(s);
	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_SIBLING_FAILED], 2);
	ck_assert_uint_eq(st.cancel_requests[COOP_REASON_RACE_LOST], 1);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(all_settled_three_deep)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope_opts as = {0};
	as.policy = COOP_POLICY_ALL_SETTLED;
	coop_scope *l0 = test_scope(rt, NULL, &as);
	coop_scope *l1 = test_scope(rt, l0, &as);
	coop_scope *l2 = test_scope(rt, l1, &as);
	coop_handle *ok[3] = {spawn_nap(l0, 20, NULL), spawn_nap(l1, 20, NULL),
			      spawn_nap(l2, 20, NULL)};
	coop_handle *f = spawn_fail(l2);
	coop_outcome o;
	coop_stats st;

	coop_scope_close(l1);
	coop_scope_close(l2);
	coop_scope_join(l0, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_FAILED); /* after all settled */
	ck_assert(coop_scope_done(l1, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_FAILED);
	for (int i = 0; i < 3; i++) {
		o = outcome_of(ok[i]);
		ck_assert_int_eq(o.status, COOP_STATUS_OK);
		ck_assert_int_eq(o.cancel_reason, COOP_REASON_NONE);
	}
	ck_assert_int_eq(outcome_of(f).status, COOP_STATUS_FAILED);
	coop_rt_stats(rt, &st);
	for (int r = 0; r < COOP_REASON__COUNT; r++)
		ck_assert_uint_eq(st.cancel_requests[r], 0);
	coop_scope_free(l2);
	coop_scope_free(l1);
	coop_scope_free(l0);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(race_three_deep)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope_opts race = {0};
	race.policy = COOP_POLICY_RACE;
	coop_scope *l0 = test_scope(rt, NULL, &race);
	coop_scope *l1 = test_scope(rt, l0, &race);
	coop_scope *l2 = test_scope(rt, l1, &race);
	coop_handle *slow0 = spawn_nap(l0, 60000, NULL);
	coop_handle *slow1 = spawn_nap(l1, 60000, NULL);
	coop_handle *slow2 = spawn_nap(l2, 60000, NULL);
	coop_handle *loser_fail = spawn_fail(l2);
	coop_handle *winner = spawn_nap(l2, 5, NULL);
	coop_outcome o;

	coop_scope_close(l1);
	coop_scope_close(l2);
	coop_scope_join(l0, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_NONE);
	ck_assert(coop_scope_done(l2, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(outcome_of(winner).status, COOP_STATUS_OK);
	ck_assert_int_eq(outcome_of(loser_fail).status, COOP_STATUS_FAILED);
	coop_handle *losers[3] = {slow0, slow1, slow2};
	for (int i = 0; i < 3; i++) {
		o = outcome_of(losers[i]);
		ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
		ck_assert_int_eq(o.cancel_reason, COOP_REASON_RACE_LOST);
	}
	coop_scope_free(l2);
	coop_scope_free(l1);
	coop_scope_free(l0);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(race_fails_only_when_all_fail)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope_opts race = {0};
	race.policy = COOP_POLICY_RACE;
	coop_scope *s = test_scope(rt, NULL, &race);
	coop_handle *a = spawn_fail(s), *b = spawn_fail(s);
	coop_outcome o;

	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_FAILED);
	ck_assert_int_eq(outcome_of(a).status, COOP_STATUS_FAILED);
	ck_assert_int_eq(outcome_of(b).status, COOP_STATUS_FAILED);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- max_parallel ---------------------------------------------------------------------- */

struct bounded {
	_Atomic int *now, *max, *next_start;
	int order;
	bool started;
	coop_timer *t;
};

static coop_poll bounded_poll(coop_cx *cx, void *state)
{
	struct bounded *b = state;

	if (!b->started) {
		b->started = true;
		int n = atomic_fetch_add(b->now, 1) + 1, m = atomic_load(b->max);
		while (n > m && !atomic_compare_exchange_weak(b->max, &m, n))
			;
		/* children start in the order they were spawned */
		if (atomic_fetch_add(b->next_start, 1) != b->order)
			coop_cx_set_value(cx, -1);
		if (coop_timer_new(coop_cx_rt(cx), coop_now_ns() + 1000000u, &b->t) < 0)
			return COOP_FAILED;
	}
	if (coop_timer_poll(b->t, cx) == COOP_PENDING)
		return COOP_PENDING;
	atomic_fetch_sub(b->now, 1);
	return COOP_READY;
}

static void bounded_drop(void *state)
{
	coop_timer_free(((struct bounded *)state)->t);
}

START_TEST(max_parallel_bounds_and_orders)
{
	enum { N = 40 };
	const uint32_t limit = _i < TEST_NWORKER_COUNTS ? 3 : 1;
	coop_rt *rt = test_rt_new(test_worker_counts[_i % TEST_NWORKER_COUNTS]);
	coop_scope_opts so = {0};
	so.max_parallel = limit;
	coop_scope *s = test_scope(rt, NULL, &so);
	_Atomic int now = 0, max = 0, next = 0;
	coop_handle *h[N];

	for (int i = 0; i < N; i++) {
		struct bounded b = {&now, &max, &next, i, false, NULL};
		ck_assert_int_eq(
			coop_spawn(s, bounded_poll, &b, sizeof(b), bounded_drop, NULL, &h[i]), 0);
	}
	coop_scope_join(s, NULL);
	ck_assert_int_le(atomic_load(&max), (int)limit);
	ck_assert_int_ge(atomic_load(&max), 1);
	for (int i = 0; i < N; i++) {
		coop_outcome o = outcome_of(h[i]);
		ck_assert_int_eq(o.status, COOP_STATUS_OK);
		/* With one at a time, the line is strictly first come, first
		 * served; with three, the three running ones may start in any
		 * order among themselves. */
		if (limit == 1)
			ck_assert_int_eq(o.value, 0);
	}
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(max_parallel_queue_cancelled)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope_opts so = {0};
	so.max_parallel = 1;
	coop_scope *s = test_scope(rt, NULL, &so);
	coop_handle *h[10];
	coop_outcome o;

	for (int i = 0; i < 10; i++)
		h[i] = spawn_nap(s, 60000, NULL);
	coop_scope_cancel(s, COOP_REASON_CLIENT);
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	int never_started = 0;
	for (int i = 0; i < 10; i++) {
		o = outcome_of(h[i]);
		ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
		never_started += !o.started;
	}
	ck_assert_int_ge(never_started, 9);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- the cooperation budget --------------------------------------------------------------- */

struct hog {
	uint64_t units;
	uint64_t max_units_per_poll;
	uint64_t polls;
	uint64_t stop_after;
	_Atomic uint64_t *global_polls; /* scheduling rounds, counted */
};

/* A hog whose "channel" is always ready: only the budget stops it. */
static coop_poll hog_poll(coop_cx *cx, void *state)
{
	struct hog *h = state;
	uint64_t n = 0;

	h->polls++;
	atomic_fetch_add(h->global_polls, 1);
	while (h->units < h->stop_after) {
		if (coop_cx_cancelled(cx))
			return COOP_CANCELLED;
		if (!coop_cx_proceed(cx))
			break;
		h->units++;
		n++;
	}
	if (n > h->max_units_per_poll)
		h->max_units_per_poll = n;
	if (h->units >= h->stop_after)
		return COOP_READY;
	ck_assert(coop_cx_preempted(cx));
	return COOP_PENDING;
}

START_TEST(hog_cannot_keep_worker_beyond_budget)
{
	coop_rt *rt = test_rt_new(1);
	coop_scope_opts so = {0};
	so.budget = 50;
	coop_scope *s = test_scope(rt, NULL, &so);
	_Atomic uint64_t rounds = 0;
	struct hog *h = calloc(1, sizeof(*h));
	coop_handle *hh;
	coop_outcome o;

	h->stop_after = 10000;
	h->global_polls = &rounds;
	ck_assert_int_eq(coop_spawn(s, hog_poll, h, sizeof(*h), NULL, NULL, &hh), 0);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(hh, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	/* 10,000 units at 50 per poll: 200 polls, all but the last forced to
	 * yield, and never more than one budget of units in one poll. */
	ck_assert_uint_eq(o.forced_yields, 199);
	ck_assert_uint_eq(o.polls, 200);
	coop_stats st;
	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.forced_yields, 199);
	coop_handle_free(hh);
	free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* Keeps the worker that polls it until released. */
struct latch {
	_Atomic bool *held, *release;
};

static coop_poll latch_poll(coop_cx *cx, void *state)
{
	struct latch *l = state;

	atomic_store(l->held, true);
	TEST_WAIT_UNTIL(atomic_load(l->release));
	return COOP_READY;
}

/* The probe records how many hog polls happened before each of its polls. */
struct probe {
	_Atomic uint64_t *rounds;
	uint64_t spawned_at_round;
	uint64_t worst;
	int wakes_left;
	coop_timer *t;
};

static coop_poll probe_poll(coop_cx *cx, void *state)
{
	struct probe *p = state;
	uint64_t now = atomic_load(p->rounds);

	if (now - p->spawned_at_round > p->worst)
		p->worst = now - p->spawned_at_round;
	if (p->wakes_left-- <= 0) {
		coop_cx_set_value(cx, (int64_t)p->worst);
		coop_scope_cancel(coop_cx_scope(cx), COOP_REASON_CLIENT); /* stop the hogs */
		return COOP_READY;
	}
	/* Wait on a timer that is already due (so it wakes us at once) and
	 * measure again. */
	coop_timer_free(p->t);
	p->t = NULL;
	if (coop_timer_new(coop_cx_rt(cx), coop_now_ns(), &p->t) < 0)
		return COOP_FAILED;
	p->spawned_at_round = atomic_load(p->rounds);
	if (coop_timer_poll(p->t, cx) == COOP_READY)
		coop_waker_wake_by_ref(coop_cx_waker(cx));
	return COOP_PENDING;
}

static void probe_drop(void *state)
{
	coop_timer_free(((struct probe *)state)->t);
}

START_TEST(probe_beside_hogs_is_polled_within_bounded_rounds)
{
	enum { HOGS = 4 };
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	_Atomic uint64_t rounds = 0;
	coop_handle *ph;
	coop_outcome o;

	/* The only worker is held while the hogs and the probe are queued:
	 * otherwise the hogs could run any number of rounds between the
	 * probe's starting count and its spawn, whenever this thread is
	 * descheduled in between, and the first wait would measure that. */
	_Atomic bool held = false, release = false;
	struct latch l = {&held, &release};
	ck_assert_int_eq(coop_spawn(s, latch_poll, &l, sizeof(l), NULL, NULL, NULL), 0);
	TEST_WAIT_UNTIL(atomic_load(&held));
	for (int i = 0; i < HOGS; i++) {
		struct hog h = {0, 0, 0, UINT64_MAX, &rounds};
		ck_assert_int_eq(coop_spawn(s, hog_poll, &h, sizeof(h), NULL, NULL, NULL), 0);
	}
	struct probe p = {&rounds, 0, 0, 50, NULL}; /* no hog has run yet */
	ck_assert_int_eq(coop_spawn(s, probe_poll, &p, sizeof(p), probe_drop, NULL, &ph), 0);
	atomic_store(&release, true);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(ph, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	/* Every wake of the probe was served after at most a couple of
	 * rounds of the four hogs (each round one budget). */
	ck_assert_int_le(o.value, 2 * HOGS + 1);
	coop_handle_free(ph);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* futures-rs issue 2526: an unordered set of ready children under an
 * exhausted budget polls at most one of them, and counts the rest. */
struct ready_child {
	int *polled;
};

static coop_poll ready_leaf(coop_cx *cx, void *state)
{
	struct ready_child *c = state;

	(*c->polled)++;
	if (!coop_cx_proceed(cx))
		return COOP_PENDING;
	return COOP_READY;
}

struct pathology {
	coop_unordered *set;
	coop_future *f;
	struct ready_child *c;
	int polled;
	int first_poll_children;
	int done;
	int n;
};

static coop_poll pathology_poll(coop_cx *cx, void *state)
{
	struct pathology *p = state;

	if (!p->set) {
		ck_assert_int_eq(coop_unordered_new(&p->set), 0);
		for (int i = 0; i < p->n; i++) {
			p->c[i].polled = &p->polled;
			p->f[i] = (coop_future){ready_leaf, &p->c[i], COOP_PENDING};
			ck_assert_int_eq(coop_unordered_push(p->set, &p->f[i], NULL), 0);
		}
		/* Use the whole budget first, as a busy task would. */
		while (coop_cx_proceed(cx))
			;
		long k = coop_unordered_poll(p->set, cx);
		ck_assert_int_eq(k, -1);
		p->first_poll_children = p->polled;
		return COOP_PENDING;
	}
	for (;;) {
		long k = coop_unordered_poll(p->set, cx);
		if (k == -2)
			break;
		if (k == -1)
			return COOP_PENDING;
		p->done++;
	}
	coop_cx_set_value(cx, p->done);
	return COOP_READY;
}

static void pathology_drop(void *state)
{
	coop_unordered_free(((struct pathology *)state)->set);
}

START_TEST(unordered_set_short_circuits_when_out_of_budget)
{
	enum { N = 10000 };
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct pathology p = {0};
	coop_handle *h;
	coop_outcome o;
	coop_stats st;

	p.n = N;
	p.f = calloc(N, sizeof(*p.f));
	p.c = calloc(N, sizeof(*p.c));
	ck_assert_int_eq(coop_spawn(s, pathology_poll, &p, sizeof(p), pathology_drop, NULL, &h), 0);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.value, N);
	coop_rt_stats(rt, &st);
	/* The first (out of budget) poll touched at most one child... */
	/* (p lives in the task; read what it recorded through the stats) */
	ck_assert_uint_ge(st.short_circuits, N - 1);
	/* ...and completing N children at 128 per poll needs about N/128
	 * polls, each short-circuiting the rest: never N polls of refusals. */
	ck_assert_uint_le(o.polls, N / 128 + 3);
	ck_assert_uint_le(o.forced_yields, N / 128 + 2);
	coop_handle_free(h);
	free(p.f);
	free(p.c);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* The same, observed from inside: the first poll polls exactly one child. */
static int first_poll_children_seen;
/* (the recorded value) */
static void pathology_drop_record(void *state)
{
	struct pathology *p = state;

	first_poll_children_seen = p->first_poll_children;
	coop_unordered_free(p->set);
}

START_TEST(unordered_set_first_poll_touches_at_most_one_child)
{
	enum { N = 10000 };
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct pathology p = {0};

	p.n = N;
	p.f = calloc(N, sizeof(*p.f));
	p.c = calloc(N, sizeof(*p.c));
	first_poll_children_seen = -1;
	ck_assert_int_eq(
		coop_spawn(s, pathology_poll, &p, sizeof(p), pathology_drop_record, NULL, NULL), 0);
	coop_scope_join(s, NULL);
	/* At most one; here none, since the budget was already spent. */
	ck_assert_int_le(first_poll_children_seen, 1);
	ck_assert_int_ge(first_poll_children_seen, 0);
	free(p.f);
	free(p.c);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(maybe_yield_and_scope_budget)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope_opts so = {0};
	so.budget = 10;
	coop_scope *s = test_scope(rt, NULL, &so);
	coop_scope *inherit = test_scope(rt, s, NULL);
	_Atomic uint64_t rounds = 0;
	struct hog h = {0, 0, 0, 1000, &rounds};
	coop_handle *a, *b;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, hog_poll, &h, sizeof(h), NULL, NULL, &a), 0);
	ck_assert_int_eq(coop_spawn(inherit, hog_poll, &h, sizeof(h), NULL, NULL, &b), 0);
	coop_scope_close(inherit);
	coop_scope_join(s, &o);
	ck_assert_uint_eq(o.forced_yields, 198); /* 1000 units, 10 per poll, twice */
	ck_assert_uint_eq(outcome_of(a).forced_yields, 99);
	ck_assert_uint_eq(outcome_of(b).forced_yields, 99); /* inherited budget */
	/* outside a poll, cooperation is free and always granted */
	ck_assert(coop_cx_proceed(NULL));
	ck_assert(!coop_cx_maybe_yield(NULL));
	ck_assert(!coop_cx_preempted(NULL));
	coop_scope_free(inherit);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(handle_cancel_one_child)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope_opts as = {0};
	as.policy = COOP_POLICY_ALL_SETTLED;
	coop_scope *s = test_scope(rt, NULL, &as);
	coop_handle *victim = spawn_nap(s, 60000, NULL);
	coop_handle *other = spawn_nap(s, 10, NULL);
	coop_outcome o;

	coop_handle_cancel(victim, COOP_REASON_CLIENT);
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	o = outcome_of(victim);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_CLIENT);
	ck_assert_int_eq(outcome_of(other).status, COOP_STATUS_OK);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* rt_free on live work cancels it with reason shutdown. */
START_TEST(rt_free_cancels_with_shutdown)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_handle *h = spawn_nap(s, 60000, NULL);
	coop_outcome o;

	coop_scope_close(s);
	ck_assert_int_eq(coop_scope_join_timeout(s, 1000000u, NULL), -ETIMEDOUT);
	coop_rt_free(rt); /* cancels, waits, stops */
	ck_assert(coop_scope_done(s, &o));
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_SHUTDOWN);
	o = outcome_of(h);
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(o.cancel_reason, COOP_REASON_SHUTDOWN);
	coop_scope_free(s);
}
END_TEST

static Suite *cancel_suite(void)
{
	Suite *s = suite_create("lib-cancel");
	TCase *tc = tcase_create("cancel");
	TCase *tb = tcase_create("budget");

	tcase_set_timeout(tc, 300);
	tcase_set_timeout(tb, 300);
	tcase_add_loop_test(tc, parked_tasks_report_finish_time_only_when_cancelled, 0,
			    TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, cancel_100k_pending_and_running, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, cancel_is_idempotent_and_first_reason_sticks);
	tcase_add_test(tc, count_cancel_adds_to_requests);
	tcase_add_loop_test(tc, policy_cancel_counted_only_with_siblings, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, spawn_into_cancelled_scope_never_polls);
	tcase_add_loop_test(tc, cancel_reaches_descendants, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, cancel_reaches_tasks_waiting_on_children, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, blocking_token_and_run_to_completion);
	tcase_add_loop_test(tc, scope_deadline_cancels_with_reason_deadline, 0,
			    TEST_NWORKER_COUNTS);
	tcase_add_test(tc, deadline_not_reached_changes_nothing);
	tcase_add_loop_test(tc, task_timeout_cancels_only_that_task, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, shielded_work_survives_cancellation_but_not_its_timeout, 0,
			    TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, fail_fast_three_deep, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, all_settled_three_deep, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, race_three_deep, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, race_fails_only_when_all_fail);
	tcase_add_loop_test(tc, max_parallel_bounds_and_orders, 0, 2 * TEST_NWORKER_COUNTS);
	tcase_add_test(tc, max_parallel_queue_cancelled);
	tcase_add_loop_test(tc, handle_cancel_one_child, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, rt_free_cancels_with_shutdown);
	tcase_add_test(tb, hog_cannot_keep_worker_beyond_budget);
	tcase_add_test(tb, probe_beside_hogs_is_polled_within_bounded_rounds);
	tcase_add_test(tb, unordered_set_short_circuits_when_out_of_budget);
	tcase_add_test(tb, unordered_set_first_poll_touches_at_most_one_child);
	tcase_add_test(tb, maybe_yield_and_scope_budget);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tb);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cancel_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
