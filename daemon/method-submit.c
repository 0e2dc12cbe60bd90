/*
 * method-submit.c - `submit {graph}` -> {id}.
 *
 * The whole graph is validated (proto_graph_parse) before anything runs,
 * then the per-user active limit is checked, then the graph is stored
 * durably (store-state.c: fsync'ed) and only then registered, started and
 * answered.  A graph that could not be stored is not run.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "method.h"
#include "server.h"
#include "store-state.h"
#include "util-log.h"

static int submit_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_submit_params_decode(params, ret, err);
}

/* A fresh random id (16 hex characters) not used by any known graph. */
static int new_graph_id(struct coopd *d, char *buf)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t v;

		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			return -errno;
		snprintf(buf, GRAPH_ID_LEN + 1, "%016llx", (unsigned long long)v);
		if (!coopd_graph_find(d, buf))
			return 0;
	}
	return -EEXIST;
}

static size_t active_of_user(struct coopd *d, uid_t uid)
{
	size_t n = 0;

	for (struct graph *g = d->graphs_head; g; g = g->next)
		if (g->active && g->uid == uid)
			n++;
	return n;
}

static int has_exec(const struct proto_node *node, void *userdata)
{
	return node->kind == PROTO_NODE_EXEC;
}

static enum method_ret submit_handle(struct method_call *call, void *params)
{
	struct proto_submit_params *p = params;
	struct coopd *d = call->d;
	struct proto_graph *def = NULL;
	struct graph *g = NULL;
	struct strbuf sb;
	char id[GRAPH_ID_LEN + 1];
	int r;

	r = proto_graph_parse(p->graph, &d->cfg.limits, &def, &call->err);
	if (r < 0)
		return METHOD_ERROR; /* data.path is relative to the graph document */
	if (geteuid() == 0 && call->c->uid != 0 && proto_graph_walk(def, has_exec, NULL)) {
		proto_graph_free(def);
		return method_fail(call, PROTO_ERR_PERMISSION, "nodes",
				   "exec jobs of uid %lu cannot run yet: this coopd runs as root "
				   "and does not switch users yet",
				   (unsigned long)call->c->uid);
	}
	if (active_of_user(d, call->c->uid) >= d->cfg.max_active_per_user) {
		proto_graph_free(def);
		return method_fail(call, PROTO_ERR_LIMIT, NULL,
				   "too many active graphs for this user (max_active_per_user %zu)",
				   d->cfg.max_active_per_user);
	}
	r = new_graph_id(d, id);
	if (r < 0) {
		proto_graph_free(def);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "cannot make a graph id");
	}
	r = graph_new(def, id, call->c->uid, call->c->gid, graph_now_ms(), &g);
	if (r < 0) {
		proto_graph_free(def);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	g->d = d;
	r = store_graph_create(d->store, g, p->graph, &call->err);
	if (r < 0) {
		graph_free(g);
		return METHOD_ERROR;
	}
	r = coopd_register(d, g);
	if (r < 0) {
		graph_free(g);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	d->counters.graphs_submitted++;
	log_debug("graph %s (%s) submitted by uid %lu: %zu nodes", g->id, g->def->name,
		  (unsigned long)g->uid, g->n_nodes);
	sb_init(&sb);
	sb_puts(&sb, "{\"id\":");
	sb_json_cstr(&sb, g->id);
	sb_putc(&sb, '}');
	/* Accepted and durable: it runs even if the answer cannot be built. */
	graph_run_start(d, g);
	return method_ok_sb(call, &sb);
}

const struct method method_submit = {
	.id = PROTO_M_SUBMIT,
	.params_size = sizeof(struct proto_submit_params),
	.decode = submit_decode,
	.handler = submit_handle,
};
