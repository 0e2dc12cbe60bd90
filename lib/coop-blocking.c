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

static struct coop__blocking_job *job_of(struct coop__task *t)
{
	return coop__task_state(t);
}

int coop__blocking_init(coop_rt *rt, unsigned max, uint64_t idle_ns)
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
	t->polls = 1;
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
		if (!p->head) {
			if (p->stopping)
				break;
			struct timespec ts;
			coop__abstime_after(p->idle_ns, &ts);
			p->idle++;
			int r = pthread_cond_timedwait(&p->work_cond, &p->lock, &ts);
			p->idle--;
			if (r == ETIMEDOUT && !p->head)
				break;
			continue;
		}
		struct coop__task *t = p->head;
		p->head = t->qnext;
		if (!p->head)
			p->tail = NULL;
		t->qnext = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		run_job(rt, self, t);
		pthread_mutex_lock(&p->lock);
	}
	p->threads--;
	self->next = p->zombies;
	p->zombies = self;
	pthread_cond_broadcast(&p->exit_cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void coop__blocking_submit(coop_rt *rt, struct coop__task *t)
{
	struct coop__blocking_pool *p = &rt->blocking;
	struct coop__blocking_thread *zombies, *nt = NULL;
	bool failed_alone = false;

	pthread_mutex_lock(&p->lock);
	t->qnext = NULL;
	if (p->tail)
		p->tail->qnext = t;
	else
		p->head = t;
	p->tail = t;
	p->queued++;
	if (p->idle >= p->queued) {
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
		if (p->threads == 0 && p->head == t) {
			p->head = p->tail = NULL;
			p->queued--;
			failed_alone = true;
		}
	}
	zombies = p->zombies;
	p->zombies = NULL;
	pthread_mutex_unlock(&p->lock);
	join_zombies(zombies);
	if (failed_alone) {
		uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
		while (!atomic_compare_exchange_weak_explicit(
			&t->state, &s, (s & ~TASK_SCHEDULED) | TASK_RUNNING | TASK_STARTED,
			memory_order_acq_rel, memory_order_acquire))
			;
		t->value = -EAGAIN;
		coop__task_complete(t, COOP_STATUS_FAILED);
		coop__task_unref(t);
	}
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
	struct coop__blocking_job job = {fn, arg, NULL};
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
