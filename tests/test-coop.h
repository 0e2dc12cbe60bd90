/*
 * test-coop.h -- helpers shared by the libcoop Check suites.
 *
 * Suites loop over worker counts with Check's loop tests: _i is an index
 * into test_worker_counts.  Every test ends with test_rt_free_clean, which
 * asserts the runtime is quiet (nothing queued, every spawned task
 * finished) before freeing it; ASan/valgrind then prove nothing leaked.
 */
#ifndef TEST_COOP_H
#define TEST_COOP_H

#include <check.h>
#include <errno.h>
#include <time.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "coop.h"

static const unsigned test_worker_counts[] = {1, 2, 8};
#define TEST_NWORKER_COUNTS 3

static inline coop_rt *test_rt_new(unsigned workers)
{
	coop_rt_options o = {0};
	coop_rt *rt = NULL;

	o.workers = workers;
	ck_assert_int_eq(coop_rt_new(&o, &rt), 0);
	return rt;
}

static inline coop_rt *test_rt_new_opts(const coop_rt_options *o)
{
	coop_rt *rt = NULL;

	ck_assert_int_eq(coop_rt_new(o, &rt), 0);
	return rt;
}

static inline void test_rt_free_clean(coop_rt *rt)
{
	coop_stats st;

	coop_rt_stats(rt, &st);
	ck_assert_uint_eq(st.run_queue_depth, 0);
	ck_assert_uint_eq(st.blocking_queue_depth, 0);
	ck_assert_uint_eq(st.tasks_spawned, st.tasks_finished[COOP_STATUS_OK] +
						    st.tasks_finished[COOP_STATUS_FAILED] +
						    st.tasks_finished[COOP_STATUS_CANCELLED]);
	coop_rt_free(rt);
}

static inline coop_scope *test_scope(coop_rt *rt, coop_scope *parent, const coop_scope_opts *o)
{
	coop_scope *s = NULL;

	ck_assert_int_eq(coop_scope_new(rt, parent, o, &s), 0);
	return s;
}

/* Wait for a condition that some thread will make true, without a timed
 * assertion: Check's test timeout is the only bound. */
#define TEST_WAIT_UNTIL(cond)                               \
	do {                                                \
		while (!(cond)) {                           \
			struct timespec ts_ = {0, 1000000}; \
			nanosleep(&ts_, NULL);              \
		}                                           \
	} while (0)

#endif
