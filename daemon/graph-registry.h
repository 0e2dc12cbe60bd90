/*
 * graph-registry.h - the daemon's graphs: the id index, the list in
 * submission order, and the counts kept over them (graphs not yet settled,
 * overall and per owner).  Every other file finds, adds, removes and walks
 * graphs through these functions; the node states of one graph and their
 * counts change through graph_node_set_state() (graph-model.h), shared by
 * the runner and crash recovery.
 *
 * Graph events: the runner (graph-run.c) does not call the code that
 * follows what it does; the store, `watch`, the lifecycle and `wait`
 * subscribe here (graph_registry_subscribe) and are told, in the order
 * they subscribed:
 *   graph_started  g starts running (graph_registry_activate): it counts
 *                  as active from now (the lifecycle: systemd's STATUS=);
 *   node_changed   a node's state (state: true) or only its record (an
 *                  attempt ended, a spawn record) changed;
 *   graph_ended    the root has settled and every node is final; an
 *                  observer that must finish something first (the store:
 *                  the final state on disk before a `wait` is answered)
 *                  calls graph_registry_hold() and graph_registry_release()
 *                  once done;
 *   graph_settled  nothing holds the ended graph any more.  The observer
 *                  may free g (`wait` hands g to a `remove` that waited
 *                  for it) or release its tree: it is called last (`wait`
 *                  subscribes last);
 *   graph_gone     after every graph_settled observer, with the owner
 *                  only (g may be gone): what needs no graph (the
 *                  lifecycle: retention by owner, STATUS=, the stop).
 * The unit suite (tests/suite-daemon-graph.c) subscribes alone, so the
 * runner runs without a store or a socket.
 *
 * All on the loop thread (docs/architecture.md).
 */
#ifndef COOPD_GRAPH_REGISTRY_H
#define COOPD_GRAPH_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct coopd;
struct graph;
struct rnode;

/* One subscriber of graph events; a NULL function is not called. */
struct graph_observer {
	void (*graph_started)(struct coopd *d, struct graph *g, void *arg);
	void (*node_changed)(struct coopd *d, struct rnode *n, bool state, void *arg);
	void (*graph_ended)(struct coopd *d, struct graph *g, void *arg);
	void (*graph_settled)(struct coopd *d, struct graph *g, void *arg);
	void (*graph_gone)(struct coopd *d, uid_t uid, void *arg);
	void *arg;
};

/* At most this many subscribers (the store, watch, the lifecycle, wait, ...). */
#define GRAPH_OBSERVERS_MAX 6

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
/* Takes g out of the index and the list (it is not freed). */
void graph_registry_remove(struct coopd *d, struct graph *g);
/* The graphs in submission order: first, then g->next. */
struct graph *graph_registry_first(const struct coopd *d);

/* g starts running / has ended: the counts of active graphs, overall
 * and per owner, in graphs, in nodes and in document bytes
 * (max_active_per_user, max_active_nodes_per_user,
 * max_active_bytes_per_user, method-submit.c).  Activating tells the
 * graph_started observers. */
void graph_registry_activate(struct coopd *d, struct graph *g);
void graph_registry_deactivate(struct coopd *d, struct graph *g);
/* Graphs not yet settled, overall and of one owner. */
size_t graph_registry_active(const struct coopd *d);
size_t graph_registry_active_of(struct coopd *d, uid_t uid);
/* The nodes of uid's active graphs (max_active_nodes_per_user). */
size_t graph_registry_active_nodes_of(struct coopd *d, uid_t uid);
/* The bytes of their stored documents (g->doc_bytes;
 * max_active_bytes_per_user). */
size_t graph_registry_active_bytes_of(struct coopd *d, uid_t uid);

/* Log bytes of an active graph's job (job-exec.c): how many of want may
 * be written within its owner's log_bytes_per_user (the rest is dropped;
 * logged once per graph), and then what was written. */
size_t graph_registry_log_room(struct coopd *d, struct graph *g, size_t want);
void graph_registry_log_written(struct coopd *d, struct graph *g, size_t n);

/* Subscribes o (copied) to every graph's events.  0, or -ENOSPC beyond
 * GRAPH_OBSERVERS_MAX. */
int graph_registry_subscribe(struct coopd *d, const struct graph_observer *o);
/* The runner's events (graph-run.c): tell every subscriber. */
void graph_registry_node_changed(struct coopd *d, struct rnode *n, bool state);
void graph_registry_ended(struct coopd *d, struct graph *g);
/* From a graph_ended observer: g is not settled until released. */
void graph_registry_hold(struct graph *g);
void graph_registry_release(struct coopd *d, struct graph *g);

#endif
