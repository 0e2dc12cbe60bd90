/*
 * method-wait.h - answers the pending `wait`s of a graph that settled.
 */
#ifndef COOPD_METHOD_WAIT_H
#define COOPD_METHOD_WAIT_H

struct coopd;
struct graph;

void wait_graph_settled(struct coopd *d, struct graph *g);

#endif
