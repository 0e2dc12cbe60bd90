/*
 * job-spawn.c - vfork + exec of an exec job's process
 * (job-spawn.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job-cgroup.h"
#include "job-spawn-guard.h"
#include "job-spawn.h"

/*
 * In the child, before exec, for both spawns: its own process group, the
 * job's cgroup (joined while still privileged enough to), stdin from
 * /dev/null, stdout and stderr to the job's pipes.  Async-signal-safe only
 * (the vfork child shares coopd's memory).  -1 with errno on failure.
 */
static int child_enter_job(const struct spawn_req *q)
{
	int e, dn;

	if (setpgid(0, 0) < 0)
		return -1;
	if (q->cg_name && (e = cgroup_child_join(q->cg_dfd, q->cg_name)) < 0) {
		errno = -e;
		return -1;
	}
	/* CPU time: SIGXCPU at the limit, SIGKILL a second later for a job
	 * that ignores it (job-exec.c reports either as the limit). */
	if (q->nofile > 0) {
		struct rlimit rl = {(rlim_t)q->nofile, (rlim_t)q->nofile};

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -1;
	}
	if (q->cpu_seconds > 0) {
		struct rlimit rl = {(rlim_t)q->cpu_seconds, (rlim_t)q->cpu_seconds + 1};

		if (setrlimit(RLIMIT_CPU, &rl) < 0)
			return -1;
	}
	dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (dn < 0 || dup2(dn, 0) < 0 || dup2(q->out_w, 1) < 0 || dup2(q->err_w, 2) < 0)
		return -1;
	/* dup2 clears close-on-exec, except when an fd is its own copy
	 * (coopd started with 0, 1 or 2 closed). */
	if (dn == 0 || q->out_w == 1 || q->err_w == 2)
		for (int fd = 0; fd < 3; fd++)
			(void)fcntl(fd, F_SETFD, 0);
	return 0;
}

/*
 * execve of argv[0] as found in the job's PATH, in the child, after its
 * chdir: so relative entries ("." or empty included) are the job's cwd,
 * and each try is made with the owner's credentials.  As execvp: an entry
 * that cannot hold the program (ENOENT, ENOTDIR, EACCES...) is skipped;
 * ends with EACCES if any try was refused, else ENOENT.  Async-signal-safe
 * (no allocation).  Returns only on failure, errno set.
 */
static void child_exec_search(const struct spawn_req *q)
{
	const char *name = q->argv[0], *p = q->path ? q->path : "";
	size_t nlen = strlen(name);
	bool refused = false;
	char buf[4096];

	if (strchr(name, '/')) {
		execve(name, q->argv, q->envp);
		return;
	}
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);

		if (len + nlen + 2 <= sizeof(buf)) {
			if (len == 0) {
				buf[0] = '.';
				len = 1;
			} else {
				memcpy(buf, p, len);
			}
			buf[len] = '/';
			memcpy(buf + len + 1, name, nlen + 1);
			execve(buf, q->argv, q->envp);
			if (errno == EACCES)
				refused = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP &&
				 errno != ENAMETOOLONG && errno != ESTALE && errno != ENODEV &&
				 errno != ETIMEDOUT)
				return;
		}
		if (!colon)
			break;
		p = colon + 1;
	}
	errno = refused ? EACCES : ENOENT;
}

/*
 * The owner's groups, gid and uid for the child, by raw system calls:
 * glibc's setuid() and friends change every thread of the process (they
 * signal each one, from a list in memory the vfork child shares with
 * coopd), which in a vfork child would reach coopd's own threads.  The
 * kernel's calls change only the caller, the child.  Then a setuid(0)
 * that must fail: the job never keeps more privilege than its owner.
 */
#ifdef SYS_setuid32 /* 32-bit ABIs: the calls with 32-bit ids */
#define SPAWN_SYS_SETGROUPS SYS_setgroups32
#define SPAWN_SYS_SETGID SYS_setgid32
#define SPAWN_SYS_SETUID SYS_setuid32
#else
#define SPAWN_SYS_SETGROUPS SYS_setgroups
#define SPAWN_SYS_SETGID SYS_setgid
#define SPAWN_SYS_SETUID SYS_setuid
#endif
static int child_become_owner(const struct spawn_req *q)
{
	if (syscall(SPAWN_SYS_SETGROUPS, (size_t)q->ngroups, q->groups) < 0 ||
	    syscall(SPAWN_SYS_SETGID, q->pw->pw_gid) < 0 ||
	    syscall(SPAWN_SYS_SETUID, q->pw->pw_uid) < 0)
		return -1;
	if (syscall(SPAWN_SYS_SETUID, 0) == 0) { /* must be impossible now */
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * vfork + exec (what posix_spawn does inside), because posix_spawn (glibc
 * 2.36) can neither change users nor put the child into a cgroup, and
 * joining from the parent after the spawn would leave a window in which
 * the job runs (and forks) outside it; it also resets only the signals
 * coopd changed, where POSIX_SPAWN_SETSIGDEF costs two system calls per
 * signal, and makes no file actions (glibc's posix_spawn_file_actions_add*
 * ask for the fd limit at each call).  Not fork: a fork copies coopd's
 * page tables, which for a daemon holding big graphs costs milliseconds
 * of the loop per job.  The child shares our memory until it executes,
 * so it calls only async-signal-safe functions and raw system calls, runs
 * with every signal blocked until the handlers it shares with coopd are
 * back to SIG_DFL, and reports a failure (the step and errno) on a
 * CLOEXEC pipe, which also works where a vfork is a fork (valgrind): EOF
 * there means exec succeeded.  For a job run as another user the
 * owner's credentials are taken before the cwd and the exec, so both are
 * tried with the owner's rights, never coopd's; from then on the owner
 * can stop the child, and with it this thread: the spawn guard
 * (job-spawn-guard.h) kills a child stopped before its exec.
 */
static int spawn_vfork(const struct spawn_req *q, pid_t *ret_pid, enum spawn_step *ret_step)
{
	int rep[2], e = 0;
	sigset_t all, old;
	struct spawn_guard guard;
	bool guarded;
	ssize_t r;
	pid_t pid;

	if (pipe2(rep, O_CLOEXEC) < 0)
		return -errno;
	guarded = q->pw && spawn_guard_begin(&guard);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0) {
		int msg[2] = {SPAWN_STEP_SETUP, 0};
		struct sigaction dfl;
		sigset_t none;

		if (guarded)
			spawn_guard_child(&guard);
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int i = 0; i < q->n_reset_sigs; i++)
			(void)sigaction(q->reset_sigs[i], &dfl, NULL);
		if (child_enter_job(q) < 0)
			goto child_fail;
		if (q->pw && child_become_owner(q) < 0)
			goto child_fail;
		msg[0] = SPAWN_STEP_CWD;
		if (chdir(q->cwd) < 0 && (!q->cwd_fallback || chdir(q->cwd_fallback) < 0))
			goto child_fail;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		msg[0] = SPAWN_STEP_EXEC;
		if (q->cmd)
			execve(q->cmd, q->argv, q->envp);
		else
			child_exec_search(q);
	child_fail:
		msg[1] = errno ? errno : EIO;
		(void)!write(rep[1], msg, sizeof(msg));
		_exit(127);
	}
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(rep[1]);
	if (pid < 0) {
		if (guarded)
			(void)spawn_guard_end(&guard);
		close(rep[0]);
		return -e;
	}
	/* Also makes the group before anyone can signal it (the child does
	 * the same; whichever runs first wins, both are fine). */
	(void)setpgid(pid, pid);
	{
		int msg[2];

		do
			r = read(rep[0], msg, sizeof(msg));
		while (r < 0 && errno == EINTR);
		close(rep[0]);
		/* (Where vfork is a fork, the read above is what waits.) */
		if (guarded && spawn_guard_end(&guard)) {
			int st;

			(void)waitpid(pid, &st, 0);
			*ret_step = SPAWN_STEP_STOPPED;
			return -EINTR;
		}
		if (r == (ssize_t)sizeof(msg)) {
			int st;

			(void)waitpid(pid, &st, 0);
			*ret_step = (enum spawn_step)msg[0];
			return -(msg[1] ? msg[1] : EIO);
		}
	}
	*ret_pid = pid;
	return 0;
}

int spawn_job(const struct spawn_req *req, pid_t *ret_pid, enum spawn_step *ret_step)
{
	*ret_step = SPAWN_STEP_SETUP;
	return spawn_vfork(req, ret_pid, ret_step);
}

static int rlimit_above(int res, int64_t want, const char *key, const char *unit, char *why,
			size_t size)
{
	struct rlimit rl;

	if (want <= 0 || getrlimit(res, &rl) < 0 || rl.rlim_max == RLIM_INFINITY ||
	    (rlim_t)want <= rl.rlim_max)
		return 0;
	snprintf(why, size, "%s %lld is above coopd's own hard limit of %llu %s", key,
		 (long long)want, (unsigned long long)rl.rlim_max, unit);
	return -EPERM;
}

int spawn_rlimits_check(const struct spawn_req *req, char *why, size_t size)
{
	/* RLIMIT_CPU's hard limit is set one second above the soft one. */
	int r = rlimit_above(RLIMIT_NOFILE, req->nofile, "nofile", "open files", why, size);

	if (r == 0)
		r = rlimit_above(RLIMIT_CPU, req->cpu_seconds > 0 ? req->cpu_seconds + 1 : 0,
				 "cpu_seconds (+1 s)", "seconds", why, size);
	return r;
}

int spawn_reset_sigs(int *sigs)
{
	int n = 0;

	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL)
			continue;
		sigs[n++] = sig;
	}
	return n;
}
