/*
 * store-retention.h - pruning of finished graphs and their logs by age,
 * count, nodes and bytes on disk, per user (docs/durability.md,
 * "Retention": defaults 7 days, 10,000 graphs, 10,000,000 nodes and 10 GiB
 * per user), so that neither the
 * state directory nor the daemon's memory grows without bound and one
 * user's history never evicts another's.
 */
#ifndef COOPD_STORE_RETENTION_H
#define COOPD_STORE_RETENTION_H

#include <sys/types.h>

#include "store-state.h"

struct coopd;
struct graph;

/* Starts the hourly prune timer and prunes once now. */
void retention_start(struct coopd *d);
void retention_stop(struct coopd *d);
/* Prunes now, every user's history: finished graphs older than
 * retention_days, then the oldest finished ones beyond retention_graphs,
 * retention_nodes or retention_bytes.  Active graphs are never pruned. */
void retention_prune(struct coopd *d);
/* g has finished (or was loaded finished): it joins its owner's history. */
void retention_note(struct coopd *d, struct graph *g);
/* Forgets one settled graph now (its rows, through the writer, its logs
 * and its memory; its owner's history forgets it): pruning, and the
 * `remove` method.  g must be neither active nor syncing. */
void retention_forget(struct coopd *d, struct graph *g);
/* The same; done runs on the loop once the rows' delete has committed and
 * the logs are gone (store_graph_delete).  Returns 0, or a negative errno
 * (done will not run; g is forgotten all the same). */
int retention_forget_then(struct coopd *d, struct graph *g, store_id_done_fn done, void *arg);
/* Prunes uid's history if it is over a bound (after a graph settled). */
void retention_prune_user(struct coopd *d, uid_t uid);

#endif
