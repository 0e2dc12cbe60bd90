/*
 * method-remove.c - `remove {id}` -> {removed: true}.
 *
 * Forgets a settled graph: it goes from memory at once, and the answer
 * comes once its rows' delete has committed (durably) and its logs are
 * gone, as retention would do later (store-retention.c, store-state.h).  Owner rules are those of
 * `cancel`: someone else's graph answers -32001 like an unknown id (docs/security.md).  A graph
 * that is still running answers -32005: removing it would pull the node tree from under its jobs,
 * so the client cancels and waits first. A graph that has settled but whose final state is still
 * being synced (the writer thread holds it) is removed once the sync is done: the request waits
 * among the graph's waiters like a `wait` (method-wait.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "method-wait.h"
#include "method.h"
#include "server.h"
#include "store-db.h"
#include "store-retention.h"
#include "store-state.h"

#define REMOVED "{\"removed\":true}"

/* The removes waiting for one graph's delete to commit. */
struct remove_wait {
	size_t n;
	struct later *l[]; /* cleared if its client goes first */
};

static void remove_answer(struct later *l, const char *id, int r)
{
	struct proto_error err;
	char *text;

	if (r < 0) {
		proto_error_set(&err, PROTO_ERR_INTERNAL, NULL,
				"cannot delete graph %s durably: %s", id, store_db_strerror(r));
		later_answer_error(l, &err);
		return;
	}
	text = strdup(REMOVED);
	later_answer_text(l, text, text ? strlen(text) : 0);
}

static void remove_deleted(struct coopd *d, const char *id, int r, void *arg)
{
	struct remove_wait *rw = arg;

	for (size_t i = 0; i < rw->n; i++) {
		if (!rw->l[i])
			continue;
		later_set_backref(rw->l[i], NULL);
		remove_answer(rw->l[i], id, r);
	}
	free(rw);
}

/* Forgets g, and answers the laters once its delete is durable and its
 * logs are gone (the writer thread commits it: docs/durability.md). */
static void remove_forget(struct coopd *d, struct graph *g, struct later **ls, size_t n)
{
	struct remove_wait *rw = malloc(sizeof(*rw) + n * sizeof(rw->l[0]));
	char id[GRAPH_ID_LEN + 1];
	int r;

	snprintf(id, sizeof(id), "%s", g->id);
	if (!rw) {
		/* Out of memory: forgotten all the same, answered at once. */
		retention_forget(d, g);
		for (size_t i = 0; i < n; i++)
			remove_answer(ls[i], id, 0);
		return;
	}
	rw->n = n;
	for (size_t i = 0; i < n; i++) {
		rw->l[i] = ls[i];
		later_set_backref(ls[i], &rw->l[i]);
	}
	r = retention_forget_then(d, g, remove_deleted, rw);
	if (r < 0)
		remove_deleted(d, id, r, rw);
}

void remove_graph_synced(struct coopd *d, struct graph *g, struct later *removes)
{
	struct later *small[16], **ls = small;
	size_t n = 0, cap = 16;

	for (struct later *l = removes; l; l = l->gnext)
		n++;
	if (n > cap && !(ls = malloc(n * sizeof(*ls))))
		ls = NULL;
	n = 0;
	while (removes) {
		struct later *l = removes;

		removes = l->gnext;
		l->gnext = NULL;
		if (ls)
			ls[n++] = l;
		else
			later_free(l);
	}
	remove_forget(d, g, ls, n);
	if (ls != small)
		free(ls);
}

static int remove_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_remove_params_decode(params, ret, err);
}

static enum method_ret remove_handle(struct method_call *call, void *params)
{
	struct proto_graph_node_params *p = params;
	struct graph *g = method_graph_brief(call, p->id);

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
		store_graph_hurry(call->d->store, g);
		return METHOD_LATER;
	}
	{
		struct later *l = later_new(call->c, call->id, PROTO_M_REMOVE);

		if (!l)
			return method_fail(call, PROTO_ERR_LIMIT, NULL,
					   "too many requests waiting on this connection "
					   "(max_pending_requests %zu)",
					   call->d->cfg.max_pending_per_conn);
		remove_forget(call->d, g, &l, 1);
	}
	return METHOD_LATER;
}

const struct method method_remove = {
	.id = PROTO_M_REMOVE,
	.params_size = sizeof(struct proto_graph_node_params),
	.decode = remove_decode,
	.handler = remove_handle,
};
