/*
 * coop-rt.c -- the runtime: worker threads, run queues, parking, stats.
 *
 * Each worker owns a Chase-Lev deque (coop-deque.c).  Work enters the pool
 * in three ways: a worker spawning or waking a task pushes it on its own
 * deque; any other thread (a reactor, the timer thread, a blocking job)
 * puts it on the shared injection queue; and a task that used up its budget
 * is put on the injection queue too, behind every runnable task there.
 *
 * The worker loop, one iteration:
 *   1. every 61st task, look at the injection queue first (so that it is
 *      never starved by a worker that keeps producing local work);
 *   2. else pop the local deque (LIFO), then the injection queue (FIFO),
 *      then try to steal from the other workers, starting at a random one;
 *   3. run the task found;
 *   4. with nothing found: a few more rounds of looking with sched_yield,
 *      then park through the waiter hook until someone unparks us.
 *
 * Parking without lost wakeups is a Dekker-style handshake: the parking
 * worker increments nsleeping and then re-checks every queue; whoever adds
 * work publishes it and then reads nsleeping.  The race it closes (a lost
 * wakeup): the notifier reads nsleeping == 0 while the parker, already
 * counted, reads the queues empty, and the work waits with a worker asleep.
 * Both sides access nsleeping with a seq_cst read-modify-write (the
 * notifier adds 0), and RMWs on one variable are totally ordered: either
 * the notifier's comes later and reads the parker's increment, or the
 * parker's comes later and reads from the notifier's, so that the notifier's
 * publication happens before the parker's re-check.  That is ordinary
 * happens-before, which ThreadSanitizer follows; a pair of
 * atomic_thread_fence calls (what this used to be) is invisible to it, so it
 * could neither check the handshake nor see a race that the fences hid.
 * On x86-64 both RMWs are one locked instruction, what the fence cost.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coop-internal.h"

static void latency_buckets_init(coop_rt *rt);

/* Declared, and its TLS model explained, in coop-internal.h. */
_Thread_local struct coop__worker *coop__tls_worker __attribute__((tls_model("initial-exec")));

uint64_t coop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int coop__mutex_init(pthread_mutex_t *m)
{
	return -pthread_mutex_init(m, NULL);
}

int coop__cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	int r;

	r = pthread_condattr_init(&attr);
	if (r)
		return -r;
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	r = pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
	return -r;
}

void coop__abstime_after(uint64_t ns, struct timespec *ret)
{
	uint64_t t = coop_now_ns();

	t = ns > UINT64_MAX - t ? UINT64_MAX / 2 : t + ns;
	ret->tv_sec = (time_t)(t / 1000000000u);
	ret->tv_nsec = (long)(t % 1000000000u);
}

int coop_rt_current_worker(const coop_rt *rt)
{
	struct coop__worker *w = coop__tls_worker;

	return w && w->rt == rt ? (int)w->index : -1;
}

unsigned coop_rt_workers(const coop_rt *rt)
{
	return rt->nworkers;
}

/* ---- the default waiter: a permit per worker ---------------------------- */

static void default_park(void *ctx, unsigned index, uint64_t timeout_ns)
{
	coop_rt *rt = ctx;
	struct coop__worker *w = &rt->workers[index];

	pthread_mutex_lock(&w->park_lock);
	if (!w->permit) {
		if (timeout_ns) {
			struct timespec ts;

			coop__abstime_after(timeout_ns, &ts);
			(void)pthread_cond_timedwait(&w->park_cond, &w->park_lock, &ts);
		} else {
			pthread_cond_wait(&w->park_cond, &w->park_lock);
		}
	}
	w->permit = false;
	pthread_mutex_unlock(&w->park_lock);
}

static void default_unpark(void *ctx, unsigned index)
{
	coop_rt *rt = ctx;
	struct coop__worker *w = &rt->workers[index];

	pthread_mutex_lock(&w->park_lock);
	w->permit = true;
	pthread_mutex_unlock(&w->park_lock);
	/* After the unlock, so that the worker does not wake only to wait
	 * for park_lock.  The permit, set under the lock, is what the worker
	 * checks before it waits, so no wakeup is lost; a signal that comes
	 * after the worker has taken the permit and parked again wakes it
	 * spuriously, which park allows (coop_waiter_ops). */
	pthread_cond_signal(&w->park_cond);
}

/* Wake one sleeping worker, if any sleeps. */
static void wake_one(coop_rt *rt)
{
	int target = -1;

	pthread_mutex_lock(&rt->sleep_lock);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		if (rt->workers[i].sleeping) {
			rt->workers[i].sleeping = false;
			/* relaxed: nsleeping is only a hint for notifiers; the
			 * handshake's ordering comes from the seq_cst RMWs of
			 * notify_work and worker_park (an RMW, whatever its
			 * order, keeps their release sequence going). */
			atomic_fetch_sub_explicit(&rt->nsleeping, 1, memory_order_relaxed);
			target = (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&rt->sleep_lock);
	if (target >= 0)
		rt->waiter.unpark(rt->waiter.ctx, (unsigned)target);
}

/* Called after publishing work: the notifier's side of the handshake. */
static void notify_work(coop_rt *rt)
{
	/* seq_cst RMW (adding 0), not a load: it orders the queue store
	 * before it with a parker's increment (the lost-wakeup race of the
	 * file comment). */
	if (atomic_fetch_add_explicit(&rt->nsleeping, 0, memory_order_seq_cst) > 0)
		wake_one(rt);
}

/*
 * A worker takes a batch from the injection queue: the first task to run
 * now, and up to INJECT_BATCH - 1 more moved onto its own deque, so that a
 * queue full of woken or yielded tasks is not drained one lock at a time.
 * The batch is pushed in reverse, so that the owner's LIFO end hands them
 * out in their injection (FIFO) order.
 */
#define INJECT_BATCH 16

static struct coop__task *inject_pop_batch(struct coop__worker *w)
{
	coop_rt *rt = w->rt;
	struct coop__task *batch[INJECT_BATCH];
	unsigned n;

	for (;;) {
		n = coop__inject_pop(&rt->inject, batch, INJECT_BATCH, rt->nworkers);
		if (n == 0)
			return NULL;
		/* Tasks of a cancelled scope that never started are completed
		 * here rather than pushed, taken and run one by one: that is
		 * the whole drain of a cancelled scope's queued tasks.  None of
		 * their headers has been read yet: ask for all of them at once
		 * rather than miss on each in turn. */
		for (unsigned i = 0; i < n; i++) {
			__builtin_prefetch(batch[i], 1);
			__builtin_prefetch((char *)batch[i] + sizeof(struct coop__task) - 1, 1);
		}
		unsigned kept = 0;
		for (unsigned i = 0; i < n; i++)
			if (!coop__task_drain_if_cancelled(w, batch[i]))
				batch[kept++] = batch[i];
		n = kept;
		if (n)
			break;
	}
	for (unsigned i = n; i-- > 1;) {
		if (coop__deque_push(&w->deque, batch[i]) < 0) {
			/* No room: put the rest back at the injection queue. */
			for (unsigned j = 1; j <= i; j++)
				coop__inject_push(&rt->inject, batch[j]);
			break;
		}
	}
	if (n > 1)
		notify_work(rt);
	return batch[0];
}

void coop__schedule(coop_rt *rt, struct coop__task *t, bool yielded)
{
	struct coop__worker *w = coop__current_worker(rt);

	if (w && !yielded && coop__deque_push(&w->deque, t) == 0) {
		/*
		 * A worker's own push skips the handshake unless someone sleeps:
		 * if a worker parks at this very moment and misses the task,
		 * the pushing worker still runs it itself, so only
		 * parallelism is delayed (until the next notification), never
		 * progress.  Pushes from other threads keep the full handshake.
		 */
		if (atomic_load_explicit(&rt->nsleeping, memory_order_relaxed) > 0)
			notify_work(rt);
		return;
	}
	/* Another thread, a yield, or the deque could not grow: the injection
	 * queue never fails (without memory for a segment, it links the task
	 * on its overflow list). */
	coop__inject_push(&rt->inject, t);
	notify_work(rt);
}

static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	/* relaxed load + store: the owning worker is the only writer. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static struct coop__task *steal_any(struct coop__worker *w)
{
	coop_rt *rt = w->rt;
	unsigned n = rt->nworkers;

	if (n < 2)
		return NULL;
	unsigned start = xorshift(&w->rng) % n;
	for (unsigned k = 0; k < n; k++) {
		unsigned v = (start + k) % n;
		if (v == w->index)
			continue;
		void *item;
		do
			item = coop__deque_steal(&rt->workers[v].deque);
		while (item == COOP__DEQUE_ABORT);
		if (item) {
			counter_add(&w->c.steals, 1);
			return item;
		}
	}
	return NULL;
}

static struct coop__task *find_task(struct coop__worker *w)
{
	coop_rt *rt = w->rt;
	struct coop__task *t;

	if (++w->tick % 61 == 0 && coop__inject_pop(&rt->inject, &t, 1, 1))
		return t;
	t = coop__deque_take(&w->deque);
	if (t)
		return t;
	t = inject_pop_batch(w);
	if (t)
		return t;
	return steal_any(w);
}

static bool any_work(coop_rt *rt)
{
	if (coop__inject_len(&rt->inject) > 0)
		return true;
	for (unsigned i = 0; i < rt->nworkers; i++)
		if (coop__deque_size(&rt->workers[i].deque) > 0)
			return true;
	return false;
}

static void worker_park(struct coop__worker *w)
{
	coop_rt *rt = w->rt;

	pthread_mutex_lock(&rt->sleep_lock);
	w->sleeping = true;
	/* Under sleep_lock, so exactly one worker sees itself the last.
	 * seq_cst: the parker's side of the handshake (file comment); the
	 * queues are read again only after it. */
	bool last = atomic_fetch_add_explicit(&rt->nsleeping, 1, memory_order_seq_cst) + 1 ==
		    rt->nworkers;
	pthread_mutex_unlock(&rt->sleep_lock);
	/* Before the queues are read: work that arrives meanwhile is seen. */
	if (last)
		coop__slab_rt_quiet(rt);
	if (!any_work(rt) && !atomic_load_explicit(&rt->shutdown, memory_order_acquire)) {
		counter_add(&w->c.parks, 1);
		rt->waiter.park(rt->waiter.ctx, w->index, 0);
	}
	pthread_mutex_lock(&rt->sleep_lock);
	if (w->sleeping) {
		w->sleeping = false;
		atomic_fetch_sub_explicit(&rt->nsleeping, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&rt->sleep_lock);
}

static void *worker_main(void *arg)
{
	struct coop__worker *w = arg;
	coop_rt *rt = w->rt;

	coop__tls_worker = w;
	for (;;) {
		struct coop__task *t = find_task(w);

		if (t) {
			if (w->rel_n && !coop__worker_release_covers(w, t))
				coop__worker_release_flush(w);
			coop__task_run(w, t);
			continue;
		}
		coop__worker_release_flush(w);
		w->drain_left = 0; /* a shared drain clock reading ends here */
		/* acquire: pairs with the release store in coop_rt_free so that
		 * everything before shutdown is visible to the exiting worker. */
		if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
			break;
		bool found = false;
		/* A short look before sleeping: on a machine with few cores,
		 * long spinning takes CPU from the work (and the processes)
		 * that would produce the next task. */
		for (int spin = 0; spin < 2 && !found; spin++) {
			sched_yield();
			found = any_work(rt);
		}
		if (!found) {
			coop__slab_worker_idle(w);
			worker_park(w);
		}
	}
	coop__tls_worker = NULL;
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------- */

int coop_rt_new(const coop_rt_options *opts, coop_rt **ret_rt)
{
	coop_rt_options o = {0};
	coop_rt *rt;
	int r;

	if (!ret_rt)
		return -EINVAL;
	if (opts)
		o = *opts;
	if (o.workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.workers = n > 0 ? (unsigned)n : 1;
	}
	if (o.workers > 1024)
		return -EINVAL;
	if (o.blocking_max == 0)
		o.blocking_max = 64;
	if (o.blocking_idle_ns == 0)
		o.blocking_idle_ns = 10ull * 1000000000u;
	if (o.default_budget == 0)
		o.default_budget = 128;
	if (o.default_budget > INT32_MAX)
		return -EINVAL;

	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->nworkers = o.workers;
	rt->default_budget = o.default_budget;
	if (posix_memalign((void **)&rt->workers, COOP__CACHELINE,
			   sizeof(*rt->workers) * o.workers)) {
		free(rt);
		return -ENOMEM;
	}
	memset(rt->workers, 0, sizeof(*rt->workers) * o.workers);
	(void)coop__inject_init(&rt->inject);
	(void)coop__mutex_init(&rt->sleep_lock);
	(void)coop__mutex_init(&rt->roots_lock);
	(void)coop__slab_init(rt);
	latency_buckets_init(rt);

	if (o.waiter) {
		rt->waiter = *o.waiter;
	} else {
		rt->waiter.ctx = rt;
		rt->waiter.park = default_park;
		rt->waiter.unpark = default_unpark;
	}
	if (o.timer_driver) {
		rt->timers = *o.timer_driver;
	} else {
		r = coop__timer_heap_new(&rt->default_timers);
		if (r < 0)
			goto fail_early;
		rt->timers = *coop__timer_heap_driver(rt->default_timers);
	}
	r = coop__blocking_init(rt, o.blocking_max,
				o.blocking_max_per_key && o.blocking_max_per_key < o.blocking_max
					? o.blocking_max_per_key
					: o.blocking_max,
				o.blocking_idle_ns);
	if (r < 0)
		goto fail_timers;

	unsigned started = 0;
	for (unsigned i = 0; i < o.workers; i++) {
		struct coop__worker *w = &rt->workers[i];
		w->rt = rt;
		w->index = i;
		w->rng = 0x9e3779b9u * (i + 1);
		(void)coop__mutex_init(&w->park_lock);
		(void)pthread_cond_init(&w->park_cond, NULL);
		r = coop__deque_init(&w->deque, 256);
		if (r < 0)
			goto fail_workers;
	}
	for (; started < o.workers; started++) {
		r = -pthread_create(&rt->workers[started].thread, NULL, worker_main,
				    &rt->workers[started]);
		if (r < 0)
			goto fail_workers;
	}
	*ret_rt = rt;
	return 0;

fail_workers:
	atomic_store_explicit(&rt->shutdown, true, memory_order_release);
	for (unsigned i = 0; i < started; i++)
		rt->waiter.unpark(rt->waiter.ctx, i);
	for (unsigned i = 0; i < started; i++)
		pthread_join(rt->workers[i].thread, NULL);
	for (unsigned i = 0; i < o.workers; i++)
		coop__deque_destroy(&rt->workers[i].deque);
	coop__blocking_stop(rt);
fail_timers:
	if (rt->default_timers)
		coop__timer_heap_free(rt->default_timers);
fail_early:
	coop__inject_destroy(&rt->inject);
	pthread_mutex_destroy(&rt->slab.lock);
	free(rt->workers);
	free(rt);
	return r;
}

void coop_rt_free(coop_rt *rt)
{
	if (!rt)
		return;
	/* Cancel, close and wait for every root scope still running.  Their
	 * owners may free them afterwards: that touches only the scope. */
	for (;;) {
		coop_scope *s;

		pthread_mutex_lock(&rt->roots_lock);
		s = rt->roots;
		if (s)
			coop__scope_ref(s);
		pthread_mutex_unlock(&rt->roots_lock);
		if (!s)
			break;
		coop_scope_cancel(s, COOP_REASON_SHUTDOWN);
		coop_scope_join(s, NULL);
		coop__scope_unref(s);
	}

	/* release: pairs with the workers' acquire load of shutdown. */
	atomic_store_explicit(&rt->shutdown, true, memory_order_release);
	for (unsigned i = 0; i < rt->nworkers; i++)
		rt->waiter.unpark(rt->waiter.ctx, i);
	for (unsigned i = 0; i < rt->nworkers; i++)
		pthread_join(rt->workers[i].thread, NULL);
	coop__blocking_stop(rt);
	if (rt->default_timers)
		coop__timer_heap_free(rt->default_timers);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct coop__worker *w = &rt->workers[i];
		coop__deque_destroy(&w->deque);
		pthread_mutex_destroy(&w->park_lock);
		pthread_cond_destroy(&w->park_cond);
	}
	coop__inject_destroy(&rt->inject);
	pthread_mutex_destroy(&rt->sleep_lock);
	pthread_mutex_destroy(&rt->roots_lock);
	/* Join handles not yet freed still hold their blocks (coop.h lets
	 * owners free them later): then the last of them releases the slab
	 * and rt (coop__task_block_free); nothing else of rt is used. */
	bool last = coop__slab_rt_free(rt);
	free(rt->workers);
	rt->workers = NULL;
	if (last)
		free(rt);
}

/* ---- stats --------------------------------------------------------------- */

static const uint64_t latency_bounds[COOP_CANCEL_LATENCY_BUCKETS] = {
	10000,   25000,    50000,    100000,   250000,    500000,     1000000,     2500000,
	5000000, 10000000, 25000000, 50000000, 100000000, 1000000000, 10000000000, UINT64_MAX,
};

const uint64_t *coop_cancel_latency_bounds_ns(void)
{
	return latency_bounds;
}

/* The first bucket whose bound is >= ns.  A drain of a cancelled scope
 * records one latency per task, so no search: lat_by_log2[k] is the first
 * bucket whose bound is >= 2^k, and as each bound is at least twice the
 * one before, ns in [2^k, 2^(k+1)) is in that bucket or the next. */
static int latency_bucket(const coop_rt *rt, uint64_t ns)
{
	int b = rt->lat_by_log2[ns ? 63 - __builtin_clzll(ns) : 0];

	return ns > latency_bounds[b] ? b + 1 : b;
}

static void latency_buckets_init(coop_rt *rt)
{
	for (int k = 0; k < 64; k++) {
		int b = 0;
		while (latency_bounds[b] < (1ull << k))
			b++;
		rt->lat_by_log2[k] = (uint8_t)b;
	}
}

void coop__record_cancel_latency(coop_rt *rt, uint64_t ns)
{
	struct coop__worker *w = coop__current_worker(rt);
	int b = latency_bucket(rt, ns);

	if (w) {
		/* The worker's own histogram: single writer, no RMW. */
		counter_add(&w->c.cancel_latency_count, 1);
		counter_add(&w->c.cancel_latency_sum_ns, ns);
		counter_add(&w->c.cancel_latency_buckets[b], 1);
		return;
	}
	/* relaxed: independent counters, read only for reporting. */
	atomic_fetch_add_explicit(&rt->cancel_latency_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rt->cancel_latency_sum_ns, ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&rt->cancel_latency_buckets[b], 1, memory_order_relaxed);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

void coop_rt_stats(coop_rt *rt, coop_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->workers = rt->nworkers;
	st->task_memory_bytes = coop__slab_bytes(rt);
	st->tasks_spawned = LOAD(rt->ext_tasks_spawned);
	for (int k = 0; k < 4; k++) {
		st->tasks_finished[k] = LOAD(rt->ext_tasks_finished[k]);
		st->blocking_finished[k] = LOAD(rt->blocking_finished[k]);
	}
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct coop__worker *w = &rt->workers[i];
		st->tasks_spawned += LOAD(w->c.tasks_spawned);
		for (int k = 0; k < 4; k++)
			st->tasks_finished[k] += LOAD(w->c.tasks_finished[k]);
		st->polls += LOAD(w->c.polls);
		st->forced_yields += LOAD(w->c.forced_yields);
		st->short_circuits += LOAD(w->c.short_circuits);
		st->steals += LOAD(w->c.steals);
		st->parks += LOAD(w->c.parks);
		st->run_queue_depth += (uint64_t)coop__deque_size(&w->deque);
	}
	st->run_queue_depth += coop__inject_len(&rt->inject);
	st->blocking_spawned = LOAD(rt->blocking_spawned);
	for (int r = 0; r < COOP_REASON__COUNT; r++)
		st->cancel_requests[r] = LOAD(rt->cancel_requests[r]);
	st->tasks_live = st->tasks_spawned - st->tasks_finished[COOP_STATUS_OK] -
			 st->tasks_finished[COOP_STATUS_FAILED] -
			 st->tasks_finished[COOP_STATUS_CANCELLED];
	pthread_mutex_lock(&rt->blocking.lock);
	st->blocking_queue_depth = rt->blocking.queued;
	st->blocking_threads = rt->blocking.threads;
	st->blocking_threads_peak = rt->blocking.peak;
	pthread_mutex_unlock(&rt->blocking.lock);
	st->cancel_latency_count = LOAD(rt->cancel_latency_count);
	st->cancel_latency_sum_ns = LOAD(rt->cancel_latency_sum_ns);
	uint64_t per_bucket[COOP_CANCEL_LATENCY_BUCKETS];
	for (int i = 0; i < COOP_CANCEL_LATENCY_BUCKETS; i++)
		per_bucket[i] = LOAD(rt->cancel_latency_buckets[i]);
	for (unsigned k = 0; k < rt->nworkers; k++) {
		struct coop__worker *w = &rt->workers[k];
		st->cancel_latency_count += LOAD(w->c.cancel_latency_count);
		st->cancel_latency_sum_ns += LOAD(w->c.cancel_latency_sum_ns);
		for (int i = 0; i < COOP_CANCEL_LATENCY_BUCKETS; i++)
			per_bucket[i] += LOAD(w->c.cancel_latency_buckets[i]);
	}
	/* cumulative, as Prometheus buckets are */
	uint64_t acc = 0;
	for (int i = 0; i < COOP_CANCEL_LATENCY_BUCKETS; i++) {
		acc += per_bucket[i];
		st->cancel_latency_buckets[i] = acc;
	}
}

void coop_rt_count_cancel(coop_rt *rt, coop_reason reason)
{
	if (reason == COOP_REASON_NONE || (unsigned)reason >= COOP_REASON__COUNT)
		return;
	/* relaxed: an independent counter, read only for reporting. */
	atomic_fetch_add_explicit(&rt->cancel_requests[reason], 1, memory_order_relaxed);
}

static const char *const reason_names[COOP_REASON__COUNT] = {
	"none", "client", "deadline", "timeout", "sibling_failed", "race_lost", "shutdown",
};

const char *coop_reason_name(coop_reason reason)
{
	if ((unsigned)reason >= COOP_REASON__COUNT)
		return NULL;
	return reason_names[reason];
}

int coop_reason_parse(const char *name, coop_reason *ret_reason)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i < COOP_REASON__COUNT; i++)
		if (strcmp(name, reason_names[i]) == 0) {
			*ret_reason = (coop_reason)i;
			return 0;
		}
	return -EINVAL;
}
