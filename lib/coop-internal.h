/*
 * coop-internal.h -- the structures libcoop's files share, and nothing else.
 *
 * Lock order (take left before right, never the reverse):
 *   scope->lock  ->  scope shard lock  ->  rt->inject.lock  ->  rt->sleep_lock
 *   rt->blocking.lock is taken alone (wakes of blocking jobs take it while a
 *   shard lock is held, so it comes after the shard locks as well).
 *   A parent scope's lock may be held while a child's lock is taken, never
 *   the other way round.
 */
#ifndef COOP_INTERNAL_H
#define COOP_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "coop.h"

#define COOP__HIDDEN __attribute__((visibility("hidden")))
#define COOP__CACHELINE 64

/* ---- tasks ------------------------------------------------------------- */

/* Bits of coop__task.state.  The reason of a task-level cancel request lives
 * in bits 8..11 so that flag and reason are set by one CAS. */
enum {
	TASK_SCHEDULED = 1u << 0,  /* in a run queue, or on its way there */
	TASK_RUNNING = 1u << 1,    /* being polled (or run, for blocking jobs) */
	TASK_NOTIFIED = 1u << 2,   /* woken while RUNNING: poll again */
	TASK_COMPLETE = 1u << 3,   /* finished; outcome fields are final */
	TASK_JOIN_WAKER = 1u << 4, /* join_waker is set; the completer owns it */
	TASK_CANCEL = 1u << 5,     /* task-level cancellation requested */
	TASK_STARTED = 1u << 6,    /* polled (or run) at least once */
};
/* The final coop_status, set by the CAS that sets COMPLETE. */
#define TASK_STATUS_SHIFT 12
#define TASK_STATUS_MASK (0x3u << TASK_STATUS_SHIFT)
#define TASK_REASON_SHIFT 8
#define TASK_REASON_MASK (0xfu << TASK_REASON_SHIFT)

/* coop__task.flags: fixed at spawn, read by any thread. */
enum {
	TASKF_SHIELDED = 1u << 0,
	TASKF_BLOCKING = 1u << 1, /* a blocking job, not a task */
	TASKF_TIMEOUT = 1u << 2,  /* has a timeout slot (see below) */
	TASKF_DROP = 1u << 3,     /* has a drop-function slot */
};

/* coop__task.mflags: changed only by the thread that owns the task at the
 * time (its spawner, the scope's max_parallel line under the scope lock,
 * then the thread running it), so other threads never read them. */
enum {
	TASKM_IN_PLIST = 1u << 0, /* linked into a scope shard's parked list */
	TASKM_COUNTED = 1u << 1,  /* counts against max_parallel */
};
/* mflags bits 2..7: the depth of the task in its chain of holders. */
#define TASKM_DEPTH_SHIFT 2
#define TASKM_DEPTH_MAX 63

struct coop__task_timeout;

/*
 * One task or blocking job; also its join handle (coop_handle).  The whole
 * header is the runtime's overhead per task: 112 bytes (a static assertion
 * in coop-task.c); blocks come from the slab (coop-slab.c), which adds no
 * chunk header.  The caller's state follows the header in the same
 * allocation.
 *
 * References: the join handle, the run queue (held while SCHEDULED or
 * RUNNING), membership of a parked list, and every cloned waker each hold
 * one.  A task is freed when the count drops to zero, which can only happen
 * after it has completed.
 */
struct coop__task {
	_Atomic uint32_t state;
	_Atomic uint32_t refs;
	struct coop__task *qnext; /* injection overflow, max_parallel or blocking queue link */
	coop_poll_fn poll;        /* NULL for blocking jobs */
	/*
	 * Liveness in the scope is counted in a tree rather than on one shared
	 * counter (which every worker would fight over): a task spawned by a
	 * running task of the same scope is counted in its spawner's `lent`
	 * instead of the scope's `live`.  `lent` is one for the task itself
	 * plus one per child lent to it; when it drops to zero the task's own
	 * count goes back to its holder, or to the scope.  Holder chains are
	 * at most TASKM_DEPTH_MAX long, so finished tasks are not kept alive
	 * without bound by a long line of descendants.
	 */
	struct coop__task *holder;
	coop_scope *scope;
	coop_waker join_waker; /* guarded by TASK_JOIN_WAKER */
	union {
		/* The parked list of the scope shard: only until completion
		 * (coop__task_complete unlinks the task first). */
		struct {
			struct coop__task *pprev, *pnext;
		};
		/* Written after the unlink, read once COMPLETE is seen.  Zero
		 * (pprev NULL) unless cancellation reached the task. */
		uint64_t finished_ns;
	};
	int64_t value;
	/* Written only by the worker polling the task (load + store, no RMW:
	 * one writer at a time); atomic so that coop_handle_stats can read
	 * them from another thread while the task runs. */
	_Atomic uint32_t polls; /* saturates at UINT32_MAX */
	_Atomic uint32_t forced_yields;
	_Atomic uint32_t lent;
	uint8_t alloc_cls; /* task block size class (slab), 0xff: malloc */
	uint8_t flags;
	uint8_t mflags;
	uint8_t shard; /* which scope shard's parked list */
	_Atomic uint64_t cancel_requested_ns;
	coop_rt *rt; /* the task may outlive its scope */
		     /* Optional 16-byte slots follow (TASKF_TIMEOUT: the timeout's pointer;
		      * TASKF_DROP: the drop function), then the caller's state, 16-byte
		      * aligned. */
} __attribute__((aligned(16)));

#define COOP__TASK_EXT 16

static inline struct coop__task_timeout **coop__task_timeout_slot(struct coop__task *t)
{
	return (struct coop__task_timeout **)((char *)t + sizeof(struct coop__task));
}

static inline coop_drop_fn *coop__task_drop_slot(struct coop__task *t)
{
	return (coop_drop_fn *)((char *)t + sizeof(struct coop__task) +
				((t->flags & TASKF_TIMEOUT) ? COOP__TASK_EXT : 0));
}

static inline void *coop__task_state(struct coop__task *t)
{
	return (char *)t + sizeof(struct coop__task) +
	       ((t->flags & TASKF_TIMEOUT) ? COOP__TASK_EXT : 0) +
	       ((t->flags & TASKF_DROP) ? COOP__TASK_EXT : 0);
}

/* The poll context.  Budget state is shared by sub-contexts that
 * combinators create for their children, so it lives behind a pointer. */
struct coop__budget {
	uint32_t left;
	bool preempted;
	bool forced;
	/* The poll's waker went out through coop_cx_waker (to a timer, a
	 * cell, a combinator's child...), or only into join handles of
	 * children of the task's own scope.  In the second case a scope
	 * cancellation reaches the task through those children, so it need
	 * not be put on the scope's parked list. */
	bool waker_exposed;
	bool joined_sibling;
	uint32_t short_circuits;
};

struct coop_cx {
	coop_rt *rt;
	struct coop__task *task;
	struct coop__worker *worker;
	coop_waker waker;
	struct coop__budget *budget;
};

/* ---- the injection queue (coop-inject.c) -------------------------------- */

/* Task pointers per segment: 2 KiB segments with their header. */
#define COOP__INJECT_SEG_SLOTS 254

struct coop__inject_seg;
struct coop__inject {
	pthread_mutex_t lock;
	struct coop__inject_seg *head, *tail;   /* oldest first */
	struct coop__inject_seg *spare;         /* one empty segment kept for reuse */
	struct coop__task *ovf_head, *ovf_tail; /* when no segment could be had */
	_Atomic uint64_t len;                   /* written under lock; a hint for readers without */
};

COOP__HIDDEN int coop__inject_init(struct coop__inject *q);
COOP__HIDDEN void coop__inject_destroy(struct coop__inject *q);
/* Never fails (see coop-inject.c). */
COOP__HIDDEN void coop__inject_push(struct coop__inject *q, struct coop__task *t);
/* Up to max of the oldest tasks into out, but with share > 1 no more than
 * len / share + 1 of the len queued, so that other workers find some; the
 * count. */
COOP__HIDDEN unsigned coop__inject_pop(struct coop__inject *q, struct coop__task **out,
				       unsigned max, unsigned share);
static inline uint64_t coop__inject_len(struct coop__inject *q)
{
	/* relaxed: a hint (see struct coop__inject). */
	return atomic_load_explicit(&q->len, memory_order_relaxed);
}

/* ---- Chase-Lev deque (coop-deque.c) ------------------------------------ */

struct coop__deque_array;
struct coop__deque {
	_Atomic int64_t top;
	char pad0[COOP__CACHELINE - sizeof(int64_t)];
	_Atomic int64_t bottom;
	_Atomic(struct coop__deque_array *) array;
	struct coop__deque_array *retired; /* old arrays, freed with the deque */
	char pad1[COOP__CACHELINE - sizeof(int64_t) - 2 * sizeof(void *)];
};

#define COOP__DEQUE_EMPTY ((void *)0)
#define COOP__DEQUE_ABORT ((void *)1)

COOP__HIDDEN int coop__deque_init(struct coop__deque *q, size_t capacity);
COOP__HIDDEN void coop__deque_destroy(struct coop__deque *q);
COOP__HIDDEN int coop__deque_push(struct coop__deque *q, void *item);
COOP__HIDDEN void *coop__deque_take(struct coop__deque *q);
COOP__HIDDEN void *coop__deque_steal(struct coop__deque *q);
COOP__HIDDEN int64_t coop__deque_size(struct coop__deque *q);

/* ---- workers and the runtime (coop-rt.c) ------------------------------- */

/* Task block size classes: 112 + 16k bytes, k = 0..25 (up to 512). */
#define COOP__ALLOC_CLASSES 26
#define COOP__ALLOC_MALLOC 0xff
#define COOP__MAX_SHARDS 64
#define COOP__ALLOC_CACHE_MAX 16384

/*
 * The slab of task blocks (coop-slab.c): blocks carved from 64 KiB chunks,
 * spare blocks of each class that no worker holds in a pool; lock guards
 * everything here.
 */
struct coop__slab {
	pthread_mutex_t lock;
	void *chunks; /* every chunk, linked by its first word */
	uint64_t nchunks;
	char *bump, *bump_end;           /* the non-worker threads' chunk */
	void *pool[COOP__ALLOC_CLASSES]; /* spare blocks (struct slab_block lists) */
	/* Blocks in the pool; read without the lock as a hint. */
	_Atomic uint64_t pool_n;
	uint64_t puts, puts_at_trim; /* blocks put in the pool: all, and at the last trim */
	/* Blocks handed out minus blocks given back by non-workers; at
	 * coop_rt_free the workers' own counts are added in.  Handles freed
	 * after coop_rt_free bring it to zero, which releases the slab. */
	int64_t live;
	bool rt_freed; /* coop_rt_free is done but live was not zero */
};

/* Counters a worker writes alone: relaxed load + store, no RMW needed;
 * other threads read them with relaxed loads for stats. */
struct coop__worker_counters {
	_Atomic uint64_t polls, forced_yields, short_circuits, steals, parks;
	_Atomic uint64_t tasks_spawned;
	_Atomic uint64_t tasks_finished[4];
	_Atomic uint64_t cancel_latency_count, cancel_latency_sum_ns;
	_Atomic uint64_t cancel_latency_buckets[COOP_CANCEL_LATENCY_BUCKETS];
};

struct coop__worker {
	struct coop__deque deque;
	coop_rt *rt;
	unsigned index;
	pthread_t thread;
	uint32_t tick;
	uint32_t rng;
	struct coop__task *current; /* the task being polled, or NULL */
	uint32_t inline_depth;      /* polls nested by join inlining */
	/* Liveness counts given back by tasks this worker completed, not yet
	 * applied: rel_n counts of rel_task's lent, or (rel_task NULL) of
	 * rel_scope's live.  See coop__worker_release_flush. */
	struct coop__task *rel_task;
	coop_scope *rel_scope;
	uint32_t rel_n;
	/* Tasks that cancellation reached before they started are completed
	 * back to back when a cancelled scope drains; up to 16 in a row share
	 * one clock reading (see drain_clock in coop-task.c). */
	uint64_t drain_ns;
	uint32_t drain_left;
	void *cache[COOP__ALLOC_CLASSES];      /* free lists of task blocks */
	void *cache_tail[COOP__ALLOC_CLASSES]; /* their last block (if not empty) */
	uint32_t cache_len[COOP__ALLOC_CLASSES];
	char *bump, *bump_end; /* the worker's slab chunk, carved from bump */
	int64_t slab_live;     /* blocks it handed out minus blocks it took back */
	struct coop__worker_counters c;
	/* default waiter: a permit guarded by a mutex */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	bool permit;
	bool sleeping; /* guarded by rt->sleep_lock */
} __attribute__((aligned(COOP__CACHELINE)));

struct coop__blocking_thread;

struct coop__blocking_key; /* one fair_key's queue (coop-blocking.c) */

struct coop__blocking_pool {
	pthread_mutex_t lock;
	pthread_cond_t work_cond;        /* idle threads wait here for jobs */
	pthread_cond_t exit_cond;        /* signalled when a thread exits */
	struct coop__blocking_key *keys; /* keys with jobs queued or running */
	struct coop__blocking_key *turn; /* the key served next (round-robin) */
	uint64_t queued;
	unsigned threads, idle, max, max_per_key;
	unsigned peak;
	uint64_t idle_ns;
	bool stopping;
	struct coop__blocking_thread *zombies; /* exited, not yet joined */
};

struct coop__timer_heap;

struct coop_rt {
	unsigned nworkers;
	struct coop__worker *workers;
	uint32_t default_budget;

	struct coop__inject inject;

	_Atomic unsigned nsleeping;
	pthread_mutex_t sleep_lock;
	_Atomic bool shutdown;

	coop_waiter_ops waiter;
	coop_timer_driver timers;
	struct coop__timer_heap *default_timers; /* NULL when a driver was given */

	struct coop__blocking_pool blocking;

	struct coop__slab slab;

	pthread_mutex_t roots_lock;
	coop_scope *roots; /* root scopes not yet finished */

	/* counters touched by non-worker threads or rarely */
	_Atomic uint64_t ext_tasks_spawned;
	_Atomic uint64_t ext_tasks_finished[4];
	_Atomic uint64_t blocking_spawned;
	_Atomic uint64_t blocking_finished[4];
	_Atomic uint64_t cancel_requests[COOP_REASON__COUNT];
	_Atomic uint64_t cancel_latency_count, cancel_latency_sum_ns;
	_Atomic uint64_t cancel_latency_buckets[COOP_CANCEL_LATENCY_BUCKETS];
	uint8_t lat_by_log2[64]; /* see latency_bucket in coop-rt.c */
};

/* The worker of any runtime that this thread is, or NULL.  initial-exec:
 * libcoop is loaded with the program (not dlopen'ed), and the default model
 * would make every access a __tls_get_addr call, which showed as 11% of a
 * fib benchmark's instructions. */
COOP__HIDDEN extern _Thread_local struct coop__worker *coop__tls_worker
	__attribute__((tls_model("initial-exec")));

/* The worker of rt running on this thread, or NULL.  Inline: the spawn,
 * completion and drain paths ask several times per task. */
static inline struct coop__worker *coop__current_worker(coop_rt *rt)
{
	struct coop__worker *w = coop__tls_worker;

	return w && w->rt == rt ? w : NULL;
}
/* Make a task runnable; the caller passes one reference to the queue. */
COOP__HIDDEN void coop__schedule(coop_rt *rt, struct coop__task *t, bool yielded);

/* ---- task blocks (coop-slab.c) --------------------------------------------- */

COOP__HIDDEN int coop__slab_init(coop_rt *rt);
COOP__HIDDEN void *coop__task_alloc(coop_rt *rt, size_t size, uint8_t *ret_cls);
COOP__HIDDEN void coop__task_block_free(struct coop__task *t);
/* A worker of rt has no work: give spare blocks back, maybe free chunks. */
COOP__HIDDEN void coop__slab_worker_idle(struct coop__worker *w);
/* The last awake worker of rt goes to sleep: free what the burst left. */
COOP__HIDDEN void coop__slab_rt_quiet(coop_rt *rt);
/* coop_rt_free's part: true when every block is back (slab released);
 * false when join handles still hold blocks (the last one frees rt). */
COOP__HIDDEN bool coop__slab_rt_free(coop_rt *rt);
COOP__HIDDEN uint64_t coop__slab_bytes(coop_rt *rt);
COOP__HIDDEN void coop__record_cancel_latency(coop_rt *rt, uint64_t ns);

/* ---- tasks (coop-task.c) ----------------------------------------------- */

COOP__HIDDEN void coop__task_ref(struct coop__task *t);
COOP__HIDDEN void coop__task_unref(struct coop__task *t);
COOP__HIDDEN void coop__task_run(struct coop__worker *w, struct coop__task *t);
/* t, just taken from a queue by w, never started and its scope is
 * cancelled: complete it CANCELLED now (true), as coop__task_run would;
 * else false and nothing changed. */
COOP__HIDDEN bool coop__task_drain_if_cancelled(struct coop__worker *w, struct coop__task *t);
/* Apply the worker's deferred liveness counts (before it runs a task that
 * does not share their target, and before it goes idle). */
COOP__HIDDEN void coop__worker_release_flush(struct coop__worker *w);
static inline bool coop__worker_release_covers(struct coop__worker *w, struct coop__task *t)
{
	return w->rel_task ? t->holder == w->rel_task : t->scope == w->rel_scope;
}
COOP__HIDDEN void coop__task_wake_by_ref(struct coop__task *t);
COOP__HIDDEN bool coop__task_cancelled(struct coop__task *t);
COOP__HIDDEN coop_reason coop__task_cancel_reason(struct coop__task *t, uint64_t *ret_requested_ns);
/* Finish a task or blocking job with a status, then tell its scope. */
COOP__HIDDEN void coop__task_complete(struct coop__task *t, coop_status status);
COOP__HIDDEN int coop__task_spawn(coop_scope *scope, coop_poll_fn poll, const void *state,
				  size_t state_size, coop_drop_fn drop, const coop_spawn_opts *opts,
				  uint8_t flags, coop_handle **ret_handle);
/* Send an admitted task to its pool (workers, or the blocking pool). */
COOP__HIDDEN void coop__task_start(struct coop__task *t);
COOP__HIDDEN extern const coop_waker_vtable coop__task_waker_vtable;
/* Stores waker in cell (consumed), dropping the one stored before. */
COOP__HIDDEN void coop__waker_cell_put(coop_waker_cell *cell, coop_waker waker);

/* ---- scopes (coop-scope.c) --------------------------------------------- */

/*
 * A test-and-set lock for critical sections of a few stores that are almost
 * never contended (a worker's own scope shard).  Cheaper than a mutex on the
 * hot path; a waiter yields its CPU instead of burning it.
 */
typedef struct coop__spinlock {
	_Atomic bool held;
} coop__spinlock;

static inline void coop__spin_lock(coop__spinlock *l)
{
	/* acquire: the holder sees what the previous holder wrote. */
	while (atomic_exchange_explicit(&l->held, true, memory_order_acquire))
		while (atomic_load_explicit(&l->held, memory_order_relaxed))
			sched_yield();
}

static inline void coop__spin_unlock(coop__spinlock *l)
{
	/* release: publishes the critical section to the next holder. */
	atomic_store_explicit(&l->held, false, memory_order_release);
}

/* Everything a scope counts per worker, so that workers do not contend. */
struct coop__scope_shard {
	coop__spinlock lock;      /* guards plist */
	struct coop__task *plist; /* tasks that have been PENDING */
	_Atomic uint64_t polls, forced_yields;
	_Atomic uint32_t n_ok, n_failed, n_cancelled;
} __attribute__((aligned(COOP__CACHELINE)));

struct coop_scope {
	coop_rt *rt;
	coop_scope *parent;
	pthread_mutex_t lock;                       /* guards the fields below marked (L) */
	pthread_cond_t done_cond;                   /* block_on joiners wait here */
	coop_scope *children, *sib_prev, *sib_next; /* (L of parent) child scopes */
	coop_scope *root_prev, *root_next;          /* (rt->roots_lock) */
	_Atomic uint32_t refs;
	/* Children not yet finished, plus one while the scope is open.  The
	 * scope finishes when this reaches zero; nothing can be added after. */
	_Atomic int64_t live;
	_Atomic bool closed;
	_Atomic uint32_t cancel; /* coop_reason, 0 = not cancelled */
	/* A policy cancellation that found no other child to reach: counted
	 * by the first child that enters afterwards (it is cancelled by it),
	 * see scope_policy_count.  0 = none pending. */
	_Atomic uint32_t cancel_uncounted;
	_Atomic uint64_t cancel_requested_ns;
	bool cancel_by_policy; /* (L) fail_fast / race cancelled us */
	bool race_won;         /* (L) */
	coop_policy policy;
	uint32_t max_parallel;
	uint32_t budget;
	bool shielded;
	uint32_t running;                         /* (L) children counted by max_parallel */
	struct coop__task *pend_head, *pend_tail; /* (L) held back by max_parallel */
	uint64_t deadline_timer;                  /* (L) driver id */
	bool deadline_armed;                      /* (L) */
	_Atomic bool done;
	coop_outcome outcome;      /* final once done */
	coop_waker_cell join_cell; /* a task joining with poll_join */
	unsigned nshards;
	bool shard_per_worker;            /* each worker has a shard to itself */
	struct coop__scope_shard *shards; /* nworkers + 1 (the last: others) */
	/* outcomes of child scopes, folded in under L */
	uint64_t child_polls, child_yields;
	uint32_t child_ok, child_failed, child_cancelled;
};

COOP__HIDDEN int coop__scope_enter(coop_scope *s);
COOP__HIDDEN void coop__scope_leave(coop_scope *s);
COOP__HIDDEN void coop__scope_leave_n(coop_scope *s, uint32_t n);
/* A child of s ended with st: fail_fast / race cancel the others.  The
 * request is counted in the runtime's cancel_requests only when it reaches
 * another child: one still unfinished (`live` beyond the child's own count
 * and the open count, less `deferred` counts of finished children not yet
 * applied; deferred < 0: unknown, counted), or one that enters the scope
 * later (coop__scope_enter). */
COOP__HIDDEN void coop__scope_apply_policy(coop_scope *s, coop_status st, int64_t deferred);
COOP__HIDDEN void coop__scope_release_slot(coop_scope *s);

/* The shard a thread counts in: a worker's own where each has one (no
 * division then: this is asked once per task). */
static inline unsigned coop__scope_shard_of(coop_scope *s, struct coop__worker *w)
{
	if (!w)
		return s->nshards - 1;
	return s->shard_per_worker ? w->index : w->index % (s->nshards - 1);
}

/* A child task of s ended with st, on worker w (NULL: another thread): its
 * counts go to the shard; then the policy and max_parallel.  Inline: once
 * per task, and mostly a few stores. */
static inline void coop__scope_child_done(coop_scope *s, struct coop__task *t, coop_status st,
					  struct coop__worker *w)
{
	struct coop__scope_shard *sh = &s->shards[coop__scope_shard_of(s, w)];
	_Atomic uint32_t *n = st == COOP_STATUS_OK       ? &sh->n_ok
			      : st == COOP_STATUS_FAILED ? &sh->n_failed
							 : &sh->n_cancelled;

	/* relaxed: summed by the finisher after the acq_rel chain on live.  A
	 * worker's own shard has one writer, so load + store suffices there;
	 * the shard of other threads is shared and needs the RMW. */
	uint32_t t_yields;

	if (w && s->shard_per_worker) {
		atomic_store_explicit(&sh->polls,
				      atomic_load_explicit(&sh->polls, memory_order_relaxed) +
					      atomic_load_explicit(&t->polls, memory_order_relaxed),
				      memory_order_relaxed);
		t_yields = atomic_load_explicit(&t->forced_yields, memory_order_relaxed);
		if (t_yields)
			atomic_store_explicit(
				&sh->forced_yields,
				atomic_load_explicit(&sh->forced_yields, memory_order_relaxed) +
					t_yields,
				memory_order_relaxed);
		atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&sh->polls,
					  atomic_load_explicit(&t->polls, memory_order_relaxed),
					  memory_order_relaxed);
		t_yields = atomic_load_explicit(&t->forced_yields, memory_order_relaxed);
		if (t_yields)
			atomic_fetch_add_explicit(&sh->forced_yields, t_yields,
						  memory_order_relaxed);
		atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
	}
	/* Only these two outcomes can cancel siblings. */
	if ((st == COOP_STATUS_FAILED && s->policy == COOP_POLICY_FAIL_FAST) ||
	    (st == COOP_STATUS_OK && s->policy == COOP_POLICY_RACE)) {
		/* A task counted by a holder hides its siblings from `live`;
		 * counts this worker has not applied yet are finished ones. */
		int64_t deferred = t->holder                                ? -1
				   : w && !w->rel_task && w->rel_scope == s ? (int64_t)w->rel_n
									    : 0;

		coop__scope_apply_policy(s, st, deferred);
	}
	if (t->mflags & TASKM_COUNTED)
		coop__scope_release_slot(s);
	/* The task's count in `live` is released by the task's completion,
	 * through its holder chain. */
}

COOP__HIDDEN bool coop__scope_admit(coop_scope *s, struct coop__task *t);
COOP__HIDDEN void coop__scope_park(coop_scope *s, struct coop__task *t, struct coop__worker *w);
COOP__HIDDEN void coop__scope_unpark(coop_scope *s, struct coop__task *t);
COOP__HIDDEN void coop__scope_ref(coop_scope *s);
COOP__HIDDEN void coop__scope_unref(coop_scope *s);

/* ---- blocking pool (coop-blocking.c) ----------------------------------- */

struct coop__blocking_job {
	coop_blocking_fn fn;
	void *arg;
	pthread_cond_t *sleeper;        /* guarded by pool lock: cond of its thread */
	uint64_t fair_key;              /* coop_spawn_opts.fair_key */
	struct coop__blocking_key *key; /* its queue, from submit to the end */
};

COOP__HIDDEN int coop__blocking_init(coop_rt *rt, unsigned max, unsigned max_per_key,
				     uint64_t idle_ns);
COOP__HIDDEN void coop__blocking_stop(coop_rt *rt);
COOP__HIDDEN void coop__blocking_submit(coop_rt *rt, struct coop__task *t);
COOP__HIDDEN void coop__blocking_wake(coop_rt *rt, struct coop__task *t);

/* ---- timers (coop-timer.c) ----------------------------------------------- */

COOP__HIDDEN int coop__timer_heap_new(struct coop__timer_heap **ret);
COOP__HIDDEN void coop__timer_heap_free(struct coop__timer_heap *h);
COOP__HIDDEN const coop_timer_driver *coop__timer_heap_driver(struct coop__timer_heap *h);

struct coop__task_timeout {
	coop_rt *rt;
	struct coop__task *task;
	uint64_t id;
	_Atomic uint32_t refs; /* the firing side's and the task's */
};
COOP__HIDDEN int coop__task_timeout_arm(coop_rt *rt, struct coop__task *t, uint64_t ns);
COOP__HIDDEN void coop__task_timeout_disarm(struct coop__task *t);

/* ---- small helpers ------------------------------------------------------- */

COOP__HIDDEN int coop__mutex_init(pthread_mutex_t *m);
COOP__HIDDEN int coop__cond_init_monotonic(pthread_cond_t *c);
COOP__HIDDEN void coop__abstime_after(uint64_t ns, struct timespec *ret);

#endif
