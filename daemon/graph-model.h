/*
 * graph-model.h - the daemon's view of a submitted graph: the parsed
 * definition (proto-graph.h, read-only) mirrored by a tree of run-time
 * nodes that hold each node's state, times, cancellation report, stats and
 * result, plus the libcoop objects (scope, join handle) and the exec job
 * while it runs.
 *
 * Threads.  Every field is owned by the reactor (main) thread, except the
 * `mailbox` part, which worker and blocking threads write through
 * reactor-inbox.h (under the inbox lock) to tell the reactor that a node
 * started, is cancelling or has ended.  A graph is freed only after its
 * root has settled, i.e. after every libcoop task that points at one of its
 * nodes has finished.
 */
#ifndef COOPD_GRAPH_MODEL_H
#define COOPD_GRAPH_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "coop.h"
#include "proto-graph.h"
#include "util-strbuf.h"

struct coopd;
struct exec_job;
struct later;
struct conn;

#define GRAPH_ID_LEN 16 /* hex characters of a graph id */

/* Reactor-side message bits posted by other threads (reactor-inbox.h). */
enum {
	MAIL_STARTED = 1u << 0,    /* first poll / blocking start: mail_started_ns */
	MAIL_DONE = 1u << 1,       /* the node has ended (job_watch_end); its
				      outcome is read from libcoop
				      (coop_handle_done, coop_scope_done), not
				      carried here */
	MAIL_EXEC_SPAWN = 1u << 2, /* exec task asks the reactor to start the process */
	MAIL_EXEC_KILL = 1u << 3,  /* exec task asks the reactor to stop the group:
				      mail_reason */
	MAIL_ATTEMPT = 1u << 4,    /* retried task: mail_att_started attempts have
				      begun, mail_att_done have ended (their
				      records in n->attempts are written) */
};

/* One attempt of a node with retries (coopd.graph(5), RETRIES).  The
 * attempt that is running, or that ended the node, is the node's own
 * fields; the records are those of the attempts before it, plus the start
 * of every attempt.  Exec attempts are written by the loop thread; task
 * attempts by the task on a worker, each field before the MAIL_ATTEMPT
 * that publishes it (the inbox lock orders them), and never again. */
struct node_attempt {
	int64_t started_ms, finished_ms; /* unix ms, -1: null */
	int64_t value;                   /* task: its value */
	char *error;                     /* owned; NULL none */
	int exit_code;                   /* exec: -1 none */
	int term_signal;                 /* exec: 0 none */
	bool has_value;
	bool timed_out; /* its timeout_ms passed (the last one: the node's
			   cancel reason is then `timeout`) */
};

/* An exec node placed on Slurm, from its submission on (job-slurm.c):
 * what status and watch show, and the journal keeps. */
struct rnode_slurm {
	uint64_t job_id;
	char state[32]; /* Slurm's job state, "PENDING", "COMPLETED", ... */
	bool reattach;  /* a restart resumed the graph: follow this job, not a new one */
};

/* Fields are grouped by size so that there are no padding holes: a flat
 * graph has one of these per node. */
struct rnode {
	const struct proto_node *def;
	struct graph *g;
	struct rnode *parent;
	struct rnode *kids; /* def->n_children entries, same order */

	/* Reported state (coopd.graph(5), STATES); state and reason are below. */
	int64_t started_ms, finished_ms; /* unix ms, -1: null */
	int64_t cancel_requested_ms, cancel_ack_ms;
	uint64_t polls, forced_yields;
	int64_t value;
	char *error;             /* failure text, NULL none */
	char *cancel_note;       /* free-text reason of a client cancel */
	uint64_t log_dropped[2]; /* exec: output bytes beyond log_cap, per stream */
	uint64_t pg_start;       /* exec: leader's start time (/proc stat 22),
				    so that a reused pid is never mistaken */

	/* Orchestration (reactor only). */
	uint32_t *dependents;        /* sibling indexes that wait for this one */
	coop_outcome *scope_outcome; /* scope: libcoop's report, held until every
					child has settled here too */
	int64_t grace_override_ms;   /* cancel's grace_ms, -1 none */
	coop_scope *scope;           /* scope nodes */
	coop_handle *handle;         /* task/blocking/exec nodes */
	struct exec_job *job;
	struct node_attempt *attempts; /* def->retries + 1 entries; NULL without retries */
	struct rnode_slurm *slurm;     /* placement slurm, once submitted; NULL before */

	/* Mailbox, written by other threads under the inbox lock. */
	struct rnode *mail_next;
	uint64_t mail_started_ns;
	unsigned mail_bits;
	int mail_reason;                         /* coop_reason of MAIL_EXEC_KILL */
	uint8_t mail_att_started, mail_att_done; /* MAIL_ATTEMPT */

	uint32_t idx;       /* pre-order index, root 0; stable on reload */
	int exit_code;      /* exec: -1 none */
	int term_signal;    /* exec: 0 none */
	int pgid;           /* exec: process group (leader pid), 0 none */
	uint32_t leftovers; /* exec: processes it left behind, ended */
	uint32_t deps_left; /* `after` targets not yet settled */
	uint32_t n_dependents;
	uint32_t kids_unstarted; /* scope: children not yet spawned/skipped */
	uint32_t kids_unsettled; /* scope: children not yet settled */

	uint8_t state;        /* enum proto_state */
	int8_t cancel_reason; /* enum proto_cancel_reason, -1 none */
	bool has_value;
	bool launched; /* spawned into libcoop (or skipped) */
	bool settled;
	bool end_watched;    /* scope: closed, job_watch_end called */
	uint8_t pre_cancel;  /* coop_reason requested before it started */
	uint8_t reuse_state; /* reused: its state in the graph it comes from */
	bool reused;         /* rerun failed_only: settled at once, not run */
	bool paused;         /* in a paused subtree (pause/resume) */
	bool held;           /* its launch came while paused: launched on resume */
	uint8_t att_started; /* retries: attempts begun (0 before the first) */
	uint8_t att_done;    /* retries: attempts ended before the current one */
};

struct graph {
	struct coopd *d;
	char id[GRAPH_ID_LEN + 1];
	struct proto_graph *def;
	uid_t uid;
	gid_t gid;
	int64_t created_ms;
	struct rnode *root;                /* root->state is the graph's state */
	struct rnode **by_idx;             /* n_nodes + 1 entries, pre-order */
	size_t n_nodes;                    /* without the root */
	size_t n_done;                     /* nodes (without the root) in a final state */
	uint32_t counts[PROTO_STATE__MAX]; /* nodes per state, without the root */
	/* counts is right: false only for a settled graph loaded at start-up
	 * without its tree until store_graph_counts() has counted its rows. */
	bool counts_known;
	bool active;   /* submitted and not yet settled */
	bool syncing;  /* settled, final journal not yet synced */
	uint8_t holds; /* ended, not yet settled (graph-registry.h) */
	bool loaded;   /* reloaded from the state directory */
	/* In d->active_per_user, d->active_nodes_per_user and
	 * d->active_bytes_per_user. */
	bool active_counted;
	/* A settled graph's node tree is not kept (graph_release_tree): then
	 * def, root and by_idx are NULL and these say what `list` and
	 * retention need; status and logs read the tree back from the
	 * database (store_graph_hydrate). */
	bool released;
	uint8_t final_state;
	char *name;
	int64_t finished_ms;

	struct graph *prev, *next;   /* d->graphs list, creation order */
	struct graph *hprev, *hnext; /* owner's finished graphs, finish order */
	bool in_history;             /* on that list (store-retention.c) */
	/* What it keeps on disk, for retention_bytes: its stored document
	 * and the log bytes its exec jobs wrote (job-exec.c adds them as
	 * written); recorded in graphs.bytes when it settles. */
	uint64_t disk_bytes;
	uint64_t hist_bytes; /* disk_bytes when it joined that list */
	/* The bytes of its stored document, which max_active_bytes_per_user
	 * counts while it is active (method-submit.c). */
	uint64_t doc_bytes;
	/* Log bytes its jobs wrote while it was active, counted for its owner
	 * against log_bytes_per_user (graph_registry_log_room). */
	uint64_t log_bytes;
	bool log_share_told;   /* the drop at log_bytes_per_user was logged */
	struct later *waiters; /* pending `wait` requests */
	/* Answers being streamed from its tree (graph-stream.c): the tree is
	 * not released while pinned; a graph removed meanwhile is freed by
	 * its last stream (forgotten). */
	uint32_t pins;
	bool forgotten;
	/* Its tree is being read back on the reader thread (store-state.c);
	 * the connections whose request waits for it (server-park.c). */
	bool hydrating;
	struct conn *parked;

	/* Persistence (store-state.c). */
	int64_t store_seq;    /* its row in coopd.db (graphs.seq), 0 none yet */
	uint32_t *dirty;      /* indexes of nodes changed since the last flush */
	uint64_t *dirty_bits; /* the same as a bitmap (one entry per node) */
	size_t n_dirty, dirty_cap;
	bool dirty_queued;    /* on the store's flush list */
	bool store_failed;    /* a write of its records failed: rewrite all */
	bool settle_retry;    /* on the store's retry list */
	bool settle_deferred; /* its final state is held back (store-state.c) */
	bool settle_failed;   /* its final state could not be written yet */
	struct graph *dirty_next, *retry_next;
	unsigned long long settle_batch; /* the writer's transaction of its final state */
	bool settle_durable;             /* that settle asked for a sync */
	/* The settle completion waiting for a retry. */
	void (*settle_done)(struct coopd *d, struct graph *g, int r, void *arg);
	void *settle_arg;
};

/* Builds the run-time tree for def (taken over on success). */
int graph_new(struct proto_graph *def, const char *id, uid_t uid, gid_t gid, int64_t created_ms,
	      struct graph **ret);
void graph_free(struct graph *g);

/* The graph's state, name and finish time, with or without its tree. */
int graph_state(const struct graph *g);
const char *graph_name(const struct graph *g);
int64_t graph_finished_ms(const struct graph *g);
/* Frees a settled graph's tree (definition, nodes), keeping what `list`
 * and retention need; bounded memory: docs/durability.md. */
void graph_release_tree(struct graph *g);
/* Releases g's tree if g is settled and nothing holds it (no waiter, no
 * sync in flight, no stream). */
void graph_maybe_release(struct graph *g);
/* Drops one pin (graph_stream_free, a finished read back): the last one
 * frees a graph removed meanwhile, or lets its tree go. */
void graph_unpin(struct graph *g);
/* Gives g (released) the tree of t (a graph_new() of the same document
 * with its nodes' states applied), and frees t's shell. */
void graph_adopt_tree(struct graph *g, struct graph *t);
/* A released graph as loaded from its database row, without a tree. */
int graph_new_released(const char *id, const char *name, uid_t uid, gid_t gid, int64_t created_ms,
		       int64_t finished_ms, int state, size_t n_nodes, size_t n_done,
		       struct graph **ret);

/* Unix time in ms now (CLOCK_REALTIME). */
int64_t graph_now_ms(void);
/* A CLOCK_MONOTONIC ns time (coop_now_ns) as unix ms; 0 gives -1 (never). */
int64_t graph_mono_to_unix_ms(uint64_t mono_ns);

/* Renders the status answer ({id, name, state, ...}) into sb; summary gives
 * the {counts} form of docs/protocol.md (status). */
void graph_render_status(const struct graph *g, bool summary, struct strbuf *sb);
/* ,"slurm":{"job_id","state"} of a node placed on Slurm once submitted;
 * nothing otherwise (status and watch events). */
void graph_render_slurm(const struct rnode *n, struct strbuf *sb);
/* Renders one node (and its subtree) as in the status answer. */
void graph_render_node(const struct rnode *n, struct strbuf *sb);
/* For renderers that walk the tree themselves (graph-stream.c): the
 * status answer up to and including "root": (what precedes the root
 * node); the live stats of an active graph's nodes taken at once (free()
 * it; NULL for a settled graph, or out of memory: each node is then read
 * as it is rendered); and one node without its children: a scope's text
 * ends after "nodes":[ (its children, then "]}" follow), any other node's
 * is whole. */
void graph_render_status_head(const struct graph *g, struct strbuf *sb);
uint64_t *graph_stats_snapshot(const struct graph *g);
void graph_render_node_open(const struct rnode *n, const uint64_t *snap, struct strbuf *sb);
/* A node's polls and forced yields: libcoop's final figures once it has
 * settled, else live ones (its task's counters; a scope's, the sums over its
 * descendants).  Loop thread. */
void graph_node_stats(const struct rnode *n, uint64_t *ret_polls, uint64_t *ret_yields);
/* Renders {id, name, state, created, nodes_total, nodes_done} (list). */
void graph_render_brief(const struct graph *g, struct strbuf *sb);

/* Sets n's state and keeps its graph's counts (nodes per state and in a
 * final state, the root aside): the one place they change, for the runner
 * (graph_set_state, which also journals and tells watchers) and for
 * loading and crash recovery (store-state.c).  Returns whether the state
 * changed. */
bool graph_node_set_state(struct rnode *n, enum proto_state st);

/* Allocates n->attempts for a node with retries (loop thread, before its
 * task exists).  0 or -ENOMEM. */
int graph_attempts_alloc(struct rnode *n);

/* Finds a node by path ("/" root); NULL if none. */
struct rnode *graph_find(struct graph *g, const char *path);

const char *graph_reason_name(int reason);

#endif
