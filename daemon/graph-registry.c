/*
 * graph-registry.c - the daemon's graphs: an id index (json-c's linkhash)
 * and a doubly linked list in submission order (`list` shows them in that
 * order, retention walks it), and the counts of graphs not yet settled.
 * The fields live in struct coopd (coopd.h) but only this file writes them.
 * It also tells the subscribers of graph events (graph-registry.h): a
 * fixed table, so that telling them never allocates.
 *
 * Removing a graph only unlinks it: whoever removes it (retention, `remove`)
 * also deletes its rows and frees it (store-retention.c).
 */
#include "config.h"

#include <errno.h>
#include <json-c/linkhash.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "util-log.h"

int graph_registry_init(struct coopd *d)
{
	d->graph_index = lh_kchar_table_new(1024, NULL);
	return d->graph_index ? 0 : -ENOMEM;
}

void graph_registry_fini(struct coopd *d)
{
	if (d->graph_index)
		lh_table_free(d->graph_index);
	d->graph_index = NULL;
	uidcount_free(&d->active_per_user);
	uidcount_free(&d->active_nodes_per_user);
	uidcount_free(&d->active_bytes_per_user);
	uidcount_free(&d->active_log_bytes_per_user);
}

void graph_registry_free_all(struct coopd *d)
{
	struct graph *g = d->graphs_head, *next;

	for (; g; g = next) {
		next = g->next;
		graph_free(g);
	}
	d->graphs_head = d->graphs_tail = NULL;
}

struct graph *graph_registry_find(struct coopd *d, const char *id)
{
	struct graph *g = NULL;

	if (!id || !lh_table_lookup_ex(d->graph_index, id, (void **)&g))
		return NULL;
	return g;
}

static void list_insert_sorted(struct coopd *d, struct graph *g)
{
	struct graph *at = d->graphs_tail;

	/* Usually appends; reloaded graphs come in directory order. */
	while (at && at->created_ms > g->created_ms)
		at = at->prev;
	g->prev = at;
	g->next = at ? at->next : d->graphs_head;
	if (g->next)
		g->next->prev = g;
	else
		d->graphs_tail = g;
	if (at)
		at->next = g;
	else
		d->graphs_head = g;
}

int graph_registry_add(struct coopd *d, struct graph *g)
{
	if (lh_table_insert(d->graph_index, g->id, g) < 0)
		return -ENOMEM;
	list_insert_sorted(d, g);
	return 0;
}

void graph_registry_remove(struct coopd *d, struct graph *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		d->graphs_head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		d->graphs_tail = g->prev;
	g->prev = g->next = NULL;
	lh_table_delete(d->graph_index, g->id);
}

struct graph *graph_registry_first(const struct coopd *d)
{
	return d->graphs_head;
}

void graph_registry_activate(struct coopd *d, struct graph *g)
{
	g->active = true;
	d->graphs_active++;
	/* Per owner, so that submit checks max_active_per_user,
	 * max_active_nodes_per_user and max_active_bytes_per_user without
	 * walking every graph (a memory failure only loosens the checks).
	 * All three counts or none, so that deactivating takes back exactly
	 * what was added. */
	g->active_counted = uidcount_add(&d->active_per_user, g->uid, 1) == 0;
	if (g->active_counted && uidcount_add(&d->active_nodes_per_user, g->uid, g->n_nodes) < 0) {
		uidcount_sub(&d->active_per_user, g->uid, 1);
		g->active_counted = false;
	}
	if (g->active_counted &&
	    uidcount_add(&d->active_bytes_per_user, g->uid, (size_t)g->doc_bytes) < 0) {
		uidcount_sub(&d->active_per_user, g->uid, 1);
		uidcount_sub(&d->active_nodes_per_user, g->uid, g->n_nodes);
		g->active_counted = false;
	}
	for (size_t i = 0; i < d->n_observers; i++)
		if (d->observers[i].graph_started)
			d->observers[i].graph_started(d, g, d->observers[i].arg);
}

void graph_registry_deactivate(struct coopd *d, struct graph *g)
{
	g->active = false;
	d->graphs_active--;
	if (g->active_counted) {
		uidcount_sub(&d->active_per_user, g->uid, 1);
		uidcount_sub(&d->active_nodes_per_user, g->uid, g->n_nodes);
		uidcount_sub(&d->active_bytes_per_user, g->uid, (size_t)g->doc_bytes);
	}
	g->active_counted = false;
	/* Its logs count toward retention_bytes from now on. */
	uidcount_sub(&d->active_log_bytes_per_user, g->uid, (size_t)g->log_bytes);
	g->log_bytes = 0;
}

size_t graph_registry_log_room(struct coopd *d, struct graph *g, size_t want)
{
	uint64_t used = uidcount_get(&d->active_log_bytes_per_user, g->uid),
		 cap = d->cfg.log_bytes_per_user;
	size_t room = used < cap ? (cap - used < want ? (size_t)(cap - used) : want) : 0;

	if (room < want && !g->log_share_told) {
		g->log_share_told = true;
		log_notice("graph %s: its owner's running graphs have %llu bytes of logs "
			   "(log_bytes_per_user %llu): further output is dropped, counted in "
			   "log_dropped",
			   g->id, (unsigned long long)used, (unsigned long long)cap);
	}
	return room;
}

void graph_registry_log_written(struct coopd *d, struct graph *g, size_t n)
{
	/* Only while active: deactivating takes back exactly g->log_bytes. */
	if (!g->active || uidcount_add(&d->active_log_bytes_per_user, g->uid, n) < 0)
		return;
	g->log_bytes += n;
}

size_t graph_registry_active(const struct coopd *d)
{
	return d->graphs_active;
}

size_t graph_registry_active_of(struct coopd *d, uid_t uid)
{
	return uidcount_get(&d->active_per_user, uid);
}

size_t graph_registry_active_nodes_of(struct coopd *d, uid_t uid)
{
	return uidcount_get(&d->active_nodes_per_user, uid);
}

size_t graph_registry_active_bytes_of(struct coopd *d, uid_t uid)
{
	return uidcount_get(&d->active_bytes_per_user, uid);
}

int graph_registry_subscribe(struct coopd *d, const struct graph_observer *o)
{
	if (d->n_observers == GRAPH_OBSERVERS_MAX)
		return -ENOSPC;
	d->observers[d->n_observers++] = *o;
	return 0;
}

void graph_registry_node_changed(struct coopd *d, struct rnode *n, bool state)
{
	for (size_t i = 0; i < d->n_observers; i++)
		if (d->observers[i].node_changed)
			d->observers[i].node_changed(d, n, state, d->observers[i].arg);
}

void graph_registry_ended(struct coopd *d, struct graph *g)
{
	/* The registry's own hold, so that an observer that releases at once
	 * does not settle g while the others are still being told. */
	g->holds = 1;
	for (size_t i = 0; i < d->n_observers; i++)
		if (d->observers[i].graph_ended)
			d->observers[i].graph_ended(d, g, d->observers[i].arg);
	graph_registry_release(d, g);
}

void graph_registry_hold(struct graph *g)
{
	g->holds++;
}

void graph_registry_release(struct coopd *d, struct graph *g)
{
	uid_t uid;

	if (g->holds == 0 || --g->holds > 0)
		return;
	/* The last graph_settled observer may free g: what comes after it
	 * gets the owner only. */
	uid = g->uid;
	for (size_t i = 0; i < d->n_observers; i++)
		if (d->observers[i].graph_settled)
			d->observers[i].graph_settled(d, g, d->observers[i].arg);
	for (size_t i = 0; i < d->n_observers; i++)
		if (d->observers[i].graph_gone)
			d->observers[i].graph_gone(d, uid, d->observers[i].arg);
}
