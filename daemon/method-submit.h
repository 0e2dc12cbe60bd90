/*
 * method-submit.h - accepting a graph: what `submit` and `rerun` share.
 */
#ifndef COOPD_METHOD_SUBMIT_H
#define COOPD_METHOD_SUBMIT_H

#include "method.h"

struct graph;
struct proto_graph;

/* Checks what a valid document may still be refused for (limits this
 * coopd cannot enforce, an owner without an account, max_active_per_user
 * and the per-user bounds of active nodes and document bytes),
 * makes the graph of def (taken over, freed on error), stores doc (the
 * document to keep; borrowed) and answers {id} once it is durable, then
 * starts it.  With reuse (rerun failed_only), the nodes that succeeded in
 * that settled graph are not run again (graph_reuse_results()).  Returns
 * METHOD_LATER, or METHOD_ERROR with call->err set. */
enum method_ret submit_graph(struct method_call *call, struct proto_graph *def,
			     struct json_object *doc, struct graph *reuse);
/* The same for a graph built off the loop from its document (rerun:
 * method-rerun.c), with that document's text to store (taken): g and
 * text are freed on error. */
enum method_ret submit_graph_built(struct method_call *call, struct graph *g, char *text,
				   size_t text_len, struct graph *reuse);

#endif
