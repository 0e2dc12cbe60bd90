/*
 * coop.h -- libcoop, a scoped parallel executor for C.
 *
 * This header is the library's manual.  libcoop runs two kinds of work inside
 * *scopes*:
 *
 *   - tasks: cooperative poll functions (coop_spawn), run on a pool of worker
 *     threads that steal work from each other.  A task returns COOP_PENDING
 *     when it cannot make progress and is polled again after something wakes
 *     it through a coop_waker;
 *   - blocking jobs: plain functions that may block (coop_spawn_blocking),
 *     run on a separate, bounded pool of threads that grows on demand and
 *     shrinks when idle.
 *
 * Scopes nest into a tree and a scope never finishes before every child it
 * holds (task, blocking job or nested scope) has finished: nothing outlives
 * its scope.  Cancellation is requested on a scope or a single child, reaches
 * every descendant that is not shielded, is observed cooperatively, can be
 * waited for, and is reported per child in its coop_outcome.
 *
 * Threads.  Unless a paragraph says otherwise, every call may be made from any
 * thread: a worker inside a task's poll, a blocking job, the thread that owns
 * an event loop, or any other thread of the program.  Calls that wait
 * (coop_scope_join, coop_rt_free) must not be made from a worker thread.
 *
 * Errors.  Calls that can fail return 0 or a negative errno value and write
 * their ret_* outputs only on success; they never print, log or exit.
 *
 * The executor owns no event loop.  Timers are driven through
 * coop_timer_driver (a default one, a thread with a timer heap, is built in)
 * and idle workers park through coop_waiter_ops; an external reactor such as
 * libev can supply both (see coop_rt_options).
 */
#ifndef COOP_H
#define COOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define COOP_API __attribute__((visibility("default")))
#else
#define COOP_API
#endif

/* ------------------------------------------------------------------------ */
/* Types                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct coop_rt coop_rt;         /* a runtime: worker and blocking pools */
typedef struct coop_scope coop_scope;   /* a node of the scope tree */
typedef struct coop_handle coop_handle; /* join handle of one task or blocking job */
typedef struct coop_cx coop_cx;         /* the context of one poll */
typedef struct coop_token coop_token;   /* cancellation token of a blocking job */
typedef struct coop_timer coop_timer;   /* a one-shot timer a task can wait on */

/* What a poll function returns. */
typedef enum coop_poll {
	COOP_PENDING = 0,   /* not done; poll me again after my waker fires */
	COOP_READY = 1,     /* done, succeeded; value set by coop_cx_set_value */
	COOP_FAILED = 2,    /* done, failed; error set by coop_cx_set_value */
	COOP_CANCELLED = 3, /* done: acknowledged a cancellation request */
} coop_poll;

/* How a child ended. */
typedef enum coop_status {
	COOP_STATUS_RUNNING = 0, /* not finished yet */
	COOP_STATUS_OK,          /* succeeded */
	COOP_STATUS_FAILED,      /* failed */
	COOP_STATUS_CANCELLED,   /* stopped because of a cancellation request */
} coop_status;

/* Why cancellation was requested (docs/libcoop.md, "Scopes and cancellation"). */
typedef enum coop_reason {
	COOP_REASON_NONE = 0,
	COOP_REASON_CLIENT,
	COOP_REASON_DEADLINE,
	COOP_REASON_TIMEOUT,
	COOP_REASON_SIBLING_FAILED,
	COOP_REASON_RACE_LOST,
	COOP_REASON_SHUTDOWN,
	COOP_REASON__COUNT
} coop_reason;

/* "client", "deadline", ...; "none" for COOP_REASON_NONE, NULL if out of range. */
COOP_API const char *coop_reason_name(coop_reason reason);
/* The inverse of coop_reason_name; returns -EINVAL for an unknown name. */
COOP_API int coop_reason_parse(const char *name, coop_reason *ret_reason);

/*
 * The report of one finished child (task, blocking job or scope).
 *
 * A child that was asked to cancel but finished its work anyway has status
 * OK or FAILED *and* a cancel_reason: run-to-completion is reported honestly.
 * Times are CLOCK_MONOTONIC nanoseconds (coop_now_ns); 0 means "never".
 * cancel_requested_ns and finished_ns are recorded only for a child that
 * cancellation reached (finished_ns is then the acknowledgement time); the
 * runtime keeps clock reads out of every other task's path, so callers that
 * want start and end times of every child take them in their poll function.
 * A scope's cancel_reason is that of a request from outside (its owner, a
 * deadline, an ancestor); a scope whose own policy cancelled its children
 * (fail_fast, race) reports NONE.  A scope's `started` is always true.
 */
typedef struct coop_outcome {
	coop_status status;
	coop_reason cancel_reason; /* NONE if cancellation never reached it */
	int64_t value;             /* the value set with coop_cx_set_value */
	uint64_t cancel_requested_ns;
	uint64_t finished_ns; /* acknowledgement time when cancelled */
	bool started;         /* false: cancelled before its first poll/run */
	uint64_t polls;       /* tasks: polls (saturates at 2^32-1); scopes: sum over descendants */
	uint64_t forced_yields; /* budget exhaustions, same summing rule */
} coop_outcome;

/* CLOCK_MONOTONIC in nanoseconds: the clock of every time in this API. */
COOP_API uint64_t coop_now_ns(void);

/* ------------------------------------------------------------------------ */
/* Wakers                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * A waker is a small value (vtable + data) that makes some piece of work
 * runnable again.  Task wakers reschedule their task; combinators make their
 * own wakers for the futures they hold.  Any code can implement one.
 *
 * Rules: every waker obtained by clone must be consumed exactly once, by
 * coop_waker_wake or coop_waker_drop.  wake_by_ref does not consume.  Waking
 * is allowed from any thread at any time, also while the task is being
 * polled: the task is then polled once more after the current poll returns
 * (no wakeup is lost, and a task is never polled by two threads at once).
 * Waking a finished task does nothing.
 */
typedef struct coop_waker_vtable {
	void *(*clone)(void *data); /* returns the data of the new waker */
	void (*wake)(void *data);   /* wake and release */
	void (*wake_by_ref)(void *data);
	void (*drop)(void *data); /* release without waking */
} coop_waker_vtable;

typedef struct coop_waker {
	const coop_waker_vtable *vtable; /* NULL: the empty waker */
	void *data;
} coop_waker;

COOP_API coop_waker coop_waker_clone(coop_waker waker);
COOP_API void coop_waker_wake(coop_waker waker);
COOP_API void coop_waker_wake_by_ref(coop_waker waker);
COOP_API void coop_waker_drop(coop_waker waker);
static inline bool coop_waker_is_empty(coop_waker waker)
{
	return waker.vtable == NULL;
}

/*
 * A cell that holds at most one waker and can be filled by one thread while
 * another thread fires it.  coop_waker_cell_register replaces the stored
 * waker with a clone of the context's waker; coop_waker_cell_wake takes and
 * wakes the stored one.  Used by timers, channels and reactors.  A cell must
 * be initialised with COOP_WAKER_CELL_INIT and cleared with
 * coop_waker_cell_clear before its memory goes away.
 */
typedef struct coop_waker_cell {
	_Atomic unsigned lock;
	coop_waker waker;
} coop_waker_cell;
#define COOP_WAKER_CELL_INIT       \
	{                          \
		0,                 \
		{                  \
			NULL, NULL \
		}                  \
	}
COOP_API void coop_waker_cell_register(coop_waker_cell *cell, coop_cx *cx);
COOP_API void coop_waker_cell_wake(coop_waker_cell *cell);
COOP_API void coop_waker_cell_clear(coop_waker_cell *cell);

/* ------------------------------------------------------------------------ */
/* Tasks and the poll context                                               */
/* ------------------------------------------------------------------------ */

/*
 * A task is a poll function over state that the runtime stores inline with
 * the task (coop_spawn copies it in).  poll is called on a worker thread,
 * never on two threads at once.  drop, if not NULL, is called exactly once
 * with the state when the task is finished (after its final poll, or without
 * any poll if it was cancelled before it started), on whichever thread
 * finished it.
 */
typedef coop_poll (*coop_poll_fn)(coop_cx *cx, void *state);
typedef void (*coop_drop_fn)(void *state);

/* The waker of the task being polled (borrowed: clone it to keep it). */
COOP_API coop_waker coop_cx_waker(coop_cx *cx);
/* The value reported in the outcome: the result (READY) or an error (FAILED). */
COOP_API void coop_cx_set_value(coop_cx *cx, int64_t value);
/* The scope the task belongs to; spawning into it from a poll is allowed. */
COOP_API coop_scope *coop_cx_scope(coop_cx *cx);
COOP_API coop_rt *coop_cx_rt(coop_cx *cx);
/* Whether cancellation has reached this task (its own request or its scope's). */
COOP_API bool coop_cx_cancelled(coop_cx *cx);
/* The reason of that cancellation, COOP_REASON_NONE if none. */
COOP_API coop_reason coop_cx_cancel_reason(coop_cx *cx);

/*
 * The cooperation budget (after tokio's coop and the "yield before" design).
 *
 * Every poll starts with the budget of the task's scope (default 128).  A
 * leaf operation that could make progress forever without returning PENDING
 * (a ready channel, a unit of CPU work) calls coop_cx_proceed first:
 *   - with budget left it consumes one unit and returns true;
 *   - with none it returns false, sets the context's preempted flag and
 *     marks the poll as a forced yield.  The task must then return
 *     COOP_PENDING without waiting for any waker: the runtime re-queues it
 *     behind the other runnable tasks (it is not parked).
 * Combinators check coop_cx_preempted after each child they poll and stop
 * polling further children for this poll when it is set.  A cx of NULL
 * (code running outside a poll) always proceeds: code that never asks for
 * cooperation pays nothing but a null check.
 */
COOP_API bool coop_cx_proceed(coop_cx *cx);
COOP_API bool coop_cx_preempted(const coop_cx *cx);
/* Units left in this poll's budget (UINT32_MAX when cx is NULL). */
COOP_API uint32_t coop_cx_budget_left(const coop_cx *cx);
/*
 * For CPU-bound loops: record one unit of work; returns true when the task
 * has used its budget and must return COOP_PENDING now (as coop_cx_proceed
 * returning false, but counting the unit that was just done).
 */
COOP_API bool coop_cx_maybe_yield(coop_cx *cx);

/* Options of one spawned child; zero-initialise and set what you need. */
typedef struct coop_spawn_opts {
	bool shielded;       /* not cancelled by its scopes' cancellation */
	uint64_t timeout_ns; /* cancel with COOP_REASON_TIMEOUT after this (0: none) */
	/*
	 * Blocking jobs only (ignored for tasks): the fairness key of the job,
	 * e.g. the user it runs for (0 is a key like any other).  The pool
	 * keeps one queue per key and serves the keys that have jobs waiting
	 * in turn (round-robin), so a key's jobs wait behind that key's own
	 * jobs, not behind everyone's; and a key never holds more than
	 * coop_rt_options.blocking_max_per_key threads at once, so the others
	 * always find one.  A key's first waiting job, once cancelled, is
	 * let through (only to complete as cancelled) whatever its key holds.
	 */
	uint64_t fair_key;
} coop_spawn_opts;

/*
 * Spawn a task into scope.  state_size bytes are copied from state into
 * storage owned by the task (state may be NULL when state_size is 0).  On
 * success *ret_handle (if not NULL) receives a join handle that the caller
 * must release with coop_handle_free; pass NULL to detach the task (the scope
 * still waits for it).
 *
 * Errors: -EINVAL (NULL scope or poll), -ENOMEM, -ESHUTDOWN (the scope has
 * already finished or the runtime is shutting down).  A task spawned into a
 * scope that is being cancelled is accepted and finishes as cancelled
 * without being polled, unless it is shielded.
 */
COOP_API int coop_spawn(coop_scope *scope, coop_poll_fn poll, const void *state, size_t state_size,
			coop_drop_fn drop, const coop_spawn_opts *opts, coop_handle **ret_handle);

/* ------------------------------------------------------------------------ */
/* Blocking jobs                                                            */
/* ------------------------------------------------------------------------ */

/*
 * A blocking job runs fn(token, arg) on the blocking pool.  It returns its
 * status: COOP_READY, COOP_FAILED or COOP_CANCELLED (COOP_PENDING counts as
 * FAILED), and may set a value with coop_token_set_value.  It should check
 * coop_token_cancelled now and then; a job that ignores the token runs to
 * completion and is reported as completed (with the cancel reason set).
 * arg is the caller's; the scope guarantees the job has finished before the
 * scope does, so arg may point into the stack of a thread that joins it.
 */
typedef coop_poll (*coop_blocking_fn)(coop_token *token, void *arg);

COOP_API int coop_spawn_blocking(coop_scope *scope, coop_blocking_fn fn, void *arg,
				 const coop_spawn_opts *opts, coop_handle **ret_handle);
COOP_API bool coop_token_cancelled(const coop_token *token);
COOP_API coop_reason coop_token_cancel_reason(const coop_token *token);
COOP_API void coop_token_set_value(coop_token *token, int64_t value);
/*
 * Sleep up to ns nanoseconds, returning early (with true) when the job is
 * cancelled.  Blocks on a condition variable, not a polling loop.
 */
COOP_API bool coop_token_sleep(coop_token *token, uint64_t ns);

/* ------------------------------------------------------------------------ */
/* Join handles                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Poll for the child's end from a task: COOP_READY (outcome written) or
 * COOP_PENDING (the task's waker is registered and fires when the child
 * ends).  One handle, one joiner: the handle is not shared between tasks.
 * A child that has not started yet and still sits at the bottom of the
 * calling worker's queue (with any children the caller spawned after it) is
 * run right here, nested in the caller's poll, as oneTBB's wait does: so do
 * not hold, across this call, a lock that the child itself takes.
 */
COOP_API coop_poll coop_handle_poll(coop_handle *handle, coop_cx *cx, coop_outcome *ret_outcome);
/* Non-blocking: whether the child has ended; fills ret_outcome if so. */
COOP_API bool coop_handle_done(coop_handle *handle, coop_outcome *ret_outcome);
/*
 * Join without a task: for code that is not a task (a reactor that waits
 * for many children) and would otherwise spawn a task per child only to
 * poll its handle.  The handle takes waker (it is consumed): it is woken
 * exactly once, once the child has ended, on the thread that ends it (a
 * worker, a blocking thread, a thread that cancels), or at once on the
 * calling thread if the child has already ended; coop_handle_done is true
 * from then on, and the child no longer counts as unfinished in its scope
 * (a scope closed from the wake, whose last child it was, is done at
 * once).  The wake runs inside libcoop's completion of the child:
 * keep it short, never block in it, and do not free the handle from it.
 * It replaces the waker of an earlier call or of a coop_handle_poll, which
 * is dropped unwoken: one handle, one joiner.
 */
COOP_API void coop_handle_wake_when_done(coop_handle *handle, coop_waker waker);
/* Ask one child to cancel (reason recorded).  A no-op once it has ended. */
COOP_API void coop_handle_cancel(coop_handle *handle, coop_reason reason);
/*
 * The child's polls and forced yields so far, while it runs or after it
 * ended (then the outcome's figures).  Callable from any thread while the
 * handle is not freed; a running child's figures are a snapshot that may
 * trail its current poll by one.  A blocking job counts one poll once it
 * has run.
 */
COOP_API void coop_handle_stats(const coop_handle *handle, uint64_t *ret_polls,
				uint64_t *ret_forced_yields);
/* Release the handle; the child keeps running (its scope still waits). */
COOP_API void coop_handle_free(coop_handle *handle);

/* ------------------------------------------------------------------------ */
/* Scopes                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum coop_policy {
	COOP_POLICY_FAIL_FAST = 0, /* first failure cancels the siblings */
	COOP_POLICY_ALL_SETTLED,   /* failures cancel nothing; scope fails if any did */
	COOP_POLICY_RACE,          /* first success cancels the rest (race_lost) */
} coop_policy;

typedef struct coop_scope_opts {
	coop_policy policy;
	uint32_t max_parallel; /* 0: unbounded; else children beyond it wait in order */
	uint32_t budget;       /* per-poll budget of its tasks; 0: inherit (root: 128) */
	uint64_t deadline_ns;  /* absolute coop_now_ns() time; 0: none */
	bool shielded;         /* not cancelled by the parent's cancellation */
} coop_scope_opts;

/*
 * Create a scope.  parent NULL makes a root scope of rt; otherwise the new
 * scope is a child of parent (parent does not finish before it).  A scope
 * is open until coop_scope_close: it cannot finish while open, whatever its
 * children do.  The creator owns the returned scope and releases it with
 * coop_scope_free.
 *
 * Errors: -EINVAL, -ENOMEM, -ESHUTDOWN (parent already finished).
 */
COOP_API int coop_scope_new(coop_rt *rt, coop_scope *parent, const coop_scope_opts *opts,
			    coop_scope **ret_scope);
/* No more children will be spawned by the owner (tasks inside may still spawn). */
COOP_API void coop_scope_close(coop_scope *scope);
/*
 * Block the calling (non-worker) thread until the scope has finished, closing
 * it first.  Afterwards every child has ended, so data on this thread's stack
 * that the children borrowed is free again.  ret_outcome may be NULL.
 */
COOP_API void coop_scope_join(coop_scope *scope, coop_outcome *ret_outcome);
/*
 * Like coop_scope_join, with a bound: returns -ETIMEDOUT if the scope has not
 * finished within timeout_ns, else 0.
 */
COOP_API int coop_scope_join_timeout(coop_scope *scope, uint64_t timeout_ns,
				     coop_outcome *ret_outcome);
/* From a task: close the scope and poll for its end, as coop_handle_poll. */
COOP_API coop_poll coop_scope_poll_join(coop_scope *scope, coop_cx *cx, coop_outcome *ret_outcome);
/* Whether the scope has finished; fills ret_outcome if so. */
COOP_API bool coop_scope_done(coop_scope *scope, coop_outcome *ret_outcome);
/*
 * Close the scope and have waker woken once it has finished, without a
 * task: as coop_handle_wake_when_done for a child (woken once, on the
 * thread that finishes the scope or at once if it has; coop_scope_done is
 * true from then on).  Replaces the registration of a coop_scope_poll_join.
 */
COOP_API void coop_scope_wake_when_done(coop_scope *scope, coop_waker waker);
/*
 * Request cancellation of the scope and every descendant that is not
 * shielded: sets their flags, wakes their parked tasks so that they notice,
 * and cancels their blocking jobs' tokens.  Returns at once (request only);
 * wait with coop_scope_join.  The first request's reason and time stick.
 * Cancelling a finished scope does nothing.
 */
COOP_API void coop_scope_cancel(coop_scope *scope, coop_reason reason);
COOP_API bool coop_scope_cancelled(const coop_scope *scope);
/* Release the owner's reference.  The scope must have been joined (or the
 * owner must not care: it keeps running and is freed when it finishes). */
COOP_API void coop_scope_free(coop_scope *scope);

/* ------------------------------------------------------------------------ */
/* Timers                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * The timer driver: how the runtime gets a callback at a point in time.  The
 * default driver runs one thread with a timer heap.  A reactor supplies its
 * own: arm must arrange for fire(arg) to be called once, on any thread, at or
 * after deadline_ns (coop_now_ns clock) unless disarm(id) is called first.
 * disarm returns true if it prevented the call and false if fire has run or
 * is running.  Both may be called from any thread.  arm writes *ret_id
 * before fire can run, and never calls fire itself (fire may take locks that
 * the caller of arm holds).
 */
typedef struct coop_timer_driver {
	void *ctx;
	int (*arm)(void *ctx, uint64_t deadline_ns, void (*fire)(void *arg), void *arg,
		   uint64_t *ret_id);
	bool (*disarm)(void *ctx, uint64_t id);
} coop_timer_driver;

/*
 * A timer a task waits on: coop_timer_poll returns COOP_READY once the
 * deadline has passed, else registers the task's waker.  Cancelling the
 * task's scope does not fire the timer; the task sees coop_cx_cancelled on
 * the poll that the cancellation wake causes.
 */
COOP_API int coop_timer_new(coop_rt *rt, uint64_t deadline_ns, coop_timer **ret_timer);
COOP_API coop_poll coop_timer_poll(coop_timer *timer, coop_cx *cx);
COOP_API void coop_timer_free(coop_timer *timer);

/* ------------------------------------------------------------------------ */
/* Combinators: several futures polled by one task                          */
/* ------------------------------------------------------------------------ */

/*
 * A future is a poll function over caller-owned state, polled inside a task.
 * It returns COOP_PENDING or a final status.  The combinators below honour
 * the preempted flag: once a child future's poll leaves the budget empty,
 * they stop polling further children for this poll, count each skipped ready
 * child as a short-circuit, and return COOP_PENDING (the task is re-queued).
 */
typedef struct coop_future {
	coop_poll (*poll)(coop_cx *cx, void *state);
	void *state;
	coop_poll result; /* written by the combinator when the future finishes */
} coop_future;

/* Join all: READY when every future has finished; never polls a finished one. */
COOP_API coop_poll coop_join_all(coop_cx *cx, coop_future *futures, size_t n);
/* Select: the index of the first future to finish, or -1 while pending. */
COOP_API long coop_select(coop_cx *cx, coop_future *futures, size_t n);

/*
 * An unordered set (after futures-rs FuturesUnordered): each future has its
 * own waker, and a poll of the set only polls the futures that were woken,
 * in wake order.  coop_unordered_poll returns the index of one finished
 * future, -1 while none is ready (pending), or -2 once the set is empty.
 */
typedef struct coop_unordered coop_unordered;
COOP_API int coop_unordered_new(coop_unordered **ret_set);
COOP_API int coop_unordered_push(coop_unordered *set, coop_future *future, size_t *ret_index);
COOP_API long coop_unordered_poll(coop_unordered *set, coop_cx *cx);
COOP_API size_t coop_unordered_len(const coop_unordered *set);
COOP_API void coop_unordered_free(coop_unordered *set);

/* ------------------------------------------------------------------------ */
/* The runtime                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Parking hook: how an idle worker sleeps.  park may return early (spurious
 * wakeups are fine) and must return promptly after unpark(worker) -- also
 * when unpark came first (it stores a permit).  timeout_ns 0 means no
 * timeout.  The default parks on a condition variable per worker.
 */
typedef struct coop_waiter_ops {
	void *ctx;
	void (*park)(void *ctx, unsigned worker, uint64_t timeout_ns);
	void (*unpark)(void *ctx, unsigned worker);
} coop_waiter_ops;

typedef struct coop_rt_options {
	unsigned workers;                      /* 0: online CPUs */
	unsigned blocking_max;                 /* blocking pool bound; 0: 64 */
	uint64_t blocking_idle_ns;             /* idle blocking threads exit after this; 0: 10 s */
	unsigned blocking_max_per_key;         /* threads one fair_key may hold; 0: blocking_max */
	uint32_t default_budget;               /* 0: 128 */
	const coop_timer_driver *timer_driver; /* NULL: the built-in timer thread */
	const coop_waiter_ops *waiter;         /* NULL: condition variables */
} coop_rt_options;

/* Start a runtime (its threads run at once).  opts may be NULL. */
COOP_API int coop_rt_new(const coop_rt_options *opts, coop_rt **ret_rt);
/*
 * Stop the runtime: cancels every root scope still running with
 * COOP_REASON_SHUTDOWN, closes it, waits for it to finish, then joins every
 * thread and frees everything.  Owners may still coop_scope_free their
 * scopes and coop_handle_free their handles afterwards (that touches nothing
 * else).  Work that ignores cancellation makes this wait for it.  Call from
 * a non-worker thread.
 */
COOP_API void coop_rt_free(coop_rt *rt);
COOP_API unsigned coop_rt_workers(const coop_rt *rt);
/* Index of the calling worker thread of rt, or -1 on any other thread. */
COOP_API int coop_rt_current_worker(const coop_rt *rt);

/* Counters for metrics; monotonic totals unless marked as a gauge. */
typedef struct coop_stats {
	uint64_t tasks_spawned;
	uint64_t tasks_finished[4]; /* indexed by coop_status (OK, FAILED, CANCELLED) */
	uint64_t blocking_spawned;
	uint64_t blocking_finished[4];
	uint64_t polls;
	uint64_t forced_yields;
	uint64_t short_circuits;
	uint64_t steals;
	uint64_t parks;
	uint64_t cancel_requests[COOP_REASON__COUNT];
	uint64_t run_queue_depth;      /* gauge: tasks waiting in worker and injection queues */
	uint64_t blocking_queue_depth; /* gauge */
	uint64_t blocking_threads;     /* gauge */
	uint64_t blocking_threads_peak;
	uint64_t tasks_live; /* gauge: tasks spawned and not yet finished */
	unsigned workers;
	/* Cancel latency (request to acknowledgement) histogram, cumulative
	 * Prometheus-style buckets with upper bounds coop_cancel_latency_bounds_ns. */
	uint64_t cancel_latency_count;
	uint64_t cancel_latency_sum_ns;
	uint64_t cancel_latency_buckets[16];
	/* gauge: bytes the runtime holds for task blocks (its slab), used or
	 * spare; spare memory goes back to malloc when workers are idle. */
	uint64_t task_memory_bytes;
} coop_stats;

#define COOP_CANCEL_LATENCY_BUCKETS 16
/* Upper bounds, in ns, of the buckets (the last is UINT64_MAX: +Inf). */
COOP_API const uint64_t *coop_cancel_latency_bounds_ns(void);
COOP_API void coop_rt_stats(coop_rt *rt, coop_stats *ret_stats);
/* Counts one cancellation request with reason in cancel_requests, for a
 * cancellation the caller carries out itself rather than through
 * coop_handle_cancel or a spawn's timeout_ns (an embedder's own timer that
 * stops work), so the figures count every request alike.  Callable from
 * any thread; COOP_REASON_NONE and reasons out of range are ignored. */
COOP_API void coop_rt_count_cancel(coop_rt *rt, coop_reason reason);

#ifdef __cplusplus
}
#endif
#endif /* COOP_H */
