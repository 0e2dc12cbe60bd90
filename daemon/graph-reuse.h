/*
 * graph-reuse.h - `rerun` with failed_only: the nodes of a new graph that
 * succeeded in the settled graph it reruns keep their results.
 */
#ifndef COOPD_GRAPH_REUSE_H
#define COOPD_GRAPH_REUSE_H

struct coopd;
struct graph;

/* Before g (a fresh graph of the same document as old, not yet started)
 * is stored: every node that succeeded in old, with its subtree, is
 * marked reused and given old's results (times, exit code or value,
 * error, stats, attempts).  graph_run_start() then settles it at once
 * instead of running it.  0 or -ENOMEM (g is then to be freed). */
int graph_reuse_results(struct graph *g, const struct graph *old);

/* Once g's directory exists: the reused exec nodes' log files are hard
 * links to old's, so that they stay readable from g even after old is
 * removed.  old may be NULL (removed meanwhile: logged, nothing to link). */
void graph_reuse_logs(struct coopd *d, const struct graph *old, struct graph *g);

#endif
