/*
 * job-exec.h - exec nodes: a libcoop task that asks the reactor to start a
 * process and waits, through a waker, until the reactor says the process
 * group is gone.
 *
 * The reactor side (all on the loop thread) spawns the process in its own
 * process group (and its own cgroup when coopd has a writable cgroup2
 * subtree) with a minimal environment, no shell, stdin from /dev/null
 * and stdout/stderr on pipes that it copies into per-job log files (the
 * first log_cap bytes of each stream are kept, the rest is counted and
 * dropped); reaps the leader; polls kill(-pgid, 0) on a timer until no
 * process is left in the group; then ends what the job left behind
 * (processes that left the group) and counts them; and, on cancellation,
 * sends SIGTERM to the group and the cgroup, waits the grace time and
 * sends SIGKILL.
 */
#ifndef COOPD_JOB_EXEC_H
#define COOPD_JOB_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "coop.h"

struct coopd;
struct rnode;
struct exec_job;

/* Allocates n->job and spawns the exec task into scope. */
int exec_spawn_task(struct coopd *d, struct rnode *n, coop_scope *scope,
		    const coop_spawn_opts *opts, coop_handle **ret_handle);

/* Loop thread: mail from the task (MAIL_EXEC_SPAWN / MAIL_EXEC_KILL bits). */
void exec_job_mail(struct coopd *d, struct rnode *n, unsigned bits, int reason);

/* Loop thread: the end of a job that another runner (job-slurm.c)
 * started: its result, published to the task as a local job's is.
 * cancelled: coopd asked it to stop (so a non-zero end is a
 * cancellation); never_started with cancelled: it never ran.  Once. */
void exec_job_settle(struct exec_job *job, int exit_code, int term_signal, const char *error,
		     bool cancelled, bool never_started);

/* Loop thread: the Slurm job of the current attempt runs (job-slurm.c):
 * the attempt has started, and the node is running (once). */
void exec_job_slurm_running(struct exec_job *job);

/* Loop thread: pause (freeze a running job; hold a spawn or an attempt
 * that comes while n->paused) and resume (thaw; with start_held, start
 * what was held: a cancel leaves that to the job's cancellation). */
void exec_job_pause(struct coopd *d, struct rnode *n);
void exec_job_resume(struct coopd *d, struct rnode *n, bool start_held);

/* Loop thread: a child was reaped (from the ev_child watcher). */
void exec_child_reaped(struct coopd *d, pid_t pid, int wstatus);

/* Loop thread: SIGKILL every live job's group now (forced shutdown). */
void exec_kill_all(struct coopd *d);

/* Start-up, before graphs are loaded: decides how jobs are tracked (a
 * cgroup per job, or the child subreaper; config keys cgroups and
 * cgroup_root) and removes the cgroups that a crashed coopd left.  Logs;
 * returns a negative errno only if cgroups = on cannot be honoured. */
int exec_setup(struct coopd *d);
/* At exit: removes coopd's cgroup directory (killing what a forced stop
 * left in it). */
void exec_teardown(struct coopd *d);
/* Whether exec jobs get a cgroup each. */
bool exec_cgroups_active(const struct coopd *d);
/* The cgroup controllers job cgroups have (CGROUP_CTRL_* of job-cgroup.h;
 * 0 without a cgroup per job). */
unsigned exec_cgroup_controllers(const struct coopd *d);

/* The user g's jobs run as: its owner when coopd is root, else coopd's
 * own user. */
uid_t exec_run_uid(const struct coopd *d, const struct graph *g);
/* Whether exec jobs run as their graph's owner (coopd is root); known
 * since exec_setup(), so that a submit asks the kernel nothing. */
bool exec_as_owner(const struct coopd *d);
/* Whether the pids recorded by the coopd before this one are of this
 * boot (job-boot.c; read by exec_setup()). */
bool exec_same_boot(const struct coopd *d);

/* Releases a finished job (loop thread). */
void exec_job_free(struct exec_job *job);

#endif
