/*
 * method-remove.c - `remove {id}` -> {removed: true}.
 *
 * Forgets a settled graph at once: its definition, journal and logs go
 * from the state directory and the graph from memory, as retention would
 * do later (store-retention.c).  Owner rules are those of `cancel`: someone
 * else's graph answers -32001 like an unknown id (docs/security.md).  A
 * graph that is still running answers -32005: removing it would pull the
 * node tree from under its jobs, so the client cancels and waits first.
 * A graph that has settled but whose final journal is still being synced
 * (the writer thread holds it) is removed once the sync is done: the
 * request waits among the graph's waiters like a `wait` (method-wait.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "method-wait.h"
#include "method.h"
#include "server.h"
#include "store-retention.h"

#define REMOVED "{\"removed\":true}"

void remove_graph_synced(struct coopd *d, struct graph *g, struct later *removes)
{
	while (removes) {
		struct later *l = removes;
		char *text = strdup(REMOVED);

		removes = l->gnext;
		l->gnext = NULL;
		later_answer_text(l, text, text ? strlen(text) : 0);
	}
	retention_forget(d, g);
}

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
	if (g->active)
		return method_fail(call, PROTO_ERR_ACTIVE, "params.id",
				   "graph %s is still %s: cancel it and wait before removing it",
				   g->id, proto_state_name((enum proto_state)g->root->state));
	if (g->syncing) {
		struct later *l = later_new(call->c, call->id, PROTO_M_REMOVE);

		if (!l)
			return method_fail(call, PROTO_ERR_LIMIT, NULL,
					   "too many requests waiting on this connection "
					   "(max_pending_requests %zu)",
					   call->d->cfg.max_pending_per_conn);
		l->g = g;
		l->gnext = g->waiters;
		if (g->waiters)
			g->waiters->gprev = l;
		g->waiters = l;
		return METHOD_LATER;
	}
	retention_forget(call->d, g);
	sb_puts(&sb, REMOVED);
	return method_ok_sb(call, &sb);
}

const struct method method_remove = {
	.id = PROTO_M_REMOVE,
	.params_size = sizeof(struct proto_graph_node_params),
	.decode = remove_decode,
	.handler = remove_handle,
};
