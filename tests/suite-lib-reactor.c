/*
 * suite-lib-reactor.c -- the executor owns no event loop: a test-supplied
 * timer driver (a "reactor" that the test fires by hand) and a test-supplied
 * waiter (parking hook) replace the built-in ones, and work still flows; a
 * reactor learns of ends through wakers, without a joiner task
 * (coop_handle_wake_when_done, coop_scope_wake_when_done).
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "test-coop.h"

/* ---- a timer driver fired by hand ----------------------------------------------------- */

struct manual_timer {
	uint64_t id, deadline;
	void (*fire)(void *);
	void *arg;
	bool armed;
};

struct manual_reactor {
	pthread_mutex_t lock;
	struct manual_timer t[4096];
	size_t n;
	uint64_t next_id;
	unsigned disarmed;
};

static int manual_arm(void *ctx, uint64_t deadline, void (*fire)(void *), void *arg,
		      uint64_t *ret_id)
{
	struct manual_reactor *r = ctx;

	pthread_mutex_lock(&r->lock);
	if (r->n == 4096) {
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	r->t[r->n] = (struct manual_timer){++r->next_id, deadline, fire, arg, true};
	*ret_id = r->t[r->n].id;
	r->n++;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static bool manual_disarm(void *ctx, uint64_t id)
{
	struct manual_reactor *r = ctx;
	bool found = false;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		if (r->t[i].id == id && r->t[i].armed) {
			r->t[i].armed = false;
			r->disarmed++;
			found = true;
		}
	pthread_mutex_unlock(&r->lock);
	return found;
}

static size_t manual_armed(struct manual_reactor *r)
{
	size_t k = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++)
		k += r->t[i].armed;
	pthread_mutex_unlock(&r->lock);
	return k;
}

/* Fire every armed timer, as a reactor's loop iteration would. */
static size_t manual_fire_all(struct manual_reactor *r)
{
	size_t fired = 0;

	for (;;) {
		void (*fire)(void *) = NULL;
		void *arg = NULL;

		pthread_mutex_lock(&r->lock);
		for (size_t i = 0; i < r->n; i++)
			if (r->t[i].armed) {
				r->t[i].armed = false;
				fire = r->t[i].fire;
				arg = r->t[i].arg;
				break;
			}
		pthread_mutex_unlock(&r->lock);
		if (!fire)
			return fired;
		fire(arg);
		fired++;
	}
}

struct far_sleep {
	coop_timer *timer;
};

static coop_poll far_sleep_poll(coop_cx *cx, void *state)
{
	struct far_sleep *s = state;

	if (coop_cx_cancelled(cx))
		return COOP_CANCELLED;
	if (!s->timer &&
	    coop_timer_new(coop_cx_rt(cx), coop_now_ns() + 3600ull * 1000000000u, &s->timer) < 0)
		return COOP_FAILED;
	return coop_timer_poll(s->timer, cx);
}

static void far_sleep_drop(void *state)
{
	coop_timer_free(((struct far_sleep *)state)->timer);
}

START_TEST(timers_run_on_the_supplied_driver)
{
	enum { N = 100 };
	static struct manual_reactor r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	coop_timer_driver drv = {&r, manual_arm, manual_disarm};
	coop_rt_options o = {0};
	o.workers = test_worker_counts[_i];
	o.timer_driver = &drv;
	coop_rt *rt = test_rt_new_opts(&o);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_outcome out;

	for (int i = 0; i < N; i++) {
		struct far_sleep fs = {NULL};
		ck_assert_int_eq(
			coop_spawn(s, far_sleep_poll, &fs, sizeof(fs), far_sleep_drop, NULL, NULL),
			0);
	}
	TEST_WAIT_UNTIL(manual_armed(&r) == N);
	/* An hour away on the clock: only the reactor's firing can end them. */
	ck_assert_int_eq(coop_scope_join_timeout(s, 20 * 1000000u, NULL), -ETIMEDOUT);
	ck_assert_uint_eq(manual_fire_all(&r), N);
	coop_scope_join(s, &out);
	ck_assert_int_eq(out.status, COOP_STATUS_OK);
	coop_scope_free(s);
	test_rt_free_clean(rt);
	pthread_mutex_destroy(&r.lock);
}
END_TEST

START_TEST(deadline_fires_through_the_supplied_driver)
{
	static struct manual_reactor r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	coop_timer_driver drv = {&r, manual_arm, manual_disarm};
	coop_rt_options o = {0};
	o.workers = 2;
	o.timer_driver = &drv;
	coop_rt *rt = test_rt_new_opts(&o);
	coop_scope_opts so = {0};
	so.deadline_ns = coop_now_ns() + 3600ull * 1000000000u;
	coop_scope *s = test_scope(rt, NULL, &so);
	struct far_sleep fs = {NULL};
	coop_outcome out;

	ck_assert_int_eq(coop_spawn(s, far_sleep_poll, &fs, sizeof(fs), far_sleep_drop, NULL, NULL),
			 0);
	TEST_WAIT_UNTIL(manual_armed(&r) == 2); /* the deadline and the sleep */
	/* Fire only the deadline (the first timer armed, by coop_scope_new). */
	pthread_mutex_lock(&r.lock);
	struct manual_timer dl = r.t[0];
	r.t[0].armed = false;
	pthread_mutex_unlock(&r.lock);
	ck_assert_uint_eq(dl.deadline, so.deadline_ns);
	dl.fire(dl.arg);
	coop_scope_join(s, &out);
	ck_assert_int_eq(out.status, COOP_STATUS_CANCELLED);
	ck_assert_int_eq(out.cancel_reason, COOP_REASON_DEADLINE);
	coop_scope_free(s);
	/* The sleeper's timer was disarmed when its task ended. */
	ck_assert_uint_eq(manual_armed(&r), 0);
	ck_assert_uint_ge(r.disarmed, 1);
	test_rt_free_clean(rt);
	pthread_mutex_destroy(&r.lock);
}
END_TEST

/* ---- a supplied parking hook ------------------------------------------------------------ */

struct counting_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool permit[8];
	_Atomic unsigned parks, unparks, parked_now;
};

static void cw_park(void *ctx, unsigned worker, uint64_t timeout_ns)
{
	struct counting_waiter *w = ctx;

	atomic_fetch_add(&w->parks, 1);
	pthread_mutex_lock(&w->lock);
	atomic_fetch_add(&w->parked_now, 1);
	while (!w->permit[worker])
		pthread_cond_wait(&w->cond, &w->lock);
	w->permit[worker] = false;
	atomic_fetch_sub(&w->parked_now, 1);
	pthread_mutex_unlock(&w->lock);
}

static void cw_unpark(void *ctx, unsigned worker)
{
	struct counting_waiter *w = ctx;

	atomic_fetch_add(&w->unparks, 1);
	pthread_mutex_lock(&w->lock);
	w->permit[worker] = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static coop_poll one_shot(coop_cx *cx, void *state)
{
	return COOP_READY;
}

START_TEST(workers_park_on_the_supplied_waiter)
{
	static struct counting_waiter w;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	coop_waiter_ops ops = {&w, cw_park, cw_unpark};
	coop_rt_options o = {0};
	o.workers = test_worker_counts[_i];
	o.waiter = &ops;
	coop_rt *rt = test_rt_new_opts(&o);

	/* Rounds of work separated by idleness: each round must wake a parked
	 * worker through our hook, or it never runs. */
	for (int round = 0; round < 50; round++) {
		coop_scope *s = test_scope(rt, NULL, NULL);
		/* every worker asleep in our hook */
		TEST_WAIT_UNTIL(atomic_load(&w.parked_now) == o.workers);
		for (int i = 0; i < 10; i++)
			ck_assert_int_eq(coop_spawn(s, one_shot, NULL, 0, NULL, NULL, NULL), 0);
		coop_scope_join(s, NULL);
		coop_scope_free(s);
	}
	/* Every round ended with all workers parked again, and began with at
	 * least one woken through our hook (a woken worker may run the whole
	 * round alone, so the others need not re-park each time). */
	ck_assert_uint_ge(atomic_load(&w.parks), o.workers + 49);
	ck_assert_uint_ge(atomic_load(&w.unparks), 50);
	test_rt_free_clean(rt);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cond);
}
END_TEST

/* ---- ends reported through wakers, without a joiner task ------------------------------ */

static coop_poll value_poll_twice(coop_cx *cx, void *state)
{
	coop_cx_set_value(cx, *(int64_t *)state * 2);
	return COOP_READY;
}

/* A waker that counts what is done with it: wakes, drops, and on which
 * thread it was woken; it checks that the end is final when woken. */
struct end_probe {
	coop_rt *rt;
	coop_handle *handle; /* or */
	coop_scope *scope;
	atomic_uint wakes, drops, clones;
	atomic_int worker; /* coop_rt_current_worker at the wake, -2 unset */
	atomic_bool done_at_wake;
	pthread_t caller; /* the thread that registered */
	atomic_bool on_caller;
};

static void *probe_clone(void *data)
{
	atomic_fetch_add(&((struct end_probe *)data)->clones, 1);
	return data;
}

static void probe_wake(void *data)
{
	struct end_probe *p = data;

	atomic_store(&p->worker, coop_rt_current_worker(p->rt));
	atomic_store(&p->on_caller, pthread_equal(pthread_self(), p->caller) != 0);
	atomic_store(&p->done_at_wake, p->handle ? coop_handle_done(p->handle, NULL)
						 : coop_scope_done(p->scope, NULL));
	/* Last: the test waits for it, then reads the fields above. */
	atomic_fetch_add(&p->wakes, 1);
}

static void probe_drop(void *data)
{
	atomic_fetch_add(&((struct end_probe *)data)->drops, 1);
}

static const coop_waker_vtable probe_vtable = {probe_clone, probe_wake, probe_wake, probe_drop};

static void probe_init(struct end_probe *p, coop_rt *rt)
{
	memset(p, 0, sizeof(*p));
	p->rt = rt;
	atomic_store(&p->worker, -2);
	p->caller = pthread_self();
}

static coop_waker probe_waker(struct end_probe *p)
{
	return (coop_waker){&probe_vtable, p};
}

/* A gate the test opens: a task waiting on it is surely running, not
 * done, when the waker is registered. */
struct gate {
	coop_waker_cell cell;
	atomic_bool open;
};

static coop_poll gated_poll(coop_cx *cx, void *state)
{
	struct gate *g = *(struct gate **)state;

	if (coop_cx_cancelled(cx))
		return COOP_CANCELLED;
	if (atomic_load(&g->open))
		return COOP_READY;
	coop_waker_cell_register(&g->cell, cx);
	return atomic_load(&g->open) ? COOP_READY : COOP_PENDING;
}

static void gate_open(struct gate *g)
{
	atomic_store(&g->open, true);
	coop_waker_cell_wake(&g->cell);
}

/* A running task's end wakes the waker once, on a worker, with the
 * outcome already final; nothing is cloned or dropped. */
START_TEST(handle_end_wakes_the_waker_once_on_a_worker)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct gate g = {COOP_WAKER_CELL_INIT, false};
	struct gate *gp = &g;
	struct end_probe p;
	coop_outcome o;

	probe_init(&p, rt);
	ck_assert_int_eq(coop_spawn(s, gated_poll, &gp, sizeof(gp), NULL, NULL, &p.handle), 0);
	coop_handle_wake_when_done(p.handle, probe_waker(&p));
	ck_assert_uint_eq(atomic_load(&p.wakes), 0);
	gate_open(&g);
	TEST_WAIT_UNTIL(atomic_load(&p.wakes) == 1);
	coop_scope_join(s, NULL);
	ck_assert_uint_eq(atomic_load(&p.wakes), 1);
	ck_assert_uint_eq(atomic_load(&p.drops), 0);
	ck_assert_uint_eq(atomic_load(&p.clones), 0);
	ck_assert(atomic_load(&p.done_at_wake));
	ck_assert_int_ge(atomic_load(&p.worker), 0);
	ck_assert(coop_handle_done(p.handle, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	coop_handle_free(p.handle);
	coop_scope_free(s);
	coop_waker_cell_clear(&g.cell);
	test_rt_free_clean(rt);
}
END_TEST

/* A child that has already ended: the waker is woken at once, on the
 * calling thread, before the call returns. */
START_TEST(handle_already_done_wakes_at_once)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct end_probe p;
	int64_t in = 1;

	probe_init(&p, rt);
	ck_assert_int_eq(coop_spawn(s, value_poll_twice, &in, sizeof(in), NULL, NULL, &p.handle),
			 0);
	coop_scope_join(s, NULL);
	coop_handle_wake_when_done(p.handle, probe_waker(&p));
	ck_assert_uint_eq(atomic_load(&p.wakes), 1);
	ck_assert(atomic_load(&p.on_caller));
	ck_assert_int_eq(atomic_load(&p.worker), -1);
	ck_assert(atomic_load(&p.done_at_wake));
	ck_assert_uint_eq(atomic_load(&p.drops), 0);
	coop_handle_free(p.handle);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* One handle, one joiner: a second registration drops the first waker
 * unwoken and only the second is woken. */
START_TEST(handle_second_waker_replaces_the_first)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct gate g = {COOP_WAKER_CELL_INIT, false};
	struct gate *gp = &g;
	struct end_probe first, second;

	probe_init(&first, rt);
	probe_init(&second, rt);
	ck_assert_int_eq(coop_spawn(s, gated_poll, &gp, sizeof(gp), NULL, NULL, &first.handle), 0);
	second.handle = first.handle;
	coop_handle_wake_when_done(first.handle, probe_waker(&first));
	coop_handle_wake_when_done(first.handle, probe_waker(&second));
	ck_assert_uint_eq(atomic_load(&first.drops), 1);
	gate_open(&g);
	TEST_WAIT_UNTIL(atomic_load(&second.wakes) == 1);
	coop_scope_join(s, NULL);
	ck_assert_uint_eq(atomic_load(&first.wakes), 0);
	ck_assert_uint_eq(atomic_load(&second.wakes), 1);
	ck_assert_uint_eq(atomic_load(&second.drops), 0);
	coop_handle_free(first.handle);
	coop_scope_free(s);
	coop_waker_cell_clear(&g.cell);
	test_rt_free_clean(rt);
}
END_TEST

/* Ends once *arg is set, so that it surely runs when the waker is
 * registered. */
static coop_poll blocking_value(coop_token *tok, void *arg)
{
	while (!atomic_load((atomic_bool *)arg))
		(void)coop_token_sleep(tok, 1000000);
	coop_token_set_value(tok, 7);
	return COOP_READY;
}

/* A blocking job's end wakes the waker on the blocking thread; a task
 * cancelled before it ever ran is reported too. */
START_TEST(blocking_and_cancelled_ends_wake)
{
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_scope *c = test_scope(rt, NULL, NULL);
	struct end_probe pb, pc;
	struct gate g = {COOP_WAKER_CELL_INIT, false};
	struct gate *gp = &g;
	atomic_bool release = false;
	coop_outcome o;

	probe_init(&pb, rt);
	probe_init(&pc, rt);
	ck_assert_int_eq(coop_spawn_blocking(s, blocking_value, &release, NULL, &pb.handle), 0);
	coop_handle_wake_when_done(pb.handle, probe_waker(&pb));
	atomic_store(&release, true);
	coop_scope_cancel(c, COOP_REASON_CLIENT);
	ck_assert_int_eq(coop_spawn(c, gated_poll, &gp, sizeof(gp), NULL, NULL, &pc.handle), 0);
	coop_handle_wake_when_done(pc.handle, probe_waker(&pc));
	TEST_WAIT_UNTIL(atomic_load(&pb.wakes) == 1 && atomic_load(&pc.wakes) == 1);
	coop_scope_join(s, NULL);
	coop_scope_join(c, NULL);
	ck_assert(atomic_load(&pb.done_at_wake));
	ck_assert_int_eq(atomic_load(&pb.worker), -1); /* the blocking pool's thread */
	ck_assert(!atomic_load(&pb.on_caller));
	ck_assert(coop_handle_done(pb.handle, &o));
	ck_assert_int_eq(o.value, 7);
	ck_assert(atomic_load(&pc.done_at_wake));
	ck_assert(coop_handle_done(pc.handle, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
	ck_assert(!o.started);
	ck_assert_uint_eq(atomic_load(&pb.wakes) + atomic_load(&pc.wakes), 2);
	coop_handle_free(pb.handle);
	coop_handle_free(pc.handle);
	coop_scope_free(s);
	coop_scope_free(c);
	coop_waker_cell_clear(&g.cell);
	test_rt_free_clean(rt);
}
END_TEST

/* A scope: the call closes it (else it could never finish); the waker is
 * woken once, after the last child, with the scope's outcome final.  An empty scope finishes in the
 * call itself and is woken there. */
START_TEST(scope_end_wakes_the_waker_once)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_scope *empty = test_scope(rt, NULL, NULL);
	struct gate g = {COOP_WAKER_CELL_INIT, false};
	struct gate *gp = &g;
	struct end_probe p, pe, pf;
	int64_t in = 1;
	coop_outcome o;

	probe_init(&p, rt);
	probe_init(&pe, rt);
	p.scope = s;
	pe.scope = empty;
	/* One gated child (a gate's cell holds one waker), two that end at
	 * once. */
	ck_assert_int_eq(coop_spawn(s, gated_poll, &gp, sizeof(gp), NULL, NULL, NULL), 0);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(coop_spawn(s, value_poll_twice, &in, sizeof(in), NULL, NULL, NULL),
				 0);
	coop_scope_wake_when_done(s, probe_waker(&p));
	ck_assert_uint_eq(atomic_load(&p.wakes), 0);
	gate_open(&g);
	TEST_WAIT_UNTIL(atomic_load(&p.wakes) == 1);
	ck_assert(atomic_load(&p.done_at_wake));
	ck_assert(coop_scope_done(s, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);

	coop_scope_wake_when_done(empty, probe_waker(&pe));
	ck_assert_uint_eq(atomic_load(&pe.wakes), 1);
	ck_assert(atomic_load(&pe.on_caller));
	ck_assert(atomic_load(&pe.done_at_wake));
	/* Finished before the call (its children ended, then it was joined). */
	probe_init(&pf, rt);
	pf.scope = s;
	coop_scope_wake_when_done(s, probe_waker(&pf));
	ck_assert_uint_eq(atomic_load(&pf.wakes), 1);
	ck_assert(atomic_load(&pf.on_caller));
	ck_assert_uint_eq(atomic_load(&p.wakes), 1);
	ck_assert_uint_eq(atomic_load(&p.drops) + atomic_load(&pe.drops), 0);
	coop_scope_free(s);
	coop_scope_free(empty);
	coop_waker_cell_clear(&g.cell);
	test_rt_free_clean(rt);
}
END_TEST

/* Many children, each registered while it may be ending on another
 * worker: every waker is woken exactly once (under ThreadSanitizer in CI). */
#define RACE_CHILDREN 20000

static void count_wake(void *data)
{
	atomic_fetch_add((atomic_uint *)data, 1);
}

static void *same(void *data)
{
	return data;
}

static void no_drop(void *data)
{
	(void)data;
	ck_abort_msg("a join waker was dropped");
}

static const coop_waker_vtable count_vtable = {same, count_wake, count_wake, no_drop};

START_TEST(wakers_racing_ends_are_woken_once)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	atomic_uint *wakes = calloc(RACE_CHILDREN, sizeof(*wakes));
	coop_handle **h = calloc(RACE_CHILDREN, sizeof(*h));
	int64_t in = 1;

	ck_assert_ptr_nonnull(wakes);
	ck_assert_ptr_nonnull(h);
	for (int k = 0; k < RACE_CHILDREN; k++) {
		ck_assert_int_eq(
			coop_spawn(s, value_poll_twice, &in, sizeof(in), NULL, NULL, &h[k]), 0);
		coop_handle_wake_when_done(h[k], (coop_waker){&count_vtable, &wakes[k]});
	}
	coop_scope_join(s, NULL);
	for (int k = 0; k < RACE_CHILDREN; k++) {
		ck_assert_uint_eq(atomic_load(&wakes[k]), 1);
		coop_handle_free(h[k]);
	}
	free(wakes);
	free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* When a child's end wakes its joiner, the child no longer counts in its
 * scope: the scope the wake closes, whose last child it was, is done at
 * once.  (A worker defers that count and used to wake the joiner first:
 * coopd, starting a node's dependents from the wake, saw the node still
 * counted, and a fail_fast dependent counted a sibling_failed request that
 * reached nobody.) */
struct close_probe {
	coop_scope *scope;
	atomic_bool done_after_close;
	atomic_uint wakes;
};

static void close_wake(void *data)
{
	struct close_probe *p = data;

	coop_scope_close(p->scope);
	atomic_store(&p->done_after_close, coop_scope_done(p->scope, NULL));
	atomic_fetch_add(&p->wakes, 1);
}

static const coop_waker_vtable close_vtable = {same, close_wake, close_wake, no_drop};

START_TEST(handle_end_is_counted_before_the_wake)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct gate g = {COOP_WAKER_CELL_INIT, false};
	struct gate *gp = &g;
	struct close_probe p = {.scope = s};
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, gated_poll, &gp, sizeof(gp), NULL, NULL, &h), 0);
	coop_handle_wake_when_done(h, (coop_waker){&close_vtable, &p});
	gate_open(&g); /* it ends on a worker */
	TEST_WAIT_UNTIL(atomic_load(&p.wakes) == 1);
	ck_assert_msg(atomic_load(&p.done_after_close),
		      "the scope closed from the wake of its last child is not done");
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	coop_handle_free(h);
	coop_scope_free(s);
	coop_waker_cell_clear(&g.cell);
	test_rt_free_clean(rt);
}
END_TEST

static Suite *reactor_suite(void)
{
	Suite *s = suite_create("lib-reactor");
	TCase *tc = tcase_create("hooks");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, timers_run_on_the_supplied_driver, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, deadline_fires_through_the_supplied_driver);
	tcase_add_loop_test(tc, workers_park_on_the_supplied_waiter, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, handle_end_wakes_the_waker_once_on_a_worker, 0,
			    TEST_NWORKER_COUNTS);
	tcase_add_test(tc, handle_already_done_wakes_at_once);
	tcase_add_test(tc, handle_second_waker_replaces_the_first);
	tcase_add_test(tc, blocking_and_cancelled_ends_wake);
	tcase_add_loop_test(tc, scope_end_wakes_the_waker_once, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, wakers_racing_ends_are_woken_once, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, handle_end_is_counted_before_the_wake, 0, TEST_NWORKER_COUNTS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(reactor_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
