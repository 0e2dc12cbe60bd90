/*
 * coop-timer.c -- time: the built-in timer driver, timers that tasks wait
 * on, and task timeouts.
 *
 * The built-in driver is one thread sleeping on a condition variable until
 * the earliest deadline in a binary heap.  Timer ids carry a generation
 * (high 32 bits) and a slot (low 32 bits) so that disarming an id whose
 * timer already fired is harmless: the generation no longer matches.
 * A reactor replaces the whole driver through coop_rt_options.timer_driver.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coop-internal.h"

struct timer_slot {
	uint64_t deadline;
	void (*fire)(void *arg);
	void *arg;
	uint32_t gen;
	int32_t heap_index; /* -1: free */
	uint32_t next_free;
};

struct coop__timer_heap {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool stop;
	struct timer_slot *slots;
	uint32_t nslots, free_head; /* free_head UINT32_MAX: none */
	uint32_t *heap;
	uint32_t len;
	coop_timer_driver driver;
};

static bool slot_before(struct coop__timer_heap *h, uint32_t a, uint32_t b)
{
	return h->slots[a].deadline < h->slots[b].deadline;
}

static void heap_set(struct coop__timer_heap *h, uint32_t i, uint32_t slot)
{
	h->heap[i] = slot;
	h->slots[slot].heap_index = (int32_t)i;
}

static void sift_up(struct coop__timer_heap *h, uint32_t i)
{
	uint32_t slot = h->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!slot_before(h, slot, h->heap[parent]))
			break;
		heap_set(h, i, h->heap[parent]);
		i = parent;
	}
	heap_set(h, i, slot);
}

static void sift_down(struct coop__timer_heap *h, uint32_t i)
{
	uint32_t slot = h->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->len)
			break;
		if (c + 1 < h->len && slot_before(h, h->heap[c + 1], h->heap[c]))
			c++;
		if (!slot_before(h, h->heap[c], slot))
			break;
		heap_set(h, i, h->heap[c]);
		i = c;
	}
	heap_set(h, i, slot);
}

/* Remove the heap entry at i and free its slot (the generation moves on). */
static void heap_remove(struct coop__timer_heap *h, uint32_t i)
{
	uint32_t slot = h->heap[i];

	h->len--;
	if (i < h->len) {
		heap_set(h, i, h->heap[h->len]);
		if (i > 0 && slot_before(h, h->heap[i], h->heap[(i - 1) / 2]))
			sift_up(h, i);
		else
			sift_down(h, i);
	}
	h->slots[slot].heap_index = -1;
	h->slots[slot].gen++;
	h->slots[slot].next_free = h->free_head;
	h->free_head = slot;
}

static int heap_arm(void *ctx, uint64_t deadline_ns, void (*fire)(void *), void *arg,
		    uint64_t *ret_id)
{
	struct coop__timer_heap *h = ctx;
	uint32_t slot;

	pthread_mutex_lock(&h->lock);
	if (h->free_head == UINT32_MAX) {
		uint32_t n = h->nslots ? h->nslots * 2 : 64;
		struct timer_slot *s = realloc(h->slots, n * sizeof(*s));
		if (!s)
			goto nomem;
		h->slots = s;
		uint32_t *heap = realloc(h->heap, n * sizeof(*heap));
		if (!heap)
			goto nomem;
		h->heap = heap;
		for (uint32_t i = n; i-- > h->nslots;) {
			s[i].gen = 1;
			s[i].heap_index = -1;
			s[i].next_free = h->free_head;
			h->free_head = i;
		}
		h->nslots = n;
	}
	slot = h->free_head;
	h->free_head = h->slots[slot].next_free;
	h->slots[slot].deadline = deadline_ns;
	h->slots[slot].fire = fire;
	h->slots[slot].arg = arg;
	h->heap[h->len] = slot;
	h->len++;
	sift_up(h, h->len - 1);
	*ret_id = ((uint64_t)h->slots[slot].gen << 32) | slot;
	if (h->heap[0] == slot)
		pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return 0;
nomem:
	pthread_mutex_unlock(&h->lock);
	return -ENOMEM;
}

static bool heap_disarm(void *ctx, uint64_t id)
{
	struct coop__timer_heap *h = ctx;
	uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);
	bool removed = false;

	pthread_mutex_lock(&h->lock);
	if (slot < h->nslots && h->slots[slot].gen == gen && h->slots[slot].heap_index >= 0) {
		heap_remove(h, (uint32_t)h->slots[slot].heap_index);
		removed = true;
	}
	pthread_mutex_unlock(&h->lock);
	return removed;
}

static void *timer_main(void *arg)
{
	struct coop__timer_heap *h = arg;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		if (h->len == 0) {
			pthread_cond_wait(&h->cond, &h->lock);
			continue;
		}
		struct timer_slot *top = &h->slots[h->heap[0]];
		uint64_t now = coop_now_ns();
		if (top->deadline > now) {
			struct timespec ts;
			coop__abstime_after(top->deadline - now, &ts);
			(void)pthread_cond_timedwait(&h->cond, &h->lock, &ts);
			continue;
		}
		void (*fire)(void *) = top->fire;
		void *farg = top->arg;
		heap_remove(h, 0);
		pthread_mutex_unlock(&h->lock);
		fire(farg);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int coop__timer_heap_new(struct coop__timer_heap **ret)
{
	struct coop__timer_heap *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	(void)coop__mutex_init(&h->lock);
	r = coop__cond_init_monotonic(&h->cond);
	if (r < 0)
		goto fail;
	h->free_head = UINT32_MAX;
	h->driver.ctx = h;
	h->driver.arm = heap_arm;
	h->driver.disarm = heap_disarm;
	r = -pthread_create(&h->thread, NULL, timer_main, h);
	if (r < 0) {
		pthread_cond_destroy(&h->cond);
		goto fail;
	}
	*ret = h;
	return 0;
fail:
	pthread_mutex_destroy(&h->lock);
	free(h);
	return r;
}

/* Timers still armed at shutdown are dropped without firing: by then every
 * scope has finished, so no task is left to wake. */
void coop__timer_heap_free(struct coop__timer_heap *h)
{
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->slots);
	free(h->heap);
	free(h);
}

const coop_timer_driver *coop__timer_heap_driver(struct coop__timer_heap *h)
{
	return &h->driver;
}

/* ---- timers a task waits on -------------------------------------------------- */

struct coop_timer {
	coop_rt *rt;
	uint64_t deadline;
	_Atomic uint32_t refs; /* the owner's, and the driver's while armed */
	_Atomic bool fired;
	bool armed; /* owned by the polling task */
	uint64_t id;
	coop_waker_cell cell;
};

static void timer_unref(coop_timer *t)
{
	/* acq_rel: as for tasks. */
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
		coop_waker_cell_clear(&t->cell);
		free(t);
	}
}

static void timer_fire(void *arg)
{
	coop_timer *t = arg;

	/* release: a poller that sees fired (acquire) needs nothing more, but
	 * the flag must not be reordered after the wake below. */
	atomic_store_explicit(&t->fired, true, memory_order_release);
	coop_waker_cell_wake(&t->cell);
	timer_unref(t);
}

int coop_timer_new(coop_rt *rt, uint64_t deadline_ns, coop_timer **ret_timer)
{
	coop_timer *t;

	if (!rt || !ret_timer)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->rt = rt;
	t->deadline = deadline_ns;
	atomic_init(&t->refs, 1);
	t->cell = (coop_waker_cell)COOP_WAKER_CELL_INIT;
	*ret_timer = t;
	return 0;
}

coop_poll coop_timer_poll(coop_timer *t, coop_cx *cx)
{
	if (atomic_load_explicit(&t->fired, memory_order_acquire) || coop_now_ns() >= t->deadline)
		return COOP_READY;
	coop_waker_cell_register(&t->cell, cx);
	if (!t->armed) {
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
		if (t->rt->timers.arm(t->rt->timers.ctx, t->deadline, timer_fire, t, &t->id) == 0) {
			t->armed = true;
		} else {
			/* No timer to be had: poll again soon rather than hang. */
			atomic_fetch_sub_explicit(&t->refs, 1, memory_order_relaxed);
			coop_waker_wake_by_ref(coop_cx_waker(cx));
		}
	}
	if (atomic_load_explicit(&t->fired, memory_order_acquire))
		return COOP_READY;
	return COOP_PENDING;
}

void coop_timer_free(coop_timer *t)
{
	if (!t)
		return;
	if (t->armed && t->rt->timers.disarm(t->rt->timers.ctx, t->id))
		timer_unref(t);
	timer_unref(t);
}

/* ---- task timeouts ------------------------------------------------------------- */

static void timeout_unref(struct coop__task_timeout *tt)
{
	if (atomic_fetch_sub_explicit(&tt->refs, 1, memory_order_acq_rel) == 1)
		free(tt);
}

static void timeout_fire(void *arg)
{
	struct coop__task_timeout *tt = arg;

	coop_handle_cancel((coop_handle *)tt->task, COOP_REASON_TIMEOUT);
	coop__task_unref(tt->task);
	timeout_unref(tt);
}

int coop__task_timeout_arm(coop_rt *rt, struct coop__task *t, uint64_t ns)
{
	struct coop__task_timeout *tt = malloc(sizeof(*tt));
	uint64_t now = coop_now_ns();
	int r;

	if (!tt)
		return -ENOMEM;
	tt->rt = rt;
	tt->task = t;
	atomic_init(&tt->refs, 2); /* the firing side's and the task's */
	coop__task_ref(t);         /* held by the firing side */
	*coop__task_timeout_slot(t) = tt;
	r = rt->timers.arm(rt->timers.ctx, ns > UINT64_MAX - now ? UINT64_MAX : now + ns,
			   timeout_fire, tt, &tt->id);
	if (r < 0) {
		*coop__task_timeout_slot(t) = NULL;
		atomic_fetch_sub_explicit(&t->refs, 1, memory_order_relaxed);
		free(tt);
	}
	return r;
}

void coop__task_timeout_disarm(struct coop__task *t)
{
	struct coop__task_timeout *tt = *coop__task_timeout_slot(t);

	if (!tt)
		return;
	*coop__task_timeout_slot(t) = NULL;
	if (tt->rt->timers.disarm(tt->rt->timers.ctx, tt->id)) {
		coop__task_unref(t); /* the firing side's; ours is still held */
		timeout_unref(tt);
	}
	timeout_unref(tt);
}
