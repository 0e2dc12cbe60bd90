/*
 * method-list.c - `list {all?}` -> {graphs: [...]}, oldest first.
 *
 * Without `all`, only graphs that have not settled yet (like `ps`); with
 * `all: true`, finished ones too (like `ps -a`).  Either way a user sees
 * only their own graphs; root sees everyone's.
 */
#include "config.h"

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "method.h"
#include "server.h"

static int list_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_list_params_decode(params, ret, err);
}

static enum method_ret list_handle(struct method_call *call, void *params)
{
	struct proto_list_params *p = params;
	struct strbuf sb;
	bool first = true;

	sb_init(&sb);
	sb_puts(&sb, "{\"graphs\":[");
	for (struct graph *g = graph_registry_first(call->d); g; g = g->next) {
		if (!conn_may_see(call->c, g->uid) || (!p->all && !g->active))
			continue;
		if (!first)
			sb_putc(&sb, ',');
		first = false;
		graph_render_brief(g, &sb);
	}
	sb_puts(&sb, "]}");
	return method_ok_sb(call, &sb);
}

const struct method method_list = {
	.id = PROTO_M_LIST,
	.params_size = sizeof(struct proto_list_params),
	.decode = list_decode,
	.handler = list_handle,
};
