/*
 * job-spawn.h - starting one exec job's process: its own process group
 * (and cgroup), stdin from /dev/null, stdout/stderr on the given pipes,
 * the prepared environment, signals back to their defaults.
 *
 * A vfork + exec, never a fork (no copy of coopd's page tables per job).
 * As another user (coopd is root, the graph's owner is not) the child
 * drops to the owner's groups, gid and uid before exec, and only then
 * enters the job's cwd and
 * looks its program up in PATH: with the owner's credentials, so that an
 * error tells the owner nothing it could not find out itself
 * (docs/security.md, "Checks made as the job's owner").  Everything the child needs is
 * prepared by the caller: the child only makes async-signal-safe calls.
 */
#ifndef COOPD_JOB_SPAWN_H
#define COOPD_JOB_SPAWN_H

#include <pwd.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

struct spawn_req {
	/* The program: cmd if set (resolved by the caller), else argv[0] as
	 * the child finds it in path (the job's PATH) after its chdir, with
	 * the job owner's credentials when pw is set. */
	const char *cmd;
	const char *path;
	const char *cwd;
	const char *cwd_fallback; /* chdir here if cwd is refused (NULL: fail) */
	char **argv, **envp;
	int out_w, err_w;    /* write ends of the stdout/stderr pipes */
	int cg_dfd;          /* cgroup instance directory, -1 none */
	const char *cg_name; /* job cgroup below cg_dfd, NULL none */
	/* Run as this account; NULL: as coopd. */
	const struct passwd *pw;
	const gid_t *groups; /* pw's supplementary groups */
	int ngroups;
	/* Signals that are not SIG_DFL in coopd (the child resets them;
	 * spawn_reset_sigs()). */
	const int *reset_sigs;
	int n_reset_sigs;
	/* rlimits from the node's `limits` (coopd.graph(5)): nofile and
	 * cpu_seconds, set in the child before exec; 0: not set. */
	int64_t nofile;
	int64_t cpu_seconds;
};

/* Which step of the child failed (for the job's error message); STOPPED:
 * the child was stopped before its exec and killed (job-spawn-guard.h),
 * with -EINTR. */
enum spawn_step { SPAWN_STEP_SETUP, SPAWN_STEP_CWD, SPAWN_STEP_EXEC, SPAWN_STEP_STOPPED };

/* Starts the process; *ret_pid is the leader (== its pgid).  0, or a
 * negative errno: of vfork, or of the child's setup, chdir or exec,
 * with *ret_step saying which. */
int spawn_job(const struct spawn_req *req, pid_t *ret_pid, enum spawn_step *ret_step);

/* Whether the job's rlimits (nofile, cpu_seconds) only lower coopd's own:
 * a limit never raises one.  The root child could raise a hard limit
 * (CAP_SYS_RESOURCE) past what the operator gave coopd (systemd's
 * LimitNOFILE=...), which the job then inherits; a non-root child's
 * setrlimit would fail with EPERM and no reason.  0, or -EPERM with the
 * reason in why. */
int spawn_rlimits_check(const struct spawn_req *req, char *why, size_t size);

/* The signals whose disposition is not SIG_DFL (handled or ignored) into
 * sigs (NSIG entries); returns how many. */
int spawn_reset_sigs(int *sigs);

#endif
