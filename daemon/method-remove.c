/*
 * method-remove.c - `remove {id}` -> {removed: true}.
 *
 * Forgets a settled graph at once: its definition, journal and logs go
 * from the state directory and the graph from memory, as retention would
 * do later (store-retention.c).  Owner rules are those of `cancel`: someone
 * else's graph answers -32001 like an unknown id (docs/security.md).  A
 * graph that is still running, or whose final journal is not yet synced,
 * answers -32005: removing it would pull the node tree from under its
 * jobs, so the client cancels and waits first.
 */
#include "config.h"

#include "coopd.h"
#include "graph-model.h"
#include "method.h"
#include "store-retention.h"

static int remove_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_remove_params_decode(params, ret, err);
}

static enum method_ret remove_handle(struct method_call *call, void *params)
{
	struct proto_graph_node_params *p = params;
	struct graph *g = method_graph(call, p->id);
	struct strbuf sb = {0};

	if (!g)
		return METHOD_ERROR;
	if (g->active || g->syncing)
		return method_fail(call, PROTO_ERR_ACTIVE, "params.id",
				   "graph %s is still %s: cancel it and wait before removing it",
				   g->id, proto_state_name((enum proto_state)g->root->state));
	retention_forget(call->d, g);
	sb_puts(&sb, "{\"removed\":true}");
	return method_ok_sb(call, &sb);
}

const struct method method_remove = {
	.id = PROTO_M_REMOVE,
	.params_size = sizeof(struct proto_graph_node_params),
	.decode = remove_decode,
	.handler = remove_handle,
};
