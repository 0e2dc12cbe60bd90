/*
 * coop-inject.c -- the injection queue: runnable tasks from outside the
 * workers, and tasks that used up their budget.
 *
 * A FIFO of task pointers in segments of COOP__INJECT_SEG_SLOTS (2 KiB:
 * 100,000 queued tasks take 394 of them), under one mutex.  It was an
 * intrusive list through the tasks once; but then taking a batch
 * meant walking it, one dependent cache miss per task, all of it under the
 * lock.  Draining a cancelled scope of 100,000 queued tasks is little more
 * than that walk.  With an array, a batch is a copy of pointers, and the
 * tasks themselves are touched after the unlock, all of a batch's misses at
 * once (the caller prefetches them).
 *
 * Pushing must never fail (coop__schedule has nobody to report to), so if
 * no segment can be allocated the task goes on an overflow list threaded
 * through coop__task.qnext.  The overflow list is always younger than every
 * slot: a push uses the segments only while the overflow list is empty, and
 * a pop takes the overflow list only when the segments are empty.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "coop-internal.h"

struct coop__inject_seg {
	struct coop__inject_seg *next;
	uint32_t head, tail; /* slots [head, tail) are queued */
	struct coop__task *slot[COOP__INJECT_SEG_SLOTS];
};

int coop__inject_init(struct coop__inject *q)
{
	q->head = q->tail = q->spare = NULL;
	q->ovf_head = q->ovf_tail = NULL;
	atomic_init(&q->len, 0);
	return coop__mutex_init(&q->lock);
}

void coop__inject_destroy(struct coop__inject *q)
{
	while (q->head) {
		struct coop__inject_seg *s = q->head;
		q->head = s->next;
		free(s);
	}
	free(q->spare);
	q->tail = q->spare = NULL;
	pthread_mutex_destroy(&q->lock);
}

static void len_add(struct coop__inject *q, int64_t n)
{
	/* relaxed load + store under q->lock (the only writers hold it): len
	 * is a hint for readers outside the lock, who take the lock before
	 * they rely on it; the tasks themselves are handed over by the lock. */
	atomic_store_explicit(&q->len,
			      atomic_load_explicit(&q->len, memory_order_relaxed) + (uint64_t)n,
			      memory_order_relaxed);
}

/* Under q->lock: a slot at the tail, or false if a segment is needed. */
static bool push_slot(struct coop__inject *q, struct coop__task *t)
{
	struct coop__inject_seg *s = q->tail;

	if (q->ovf_head || !s || s->tail == COOP__INJECT_SEG_SLOTS) {
		if (q->ovf_head || !q->spare)
			return false;
		s = q->spare;
		q->spare = NULL;
		s->next = NULL;
		s->head = s->tail = 0;
		if (q->tail)
			q->tail->next = s;
		else
			q->head = s;
		q->tail = s;
	}
	s->slot[s->tail++] = t;
	return true;
}

/* Under q->lock: behind every slot (see the file comment). */
static void push_overflow(struct coop__inject *q, struct coop__task *t)
{
	t->qnext = NULL;
	if (q->ovf_tail)
		q->ovf_tail->qnext = t;
	else
		q->ovf_head = t;
	q->ovf_tail = t;
}

void coop__inject_push(struct coop__inject *q, struct coop__task *t)
{
	bool tried = false;

	pthread_mutex_lock(&q->lock);
	while (!push_slot(q, t)) {
		if (q->ovf_head || tried) {
			push_overflow(q, t);
			break;
		}
		/* A segment is needed: allocated outside the lock.  Another
		 * pusher may have done the same meanwhile (rare): one spare is
		 * enough. */
		pthread_mutex_unlock(&q->lock);
		struct coop__inject_seg *s = malloc(sizeof(*s));
		pthread_mutex_lock(&q->lock);
		tried = true;
		if (s && q->spare)
			free(s);
		else if (s)
			q->spare = s;
	}
	len_add(q, 1);
	pthread_mutex_unlock(&q->lock);
}

unsigned coop__inject_pop(struct coop__inject *q, struct coop__task **out, unsigned max,
			  unsigned share)
{
	struct coop__inject_seg *dead = NULL;
	unsigned n = 0;

	/* relaxed: a hint; an empty queue is not worth the lock. */
	if (atomic_load_explicit(&q->len, memory_order_relaxed) == 0)
		return 0;
	pthread_mutex_lock(&q->lock);
	uint64_t len = atomic_load_explicit(&q->len, memory_order_relaxed);
	/* Leave some for the others: at most a 1/share part, rounded up. */
	uint64_t want = share > 1 ? len / share + 1 : len;
	if (want > max)
		want = max;
	while (n < want && q->head) {
		struct coop__inject_seg *s = q->head;
		while (n < want && s->head < s->tail)
			out[n++] = s->slot[s->head++];
		if (s->head < s->tail)
			break;
		if (s == q->tail && s->tail < COOP__INJECT_SEG_SLOTS) {
			/* The tail segment, empty but with room: reuse it. */
			s->head = s->tail = 0;
			break;
		}
		q->head = s->next;
		if (!q->head)
			q->tail = NULL;
		if (!q->spare) {
			q->spare = s;
		} else {
			s->next = dead;
			dead = s;
		}
	}
	while (n < want && q->ovf_head) {
		struct coop__task *t = q->ovf_head;
		q->ovf_head = t->qnext;
		if (!q->ovf_head)
			q->ovf_tail = NULL;
		out[n++] = t;
	}
	len_add(q, -(int64_t)n);
	pthread_mutex_unlock(&q->lock);
	while (dead) {
		struct coop__inject_seg *s = dead;
		dead = s->next;
		free(s);
	}
	return n;
}
