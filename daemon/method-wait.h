/*
 * method-wait.h - answers the pending `wait`s of a graph that settled.
 */
#ifndef COOPD_METHOD_WAIT_H
#define COOPD_METHOD_WAIT_H

struct coopd;
struct graph;

#include <stdbool.h>

/* Answers g's waiters; true if a `remove` among them freed g. */
bool wait_graph_settled(struct coopd *d, struct graph *g);

/* method-remove.c: a `remove` that came while g's final journal was being
 * synced waits among g's waiters; wait_graph_settled() hands it over once
 * the sync is done, after the `wait`s are answered.  Frees g. */
struct later;
void remove_graph_synced(struct coopd *d, struct graph *g, struct later *removes);

#endif
