/*
 * store-retention.c - forgetting finished graphs.
 *
 * A finished graph is pruned when it finished more than retention_days
 * ago, or when more than retention_graphs finished graphs are kept (those
 * that finished first go first: a long-running graph created early and
 * finished just now is the newest result, not the oldest).  Pruning removes its directory
 * (definition, journal, logs) and frees it; a finished graph has no pending `wait` (those are
 * answered when it settles) and no running job, so nothing points at it
 * but the index.  Runs at start-up, every hour, and whenever a settling
 * graph takes the count over the limit.
 */
#include "config.h"

#include <json-c/linkhash.h>

#include "coopd.h"
#include "graph-model.h"
#include "store-retention.h"
#include "store-state.h"
#include "util-log.h"

#define RETENTION_PERIOD_S 3600.

void retention_forget(struct coopd *d, struct graph *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		d->graphs_head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		d->graphs_tail = g->prev;
	lh_table_delete(d->graph_index, g->id);
	store_remove_graph_files(d->store, g);
	d->graphs_finished_kept--;
	graph_free(g);
}

static int64_t finished_at(const struct graph *g)
{
	return g->root->finished_ms >= 0 ? g->root->finished_ms : g->created_ms;
}

static bool prunable(const struct graph *g)
{
	return !g->active && !g->syncing;
}

/* The finished graph that finished first, or NULL. */
static struct graph *earliest_finished(struct coopd *d)
{
	struct graph *best = NULL;

	for (struct graph *g = d->graphs_head; g; g = g->next)
		if (prunable(g) && (!best || finished_at(g) < finished_at(best)))
			best = g;
	return best;
}

void retention_prune(struct coopd *d)
{
	int64_t cutoff = graph_now_ms() - (int64_t)d->cfg.retention_days * 86400000;
	struct graph *g, *next;
	size_t pruned = 0;

	if (d->cfg.retention_days > 0) {
		for (g = d->graphs_head; g; g = next) {
			next = g->next;
			if (prunable(g) && finished_at(g) < cutoff) {
				retention_forget(d, g);
				pruned++;
			}
		}
	}
	while (d->graphs_finished_kept > d->cfg.retention_graphs &&
	       (g = earliest_finished(d)) != NULL) {
		retention_forget(d, g);
		pruned++;
	}
	if (pruned)
		log_info("pruned %zu finished graph(s) (retention_days %u, retention_graphs %zu)",
			 pruned, d->cfg.retention_days, d->cfg.retention_graphs);
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
	if (!ev_is_active(&d->retention_timer))
		return;
	ev_ref(d->loop);
	ev_timer_stop(d->loop, &d->retention_timer);
}
