/*
 * store-retention.h - pruning of finished graphs and their logs by age and
 * count (coopd.conf(5): defaults 7 days, 10,000 graphs), so that neither
 * the state directory nor the daemon's memory grows without bound.
 */
#ifndef COOPD_STORE_RETENTION_H
#define COOPD_STORE_RETENTION_H

struct coopd;

/* Starts the hourly prune timer and prunes once now. */
void retention_start(struct coopd *d);
void retention_stop(struct coopd *d);
/* Prunes now: finished graphs older than retention_days, then the oldest
 * finished ones beyond retention_graphs.  Active graphs are never pruned. */
void retention_prune(struct coopd *d);

/* Forgets one settled graph now (its directory, logs and memory): pruning,
 * and the `remove` method.  g must be neither active nor syncing. */
void retention_forget(struct coopd *d, struct graph *g);

#endif
