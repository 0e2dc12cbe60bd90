/*
 * suite-lib-exec.c -- libcoop's executor: spawning and joining, wakers under
 * races, nested scopes, the blocking pool, timers and combinators.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "test-coop.h"

/* ---- simple tasks ---------------------------------------------------------------- */

static coop_poll value_poll(coop_cx *cx, void *state)
{
	coop_cx_set_value(cx, *(int64_t *)state * 2);
	return COOP_READY;
}

START_TEST(spawn_and_join_value)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_handle *h;
	int64_t in = 21;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, value_poll, &in, sizeof(in), NULL, NULL, &h), 0);
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.value, 42);
	ck_assert(o.started);
	ck_assert_uint_eq(o.polls, 1);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* Yields (budget 1: every other maybe_yield is a forced yield) until told
 * to stop. */
static coop_poll yielder_poll(coop_cx *cx, void *state)
{
	atomic_bool *stop = *(atomic_bool **)state;

	while (!atomic_load(stop))
		if (coop_cx_maybe_yield(cx))
			return COOP_PENDING;
	return COOP_READY;
}

/* coop_handle_stats reads a running task's counters from another thread
 * (race-free: this test runs under ThreadSanitizer too), and they end
 * equal to the outcome's. */
START_TEST(handle_stats_live_then_final)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope_opts so = {.budget = 1};
	coop_scope *s = test_scope(rt, NULL, &so);
	atomic_bool stop = false;
	atomic_bool *sp = &stop;
	uint64_t polls = 0, yields = 0, p2, y2;
	coop_handle *h;
	coop_outcome o;
	time_t guard = time(NULL) + 120;

	ck_assert_int_eq(coop_spawn(s, yielder_poll, &sp, sizeof(sp), NULL, NULL, &h), 0);
	while (yields < 3) {
		coop_handle_stats(h, &polls, &yields);
		ck_assert_msg(time(NULL) < guard, "no forced yield seen while it runs");
		ck_assert(!coop_handle_done(h, &o));
	}
	ck_assert_uint_ge(polls, yields);
	atomic_store(&stop, true);
	coop_scope_join(s, &o);
	ck_assert(coop_handle_done(h, &o));
	coop_handle_stats(h, &p2, &y2);
	ck_assert_uint_eq(p2, o.polls);
	ck_assert_uint_eq(y2, o.forced_yields);
	ck_assert_uint_ge(p2, polls);
	ck_assert_uint_ge(y2, yields);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

START_TEST(spawn_rejects_bad_arguments)
{
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	int64_t x = 1;

	ck_assert_int_eq(coop_spawn(NULL, value_poll, NULL, 0, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(coop_spawn(s, NULL, NULL, 0, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(coop_spawn(s, value_poll, NULL, 8, NULL, NULL, NULL), -EINVAL);
	coop_scope_join(s, NULL);
	/* A finished scope takes no more children. */
	ck_assert_int_eq(coop_spawn(s, value_poll, &x, sizeof(x), NULL, NULL, NULL), -ESHUTDOWN);
	coop_scope *child;
	ck_assert_int_eq(coop_scope_new(rt, s, NULL, &child), -ESHUTDOWN);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- a million tasks ---------------------------------------------------------------- */

static coop_poll count_poll(coop_cx *cx, void *state)
{
	atomic_fetch_add_explicit(*(_Atomic uint64_t **)state, 1, memory_order_relaxed);
	return COOP_READY;
}

static _Atomic uint64_t drops;
static void count_drop(void *state)
{
	atomic_fetch_add_explicit(&drops, 1, memory_order_relaxed);
}

START_TEST(million_tasks_spawned_and_joined)
{
	enum { N = 1000000 };
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	_Atomic uint64_t ran = 0;
	_Atomic uint64_t *p = &ran;
	coop_outcome o;
	coop_stats st;

	atomic_store(&drops, 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(coop_spawn(s, count_poll, &p, sizeof(p), count_drop, NULL, NULL),
				 0);
	coop_scope_join(s, &o);
	ck_assert_uint_eq(atomic_load(&ran), N);
	ck_assert_uint_eq(atomic_load(&drops), N);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_uint_eq(o.polls, N);
	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.tasks_spawned, N);
	ck_assert_uint_eq(st.tasks_finished[COOP_STATUS_OK], N);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* The slab gives task memory back once workers are idle: 200,000 blocks
 * (~25 MB) are held while the tasks wait (hogs keep every worker busy),
 * and nearly all of it is freed after they have run; a second burst
 * re-carves and is given back again. */
static uint64_t task_memory_when_settled(coop_rt *rt, uint64_t below)
{
	coop_stats st;

	/* Workers trim as the last of them goes to sleep, just after the join
	 * returns: wait for that (60 s is only a guard against a hang). */
	for (int i = 0; i < 6000; i++) {
		coop_rt_stats(rt, &st);
		if (st.task_memory_bytes < below)
			break;
		usleep(10000);
	}
	return st.task_memory_bytes;
}

static _Atomic int hogs_running;
static _Atomic bool hogs_release;

static coop_poll hog_poll(coop_cx *cx, void *state)
{
	(void)cx;
	(void)state;
	atomic_fetch_add(&hogs_running, 1);
	while (!atomic_load(&hogs_release))
		usleep(100);
	return COOP_READY;
}

START_TEST(task_memory_returns_when_idle)
{
	enum { N = 200000 };
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	unsigned workers = coop_rt_workers(rt);
	_Atomic uint64_t ran = 0;
	_Atomic uint64_t *p = &ran;
	coop_stats st;

	for (int round = 1; round <= 2; round++) {
		coop_scope *s = test_scope(rt, NULL, NULL);
		coop_outcome o;

		atomic_store(&hogs_running, 0);
		atomic_store(&hogs_release, false);
		for (unsigned i = 0; i < workers; i++)
			ck_assert_int_eq(coop_spawn(s, hog_poll, NULL, 0, NULL, NULL, NULL), 0);
		while (atomic_load(&hogs_running) < (int)workers)
			usleep(1000);
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(coop_spawn(s, count_poll, &p, sizeof(p), NULL, NULL, NULL),
					 0);
		coop_rt_stats(rt, &st);
		/* Every one waits: at least a 112-byte header + 16 bytes of state. */
		ck_assert_uint_ge(st.task_memory_bytes, (uint64_t)N * 128);
		uint64_t peak = st.task_memory_bytes;
		atomic_store(&hogs_release, true);
		coop_scope_join(s, &o);
		ck_assert_int_eq(o.status, COOP_STATUS_OK);
		coop_scope_free(s);
		ck_assert_uint_eq(atomic_load(&ran), (uint64_t)round * N);
		uint64_t left = task_memory_when_settled(rt, peak / 8);
		ck_assert_msg(
			left < peak / 8,
			"round %d: %llu of %llu bytes of task memory kept after the tasks ran",
			round, (unsigned long long)left, (unsigned long long)peak);
	}
	test_rt_free_clean(rt);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
/* Task blocks are recycled by libcoop's slab, not by malloc: a freed
 * handle's block must still be poisoned, so that a use after free is
 * reported under ASan. */
START_TEST(freed_handle_is_poisoned)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_handle *h;
	coop_outcome o;
	int64_t x = 21;

	ck_assert_int_eq(coop_spawn(s, value_poll, &x, sizeof(x), NULL, NULL, &h), 0);
	coop_scope_join(s, &o);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.value, 42);
	ck_assert(!__asan_address_is_poisoned(h));
	coop_handle_free(h);
	ck_assert(__asan_address_is_poisoned(h));
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST
#endif

/* ---- fib: tasks that spawn and join children ---------------------------------------- */

struct fib {
	int n;
	coop_handle *a, *b;
};

static coop_poll fib_poll(coop_cx *cx, void *state)
{
	struct fib *f = state;
	coop_outcome oa, ob;

	if (f->n < 2) {
		coop_cx_set_value(cx, f->n);
		return COOP_READY;
	}
	if (!f->a) {
		struct fib x = {f->n - 1, NULL, NULL}, y = {f->n - 2, NULL, NULL};
		if (coop_spawn(coop_cx_scope(cx), fib_poll, &x, sizeof(x), NULL, NULL, &f->a) < 0 ||
		    coop_spawn(coop_cx_scope(cx), fib_poll, &y, sizeof(y), NULL, NULL, &f->b) < 0)
			return COOP_FAILED;
	}
	if (coop_handle_poll(f->a, cx, &oa) == COOP_PENDING ||
	    coop_handle_poll(f->b, cx, &ob) == COOP_PENDING)
		return COOP_PENDING;
	coop_cx_set_value(cx, oa.value + ob.value);
	coop_handle_free(f->a);
	coop_handle_free(f->b);
	return COOP_READY;
}

START_TEST(fib_tree_joins_children)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct fib f = {20, NULL, NULL};
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, fib_poll, &f, sizeof(f), NULL, NULL, &h), 0);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.value, 6765);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- join inlining -------------------------------------------------------------------- */

/* Spawns `children` leaves (or, with `chain`, one child one level deeper)
 * and joins them; its value is the number of tasks in its subtree. */
struct joiner {
	int children;
	int chain;
	int phase;
	coop_handle *h[4];
	int64_t sum;
};

static coop_poll leaf_poll(coop_cx *cx, void *state)
{
	(void)state;
	coop_cx_set_value(cx, 1);
	return COOP_READY;
}

static coop_poll joiner_poll(coop_cx *cx, void *state)
{
	struct joiner *j = state;
	coop_outcome o;

	if (j->phase == 0) {
		for (int i = 0; i < j->children; i++) {
			struct joiner c = {1, j->chain - 1, 0, {NULL}, 0};
			if (j->chain > 0)
				ck_assert_int_eq(coop_spawn(coop_cx_scope(cx), joiner_poll, &c,
							    sizeof(c), NULL, NULL, &j->h[i]),
						 0);
			else
				ck_assert_int_eq(coop_spawn(coop_cx_scope(cx), leaf_poll, NULL, 0,
							    NULL, NULL, &j->h[i]),
						 0);
		}
		j->phase = 1;
	}
	for (int i = 0; i < j->children; i++) {
		if (!j->h[i])
			continue;
		if (coop_handle_poll(j->h[i], cx, &o) == COOP_PENDING)
			return COOP_PENDING;
		ck_assert_uint_eq(o.status, COOP_STATUS_OK);
		j->sum += o.value;
		coop_handle_free(j->h[i]);
		j->h[i] = NULL;
	}
	coop_cx_set_value(cx, j->sum + 1);
	return COOP_READY;
}

/*
 * On one worker nothing can steal the children, so joining the first one
 * runs both inline (the second sits above it at the bottom of the deque):
 * the parent is polled exactly once.  Without inlining it would return
 * PENDING and be polled again when woken.
 */
START_TEST(join_runs_unstarted_children_inline)
{
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct joiner j = {3, 0, 0, {NULL}, 0};
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, joiner_poll, &j, sizeof(j), NULL, NULL, &h), 0);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.value, 4);
	ck_assert_uint_eq(o.polls, 1);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* A chain deeper than the inlining bound (32 nested polls) and the holder
 * bound (63) still completes, with every task counted once. */
START_TEST(deep_join_chain_beyond_inline_bound)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct joiner j = {1, 200, 0, {NULL}, 0};
	coop_handle *h;
	coop_outcome o, so;

	ck_assert_int_eq(coop_spawn(s, joiner_poll, &j, sizeof(j), NULL, NULL, &h), 0);
	coop_scope_join(s, &so);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.value, 202); /* 201 joiners and the leaf */
	ck_assert_uint_eq(so.status, COOP_STATUS_OK);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- wake versus poll races --------------------------------------------------------- */

/*
 * Wakers on several threads bump `sent` and wake; the task finishes once it
 * has seen every bump.  A lost wakeup hangs the test (Check's timeout
 * fails it); two concurrent polls trip the `inside` check.
 */
struct racer {
	_Atomic uint64_t *sent;
	uint64_t target;
	_Atomic int *inside;
	_Atomic int *overlaps;
	coop_waker_cell *cell;
};

static coop_poll racer_poll(coop_cx *cx, void *state)
{
	struct racer *r = state;

	if (atomic_fetch_add(r->inside, 1) != 0)
		atomic_fetch_add(r->overlaps, 1);
	coop_waker_cell_register(r->cell, cx);
	uint64_t seen = atomic_load(r->sent);
	atomic_fetch_sub(r->inside, 1);
	return seen >= r->target ? COOP_READY : COOP_PENDING;
}

struct waker_thread_arg {
	_Atomic uint64_t *sent;
	coop_waker_cell *cell;
	int rounds;
};

static void *waker_thread(void *arg)
{
	struct waker_thread_arg *a = arg;

	for (int i = 0; i < a->rounds; i++) {
		atomic_fetch_add(a->sent, 1);
		coop_waker_cell_wake(a->cell);
	}
	return NULL;
}

START_TEST(wakes_racing_polls_are_never_lost)
{
	enum { THREADS = 4, ROUNDS = 20000 };
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	_Atomic uint64_t sent = 0;
	_Atomic int inside = 0, overlaps = 0;
	coop_waker_cell cell = COOP_WAKER_CELL_INIT;
	struct racer r = {&sent, THREADS * ROUNDS, &inside, &overlaps, &cell};
	struct waker_thread_arg a = {&sent, &cell, ROUNDS};
	pthread_t th[THREADS];
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, racer_poll, &r, sizeof(r), NULL, NULL, &h), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, waker_thread, &a);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(atomic_load(&overlaps), 0);
	ck_assert_uint_ge(o.polls, 1);
	coop_waker_cell_clear(&cell);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* Waking a finished task and dropping stale wakers is harmless. */
struct waker_box {
	coop_waker w;
};

static coop_poll keep_waker_out_poll(coop_cx *cx, void *state)
{
	struct waker_box **box = state;
	(*box)->w = coop_waker_clone(coop_cx_waker(cx));
	return COOP_READY;
}

START_TEST(waking_finished_task_is_noop)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct waker_box box = {{NULL, NULL}};
	struct waker_box *p = &box;
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, keep_waker_out_poll, &p, sizeof(p), NULL, NULL, &h), 0);
	coop_scope_join(s, NULL);
	ck_assert(!coop_waker_is_empty(box.w));
	coop_waker w2 = coop_waker_clone(box.w);
	coop_waker_wake_by_ref(box.w);
	coop_waker_wake(box.w);
	coop_waker_drop(w2);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_uint_eq(o.polls, 1);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- nested scopes ----------------------------------------------------------------- */

START_TEST(deeply_nested_scopes)
{
	enum { DEPTH = 2000 };
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope **chain = calloc(DEPTH, sizeof(*chain));
	_Atomic uint64_t ran = 0;
	_Atomic uint64_t *p = &ran;
	coop_outcome o;

	chain[0] = test_scope(rt, NULL, NULL);
	for (int d = 1; d < DEPTH; d++) {
		chain[d] = test_scope(rt, chain[d - 1], NULL);
		ck_assert_int_eq(coop_spawn(chain[d], count_poll, &p, sizeof(p), NULL, NULL, NULL),
				 0);
	}
	/* Close from the outside in: the root cannot finish before the deepest. */
	for (int d = 0; d < DEPTH - 1; d++) {
		coop_scope_close(chain[d]);
		ck_assert(!coop_scope_done(chain[d], NULL));
	}
	coop_scope_close(chain[DEPTH - 1]);
	coop_scope_join(chain[0], &o);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_uint_eq(atomic_load(&ran), DEPTH - 1);
	ck_assert_uint_eq(o.polls, DEPTH - 1);
	for (int d = 0; d < DEPTH; d++) {
		ck_assert(coop_scope_done(chain[d], NULL));
		coop_scope_free(chain[d]);
	}
	free(chain);
	test_rt_free_clean(rt);
}
END_TEST

/* A scope never finishes before its children, even slow blocking ones. */
static coop_poll slow_blocking(coop_token *tok, void *arg)
{
	struct timespec ts = {0, 20 * 1000000};
	nanosleep(&ts, NULL);
	atomic_fetch_add((_Atomic int *)arg, 1);
	return COOP_READY;
}

START_TEST(scope_never_returns_before_children)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *root = test_scope(rt, NULL, NULL);
	coop_scope *inner = test_scope(rt, root, NULL);
	_Atomic int done = 0;
	coop_outcome o;

	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(coop_spawn_blocking(inner, slow_blocking, &done, NULL, NULL), 0);
	coop_scope_free(inner); /* the owner lets go; the scope still runs */
	coop_scope_join(root, &o);
	ck_assert_int_eq(atomic_load(&done), 8);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	coop_scope_free(root);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- block_on: tasks borrowing the joining thread's stack --------------------------- */

struct borrow {
	int64_t *slots;
	int index;
};

static coop_poll borrow_poll(coop_cx *cx, void *state)
{
	struct borrow *b = state;
	b->slots[b->index] = b->index * 3;
	return COOP_READY;
}

START_TEST(block_on_borrows_stack)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	int64_t slots[256] = {0};
	coop_scope *s = test_scope(rt, NULL, NULL);

	for (int i = 0; i < 256; i++) {
		struct borrow b = {slots, i};
		ck_assert_int_eq(coop_spawn(s, borrow_poll, &b, sizeof(b), NULL, NULL, NULL), 0);
	}
	coop_scope_join(s, NULL);
	for (int i = 0; i < 256; i++)
		ck_assert_int_eq(slots[i], i * 3);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- the blocking pool ------------------------------------------------------------- */

struct bound_probe {
	_Atomic int *now, *max;
};

static coop_poll bound_job(coop_token *tok, void *arg)
{
	struct bound_probe *p = arg;
	int n = atomic_fetch_add(p->now, 1) + 1;
	int m = atomic_load(p->max);

	while (n > m && !atomic_compare_exchange_weak(p->max, &m, n))
		;
	struct timespec ts = {0, 5 * 1000000};
	nanosleep(&ts, NULL);
	atomic_fetch_sub(p->now, 1);
	return COOP_READY;
}

START_TEST(blocking_pool_bound_and_reaping)
{
	coop_rt_options opts = {0};
	_Atomic int now = 0, max = 0;
	struct bound_probe probe = {&now, &max};
	coop_stats st;

	opts.workers = 2;
	opts.blocking_max = 4;
	opts.blocking_idle_ns = 50 * 1000000u;
	coop_rt *rt = test_rt_new_opts(&opts);
	coop_scope *s = test_scope(rt, NULL, NULL);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(coop_spawn_blocking(s, bound_job, &probe, NULL, NULL), 0);
	coop_scope_join(s, NULL);
	ck_assert_int_le(atomic_load(&max), 4);
	ck_assert_int_ge(atomic_load(&max), 2); /* it did grow on demand */
	coop_rt_stats(rt, &st);
	ck_assert_uint_le(st.blocking_threads_peak, 4);
	ck_assert_uint_eq(st.blocking_spawned, 64);
	ck_assert_uint_eq(st.blocking_finished[COOP_STATUS_OK], 64);
	/* Idle threads exit on their own. */
	do {
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
		coop_rt_stats(rt, &st);
	} while (st.blocking_threads > 0);
	ck_assert_uint_eq(st.blocking_threads, 0);
	/* And the pool grows again afterwards. */
	coop_scope *s2 = test_scope(rt, NULL, NULL);
	ck_assert_int_eq(coop_spawn_blocking(s2, bound_job, &probe, NULL, NULL), 0);
	coop_scope_join(s2, NULL);
	coop_scope_free(s2);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- timers ------------------------------------------------------------------------ */

struct sleeper {
	coop_timer *timer;
	uint64_t deadline;
	uint64_t woke_at;
};

static coop_poll sleeper_poll(coop_cx *cx, void *state)
{
	struct sleeper *s = state;

	if (!s->timer && coop_timer_new(coop_cx_rt(cx), s->deadline, &s->timer) < 0)
		return COOP_FAILED;
	if (coop_timer_poll(s->timer, cx) == COOP_PENDING)
		return COOP_PENDING;
	coop_cx_set_value(cx, (int64_t)coop_now_ns());
	return COOP_READY;
}

static void sleeper_drop(void *state)
{
	coop_timer_free(((struct sleeper *)state)->timer);
}

START_TEST(timers_fire_in_order_and_not_early)
{
	enum { N = 200 };
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_handle *h[N];
	uint64_t base = coop_now_ns();

	for (int i = 0; i < N; i++) {
		/* deadlines spread over 0..40 ms, in a scrambled order */
		struct sleeper sl = {NULL, base + (uint64_t)((i * 37) % N) * 200000u, 0};
		ck_assert_int_eq(
			coop_spawn(s, sleeper_poll, &sl, sizeof(sl), sleeper_drop, NULL, &h[i]), 0);
	}
	coop_scope_join(s, NULL);
	for (int i = 0; i < N; i++) {
		coop_outcome o;
		ck_assert(coop_handle_done(h[i], &o));
		ck_assert_int_eq(o.status, COOP_STATUS_OK);
		ck_assert_uint_ge((uint64_t)o.value, base + (uint64_t)((i * 37) % N) * 200000u);
		coop_handle_free(h[i]);
	}
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- combinators ----------------------------------------------------------------- */

struct countdown {
	int left;
};

static coop_poll countdown_poll(coop_cx *cx, void *state)
{
	struct countdown *c = state;

	if (--c->left <= 0)
		return COOP_READY;
	coop_waker_wake_by_ref(coop_cx_waker(cx));
	return COOP_PENDING;
}

struct join_state {
	struct countdown c[4];
	coop_future f[4];
	int rounds;
};

static coop_poll join_poll(coop_cx *cx, void *state)
{
	struct join_state *js = state;

	if (js->rounds++ == 0)
		for (int i = 0; i < 4; i++)
			js->f[i] = (coop_future){countdown_poll, &js->c[i], COOP_PENDING};
	if (coop_join_all(cx, js->f, 4) == COOP_PENDING)
		return COOP_PENDING;
	coop_cx_set_value(cx, js->rounds);
	return COOP_READY;
}

START_TEST(join_all_waits_for_every_future)
{
	coop_rt *rt = test_rt_new(2);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct join_state js = {{{1}, {3}, {5}, {2}}, {{0}}, 0};
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, join_poll, &js, sizeof(js), NULL, NULL, &h), 0);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.value, 5); /* the slowest needs five polls */
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

struct select_state {
	struct countdown c[3];
	coop_future f[3];
	bool init;
};

static coop_poll select_poll(coop_cx *cx, void *state)
{
	struct select_state *ss = state;

	if (!ss->init) {
		ss->init = true;
		for (int i = 0; i < 3; i++)
			ss->f[i] = (coop_future){countdown_poll, &ss->c[i], COOP_PENDING};
	}
	long w = coop_select(cx, ss->f, 3);
	if (w < 0)
		return COOP_PENDING;
	coop_cx_set_value(cx, w);
	return COOP_READY;
}

START_TEST(select_returns_first_finished)
{
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct select_state ss = {{{6}, {2}, {4}}, {{0}}, false};
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, select_poll, &ss, sizeof(ss), NULL, NULL, &h), 0);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.value, 1);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* An unordered set whose children are woken from other threads. */
struct unordered_state {
	coop_unordered *set;
	coop_future f[64];
	struct sleeper sl[64];
	int finished;
};

static coop_poll sleeper_future(coop_cx *cx, void *state)
{
	return sleeper_poll(cx, state) == COOP_READY ? COOP_READY : COOP_PENDING;
}

static coop_poll unordered_poll(coop_cx *cx, void *state)
{
	struct unordered_state *us = state;

	if (!us->set) {
		ck_assert_int_eq(coop_unordered_new(&us->set), 0);
		for (int i = 0; i < 64; i++) {
			us->sl[i] = (struct sleeper){
				NULL, coop_now_ns() + (uint64_t)(63 - i) * 300000u, 0};
			us->f[i] = (coop_future){sleeper_future, &us->sl[i], COOP_PENDING};
			ck_assert_int_eq(coop_unordered_push(us->set, &us->f[i], NULL), 0);
		}
	}
	for (;;) {
		long k = coop_unordered_poll(us->set, cx);
		if (k == -2)
			break;
		if (k == -1)
			return COOP_PENDING;
		us->finished++;
	}
	coop_cx_set_value(cx, us->finished);
	return COOP_READY;
}

static void unordered_drop(void *state)
{
	struct unordered_state *us = state;

	coop_unordered_free(us->set);
	for (int i = 0; i < 64; i++)
		coop_timer_free(us->sl[i].timer);
}

START_TEST(unordered_set_polls_woken_children)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct unordered_state *us = calloc(1, sizeof(*us));
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, unordered_poll, us, sizeof(*us), unordered_drop, NULL, &h),
			 0);
	free(us);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.value, 64);
	/* Woken children only: far fewer polls than 64 children x 64 rounds. */
	ck_assert_uint_le(o.polls, 200);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* Regression: a child woken during its own poll that finishes in that poll
 * must not be polled (or reported) again. */
struct self_waking {
	int polls;
};

static coop_poll self_waking_poll(coop_cx *cx, void *state)
{
	struct self_waking *sw = state;

	sw->polls++;
	coop_waker_wake_by_ref(coop_cx_waker(cx));
	return COOP_READY;
}

struct self_waking_set {
	coop_unordered *set;
	struct self_waking sw[3];
	coop_future f[3];
	int reported;
};

static coop_poll self_waking_set_poll(coop_cx *cx, void *state)
{
	struct self_waking_set *ss = state;

	if (!ss->set) {
		ck_assert_int_eq(coop_unordered_new(&ss->set), 0);
		for (int i = 0; i < 3; i++) {
			ss->f[i] = (coop_future){self_waking_poll, &ss->sw[i], COOP_PENDING};
			ck_assert_int_eq(coop_unordered_push(ss->set, &ss->f[i], NULL), 0);
		}
	}
	for (;;) {
		long k = coop_unordered_poll(ss->set, cx);
		if (k == -2)
			break;
		if (k == -1)
			return COOP_PENDING;
		ss->reported++;
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ss->sw[i].polls, 1);
	coop_cx_set_value(cx, ss->reported);
	return COOP_READY;
}

static void self_waking_set_drop(void *state)
{
	coop_unordered_free(((struct self_waking_set *)state)->set);
}

START_TEST(unordered_child_woken_while_finishing_is_not_repolled)
{
	coop_rt *rt = test_rt_new(1);
	coop_scope *s = test_scope(rt, NULL, NULL);
	struct self_waking_set ss = {0};
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, self_waking_set_poll, &ss, sizeof(ss), self_waking_set_drop,
				    NULL, &h),
			 0);
	coop_scope_join(s, NULL);
	ck_assert(coop_handle_done(h, &o));
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_int_eq(o.value, 3);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- liveness counted through spawners ------------------------------------------------ */

/* Each task spawns its successor and finishes at once: a 100,000-long line
 * of spawners, each outliving... nothing.  The scope must still wait for
 * the last one, and every block must be freed (ASan checks). */
struct relay {
	_Atomic uint64_t *ran;
	int left;
};

static coop_poll relay_poll(coop_cx *cx, void *state)
{
	struct relay *r = state;

	atomic_fetch_add(r->ran, 1);
	if (r->left > 0) {
		struct relay next = {r->ran, r->left - 1};
		if (coop_spawn(coop_cx_scope(cx), relay_poll, &next, sizeof(next), NULL, NULL,
			       NULL) < 0)
			return COOP_FAILED;
	}
	return COOP_READY;
}

START_TEST(relay_of_spawners_keeps_scope_open)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	_Atomic uint64_t ran = 0;
	struct relay r = {&ran, 100000};
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, relay_poll, &r, sizeof(r), NULL, NULL, NULL), 0);
	coop_scope_join(s, &o);
	ck_assert_uint_eq(atomic_load(&ran), 100001);
	ck_assert_uint_eq(o.polls, 100001);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* A child that outlives the task that spawned it keeps the scope open. */
struct spawn_and_leave {
	coop_waker_cell *cell;
	_Atomic int *released;
};

static coop_poll wait_release_poll(coop_cx *cx, void *state)
{
	struct spawn_and_leave *sl = state;

	coop_waker_cell_register(sl->cell, cx);
	return atomic_load(sl->released) ? COOP_READY : COOP_PENDING;
}

static coop_poll spawn_and_leave_poll(coop_cx *cx, void *state)
{
	struct spawn_and_leave *sl = state;

	if (coop_spawn(coop_cx_scope(cx), wait_release_poll, sl, sizeof(*sl), NULL, NULL, NULL) < 0)
		return COOP_FAILED;
	return COOP_READY; /* the child is still waiting */
}

START_TEST(child_outliving_its_spawner_keeps_scope_open)
{
	coop_rt *rt = test_rt_new(test_worker_counts[_i]);
	coop_scope *s = test_scope(rt, NULL, NULL);
	coop_waker_cell cell = COOP_WAKER_CELL_INIT;
	_Atomic int released = 0;
	struct spawn_and_leave sl = {&cell, &released};
	coop_handle *h;
	coop_outcome o;

	ck_assert_int_eq(coop_spawn(s, spawn_and_leave_poll, &sl, sizeof(sl), NULL, NULL, &h), 0);
	TEST_WAIT_UNTIL(coop_handle_done(h, NULL));
	ck_assert_int_eq(coop_scope_join_timeout(s, 20 * 1000000u, NULL), -ETIMEDOUT);
	ck_assert(!coop_scope_done(s, NULL));
	atomic_store(&released, 1);
	coop_waker_cell_wake(&cell);
	coop_scope_join(s, &o);
	ck_assert_int_eq(o.status, COOP_STATUS_OK);
	ck_assert_uint_ge(o.polls, 2); /* the parent once, the child once or twice */
	ck_assert_uint_le(o.polls, 3);
	coop_waker_cell_clear(&cell);
	coop_handle_free(h);
	coop_scope_free(s);
	test_rt_free_clean(rt);
}
END_TEST

/* ---- two runtimes in one process ---------------------------------------------------- */

START_TEST(two_runtimes_coexist)
{
	coop_rt *a = test_rt_new(2), *b = test_rt_new(1);
	coop_scope *sa = test_scope(a, NULL, NULL), *sb = test_scope(b, NULL, NULL);
	struct fib fa = {15, NULL, NULL}, fb = {16, NULL, NULL};
	coop_handle *ha, *hb;
	coop_outcome oa, ob;

	ck_assert_int_eq(coop_spawn(sa, fib_poll, &fa, sizeof(fa), NULL, NULL, &ha), 0);
	ck_assert_int_eq(coop_spawn(sb, fib_poll, &fb, sizeof(fb), NULL, NULL, &hb), 0);
	coop_scope_join(sa, NULL);
	coop_scope_join(sb, NULL);
	ck_assert(coop_handle_done(ha, &oa) && coop_handle_done(hb, &ob));
	ck_assert_int_eq(oa.value, 610);
	ck_assert_int_eq(ob.value, 987);
	ck_assert_int_eq(coop_rt_current_worker(a), -1);
	coop_handle_free(ha);
	coop_handle_free(hb);
	coop_scope_free(sa);
	coop_scope_free(sb);
	test_rt_free_clean(a);
	test_rt_free_clean(b);
}
END_TEST

START_TEST(reason_names_round_trip)
{
	for (int r = 0; r < COOP_REASON__COUNT; r++) {
		coop_reason back;
		ck_assert_ptr_nonnull(coop_reason_name((coop_reason)r));
		ck_assert_int_eq(coop_reason_parse(coop_reason_name((coop_reason)r), &back), 0);
		ck_assert_int_eq(back, r);
	}
	coop_reason x;
	ck_assert_int_eq(coop_reason_parse("bogus", &x), -EINVAL);
	ck_assert_ptr_null(coop_reason_name(COOP_REASON__COUNT));
}
END_TEST

static Suite *exec_suite(void)
{
	Suite *s = suite_create("lib-exec");
	TCase *tc = tcase_create("executor");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, spawn_and_join_value, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, handle_stats_live_then_final, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, spawn_rejects_bad_arguments);
	tcase_add_loop_test(tc, million_tasks_spawned_and_joined, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, task_memory_returns_when_idle, 0, TEST_NWORKER_COUNTS);
#if defined(__SANITIZE_ADDRESS__)
	tcase_add_loop_test(tc, freed_handle_is_poisoned, 0, TEST_NWORKER_COUNTS);
#endif
	tcase_add_loop_test(tc, fib_tree_joins_children, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, join_runs_unstarted_children_inline);
	tcase_add_loop_test(tc, deep_join_chain_beyond_inline_bound, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, wakes_racing_polls_are_never_lost, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, waking_finished_task_is_noop);
	tcase_add_loop_test(tc, deeply_nested_scopes, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, scope_never_returns_before_children, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, block_on_borrows_stack, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, blocking_pool_bound_and_reaping);
	tcase_add_loop_test(tc, timers_fire_in_order_and_not_early, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, join_all_waits_for_every_future);
	tcase_add_test(tc, select_returns_first_finished);
	tcase_add_loop_test(tc, unordered_set_polls_woken_children, 0, TEST_NWORKER_COUNTS);
	tcase_add_test(tc, unordered_child_woken_while_finishing_is_not_repolled);
	tcase_add_loop_test(tc, relay_of_spawners_keeps_scope_open, 0, TEST_NWORKER_COUNTS);
	tcase_add_loop_test(tc, child_outliving_its_spawner_keeps_scope_open, 0,
			    TEST_NWORKER_COUNTS);
	tcase_add_test(tc, two_runtimes_coexist);
	tcase_add_test(tc, reason_names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(exec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
