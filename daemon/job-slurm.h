/*
 * job-slurm.h - exec nodes placed on a Slurm cluster (docs/slurm.md).
 *
 * An exec node with placement slurm runs through the same libcoop task
 * as a local exec node (job-exec.c): its first poll asks the reactor to
 * start it, a cancellation asks the reactor to stop it, and the reactor
 * publishes its result and wakes it.  So timeouts, deadlines, policies,
 * max_parallel, after/always and cancellation are libcoop's, unchanged;
 * only "start", "stop" and "it ended" differ, and those are here:
 *
 *   start   the batch script (job-slurm-parse.h) is written to
 *           slurm_spool_dir/GRAPH/IDX.sh and submitted with sbatch as the
 *           graph's owner; the job id is journalled before anything else;
 *   ended   one `squeue --json --states=all --jobs=...` every
 *           slurm_poll_ms for all of coopd's jobs at once; a job that
 *           squeue no longer lists is asked about with `scontrol show job`;
 *   stop    `scancel --signal=TERM --full` (every step and the batch
 *           shell), `scancel --signal=KILL --full` after grace_ms, and the
 *           node is cancelled when Slurm reports the job ended.
 *
 * Every Slurm command is a child process watched by the loop
 * (job-slurm-cmd.h); a failed squeue is retried with back-off.  Loop
 * thread only.
 */
#ifndef COOPD_JOB_SLURM_H
#define COOPD_JOB_SLURM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util-strbuf.h"

struct coopd;
struct rnode;
struct graph;
struct exec_job;
struct slurm_job;

/* Start-up (slurm = on): the spool directory and the commands.  Returns
 * 0, or a negative errno after logging why. */
int slurm_setup(struct coopd *d);
void slurm_teardown(struct coopd *d);

/* coopd's ev_child watcher: true if pid was a Slurm command. */
bool slurm_child_reaped(struct coopd *d, pid_t pid, int wstatus);

/* job-exec.c: submit attempt (from 1) of node n; its result goes to
 * exec_job_settle(ej, ...).  Returns the job (owned by ej). */
struct slurm_job *slurm_job_start(struct coopd *d, struct rnode *n, struct exec_job *ej,
				  unsigned attempt);
/* job-exec.c: the task was cancelled (coop_reason value). */
void slurm_job_cancel(struct slurm_job *sj, int reason);
/* pause (true) holds a submitted job that Slurm has not started yet
 * (`scontrol hold`), resume (false) releases it; a running job's processes
 * are Slurm's and go on (docs/slurm.md). */
void slurm_job_pause(struct slurm_job *sj, bool pause);
/* job-exec.c: the exec job is being freed. */
void slurm_job_detach(struct slurm_job *sj);

/* Forced stop: scancel every job still active (no waiting). */
void slurm_cancel_all(struct coopd *d);

/* The output file of stream 0 (stdout) or 1 (stderr) of attempt (from 1)
 * of node idx of graph gid, in the spool directory (IDX.out, IDX.err; a
 * later attempt's IDX.aN.out...); 0 or -ENAMETOOLONG. */
int slurm_log_path(struct coopd *d, const char *gid, uint32_t idx, unsigned attempt, int stream,
		   char *buf, size_t size);

/* Opens that output file for reading: the fd, -ENOENT when there is
 * none yet, -ELOOP or -EPERM for anything that is not a regular file of
 * the graph's owner (the owner's job writes it, in a directory of the
 * owner's: coopd never reads through a link the owner planted). */
int slurm_log_open(struct coopd *d, const struct graph *g, uint32_t idx, unsigned attempt,
		   int stream);

/* rerun failed_only (graph-reuse.c): node idx's output file of graph
 * from_gid linked under graph g's id (its spool directory made, the
 * owner's, as a submit makes it), so a reused node's logs read from g.
 * 0, or a negative errno (-ENOENT: no such file). */
int slurm_log_link(struct coopd *d, const char *from_gid, const struct graph *g, uint32_t idx,
		   unsigned attempt, int stream);

/* Start-up, for an unfinished Slurm node of a graph that cannot go on:
 * its job is cancelled once the loop runs. */
void slurm_recover_note(struct coopd *d, const struct rnode *n);

/* Prometheus text of coopd_slurm_* (docs/metrics.md). */
void slurm_metrics(struct coopd *d, struct strbuf *sb);

/* The counters tests and the bench read (status of `stats`). */
struct slurm_counts {
	uint64_t polls;          /* squeue runs for the poll */
	uint64_t jobs_submitted; /* sbatch successes */
};
void slurm_counts(struct coopd *d, struct slurm_counts *ret);

#endif
