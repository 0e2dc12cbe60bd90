/*
 * method-resume.c - `resume {id, node?}` -> {}.
 *
 * Ends a pause (method-pause.c): frozen jobs thaw, and what was held
 * starts.  Resuming a graph or node that is not paused is an error that
 * says so (-32602); a subtree below a paused node can be resumed on its
 * own.  Owner rules are those of `cancel`.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "method.h"

static int resume_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_pause_params_decode(params, ret, err);
}

static enum method_ret resume_handle(struct method_call *call, void *params)
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
	r = graph_run_resume(call->d, g, n);
	if (r == -ENOENT) {
		if (n && n != g->root)
			snprintf(what, sizeof(what), "node '%.256s' of graph %s", n->def->path,
				 g->id);
		else
			snprintf(what, sizeof(what), "graph %s", g->id);
		return method_fail(call, PROTO_ERR_INVALID_PARAMS,
				   p->node ? "params.node" : "params.id", "%s is not paused", what);
	}
	sb_init(&sb);
	sb_puts(&sb, "{}");
	return method_ok_sb(call, &sb);
}

const struct method method_resume = {
	.id = PROTO_M_RESUME,
	.params_size = sizeof(struct proto_graph_node_params),
	.decode = resume_decode,
	.handler = resume_handle,
};
