/*
 * method-rerun.c - `rerun {id, failed_only?}` -> {id}.
 *
 * A new graph from the document of a settled graph (the same owner rules
 * as `cancel`: another user's graph answers -32001 like an unknown id).
 * The document is the old graph's as it was submitted, read from the state
 * store (store_read_doc, docs/durability.md), parsed again, checked and
 * stored as a submit's would be (method-submit.h), so a rerun is refused
 * for what a submit would be (a limit this coopd cannot enforce now,
 * max_active_per_user).  With failed_only the nodes that succeeded are not
 * run again (graph-reuse.c).  A graph still running answers -32005.
 *
 * Only the graph's owner reruns it: the new graph belongs to whoever asks
 * (method-submit.h), so root rerunning a user's graph would run that user's
 * argv as root ("an exec job never runs with more privilege than the user
 * who submitted it", docs/security.md).  Root gets -32002 for another
 * user's graph; a non-root user never sees one (-32001 above).
 */
#include "config.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "method-submit.h"
#include "method.h"
#include "server.h"
#include "store-state.h"

static int rerun_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_rerun_params_decode(params, ret, err);
}

static enum method_ret rerun_handle(struct method_call *call, void *params)
{
	struct proto_rerun_params *p = params;
	struct graph *g = method_graph(call, p->id);
	struct proto_graph *def = NULL;
	struct json_object *doc = NULL;
	enum method_ret ret;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!g)
		return METHOD_ERROR;
	if (g->uid != call->c->uid)
		return method_fail(call, PROTO_ERR_PERMISSION, "params.id",
				   "graph %s belongs to uid %lu: only its owner may rerun it "
				   "(the rerun would run its jobs as uid %lu)",
				   g->id, (unsigned long)g->uid, (unsigned long)call->c->uid);
	if (g->active)
		return method_fail(call, PROTO_ERR_ACTIVE, "params.id",
				   "graph %s is still %s: wait for it to settle (or cancel it) "
				   "before rerunning it",
				   g->id, proto_state_name((enum proto_state)g->root->state));
	r = store_read_doc(call->d->store, g->id, &text, &len);
	if (r < 0)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL,
				   "cannot read the document of graph %s: %s", g->id, strerror(-r));
	{
		/* As deep as a submit may be: json_tokener_parse() stops at 32
		 * levels, which a graph of 16 nested scopes passes. */
		unsigned depth = call->d->cfg.limits.max_json_depth;
		struct json_tokener *tok =
			json_tokener_new_ex(depth ? (int)depth : (int)PROTO_DEFAULT_MAX_JSON_DEPTH);

		if (tok && len < INT32_MAX)
			doc = json_tokener_parse_ex(tok, text, (int)len);
		if (tok)
			json_tokener_free(tok);
	}
	free(text);
	if (!doc)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL,
				   "the stored document of graph %s is not JSON", g->id);
	if (proto_graph_parse(doc, &call->d->cfg.limits, &def, &call->err) < 0) {
		/* Only a limit lowered since (max_nodes, max_scope_depth). */
		json_object_put(doc);
		return METHOD_ERROR;
	}
	ret = submit_graph(call, def, doc, p->failed_only ? g : NULL);
	json_object_put(doc);
	return ret;
}

const struct method method_rerun = {
	.id = PROTO_M_RERUN,
	.params_size = sizeof(struct proto_rerun_params),
	.decode = rerun_decode,
	.handler = rerun_handle,
};
