/*
 * graph-reuse.c - `rerun {id, failed_only: true}` (docs/protocol.md): a new
 * graph from the stored document of a settled one, in which the nodes that
 * succeeded there are not run again.
 *
 * Both graphs are built from the same document, so a node has the same
 * pre-order index in each and by_idx pairs them.  A node that succeeded is
 * reused with its whole subtree: a scope that succeeded is not entered
 * again, and its children keep their old states (a `race` scope's losers
 * stay cancelled).  Reused nodes are `succeeded` at once when their turn
 * comes (graph-run.c), so their `after` dependants start without waiting,
 * and they show `reused: true`.  Their logs are hard links to the old
 * graph's files: no copy, and still there when the old graph is removed
 * (a Slurm node's in the spool directory, job-slurm.c slurm_log_link).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-reuse.h"
#include "job-logfile.h"
#include "job-slurm.h"
#include "util-log.h"

static int copy_attempts(struct rnode *n, const struct rnode *o)
{
	int r;

	if (!o->attempts)
		return 0;
	r = graph_attempts_alloc(n);
	if (r < 0 || !n->attempts)
		return r;
	for (size_t i = 0; i <= n->def->retries; i++) {
		n->attempts[i] = o->attempts[i];
		n->attempts[i].error = NULL;
		if (o->attempts[i].error && !(n->attempts[i].error = strdup(o->attempts[i].error)))
			return -ENOMEM;
	}
	n->att_started = o->att_started;
	n->att_done = o->att_done;
	return 0;
}

static int reuse_node(struct rnode *n, const struct rnode *o)
{
	n->reused = true;
	n->reuse_state = o->state;
	n->started_ms = o->started_ms;
	n->finished_ms = o->finished_ms;
	n->cancel_reason = o->cancel_reason;
	n->cancel_requested_ms = o->cancel_requested_ms;
	n->cancel_ack_ms = o->cancel_ack_ms;
	n->polls = o->polls;
	n->forced_yields = o->forced_yields;
	n->has_value = o->has_value;
	n->value = o->value;
	n->exit_code = o->exit_code;
	n->term_signal = o->term_signal;
	n->log_dropped[0] = o->log_dropped[0];
	n->log_dropped[1] = o->log_dropped[1];
	n->leftovers = o->leftovers;
	if (o->error && !(n->error = strdup(o->error)))
		return -ENOMEM;
	if (o->cancel_note && !(n->cancel_note = strdup(o->cancel_note)))
		return -ENOMEM;
	return copy_attempts(n, o);
}

int graph_reuse_results(struct graph *g, const struct graph *old)
{
	if (g->n_nodes != old->n_nodes)
		return 0; /* cannot happen for one document; then nothing is reused */
	/* Pre-order: a parent is decided before its children. */
	for (size_t i = 1; i <= g->n_nodes; i++) {
		struct rnode *n = g->by_idx[i];
		const struct rnode *o = old->by_idx[i];
		bool under = n->parent && n->parent->reused;
		int r;

		if (!under && o->state != PROTO_STATE_SUCCEEDED)
			continue;
		r = reuse_node(n, o);
		if (r < 0)
			return r;
	}
	return 0;
}

void graph_reuse_logs(struct coopd *d, const struct graph *old, struct graph *g)
{
	size_t linked = 0;

	for (size_t i = 1; i <= g->n_nodes; i++) {
		const struct rnode *n = g->by_idx[i];
		unsigned attempts = n->att_started > n->att_done ? n->att_started : n->att_done;

		if (!n->reused || n->def->kind != PROTO_NODE_EXEC)
			continue;
		if (!old) {
			log_warn("graph %s: the graph it reruns is gone; reused nodes have no logs",
				 g->id);
			return;
		}
		for (unsigned a = 1; a <= (attempts ? attempts : 1); a++)
			for (int s = 0; s < 2; s++) {
				int r = n->def->placement == PROTO_PLACEMENT_SLURM
						? slurm_log_link(d, old->id, g, n->idx, a, s)
						: logfile_link(d, old->id, g->id, n->idx, a, s);

				if (r == 0)
					linked++;
				else if (r != -ENOENT)
					log_errno(LOG_WARNING, r,
						  "graph %s node %s: cannot link the log of "
						  "graph %s",
						  g->id, n->def->path, old->id);
			}
	}
	if (linked)
		log_debug("graph %s: %zu log file(s) linked from graph %s", g->id, linked, old->id);
}
