/*
 * suite-store-writer.c - Check suite for the state writer's hand-off
 * (daemon/store-writer.c) with a real database and loop, no daemon: every
 * job queued is applied once and completed once on the loop, whether it
 * reached a writer asleep or one busy committing (chains queued in bursts
 * leave the writer wake-ups whose jobs an earlier wake took); a chain
 * shares one transaction; a stop with jobs still queued applies and
 * completes them all before it returns.
 *
 * Nothing is timed: a lost wake-up would leave ev_run() waiting, which
 * the case's timeout (a hang guard) turns into a failure.
 */
#include "config.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-db.h"
#include "store-writer.h"

#define MAX_JOBS 4096

struct tjob {
	struct store_job job; /* first: the writer hands it back */
	size_t i;
	size_t chain;
};

static char dir[] = "/tmp/suite-store-writer.XXXXXX";
static char path[256];
static struct ev_loop *loop;
/* The writer's own watcher does not keep the loop running (coopd's socket
 * does): this one does, so that ev_run(EVRUN_ONCE) waits for it. */
static ev_async keep_alive;
static atomic_int applied[MAX_JOBS]; /* writer thread */
static int done[MAX_JOBS];           /* loop thread */
static unsigned long long batch_of[MAX_JOBS];
static size_t chain_of[MAX_JOBS];
static size_t n_jobs;

static void setup(void)
{
	strcpy(dir, "/tmp/suite-store-writer.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ev_async_init(&keep_alive, NULL);
	ev_async_start(loop, &keep_alive);
	for (size_t i = 0; i < MAX_JOBS; i++) {
		atomic_store(&applied[i], 0);
		done[i] = 0;
		batch_of[i] = 0;
		chain_of[i] = 0;
	}
	n_jobs = 0;
}

static void teardown(void)
{
	char cmd[512];

	ev_async_stop(loop, &keep_alive);
	ev_loop_destroy(loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writer thread: a row of its own in the meta table, so that the
 * transaction writes something. */
static int tjob_apply(struct store_db *db, struct store_job *job)
{
	struct tjob *t = (struct tjob *)job;
	char key[32];

	atomic_fetch_add(&applied[t->i], 1);
	snprintf(key, sizeof(key), "job%zu", t->i);
	return store_db_meta_set(db, key, (int64_t)t->i);
}

static void tjob_done(struct store_job *job, int r)
{
	struct tjob *t = (struct tjob *)job;

	ck_assert_int_eq(r, 0);
	done[t->i]++;
	batch_of[t->i] = job->batch;
	chain_of[t->i] = t->chain;
	free(t);
}

/* A chain of n new jobs, numbered from n_jobs on. */
static struct store_job *chain(size_t n, size_t id)
{
	struct store_job *head = NULL, **tail = &head;

	for (size_t k = 0; k < n; k++) {
		struct tjob *t = calloc(1, sizeof(*t));

		ck_assert_ptr_nonnull(t);
		ck_assert_uint_lt(n_jobs, MAX_JOBS);
		t->i = n_jobs++;
		t->chain = id;
		t->job.apply = tjob_apply;
		t->job.done = tjob_done;
		*tail = &t->job;
		tail = &t->job.next;
	}
	return head;
}

static struct store_writer *start(void)
{
	struct store_db *db;
	struct store_writer *w;

	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	/* sync off: the hand-off is what is tested, not the disk. */
	ck_assert_int_eq(store_writer_start(loop, db, path, false, NULL, NULL, &w), 0);
	return w;
}

/* Every job applied once and completed once; the jobs of a chain in one
 * transaction. */
static void check_all_once(void)
{
	for (size_t i = 0; i < n_jobs; i++) {
		ck_assert_int_eq(atomic_load(&applied[i]), 1);
		ck_assert_int_eq(done[i], 1);
		ck_assert_uint_gt(batch_of[i], 0);
		if (i > 0 && chain_of[i] == chain_of[i - 1])
			ck_assert_uint_eq(batch_of[i], batch_of[i - 1]);
	}
}

START_TEST(test_bursts)
{
	struct store_writer *w = start();
	unsigned long long commits, jobs;
	size_t chains = 0;

	/* Round r queues r % 5 + 1 chains of 1 to 3 jobs without letting the
	 * loop run in between: the writer is asleep for the first of them
	 * and (often) busy for the rest. */
	for (size_t r = 0; r < 300; r++) {
		for (size_t c = 0; c <= r % 5; c++, chains++)
			store_writer_queue(w, chain(c % 3 + 1, chains));
		while (store_writer_pending(w) > 0)
			ev_run(loop, EVRUN_ONCE);
	}
	check_all_once();
	store_writer_counts(w, &commits, &jobs);
	ck_assert_uint_eq(jobs, n_jobs);
	ck_assert_uint_ge(commits, 300);
	ck_assert_uint_le(commits, chains);
	store_writer_stop(w);
}
END_TEST

START_TEST(test_stop_with_queue)
{
	struct store_writer *w = start();

	/* Queued, and the writer stopped at once: stop returns once every
	 * job is applied, and runs the last completions itself. */
	for (size_t c = 0; c < 50; c++)
		store_writer_queue(w, chain(c % 4 + 1, c));
	store_writer_stop(w);
	check_all_once();
}
END_TEST

START_TEST(test_idle_stop)
{
	/* A writer that never had a job stops too. */
	store_writer_stop(start());
	ck_assert_uint_eq(n_jobs, 0);
}
END_TEST

static Suite *store_writer_suite(void)
{
	Suite *s = suite_create("store-writer");
	TCase *tc = tcase_create("writer");

	tcase_add_checked_fixture(tc, setup, teardown);
	/* A hang guard, not a timing: a lost wake-up never ends. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bursts);
	tcase_add_test(tc, test_stop_with_queue);
	tcase_add_test(tc, test_idle_stop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_writer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
