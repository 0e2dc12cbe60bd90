/*
 * coopd.h - the daemon instance.  One struct coopd is created by main() and
 * passed explicitly to every module; there is no other global state (the
 * log level aside).
 *
 * Threads (see docs/architecture.md): the main thread runs the libev loop
 * (the reactor) and owns everything in this struct; libcoop's worker and
 * blocking threads only reach the daemon through reactor-inbox.h (node
 * mail) and reactor-timer.h (timers).
 */
#ifndef COOPD_COOPD_H
#define COOPD_COOPD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "coop.h"
#include "coopd-config.h"
#include "graph-registry.h"
#include "proto-rpc.h"
#include "reactor-loopstat.h"
#include "util-uidcount.h"

struct reactor_timers;
struct reactor_inbox;
struct server;
struct store;
struct metrics_http;
struct graph;
struct rnode;
struct lh_table;
struct exec_state;
struct exec_job;
struct exec_recover;
struct slurm_state;

enum job_kind { JOB_TASK, JOB_BLOCKING, JOB_EXEC, JOB__MAX };

/* Slots of coopd_requests_total{code}: index of each code we answer. */
enum {
	REQ_CODE_OK,
	REQ_CODE_PARSE,
	REQ_CODE_INVALID_REQUEST,
	REQ_CODE_NO_METHOD,
	REQ_CODE_INVALID_PARAMS,
	REQ_CODE_INTERNAL,
	REQ_CODE_NO_GRAPH,
	REQ_CODE_PERMISSION,
	REQ_CODE_LIMIT,
	REQ_CODE_SHUTTING_DOWN,
	REQ_CODE_ACTIVE,
	REQ_CODE__MAX
};

struct coopd_counters {
	uint64_t graphs_submitted;
	uint64_t graphs_finished[8]; /* by enum proto_state */
	uint64_t jobs_spawned[JOB__MAX];
	uint64_t jobs_finished[JOB__MAX][8];                /* by enum proto_state */
	uint64_t requests[PROTO_M__MAX + 1][REQ_CODE__MAX]; /* last row: unknown */
	uint64_t connections_accepted;
	uint64_t connections_refused;
	uint64_t clients_dropped;       /* stopped reading */
	uint64_t connections_timed_out; /* message_timeout_ms, idle_timeout_ms */
	uint64_t metrics_conns_evicted; /* idle HTTP connections shut for a scrape */
	uint64_t exec_spawn_failures;
	uint64_t orphans_reaped;        /* subreaper adoptions reaped */
	uint64_t retries[JOB__MAX];     /* attempts that were followed by another */
	uint64_t lines_parsed_off_loop; /* request lines handed to the parse thread */
	uint64_t reruns_read_off_loop;  /* rerun documents read and built on the reader */
	uint64_t dispatch_yields;       /* lines left for a later turn (server-turns.c) */
	uint64_t answer_share_waits;    /* turns waiting for answer_bytes_per_user */
};

struct run_backlog;

struct coopd {
	struct ev_loop *loop;
	struct coopd_config cfg;
	coop_rt *rt;
	struct reactor_timers *timers;
	struct reactor_inbox *inbox;
	struct server *server;
	struct store *store;
	struct metrics_http *metrics_http; /* NULL unless --metrics-listen */
	int state_fd;      /* the checked state directory (store-lock.c), for *at() */
	int state_lock_fd; /* holds the state directory's lock until exit */

	/* Owned by graph-registry.c (only it writes them). */
	struct lh_table *graph_index; /* id -> struct graph */
	struct graph *graphs_head, *graphs_tail;
	size_t graphs_active;
	struct uidcount active_per_user;       /* graphs not yet settled, per uid */
	struct uidcount active_nodes_per_user; /* their nodes, per uid */
	struct uidcount active_bytes_per_user; /* their documents' bytes */
	struct uidcount
		active_log_bytes_per_user; /* log bytes their jobs wrote (log_bytes_per_user) */
	struct graph_observer observers[GRAPH_OBSERVERS_MAX]; /* graph events */
	size_t n_observers;
	/* Submits accepted but not yet durable, per uid: they count against
	 * max_active_per_user (method-submit.c). */
	struct uidcount submits_pending;
	struct uidcount submit_nodes_pending; /* their nodes (max_active_nodes_per_user) */
	struct uidcount submit_bytes_pending; /* their documents (max_active_bytes_per_user) */
	size_t graphs_finished_kept;          /* settled graphs in the list */
	struct lh_table *histories;           /* uid -> finished graphs (store-retention.c) */
	/* cfg.ignore_cancel_max_ms for the blocking threads (job-builtin.c),
	 * stored at start and after each reload. */
	_Atomic unsigned ignore_cancel_max_ms;
	ev_timer retention_timer;
	struct lh_table *exec_pids;             /* pid -> struct exec_job (leaders alive) */
	struct exec_state *exec;                /* job-exec.c: cgroups or subreaper tracking */
	void (*job_free)(struct exec_job *job); /* exec_job_free, for graph_free() */
	struct exec_recover *exec_recover;      /* job-exec-recover.c: start-up only */
	struct slurm_state *slurm;              /* job-slurm.c: NULL unless slurm = on */

	ev_signal sig_term, sig_int, sig_hup;
	ev_child child;
	ev_timer shutdown_timer;
	ev_timer watchdog;
	ev_timer status_timer; /* STATUS= at most every 0.1 s (coopd-lifecycle.c) */
	bool notify;           /* NOTIFY_SOCKET was set at start */
	bool status_dirty;     /* a change not yet in STATUS= */
	bool shutting_down;
	bool shutdown_forced;
	bool subreaper;
	uint64_t start_mono_ns;
	struct coopd_counters counters;
	struct loopstat loopstat;        /* how long the loop is held (reactor-loopstat.c) */
	struct run_backlog *run_backlog; /* launches left for later iterations (graph-run.c) */
	/* Random values for graph ids, read from getrandom() a batch at a
	 * time (method-submit.c); loop thread only. */
	uint64_t id_random[32];
	unsigned id_random_left;
};

/* coopd-lifecycle.c: the daemon's life around main(). */

/* Starts the graceful stop (SIGTERM/SIGINT). */
void coopd_shutdown(struct coopd *d);

/* Sends STATUS= to systemd (no-op without NOTIFY_SOCKET). */
void coopd_notify_status(struct coopd *d);

/* Ends the loop if a stop is under way and nothing is left to wait for. */
void coopd_maybe_stopped(struct coopd *d);

/* Subscribes the lifecycle to graph events (graph_started: STATUS=;
 * graph_settled: its owner's history; graph_gone: retention, STATUS=, the
 * stop) and to the store's drained hook (after store_open(); before
 * wait_subscribe: `wait` is told last). */
int coopd_subscribe(struct coopd *d);

/* Takes the soft open-files limit up to the hard one. */
void coopd_raise_fd_limit(void);

/* Starts libcoop (d->rt) with the daemon's signals blocked. */
int coopd_start_runtime(struct coopd *d);

/* The signal, child, retention and watchdog watchers on d->loop. */
void coopd_watchers_start(struct coopd *d);
void coopd_watchers_stop(struct coopd *d);

#endif
