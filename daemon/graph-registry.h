/*
 * graph-registry.h - the daemon's graphs: the id index, the list in
 * submission order, and the counts kept over them (graphs not yet settled,
 * overall and per owner).  Every other file finds, adds, removes and walks
 * graphs through these functions; the node states of one graph and their
 * counts change through graph_node_set_state() (graph-model.h), shared by
 * the runner and crash recovery.
 *
 * All on the loop thread (docs/architecture.md).
 */
#ifndef COOPD_GRAPH_REGISTRY_H
#define COOPD_GRAPH_REGISTRY_H

#include <stddef.h>
#include <sys/types.h>

struct coopd;
struct graph;

/* Creates the id index.  Returns 0 or -ENOMEM. */
int graph_registry_init(struct coopd *d);
/* Frees every graph and the index (the stop, once nothing runs). */
void graph_registry_free_all(struct coopd *d);
/* Frees the index only (a forced stop leaves the graphs to the exit). */
void graph_registry_fini(struct coopd *d);

/* Looks up a graph by id; NULL if unknown. */
struct graph *graph_registry_find(struct coopd *d, const char *id);
/* Registers a new graph (index and list).  Returns 0 or -ENOMEM. */
int graph_registry_add(struct coopd *d, struct graph *g);
/* Adds a graph loaded from the database (settled, or interrupted by
 * recovery): it joins its owner's history (store-retention.c). */
void graph_registry_add_loaded(struct coopd *d, struct graph *g);
/* Takes g out of the index and the list (it is not freed). */
void graph_registry_remove(struct coopd *d, struct graph *g);
/* The graphs in submission order: first, then g->next. */
struct graph *graph_registry_first(const struct coopd *d);

/* g starts running / has settled: the counts of active graphs, overall
 * and per owner (max_active_per_user, method-submit.c). */
void graph_registry_started(struct coopd *d, struct graph *g);
void graph_registry_settled(struct coopd *d, struct graph *g);
/* Graphs not yet settled, overall and of one owner. */
size_t graph_registry_active(const struct coopd *d);
size_t graph_registry_active_of(struct coopd *d, uid_t uid);

#endif
