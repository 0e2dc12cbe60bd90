/*
 * server-watch.c - fan-out of node state changes to watching clients.
 *
 * The event line is built once per change, and only when someone watches.
 * Event params: {graph, node (path), state, ts, kind, and when known
 * reason, exit_code, signal, error}.
 */
#include "config.h"

#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "server-watch.h"
#include "server.h"
#include "util-strbuf.h"

static void build_event(const struct rnode *n, struct strbuf *sb)
{
	const char *reason = graph_reason_name(n->cancel_reason);

	sb_puts(sb, "{\"jsonrpc\":\"2.0\",\"method\":\"" PROTO_NOTIFY_EVENT "\",\"params\":{");
	sb_puts(sb, "\"graph\":");
	sb_json_cstr(sb, n->g->id);
	sb_puts(sb, ",\"node\":");
	sb_json_cstr(sb, n->def->path);
	sb_printf(sb,
		  ",\"kind\":\"%s\",\"state\":\"%s\",\"ts\":", proto_node_kind_name(n->def->kind),
		  proto_state_name((enum proto_state)n->state));
	sb_json_time(sb, graph_now_ms());
	if (reason) {
		sb_puts(sb, ",\"reason\":");
		sb_json_cstr(sb, reason);
	}
	if (n->def->kind == PROTO_NODE_EXEC && n->exit_code >= 0)
		sb_printf(sb, ",\"exit_code\":%d", n->exit_code);
	if (n->term_signal > 0)
		sb_printf(sb, ",\"signal\":%d", n->term_signal);
	if (n->error) {
		sb_puts(sb, ",\"error\":");
		sb_json_cstr(sb, n->error);
	}
	graph_render_slurm(n, sb);
	sb_puts(sb, "}}\n");
}

void watch_emit_node(struct coopd *d, const struct rnode *n)
{
	struct conn *c, *next;
	struct strbuf sb;

	if (!d->server)
		return;
	sb_init(&sb);
	for (c = server_watchers(d->server); c; c = next) {
		next = c->watch_next;
		if (c->watch_id && strcmp(c->watch_id, n->g->id) != 0)
			continue;
		if (!conn_may_see(c, n->g->uid))
			continue;
		if (sb.len == 0)
			build_event(n, &sb);
		if (sb.oom)
			break;
		(void)conn_queue_event(c, sb.buf, sb.len);
	}
	sb_free(&sb);
}

static void watch_on_node(struct coopd *d, struct rnode *n, bool visible, void *arg)
{
	if (visible)
		watch_emit_node(d, n);
}

int watch_subscribe(struct coopd *d)
{
	struct graph_observer o = {.node_changed = watch_on_node};

	return graph_registry_subscribe(d, &o);
}
