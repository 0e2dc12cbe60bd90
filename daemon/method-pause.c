/*
 * method-pause.c - `pause {id, node?}` -> {} and `resume {id, node?}` -> {}.
 *
 * pause holds a graph or one subtree (docs/protocol.md): no node in it
 * starts until `resume`, and its running exec jobs are frozen (their
 * cgroup's cgroup.freeze, else SIGSTOP to the job's process group;
 * job-exec.c; a Slurm job still queued is held in Slurm's queue).  Task and
 * blocking jobs already handed to the executor run on: they are threads of
 * coopd, not processes that can be stopped.  Deadlines and timeouts keep
 * counting.  Pausing what is paused changes nothing; pausing a settled
 * graph or node is an error that says so (-32602).
 *
 * resume ends a pause: frozen jobs thaw, and what was held starts.
 * Resuming a graph or node that is not paused is an error that says so
 * (-32602); a subtree below a paused node can be resumed on its own.
 *
 * The two methods are one handler with a direction: they take the same
 * parameters, find the same node and fail in the same shape.  Owner rules
 * are those of `cancel`.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "method.h"

static int pause_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_pause_params_decode(params, ret, err);
}

static enum method_ret pause_or_resume(struct method_call *call, void *params, bool pause)
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
	r = pause ? graph_run_pause(call->d, g, n) : graph_run_resume(call->d, g, n);
	if (r == (pause ? -EALREADY : -ENOENT)) {
		if (n && n != g->root)
			snprintf(what, sizeof(what), "node '%.256s' of graph %s", n->def->path,
				 g->id);
		else
			snprintf(what, sizeof(what), "graph %s", g->id);
		if (!pause)
			return method_fail(call, PROTO_ERR_INVALID_PARAMS,
					   p->node ? "params.node" : "params.id",
					   "%s is not paused", what);
		return method_fail(call, PROTO_ERR_INVALID_PARAMS,
				   p->node ? "params.node" : "params.id",
				   "%s has settled (%s): there is nothing to pause", what,
				   proto_state_name((enum proto_state)(n ? n : g->root)->state));
	}
	sb_init(&sb);
	sb_puts(&sb, "{}");
	return method_ok_sb(call, &sb);
}

static enum method_ret pause_handle(struct method_call *call, void *params)
{
	return pause_or_resume(call, params, true);
}

static enum method_ret resume_handle(struct method_call *call, void *params)
{
	return pause_or_resume(call, params, false);
}

const struct method method_pause = {
	.id = PROTO_M_PAUSE,
	.params_size = sizeof(struct proto_graph_node_params),
	.decode = pause_decode,
	.handler = pause_handle,
};

const struct method method_resume = {
	.id = PROTO_M_RESUME,
	.params_size = sizeof(struct proto_graph_node_params),
	.decode = pause_decode,
	.handler = resume_handle,
};
