/*
 * job-spawn-guard.h - a job's process stopped before its exec is killed.
 *
 * The loop spawns an exec job with vfork (job-spawn.c): it is suspended
 * until the child has executed the job's program.  A child that runs as
 * the graph's owner can be signalled by the owner, and SIGSTOP cannot be
 * blocked: a member of the socket's group who stops it (a kill(-1,
 * SIGSTOP) loop catches one in well under a second) froze coopd's loop,
 * and so every other user's service, for as long as it liked.  While such
 * a spawn is in progress a guard thread looks at the child every
 * SPAWN_GUARD_POLL_MS: one that is stopped while it still runs coopd's
 * own program (its exec has not happened) is killed with SIGKILL, which a
 * stopped process cannot resist; the spawn then fails ("stopped before
 * its exec"), the loop goes on, and stats counts it
 * (daemon.exec_spawns_stopped).  docs/security.md, "Spawning as the
 * owner".
 */
#ifndef COOPD_JOB_SPAWN_GUARD_H
#define COOPD_JOB_SPAWN_GUARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#define SPAWN_GUARD_POLL_MS 2

struct spawn_guard {
	/* The child's pid, stored by the child itself (it shares coopd's
	 * memory until its exec); 0 before. */
	_Atomic pid_t pid;
	bool killed; /* under the guard's lock */
	struct spawn_guard *next;
};

/* Parent, before vfork: g is watched from now on.  False if the guard
 * thread cannot run (the spawn goes on unguarded, as before; logged once). */
bool spawn_guard_begin(struct spawn_guard *g);
/* Child, first thing after vfork: async-signal-safe (a raw getpid and an
 * atomic store). */
void spawn_guard_child(struct spawn_guard *g);
/* Parent, once vfork has returned: g is no longer watched.  True if the
 * guard killed the child (it never executed the job's program). */
bool spawn_guard_end(struct spawn_guard *g);
/* Children killed so far (stats). */
unsigned long long spawn_guard_kills(void);

#endif
