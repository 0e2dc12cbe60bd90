/*
 * server-watch.h - `watch` events: one notification per node state change,
 * sent to every connection that watches the node's graph (or all graphs)
 * and may see it.  Each connection's event queue is bounded; a client that
 * stops reading is dropped (docs/protocol.md, section 6), never buffered without bound.
 */
#ifndef COOPD_SERVER_WATCH_H
#define COOPD_SERVER_WATCH_H

struct coopd;
struct rnode;

void watch_emit_node(struct coopd *d, const struct rnode *n);

/* Subscribes watch to graph events (graph-registry.h): a node change that
 * watchers see is sent to them. */
int watch_subscribe(struct coopd *d);

#endif
