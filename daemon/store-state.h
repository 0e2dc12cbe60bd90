/*
 * store-state.h - durable state: the daemon's side of the state store.
 * Graphs and their nodes' states live in STATE/coopd.db (store-db.h),
 * written only by the writer thread (store-writer.h) with group commit;
 * the exec jobs' logs are files beside it, in STATE/graphs/ID/.  This
 * file turns graphs and nodes into rows and back.  See docs/durability.md.
 */
#ifndef COOPD_STORE_STATE_H
#define COOPD_STORE_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "proto-rpc.h"

struct coopd;
struct store;
struct graph;
struct rnode;
struct json_object;
struct store_graph_row;

/* Called on the loop thread when the writer thread is done with a job:
 * r == 0 on success (durable), else a negative errno. */
typedef void (*store_done_fn)(struct coopd *d, struct graph *g, int r, void *arg);
/* The same for a job that does not keep a graph alive (delete). */
typedef void (*store_id_done_fn)(struct coopd *d, const char *id, int r, void *arg);

/* Creates the state directory (0700), its graphs/ folder (the logs), opens
 * (or creates) coopd.db, moving a damaged one aside, imports a state
 * directory of the format before the database (store-import.h), and
 * starts the writer thread. */
int store_open(struct coopd *d, struct store **ret);
void store_free(struct store *s);
const char *store_dir(const struct store *s);

/* Queues the durable insert of g and its definition (doc, the validated
 * document).  done runs on the loop thread once the transaction is synced
 * (then g has its row), or failed.
 * Returns 0 or -ENOMEM (done will not run). */
int store_graph_create(struct store *s, struct graph *g, struct json_object *doc,
		       store_done_fn done, void *arg);
/* The same with the document's text already made by store_doc_text
 * (taken, freed on failure too). */
int store_graph_create_text(struct store *s, struct graph *g, char *text, size_t len,
			    store_done_fn done, void *arg);
/* The text store_graph_create writes for doc (a validated graph
 * document): 0 or -ENOMEM.  Touches nothing else, so any thread may make
 * it (server-parse.c does, for big submits). */
int store_doc_text(struct json_object *doc, char **text, size_t *len);
/* Jobs queued and not yet completed. */
size_t store_pending(const struct store *s);
/* Runs the completions that are ready (also run by the writer's async). */
void store_complete(struct store *s);

/* Deletes a settled graph: its rows (durably) and then its log directory.
 * The caller may free g at once.  done (may be NULL) runs on the loop.
 * Returns 0 or -ENOMEM. */
int store_graph_delete(struct store *s, struct graph *g, store_id_done_fn done, void *arg);

/* What the store tells the code above it, so that it calls nothing above
 * it: drained, the writer has completed jobs (a stop may end now: the
 * lifecycle, coopd-lifecycle.c); loaded_settled, a graph that a crash
 * interrupted is durably recorded so (its `wait`s may be answered:
 * method-wait.c).  store_set_hooks sets the members of h that are not
 * NULL, so that each sets its own. */
struct store_hooks {
	void (*drained)(struct coopd *d);
	void (*loaded_settled)(struct coopd *d, struct graph *g);
};
void store_set_hooks(struct store *s, const struct store_hooks *h);

/* Subscribes the store to graph events (graph-registry.h): a changed
 * node is journalled, an ended graph's final state is written (synced
 * if a `wait` waits) before the graph settles.  After store_open(). */
int store_subscribe(struct coopd *d);

/* Marks n's state changed: its row is written (without a sync) within
 * journal_flush_ms, in one batch with the other changed nodes. */
void store_journal_node(struct store *s, const struct rnode *n);
/* Writes n's current state now, durably (a transaction synced like a
 * submit's); done runs on the loop once it is on disk, or failed.  For
 * facts that must survive before they are reported (a Slurm job id).
 * Returns 0 or -ENOMEM (done will not run). */
int store_node_durable(struct store *s, struct rnode *n, store_done_fn done, void *arg);

/* g has settled: its changed nodes and its final state are written on the
 * writer; done runs on the loop once they are committed, and synced if
 * durable (a `wait` is waiting for the result).  If they cannot be
 * written, done does not run: the store retries every second until they
 * are (so `wait` never answers a result that is not on disk).  Called
 * again with durable on a graph already settled, it writes the graph's
 * row again in a synced transaction: the way to make a result durable
 * when a `wait` comes later (store_graph_durable).  Returns 0 or -ENOMEM
 * (done will not run). */
int store_graph_settled_async(struct store *s, struct graph *g, bool durable, store_done_fn done,
			      void *arg);
/* A settle of g held back without a sync (nobody waited when it settled)
 * goes to the writer now, synced: someone (`wait`, `remove`) waits for
 * it.  Nothing if g's settle is not held back. */
void store_graph_hurry(struct store *s, struct graph *g);
/* Whether g's final state is on disk (its settle committed, and synced
 * since). */
bool store_graph_durable(const struct store *s, const struct graph *g);
/* Joins the writer thread after it has finished its queue, and runs the
 * completions left (before graphs are freed at exit). */
void store_stop_writer(struct store *s);

/* Queues every changed node now (shutdown). */
void store_flush_all(struct store *s);

/* Reads the stored document of graph id (as submitted, NUL-terminated,
 * malloc'ed) from the database: rerun.  -ENOENT if there is none. */
int store_read_doc(struct store *s, const char *id, char **doc, size_t *len);

/* Loading at start-up (store-load.c, above the store and the runner):
 * calls fn for every stored graph (its row, without the document), in
 * submission order; a failed read is logged.  0, fn's first non-zero
 * return, or a negative errno. */
typedef int (*store_graph_row_fn)(void *ctx, const struct store_graph_row *row);
int store_each_graph(struct store *s, store_graph_row_fn fn, void *ctx);
/* The database's path (for logs). */
const char *store_db_file(const struct store *s);
/* A new graph (not registered, marked loaded) from row's document
 * (row->doc) with its node rows applied.  0, -EBADMSG if the document does
 * not parse (err says why), -ENOMEM, or the database's error. */
int store_graph_of_row(struct store *s, const struct store_graph_row *row, struct graph **ret,
		       struct proto_error *err);
/* Marks n changed without queueing a write: its row goes out with its
 * graph's next settle (store_graph_interrupted). */
void store_mark_node(const struct rnode *n);
/* g, loaded unfinished, has been marked interrupted: its marked nodes and
 * its final state are written, synced; then the loaded_settled hook runs
 * (its `wait`s may be answered). */
void store_graph_interrupted(struct store *s, struct graph *g);

/* With a cgroup per exec job the next start kills every job cgroup that
 * a crashed coopd left (job-cgroup.h), so spawn records need not reach the
 * database at once; without (the default), they are written at once. */
void store_set_cgroups(struct store *s, bool cgroups);

/* With slurm = on: a deleted graph's directory in spool (slurm_spool_dir)
 * is removed after the delete commits (job-slurm-spool.h).  Called once,
 * before the loop runs (the writer reads it without a lock). */
int store_set_slurm_spool(struct store *s, const char *spool);

/* Reads a released graph's tree back from the database (status, logs,
 * cancel of a settled graph); 0 at once if g has its tree.  Or a negative
 * errno (logged). */
int store_graph_hydrate(struct store *s, struct graph *g);

/* The same on the reader thread (docs/architecture.md): returns 1 when a
 * read was queued (g is pinned meanwhile; done then runs on the loop, with
 * the tree adopted, or a negative errno), 0 if g has its tree or a read is
 * already queued (its done will run), -ENOTSUP without a reader thread
 * (read it on the loop), or -ENOMEM.  by is the uid of the request that
 * asks (reads are taken in turn by it, store-reader.h). */
int store_graph_hydrate_async(struct store *s, struct graph *g, uid_t by,
			      void (*done)(struct coopd *d, struct graph *g, int r));
/* Whether trees are read back off the loop (the reader thread runs). */
bool store_reads_off_loop(const struct store *s);
/* Queues job on the reader thread (store-reader.h; job->uid set by the
 * caller): 0, or -ENOTSUP without one (read on the loop then). */
struct store_read;
int store_read_queue(struct store *s, struct store_read *job);
/* Reads queued or running on the reader thread (stats). */
size_t store_reads_pending(const struct store *s);

/* Makes g->counts right without the tree (status and wait with summary):
 * a released graph loaded at start-up counts its node rows with one
 * aggregate query (nodes without a row are pending, as
 * store_graph_hydrate reads them); 0 at once if they are known.  Or a
 * negative errno (logged). */
int store_graph_counts(struct store *s, struct graph *g);

/* Transactions committed and jobs written since start (stats, tests). */
void store_counts(const struct store *s, unsigned long long *commits, unsigned long long *jobs);

#endif
