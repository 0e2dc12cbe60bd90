/*
 * coop-blocking.c -- the blocking pool behind coop_spawn_blocking.
 *
 * Threads are created on demand, one per queued job while fewer than
 * `blocking_max` exist and none is idle; a thread idle for `blocking_idle_ns`
 * exits.  Exited threads are joined by the next spawner or at shutdown
 * (they park themselves on the zombie list first), so no thread is ever
 * detached and left running behind the runtime's back.
 *
 * A blocking job is a coop__task with TASKF_BLOCKING whose state area holds
 * a struct coop__blocking_job; its token is the task itself.  All fields
 * here are guarded by pool->lock.
 *
 * Fairness: jobs queue per fair_key (struct coop__blocking_key, one per key
 * with jobs queued or running, on a circular list).  A thread that looks
 * for work starts at the key whose turn it is and takes the first job of
 * the first key that may run one more (fewer than max_per_key running, or
 * its first job already cancelled: that one only completes, as cancelled),
 * then passes the turn to the next key.  So one key's backlog never delays another
 * key's next job by more than one job per key, and a key at its bound
 * leaves the other threads to the others.  Keys are few (the users with
 * blocking work), so the list is walked rather than indexed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coop-internal.h"

struct coop__blocking_thread {
	coop_rt *rt;
	pthread_t thread;
	pthread_cond_t cond; /* coop_token_sleep of its current job waits here */
	struct coop__blocking_thread *next;
};

struct coop__blocking_key {
	uint64_t key;
	struct coop__task *head, *tail; /* queued, oldest first */
	uint64_t queued;
	unsigned running;
	struct coop__blocking_key *prev, *next; /* circular */
};

static struct coop__blocking_job *job_of(struct coop__task *t)
{
	return coop__task_state(t);
}

/* The queue of key, made if missing; NULL when out of memory. */
static struct coop__blocking_key *key_get(struct coop__blocking_pool *p, uint64_t key)
{
	struct coop__blocking_key *k = p->keys;

	if (k) {
		do {
			if (k->key == key)
				return k;
			k = k->next;
		} while (k != p->keys);
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->key = key;
	if (p->keys) {
		k->next = p->keys;
		k->prev = p->keys->prev;
		k->prev->next = k;
		k->next->prev = k;
	} else {
		k->next = k->prev = k;
		p->keys = p->turn = k;
	}
	return k;
}

/* Forgets k once nothing of it is queued or running. */
static void key_put(struct coop__blocking_pool *p, struct coop__blocking_key *k)
{
	if (k->head || k->running)
		return;
	if (k->next == k) {
		p->keys = p->turn = NULL;
	} else {
		k->prev->next = k->next;
		k->next->prev = k->prev;
		if (p->keys == k)
			p->keys = k->next;
		if (p->turn == k)
			p->turn = k->next;
	}
	free(k);
}

/* Whether key k may start its first queued job now. */
static bool key_ready(const struct coop__blocking_pool *p, const struct coop__blocking_key *k)
{
	return k->head && (k->running < p->max_per_key || coop__task_cancelled(k->head));
}

/* Takes the next job by the rules at the top, or NULL if none may start. */
static struct coop__task *pick(struct coop__blocking_pool *p)
{
	struct coop__blocking_key *k = p->turn;
	struct coop__task *t;

	if (!k)
		return NULL;
	while (!key_ready(p, k)) {
		k = k->next;
		if (k == p->turn)
			return NULL;
	}
	t = k->head;
	k->head = t->qnext;
	if (!k->head)
		k->tail = NULL;
	t->qnext = NULL;
	k->queued--;
	k->running++;
	p->queued--;
	p->turn = k->next;
	return t;
}

/* Jobs that could start now if there were threads for them (a cancelled
 * first job of a key at its bound counts as one). */
static uint64_t startable(const struct coop__blocking_pool *p)
{
	const struct coop__blocking_key *k = p->keys;
	uint64_t n = 0;

	if (!k)
		return 0;
	do {
		if (k->running < p->max_per_key) {
			uint64_t room = p->max_per_key - k->running;

			n += k->queued < room ? k->queued : room;
		} else if (key_ready(p, k)) {
			n++;
		}
		k = k->next;
	} while (k != p->keys);
	return n;
}

int coop__blocking_init(coop_rt *rt, unsigned max, unsigned max_per_key, uint64_t idle_ns)
{
	struct coop__blocking_pool *p = &rt->blocking;
	int r;

	memset(p, 0, sizeof(*p));
	(void)coop__mutex_init(&p->lock);
	r = coop__cond_init_monotonic(&p->work_cond);
	if (r < 0)
		return r;
	r = coop__cond_init_monotonic(&p->exit_cond);
	if (r < 0)
		return r;
	p->max = max;
	p->max_per_key = max_per_key ? max_per_key : max;
	p->idle_ns = idle_ns;
	return 0;
}

/* Join threads that have exited; called without the lock held. */
static void join_zombies(struct coop__blocking_thread *z)
{
	while (z) {
		struct coop__blocking_thread *next = z->next;
		pthread_join(z->thread, NULL);
		pthread_cond_destroy(&z->cond);
		free(z);
		z = next;
	}
}

static void run_job(coop_rt *rt, struct coop__blocking_thread *self, struct coop__task *t)
{
	struct coop__blocking_job *job = job_of(t);
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);

	/* acq_rel: take ownership as a worker does in coop__task_run. */
	while (!atomic_compare_exchange_weak_explicit(
		&t->state, &s, (s & ~(TASK_SCHEDULED | TASK_NOTIFIED)) | TASK_RUNNING,
		memory_order_acq_rel, memory_order_acquire))
		;
	if (coop__task_cancelled(t)) {
		/* Counted before completing: the scope may finish right after. */
		atomic_fetch_add_explicit(&rt->blocking_finished[COOP_STATUS_CANCELLED], 1,
					  memory_order_relaxed);
		coop__task_complete(t, COOP_STATUS_CANCELLED);
		coop__task_unref(t);
		return;
	}
	atomic_fetch_or_explicit(&t->state, TASK_STARTED, memory_order_relaxed);
	/* In the parked list, cancellation reaches us through coop__blocking_wake. */
	coop__scope_park(t->scope, t, NULL);
	pthread_mutex_lock(&rt->blocking.lock);
	job->sleeper = &self->cond;
	pthread_mutex_unlock(&rt->blocking.lock);

	coop_poll r = job->fn((coop_token *)t, job->arg);

	pthread_mutex_lock(&rt->blocking.lock);
	job->sleeper = NULL;
	pthread_mutex_unlock(&rt->blocking.lock);
	atomic_store_explicit(&t->polls, 1, memory_order_relaxed);
	coop_status st = r == COOP_READY       ? COOP_STATUS_OK
			 : r == COOP_CANCELLED ? COOP_STATUS_CANCELLED
					       : COOP_STATUS_FAILED;
	atomic_fetch_add_explicit(&rt->blocking_finished[st], 1, memory_order_relaxed);
	coop__task_complete(t, st);
	coop__task_unref(t);
}

static void *blocking_main(void *arg)
{
	struct coop__blocking_thread *self = arg;
	coop_rt *rt = self->rt;
	struct coop__blocking_pool *p = &rt->blocking;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct coop__task *t = pick(p);

		if (!t) {
			if (p->stopping)
				break;
			struct timespec ts;
			coop__abstime_after(p->idle_ns, &ts);
			p->idle++;
			int r = pthread_cond_timedwait(&p->work_cond, &p->lock, &ts);
			p->idle--;
			if (r == ETIMEDOUT && startable(p) == 0)
				break;
			continue;
		}
		struct coop__blocking_key *k = job_of(t)->key;

		pthread_mutex_unlock(&p->lock);
		run_job(rt, self, t);
		pthread_mutex_lock(&p->lock);
		/* The job is gone (t may be freed): only its key is used. */
		k->running--;
		key_put(p, k);
	}
	p->threads--;
	self->next = p->zombies;
	p->zombies = self;
	pthread_cond_broadcast(&p->exit_cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Completes a job that never reached a thread, as failed with err. */
static void fail_unqueued(struct coop__task *t, int err)
{
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);

	while (!atomic_compare_exchange_weak_explicit(
		&t->state, &s, (s & ~TASK_SCHEDULED) | TASK_RUNNING | TASK_STARTED,
		memory_order_acq_rel, memory_order_acquire))
		;
	t->value = err;
	coop__task_complete(t, COOP_STATUS_FAILED);
	coop__task_unref(t);
}

void coop__blocking_submit(coop_rt *rt, struct coop__task *t)
{
	struct coop__blocking_pool *p = &rt->blocking;
	struct coop__blocking_thread *zombies, *nt = NULL;
	bool failed_alone = false;

	struct coop__blocking_job *job = job_of(t);
	struct coop__blocking_key *k;
	uint64_t ready;

	pthread_mutex_lock(&p->lock);
	k = key_get(p, job->fair_key);
	if (!k) {
		pthread_mutex_unlock(&p->lock);
		fail_unqueued(t, -ENOMEM);
		return;
	}
	job->key = k;
	t->qnext = NULL;
	if (k->tail)
		k->tail->qnext = t;
	else
		k->head = t;
	k->tail = t;
	k->queued++;
	p->queued++;
	ready = startable(p);
	if (ready == 0) {
		/* Its key is at its bound: a thread of that key takes it
		 * when one of its jobs ends. */
	} else if (p->idle >= ready) {
		pthread_cond_signal(&p->work_cond);
	} else if (p->threads < p->max) {
		nt = calloc(1, sizeof(*nt));
		if (nt && coop__cond_init_monotonic(&nt->cond) == 0) {
			nt->rt = rt;
			if (pthread_create(&nt->thread, NULL, blocking_main, nt) == 0) {
				p->threads++;
				if (p->threads > p->peak)
					p->peak = p->threads;
				nt = NULL;
			} else {
				pthread_cond_destroy(&nt->cond);
			}
		}
		free(nt);
		/* No thread could be made and none exists to run the job. */
		if (p->threads == 0 && k->head == t && k->tail == t) {
			k->head = k->tail = NULL;
			k->queued--;
			p->queued--;
			key_put(p, k);
			failed_alone = true;
		}
	}
	zombies = p->zombies;
	p->zombies = NULL;
	pthread_mutex_unlock(&p->lock);
	join_zombies(zombies);
	if (failed_alone)
		fail_unqueued(t, -EAGAIN);
}

void coop__blocking_wake(coop_rt *rt, struct coop__task *t)
{
	pthread_mutex_lock(&rt->blocking.lock);
	if (job_of(t)->sleeper)
		pthread_cond_broadcast(job_of(t)->sleeper);
	pthread_mutex_unlock(&rt->blocking.lock);
}

void coop__blocking_stop(coop_rt *rt)
{
	struct coop__blocking_pool *p = &rt->blocking;
	struct coop__blocking_thread *zombies;

	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work_cond);
	while (p->threads > 0)
		pthread_cond_wait(&p->exit_cond, &p->lock);
	zombies = p->zombies;
	p->zombies = NULL;
	pthread_mutex_unlock(&p->lock);
	join_zombies(zombies);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work_cond);
	pthread_cond_destroy(&p->exit_cond);
}

int coop_spawn_blocking(coop_scope *scope, coop_blocking_fn fn, void *arg,
			const coop_spawn_opts *opts, coop_handle **ret_handle)
{
	struct coop__blocking_job job = {fn, arg, NULL, opts ? opts->fair_key : 0, NULL};
	int r;

	if (!scope || !fn)
		return -EINVAL;
	coop_rt *rt = scope->rt; /* the scope may be gone once the job is queued */
	r = coop__task_spawn(scope, NULL, &job, sizeof(job), NULL, opts, TASKF_BLOCKING,
			     ret_handle);
	if (r == 0)
		atomic_fetch_add_explicit(&rt->blocking_spawned, 1, memory_order_relaxed);
	return r;
}

bool coop_token_cancelled(const coop_token *token)
{
	return coop__task_cancelled((struct coop__task *)token);
}

coop_reason coop_token_cancel_reason(const coop_token *token)
{
	return coop__task_cancel_reason((struct coop__task *)token, NULL);
}

void coop_token_set_value(coop_token *token, int64_t value)
{
	((struct coop__task *)token)->value = value;
}

bool coop_token_sleep(coop_token *token, uint64_t ns)
{
	struct coop__task *t = (struct coop__task *)token;
	coop_rt *rt = t->rt;
	struct coop__blocking_job *job = job_of(t);
	struct timespec ts;
	bool cancelled;

	coop__abstime_after(ns, &ts);
	pthread_mutex_lock(&rt->blocking.lock);
	while (!(cancelled = coop__task_cancelled(t)) && job->sleeper) {
		if (pthread_cond_timedwait(job->sleeper, &rt->blocking.lock, &ts) == ETIMEDOUT)
			break;
	}
	cancelled = coop__task_cancelled(t);
	pthread_mutex_unlock(&rt->blocking.lock);
	return cancelled;
}
