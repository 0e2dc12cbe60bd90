/*
 * store-state.h - durable state: one directory per graph under the state
 * directory, holding the accepted definition (graph.json, written once and
 * synced before `submit` answers), an append-only journal of node state
 * records, and the exec jobs' logs.  See docs/durability.md.
 */
#ifndef COOPD_STORE_STATE_H
#define COOPD_STORE_STATE_H

#include "proto-rpc.h"

struct coopd;
struct store;
struct graph;
struct rnode;
struct json_object;

/* Creates the state directory (0700) and its graphs/ folder. */
int store_open(struct coopd *d, struct store **ret);
void store_free(struct store *s);
const char *store_dir(const struct store *s);

/* Writes g's directory and definition durably (temp file, fsync, rename,
 * directory fsync).  On failure nothing is left behind and err says why
 * (-32603 with the errno text). */
int store_graph_create(struct store *s, struct graph *g, struct json_object *doc,
		       struct proto_error *err);

/* Queues a record of n's current state; written within journal_flush_ms. */
void store_journal_node(struct store *s, const struct rnode *n);

/* g has settled: writes its journal and syncs it, closes the journal. */
void store_graph_settled(struct store *s, struct graph *g);

/* Writes every queued record now (shutdown). */
void store_flush_all(struct store *s);

/* Loads every graph found in the state directory: finished ones as they
 * were, unfinished ones marked `interrupted`.  Damaged graph directories
 * are moved aside into damaged/ and logged.  Registers each graph with
 * coopd_register_loaded(). */
int store_load(struct coopd *d);

#endif
