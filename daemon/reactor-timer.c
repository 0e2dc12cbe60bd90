/*
 * reactor-timer.c - coop_timer_driver backed by libev timers.
 *
 * A timer is a record in a slot table; its id is (generation << 32 | slot)
 * so that disarm() of an id whose record has been reused is recognised and
 * refused (false) without touching the new timer.  Records are allocated one
 * by one because a started ev_timer must not move.
 *
 * Record life: arm() (any thread) -> ARMED, queued on `starting` -> the loop
 * starts its ev_timer -> expiry: FIRING, fire() runs on the loop thread ->
 * freed.  disarm() of an ARMED record marks it DISARMED and queues it on
 * `stopping`; the loop stops the watcher and frees it.  disarm() returns
 * false once a record is FIRING (fire is running or has run).
 *
 * Lock: one mutex (t->lock) protects the slot table, the record states and
 * both queues.  fire() is called without it held, so fire may arm again.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reactor-timer.h"

enum timer_state { TIMER_FREE, TIMER_ARMED, TIMER_FIRING, TIMER_DISARMED };

struct timer_rec {
	ev_timer w;
	struct reactor_timers *owner;
	uint64_t deadline_ns;
	void (*fire)(void *arg);
	void *arg;
	uint32_t slot;
	enum timer_state state;
	bool started;            /* ev_timer started (loop thread only) */
	struct timer_rec *snext; /* on starting */
	struct timer_rec *tnext; /* on stopping */
};

struct timer_slot {
	struct timer_rec *rec;
	uint32_t gen;
	uint32_t next_free; /* free list link, UINT32_MAX ends it */
};

struct reactor_timers {
	struct ev_loop *loop;
	ev_async async;
	coop_timer_driver driver;
	pthread_mutex_t lock;
	struct timer_slot *slots;
	uint32_t n_slots;
	uint32_t free_head;
	uint64_t armed;
	struct timer_rec *starting;
	struct timer_rec *stopping;
};

static void timer_release_locked(struct reactor_timers *t, struct timer_rec *r)
{
	struct timer_slot *s = &t->slots[r->slot];

	s->rec = NULL;
	s->gen++;
	s->next_free = t->free_head;
	t->free_head = r->slot;
	free(r);
}

/* ev_timer expired (loop thread). */
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct timer_rec *r = (struct timer_rec *)w;
	struct reactor_timers *t = r->owner;
	uint64_t now = coop_now_ns();
	void (*fire)(void *);
	void *arg;

	ev_timer_stop(loop, w);
	r->started = false;
	/* libev measures from its cached loop time: never fire early. */
	if (now < r->deadline_ns) {
		ev_timer_set(w, (double)(r->deadline_ns - now) / 1e9 + 1e-6, 0.);
		ev_timer_start(loop, w);
		r->started = true;
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (r->state != TIMER_ARMED) {
		/* Disarmed after expiry but before we got here: it is on the
		 * stopping queue and freed there. */
		pthread_mutex_unlock(&t->lock);
		return;
	}
	r->state = TIMER_FIRING;
	t->armed--;
	fire = r->fire;
	arg = r->arg;
	pthread_mutex_unlock(&t->lock);

	fire(arg);

	pthread_mutex_lock(&t->lock);
	timer_release_locked(t, r);
	pthread_mutex_unlock(&t->lock);
}

/* Starts queued timers and drops disarmed ones (loop thread).  A record
 * disarmed before it was started sits on both queues (two links): it is
 * skipped on the starting queue and freed from the stopping one. */
static void timer_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct reactor_timers *t = w->data;
	struct timer_rec *start = NULL, *r, *next;
	uint64_t now = coop_now_ns();

	pthread_mutex_lock(&t->lock);
	for (r = t->starting; r; r = next) {
		next = r->snext;
		if (r->state == TIMER_ARMED) {
			r->started = true;
			r->snext = start;
			start = r;
		}
	}
	for (r = t->stopping; r; r = next) {
		next = r->tnext;
		if (r->started)
			ev_timer_stop(loop, &r->w);
		timer_release_locked(t, r);
	}
	t->starting = t->stopping = NULL;
	pthread_mutex_unlock(&t->lock);

	/* Records on `start` can only be freed by a later run of this callback
	 * (on this thread), so they stay valid here. */
	for (r = start; r; r = next) {
		double after = r->deadline_ns > now ? (double)(r->deadline_ns - now) / 1e9 : 0.;

		next = r->snext;
		ev_timer_init(&r->w, timer_cb, after, 0.);
		ev_timer_start(loop, &r->w);
	}
}

static int timer_arm(void *ctx, uint64_t deadline_ns, void (*fire)(void *arg), void *arg,
		     uint64_t *ret_id)
{
	struct reactor_timers *t = ctx;
	struct timer_rec *r;
	uint32_t slot;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->owner = t;
	r->deadline_ns = deadline_ns;
	r->fire = fire;
	r->arg = arg;
	r->state = TIMER_ARMED;

	pthread_mutex_lock(&t->lock);
	if (t->free_head == UINT32_MAX) {
		uint32_t n = t->n_slots ? t->n_slots * 2 : 256, i;
		struct timer_slot *s;

		if (n > (1u << 30) || !(s = realloc(t->slots, n * sizeof(*s)))) {
			pthread_mutex_unlock(&t->lock);
			free(r);
			return -ENOMEM;
		}
		for (i = t->n_slots; i < n; i++) {
			s[i].rec = NULL;
			s[i].gen = 1;
			s[i].next_free = i + 1 < n ? i + 1 : t->free_head;
		}
		t->free_head = t->n_slots;
		t->slots = s;
		t->n_slots = n;
	}
	slot = t->free_head;
	t->free_head = t->slots[slot].next_free;
	t->slots[slot].rec = r;
	r->slot = slot;
	r->snext = t->starting;
	t->starting = r;
	t->armed++;
	*ret_id = ((uint64_t)t->slots[slot].gen << 32) | slot;
	pthread_mutex_unlock(&t->lock);
	ev_async_send(t->loop, &t->async);
	return 0;
}

static bool timer_disarm(void *ctx, uint64_t id)
{
	struct reactor_timers *t = ctx;
	uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);
	struct timer_rec *r;
	bool prevented = false;

	pthread_mutex_lock(&t->lock);
	if (slot < t->n_slots && t->slots[slot].gen == gen && (r = t->slots[slot].rec) &&
	    r->state == TIMER_ARMED) {
		r->state = TIMER_DISARMED;
		t->armed--;
		r->tnext = t->stopping;
		t->stopping = r;
		prevented = true;
	}
	pthread_mutex_unlock(&t->lock);
	if (prevented)
		ev_async_send(t->loop, &t->async);
	return prevented;
}

int reactor_timers_new(struct ev_loop *loop, struct reactor_timers **ret)
{
	struct reactor_timers *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->loop = loop;
	pthread_mutex_init(&t->lock, NULL);
	t->free_head = UINT32_MAX;
	t->driver.ctx = t;
	t->driver.arm = timer_arm;
	t->driver.disarm = timer_disarm;
	ev_async_init(&t->async, timer_async_cb);
	t->async.data = t;
	ev_async_start(loop, &t->async);
	/* The async watcher alone must not keep the loop alive. */
	ev_unref(loop);
	*ret = t;
	return 0;
}

const coop_timer_driver *reactor_timers_driver(struct reactor_timers *t)
{
	return &t->driver;
}

uint64_t reactor_timers_armed(struct reactor_timers *t)
{
	uint64_t n;

	pthread_mutex_lock(&t->lock);
	n = t->armed;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void reactor_timers_free(struct reactor_timers *t)
{
	uint32_t i;

	if (!t)
		return;
	ev_ref(t->loop);
	ev_async_stop(t->loop, &t->async);
	for (i = 0; i < t->n_slots; i++) {
		struct timer_rec *r = t->slots[i].rec;

		if (!r)
			continue;
		if (r->started)
			ev_timer_stop(t->loop, &r->w);
		free(r);
	}
	free(t->slots);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
