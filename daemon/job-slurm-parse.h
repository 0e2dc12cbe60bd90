/*
 * job-slurm-parse.h - what coopd writes for Slurm and reads back from it,
 * as pure functions (no I/O), so that odd answers can be unit-tested
 * without a cluster (tests/suite-daemon-slurm.c).
 *
 *   - the batch script of an exec node: it exports the job's environment
 *     and execs exactly its argv, every word single-quoted (no shell
 *     expansion, no word splitting: spaces, quotes, $ and newlines arrive
 *     as they were sent);
 *   - sbatch's options from a node's `slurm` object;
 *   - `squeue --json` (all of coopd's jobs in one answer) and
 *     `scontrol -o show job` (one job, when squeue no longer lists it);
 *   - what a Slurm job state means for the node (docs/slurm.md "States").
 */
#ifndef COOPD_JOB_SLURM_PARSE_H
#define COOPD_JOB_SLURM_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto-graph.h"
#include "util-strbuf.h"

#define SLURM_STATE_MAX 32 /* bytes of a Slurm job state name, NUL included */

/* One job of an answer. */
struct slurm_job_info {
	uint64_t job_id;
	char state[SLURM_STATE_MAX]; /* "PENDING", "COMPLETED", ... */
	int exit_code;               /* -1: none (the job has not ended) */
	int term_signal;             /* 0: none */
	uint32_t uid;                /* UINT32_MAX: not known */
	char name[64];               /* job name, "" when absent */
};

/* What a Slurm state means for coopd. */
enum slurm_class {
	SLURM_CLASS_PENDING,   /* queued, held, configuring, requeued */
	SLURM_CLASS_RUNNING,   /* running, completing, suspended */
	SLURM_CLASS_COMPLETED, /* ended: the exit status decides */
	SLURM_CLASS_CANCELLED, /* ended: cancelled (by coopd or someone else) */
	SLURM_CLASS_FAILED,    /* ended: a Slurm failure state (TIMEOUT, NODE_FAIL, ...) */
};

enum slurm_class slurm_state_class(const char *state);

/* Appends s as one single-quoted sh word ('it'\''s'). */
void slurm_sh_quote(struct strbuf *sb, const char *s);

/* The batch script of a job: "#!/bin/sh", the environment (envp, NULL
 * ended, every item KEY=VALUE with a valid sh name as KEY), then exec of
 * argv.  A key that sh cannot name is refused: -EINVAL, *bad = its index. */
int slurm_script_build(struct strbuf *sb, char *const *envp, char *const *argv, size_t *bad);

/* sbatch's options for opts (may be NULL) into argv[*n...] (strings
 * allocated; at most 9 added).  Returns 0 or -ENOMEM. */
int slurm_sbatch_options(const struct proto_slurm *opts, char **argv, size_t *n);

/* Parses `sbatch --parsable` output: "JOBID" or "JOBID;CLUSTER". */
int slurm_parse_sbatch(const char *out, uint64_t *ret_id);

/* Parses `squeue --json`: calls fn for every job.  Returns the number of
 * jobs, or -EINVAL when the text is not such an answer. */
int slurm_parse_squeue_json(const char *text, size_t len,
			    void (*fn)(const struct slurm_job_info *job, void *arg), void *arg);

/* Parses `scontrol -o show job ID` (one line of Key=Value).  Returns 0,
 * or -EINVAL when the line has no JobId and JobState. */
int slurm_parse_scontrol(const char *text, struct slurm_job_info *ret);

#endif
