/*
 * store-writer.c - the writer thread and its group commit.
 *
 * The loop appends jobs to `todo` under the lock and posts.  The writer
 * takes the whole list, opens one transaction (synchronous = FULL if any
 * job in it is durable, else NORMAL: docs/durability.md says why), applies
 * every job, commits, and moves the jobs to `done`; an ev_async wakes the
 * loop, which runs each job's completion.  While the writer commits, new
 * jobs pile up in `todo` and all go into the next transaction: with 16
 * clients submitting, one fdatasync of the WAL answers many submits.
 *
 * The writer sleeps on a semaphore, not a condition variable: glibc's
 * pthread_cond_wait takes the mutex back marked as contended, so the
 * writer's next unlock was a futex wake every submit, and a writer woken
 * while the loop still held the lock slept again on it (a third of the
 * submits of one client).  A post for every queued chain, and a writer
 * that takes the whole list each time it wakes, lose no job: a post made
 * after the writer took the list leaves the semaphore above 0, so its next
 * wait returns at once (and finds the list empty, or not).
 *
 * A failed statement or commit (disk full, read-only, a failing fsync)
 * rolls the transaction back and fails every job of the batch with the
 * errno; the connection is then closed and opened again, so that no state
 * of the failed transaction (SQLite's pager error state, pages the kernel
 * may have dropped after a failed fsync) carries over into the next one.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store-db.h"
#include "store-writer.h"
#include "util-log.h"

struct store_writer {
	struct ev_loop *loop;
	struct store_db *db; /* writer thread only (NULL: reopen it) */
	char *path;
	bool sync;
	void (*drained)(void *ctx);
	void *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	sem_t wake; /* posted once per queued chain and by stop */
	/* Under lock. */
	struct store_job *todo, *todo_tail, *done, *done_tail;
	bool stop;
	size_t pending; /* loop thread */
	ev_async async;
	atomic_ullong commits, jobs;
	atomic_ullong synced_through; /* last batch covered by a sync */
	int failing; /* writer: the errno of the last failed batch, 0 after a commit */
};

static void append(struct store_job **head, struct store_job **tail, struct store_job *list)
{
	for (struct store_job *job = list, *next; job; job = next) {
		next = job->next;
		job->next = NULL;
		if (*tail)
			(*tail)->next = job;
		else
			*head = job;
		*tail = job;
	}
}

/* Applies one batch in one transaction; sets every job's r. */
static void run_batch(struct store_writer *w, struct store_job *batch)
{
	struct store_job *job;
	bool durable = false;
	unsigned long long n;
	int r;

	if (!w->db) {
		r = store_db_open(w->path, false, &w->db);
		if (r < 0) {
			w->db = NULL;
			goto fail;
		}
	}
	for (job = batch; job; job = job->next)
		durable |= job->durable;
	if ((r = store_db_begin(w->db, durable, w->sync)) < 0)
		goto fail;
	for (job = batch; job; job = job->next)
		if ((r = job->apply(w->db, job)) < 0)
			goto fail;
	if ((r = store_db_commit(w->db)) < 0)
		goto fail;
	if (w->failing)
		log_notice("state database %s: transactions commit again", w->path);
	w->failing = 0;
	n = atomic_fetch_add_explicit(&w->commits, 1, memory_order_relaxed) + 1;
	if (durable || !w->sync)
		atomic_store_explicit(&w->synced_through, n, memory_order_release);
	for (job = batch; job; job = job->next) {
		job->r = 0;
		job->batch = n;
		if (job->committed)
			job->committed(job);
		atomic_fetch_add_explicit(&w->jobs, 1, memory_order_relaxed);
	}
	return;
fail:
	if (w->db) {
		/* Once per kind of failure: a full disk retried every second
		 * must not flood the log. */
		if (w->failing != r && r == -EBADMSG)
			/* Not moved aside while coopd runs: the running graphs
			 * live in it (docs/durability.md, "Damage"). */
			log_err("state database %s: %s (the file is damaged); the transaction "
				"is rolled back (logged once until it changes); coopd serves on: "
				"stop it to recover the file or move it aside",
				w->path, store_db_errmsg(w->db));
		else if (w->failing != r)
			log_err("state database %s: %s (%s); the transaction is rolled back "
				"(logged once until it changes)",
				w->path, store_db_errmsg(w->db), store_db_errtext(r));
		store_db_rollback(w->db);
		store_db_close(w->db);
		w->db = NULL;
		/* The failed transaction's frames may be in the WAL file, with
		 * its commit mark: a crash before the next commit would find
		 * them on recovery.  Checkpointing what is committed and
		 * truncating the WAL drops them (best effort: with the disk
		 * still failing, the next commit overwrites them instead). */
		if (store_db_open(w->path, false, &w->db) == 0)
			(void)store_db_checkpoint(w->db, true);
		else
			w->db = NULL;
	} else if (w->failing != r) {
		log_err("cannot open the state database %s: %s", w->path, store_db_errtext(r));
	}
	w->failing = r;
	for (job = batch; job; job = job->next)
		job->r = r;
}

static void *writer_main(void *arg)
{
	struct store_writer *w = arg;

	for (;;) {
		struct store_job *batch;
		bool stop;

		while (sem_wait(&w->wake) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&w->lock);
		batch = w->todo;
		w->todo = w->todo_tail = NULL;
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (!batch) {
			if (stop)
				return NULL;
			continue; /* a post whose jobs an earlier wake took */
		}

		run_batch(w, batch);

		pthread_mutex_lock(&w->lock);
		append(&w->done, &w->done_tail, batch);
		pthread_mutex_unlock(&w->lock);
		ev_async_send(w->loop, &w->async);
	}
}

static void async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	store_writer_complete(a->data);
}

int store_writer_start(struct ev_loop *loop, struct store_db *db, const char *path, bool sync,
		       void (*drained)(void *ctx), void *ctx, struct store_writer **ret)
{
	struct store_writer *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int r;

	if (!w || !(w->path = strdup(path))) {
		free(w);
		return -ENOMEM;
	}
	w->loop = loop;
	w->db = db;
	w->sync = sync;
	w->drained = drained;
	w->ctx = ctx;
	pthread_mutex_init(&w->lock, NULL);
	if (sem_init(&w->wake, 0, 0) < 0) {
		r = -errno;
		pthread_mutex_destroy(&w->lock);
		free(w->path);
		free(w);
		return r;
	}
	ev_async_init(&w->async, async_cb);
	w->async.data = w;
	ev_async_start(loop, &w->async);
	ev_unref(loop);
	/* The writer takes no signals (libev's handlers run on the loop). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		ev_ref(loop);
		ev_async_stop(loop, &w->async);
		sem_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w->path);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void store_writer_queue(struct store_writer *w, struct store_job *jobs)
{
	size_t n = 0;

	for (struct store_job *job = jobs; job; job = job->next)
		n++;
	/* One post for the chain: the writer takes it whole into one
	 * transaction (a submit and the settles that waited for it).  After
	 * the unlock, so that the writer it wakes finds the lock free. */
	pthread_mutex_lock(&w->lock);
	append(&w->todo, &w->todo_tail, jobs);
	pthread_mutex_unlock(&w->lock);
	(void)sem_post(&w->wake);
	w->pending += n;
}

size_t store_writer_pending(const struct store_writer *w)
{
	return w ? w->pending : 0;
}

void store_writer_complete(struct store_writer *w)
{
	struct store_job *job, *next;

	pthread_mutex_lock(&w->lock);
	job = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	for (; job; job = next) {
		next = job->next;
		w->pending--;
		job->done(job, job->r);
	}
	if (w->drained)
		w->drained(w->ctx);
}

void store_writer_stop(struct store_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->lock);
	(void)sem_post(&w->wake);
	pthread_join(w->thread, NULL);
	w->drained = NULL;
	store_writer_complete(w);
	ev_ref(w->loop);
	ev_async_stop(w->loop, &w->async);
	store_db_close(w->db);
	sem_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w->path);
	free(w);
}

unsigned long long store_writer_synced_through(const struct store_writer *w)
{
	return w ? atomic_load_explicit(&w->synced_through, memory_order_acquire) : 0;
}

void store_writer_counts(const struct store_writer *w, unsigned long long *commits,
			 unsigned long long *jobs)
{
	*commits = w ? atomic_load_explicit(&w->commits, memory_order_relaxed) : 0;
	*jobs = w ? atomic_load_explicit(&w->jobs, memory_order_relaxed) : 0;
}
