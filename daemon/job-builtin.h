/*
 * job-builtin.h - the builtin task and blocking functions of
 * coopd.graph(5)
 * and the joiner task that reports each node's outcome to the reactor.
 */
#ifndef COOPD_JOB_BUILTIN_H
#define COOPD_JOB_BUILTIN_H

#include "coop.h"

struct coopd;
struct rnode;

/* Spawns n (kind task) into scope. */
int job_spawn_task(struct coopd *d, struct rnode *n, coop_scope *scope, const coop_spawn_opts *opts,
		   coop_handle **ret_handle);
/* Spawns n (kind blocking) into scope. */
int job_spawn_blocking(struct coopd *d, struct rnode *n, coop_scope *scope,
		       const coop_spawn_opts *opts, coop_handle **ret_handle);
/* Spawns, into d->monitor, a task that waits for n's handle (or n's scope,
 * which it closes) and posts MAIL_DONE with the outcome. */
int job_spawn_joiner(struct coopd *d, struct rnode *n);

#endif
