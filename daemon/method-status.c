/*
 * method-status.c - `status {id, summary?}` -> the graph with its node tree,
 * or {id, name, state, counts} with summary.  A summary of a settled graph
 * never reads its tree back: its counts are kept, or counted in the
 * database (store_graph_counts).
 */
#include "config.h"

#include "coopd.h"
#include "graph-model.h"
#include "method.h"

static int status_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_status_params_decode(params, ret, err);
}

static enum method_ret status_handle(struct method_call *call, void *params)
{
	struct proto_status_params *p = params;
	struct graph *g =
		p->summary ? method_graph_counted(call, p->id) : method_graph(call, p->id);
	struct strbuf sb;

	if (!g)
		return METHOD_ERROR;
	/* The tree is rendered as the client reads it (server-stream.c). */
	if (!p->summary)
		return method_ok_status_stream(call, g);
	sb_init(&sb);
	graph_render_status(g, p->summary, &sb);
	return method_ok_sb(call, &sb);
}

const struct method method_status = {
	.id = PROTO_M_STATUS,
	.params_size = sizeof(struct proto_status_params),
	.decode = status_decode,
	.handler = status_handle,
};
