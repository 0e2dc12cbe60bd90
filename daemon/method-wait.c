/*
 * method-wait.c - `wait {id, timeout_ms?, summary?}` -> the final status.
 *
 * A settled graph is answered at once.  Otherwise the request becomes a
 * `later` on the graph's waiter list (and the connection's), answered by
 * wait_graph_settled() when the graph settles (wait subscribes to graph
 * events, last: graph-registry.h), or by its timer with the status as it
 * stands.  The loop never blocks; a client that disconnects
 * drops its laters (server-conn.c).
 */
#include "config.h"

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-stream.h"
#include "method.h"
#include "method-wait.h"
#include "server.h"
#include "store-state.h"

static int wait_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_wait_params_decode(params, ret, err);
}

static void wait_answer(struct later *l)
{
	struct graph_stream *gs;
	struct strbuf sb;
	char *text;
	size_t len = 0;

	/* A full answer is streamed as the client reads it, like `status`'s:
	 * rendered whole here, the answer of a 200,000-node graph held the
	 * loop 150 ms when it settled (bench/README.md, "Big submits and the
	 * loop").  Whole only for a summary, or when the connection streams
	 * another answer already (its answers wait behind that one). */
	if (!l->summary && (gs = graph_stream_new(l->g))) {
		if (later_answer_stream(l, gs) == 0)
			return;
		graph_stream_free(gs);
	}
	sb_init(&sb);
	graph_render_status(l->g, l->summary, &sb);
	text = sb_steal(&sb, &len);
	later_answer_text(l, text, len);
}

/* A settled graph whose final state the store could not yet make durable
 * (a full disk, a failing sync; the store retries): its result is not
 * answered, since a crash could still lose it. */
static bool not_durable(const struct graph *g, struct proto_error *err)
{
	if (!g->syncing || !g->store_failed)
		return false;
	proto_error_set(err, PROTO_ERR_INTERNAL, NULL,
			"graph %s has settled but its final state is not yet durable (the state "
			"store is failing; coopd retries)",
			g->id);
	return true;
}

static void wait_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct later *l = w->data;
	struct graph *g = l->g;
	struct proto_error err;

	ev_timer_stop(loop, w);
	l->timer_active = false;
	if (not_durable(g, &err)) {
		later_answer_error(l, &err);
		return;
	}
	wait_answer(l);
	graph_maybe_release(g);
}

/* Answers g's waiters; true if a `remove` among them freed g. */
static bool wait_graph_settled(struct coopd *d, struct graph *g)
{
	struct later *removes = NULL;

	while (g->waiters) {
		struct later *l = g->waiters;

		if (l->method != PROTO_M_REMOVE) {
			wait_answer(l);
			continue;
		}
		/* Kept apart: answered and done by method-remove.c. */
		g->waiters = l->gnext;
		if (g->waiters)
			g->waiters->gprev = NULL;
		l->g = NULL;
		l->gprev = NULL;
		l->gnext = removes;
		removes = l;
	}
	if (removes) {
		remove_graph_synced(d, g, removes);
		return true;
	}
	return false;
}

/* Graph events (graph-registry.h): `wait` is told last of a graph that
 * settled.  May free g (a `remove` that waited for the sync); else its
 * tree is not kept (bounded memory: docs/durability.md). */
static void wait_on_settled(struct coopd *d, struct graph *g, void *arg)
{
	if (!wait_graph_settled(d, g))
		graph_maybe_release(g);
}

/* A graph that a crash interrupted is recorded so (the store's hook): a
 * `wait` that came meanwhile is answered now; then the tree goes like any
 * settled graph's. */
static void wait_loaded_settled(struct coopd *d, struct graph *g)
{
	wait_on_settled(d, g, NULL);
}

int wait_subscribe(struct coopd *d)
{
	struct graph_observer o = {.graph_settled = wait_on_settled};
	struct store_hooks h = {.loaded_settled = wait_loaded_settled};

	store_set_hooks(d->store, &h);
	return graph_registry_subscribe(d, &o);
}

/* A settled graph's final state is durable now: its waiters get it. */
static void wait_resynced(struct coopd *d, struct graph *g, int r, void *arg)
{
	g->syncing = false;
	if (!wait_graph_settled(d, g))
		graph_maybe_release(g);
}

static enum method_ret wait_handle(struct method_call *call, void *params)
{
	struct proto_wait_params *p = params;
	bool at_once = p->has_timeout_ms && p->timeout_ms == 0;
	struct graph *g = method_graph_brief(call, p->id);
	struct later *l;
	struct strbuf sb;

	if (!g)
		return METHOD_ERROR;
	/* The summary of a settled graph whose final state is durable needs
	 * no tree (store_graph_counts); otherwise (the full tree, or a sync
	 * to make first) the tree is read back. */
	if (p->summary && g->released && (at_once || store_graph_durable(call->d->store, g))) {
		if (!(g = method_graph_counted(call, p->id)))
			return METHOD_ERROR;
		sb_init(&sb);
		graph_render_status(g, true, &sb);
		return method_ok_sb(call, &sb);
	}
	if (!(g = method_graph(call, p->id)))
		return METHOD_ERROR;
	if (at_once && not_durable(g, &call->err))
		return METHOD_ERROR;
	/* Settled, its final state held back for the next commit
	 * (store-state.c): now someone waits for it, it goes synced now. */
	if (g->syncing && !at_once)
		store_graph_hurry(call->d->store, g);
	/* Settled without a sync (nobody was waiting then): the result is
	 * answered once a synced transaction covers it. */
	if (!g->active && !g->syncing && !at_once && !store_graph_durable(call->d->store, g)) {
		g->syncing = true;
		if (store_graph_settled_async(call->d->store, g, true, wait_resynced, NULL) < 0)
			g->syncing = false;
	}
	if ((!g->active && !g->syncing) || at_once) {
		if (!p->summary)
			return method_ok_status_stream(call, g);
		sb_init(&sb);
		graph_render_status(g, p->summary, &sb);
		return method_ok_sb(call, &sb);
	}
	l = later_new(call->c, call->id, PROTO_M_WAIT);
	if (!l)
		return method_fail(call, PROTO_ERR_LIMIT, NULL,
				   "too many requests waiting on this connection "
				   "(max_pending_requests %zu)",
				   call->d->cfg.max_pending_per_conn);
	l->g = g;
	l->summary = p->summary;
	l->gnext = g->waiters;
	if (g->waiters)
		g->waiters->gprev = l;
	g->waiters = l;
	if (p->has_timeout_ms) {
		ev_timer_init(&l->timer, wait_timeout_cb, (double)p->timeout_ms / 1000., 0.);
		l->timer.data = l;
		ev_timer_start(call->d->loop, &l->timer);
		l->timer_active = true;
	}
	return METHOD_LATER;
}

const struct method method_wait = {
	.id = PROTO_M_WAIT,
	.params_size = sizeof(struct proto_wait_params),
	.decode = wait_decode,
	.handler = wait_handle,
};
