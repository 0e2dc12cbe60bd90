/*
 * store-retention.h - pruning of finished graphs and their logs by age,
 * count and nodes, per user (docs/durability.md, "Retention": defaults 7
 * days, 10,000 graphs and 10,000,000 nodes per user), so that neither the
 * state directory nor the daemon's memory grows without bound and one
 * user's history never evicts another's.
 */
#ifndef COOPD_STORE_RETENTION_H
#define COOPD_STORE_RETENTION_H

#include <sys/types.h>

struct coopd;
struct graph;

/* Starts the hourly prune timer and prunes once now. */
void retention_start(struct coopd *d);
void retention_stop(struct coopd *d);
/* Prunes now, every user's history: finished graphs older than
 * retention_days, then the oldest finished ones beyond retention_graphs or
 * retention_nodes.  Active graphs are never pruned. */
void retention_prune(struct coopd *d);
/* g has finished (or was loaded finished): it joins its owner's history. */
void retention_note(struct coopd *d, struct graph *g);
/* Prunes uid's history if it is over a bound (after a graph settled). */
void retention_prune_user(struct coopd *d, uid_t uid);

#endif
