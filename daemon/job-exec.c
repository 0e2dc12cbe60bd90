/*
 * job-exec.c - exec jobs: spawning, output capture, reaping, group kill.
 *
 * Life of a job, all reactor-side steps on the loop thread:
 *   1. the exec task's first poll registers its waker in job->cell and
 *      posts MAIL_EXEC_SPAWN;
 *   2. exec_job_mail() spawns the process (posix_spawn, own process group,
 *      minimal environment, stdin /dev/null, stdout/stderr pipes) and marks
 *      the node running;
 *   3. the pipes are read into the log files as data arrives;
 *   4. the ev_child watcher reaps the leader (exec_child_reaped());
 *   5. kill(-pgid, 0) is polled on a timer until it fails with ESRCH: only
 *      then is the job over.  The pipes are drained and closed, the result
 *      published (job->done, release) and the task woken;
 *   6. the task returns READY/FAILED/CANCELLED and the joiner reports it.
 * Cancellation: the task sees coop_cx_cancelled and posts MAIL_EXEC_KILL;
 * the reactor sends SIGTERM to the group and SIGKILL after the grace time.
 *
 * Because a pid alone can be reused, nothing here signals a group whose
 * leader we have not spawned; after the leader is reaped its pgid stays
 * reserved by the kernel while any member of the group lives.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/linkhash.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "job-exec.h"
#include "reactor-inbox.h"
#include "store-state.h"
#include "util-log.h"

extern char **environ;

#define GONE_POLL_S 0.01 /* kill(-pgid, 0) polling period */

struct exec_job {
	struct coopd *d;
	struct rnode *n;
	pid_t pid;                 /* leader == pgid; 0 before spawn */
	int pipes[2];              /* read ends of stdout/stderr, -1 closed */
	ev_io io[2];
	int log_fd[2];
	uint64_t log_len[2];
	uint64_t dropped[2];
	ev_timer grace_timer;
	ev_timer gone_timer;
	bool grace_active, gone_active;
	bool spawned, reaped, term_sent, kill_sent;
	bool in_table;
	int wstatus;

	/* Result, written before `done` is released. */
	int exit_code;
	int term_signal;
	char *error;
	bool never_started;        /* cancelled before the spawn */

	/* Task side (only the task's poll touches these). */
	bool spawn_posted, kill_posted;

	coop_waker_cell cell;
	_Atomic bool done;
};

struct exec_task {
	struct rnode *n;
	struct exec_job *job;
	struct reactor_inbox *ib;
};

static coop_poll exec_finish(coop_cx *cx, struct exec_job *job)
{
	coop_cx_set_value(cx, job->exit_code >= 0 ? job->exit_code : 128 + job->term_signal);
	if (job->never_started)
		return COOP_CANCELLED;
	if (job->error)
		return COOP_FAILED;
	if (job->exit_code == 0)
		return COOP_READY;
	/* We asked it to stop and it stopped (by our signal or by exiting
	 * non-zero on its own terms): cancelled.  Exit 0 despite a request
	 * is reported as completed, above. */
	if (job->term_sent || job->kill_sent)
		return COOP_CANCELLED;
	return COOP_FAILED;
}

static coop_poll exec_poll(coop_cx *cx, void *arg)
{
	struct exec_task *st = arg;
	struct exec_job *job = st->job;

	if (!job->spawn_posted) {
		if (coop_cx_cancelled(cx))
			return COOP_CANCELLED;
		job->spawn_posted = true;
		coop_waker_cell_register(&job->cell, cx);
		inbox_post_exec(st->ib, st->n, MAIL_EXEC_SPAWN, COOP_REASON_NONE);
	}
	if (atomic_load_explicit(&job->done, memory_order_acquire))
		return exec_finish(cx, job);
	if (coop_cx_cancelled(cx) && !job->kill_posted) {
		job->kill_posted = true;
		inbox_post_exec(st->ib, st->n, MAIL_EXEC_KILL, coop_cx_cancel_reason(cx));
	}
	coop_waker_cell_register(&job->cell, cx);
	/* Re-check after registering: a completion between the first check
	 * and the registration woke the old waker (or none). */
	if (atomic_load_explicit(&job->done, memory_order_acquire))
		return exec_finish(cx, job);
	return COOP_PENDING;
}

int exec_spawn_task(struct coopd *d, struct rnode *n, coop_scope *scope,
		    const coop_spawn_opts *opts, coop_handle **ret_handle)
{
	struct exec_job *job = calloc(1, sizeof(*job));
	struct exec_task st;
	int r;

	if (!job)
		return -ENOMEM;
	job->d = d;
	job->n = n;
	job->pipes[0] = job->pipes[1] = -1;
	job->log_fd[0] = job->log_fd[1] = -1;
	job->exit_code = -1;
	job->cell = (coop_waker_cell)COOP_WAKER_CELL_INIT;
	atomic_init(&job->done, false);
	n->job = job;
	st = (struct exec_task){.n = n, .job = job, .ib = d->inbox};
	r = coop_spawn(scope, exec_poll, &st, sizeof(st), NULL, opts, ret_handle);
	if (r < 0) {
		n->job = NULL;
		free(job);
	}
	return r;
}

int exec_log_path(struct coopd *d, const char *gid, uint32_t idx, int stream, char *buf,
		  size_t size)
{
	int n = snprintf(buf, size, "%s/graphs/%s/%u.%s", store_dir(d->store), gid, idx,
			 stream ? "err" : "out");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void job_close_stream(struct exec_job *job, int s)
{
	if (job->pipes[s] >= 0) {
		ev_io_stop(job->d->loop, &job->io[s]);
		close(job->pipes[s]);
		job->pipes[s] = -1;
	}
}

/* Copies what the pipe has into the log; returns false at EOF or error. */
static bool job_read_stream(struct exec_job *job, int s)
{
	char buf[65536];
	size_t cap = job->d->cfg.log_cap;

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t r = read(job->pipes[s], buf, sizeof(buf));
		size_t keep;

		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		if (r == 0)
			return false;
		keep = job->log_len[s] < cap ? cap - job->log_len[s] : 0;
		if (keep > (size_t)r)
			keep = (size_t)r;
		if (keep > 0 && job->log_fd[s] >= 0) {
			ssize_t w = write(job->log_fd[s], buf, keep);

			if (w < 0) {
				log_errno(LOG_WARNING, -errno, "graph %s node %s: writing log",
					  job->n->g->id, job->n->def->path);
				close(job->log_fd[s]);
				job->log_fd[s] = -1;
			} else {
				job->log_len[s] += (uint64_t)w;
			}
		}
		job->dropped[s] += (uint64_t)r - keep;
	}
	return true;
}

static void job_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct exec_job *job = w->data;
	int s = w == &job->io[0] ? 0 : 1;

	if (!job_read_stream(job, s))
		job_close_stream(job, s);
}

/* Publishes the result and wakes the task. */
static void job_complete(struct exec_job *job)
{
	struct ev_loop *loop = job->d->loop;
	int s;

	if (job->grace_active) {
		ev_timer_stop(loop, &job->grace_timer);
		job->grace_active = false;
	}
	if (job->gone_active) {
		ev_timer_stop(loop, &job->gone_timer);
		job->gone_active = false;
	}
	for (s = 0; s < 2; s++) {
		if (job->pipes[s] >= 0)
			(void)job_read_stream(job, s);
		job_close_stream(job, s);
		if (job->log_fd[s] >= 0) {
			close(job->log_fd[s]);
			job->log_fd[s] = -1;
		}
	}
	if (job->reaped) {
		if (WIFEXITED(job->wstatus))
			job->exit_code = WEXITSTATUS(job->wstatus);
		else if (WIFSIGNALED(job->wstatus))
			job->term_signal = WTERMSIG(job->wstatus);
	}
	job->n->log_dropped[0] = job->dropped[0];
	job->n->log_dropped[1] = job->dropped[1];
	graph_run_exec_result(job->d, job->n, job->exit_code, job->term_signal, job->error);
	atomic_store_explicit(&job->done, true, memory_order_release);
	coop_waker_cell_wake(&job->cell);
}

/* Whether any process is left in the job's group. */
static bool job_group_alive(struct exec_job *job)
{
	return kill(-job->pid, 0) == 0 || errno != ESRCH;
}

static void job_gone_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_job *job = w->data;

	if (!job_group_alive(job)) {
		job_complete(job);
	}
}

static void job_check_gone(struct exec_job *job)
{
	if (!job_group_alive(job)) {
		job_complete(job);
		return;
	}
	if (!job->gone_active) {
		ev_timer_init(&job->gone_timer, job_gone_cb, GONE_POLL_S, GONE_POLL_S);
		job->gone_timer.data = job;
		ev_timer_start(job->d->loop, &job->gone_timer);
		job->gone_active = true;
	}
}

static void job_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_job *job = w->data;

	ev_timer_stop(loop, w);
	job->grace_active = false;
	if (atomic_load_explicit(&job->done, memory_order_relaxed))
		return;
	log_debug("graph %s node %s: grace over, SIGKILL to group %d", job->n->g->id,
		  job->n->def->path, (int)job->pid);
	(void)kill(-job->pid, SIGKILL);
	job->kill_sent = true;
}

static void job_kill(struct exec_job *job)
{
	const struct rnode *n = job->n;
	int64_t grace = n->grace_override_ms >= 0 ? n->grace_override_ms : n->def->grace_ms;

	if (job->term_sent || atomic_load_explicit(&job->done, memory_order_relaxed))
		return;
	job->term_sent = true;
	if (kill(-job->pid, SIGTERM) < 0 && errno != ESRCH)
		log_errno(LOG_WARNING, -errno, "kill(-%d, SIGTERM)", (int)job->pid);
	if (grace <= 0) {
		(void)kill(-job->pid, SIGKILL);
		job->kill_sent = true;
		return;
	}
	ev_timer_init(&job->grace_timer, job_grace_cb, (double)grace / 1000., 0.);
	job->grace_timer.data = job;
	ev_timer_start(job->d->loop, &job->grace_timer);
	job->grace_active = true;
}

/* Looks argv0 up in the PATH of the job's environment (relative names with
 * a '/' are taken from the job's cwd).  Checking here, rather than relying
 * on posix_spawn's report of a failed exec, gives one clear error in every
 * environment (valgrind's posix_spawn cannot report it). */
static int resolve_cmd(const char *argv0, const char *path, const char *cwd, char *buf,
		       size_t size)
{
	const char *p = path, *colon;
	struct stat st;

	if (strchr(argv0, '/')) {
		int n = argv0[0] == '/' ? snprintf(buf, size, "%s", argv0)
					: snprintf(buf, size, "%s/%s", cwd, argv0);

		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		if (stat(buf, &st) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (access(buf, X_OK) < 0)
			return -errno;
		return 0;
	}
	while (p && *p) {
		size_t len;

		colon = strchr(p, ':');
		len = colon ? (size_t)(colon - p) : strlen(p);
		if (len > 0 && snprintf(buf, size, "%.*s/%s", (int)len, p, argv0) < (int)size &&
		    stat(buf, &st) == 0 && !S_ISDIR(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
		p = colon ? colon + 1 : NULL;
	}
	return -ENOENT;
}

/* env entry "KEY=..." index in envp with the same key as kv, or -1. */
static int env_find(char **envp, size_t n, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], kv, klen) == 0 && envp[i][klen] == '=')
			return (int)i;
	return -1;
}

static char *xasprintf(const char *fmt, const char *a)
{
	size_t n = strlen(fmt) + strlen(a) + 1;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, fmt, a);
	return p;
}

/* Builds the minimal environment plus the node's env.  Strings that we
 * allocated are listed in owned[] to be freed after the spawn. */
static int build_env(const struct rnode *n, const struct passwd *pw, char ***ret_envp,
		     char **owned, size_t *n_owned, const char **ret_path)
{
	const struct proto_node *def = n->def;
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	char **envp = calloc(8 + def->n_env + 1, sizeof(char *));
	size_t ne = 0, no = 0;

	if (!envp)
		return -ENOMEM;
	owned[no++] = envp[ne++] = xasprintf("PATH=%s", path);
	owned[no++] = envp[ne++] = xasprintf("HOME=%s", pw && pw->pw_dir ? pw->pw_dir : "/");
	if (pw && pw->pw_name) {
		owned[no++] = envp[ne++] = xasprintf("USER=%s", pw->pw_name);
		owned[no++] = envp[ne++] = xasprintf("LOGNAME=%s", pw->pw_name);
	}
	owned[no++] = envp[ne++] = xasprintf("LANG=%s", "C.UTF-8");
	*n_owned = no;
	for (size_t i = 0; i < no; i++)
		if (!owned[i]) {
			free(envp);
			return -ENOMEM;
		}
	for (size_t i = 0; i < def->n_env; i++) {
		int at = env_find(envp, ne, def->env[i]);

		if (at >= 0)
			envp[at] = def->env[i];
		else
			envp[ne++] = def->env[i];
	}
	envp[ne] = NULL;
	*ret_path = path;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			*ret_path = envp[i] + 5;
	*ret_envp = envp;
	return 0;
}

static void job_fail(struct exec_job *job, const char *what, int err)
{
	size_t len = strlen(what) + 128;

	free(job->error);
	job->error = malloc(len);
	if (job->error)
		snprintf(job->error, len, "%s: %s", what, strerror(err < 0 ? -err : err));
	job->d->counters.exec_spawn_failures++;
}

/*
 * fork + exec for a job that must run as another user (coopd is root, the
 * graph's owner is not): groups, gid, then uid are set in the child before
 * exec, so the job never has more privilege than its owner.  posix_spawn
 * cannot change users.  Everything the child needs is prepared before the
 * fork; the child calls only async-signal-safe functions and reports a
 * failure as an errno on a CLOEXEC pipe (EOF there means exec succeeded).
 */
static int spawn_as_user(pid_t *ret_pid, const char *cmd, const char *cwd, char **argv,
			 char **envp, int out_w, int err_w, const struct passwd *pw)
{
	gid_t groups[256];
	int ngroups = 256, rep[2], e = 0, dn;
	sigset_t none;
	ssize_t r;
	pid_t pid;

	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		return E2BIG;
	if (pipe2(rep, O_CLOEXEC) < 0)
		return errno;
	sigemptyset(&none);
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(rep[0]);
		close(rep[1]);
		return e;
	}
	if (pid == 0) {
		for (int sig = 1; sig < NSIG; sig++)
			(void)signal(sig, SIG_DFL);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		if (setpgid(0, 0) < 0)
			goto child_fail;
		/* O_CLOEXEC everywhere: dup2 clears it on 0, 1 and 2 only. */
		dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (dn < 0 || dup2(dn, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
			goto child_fail;
		for (int fd = 0; fd < 3; fd++)
			(void)fcntl(fd, F_SETFD, 0);
		if (setgroups((size_t)ngroups, groups) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0)
			goto child_fail;
		if (setuid(0) == 0) { /* must be impossible now */
			errno = EPERM;
			goto child_fail;
		}
		if (chdir(cwd) < 0)
			goto child_fail;
		execve(cmd, argv, envp);
child_fail:
		e = errno;
		(void)!write(rep[1], &e, sizeof(e));
		_exit(127);
	}
	close(rep[1]);
	/* Also makes the group before anyone can signal it (the child does
	 * the same; whichever runs first wins, both are fine). */
	(void)setpgid(pid, pid);
	do
		r = read(rep[0], &e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close(rep[0]);
	if (r == (ssize_t)sizeof(e)) {
		int st;

		(void)waitpid(pid, &st, 0);
		return e;
	}
	*ret_pid = pid;
	return 0;
}

/* Spawns the process; on failure the job completes at once with an error. */
static void job_start(struct exec_job *job)
{
	struct coopd *d = job->d;
	struct rnode *n = job->n;
	const struct proto_node *def = n->def;
	char pbuf[4096], logpath[4096], cmd[4096];
	struct passwd pwbuf, *pw = NULL;
	char *owned[8] = {NULL};
	size_t n_owned = 0;
	char **envp = NULL;
	const char *path, *cwd;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid;
	int r, s;
	bool fa_init = false, attr_init = false;

	(void)getpwuid_r(n->g->uid, &pwbuf, pbuf, sizeof(pbuf), &pw);
	r = build_env(n, pw, &envp, owned, &n_owned, &path);
	if (r < 0) {
		job_fail(job, "environment", r);
		goto done;
	}
	cwd = def->cwd ? def->cwd : (pw && pw->pw_dir && access(pw->pw_dir, X_OK) == 0 ? pw->pw_dir : "/");
	{
		struct stat st;

		if (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode)) {
			char what[4200];

			snprintf(what, sizeof(what), "cwd %s", cwd);
			job_fail(job, what, stat(cwd, &st) < 0 ? -errno : -ENOTDIR);
			goto done;
		}
	}
	r = resolve_cmd(def->argv[0], path, cwd, cmd, sizeof(cmd));
	if (r < 0) {
		job_fail(job, def->argv[0], r);
		goto done;
	}
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
		job_fail(job, "pipe", -errno);
		goto done;
	}
	/* The child's ends must block: clear O_NONBLOCK on the write ends. */
	(void)fcntl(out[1], F_SETFL, 0);
	(void)fcntl(err[1], F_SETFL, 0);
	for (s = 0; s < 2; s++) {
		if (exec_log_path(d, n->g->id, n->idx, s, logpath, sizeof(logpath)) == 0)
			job->log_fd[s] = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (job->log_fd[s] < 0)
			log_errno(LOG_WARNING, -errno, "graph %s node %s: cannot open log %s",
				  n->g->id, def->path, logpath);
	}

	r = posix_spawn_file_actions_init(&fa);
	if (r) {
		job_fail(job, "spawn", r);
		goto done;
	}
	fa_init = true;
	r = posix_spawnattr_init(&attr);
	if (r) {
		job_fail(job, "spawn", r);
		goto done;
	}
	attr_init = true;
	sigemptyset(&none);
	sigfillset(&all);
	if ((r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (r = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) ||
	    (r = posix_spawn_file_actions_adddup2(&fa, err[1], 2)) ||
	    (r = posix_spawn_file_actions_addchdir_np(&fa, cwd)) ||
	    (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
							  POSIX_SPAWN_SETSIGDEF)) ||
	    (r = posix_spawnattr_setpgroup(&attr, 0)) ||
	    (r = posix_spawnattr_setsigmask(&attr, &none)) ||
	    (r = posix_spawnattr_setsigdefault(&attr, &all))) {
		job_fail(job, "spawn", r);
		goto done;
	}
	if (geteuid() == 0 && n->g->uid != 0) {
		if (!pw) {
			job_fail(job, "no passwd entry for the graph's owner", ENOENT);
			goto done;
		}
		r = spawn_as_user(&pid, cmd, cwd, def->argv, envp, out[1], err[1], pw);
	} else {
		r = posix_spawn(&pid, cmd, &fa, &attr, def->argv, envp);
	}
	if (r) {
		char what[4200];

		snprintf(what, sizeof(what), "exec %s (cwd %s)", def->argv[0], cwd);
		job_fail(job, what, r);
		goto done;
	}
	job->pid = pid;
	job->spawned = true;
	n->pgid = pid;
	n->pg_start = exec_proc_starttime(pid);
	if (lh_table_insert(d->exec_pids, (void *)(intptr_t)pid, job) == 0)
		job->in_table = true;
	for (s = 0; s < 2; s++) {
		job->pipes[s] = s ? err[0] : out[0];
		ev_io_init(&job->io[s], job_io_cb, job->pipes[s], EV_READ);
		job->io[s].data = job;
		ev_io_start(d->loop, &job->io[s]);
	}
	out[0] = err[0] = -1;
	log_debug("graph %s node %s: started pid %d", n->g->id, def->path, (int)pid);
done:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	for (s = 0; s < 2; s++) {
		if (out[s] >= 0)
			close(out[s]);
		if (err[s] >= 0)
			close(err[s]);
	}
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(envp);
	graph_run_node_running(d, n, graph_now_ms());
	if (!job->spawned)
		job_complete(job);
}

void exec_job_mail(struct coopd *d, struct rnode *n, unsigned bits, int reason)
{
	struct exec_job *job = n->job;

	if (!job)
		return;
	if ((bits & MAIL_EXEC_SPAWN) && !job->spawned &&
	    !atomic_load_explicit(&job->done, memory_order_relaxed)) {
		if (bits & MAIL_EXEC_KILL) {
			/* Cancelled before the reactor got to start it. */
			job->never_started = true;
			atomic_store_explicit(&job->done, true, memory_order_release);
			coop_waker_cell_wake(&job->cell);
			return;
		}
		job_start(job);
	}
	if ((bits & MAIL_EXEC_KILL) && job->spawned) {
		graph_run_node_cancelling(d, n, reason);
		job_kill(job);
	}
}

void exec_child_reaped(struct coopd *d, pid_t pid, int wstatus)
{
	struct exec_job *job = NULL;

	if (!lh_table_lookup_ex(d->exec_pids, (void *)(intptr_t)pid, (void **)&job) || !job) {
		/* An adopted descendant (we are a child subreaper). */
		d->counters.orphans_reaped++;
		return;
	}
	lh_table_delete(d->exec_pids, (void *)(intptr_t)pid);
	job->in_table = false;
	job->reaped = true;
	job->wstatus = wstatus;
	job_check_gone(job);
}

void exec_kill_all(struct coopd *d)
{
	struct lh_entry *e;

	lh_foreach(d->exec_pids, e) {
		const struct exec_job *job = lh_entry_v(e);

		(void)kill(-job->pid, SIGKILL);
	}
}

/* Reads pgrp (field 5) and starttime (field 22) of /proc/PID/stat. */
static int proc_stat(pid_t pid, int *ret_pgrp, uint64_t *ret_start)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	int pgrp = 0, fd, field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command name may hold spaces and ')': skip to the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	for (field = 3; field <= 22 && p && *p; field++) {
		while (*p == ' ')
			p++;
		if (field == 5)
			pgrp = atoi(p);
		if (field == 22)
			start = strtoull(p, NULL, 10);
		p = strchr(p, ' ');
	}
	*ret_pgrp = pgrp;
	*ret_start = start;
	return 0;
}

uint64_t exec_proc_starttime(pid_t pid)
{
	int pgrp;
	uint64_t start;

	return proc_stat(pid, &pgrp, &start) == 0 ? start : 0;
}

int exec_kill_leftover_group(int pgid, uint64_t pg_start)
{
	DIR *dir;
	struct dirent *de;
	int killed = 0;
	struct pollfd pfds[256];
	nfds_t npfd = 0;

	if (pgid <= 1 || pg_start == 0)
		return 0;
	dir = opendir("/proc");
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		int pid = atoi(de->d_name), pgrp;
		uint64_t start;

		if (pid <= 1 || proc_stat(pid, &pgrp, &start) < 0)
			continue;
		/* A member of that group started after its leader: ours.  A
		 * group id reused by someone else would have a younger
		 * leader, whose start time we compare too. */
		if (pgrp != pgid || start < pg_start)
			continue;
		if (pid == pgid && start != pg_start)
			continue;
		/* A pidfd (taken before the kill, so it names this process)
		 * tells when it has really exited. */
		if (npfd < sizeof(pfds) / sizeof(pfds[0])) {
			int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

			if (pfd >= 0) {
				pfds[npfd].fd = pfd;
				pfds[npfd].events = POLLIN;
				npfd++;
			}
		}
		if (kill(pid, SIGKILL) == 0)
			killed++;
	}
	closedir(dir);
	/* Start-up only (no loop yet): wait, bounded, until they are gone,
	 * so that "interrupted" also means "no process left". */
	for (nfds_t i = 0; i < npfd; i++) {
		int r;

		do
			r = poll(&pfds[i], 1, 5000);
		while (r < 0 && errno == EINTR);
		close(pfds[i].fd);
	}
	return killed;
}

void exec_job_free(struct exec_job *job)
{
	int s;

	if (!job)
		return;
	if (job->in_table)
		lh_table_delete(job->d->exec_pids, (void *)(intptr_t)job->pid);
	if (job->grace_active)
		ev_timer_stop(job->d->loop, &job->grace_timer);
	if (job->gone_active)
		ev_timer_stop(job->d->loop, &job->gone_timer);
	for (s = 0; s < 2; s++) {
		job_close_stream(job, s);
		if (job->log_fd[s] >= 0)
			close(job->log_fd[s]);
	}
	coop_waker_cell_clear(&job->cell);
	free(job->error);
	free(job);
}
