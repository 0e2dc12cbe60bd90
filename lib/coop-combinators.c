/*
 * coop-combinators.c -- polling several futures from one task: join-all,
 * select, and an unordered set.
 *
 * All three honour the budget's preempted flag: once it is set, the rest of
 * the children are left for the next poll (the runtime re-queues the task)
 * and each child left out is counted as a short-circuit.  This is the fix
 * for the pathology of futures-rs issue 2526, where a FuturesUnordered of
 * many ready children polled every one of them only to have each refused by
 * the exhausted budget.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "coop-internal.h"

static void add_short_circuits(coop_cx *cx, size_t n)
{
	cx->budget->short_circuits += (uint32_t)n;
}

coop_poll coop_join_all(coop_cx *cx, coop_future *futures, size_t n)
{
	bool all = true;

	for (size_t i = 0; i < n; i++) {
		if (futures[i].result != COOP_PENDING)
			continue;
		if (coop_cx_preempted(cx)) {
			size_t left = 0;
			for (size_t j = i; j < n; j++)
				left += futures[j].result == COOP_PENDING;
			add_short_circuits(cx, left);
			return COOP_PENDING;
		}
		coop_poll r = futures[i].poll(cx, futures[i].state);
		if (r != COOP_PENDING)
			futures[i].result = r;
		else
			all = false;
	}
	return all ? COOP_READY : COOP_PENDING;
}

long coop_select(coop_cx *cx, coop_future *futures, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (coop_cx_preempted(cx)) {
			add_short_circuits(cx, n - i);
			return -1;
		}
		coop_poll r = futures[i].poll(cx, futures[i].state);
		if (r != COOP_PENDING) {
			futures[i].result = r;
			return (long)i;
		}
	}
	return -1;
}

/* ---- the unordered set --------------------------------------------------------- */

/*
 * Shared between the set and the wakers of its children, which may outlive
 * the set: it is freed when the set and every child are gone.
 */
struct unordered_inner {
	pthread_mutex_t lock;
	_Atomic uint32_t refs;
	coop_waker parent;                   /* (lock) the task polling the set */
	struct unordered_child *head, *tail; /* (lock) ready queue */
	size_t queued;                       /* (lock) */
};

struct unordered_child {
	struct unordered_inner *inner;
	coop_future *future;
	size_t index;
	_Atomic uint32_t refs;        /* the set's, and each waker's */
	bool queued, done;            /* (inner lock) */
	struct unordered_child *next; /* (inner lock) ready queue link */
};

struct coop_unordered {
	struct unordered_inner *inner;
	struct unordered_child **children;
	size_t n, cap, live;
};

static void inner_unref(struct unordered_inner *in)
{
	/* acq_rel: as for tasks. */
	if (atomic_fetch_sub_explicit(&in->refs, 1, memory_order_acq_rel) != 1)
		return;
	coop_waker_drop(in->parent);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

static void child_unref(struct unordered_child *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	inner_unref(c->inner);
	free(c);
}

/* Queue a child as ready (inner lock held). */
static void enqueue(struct unordered_inner *in, struct unordered_child *c)
{
	if (c->queued || c->done)
		return;
	c->queued = true;
	c->next = NULL;
	if (in->tail)
		in->tail->next = c;
	else
		in->head = c;
	in->tail = c;
	in->queued++;
}

static void *child_waker_clone(void *data)
{
	struct unordered_child *c = data;

	/* relaxed: made from an existing reference. */
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

static void child_waker_wake_by_ref(void *data)
{
	struct unordered_child *c = data;
	struct unordered_inner *in = c->inner;
	coop_waker parent = {NULL, NULL};

	pthread_mutex_lock(&in->lock);
	if (!c->queued && !c->done) {
		enqueue(in, c);
		parent = coop_waker_clone(in->parent);
	}
	pthread_mutex_unlock(&in->lock);
	coop_waker_wake(parent);
}

static void child_waker_wake(void *data)
{
	child_waker_wake_by_ref(data);
	child_unref(data);
}

static void child_waker_drop(void *data)
{
	child_unref(data);
}

static const coop_waker_vtable child_waker_vtable = {
	child_waker_clone,
	child_waker_wake,
	child_waker_wake_by_ref,
	child_waker_drop,
};

int coop_unordered_new(coop_unordered **ret_set)
{
	coop_unordered *set = calloc(1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	set->inner = calloc(1, sizeof(*set->inner));
	if (!set->inner) {
		free(set);
		return -ENOMEM;
	}
	(void)coop__mutex_init(&set->inner->lock);
	atomic_init(&set->inner->refs, 1);
	*ret_set = set;
	return 0;
}

int coop_unordered_push(coop_unordered *set, coop_future *future, size_t *ret_index)
{
	struct unordered_child *c;

	if (!set || !future || !future->poll)
		return -EINVAL;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		struct unordered_child **v = realloc(set->children, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		set->children = v;
		set->cap = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->inner = set->inner;
	c->future = future;
	c->index = set->n;
	atomic_init(&c->refs, 1);
	atomic_fetch_add_explicit(&set->inner->refs, 1, memory_order_relaxed);
	future->result = COOP_PENDING;
	set->children[set->n++] = c;
	set->live++;
	pthread_mutex_lock(&set->inner->lock);
	enqueue(set->inner, c); /* polled on the next poll of the set */
	pthread_mutex_unlock(&set->inner->lock);
	if (ret_index)
		*ret_index = c->index;
	return 0;
}

size_t coop_unordered_len(const coop_unordered *set)
{
	return set->live;
}

long coop_unordered_poll(coop_unordered *set, coop_cx *cx)
{
	struct unordered_inner *in = set->inner;
	coop_waker mine = coop_cx_waker(cx), old = {NULL, NULL};

	pthread_mutex_lock(&in->lock);
	if (in->parent.vtable != mine.vtable || in->parent.data != mine.data) {
		old = in->parent;
		in->parent = coop_waker_clone(mine);
	}
	pthread_mutex_unlock(&in->lock);
	coop_waker_drop(old);

	for (;;) {
		struct unordered_child *c;

		pthread_mutex_lock(&in->lock);
		if (coop_cx_preempted(cx)) {
			add_short_circuits(cx, in->queued);
			pthread_mutex_unlock(&in->lock);
			return -1;
		}
		/* A child can be woken while it is being polled and then
		 * finish in that poll: skip finished children left in line. */
		do {
			c = in->head;
			if (c) {
				in->head = c->next;
				if (!in->head)
					in->tail = NULL;
				c->queued = false;
				in->queued--;
			}
		} while (c && c->done);
		pthread_mutex_unlock(&in->lock);
		if (!c)
			return set->live == 0 ? -2 : -1;

		coop_cx sub = *cx;
		sub.waker = (coop_waker){&child_waker_vtable, c};
		coop_poll r = c->future->poll(&sub, c->future->state);
		if (r != COOP_PENDING) {
			pthread_mutex_lock(&in->lock);
			c->done = true;
			pthread_mutex_unlock(&in->lock);
			c->future->result = r;
			set->live--;
			return (long)c->index;
		}
		if (coop_cx_preempted(cx)) {
			/* Refused by the budget, so it registered no waker: put it
			 * back in line, and count the ready ones we leave alone. */
			pthread_mutex_lock(&in->lock);
			add_short_circuits(cx, in->queued);
			enqueue(in, c);
			pthread_mutex_unlock(&in->lock);
			return -1;
		}
	}
}

void coop_unordered_free(coop_unordered *set)
{
	if (!set)
		return;
	pthread_mutex_lock(&set->inner->lock);
	for (size_t i = 0; i < set->n; i++)
		set->children[i]->done = true;
	set->inner->head = set->inner->tail = NULL;
	set->inner->queued = 0;
	pthread_mutex_unlock(&set->inner->lock);
	for (size_t i = 0; i < set->n; i++)
		child_unref(set->children[i]);
	free(set->children);
	inner_unref(set->inner);
	free(set);
}
