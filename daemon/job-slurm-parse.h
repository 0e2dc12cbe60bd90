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
 *   - squeue's answer in SLURM_SQUEUE_FORMAT (all of coopd's jobs in one) and
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

/* squeue's options for the poll's answer: one line per job,
 * "ID|STATE|EXIT|UID|", EXIT a wait status (Slurm 22.05's exit_code). */
#define SLURM_SQUEUE_FORMAT "--Format=JobID:0|,State:0|,exit_code:0|,UserID:0|"

/* Where and why an answer was refused. */
struct slurm_parse_error {
	unsigned line;      /* 1-based */
	const char *reason; /* static text */
};

/* Parses squeue --noheader SLURM_SQUEUE_FORMAT: every line exactly
 * "ID|STATE|EXIT|UID|\n" (ID > 0, STATE of A-Z and _, EXIT 0-65535, UID
 * below 2^32-1); "" is no job.  Calls fn (may be NULL) for every job once
 * the whole text is checked.  Returns the number of jobs, or -EINVAL and
 * *err (may be NULL) naming the first bad line. */
int slurm_parse_squeue(const char *text, size_t len,
		       void (*fn)(const struct slurm_job_info *job, void *arg), void *arg,
		       struct slurm_parse_error *err);

/* Parses `scontrol -o show job ID` (one line of Key=Value).  Returns 0,
 * or -EINVAL when the line has no JobId and JobState. */
int slurm_parse_scontrol(const char *text, struct slurm_job_info *ret);

#endif
