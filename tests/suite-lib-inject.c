/*
 * suite-lib-inject.c -- the injection queue (lib/coop-inject.c) on its own.
 *
 * The queue is internal, so this program compiles coop-inject.c itself
 * rather than linking libcoop, and is linked with -Wl,--wrap=malloc so that
 * a test can make the queue's segment allocation fail and so reach the
 * overflow list, the path that keeps a push from ever failing.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include <check.h>

#include "coop-internal.h"

/* ---- what the queue needs from the rest of libcoop, and malloc's wrap --------------- */

int coop__mutex_init(pthread_mutex_t *m)
{
	return -pthread_mutex_init(m, NULL);
}

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static _Atomic bool malloc_fails;
static _Atomic unsigned malloc_fail_every;   /* 0: never; n: every nth call... */
static _Thread_local bool malloc_fails_here; /* ...of a thread that set this */
static _Atomic unsigned malloc_calls;

void *__wrap_malloc(size_t size)
{
	/* relaxed: test switches and a count; the threads that read them
	 * were started after they were set, or are joined before. */
	unsigned k = atomic_fetch_add_explicit(&malloc_calls, 1, memory_order_relaxed) + 1;
	unsigned every = atomic_load_explicit(&malloc_fail_every, memory_order_relaxed);
	if (atomic_load_explicit(&malloc_fails, memory_order_relaxed) ||
	    (every && malloc_fails_here && k % every == 0))
		return NULL;
	return __real_malloc(size);
}

/* Tasks are only pointers to the queue (and qnext on overflow). */
static struct coop__task *tasks_new(size_t n)
{
	struct coop__task *t = calloc(n, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	return t;
}

/* Pops everything in batches of max and checks it comes out as
 * tasks[from..to) in order. */
static void expect_fifo(struct coop__inject *q, struct coop__task *tasks, size_t from, size_t to,
			unsigned max)
{
	struct coop__task *out[64];
	size_t next = from;
	unsigned n;

	ck_assert_uint_le(max, 64);
	while ((n = coop__inject_pop(q, out, max, 1)) > 0) {
		ck_assert_uint_le(n, max);
		for (unsigned i = 0; i < n; i++, next++) {
			ck_assert_uint_lt(next, to);
			ck_assert_ptr_eq(out[i], &tasks[next]);
		}
	}
	ck_assert_uint_eq(next, to);
	ck_assert_uint_eq(coop__inject_len(q), 0);
}

/* ---- tests ------------------------------------------------------------------------------ */

START_TEST(fifo_across_many_segments)
{
	/* 5000 tasks is twenty segments; batch sizes that do not divide a
	 * segment make pops straddle segment ends. */
	static const unsigned batch[] = {1, 7, 16, 64};
	const size_t n = 5000;
	struct coop__task *tasks = tasks_new(n);
	struct coop__inject q;

	ck_assert_int_eq(coop__inject_init(&q), 0);
	for (unsigned b = 0; b < sizeof(batch) / sizeof(batch[0]); b++) {
		for (size_t i = 0; i < n; i++)
			coop__inject_push(&q, &tasks[i]);
		ck_assert_uint_eq(coop__inject_len(&q), n);
		expect_fifo(&q, tasks, 0, n, batch[b]);
	}
	coop__inject_destroy(&q);
	free(tasks);
}
END_TEST

START_TEST(pop_takes_a_fair_share)
{
	struct coop__task *tasks = tasks_new(10);
	struct coop__task *out[16];
	struct coop__inject q;

	ck_assert_int_eq(coop__inject_init(&q), 0);
	ck_assert_uint_eq(coop__inject_pop(&q, out, 16, 2), 0);
	for (int i = 0; i < 10; i++)
		coop__inject_push(&q, &tasks[i]);
	/* 10 queued, 2 workers: 10/2 + 1 = 6; then 4/2 + 1 = 3; then 1. */
	ck_assert_uint_eq(coop__inject_pop(&q, out, 16, 2), 6);
	ck_assert_ptr_eq(out[0], &tasks[0]);
	ck_assert_ptr_eq(out[5], &tasks[5]);
	ck_assert_uint_eq(coop__inject_pop(&q, out, 16, 2), 3);
	ck_assert_ptr_eq(out[0], &tasks[6]);
	ck_assert_uint_eq(coop__inject_pop(&q, out, 2, 1), 1);
	ck_assert_ptr_eq(out[0], &tasks[9]);
	ck_assert_uint_eq(coop__inject_len(&q), 0);
	/* max caps the share: 10 queued, 2 workers would take 6. */
	for (int i = 0; i < 10; i++)
		coop__inject_push(&q, &tasks[i]);
	ck_assert_uint_eq(coop__inject_pop(&q, out, 4, 2), 4);
	ck_assert_ptr_eq(out[3], &tasks[3]);
	ck_assert_uint_eq(coop__inject_len(&q), 6);
	while (coop__inject_pop(&q, out, 16, 1))
		;
	coop__inject_destroy(&q);
	free(tasks);
}
END_TEST

START_TEST(no_memory_means_overflow_list_in_order)
{
	/* Segments fill, then allocation fails: later pushes go to the
	 * overflow list, and keep going there (even once memory is back)
	 * until it has drained, so the order is still first in, first out. */
	const size_t n = 2000;
	struct coop__task *tasks = tasks_new(n);
	struct coop__inject q;

	ck_assert_int_eq(coop__inject_init(&q), 0);
	for (size_t i = 0; i < 600; i++)
		coop__inject_push(&q, &tasks[i]);
	atomic_store(&malloc_fails, true);
	for (size_t i = 600; i < 1200; i++)
		coop__inject_push(&q, &tasks[i]);
	atomic_store(&malloc_fails, false); /* before Check may need memory */
	ck_assert_ptr_nonnull(q.ovf_head);
	for (size_t i = 1200; i < 1400; i++)
		coop__inject_push(&q, &tasks[i]);

	/* Take every slot (the 600 filled 3 segments, the failing pushes the
	 * rest of the third), so that the segments are empty and one is spare
	 * while the overflow list is not: a push must still go behind the
	 * overflow list. */
	const size_t slots = 3 * COOP__INJECT_SEG_SLOTS;
	ck_assert_uint_gt(slots, 600);
	ck_assert_uint_lt(slots, 1200);
	struct coop__task *out[16];
	size_t next = 0;
	while (next < slots) {
		unsigned want = slots - next < 16 ? (unsigned)(slots - next) : 16;
		ck_assert_uint_eq(coop__inject_pop(&q, out, want, 1), want);
		for (unsigned i = 0; i < want; i++)
			ck_assert_ptr_eq(out[i], &tasks[next++]);
	}
	ck_assert_ptr_nonnull(q.ovf_head);
	for (size_t i = 1400; i < 1500; i++)
		coop__inject_push(&q, &tasks[i]);
	ck_assert_uint_eq(coop__inject_len(&q), 1500 - slots);
	expect_fifo(&q, tasks, slots, 1500, 16);
	ck_assert_ptr_null(q.ovf_head);

	/* Back to segments once the overflow list is empty. */
	for (size_t i = 1500; i < n; i++)
		coop__inject_push(&q, &tasks[i]);
	ck_assert_ptr_null(q.ovf_head);
	expect_fifo(&q, tasks, 1500, n, 5);
	coop__inject_destroy(&q);
	free(tasks);
}
END_TEST

START_TEST(steady_push_pop_reuses_segments)
{
	/* A queue that never holds much more than a segment allocates a
	 * segment or three, not one per COOP__INJECT_SEG_SLOTS pushes. */
	struct coop__task *tasks = tasks_new(300);
	struct coop__task *out[16];
	struct coop__inject q;

	ck_assert_int_eq(coop__inject_init(&q), 0);
	bool in_order = true;
	/* No Check assertion inside the loop: Check allocates for each. */
	atomic_store(&malloc_calls, 0);
	for (int round = 0; round < 20000; round++) {
		for (int i = 0; i < 3; i++)
			coop__inject_push(&q, &tasks[(round * 3 + i) % 300]);
		if (coop__inject_pop(&q, out, 16, 1) != 3 ||
		    out[2] != &tasks[(round * 3 + 2) % 300])
			in_order = false;
	}
	/* And rounds that fill more than a segment: the emptied head
	 * segment is kept as the spare and reused, not freed and allocated
	 * again. */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 300; i++)
			coop__inject_push(&q, &tasks[i]);
		for (int i = 0; i < 300; i += 15)
			if (coop__inject_pop(&q, out, 15, 1) != 15 || out[0] != &tasks[i])
				in_order = false;
	}
	unsigned calls = atomic_load(&malloc_calls);
	ck_assert(in_order);
	ck_assert_uint_le(calls, 3);
	coop__inject_destroy(&q);
	free(tasks);
}
END_TEST

/* Two threads push disjoint halves while two pop: every task comes out
 * exactly once, and each pusher's tasks in the order it pushed them. */
#define RACE_N 200000
struct race {
	struct coop__inject q;
	struct coop__task *tasks;
	_Atomic unsigned char *seen;
	_Atomic size_t popped;
	_Atomic int pushers_done;
	size_t last[2][2]; /* [popper][pusher]: the last index seen */
};

struct race_arg {
	struct race *r;
	int id;
};

static void *race_push(void *p)
{
	struct race_arg *a = p;

	malloc_fails_here = true; /* pushers never call Check */
	for (size_t i = (size_t)a->id; i < RACE_N; i += 2)
		coop__inject_push(&a->r->q, &a->r->tasks[i]);
	atomic_fetch_add(&a->r->pushers_done, 1);
	return NULL;
}

static void *race_pop(void *p)
{
	struct race_arg *a = p;
	struct race *r = a->r;
	struct coop__task *out[16];
	bool ordered = true;

	r->last[a->id][0] = r->last[a->id][1] = SIZE_MAX;
	for (;;) {
		/* Done once both pushers are and the queue is empty: a lost
		 * task shows as a count below RACE_N, not as a hang. */
		bool pushed = atomic_load(&r->pushers_done) == 2;
		unsigned n = coop__inject_pop(&r->q, out, 16, 2);
		if (n == 0 && pushed)
			break;
		for (unsigned i = 0; i < n; i++) {
			size_t k = (size_t)(out[i] - r->tasks);
			size_t *last = &r->last[a->id][k % 2];
			if (*last != SIZE_MAX && *last >= k)
				ordered = false;
			*last = k;
			atomic_fetch_add(&r->seen[k], 1);
		}
		atomic_fetch_add(&r->popped, n);
	}
	return ordered ? (void *)1 : NULL;
}

/* _i = 0: memory never fails; 1: every 3rd allocation of a pusher fails,
 * so segments and the overflow list alternate while pushers race. */
START_TEST(concurrent_pushers_and_poppers)
{
	struct race r;
	pthread_t th[4];
	struct race_arg args[4] = {{&r, 0}, {&r, 1}, {&r, 0}, {&r, 1}};
	void *ok;

	ck_assert_int_eq(coop__inject_init(&r.q), 0);
	r.tasks = tasks_new(RACE_N);
	r.seen = calloc(RACE_N, 1);
	ck_assert_ptr_nonnull(r.seen);
	atomic_init(&r.popped, 0);
	atomic_init(&r.pushers_done, 0);
	atomic_store(&malloc_fail_every, _i ? 3u : 0u);
	ck_assert_int_eq(pthread_create(&th[0], NULL, race_push, &args[0]), 0);
	ck_assert_int_eq(pthread_create(&th[1], NULL, race_push, &args[1]), 0);
	ck_assert_int_eq(pthread_create(&th[2], NULL, race_pop, &args[2]), 0);
	ck_assert_int_eq(pthread_create(&th[3], NULL, race_pop, &args[3]), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	bool ordered = true;
	for (int i = 2; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], &ok), 0);
		ordered = ordered && ok != NULL;
	}
	atomic_store(&malloc_fail_every, 0u);
	ck_assert_msg(ordered, "a popper saw one pusher's tasks out of order");
	ck_assert_uint_eq(atomic_load(&r.popped), RACE_N);
	for (size_t i = 0; i < RACE_N; i++)
		ck_assert_uint_eq(r.seen[i], 1);
	ck_assert_uint_eq(coop__inject_len(&r.q), 0);
	coop__inject_destroy(&r.q);
	free((void *)r.seen);
	free(r.tasks);
}
END_TEST

static Suite *inject_suite(void)
{
	Suite *s = suite_create("lib-inject");
	TCase *tc = tcase_create("inject");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, fifo_across_many_segments);
	tcase_add_test(tc, pop_takes_a_fair_share);
	tcase_add_test(tc, no_memory_means_overflow_list_in_order);
	tcase_add_test(tc, steady_push_pop_reuses_segments);
	tcase_add_loop_test(tc, concurrent_pushers_and_poppers, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(inject_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
