/*
 * job-slurm-cmd.c - Slurm's commands as child processes watched by the
 * loop (job-slurm-cmd.h).
 *
 * A command is done when three things have happened, in any order: its
 * stdout and its stderr reached EOF, and coopd's ev_child watcher reaped
 * it.  Only then is the callback called, with everything it wrote, so
 * that a parser never sees half an answer.  A command that runs longer
 * than SLURM_CMD_TIMEOUT_S (a hung slurmctld, a hung fake) gets SIGKILL
 * on its process group and is reported as timed out; coopd's loop never
 * waits for any of this.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coopd.h"
#include "job-slurm-cmd.h"
#include "job-spawn.h"
#include "util-log.h"
#include "util-strbuf.h"

extern char **environ;

const double slurm_cmd_bucket_le[SLURM_CMD_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1,
						       0.25,  0.5,  1,     2.5,  10};

static const char *const cmd_names[SLURM_CMD__MAX] = {"sbatch", "squeue", "scontrol", "scancel"};

struct slurm_cmd {
	struct slurm_cmds *c;
	enum slurm_cmd_kind kind;
	pid_t pid;
	int fd[2];
	ev_io io[2];
	struct strbuf buf[2];
	bool truncated, reaped, timed_out;
	int wstatus;
	ev_timer timeout;
	uint64_t start_ns;
	slurm_cmd_done_fn done;
	void *arg;
	struct slurm_cmd *prev, *next;
};

struct slurm_cmds {
	struct coopd *d;
	char *path[SLURM_CMD__MAX];
	struct slurm_cmd *running;
	size_t n_running;
	int reset_sigs[NSIG];
	int n_reset_sigs;
	struct slurm_cmd_stats stats[SLURM_CMD__MAX];
	ev_idle deliver; /* start failures are reported from the loop */
	struct slurm_cmd *failed;
};

const char *slurm_cmd_name(enum slurm_cmd_kind k)
{
	return k < SLURM_CMD__MAX ? cmd_names[k] : "?";
}

/* NAME in slurm_bin_dir, else the first executable NAME in coopd's PATH,
 * else NAME itself (the start then fails with ENOENT, reported per use). */
static char *find_program(const char *bin_dir, const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (bin_dir) {
		snprintf(buf, sizeof(buf), "%s/%s", bin_dir, name);
		return strdup(buf);
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		if (len > 0 && len + strlen(name) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, name);
			if (access(buf, X_OK) == 0)
				return strdup(buf);
		}
		p += len;
		if (*p == ':')
			p++;
	}
	return strdup(name);
}

static void deliver_cb(struct ev_loop *loop, ev_idle *w, int revents);
static void cmd_finish(struct slurm_cmd *cmd);

int slurm_cmds_new(struct coopd *d, struct slurm_cmds **ret)
{
	struct slurm_cmds *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->d = d;
	for (int k = 0; k < SLURM_CMD__MAX; k++) {
		c->path[k] = find_program(d->cfg.slurm_bin_dir, cmd_names[k]);
		if (!c->path[k]) {
			slurm_cmds_free(c);
			return -ENOMEM;
		}
	}
	c->n_reset_sigs = spawn_reset_sigs(c->reset_sigs);
	ev_idle_init(&c->deliver, deliver_cb);
	c->deliver.data = c;
	*ret = c;
	return 0;
}

static void cmd_release(struct slurm_cmd *cmd)
{
	struct slurm_cmds *c = cmd->c;

	for (int s = 0; s < 2; s++) {
		if (cmd->fd[s] >= 0) {
			ev_io_stop(c->d->loop, &cmd->io[s]);
			close(cmd->fd[s]);
			cmd->fd[s] = -1;
		}
		sb_free(&cmd->buf[s]);
	}
	ev_timer_stop(c->d->loop, &cmd->timeout);
	if (cmd->prev)
		cmd->prev->next = cmd->next;
	else if (c->running == cmd)
		c->running = cmd->next;
	if (cmd->next)
		cmd->next->prev = cmd->prev;
	if (cmd->pid > 0)
		c->n_running--;
	free(cmd);
}

void slurm_cmds_free(struct slurm_cmds *c)
{
	if (!c)
		return;
	while (c->running) {
		struct slurm_cmd *cmd = c->running;

		if (cmd->pid > 0 && !cmd->reaped)
			(void)kill(-cmd->pid, SIGKILL);
		cmd_release(cmd);
	}
	while (c->failed) {
		struct slurm_cmd *cmd = c->failed;

		c->failed = cmd->next;
		cmd->next = cmd->prev = NULL;
		free(cmd);
	}
	ev_idle_stop(c->d->loop, &c->deliver);
	for (int k = 0; k < SLURM_CMD__MAX; k++)
		free(c->path[k]);
	free(c);
}

static void cmd_count(struct slurm_cmd *cmd, bool ok, double secs)
{
	struct slurm_cmd_stats *st = &cmd->c->stats[cmd->kind];

	st->runs++;
	if (!ok)
		st->failures++;
	st->sum_seconds += secs;
	for (int b = 0; b < SLURM_CMD_BUCKETS; b++)
		if (secs <= slurm_cmd_bucket_le[b])
			st->buckets[b]++;
}

bool slurm_cmd_ok(const struct slurm_cmd_result *r)
{
	return !r->start_error && !r->timed_out && WIFEXITED(r->wstatus) &&
	       WEXITSTATUS(r->wstatus) == 0;
}

static void cmd_finish(struct slurm_cmd *cmd)
{
	struct slurm_cmds *c = cmd->c;
	struct slurm_cmd_result r = {0};
	double secs = (double)(coop_now_ns() - cmd->start_ns) / 1e9;
	slurm_cmd_done_fn done = cmd->done;
	void *arg = cmd->arg;

	r.wstatus = cmd->wstatus;
	r.timed_out = cmd->timed_out;
	r.truncated = cmd->truncated;
	r.seconds = secs;
	sb_putc(&cmd->buf[0], '\0');
	sb_putc(&cmd->buf[1], '\0');
	r.out = sb_steal(&cmd->buf[0], &r.out_len);
	r.err = sb_steal(&cmd->buf[1], &r.err_len);
	if (!r.out || !r.err) {
		/* Out of memory while collecting: report it as a failure. */
		free(r.out);
		free(r.err);
		r.out = strdup("");
		r.err = strdup("");
		r.out_len = r.err_len = 0;
		r.start_error = -ENOMEM;
	} else {
		r.out_len--;
		r.err_len--;
	}
	cmd_count(cmd, slurm_cmd_ok(&r), secs);
	if (!slurm_cmd_ok(&r)) {
		char why[256];

		slurm_cmd_describe(&r, why, sizeof(why));
		log_warn("%s failed after %.3f s: %s", c->path[cmd->kind], secs, why);
	}
	cmd_release(cmd);
	if (r.out && r.err)
		done(c->d, &r, arg);
	free(r.out);
	free(r.err);
}

static void cmd_maybe_done(struct slurm_cmd *cmd)
{
	if (cmd->reaped && cmd->fd[0] < 0 && cmd->fd[1] < 0)
		cmd_finish(cmd);
}

static void cmd_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct slurm_cmd *cmd = w->data;
	int s = w == &cmd->io[0] ? 0 : 1;
	size_t cap = s ? SLURM_CMD_ERR_MAX : SLURM_CMD_OUT_MAX;
	char buf[65536];

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(cmd->fd[s], buf, sizeof(buf));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			ev_io_stop(loop, w);
			close(cmd->fd[s]);
			cmd->fd[s] = -1;
			cmd_maybe_done(cmd);
			return;
		}
		if (cmd->buf[s].len + (size_t)n > cap) {
			if (s == 0)
				cmd->truncated = true;
			n = cmd->buf[s].len < cap ? (ssize_t)(cap - cmd->buf[s].len) : 0;
		}
		sb_put(&cmd->buf[s], buf, (size_t)n);
	}
}

static void cmd_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct slurm_cmd *cmd = w->data;

	cmd->timed_out = true;
	/* Its whole group: a wrapper script's children hold the pipes too.
	 * Not once the leader is reaped: its group was killed then
	 * (slurm_cmd_reaped), and its id may since be another process's
	 * (docs/security.md, job-exec.c's job_group_owned). */
	if (!cmd->reaped)
		(void)kill(-cmd->pid, SIGKILL);
}

static void deliver_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct slurm_cmds *c = w->data;

	ev_idle_stop(loop, w);
	while (c->failed) {
		struct slurm_cmd *cmd = c->failed;
		struct slurm_cmd_result r = {.start_error = cmd->wstatus, .out = "", .err = ""};

		c->failed = cmd->next;
		cmd_count(cmd, false, 0);
		log_warn("cannot run %s: %s", c->path[cmd->kind], strerror(-cmd->wstatus));
		cmd->done(c->d, &r, cmd->arg);
		free(cmd);
	}
}

int slurm_cmd_run(struct slurm_cmds *c, enum slurm_cmd_kind k, char *const *args,
		  const struct slurm_as *as, const char *cwd, slurm_cmd_done_fn done, void *arg)
{
	struct slurm_cmd *cmd = calloc(1, sizeof(*cmd));
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	size_t n = 0;
	char **argv;
	struct spawn_req q;
	pid_t pid;
	int r;

	if (!cmd)
		return -ENOMEM;
	while (args[n])
		n++;
	argv = calloc(n + 2, sizeof(char *));
	if (!argv) {
		free(cmd);
		return -ENOMEM;
	}
	argv[0] = (char *)cmd_names[k];
	memcpy(argv + 1, args, n * sizeof(char *));
	cmd->c = c;
	cmd->kind = k;
	cmd->done = done;
	cmd->arg = arg;
	cmd->fd[0] = cmd->fd[1] = -1;
	sb_init(&cmd->buf[0]);
	sb_init(&cmd->buf[1]);
	cmd->start_ns = coop_now_ns();
	r = 0;
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0)
		r = -errno;
	if (r == 0) {
		(void)fcntl(out[1], F_SETFL, 0);
		(void)fcntl(err[1], F_SETFL, 0);
		q = (struct spawn_req){.cmd = c->path[k],
				       .cwd = cwd ? cwd : "/",
				       .argv = argv,
				       .envp = environ,
				       .out_w = out[1],
				       .err_w = err[1],
				       .cg_dfd = -1};
		q.reset_sigs = c->reset_sigs;
		q.n_reset_sigs = c->n_reset_sigs;
		if (as && as->pw) {
			q.pw = as->pw;
			q.groups = as->groups;
			q.ngroups = as->ngroups;
		}
		enum spawn_step step;

		r = spawn_job(&q, &pid, &step);
	}
	free(argv);
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	if (r < 0) {
		if (out[0] >= 0)
			close(out[0]);
		if (err[0] >= 0)
			close(err[0]);
		sb_free(&cmd->buf[0]);
		sb_free(&cmd->buf[1]);
		/* Reported from the loop, never from inside the caller. */
		cmd->wstatus = r;
		cmd->next = c->failed;
		c->failed = cmd;
		ev_idle_start(c->d->loop, &c->deliver);
		return 0;
	}
	cmd->pid = pid;
	cmd->fd[0] = out[0];
	cmd->fd[1] = err[0];
	for (int s = 0; s < 2; s++) {
		ev_io_init(&cmd->io[s], cmd_io_cb, cmd->fd[s], EV_READ);
		cmd->io[s].data = cmd;
		ev_io_start(c->d->loop, &cmd->io[s]);
	}
	ev_timer_init(&cmd->timeout, cmd_timeout_cb, SLURM_CMD_TIMEOUT_S, 0.);
	cmd->timeout.data = cmd;
	ev_timer_start(c->d->loop, &cmd->timeout);
	cmd->next = c->running;
	if (c->running)
		c->running->prev = cmd;
	c->running = cmd;
	c->n_running++;
	return 0;
}

bool slurm_cmd_reaped(struct slurm_cmds *c, pid_t pid, int wstatus)
{
	if (!c)
		return false;
	for (struct slurm_cmd *cmd = c->running; cmd; cmd = cmd->next)
		if (cmd->pid == pid && !cmd->reaped) {
			cmd->reaped = true;
			cmd->wstatus = wstatus;
			/* Whatever it left holding the pipes goes with it. */
			(void)kill(-pid, SIGKILL);
			cmd_maybe_done(cmd);
			return true;
		}
	return false;
}

size_t slurm_cmds_running(const struct slurm_cmds *c)
{
	return c ? c->n_running : 0;
}

void slurm_cmd_describe(const struct slurm_cmd_result *r, char *buf, size_t size)
{
	const char *e = r->err ? r->err : "";
	size_t len = r->err_len;

	if (r->start_error) {
		snprintf(buf, size, "cannot run it: %s", strerror(-r->start_error));
		return;
	}
	if (r->timed_out) {
		snprintf(buf, size, "no answer within %.0f s (killed)", SLURM_CMD_TIMEOUT_S);
		return;
	}
	/* The last non-empty line of stderr is Slurm's message. */
	while (len > 0 && (e[len - 1] == '\n' || e[len - 1] == ' '))
		len--;
	if (len > 0) {
		size_t start = len;

		while (start > 0 && e[start - 1] != '\n')
			start--;
		snprintf(buf, size, "%.*s", (int)(len - start), e + start);
		for (char *p = buf; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		return;
	}
	if (WIFEXITED(r->wstatus))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(r->wstatus));
	else if (WIFSIGNALED(r->wstatus))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(r->wstatus));
	else
		snprintf(buf, size, "ended abnormally");
}

const struct slurm_cmd_stats *slurm_cmd_stats(const struct slurm_cmds *c, enum slurm_cmd_kind k)
{
	return &c->stats[k];
}
