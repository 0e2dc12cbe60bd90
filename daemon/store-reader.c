/*
 * store-reader.c - the state reader thread (store-reader.h).
 *
 * One thread, one read-only connection, a queue under a mutex: the loop
 * queues a job and signals; the thread runs jobs one at a time, moves each
 * to the done list and wakes the loop with ev_async, which runs the
 * completions.  Reads are one at a time so that many requests for big
 * trees cost one core at most, never the loop (issue 15).  The next job
 * taken is the oldest of a user other than the one just served, when
 * there is one (as the parse thread does, server-parse.c): a user who
 * queues many reads of big trees, from many connections, delays another
 * user's read by the one in progress, not by all of them.  The thread is
 * created with every signal blocked (docs/architecture.md).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

#include "store-db.h"
#include "store-reader.h"
#include "util-log.h"

struct store_reader {
	struct ev_loop *loop;
	struct store_db *db; /* reader thread only */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock. */
	struct store_read *todo, *todo_tail, *done, *done_tail;
	uid_t last_uid;
	bool served_any;
	bool stop;
	size_t pending; /* loop thread */
	ev_async async;
};

static void push(struct store_read **head, struct store_read **tail, struct store_read *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

/* Under lock: the next job, in turn by user. */
static struct store_read *take(struct store_reader *rd)
{
	struct store_read **pp, **pick = &rd->todo, *job, *prev = NULL, *pick_prev = NULL;

	if (rd->served_any)
		for (pp = &rd->todo; *pp; prev = *pp, pp = &(*pp)->next)
			if ((*pp)->uid != rd->last_uid) {
				pick = pp;
				pick_prev = prev;
				break;
			}
	job = *pick;
	*pick = job->next;
	if (rd->todo_tail == job)
		rd->todo_tail = pick_prev;
	rd->last_uid = job->uid;
	rd->served_any = true;
	return job;
}

static void *reader_main(void *arg)
{
	struct store_reader *rd = arg;

	for (;;) {
		struct store_read *job;

		pthread_mutex_lock(&rd->lock);
		while (!rd->todo && !rd->stop)
			pthread_cond_wait(&rd->cond, &rd->lock);
		if (rd->stop) {
			pthread_mutex_unlock(&rd->lock);
			return NULL;
		}
		job = take(rd);
		pthread_mutex_unlock(&rd->lock);

		job->run(rd->db, job);

		pthread_mutex_lock(&rd->lock);
		push(&rd->done, &rd->done_tail, job);
		pthread_mutex_unlock(&rd->lock);
		ev_async_send(rd->loop, &rd->async);
	}
}

/* Loop thread: the completions of the jobs done so far. */
static void reader_complete(struct store_reader *rd)
{
	struct store_read *list, *job;

	pthread_mutex_lock(&rd->lock);
	list = rd->done;
	rd->done = rd->done_tail = NULL;
	pthread_mutex_unlock(&rd->lock);
	while ((job = list)) {
		list = job->next;
		rd->pending--;
		job->done(job, job->r);
	}
}

static void async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	reader_complete(a->data);
}

int store_reader_start(struct ev_loop *loop, const char *path, struct store_reader **ret)
{
	struct store_reader *rd = calloc(1, sizeof(*rd));
	sigset_t all, old;
	int r;

	if (!rd)
		return -ENOMEM;
	r = store_db_open(path, true, &rd->db);
	if (r < 0) {
		free(rd);
		return r;
	}
	rd->loop = loop;
	pthread_mutex_init(&rd->lock, NULL);
	pthread_cond_init(&rd->cond, NULL);
	ev_async_init(&rd->async, async_cb);
	rd->async.data = rd;
	ev_async_start(loop, &rd->async);
	/* The loop's signals are handled on the loop thread only. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&rd->thread, NULL, reader_main, rd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		ev_async_stop(loop, &rd->async);
		pthread_cond_destroy(&rd->cond);
		pthread_mutex_destroy(&rd->lock);
		store_db_close(rd->db);
		free(rd);
		return r;
	}
	*ret = rd;
	return 0;
}

void store_reader_queue(struct store_reader *rd, struct store_read *job)
{
	pthread_mutex_lock(&rd->lock);
	push(&rd->todo, &rd->todo_tail, job);
	pthread_cond_signal(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
	rd->pending++;
}

size_t store_reader_pending(const struct store_reader *rd)
{
	return rd ? rd->pending : 0;
}

void store_reader_stop(struct store_reader *rd)
{
	struct store_read *job;

	if (!rd)
		return;
	pthread_mutex_lock(&rd->lock);
	rd->stop = true;
	pthread_cond_signal(&rd->cond);
	pthread_mutex_unlock(&rd->lock);
	pthread_join(rd->thread, NULL);
	reader_complete(rd);
	while ((job = rd->todo)) {
		rd->todo = job->next;
		rd->pending--;
		job->done(job, -ESHUTDOWN);
	}
	ev_async_stop(rd->loop, &rd->async);
	pthread_cond_destroy(&rd->cond);
	pthread_mutex_destroy(&rd->lock);
	store_db_close(rd->db);
	free(rd);
}
