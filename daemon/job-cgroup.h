/*
 * job-cgroup.h - one cgroup v2 directory per exec job.
 *
 * coopd's cgroup subtree (the "instance" directory) is decided once at
 * start-up (cgroup_open()):
 *   - under systemd with Delegate=yes, coopd's own cgroup (the `0::` line
 *     of /proc/self/cgroup, marked delegated by systemd): coopd moves
 *     itself into the leaf `daemon` (cgroup v2 has no internal processes
 *     once controllers are enabled) and creates `job-*` beside it;
 *   - otherwise a directory `coopd-PID-START` (START: coopd's start time,
 *     /proc/PID/stat field 22) under `cgroup_root` or, when that is not
 *     set, under the cgroup2 mount found in /proc/self/mountinfo.
 * Each job gets `INSTANCE/job-GRAPHID-NODEIDX`, created before the spawn;
 * the child joins it before exec (it writes "0" to cgroup.procs), so
 * nothing the job starts is ever outside it.
 *
 * After a crash, the cgroups of every coopd instance that is gone (its
 * PID-START names no live process; in delegated mode every job-* found at
 * start) are killed and removed at start-up, before any graph is reloaded.
 *
 * All calls are made on the loop thread (or before the loop runs).
 */
#ifndef COOPD_JOB_CGROUP_H
#define COOPD_JOB_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct job_cgroups;

/* Longest job cgroup name, with its NUL ("job-" + graph id + "-" + idx). */
#define CGROUP_JOB_NAME_MAX 48

/* Finds a writable cgroup2 subtree (root: the configured cgroup_root or
 * NULL) and cleans up the stale job cgroups of instances that crashed.
 * Returns 0 with *ret set, or a negative errno with *ret NULL (no
 * writable cgroup2: -ENOENT, -EACCES, ...); *ret_why then says why. */
int cgroup_open(const char *root, struct job_cgroups **ret, const char **ret_why);
/* Removes the instance directory (when coopd created it) and frees. */
void cgroup_close(struct job_cgroups *cg);

/* The instance directory (for logs). */
const char *cgroup_instance_path(const struct job_cgroups *cg);
/* An fd of the instance directory for the *at() calls of a child before
 * exec (O_PATH, close-on-exec). */
int cgroup_instance_fd(const struct job_cgroups *cg);

/* Creates the job cgroup `name` (an existing one left by an earlier
 * attempt is killed and replaced).  0 or a negative errno. */
int cgroup_job_create(struct job_cgroups *cg, const char *name);

/* Removes the job cgroup: 0 when it is gone (it held no process),
 * -EBUSY while processes are left, another negative errno on failure. */
int cgroup_job_remove(struct job_cgroups *cg, const char *name);

/* Sends sig (0: none) to every process in the job cgroup (and its
 * sub-cgroups) except the members of process group skip_pgid (0: none).
 * pids not in seen[0..*n_seen) are appended there (up to seen_cap), so
 * that a caller can count distinct processes.  Returns how many processes
 * were signalled, or a negative errno. */
int cgroup_job_signal(struct job_cgroups *cg, const char *name, int sig, pid_t *seen,
		      size_t *n_seen, size_t seen_cap, pid_t skip_pgid);

/* SIGKILLs everything in the job cgroup: cgroup.kill, or, on kernels
 * without it (< 5.14), SIGKILL to every pid listed. */
int cgroup_job_kill(struct job_cgroups *cg, const char *name);

/* Freezes (frozen true) or thaws the job cgroup `name` with cgroup.freeze
 * (pause/resume; cgroup v2 needs no controller for it).  The kernel
 * freezes the processes asynchronously (cgroup.events says "frozen 1"
 * once done).  0 or a negative errno (-ENOENT: no cgroup.freeze, a
 * kernel before 5.2). */
int cgroup_job_freeze(struct job_cgroups *cg, const char *name, bool frozen);

/* The job cgroup's name for node idx of graph gid.  0 or -ENAMETOOLONG. */
int cgroup_job_name(const char *gid, unsigned idx, char *buf, size_t size);

/*
 * Resource limits (coopd.graph(5), `limits`) on a job cgroup.  They need
 * the controllers that coopd's own cgroup was given: cgroup_open() enables
 * what it can of cpu, memory and pids for the job cgroups (writing the
 * instance's cgroup.subtree_control) and remembers what took.
 */
enum {
	CGROUP_CTRL_CPU = 1u << 0,
	CGROUP_CTRL_MEMORY = 1u << 1,
	CGROUP_CTRL_PIDS = 1u << 2,
};

/* The controllers job cgroups have (CGROUP_CTRL_* bits). */
unsigned cgroup_controllers(const struct job_cgroups *cg);

/* What to write; a field <= 0 is left alone. */
struct cgroup_limits {
	int64_t memory_max; /* bytes -> memory.max (and memory.swap.max 0, when there) */
	int64_t pids_max;   /* -> pids.max */
	double cpu_max;     /* CPUs -> cpu.max "QUOTA 100000" */
};

/* Writes the limits into the cgroup directory dfd (a job's, or in tests a
 * directory standing in for one).  Returns 0, or a negative errno with
 * *ret_file naming the file that could not be written. */
int cgroup_limits_write(int dfd, const struct cgroup_limits *l, const char **ret_file);
/* The same for the job cgroup `name`. */
int cgroup_job_set_limits(struct job_cgroups *cg, const char *name, const struct cgroup_limits *l,
			  const char **ret_file);

/* How many processes the kernel's OOM killer ended in the cgroup directory
 * dfd for hitting memory.max (`oom_kill` of memory.events): >= 0, or a
 * negative errno (no memory.events: no memory controller). */
int cgroup_oom_kills(int dfd);

/* The error of a job that memory_max (bytes) ended: when memory.events of
 * the cgroup directory dfd counts an OOM kill, writes "memory_max exceeded
 * (...)" into buf and returns 1; else 0 (or a negative errno). */
int cgroup_memory_error(int dfd, int64_t memory_max, char *buf, size_t size);
/* The same for the job cgroup `name`. */
int cgroup_job_memory_error(struct job_cgroups *cg, const char *name, int64_t memory_max, char *buf,
			    size_t size);

/* Joins the job cgroup `name` under the instance directory dfd: for a
 * child between fork/vfork and exec (async-signal-safe: openat, write;
 * the fd it opens is close-on-exec and left to the exec).  0 or a
 * negative errno. */
int cgroup_child_join(int dfd, const char *name);

#endif
