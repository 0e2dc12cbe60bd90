/*
 * method-pause.c - `pause {id, node?}` -> {}.
 *
 * Holds a graph or one subtree (docs/protocol.md): no node in it starts
 * until `resume`, and its running exec jobs are frozen (their cgroup's
 * cgroup.freeze, else SIGSTOP to the job's process group; job-exec.c).
 * Task and blocking jobs already handed to the executor run on: they are
 * threads of coopd, not processes that can be stopped.  Deadlines and
 * timeouts keep counting.  Pausing what is paused changes nothing;
 * pausing a settled graph or node is an error that says so (-32602).
 * Owner rules are those of `cancel`.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "method.h"

static int pause_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_pause_params_decode(params, ret, err);
}

static enum method_ret pause_handle(struct method_call *call, void *params)
{
	struct proto_graph_node_params *p = params;
	struct graph *g = method_graph(call, p->id);
	struct rnode *n = NULL;
	struct strbuf sb;
	char what[400];
	int r;

	if (!g)
		return METHOD_ERROR;
	if (p->node) {
		n = graph_find(g, p->node);
		if (!n)
			return method_fail(call, PROTO_ERR_INVALID_PARAMS, "params.node",
					   "no node '%.256s' in graph %s", p->node, g->id);
	}
	r = graph_run_pause(call->d, g, n);
	if (r == -EALREADY) {
		if (n && n != g->root)
			snprintf(what, sizeof(what), "node '%.256s' of graph %s", n->def->path,
				 g->id);
		else
			snprintf(what, sizeof(what), "graph %s", g->id);
		return method_fail(call, PROTO_ERR_INVALID_PARAMS,
				   p->node ? "params.node" : "params.id",
				   "%s has settled (%s): there is nothing to pause", what,
				   proto_state_name((enum proto_state)(n ? n : g->root)->state));
	}
	sb_init(&sb);
	sb_puts(&sb, "{}");
	return method_ok_sb(call, &sb);
}

const struct method method_pause = {
	.id = PROTO_M_PAUSE,
	.params_size = sizeof(struct proto_graph_node_params),
	.decode = pause_decode,
	.handler = pause_handle,
};
