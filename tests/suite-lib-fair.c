/*
 * suite-lib-fair.c -- Check suite for the fairness of libcoop's blocking
 * pool (coop_spawn_opts.fair_key, coop_rt_options.blocking_max_per_key):
 * one key's jobs never hold more threads than its bound, another key's job
 * runs while the first key's jobs block, keys are served in turn rather
 * than in order of arrival, and a cancelled job waiting behind its key's
 * bound still completes.  Jobs block on a gate (a condition variable) the
 * test opens, never on timing.
 */
#include "config.h"

#include <pthread.h>

#include "test-coop.h"

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	int running[2], max_running[2]; /* per key (0 and 1) */
	int order[64], n_order;         /* job numbers in the order they ran */
	int done[2];
};

#define GATE_INIT                                                                             \
	{                                                                                     \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, {0}, {0}, {0}, 0, \
		{                                                                             \
			0                                                                     \
		}                                                                             \
	}

struct job {
	struct gate *g;
	int key, no;
	bool wait_gate;
};

/* Waits for cond with a 60 s hang guard (never a measure of speed). */
static void wait_guarded(struct gate *g, bool (*ready)(struct gate *, void *), void *arg)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	while (!ready(g, arg))
		ck_assert_int_ne(pthread_cond_timedwait(&g->cond, &g->lock, &until), ETIMEDOUT);
}

static coop_poll gated_job(coop_token *tok, void *arg)
{
	struct job *j = arg;
	struct gate *g = j->g;

	pthread_mutex_lock(&g->lock);
	g->order[g->n_order++] = j->no;
	if (++g->running[j->key] > g->max_running[j->key])
		g->max_running[j->key] = g->running[j->key];
	pthread_cond_broadcast(&g->cond);
	while (j->wait_gate && !g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	g->running[j->key]--;
	g->done[j->key]++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	return COOP_READY;
}

static bool key_done(struct gate *g, void *arg)
{
	int *want = arg;

	return g->done[want[0]] >= want[1];
}

static bool key_running(struct gate *g, void *arg)
{
	int *want = arg;

	return g->running[want[0]] >= want[1];
}

static void spawn_job(coop_scope *s, struct job *j, uint64_t key)
{
	coop_spawn_opts o = {0};

	o.fair_key = key;
	ck_assert_int_eq(coop_spawn_blocking(s, gated_job, j, &o, NULL), 0);
}

/* Key 0 queues 20 jobs that block until the gate opens: it never holds
 * more than its 3 threads of 8, and key 1's job runs and finishes while
 * they all still block. */
START_TEST(blocking_key_bound_leaves_threads_to_others)
{
	coop_rt_options opts = {0};
	struct gate g = GATE_INIT;
	struct job a[20], b = {&g, 1, 100, false};
	int want_a[2] = {0, 3}, want_b[2] = {1, 1};

	opts.workers = 2;
	opts.blocking_max = 8;
	opts.blocking_max_per_key = 3;
	coop_rt *rt = test_rt_new_opts(&opts);
	coop_scope *s = test_scope(rt, NULL, NULL);
	for (int i = 0; i < 20; i++) {
		a[i] = (struct job){&g, 0, i, true};
		spawn_job(s, &a[i], 7);
	}
	pthread_mutex_lock(&g.lock);
	wait_guarded(&g, key_running, want_a);
	pthread_mutex_unlock(&g.lock);
	spawn_job(s, &b, 9);
	pthread_mutex_lock(&g.lock);
	wait_guarded(&g, key_done, want_b);
	ck_assert_int_eq(g.done[0], 0); /* key 0 still blocked: b did not wait for it */
	ck_assert_int_eq(g.max_running[0], 3);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	coop_scope_join(s, NULL);
	ck_assert_int_eq(g.done[0], 20);
	ck_assert_int_eq(g.max_running[0], 3);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* One thread: while a job of key 0 holds it, key 0 queues five more and
 * key 1 one.  Served in turn, key 1's job runs right after key 0's next
 * one, not after all five (as plain arrival order would have it). */
START_TEST(blocking_keys_served_in_turn)
{
	coop_rt_options opts = {0};
	struct gate g = GATE_INIT;
	struct job first = {&g, 0, 0, true}, a[5], b = {&g, 1, 100, false};
	int want[2] = {0, 1};
	int pos = -1;

	opts.workers = 1;
	opts.blocking_max = 1;
	coop_rt *rt = test_rt_new_opts(&opts);
	coop_scope *s = test_scope(rt, NULL, NULL);
	spawn_job(s, &first, 0);
	pthread_mutex_lock(&g.lock);
	wait_guarded(&g, key_running, want);
	pthread_mutex_unlock(&g.lock);
	for (int i = 0; i < 5; i++) {
		a[i] = (struct job){&g, 0, i + 1, false};
		spawn_job(s, &a[i], 0);
	}
	spawn_job(s, &b, 1);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	coop_scope_join(s, NULL);
	ck_assert_int_eq(g.n_order, 7);
	for (int i = 0; i < g.n_order; i++)
		if (g.order[i] == 100)
			pos = i;
	ck_assert_int_eq(g.order[0], 0);
	ck_assert_int_eq(pos, 2);
	/* Key 0's own jobs kept their order. */
	for (int i = 1, last = 0; i < g.n_order; i++)
		if (g.order[i] != 100) {
			ck_assert_int_gt(g.order[i], last);
			last = g.order[i];
		}
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* A key at its bound (1) with a job blocking and three more waiting: the
 * waiting ones are cancelled; once the blocker is released they all
 * complete as cancelled, and the scope ends. */
START_TEST(blocking_cancelled_jobs_behind_a_bound_complete)
{
	coop_rt_options opts = {0};
	struct gate g = GATE_INIT;
	struct job first = {&g, 0, 0, true}, a[3];
	int want[2] = {0, 1};
	coop_handle *h[3];
	coop_outcome o;
	coop_spawn_opts so = {0};

	opts.workers = 1;
	opts.blocking_max = 4;
	opts.blocking_max_per_key = 1;
	coop_rt *rt = test_rt_new_opts(&opts);
	coop_scope *s = test_scope(rt, NULL, NULL);
	spawn_job(s, &first, 5);
	pthread_mutex_lock(&g.lock);
	wait_guarded(&g, key_running, want);
	pthread_mutex_unlock(&g.lock);
	so.fair_key = 5;
	for (int i = 0; i < 3; i++) {
		a[i] = (struct job){&g, 0, i + 1, false};
		ck_assert_int_eq(coop_spawn_blocking(s, gated_job, &a[i], &so, &h[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		coop_handle_cancel(h[i], COOP_REASON_CLIENT);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	coop_scope_join(s, NULL);
	for (int i = 0; i < 3; i++) {
		ck_assert(coop_handle_done(h[i], &o));
		ck_assert_int_eq(o.status, COOP_STATUS_CANCELLED);
		coop_handle_free(h[i]);
	}
	ck_assert_int_eq(g.n_order, 1); /* none of them ran its function */
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("lib-fair");
	TCase *tc = tcase_create("blocking-fairness");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, blocking_key_bound_leaves_threads_to_others);
	tcase_add_test(tc, blocking_keys_served_in_turn);
	tcase_add_test(tc, blocking_cancelled_jobs_behind_a_bound_complete);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
