/*
 * job-slurm-cmd.h - running one of Slurm's commands (sbatch, squeue,
 * scontrol, scancel) without ever waiting for it on the loop: a child
 * process with stdout and stderr on non-blocking pipes read by ev_io, its
 * exit seen by coopd's ev_child watcher, a bound on its run time, and a
 * callback with the whole output once it has exited and both pipes are at
 * EOF.  The command runs with coopd's own environment (SLURM_CONF and the
 * other SLURM_* variables apply) and, when asked, as a graph's owner (its
 * uid, gid and supplementary groups: job-spawn.h).  Loop thread only.
 */
#ifndef COOPD_JOB_SLURM_CMD_H
#define COOPD_JOB_SLURM_CMD_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct coopd;

enum slurm_cmd_kind {
	SLURM_CMD_SBATCH,
	SLURM_CMD_SQUEUE,
	SLURM_CMD_SCONTROL,
	SLURM_CMD_SCANCEL,
	SLURM_CMD__MAX
};

#define SLURM_CMD_OUT_MAX (64u * 1024 * 1024) /* stdout kept (squeue --json of many jobs) */
#define SLURM_CMD_ERR_MAX (64u * 1024)        /* stderr kept (a message) */
#define SLURM_CMD_TIMEOUT_S 120.0             /* a command still running is killed */

struct slurm_cmd_result {
	int wstatus;     /* wait status; meaningless when start_error or timed_out */
	int start_error; /* negative errno: the command could not be started */
	bool timed_out;  /* killed after SLURM_CMD_TIMEOUT_S */
	bool truncated;  /* stdout was longer than SLURM_CMD_OUT_MAX */
	char *out, *err; /* NUL-terminated (possibly empty), freed after the callback */
	size_t out_len, err_len;
	double seconds;
};

/* Who the command runs as: NULL for coopd itself. */
struct slurm_as {
	const struct passwd *pw;
	const gid_t *groups;
	int ngroups;
};

typedef void (*slurm_cmd_done_fn)(struct coopd *d, const struct slurm_cmd_result *r, void *arg);

struct slurm_cmds;

int slurm_cmds_new(struct coopd *d, struct slurm_cmds **ret);
/* Kills (SIGKILL to its group) every command still running; their
 * callbacks are not called. */
void slurm_cmds_free(struct slurm_cmds *c);

/* The program of kind: "slurm_bin_dir/NAME", or NAME found in PATH. */
const char *slurm_cmd_name(enum slurm_cmd_kind k);

/* Starts `PROGRAM args...` (args NULL-ended, without the program) in cwd.
 * done is always called later, on the loop, also when the start failed
 * (start_error).  Returns 0, or -ENOMEM (done is then not called). */
int slurm_cmd_run(struct slurm_cmds *c, enum slurm_cmd_kind k, char *const *args,
		  const struct slurm_as *as, const char *cwd, slurm_cmd_done_fn done, void *arg);

/* coopd's ev_child watcher: true if pid was one of these commands. */
bool slurm_cmd_reaped(struct slurm_cmds *c, pid_t pid, int wstatus);

/* Commands running now. */
size_t slurm_cmds_running(const struct slurm_cmds *c);

/* Whether a finished command succeeded (exit 0, not timed out). */
bool slurm_cmd_ok(const struct slurm_cmd_result *r);

/* A one-line description of a failure for an error message: Slurm's own
 * stderr (its last non-empty line), else how the command ended. */
void slurm_cmd_describe(const struct slurm_cmd_result *r, char *buf, size_t size);

/* Metrics: commands run, failed, and the histogram of their durations. */
#define SLURM_CMD_BUCKETS 10
extern const double slurm_cmd_bucket_le[SLURM_CMD_BUCKETS];
struct slurm_cmd_stats {
	uint64_t runs, failures;
	uint64_t buckets[SLURM_CMD_BUCKETS]; /* cumulative counts, Prometheus style */
	double sum_seconds;
};
const struct slurm_cmd_stats *slurm_cmd_stats(const struct slurm_cmds *c, enum slurm_cmd_kind k);

#endif
