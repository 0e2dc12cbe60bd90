/*
 * method-cancel.c - `cancel {id, node?, grace_ms?, reason?}` ->
 * {requested: true}.
 *
 * Request only (phase one of three: request, wait, report;
 * docs/protocol.md, cancel): the answer comes at
 * once; `wait` or `watch` show the jobs stopping.  The reason recorded on
 * the nodes is `client`; a free-text `reason` is kept as cancel.note on the
 * node it names.  Cancelling a settled graph or node is not an error; the
 * answer's `state` is the target's state when the request arrived, so a
 * client can say "it had already finished" without a second request that
 * could race with the graph settling.
 */
#include "config.h"

#include <json-c/json.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "method.h"

static int cancel_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_cancel_params_decode(params, ret, err);
}

static enum method_ret cancel_handle(struct method_call *call, void *params)
{
	struct proto_cancel_params *p = params;
	struct graph *g = method_graph(call, p->id);
	struct rnode *n = NULL;
	struct json_object *obj, *state;
	const char *before;

	if (!g)
		return METHOD_ERROR;
	if (p->node) {
		n = graph_find(g, p->node);
		if (!n)
			return method_fail(call, PROTO_ERR_INVALID_PARAMS, "params.node",
					   "no node '%.256s' in graph %s", p->node, g->id);
	}
	before = proto_state_name((enum proto_state)(n ? n : g->root)->state);
	graph_run_cancel(call->d, g, n, COOP_REASON_CLIENT, p->has_grace_ms ? p->grace_ms : -1,
			 p->reason);
	if (proto_cancel_result_encode(&obj) < 0)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	state = json_object_new_string(before ? before : "pending");
	if (!state || json_object_object_add(obj, "state", state) < 0) {
		json_object_put(state);
		json_object_put(obj);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	return method_ok_json(call, obj);
}

const struct method method_cancel = {
	.id = PROTO_M_CANCEL,
	.params_size = sizeof(struct proto_cancel_params),
	.decode = cancel_decode,
	.handler = cancel_handle,
};
