/*
 * suite-lib-reactor.c -- the executor owns no event loop: a test-supplied
 * timer driver (a "reactor" that the test fires by hand) and a test-supplied
 * waiter (parking hook) replace the built-in ones, and work still flows.
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

static Suite *reactor_suite(void)
{
	Suite *s = suite_create("lib-reactor");
	TCase *tc = tcase_create("hooks");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, timers_run_on_the_supplied_driver, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, deadline_fires_through_the_supplied_driver);
	tcase_add_loop_test(tc, workers_park_on_the_supplied_waiter, 0, TEST_NWORKER_COUNTS);
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
