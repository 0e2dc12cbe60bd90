/*
 * method-watch.c - `watch {id?}` -> {}, then one `event` notification per
 * node state change of that graph (or of every graph the caller may see)
 * until the connection closes.  Events are bounded per connection
 * (event_queue_bytes); a client that stops reading is dropped.  A second
 * watch on the same connection replaces the first.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "method.h"
#include "server.h"

static int watch_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_watch_params_decode(params, ret, err);
}

static enum method_ret watch_handle(struct method_call *call, void *params)
{
	struct proto_watch_params *p = params;
	struct conn *c = call->c;
	char *id = NULL;

	if (p->id) {
		if (!method_graph_brief(call, p->id))
			return METHOD_ERROR;
		id = strdup(p->id);
		if (!id)
			return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	free(c->watch_id);
	c->watch_id = id;
	server_watch_add(call->d->server, c);
	call->result = strdup("{}");
	if (!call->result)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	call->result_len = 2;
	return METHOD_OK;
}

const struct method method_watch = {
	.id = PROTO_M_WATCH,
	.params_size = sizeof(struct proto_watch_params),
	.decode = watch_decode,
	.handler = watch_handle,
};
