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

/* Called on the loop thread when the writer thread is done with a job:
 * r == 0 on success, else a negative errno (a failed create leaves nothing
 * behind). */
typedef void (*store_done_fn)(struct coopd *d, struct graph *g, int r, void *arg);

/* Creates the state directory (0700) and its graphs/ folder. */
int store_open(struct coopd *d, struct store **ret);
void store_free(struct store *s);
const char *store_dir(const struct store *s);

/* Queues the durable write of g's directory and definition (doc, the
 * validated document) for the writer thread: temp file, fsync, rename,
 * directory fsyncs, with one fsync of graphs/ per batch.  done runs later
 * on the loop thread.  Returns 0 or -ENOMEM (done will not run). */
int store_graph_create(struct store *s, struct graph *g, struct json_object *doc,
		       store_done_fn done, void *arg);
/* Submits queued and not yet completed. */
size_t store_pending(const struct store *s);
/* Runs the completions that are ready (also run by the writer's async). */
void store_complete(struct store *s);
/* Removes g's directory (a graph that will not run after all). */
void store_remove_graph_files(struct store *s, struct graph *g);

/* Queues a record of n's current state; written within journal_flush_ms. */
void store_journal_node(struct store *s, const struct rnode *n);

/* g has settled: writes its journal and syncs it, closes the journal (on
 * this thread; used at start-up). */
void store_graph_settled(struct store *s, struct graph *g);
/* The same on the writer thread; done runs on the loop once the journal is
 * synced.  Returns 0, or a negative errno (then do it synchronously). */
int store_graph_settled_async(struct store *s, struct graph *g, store_done_fn done, void *arg);
/* Joins the writer thread after it has finished its queue, and runs the
 * completions left (before graphs are freed at exit). */
void store_stop_writer(struct store *s);

/* Writes every queued record now (shutdown). */
void store_flush_all(struct store *s);

/* Loads every graph found in the state directory: finished ones as they
 * were, unfinished ones marked `interrupted`.  Damaged graph directories
 * are moved aside into damaged/ and logged.  Registers each graph with
 * coopd_register_loaded(). */
int store_load(struct coopd *d);

#endif
