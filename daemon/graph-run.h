/*
 * graph-run.h - running a graph on libcoop: scopes, `after`, `always`,
 * state changes, cancellation, and the end of a graph.
 *
 * All on the loop thread.  libcoop decides policies (fail_fast, race,
 * all_settled), budgets, deadlines, timeouts and max_parallel; the daemon
 * decides *when* each node is handed to libcoop (after its dependencies
 * settled) and whether it is skipped.
 */
#ifndef COOPD_GRAPH_RUN_H
#define COOPD_GRAPH_RUN_H

#include <stdint.h>

#include "coop.h"
#include "protocol.h"

struct coopd;
struct graph;
struct rnode;

/* Starts a durable, registered graph: creates its root scope and launches
 * the nodes without dependencies.  On error the graph is settled failed. */
void graph_run_start(struct coopd *d, struct graph *g);

/* Start-up (store-state.c): whether a graph that was running when coopd
 * stopped can go on instead of being interrupted, and if so prepares it
 * (docs/slurm.md "Restarts"): every node that settled below a scope still
 * running succeeded (it is kept, not run again), and every node not
 * settled is a scope, a node that never started, or an exec node placed
 * on Slurm with its job id (followed again, not resubmitted).  With no
 * Slurm job to follow there is nothing to gain: false. */
bool graph_run_resumable(struct coopd *d, struct graph *g);

/* Mail from other threads (reactor-inbox.c). */
void graph_run_mail(struct coopd *d, struct rnode *n, unsigned bits, uint64_t started_ns,
		    int reason, const coop_outcome *o);

/* Mail of a task with retries: attempts begun and ended so far. */
void graph_run_attempts(struct coopd *d, struct rnode *n, unsigned started, unsigned done);

/* A client cancel of the graph (n NULL or the root) or of one subtree.
 * grace_ms < 0: keep each job's own.  note may be NULL. */
void graph_run_cancel(struct coopd *d, struct graph *g, struct rnode *n, coop_reason reason,
		      int64_t grace_ms, const char *note);

/* pause/resume of the graph (n NULL or the root) or of one subtree
 * (docs/protocol.md): nothing in it starts while paused and its running
 * exec jobs are frozen; resume starts what was held.  0, or -EALREADY
 * (pause: the target has settled) / -ENOENT (resume: not paused). */
int graph_run_pause(struct coopd *d, struct graph *g, struct rnode *n);
int graph_run_resume(struct coopd *d, struct graph *g, struct rnode *n);

/* Called by job-exec.c. */
void graph_run_node_running(struct coopd *d, struct rnode *n, int64_t unix_ms);
void graph_run_node_cancelling(struct coopd *d, struct rnode *n, int coop_reason_value);
void graph_run_exec_result(struct coopd *d, struct rnode *n, int exit_code, int term_signal,
			   const char *error);

/* Sets a node's state: counts, journal record, watch event. */
void graph_set_state(struct coopd *d, struct rnode *n, enum proto_state st);

/* proto_cancel_reason for a coop_reason (-1 for NONE). */
int graph_reason_from_coop(coop_reason r);

/* Frees what is left of the launches spread over loop iterations
 * (graph-run.c, RUN_SLICE); at exit. */
void graph_run_backlog_free(struct coopd *d);

#endif
