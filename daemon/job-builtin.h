/*
 * job-builtin.h - the builtin task and blocking functions of
 * coopd.graph(5), and the waker that reports each node's end to the reactor.
 */
#ifndef COOPD_JOB_BUILTIN_H
#define COOPD_JOB_BUILTIN_H

#include "coop.h"

struct coopd;
struct rnode;

/* The value of a blocking ignore_cancel job cut short by
 * ignore_cancel_max_ms (its status is cancelled). */
#define JOB_IGNORE_CANCEL_CUT (-1000001)

/* Spawns n (kind task) into scope. */
int job_spawn_task(struct coopd *d, struct rnode *n, coop_scope *scope, const coop_spawn_opts *opts,
		   coop_handle **ret_handle);
/* Spawns n (kind blocking) into scope. */
int job_spawn_blocking(struct coopd *d, struct rnode *n, coop_scope *scope,
		       const coop_spawn_opts *opts, coop_handle **ret_handle);
/* Has MAIL_DONE posted once n has ended: n's handle (a job), or n's scope,
 * which is closed (libcoop then holds the outcome: coop_handle_done,
 * coop_scope_done).  Cannot fail. */
void job_watch_end(struct rnode *n);

#endif
