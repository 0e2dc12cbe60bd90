/*
 * reactor-inbox.c - intrusive mailbox of nodes, drained on the loop thread.
 *
 * Lock order: the inbox lock is a leaf: nothing else is taken while it is
 * held (libcoop calls are made outside it).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "reactor-inbox.h"
#include "util-log.h"

struct reactor_inbox {
	struct coopd *d;
	ev_async async;
	pthread_mutex_t lock;
	struct rnode *head, *tail;
};

/* Mail handled per loop iteration: 200,000 nodes ending together took
 * the loop for 0.1 s at a time, and their dependents are launched in
 * slices anyway (graph-run.c).  At most INBOX_SLICE nodes and about
 * INBOX_SLICE_NS (an exec node's mail may fork its process, a millisecond
 * or more on a loaded machine); the rest waits for the next iteration, in
 * order, so that other clients are served in between. */
#define INBOX_SLICE 256
#define INBOX_SLICE_NS 2000000u

static bool inbox_drain_some(struct reactor_inbox *ib, size_t max);

static void inbox_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct reactor_inbox *ib = w->data;

	if (inbox_drain_some(ib, INBOX_SLICE))
		ev_async_send(loop, &ib->async);
}

int reactor_inbox_new(struct coopd *d, struct reactor_inbox **ret)
{
	struct reactor_inbox *ib = calloc(1, sizeof(*ib));

	if (!ib)
		return -ENOMEM;
	ib->d = d;
	pthread_mutex_init(&ib->lock, NULL);
	ev_async_init(&ib->async, inbox_async_cb);
	ib->async.data = ib;
	ev_async_start(d->loop, &ib->async);
	ev_unref(d->loop);
	*ret = ib;
	return 0;
}

void reactor_inbox_free(struct reactor_inbox *ib)
{
	if (!ib)
		return;
	ev_ref(ib->d->loop);
	ev_async_stop(ib->d->loop, &ib->async);
	pthread_mutex_destroy(&ib->lock);
	free(ib);
}

/* Sets bits on n and links it if it was not linked.  Called with the lock. */
static bool inbox_link_locked(struct reactor_inbox *ib, struct rnode *n, unsigned bits)
{
	bool was_empty = n->mail_bits == 0;

	n->mail_bits |= bits;
	if (was_empty) {
		n->mail_next = NULL;
		if (ib->tail)
			ib->tail->mail_next = n;
		else
			ib->head = n;
		ib->tail = n;
	}
	return was_empty;
}

void inbox_post_started_quiet(struct reactor_inbox *ib, struct rnode *n, uint64_t mono_ns)
{
	pthread_mutex_lock(&ib->lock);
	n->mail_started_ns = mono_ns;
	inbox_link_locked(ib, n, MAIL_STARTED);
	pthread_mutex_unlock(&ib->lock);
}

void inbox_wake(struct reactor_inbox *ib)
{
	ev_async_send(ib->d->loop, &ib->async);
}

void inbox_post_started(struct reactor_inbox *ib, struct rnode *n, uint64_t mono_ns)
{
	inbox_post_started_quiet(ib, n, mono_ns);
	inbox_wake(ib);
}

void inbox_post_done(struct reactor_inbox *ib, struct rnode *n)
{
	pthread_mutex_lock(&ib->lock);
	inbox_link_locked(ib, n, MAIL_DONE);
	pthread_mutex_unlock(&ib->lock);
	ev_async_send(ib->d->loop, &ib->async);
}

void inbox_post_attempt(struct reactor_inbox *ib, struct rnode *n, unsigned started, unsigned done)
{
	pthread_mutex_lock(&ib->lock);
	n->mail_att_started = (uint8_t)started;
	n->mail_att_done = (uint8_t)done;
	inbox_link_locked(ib, n, MAIL_ATTEMPT);
	pthread_mutex_unlock(&ib->lock);
	ev_async_send(ib->d->loop, &ib->async);
}

void inbox_post_exec(struct reactor_inbox *ib, struct rnode *n, unsigned bit, coop_reason reason)
{
	pthread_mutex_lock(&ib->lock);
	if (bit == MAIL_EXEC_KILL)
		n->mail_reason = (int)reason;
	inbox_link_locked(ib, n, bit);
	pthread_mutex_unlock(&ib->lock);
	ev_async_send(ib->d->loop, &ib->async);
}

/* The final outcome of an ended node, from libcoop. */
static bool node_outcome(struct rnode *n, coop_outcome *ret)
{
	if (n->def->kind == PROTO_NODE_SCOPE)
		return n->scope && coop_scope_done(n->scope, ret);
	return n->handle && coop_handle_done(n->handle, ret);
}

void inbox_drain(struct reactor_inbox *ib)
{
	while (inbox_drain_some(ib, SIZE_MAX))
		;
}

/* Handles at most max nodes' mail; true if some is left. */
static bool inbox_drain_some(struct reactor_inbox *ib, size_t max)
{
	uint64_t until = max == SIZE_MAX ? UINT64_MAX : coop_now_ns() + INBOX_SLICE_NS;

	for (; max > 0; max--) {
		if (max != SIZE_MAX && coop_now_ns() > until)
			break;
		struct rnode *n;
		unsigned bits;
		uint64_t started;
		int reason;
		unsigned att_started, att_done;
		coop_outcome outcome = {0};

		pthread_mutex_lock(&ib->lock);
		n = ib->head;
		if (!n) {
			pthread_mutex_unlock(&ib->lock);
			return false;
		}
		ib->head = n->mail_next;
		if (!ib->head)
			ib->tail = NULL;
		bits = n->mail_bits;
		n->mail_bits = 0;
		started = n->mail_started_ns;
		reason = n->mail_reason;
		att_started = n->mail_att_started;
		att_done = n->mail_att_done;
		pthread_mutex_unlock(&ib->lock);

		if (bits & MAIL_ATTEMPT)
			graph_run_attempts(ib->d, n, att_started, att_done);

		if ((bits & MAIL_DONE) && !node_outcome(n, &outcome)) {
			/* libcoop woke the end's waker; it must agree. */
			log_err("graph %s node %s: ended without an outcome", n->g->id,
				n->def->path);
			outcome.status = COOP_STATUS_FAILED;
		}

		graph_run_mail(ib->d, n, bits, started, reason, &outcome);
	}
	pthread_mutex_lock(&ib->lock);
	max = ib->head != NULL;
	pthread_mutex_unlock(&ib->lock);
	return max;
}
