/*
 * store-retention.c - forgetting finished graphs, per user.
 *
 * Every user (a graph's owner) has a history: their finished graphs in the
 * order they finished, with their count and their nodes.  A finished graph
 * is pruned when it finished more than retention_days ago, or when its
 * owner keeps more than retention_graphs finished graphs, more than
 * retention_nodes nodes of them or more than retention_bytes bytes on disk
 * (their documents and logs, as recorded when each settled: nothing is
 * looked at on disk here) (those that finished first go first: a
 * long-running graph created early and finished just now is the newest
 * result, not the oldest).  One user's history never evicts another's
 * (coopd.conf(5): retention is counted per user).  Pruning deletes the
 * graph's rows and logs (store_graph_delete) and frees it; a finished
 * graph has no pending `wait` (those are answered when it settles) and no
 * running job, so nothing points at it but the index.  Runs at start-up,
 * every hour, after a reload, and whenever a settling graph takes its
 * owner over a bound.
 */
#include "config.h"

#include <json-c/linkhash.h>
#include <stdint.h>
#include <stdlib.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "store-retention.h"
#include "store-state.h"
#include "util-log.h"

#define RETENTION_PERIOD_S 3600.

/* One user's finished graphs, in finish order. */
struct history {
	struct graph *head, *tail;
	size_t graphs;
	uint64_t nodes;
	uint64_t bytes; /* disk_bytes of its graphs */
};

static int64_t finished_at(const struct graph *g)
{
	int64_t f = graph_finished_ms(g);

	return f >= 0 ? f : g->created_ms;
}

static struct history *history_of(struct coopd *d, uid_t uid, bool create)
{
	struct history *h = NULL;
	void *key = (void *)(uintptr_t)uid;

	if (!d->histories) {
		if (!create || !(d->histories = lh_kptr_table_new(64, NULL)))
			return NULL;
	}
	if (lh_table_lookup_ex(d->histories, key, (void **)&h))
		return h;
	if (!create || !(h = calloc(1, sizeof(*h))))
		return NULL;
	if (lh_table_insert(d->histories, key, h) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

void retention_note(struct coopd *d, struct graph *g)
{
	struct history *h = history_of(d, g->uid, true);
	struct graph *at;

	d->graphs_finished_kept++;
	if (!h) {
		log_err("out of memory: graph %s is not counted for retention", g->id);
		return;
	}
	/* Usually the newest; graphs loaded at start come in creation order,
	 * nearly the order they finished. */
	for (at = h->tail; at && finished_at(at) > finished_at(g); at = at->hprev)
		;
	g->hprev = at;
	g->hnext = at ? at->hnext : h->head;
	if (g->hnext)
		g->hnext->hprev = g;
	else
		h->tail = g;
	if (at)
		at->hnext = g;
	else
		h->head = g;
	g->in_history = true;
	h->graphs++;
	h->nodes += g->n_nodes + 1;
	/* What it adds is what it takes away again, even if a late write
	 * to its logs grew disk_bytes meanwhile. */
	g->hist_bytes = g->disk_bytes;
	h->bytes += g->hist_bytes;
}

/* g leaves its owner's history. */
static void history_remove(struct coopd *d, struct graph *g)
{
	struct history *h;

	if (!g->in_history || !(h = history_of(d, g->uid, false)))
		return;
	if (g->hprev)
		g->hprev->hnext = g->hnext;
	else
		h->head = g->hnext;
	if (g->hnext)
		g->hnext->hprev = g->hprev;
	else
		h->tail = g->hprev;
	g->hprev = g->hnext = NULL;
	g->in_history = false;
	h->graphs--;
	h->nodes -= g->n_nodes + 1;
	h->bytes -= g->hist_bytes;
	d->graphs_finished_kept--;
}

int retention_forget_then(struct coopd *d, struct graph *g, store_id_done_fn done, void *arg)
{
	int r;

	history_remove(d, g);
	graph_registry_remove(d, g);
	r = store_graph_delete(d->store, g, done, arg);
	if (r < 0)
		log_errno(LOG_ERR, r,
			  "cannot delete graph %s from the database; it comes back after a restart",
			  g->id);
	/* An answer still streamed from its tree frees it when it ends. */
	if (g->pins)
		g->forgotten = true;
	else
		graph_free(g);
	return r;
}

void retention_forget(struct coopd *d, struct graph *g)
{
	(void)retention_forget_then(d, g, NULL, NULL);
}

/* The graph's final records are still being written (a graph loaded as
 * interrupted): the store's job points at it. */
static bool prunable(const struct graph *g)
{
	return !g->active && !g->syncing;
}

static bool over_bound(const struct coopd *d, const struct history *h)
{
	return h->graphs > d->cfg.retention_graphs || h->nodes > d->cfg.retention_nodes ||
	       h->bytes > d->cfg.retention_bytes;
}

/* Prunes h down to the bounds; returns how many graphs went. */
static size_t prune_history(struct coopd *d, struct history *h, int64_t cutoff)
{
	struct graph *g, *next;
	size_t pruned = 0;

	for (g = h->head; g; g = next) {
		next = g->hnext;
		if (!prunable(g))
			continue;
		if (!(d->cfg.retention_days > 0 && finished_at(g) < cutoff) && !over_bound(d, h))
			break;
		retention_forget(d, g);
		pruned++;
	}
	return pruned;
}

static int64_t age_cutoff(struct coopd *d)
{
	return graph_now_ms() - (int64_t)d->cfg.retention_days * 86400000;
}

static void log_pruned(struct coopd *d, size_t pruned)
{
	if (pruned)
		log_info("pruned %zu finished graph(s) (retention_days %u, retention_graphs %zu, "
			 "retention_nodes %llu, retention_bytes %llu per user)",
			 pruned, d->cfg.retention_days, d->cfg.retention_graphs,
			 (unsigned long long)d->cfg.retention_nodes,
			 (unsigned long long)d->cfg.retention_bytes);
}

void retention_prune_user(struct coopd *d, uid_t uid)
{
	struct history *h = history_of(d, uid, false);

	if (h && over_bound(d, h))
		log_pruned(d, prune_history(d, h, age_cutoff(d)));
}

void retention_prune(struct coopd *d)
{
	int64_t cutoff = age_cutoff(d);
	struct lh_entry *e;
	size_t pruned = 0;

	if (!d->histories)
		return;
	lh_foreach(d->histories, e) pruned +=
		prune_history(d, (struct history *)lh_entry_v(e), cutoff);
	log_pruned(d, pruned);
}

static void retention_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	retention_prune(w->data);
}

void retention_start(struct coopd *d)
{
	ev_timer_init(&d->retention_timer, retention_cb, RETENTION_PERIOD_S, RETENTION_PERIOD_S);
	d->retention_timer.data = d;
	ev_timer_start(d->loop, &d->retention_timer);
	ev_unref(d->loop);
	retention_prune(d);
}

void retention_stop(struct coopd *d)
{
	struct lh_entry *e;

	if (d->histories) {
		lh_foreach(d->histories, e) free(lh_entry_v(e));
		lh_table_free(d->histories);
		d->histories = NULL;
	}
	if (!ev_is_active(&d->retention_timer))
		return;
	ev_ref(d->loop);
	ev_timer_stop(d->loop, &d->retention_timer);
}
