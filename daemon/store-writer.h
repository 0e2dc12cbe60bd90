/*
 * store-writer.h - the state writer thread: the one owner of the write
 * connection to coopd.db, and its group commit.  The loop queues jobs;
 * the writer takes every job queued so far, applies them all in one
 * transaction and commits it once, so that every submit that arrives
 * while a commit is in flight shares the next transaction and its sync.
 * Completions run back on the loop thread.  See docs/durability.md.
 */
#ifndef COOPD_STORE_WRITER_H
#define COOPD_STORE_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

struct store_db;
struct store_writer;

struct store_job {
	struct store_job *next;
	/* Writer thread, inside the batch's transaction: 0 or a negative
	 * errno (which fails the whole batch: it is rolled back). */
	int (*apply)(struct store_db *db, struct store_job *job);
	/* Writer thread, once the transaction has committed (optional). */
	void (*committed)(struct store_job *job);
	/* Loop thread: r is 0 once the job's transaction has committed
	 * (and was synced if durable), else a negative errno.  Owns job. */
	void (*done)(struct store_job *job, int r);
	bool durable; /* its commit must be synced before done runs */
	int r;
	unsigned long long batch; /* the transaction it committed in (1, 2, ...) */
};

/* Starts the writer on db (taken over; path reopens it after a failed
 * commit).  sync false: no syncs at all (benchmarks).  drained(ctx) runs
 * on the loop after each batch of completions. */
int store_writer_start(struct ev_loop *loop, struct store_db *db, const char *path, bool sync,
		       void (*drained)(void *ctx), void *ctx, struct store_writer **ret);
/* Loop thread: queues jobs (a chain linked by next, NULL-terminated) for
 * the next transaction, all of them in the same one. */
void store_writer_queue(struct store_writer *w, struct store_job *jobs);
/* Jobs queued and not yet completed. */
size_t store_writer_pending(const struct store_writer *w);
/* Loop thread: runs the completions that are ready. */
void store_writer_complete(struct store_writer *w);
/* Finishes the queue, joins the thread, runs the last completions and
 * frees w. */
void store_writer_stop(struct store_writer *w);
/* The last transaction known to be on disk: a synced commit covers every
 * commit before it (they are all in the WAL file it fdatasyncs).  With
 * sync off, every committed one. */
unsigned long long store_writer_synced_through(const struct store_writer *w);
/* Transactions committed and jobs applied (stats). */
void store_writer_counts(const struct store_writer *w, unsigned long long *commits,
			 unsigned long long *jobs);

#endif
