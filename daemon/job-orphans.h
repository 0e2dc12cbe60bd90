/*
 * job-orphans.h - subreaper mode (no writable cgroup2): finding the
 * processes an exec job left behind.
 *
 * coopd is a child subreaper, so a process whose parent dies while it
 * descends from coopd is re-parented to coopd; once a job's leader has
 * exited, every process the job still has is a child of coopd or descends
 * from one.  Such an adopted child is the job's when it runs as the job's
 * user (its real uid: a job cannot shed it, and no other user's process is
 * ever blamed on the job or ended with it) and:
 *   1. its initial environment holds the job's marker COOPD_JOB=GID/IDX
 *      (set at spawn, inherited by every descendant unless one clears its
 *      environment when it executes a program); or
 *   2. it has no readable marker, it started no earlier than the job's
 *      leader, and no other active job of the same user started at or
 *      before it (so no other job that could have started it).
 * A marker that names a job that is no longer active also makes it this
 * job's: nothing else will end it.  The process and all of its
 * descendants (by parent links in one /proc snapshot) are the leftovers.
 * An adopted process that case 2 cannot decide stays until the older
 * active jobs have ended too.
 */
#ifndef COOPD_JOB_ORPHANS_H
#define COOPD_JOB_ORPHANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "job-proc.h"

/* The job whose leftovers are wanted, and how to tell the others. */
struct orphan_query {
	pid_t self;             /* coopd's pid: the adopter */
	const char *marker;     /* the job's COOPD_JOB value */
	uint64_t leader_start;  /* its leader's start time */
	uid_t uid;              /* the user the job runs as */
	uint64_t others_oldest; /* earliest leader start of the other
				   active jobs of that user; UINT64_MAX if none */
	/* The real uid of pid: 0, or negative (then it is not the job's). */
	int (*uid_of)(void *ctx, pid_t pid, uid_t *ret);
	/* Whether pid is the leader of a job (those are not orphans). */
	bool (*is_leader)(void *ctx, pid_t pid);
	/* Whether marker names an active job other than this one. */
	bool (*marker_active)(void *ctx, const char *marker);
	void *ctx;
};

/* Appends to out (up to cap; the total found is returned) the processes
 * of procs[0..n) that the job left, as defined above.  Zombies are not
 * counted (they have already exited). */
size_t orphans_of_job(const struct proc_info *procs, size_t n, const struct orphan_query *q,
		      struct proc_info *out, size_t cap);

#endif
