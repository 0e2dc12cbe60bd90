/*
 * method-wait.h - answers the pending `wait`s of a graph that settled: a
 * subscriber of graph events.
 */
#ifndef COOPD_METHOD_WAIT_H
#define COOPD_METHOD_WAIT_H

struct coopd;
struct graph;

#include <stdbool.h>

/* Subscribes `wait` to graph events (graph_settled: g's waiters are
 * answered and its tree released) and to the store's loaded_settled hook.
 * After store_open() and the other subscribers: it may free g, so it is
 * told last (graph-registry.h). */
int wait_subscribe(struct coopd *d);

/* method-remove.c: a `remove` that came while g's final journal was being
 * synced waits among g's waiters; wait hands it over once
 * the sync is done, after the `wait`s are answered.  Frees g. */
struct later;
void remove_graph_synced(struct coopd *d, struct graph *g, struct later *removes);

#endif
