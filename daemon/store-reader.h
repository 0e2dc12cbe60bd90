/*
 * store-reader.h - the state reader thread: reads that take long (a
 * settled graph's whole tree: its document parsed again, its node rows
 * applied; about a second for 100,000 nodes) run here, on the thread's
 * own read-only connection to coopd.db (WAL: readers never block the
 * writer nor each other), instead of on the loop.  Completions run back
 * on the loop thread, as the writer's do (store-writer.h).  Jobs are
 * taken in turn by the user who asked, so that one user's reads of big
 * trees delay another user's read by one read at most.
 */
#ifndef COOPD_STORE_READER_H
#define COOPD_STORE_READER_H

#include <ev.h>
#include <stddef.h>
#include <sys/types.h>

struct store_db;
struct store_reader;

struct store_read {
	struct store_read *next;
	/* Reader thread: the read (it may touch only what the job owns). */
	void (*run)(struct store_db *db, struct store_read *job);
	/* Loop thread, once run has returned (or with r -ESHUTDOWN, run not
	 * called, when the reader stops first).  Owns job. */
	void (*done)(struct store_read *job, int r);
	int r;     /* set by run */
	uid_t uid; /* who asked: jobs are taken in turn by uid */
};

/* Starts the reader with its own read-only connection to path. */
int store_reader_start(struct ev_loop *loop, const char *path, struct store_reader **ret);
/* Loop thread: queues job. */
void store_reader_queue(struct store_reader *rd, struct store_read *job);
/* Loop thread: jobs queued or running, not yet completed. */
size_t store_reader_pending(const struct store_reader *rd);
/* Stops the thread after the read in progress; jobs not run complete
 * with -ESHUTDOWN; frees rd. */
void store_reader_stop(struct store_reader *rd);

#endif
