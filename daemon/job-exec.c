/*
 * job-exec.c - exec jobs: spawning, output capture, reaping, and ending
 * everything a job started.
 *
 * Life of a job, all reactor-side steps on the loop thread:
 *   1. the exec task's first poll registers its waker in job->cell and
 *      posts MAIL_EXEC_SPAWN;
 *   2. exec_job_mail() spawns the process (vfork, or fork when it must
 *      change users; own process group, minimal environment with the job
 *      marker COOPD_JOB=GRAPH/IDX, stdin /dev/null, stdout/stderr pipes)
 *      and marks the node running.  In cgroup mode the job's cgroup is
 *      created first and the child joins it before exec;
 *   3. the pipes are read into the log files as data arrives (a log file
 *      is created at its first byte: a job that writes nothing has none);
 *   4. the ev_child watcher reaps the leader (exec_child_reaped());
 *   5. kill(-pgid, 0) is polled on a timer until it fails with ESRCH (or
 *      finds only a group that is no longer the job's, below): the job's
 *      process group is gone, the job has ended;
 *   6. leftovers: processes the job started that are still alive (they
 *      left the group: setsid, double fork) are found (the job's cgroup,
 *      or the subreaper rules of job-orphans.h), counted, sent SIGTERM,
 *      and SIGKILL after the job's grace (cgroup.kill); polled until none
 *      is left (cgroup mode: until the cgroup can be removed);
 *   7. the pipes are drained and closed, the result published (job->done,
 *      release) and the task woken; the task returns READY/FAILED/
 *      CANCELLED and job_watch_end's waker reports it.
 * Cancellation: the task sees coop_cx_cancelled and posts MAIL_EXEC_KILL;
 * the reactor sends SIGTERM to the group (cgroup mode: to every process of
 * the cgroup) and SIGKILL after the grace time.
 *
 * Retries (coopd.graph(5): retries, retry_delay_ms, retry_backoff) happen
 * here, between steps 7 and 1 of the next attempt, without waking the
 * task: the libcoop task is the node, and its scope's policy must only see
 * the last attempt (a fail_fast scope would cancel the siblings of a first
 * failure).  An attempt that failed or timed out is recorded in
 * n->attempts, the job is reset and a timer started for the delay; its
 * expiry spawns the next attempt.  timeout_ms bounds each attempt, so for
 * a node with retries it is a timer here (SIGTERM, the grace, SIGKILL)
 * instead of libcoop's whole-task timeout.  A cancellation ends the
 * retrying at once: between attempts the job completes cancelled.
 *
 * Pause (docs/protocol.md, `pause`): a running job is frozen, with its
 * cgroup's cgroup.freeze or, without a cgroup, SIGSTOP to its process
 * group; a job whose spawn (or next attempt) comes while its node is
 * paused is held until `resume`.  A cancel thaws the job first, so that it
 * gets SIGTERM and its grace like any other.
 *
 * Signals and reused ids (docs/security.md, "A job's process group is
 * signalled only while its leader is unreaped").  The group id L of a job
 * is its leader's pid, and names the job's group only while that pid is
 * held: from the spawn until coopd reaps the leader (alive, or a zombie
 * that the loop has not yet collected; the loop thread is the only one
 * that reaps).  After the reap, L stays held only while a member of the
 * group lives; once the group is empty, anyone's new process that gets
 * pid L and calls setsid() owns group L.  So kill(-L, sig) is sent only
 * while the leader is unreaped (job_group_owned()); after it, whatever the
 * job still has is signalled one process at a time through its cgroup
 * (cgroup mode) or the subreaper sweep (job-orphans.h: only processes of
 * the job's user, each checked by pid and start time), never through L:
 * SIGTERM and SIGKILL of a cancel, a timeout or the grace, SIGCONT of a
 * resume, SIGKILL at shutdown (job_signal_all()).  kill(-L, 0), which
 * signals nothing, still tells whether the group is gone; after the reap a
 * group L is the job's only if one of its members is provably the job's
 * (job_group_members()), else the job's group is gone and L is someone
 * else's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/linkhash.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-run.h"
#include "job-cgroup.h"
#include "job-boot.h"
#include "job-exec.h"
#include "job-logfile.h"
#include "job-orphans.h"
#include "job-owner.h"
#include "job-proc.h"
#include "job-slurm.h"
#include "job-spawn.h"
#include "reactor-inbox.h"
#include "store-state.h"
#include "util-log.h"

#define GONE_POLL_S 0.01     /* kill(-pgid, 0) and cgroup polling period */
#define SWEEP_POLL_S 0.05    /* subreaper mode: /proc scans while leftovers die */
#define LEFTOVER_CAP 1024    /* distinct leftover pids remembered per job */
#define SWEEP_RANGE_MAX 4096 /* scan pids by number below this many, else /proc */
#define FORK_RATE_MAX 1e6    /* forks per second no machine exceeds (pid wrap bound) */

/* The daemon-wide side of exec jobs (d->exec). */
struct exec_state {
	struct job_cgroups *cg;    /* NULL: subreaper mode */
	struct exec_job *active;   /* spawned and not yet complete */
	struct job_owners *owners; /* account and PATH look-ups, per graph */
	bool root;                 /* euid 0: jobs run as their graph's owner */
	bool same_boot;            /* the recorded pids are of this boot (job-boot.c) */
	int reset_sigs[NSIG];      /* signals not at SIG_DFL: reset in the child */
	int n_reset_sigs;
	pid_t pid_max; /* /proc/sys/kernel/pid_max, 0 unknown */
};

struct exec_job {
	struct coopd *d;
	struct rnode *n;
	pid_t pid;    /* leader == pgid; 0 before spawn */
	int pipes[2]; /* read ends of stdout/stderr, -1 closed */
	ev_io io[2];
	int log_fd[2];      /* -1: not created yet (no output so far) */
	bool log_failed[2]; /* could not create or write it: drop the rest */
	uint64_t log_len[2];
	uint64_t dropped[2];
	ev_timer grace_timer;
	ev_timer gone_timer;
	bool grace_active, gone_active;
	bool spawned, reaped, term_sent, kill_sent;
	bool ended_before_cancel; /* "completed anyway": see job_kill() */
	bool in_table;
	int wstatus;
	char marker[GRAPH_ID_LEN + 16]; /* COOPD_JOB value: GRAPH/IDX */
	char cg_name[CGROUP_JOB_NAME_MAX];
	bool cg_made; /* the job's cgroup exists */
	uint64_t leader_start;
	uint64_t spawn_ns;                    /* coop_now_ns() at the spawn */
	struct exec_job *act_prev, *act_next; /* d->exec->active */
	bool on_active;

	/* Leftovers: processes alive once the group is gone. */
	bool lo_phase, lo_killed;
	pid_t *lo_pids; /* distinct pids seen (LEFTOVER_CAP) */
	size_t n_lo;

	/* Retries. */
	ev_timer retry_timer;   /* the delay before the next attempt */
	ev_timer attempt_timer; /* this attempt's timeout_ms */
	bool retry_active, attempt_timer_active;
	bool timed_out;    /* this attempt's timeout_ms passed */
	bool cancel_seen;  /* a cancel reached the job: no more attempts */
	uint8_t attempt;   /* from 0 */
	char *limit_error; /* memory_max ended it: the error to report */

	/* Pause. */
	bool frozen;     /* cgroup.freeze 1, or SIGSTOP sent */
	bool held_spawn; /* its spawn came while paused: start on resume */
	bool held_retry; /* its next attempt came while paused */

	/* Result, written before `done` is released. */
	int exit_code;
	int term_signal;
	char *error;
	bool never_started;     /* cancelled before the spawn */
	bool cancelled_between; /* cancelled while waiting for an attempt */

	struct slurm_job *sj; /* placement slurm: the Slurm side (job-slurm.c) */

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
	if (job->never_started || job->cancelled_between)
		return COOP_CANCELLED;
	if (job->error)
		return COOP_FAILED;
	/* A job that coopd signalled while it was running is cancelled, also
	 * when it then exits 0 (say, on SIGTERM): the cancel reached it.
	 * Only a job that had ended before the request reached it keeps its
	 * result ("completed anyway", job_kill()). */
	if (job->exit_code == 0 &&
	    (!(job->term_sent || job->kill_sent) || job->ended_before_cancel))
		return COOP_READY;
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

static void job_close_stream(struct exec_job *job, int s)
{
	if (job->pipes[s] >= 0) {
		ev_io_stop(job->d->loop, &job->io[s]);
		close(job->pipes[s]);
		job->pipes[s] = -1;
	}
}

/* Creates the log file of stream s, at the job's first output byte on it:
 * a job that writes nothing leaves no file, and `logs` reads a missing
 * file as empty. */
static void job_open_log(struct exec_job *job, int s)
{
	int fd = logfile_create_attempt(job->d, job->n->g->id, job->n->idx, job->attempt + 1u, s);

	if (fd < 0) {
		log_errno(LOG_WARNING, fd, "graph %s node %s: cannot create its %s log",
			  job->n->g->id, job->n->def->path, s ? "stderr" : "stdout");
		job->log_failed[s] = true;
		return;
	}
	job->log_fd[s] = fd;
}

/* Copies what the pipe has into the log; returns false at EOF or error. */
static bool job_read_stream(struct exec_job *job, int s)
{
	char buf[65536];
	size_t cap = job->d->cfg.log_cap;

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t r = read(job->pipes[s], buf, sizeof(buf));
		size_t keep, written = 0;

		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		if (r == 0)
			return false;
		keep = job->log_len[s] < cap ? cap - job->log_len[s] : 0;
		if (keep > (size_t)r)
			keep = (size_t)r;
		if (keep > 0)
			keep = graph_registry_log_room(job->d, job->n->g, keep);
		if (keep > 0 && job->log_fd[s] < 0 && !job->log_failed[s])
			job_open_log(job, s);
		if (keep > 0 && job->log_fd[s] >= 0) {
			ssize_t w = write(job->log_fd[s], buf, keep);

			if (w < 0) {
				log_errno(LOG_WARNING, -errno, "graph %s node %s: writing log",
					  job->n->g->id, job->n->def->path);
				close(job->log_fd[s]);
				job->log_fd[s] = -1;
				job->log_failed[s] = true;
			} else {
				job->log_len[s] += (uint64_t)w;
				/* Counted as written, for retention_bytes:
				 * no file is looked at again. */
				job->n->g->disk_bytes += (uint64_t)w;
				graph_registry_log_written(job->d, job->n->g, (size_t)w);
				written = (size_t)w;
			}
		}
		/* What the log did not take (beyond log_cap, a log that could
		 * not be opened or written, a short write on a full disk) is
		 * counted as dropped: log_dropped tells a reader that the log
		 * is not the whole output. */
		job->dropped[s] += (uint64_t)r - written;
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

static void active_remove(struct exec_job *job)
{
	struct exec_state *es = job->d->exec;

	if (!job->on_active)
		return;
	if (job->act_prev)
		job->act_prev->act_next = job->act_next;
	else
		es->active = job->act_next;
	if (job->act_next)
		job->act_next->act_prev = job->act_prev;
	job->act_prev = job->act_next = NULL;
	job->on_active = false;
}

static void active_add(struct exec_job *job)
{
	struct exec_state *es = job->d->exec;

	job->act_prev = NULL;
	job->act_next = es->active;
	if (es->active)
		es->active->act_prev = job;
	es->active = job;
	job->on_active = true;
}

/* A job that a limit of its `limits` ended fails saying so, whatever its
 * exit status: the OOM killer under memory_max, or RLIMIT_CPU (SIGXCPU at
 * cpu_seconds; SIGKILL a second later if it ignored that). */
static void job_limit_error(struct exec_job *job)
{
	const struct proto_job_limits *l = job->n->def->limits;
	char text[160];

	if (!l || job->error)
		return;
	if (job->limit_error) {
		job->error = job->limit_error;
		job->limit_error = NULL;
		return;
	}
	if (l->cpu_seconds > 0 &&
	    (job->term_signal == SIGXCPU || (job->term_signal == SIGKILL && !job->kill_sent)))
		snprintf(text, sizeof(text), "cpu_seconds exceeded (%lld s of CPU time)",
			 (long long)l->cpu_seconds);
	else
		return;
	job->error = strdup(text);
}

static void job_publish(struct exec_job *job);
static bool job_should_retry(const struct exec_job *job);
static void job_retry(struct exec_job *job);

/* The attempt has ended: its result goes to the node; then either the next
 * attempt is scheduled or the result is published. */
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
	if (job->attempt_timer_active) {
		ev_timer_stop(loop, &job->attempt_timer);
		job->attempt_timer_active = false;
	}
	active_remove(job);
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
	job_limit_error(job);
	job->n->log_dropped[0] = job->dropped[0];
	job->n->log_dropped[1] = job->dropped[1];
	job->n->leftovers = (uint32_t)job->n_lo;
	if (job->n_lo)
		log_info("graph %s node %s: ended %zu process(es) it left behind", job->n->g->id,
			 job->n->def->path, job->n_lo);
	free(job->lo_pids);
	job->lo_pids = NULL;
	graph_run_exec_result(job->d, job->n, job->exit_code, job->term_signal, job->error);
	if (job_should_retry(job)) {
		job_retry(job);
		return;
	}
	if (job->timed_out && job->n->cancel_ack_ms < 0)
		job->n->cancel_ack_ms = graph_now_ms();
	job_publish(job);
}

/* Publishes the result and wakes the task: the node ends. */
static void job_publish(struct exec_job *job)
{
	atomic_store_explicit(&job->done, true, memory_order_release);
	coop_waker_cell_wake(&job->cell);
}

/* Whether -job->pid still names the job's own process group: only while
 * its leader is not reaped does the leader's pid, and so the group id,
 * stay ours (see the top of this file). */
static bool job_group_owned(const struct exec_job *job)
{
	return job->spawned && job->pid > 0 && !job->reaped;
}

static size_t job_group_members(struct exec_job *job, int sig);

/* Whether any process is left in the job's group.  After the leader's
 * reap a group with its id may be someone else's that took the id over
 * once the job's had emptied: the job's only if one of its processes is
 * provably the job's (job_group_members()). */
static bool job_group_alive(struct exec_job *job)
{
	if (kill(-job->pid, 0) < 0 && errno == ESRCH)
		return false;
	return job_group_owned(job) || job_group_members(job, 0) > 0;
}

/* Remembers pid among the job's leftovers; true if it is new. */
static bool lo_note(struct exec_job *job, pid_t pid)
{
	for (size_t i = 0; i < job->n_lo; i++)
		if (job->lo_pids[i] == pid)
			return false;
	if (!job->lo_pids) {
		job->lo_pids = malloc(LEFTOVER_CAP * sizeof(pid_t));
		if (!job->lo_pids)
			return true;
	}
	if (job->n_lo < LEFTOVER_CAP)
		job->lo_pids[job->n_lo++] = pid;
	return true;
}

static bool marker_is_leader(void *ctx, pid_t pid)
{
	struct coopd *d = ctx;

	return lh_table_lookup_entry(d->exec_pids, (void *)(intptr_t)pid) != NULL;
}

/* Whether a job marker GRAPH/IDX names an exec job that is still active. */
static bool marker_active(void *ctx, const char *marker)
{
	struct coopd *d = ctx;
	char gid[GRAPH_ID_LEN + 1];
	const char *slash = strchr(marker, '/');
	struct graph *g;
	unsigned long idx;
	char *end;

	if (!slash || slash - marker > GRAPH_ID_LEN)
		return false;
	memcpy(gid, marker, (size_t)(slash - marker));
	gid[slash - marker] = '\0';
	idx = strtoul(slash + 1, &end, 10);
	g = graph_registry_find(d, gid);
	if (*end || !g || !g->by_idx || idx > g->n_nodes || !g->by_idx[idx]->job)
		return false;
	return g->by_idx[idx]->job->on_active;
}

static int uid_of(void *ctx, pid_t pid, uid_t *ret)
{
	return proc_real_uid(pid, ret);
}

/* The user a job runs as: its graph's owner when coopd is root, else
 * coopd's own user (job_start()). */
static uid_t job_run_uid(const struct coopd *d, const struct graph *g)
{
	return d->exec && d->exec->root ? g->uid : geteuid();
}

uid_t exec_run_uid(const struct coopd *d, const struct graph *g)
{
	return job_run_uid(d, g);
}

bool exec_as_owner(const struct coopd *d)
{
	/* coopd's euid never changes: jobs take their owner's ids in the
	 * child only (job-spawn.c). */
	return d->exec ? d->exec->root : geteuid() == 0;
}

bool exec_same_boot(const struct coopd *d)
{
	return d->exec && d->exec->same_boot;
}

enum sweep_mode {
	SWEEP_PROBE,  /* count only */
	SWEEP_NEW,    /* remember them; signal the ones not seen before */
	SWEEP_ALL,    /* remember them; signal every one */
	SWEEP_SIGNAL, /* signal every one, remember none (not leftovers yet) */
};

/* The /proc snapshot in which to look for the job's processes. */
static int job_snapshot(struct exec_job *job, struct proc_info **procs, size_t *n)
{
	struct exec_state *es = job->d->exec;
	pid_t last = proc_last_pid(), range = last - job->pid;
	double secs = (double)(coop_now_ns() - job->spawn_ns) / 1e9;

	/* Everything the job started got a pid allocated after its leader's:
	 * unless pids wrapped around meanwhile (which takes pid_max forks),
	 * looking at those pids is enough, and much cheaper than all of
	 * /proc for a short job. */
	if (last >= job->pid && range < SWEEP_RANGE_MAX && es->pid_max > 0 &&
	    secs * FORK_RATE_MAX < (double)(es->pid_max - range))
		return proc_list_range(job->pid, last, procs, n);
	return proc_list(procs, n);
}

/*
 * After the leader's reap: the processes still in the job's group that are
 * provably the job's, signalled one by one (sig 0: counted).  Group L,
 * coopd's session (the leader made its group with setpgid() in coopd's
 * session; a process that took the id over with setsid() is in a session
 * of its own), the job's user (another user's job, also in coopd's
 * session, may get pid L and make a group of it), started no earlier than
 * the leader (cgroup mode records no start: 0).  Each is checked again by
 * pid and start time just before its signal.
 */
static bool job_group_member(const struct exec_job *job, const struct proc_info *p, pid_t sid)
{
	uid_t u;

	return p->pgrp == job->pid && p->sid == sid && p->state != 'Z' &&
	       p->start >= job->leader_start && proc_real_uid(p->pid, &u) == 0 &&
	       u == job_run_uid(job->d, job->n->g);
}

static size_t job_group_members(struct exec_job *job, int sig)
{
	struct proc_info *procs = NULL;
	pid_t sid = getsid(0);
	size_t n = 0, found = 0;

	if (job_snapshot(job, &procs, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct proc_info *p = &procs[i];

		if (!job_group_member(job, p, sid))
			continue;
		found++;
		if (sig && proc_start_time(p->pid) == p->start)
			(void)kill(p->pid, sig);
	}
	free(procs);
	return found;
}

/*
 * Subreaper mode: one /proc snapshot; the processes this job left
 * (job-orphans.h) are remembered and signalled as mode says.  Returns how
 * many are alive.
 */
static size_t job_sweep(struct exec_job *job, int sig, enum sweep_mode mode)
{
	struct coopd *d = job->d;
	struct orphan_query q = {.self = getpid(),
				 .marker = job->marker,
				 .leader_start = job->leader_start,
				 .uid = job_run_uid(d, job->n->g),
				 .others_oldest = UINT64_MAX,
				 .uid_of = uid_of,
				 .is_leader = marker_is_leader,
				 .marker_active = marker_active,
				 .ctx = d};
	struct proc_info *procs = NULL, *out;
	size_t n = 0, found;
	pid_t sid = mode == SWEEP_SIGNAL ? getsid(0) : 0;

	/* Only jobs of the same user could have started an unmarked orphan
	 * of that user (issue: another user's older job was blamed). */
	for (struct exec_job *o = d->exec->active; o; o = o->act_next)
		if (o != job && o->leader_start < q.others_oldest &&
		    job_run_uid(d, o->n->g) == q.uid)
			q.others_oldest = o->leader_start;
	if (job_snapshot(job, &procs, &n) < 0)
		return 0;
	out = malloc(n * sizeof(*out) + 1);
	found = out ? orphans_of_job(procs, n, &q, out, n) : 0;
	for (size_t i = 0; mode != SWEEP_PROBE && i < found && i < n; i++) {
		bool fresh = mode != SWEEP_SIGNAL && lo_note(job, out[i].pid);

		/* SWEEP_SIGNAL: job_group_members() signalled those. */
		if (mode == SWEEP_SIGNAL && job_group_member(job, &out[i], sid))
			continue;
		/* Re-check the identity just before signalling: pid + start. */
		if (sig && (fresh || mode == SWEEP_ALL || mode == SWEEP_SIGNAL) &&
		    proc_start_time(out[i].pid) == out[i].start)
			(void)kill(out[i].pid, sig);
	}
	free(out);
	free(procs);
	return found;
}

/* Signals the leftovers (sig 0: counts them): the cgroup's processes or
 * the sweep's.  SIGTERM goes once to each; SIGKILL to all. */
static void job_signal_leftovers(struct exec_job *job, int sig)
{
	struct exec_state *es = job->d->exec;
	size_t cap;

	if (!job->cg_made) {
		(void)job_sweep(job, sig, sig == SIGKILL ? SWEEP_ALL : SWEEP_NEW);
		return;
	}
	if (!job->lo_pids)
		job->lo_pids = malloc(LEFTOVER_CAP * sizeof(pid_t));
	cap = job->lo_pids ? LEFTOVER_CAP : 0;
	if (sig == SIGKILL) {
		/* Count what the kill ends, then end it all at once. */
		(void)cgroup_job_signal(es->cg, job->cg_name, 0, job->lo_pids, &job->n_lo, cap, 0);
		if (cgroup_job_kill(es->cg, job->cg_name) == 0)
			return;
	}
	(void)cgroup_job_signal(es->cg, job->cg_name, sig, job->lo_pids, &job->n_lo, cap, 0);
}

/*
 * Sends sig to everything the job still has: while its leader is unreaped,
 * to its process group (and, in cgroup mode, to the processes of its
 * cgroup that left the group); once the leader is reaped, never to the
 * group id, which may belong to someone else by now, but to the members
 * of the group that are provably the job's (job_group_members()) and to
 * every other process of its cgroup (SIGKILL: cgroup.kill), or without a
 * cgroup to every other process the subreaper sweep finds to be the
 * job's; each gets it once.  The processes found so are not counted as
 * leftovers (the group may still be alive).
 */
static void job_signal_all(struct exec_job *job, int sig)
{
	struct exec_state *es = job->d->exec;
	bool owned = job_group_owned(job);

	if (owned && kill(-job->pid, sig) < 0 && errno != ESRCH)
		log_errno(LOG_WARNING, -errno, "kill(-%d, %d)", (int)job->pid, sig);
	if (!owned)
		(void)job_group_members(job, sig);
	if (job->cg_made) {
		if (sig == SIGKILL && cgroup_job_kill(es->cg, job->cg_name) == 0)
			return;
		/* Not the group's members again: signalled just now. */
		(void)cgroup_job_signal(es->cg, job->cg_name, sig, NULL, NULL, 0, job->pid);
		return;
	}
	if (!owned)
		(void)job_sweep(job, sig, SWEEP_SIGNAL);
}

/* Whether nothing of the job is left (cgroup mode: its cgroup removed). */
static bool job_leftovers_gone(struct exec_job *job)
{
	struct exec_state *es = job->d->exec;
	int r;

	if (job->cg_made) {
		/* Read before the cgroup goes: did memory_max end anything? */
		if (job->n->def->limits && job->n->def->limits->memory_max > 0 &&
		    !job->limit_error) {
			char text[160];

			if (cgroup_job_memory_error(es->cg, job->cg_name,
						    job->n->def->limits->memory_max, text,
						    sizeof(text)) > 0)
				job->limit_error = strdup(text);
		}
		r = cgroup_job_remove(es->cg, job->cg_name);
		if (r == -EBUSY)
			return false;
		if (r < 0)
			log_errno(LOG_WARNING, r, "graph %s node %s: cannot remove cgroup %s/%s",
				  job->n->g->id, job->n->def->path, cgroup_instance_path(es->cg),
				  job->cg_name);
		job->cg_made = false;
		return true;
	}
	if (!job->lo_phase)
		return job_sweep(job, 0, SWEEP_PROBE) == 0;
	/* Leftovers forked during the grace get the same treatment. */
	if (job->lo_killed)
		return job_sweep(job, SIGKILL, SWEEP_ALL) == 0;
	return job_sweep(job, SIGTERM, SWEEP_NEW) == 0;
}

static void job_grace_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void job_start_grace(struct exec_job *job)
{
	const struct rnode *n = job->n;
	int64_t grace = n->grace_override_ms >= 0 ? n->grace_override_ms : n->def->grace_ms;

	if (job->grace_active)
		return;
	if (grace <= 0) {
		job->grace_timer.data = job; /* job_grace_cb finds the job there */
		job_grace_cb(job->d->loop, &job->grace_timer, 0);
		return;
	}
	ev_timer_init(&job->grace_timer, job_grace_cb, (double)grace / 1000., 0.);
	job->grace_timer.data = job;
	ev_timer_start(job->d->loop, &job->grace_timer);
	job->grace_active = true;
}

static void job_gone_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void job_poll_gone(struct exec_job *job, double period)
{
	if (job->gone_active && job->gone_timer.repeat == period)
		return;
	if (job->gone_active)
		ev_timer_stop(job->d->loop, &job->gone_timer);
	ev_timer_init(&job->gone_timer, job_gone_cb, period, period);
	job->gone_timer.data = job;
	ev_timer_start(job->d->loop, &job->gone_timer);
	job->gone_active = true;
}

/* The group is gone: the job has ended.  Whatever it left is ended too
 * (SIGTERM, the grace, SIGKILL) before the job completes. */
static void job_check_leftovers(struct exec_job *job)
{
	if (job_leftovers_gone(job)) {
		job_complete(job);
		return;
	}
	if (!job->lo_phase) {
		job->lo_phase = true;
		log_debug("graph %s node %s: processes left behind; ending them", job->n->g->id,
			  job->n->def->path);
		if (job->kill_sent) {
			job->lo_killed = true;
			job_signal_leftovers(job, SIGKILL);
		} else {
			/* A cancel already sent SIGTERM to the whole cgroup. */
			job_signal_leftovers(job, job->term_sent && job->cg_made ? 0 : SIGTERM);
			job_start_grace(job);
		}
	}
	job_poll_gone(job, job->cg_made ? GONE_POLL_S : SWEEP_POLL_S);
}

static void job_gone_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_job *job = w->data;

	if (job->lo_phase)
		job_check_leftovers(job);
	else if (!job_group_alive(job))
		job_check_leftovers(job);
}

static void job_check_gone(struct exec_job *job)
{
	if (!job_group_alive(job)) {
		job_check_leftovers(job);
		return;
	}
	/* Its leader is reaped: each look scans /proc (job_group_alive()). */
	job_poll_gone(job, SWEEP_POLL_S);
}

static void job_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_job *job = w->data;

	if (job->grace_active)
		ev_timer_stop(loop, w);
	job->grace_active = false;
	if (atomic_load_explicit(&job->done, memory_order_relaxed))
		return;
	if (!job->lo_phase) {
		log_debug("graph %s node %s: grace over, SIGKILL to group %d (or, its leader "
			  "reaped, to its processes)",
			  job->n->g->id, job->n->def->path, (int)job->pid);
		job->kill_sent = true;
		job_signal_all(job, SIGKILL);
		return;
	}
	log_debug("graph %s node %s: grace over, SIGKILL to what it left", job->n->g->id,
		  job->n->def->path);
	job->lo_killed = true;
	job_signal_leftovers(job, SIGKILL);
}

static void job_start(struct exec_job *job);

/* Freezes a running job (pause). */
static void job_freeze(struct exec_job *job)
{
	struct exec_state *es = job->d->exec;
	int r;

	/* Only a local job of ours: a Slurm job's processes are Slurm's
	 * (its not yet started attempts are held all the same).  Only while
	 * its leader is unreaped: SIGSTOP goes to its group. */
	if (job->frozen || !job_group_owned(job) || job->sj ||
	    job->n->def->placement == PROTO_PLACEMENT_SLURM ||
	    atomic_load_explicit(&job->done, memory_order_relaxed))
		return;
	r = job->cg_made ? cgroup_job_freeze(es->cg, job->cg_name, true) : -ENOENT;
	if (r < 0 && kill(-job->pid, SIGSTOP) < 0)
		return;
	job->frozen = true;
}

/* Thaws a frozen job (resume, or a cancel). */
static void job_thaw(struct exec_job *job)
{
	struct exec_state *es = job->d->exec;

	if (!job->frozen || job->pid <= 0)
		return;
	job->frozen = false;
	/* Ended meanwhile (nothing of it is left to thaw). */
	if (!job->spawned || atomic_load_explicit(&job->done, memory_order_relaxed))
		return;
	if (job->cg_made)
		(void)cgroup_job_freeze(es->cg, job->cg_name, false);
	/* Also in cgroup mode: the freeze may have been refused and SIGSTOP
	 * sent instead; SIGCONT to a running process changes nothing.  The
	 * leader may have been reaped since the freeze (killed by its owner
	 * meanwhile): then not to the group id, which may be someone else's
	 * by now (job_signal_all()). */
	job_signal_all(job, SIGCONT);
}

void exec_job_pause(struct coopd *d, struct rnode *n)
{
	if (!n->job)
		return;
	if (n->job->sj)
		slurm_job_pause(n->job->sj, true);
	else
		job_freeze(n->job);
}

void exec_job_resume(struct coopd *d, struct rnode *n, bool start_held)
{
	struct exec_job *job = n->job;

	if (!job)
		return;
	if (job->sj)
		slurm_job_pause(job->sj, false);
	job_thaw(job);
	if (start_held && (job->held_spawn || job->held_retry)) {
		job->held_spawn = job->held_retry = false;
		job_start(job);
	}
}

/* A cancel request has reached the job (loop thread, from its mail).
 *
 * "Completed anyway" is decided here, once: the job keeps its own result
 * only if it had already ended when the request reached it, that is, its
 * main process had exited and no other process was left in its process
 * group (processes that left the group are leftovers, ended as usual but
 * not part of the result).  A main process that has exited but is not yet
 * reaped (its SIGCHLD is still queued behind this request) is reaped here
 * first, so that the order in which the loop sees the two events does not
 * decide.  Otherwise the job is signalled and ends cancelled whatever its
 * exit status (exec_finish()). */
static void job_kill(struct exec_job *job)
{
	struct exec_state *es = job->d->exec;
	int ws;

	if (job->term_sent || atomic_load_explicit(&job->done, memory_order_relaxed))
		return;
	if (!job->reaped && job->in_table && waitpid(job->pid, &ws, WNOHANG) == job->pid) {
		exec_child_reaped(job->d, job->pid, ws); /* may complete the job */
		if (atomic_load_explicit(&job->done, memory_order_relaxed))
			return;
	}
	if (job->reaped && (job->lo_phase || !job_group_alive(job)))
		job->ended_before_cancel = true;
	job->term_sent = true;
	/* A paused job is thawed first: it gets SIGTERM and its grace. */
	job_thaw(job);
	if (job->lo_phase) {
		/* Its group is gone (and its id may be someone else's): only
		 * what it left, already being ended on its own grace; in
		 * cgroup mode they get this SIGTERM too (once). */
		if (job->cg_made)
			(void)cgroup_job_signal(es->cg, job->cg_name, SIGTERM, NULL, NULL, 0, 0);
		return;
	}
	/* Its group, while the leader is unreaped, and the processes that
	 * left the group; after the reap, only the job's processes. */
	job_signal_all(job, SIGTERM);
	job_start_grace(job);
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
static int build_env(const struct rnode *n, const struct passwd *pw, const char *marker,
		     char ***ret_envp, char **owned, size_t *n_owned, const char **ret_path)
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
	/* Marks the job's processes, so that they can be found again after
	 * they leave its group or after a crash (job-proc.h). */
	owned[no++] = envp[ne++] = xasprintf(PROC_JOB_MARKER "=%s", marker);
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

/* Whether the attempt that just ended is followed by another: it failed or
 * timed out, attempts are left, and no cancellation reached the node. */
static bool job_should_retry(const struct exec_job *job)
{
	const struct rnode *n = job->n;

	if (!n->attempts || job->attempt >= n->def->retries || job->cancel_seen ||
	    job->never_started)
		return false;
	return job->timed_out || job->error || job->exit_code != 0;
}

static void job_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_job *job = w->data;

	job->retry_active = false;
	if (job->n->paused) {
		job->held_retry = true;
		return;
	}
	job_start(job);
}

/* Records the attempt that ended, resets the job and waits for the next
 * attempt: retry_delay_ms, times retry_backoff per earlier retry. */
static void job_retry(struct exec_job *job)
{
	struct coopd *d = job->d;
	struct rnode *n = job->n;
	struct node_attempt *a = &n->attempts[job->attempt];
	double delay = (double)n->def->retry_delay_ms;
	char why[64];

	a->finished_ms = graph_now_ms();
	a->exit_code = job->exit_code;
	a->term_signal = job->term_signal;
	a->timed_out = job->timed_out;
	snprintf(why, sizeof(why), "timed out after %lld ms", (long long)n->def->timeout_ms);
	a->error = job->error ? strdup(job->error) : job->timed_out ? strdup(why) : NULL;
	for (unsigned k = 0; k < job->attempt; k++)
		delay *= n->def->retry_backoff;
	if (delay > (double)PROTO_MAX_TIME_MS)
		delay = (double)PROTO_MAX_TIME_MS;
	n->att_done = (uint8_t)(job->attempt + 1);
	d->counters.retries[JOB_EXEC]++;
	log_info("graph %s node %s: attempt %u of %u %s; next in %.0f ms", n->g->id, n->def->path,
		 job->attempt + 1u, n->def->retries + 1u, a->timed_out ? "timed out" : "failed",
		 delay);
	if (n->state == PROTO_STATE_CANCELLING) {
		/* Only the attempt's timeout was stopping it: running again. */
		n->cancel_reason = -1;
		n->cancel_requested_ms = -1;
		graph_set_state(d, n, PROTO_STATE_RUNNING);
	} else {
		graph_registry_node_changed(d, n, false);
	}
	free(job->error);
	job->error = NULL;
	job->pid = 0;
	job->spawned = job->reaped = job->term_sent = job->kill_sent = false;
	job->lo_phase = job->lo_killed = false;
	job->n_lo = 0;
	job->wstatus = 0;
	job->exit_code = -1;
	job->term_signal = 0;
	job->timed_out = false;
	free(job->limit_error);
	job->limit_error = NULL;
	job->leader_start = 0;
	for (int s = 0; s < 2; s++) {
		job->log_len[s] = job->dropped[s] = 0;
		job->log_failed[s] = false;
	}
	job->attempt++;
	/* The delay counts from finished_ms, read from the clock just now; the
	 * loop's cached time can be older (a busy iteration), and a timer set
	 * against it would fire early by that much. */
	ev_now_update(d->loop);
	ev_timer_init(&job->retry_timer, job_retry_cb, delay / 1000., 0.);
	job->retry_timer.data = job;
	ev_timer_start(d->loop, &job->retry_timer);
	job->retry_active = true;
}

/* An attempt's timeout_ms passed (nodes with retries): stop it as a
 * cancel would; job_complete() then retries it or ends the node. */
static void job_attempt_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exec_job *job = w->data;

	job->attempt_timer_active = false;
	if (job->term_sent || atomic_load_explicit(&job->done, memory_order_relaxed))
		return;
	job->timed_out = true;
	/* A timeout that fired, like one libcoop times (docs/metrics.md). */
	coop_rt_count_cancel(job->d->rt, COOP_REASON_TIMEOUT);
	graph_run_node_cancelling(job->d, job->n, COOP_REASON_TIMEOUT);
	if (job->n->def->placement == PROTO_PLACEMENT_SLURM)
		slurm_job_cancel(job->sj, COOP_REASON_TIMEOUT);
	else
		job_kill(job);
}

/* Placement slurm: one attempt is one Slurm job (job-slurm.c), with the
 * attempt's own timeout as for a local job. */
static void job_start_slurm(struct exec_job *job)
{
	const struct rnode *n = job->n;

	job->spawned = true;
	if (n->attempts && n->def->timeout_ms >= 0) {
		ev_timer_init(&job->attempt_timer, job_attempt_timeout_cb,
			      (double)n->def->timeout_ms / 1000., 0.);
		job->attempt_timer.data = job;
		ev_timer_start(job->d->loop, &job->attempt_timer);
		job->attempt_timer_active = true;
	}
	job->sj = slurm_job_start(job->d, job->n, job, job->attempt + 1u);
}

/* Spawns the process; on failure the job completes at once with an error.
 * The log files are not made here but at the first output byte
 * (job_read_stream): creating two files per job was most of the loop's
 * time per short job. */
static void job_start(struct exec_job *job)
{
	struct coopd *d = job->d;
	struct exec_state *es = d->exec;
	struct rnode *n = job->n;
	const struct proto_node *def = n->def;
	char cmd[4096];
	struct job_owner *own;
	const struct passwd *pw;
	char *owned[8] = {NULL};
	size_t n_owned = 0;
	char **envp = NULL;
	const char *path, *cwd;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	bool as_user = es->root && n->g->uid != 0;
	struct spawn_req q;
	enum spawn_step step;
	char why[160] = "";
	int64_t now;
	pid_t pid;
	int r, s;

	snprintf(job->marker, sizeof(job->marker), "%s/%u", n->g->id, n->idx);
	if (n->attempts) {
		/* The node's own fields are the attempt's that runs. */
		if (job->attempt > 0) {
			n->exit_code = -1;
			n->term_signal = 0;
			free(n->error);
			n->error = NULL;
		}
	}
	if (def->placement == PROTO_PLACEMENT_SLURM) {
		job_start_slurm(job);
		return;
	}
	own = job_owner_get(es->owners, n->g->id, n->g->uid);
	if (!own) {
		job_fail(job, "owner's account", -ENOMEM);
		goto done;
	}
	pw = job_owner_passwd(own);
	r = build_env(n, pw, job->marker, &envp, owned, &n_owned, &path);
	if (r < 0) {
		job_fail(job, "environment", r);
		goto done;
	}
	if (as_user && !pw) {
		job_fail(job, "no passwd entry for the graph's owner", ENOENT);
		goto done;
	}
	if (as_user) {
		/* The cwd and the program are checked by the child once it has
		 * the owner's credentials (job-spawn.c): checked here, as root,
		 * "No such file" against "Permission denied" would tell any
		 * user what exists where they may not look (docs/security.md,
		 * "Checks made as the job's owner"). */
		cwd = def->cwd ? def->cwd : pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/";
	} else {
		cwd = def->cwd ? def->cwd : job_owner_home_cwd(own);
		r = job_owner_check_cwd(own, cwd);
		if (r < 0) {
			char what[4200];

			snprintf(what, sizeof(what), "cwd %s", cwd);
			job_fail(job, what, r);
			goto done;
		}
		r = job_owner_resolve(own, def->argv[0], path, cwd, cmd, sizeof(cmd));
		if (r < 0) {
			job_fail(job, def->argv[0], r);
			goto done;
		}
	}
	q = (struct spawn_req){
		.cmd = cmd, .cwd = cwd, .argv = def->argv, .envp = envp, .cg_dfd = -1};
	if (as_user) {
		q.cmd = NULL;
		q.path = path;
		/* Without a cwd of its own the job starts in its home, or in /
		 * when the owner cannot enter it (as job_owner_home_cwd()). */
		q.cwd_fallback = def->cwd ? NULL : "/";
		q.pw = pw;
		r = job_owner_groups(own, &q.groups, &q.ngroups);
		if (r < 0) {
			job_fail(job, "supplementary groups of the graph's owner", r);
			goto done;
		}
	}
	if (es->n_reset_sigs < 0)
		es->n_reset_sigs = spawn_reset_sigs(es->reset_sigs);
	q.reset_sigs = es->reset_sigs;
	q.n_reset_sigs = es->n_reset_sigs;
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
		job_fail(job, "pipe", -errno);
		goto done;
	}
	/* The child's ends must block: clear O_NONBLOCK on the write ends. */
	(void)fcntl(out[1], F_SETFL, 0);
	(void)fcntl(err[1], F_SETFL, 0);
	q.out_w = out[1];
	q.err_w = err[1];
	if (es->cg) {
		/* The cgroup exists before the process: a crash at any later
		 * point leaves it for the next start to kill. */
		r = cgroup_job_name(n->g->id, n->idx, job->cg_name, sizeof(job->cg_name));
		if (r == 0)
			r = cgroup_job_create(es->cg, job->cg_name);
		if (r < 0) {
			char what[256];

			snprintf(what, sizeof(what), "cgroup %s/%s", cgroup_instance_path(es->cg),
				 job->cg_name);
			job_fail(job, what, r);
			goto done;
		}
		job->cg_made = true;
		q.cg_dfd = cgroup_instance_fd(es->cg);
		q.cg_name = job->cg_name;
		if (def->limits) {
			struct cgroup_limits cl = {.memory_max = def->limits->memory_max,
						   .pids_max = def->limits->pids_max,
						   .cpu_max = def->limits->cpu_max};
			const char *file = "";

			r = cgroup_job_set_limits(es->cg, job->cg_name, &cl, &file);
			if (r < 0) {
				char what[256];

				snprintf(what, sizeof(what), "limits: cannot write %s of cgroup %s",
					 file, job->cg_name);
				job_fail(job, what, r);
				if (cgroup_job_remove(es->cg, job->cg_name) == 0)
					job->cg_made = false;
				goto done;
			}
		}
	}
	if (def->limits) {
		q.nofile = def->limits->nofile > 0 ? def->limits->nofile : 0;
		q.cpu_seconds = def->limits->cpu_seconds > 0 ? def->limits->cpu_seconds : 0;
	}
	r = spawn_rlimits_check(&q, why, sizeof(why));
	if (r == 0)
		r = spawn_job(&q, &pid, &step);
	if (r < 0) {
		char what[4200];

		if (why[0])
			snprintf(what, sizeof(what), "limits: %s", why);
		else if (step == SPAWN_STEP_STOPPED)
			snprintf(what, sizeof(what),
				 "%s: stopped by a signal before its exec, and killed",
				 def->argv[0]);
		else if (step == SPAWN_STEP_CWD)
			snprintf(what, sizeof(what), "cwd %s", cwd);
		else if (step == SPAWN_STEP_EXEC && as_user)
			snprintf(what, sizeof(what), "%s", def->argv[0]);
		else
			snprintf(what, sizeof(what), "exec %s (cwd %s)", def->argv[0], cwd);
		job_fail(job, what, r);
		if (job->cg_made && cgroup_job_remove(es->cg, job->cg_name) == 0)
			job->cg_made = false;
		goto done;
	}
	job->pid = pid;
	job->spawned = true;
	n->pgid = pid;
	/* The leader's start time tells it apart from a later process with
	 * its pid: needed to find what a job left as a subreaper (and after
	 * a crash, from the spawn record).  A cgroup per job needs none of
	 * that (the next start kills the job cgroups a crash left). */
	if (!job->cg_made)
		n->pg_start = job->leader_start = proc_start_time(pid);
	job->spawn_ns = coop_now_ns();
	active_add(job);
	if (lh_table_insert(d->exec_pids, (void *)(intptr_t)pid, job) == 0)
		job->in_table = true;
	for (s = 0; s < 2; s++) {
		job->pipes[s] = s ? err[0] : out[0];
		ev_io_init(&job->io[s], job_io_cb, job->pipes[s], EV_READ);
		job->io[s].data = job;
		ev_io_start(d->loop, &job->io[s]);
	}
	out[0] = err[0] = -1;
	if (n->attempts && def->timeout_ms >= 0) {
		/* From the spawn, not from the loop's cached time. */
		ev_now_update(d->loop);
		ev_timer_init(&job->attempt_timer, job_attempt_timeout_cb,
			      (double)def->timeout_ms / 1000., 0.);
		job->attempt_timer.data = job;
		ev_timer_start(d->loop, &job->attempt_timer);
		job->attempt_timer_active = true;
	}
	log_debug("graph %s node %s: started pid %d", n->g->id, def->path, (int)pid);
done:
	for (s = 0; s < 2; s++) {
		if (out[s] >= 0)
			close(out[s]);
		if (err[s] >= 0)
			close(err[s]);
	}
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(envp);
	now = graph_now_ms();
	if (n->attempts) {
		n->attempts[job->attempt].started_ms = now;
		n->att_started = (uint8_t)(job->attempt + 1);
	}
	graph_run_node_running(d, n, now);
	if (!job->spawned)
		job_complete(job);
}

void exec_job_slurm_running(struct exec_job *job)
{
	struct rnode *n = job->n;
	int64_t now = graph_now_ms();

	if (n->attempts && n->att_started < job->attempt + 1u) {
		n->attempts[job->attempt].started_ms = now;
		n->att_started = (uint8_t)(job->attempt + 1);
	}
	graph_run_node_running(job->d, n, now);
}

void exec_job_settle(struct exec_job *job, int exit_code, int term_signal, const char *error,
		     bool cancelled, bool never_started)
{
	if (atomic_load_explicit(&job->done, memory_order_relaxed) || job->retry_active)
		return;
	job->exit_code = exit_code;
	job->term_signal = term_signal;
	if (error && !job->error)
		job->error = strdup(error);
	if (cancelled)
		job->term_sent = true;
	job->never_started = never_started && cancelled;
	if (job->attempt_timer_active) {
		ev_timer_stop(job->d->loop, &job->attempt_timer);
		job->attempt_timer_active = false;
	}
	graph_run_exec_result(job->d, job->n, exit_code, term_signal, job->error);
	/* Retries as for a local job: the next attempt is a new Slurm job. */
	if (job_should_retry(job)) {
		slurm_job_detach(job->sj);
		job->sj = NULL;
		job_retry(job);
		return;
	}
	if (job->timed_out && job->n->cancel_ack_ms < 0)
		job->n->cancel_ack_ms = graph_now_ms();
	job_publish(job);
}

/* Placement slurm: job-slurm.c starts and stops the job instead. */
static void exec_job_mail_slurm(struct coopd *d, struct exec_job *job, unsigned bits, int reason)
{
	if ((bits & MAIL_EXEC_SPAWN) && !job->spawned &&
	    !atomic_load_explicit(&job->done, memory_order_relaxed)) {
		if (bits & MAIL_EXEC_KILL) {
			job->never_started = true;
			atomic_store_explicit(&job->done, true, memory_order_release);
			coop_waker_cell_wake(&job->cell);
			return;
		}
		/* Paused: not submitted to Slurm until resume (a job Slurm
		 * already runs is Slurm's and is not frozen). */
		if (job->n->paused) {
			job->held_spawn = true;
			return;
		}
		job_start(job);
	}
	if ((bits & MAIL_EXEC_KILL) && job->spawned)
		slurm_job_cancel(job->sj, reason);
}

void exec_job_mail(struct coopd *d, struct rnode *n, unsigned bits, int reason)
{
	struct exec_job *job = n->job;

	if (!job)
		return;
	if (bits & MAIL_EXEC_KILL) {
		job->cancel_seen = true;
		if (job->retry_active) {
			/* Waiting for its next attempt: no more attempts. */
			ev_timer_stop(d->loop, &job->retry_timer);
			job->retry_active = false;
			job->cancelled_between = true;
			graph_run_node_cancelling(d, n, reason);
			job_publish(job);
			return;
		}
	}
	if ((bits & MAIL_EXEC_KILL) && (job->held_spawn || job->held_retry)) {
		/* Held by a pause: it never starts (again). */
		job->cancelled_between = job->held_retry;
		job->never_started = job->held_spawn;
		job->held_spawn = job->held_retry = false;
		if (job->cancelled_between)
			graph_run_node_cancelling(d, n, reason);
		job_publish(job);
		return;
	}
	if (n->def->placement == PROTO_PLACEMENT_SLURM) {
		exec_job_mail_slurm(d, job, bits, reason);
		return;
	}
	if ((bits & MAIL_EXEC_SPAWN) && !job->spawned &&
	    !atomic_load_explicit(&job->done, memory_order_relaxed)) {
		if (bits & MAIL_EXEC_KILL) {
			/* Cancelled before the reactor got to start it. */
			job->never_started = true;
			atomic_store_explicit(&job->done, true, memory_order_release);
			coop_waker_cell_wake(&job->cell);
			return;
		}
		if (n->paused) {
			job->held_spawn = true;
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
	struct exec_state *es = d->exec;

	for (struct exec_job *job = es->active; job; job = job->act_next) {
		if (job->lo_phase && !job->cg_made)
			(void)job_sweep(job, SIGKILL, SWEEP_ALL);
		else
			job_signal_all(job, SIGKILL);
	}
}

int exec_setup(struct coopd *d)
{
	struct exec_state *es = calloc(1, sizeof(*es));
	const char *why = "";
	int r;

	if (!es)
		return log_errno(LOG_ERR, -ENOMEM, "exec jobs");
	d->job_free = exec_job_free;
	es->n_reset_sigs = -1;
	es->pid_max = proc_pid_max();
	es->root = geteuid() == 0;
	es->owners = job_owners_new();
	if (!es->owners) {
		free(es);
		return log_errno(LOG_ERR, -ENOMEM, "exec jobs");
	}
	d->exec = es;
	es->same_boot = job_boot_same_and_record(d->state_fd);
	if (d->cfg.cgroups == CONFIG_CGROUPS_OFF) {
		log_info("cgroups = off: exec jobs are tracked as a child subreaper");
		return 0;
	}
	r = cgroup_open(d->cfg.cgroup_root, &es->cg, &why);
	if (r < 0) {
		if (d->cfg.cgroups == CONFIG_CGROUPS_ON)
			return log_errno(LOG_ERR, r, "cgroups = on, but %s", why);
		log_info("no cgroup per exec job (%s: %s); they are tracked as a child subreaper",
			 why, strerror(-r));
		if (!d->subreaper)
			log_warn("and coopd is not a child subreaper: processes that leave a job's "
				 "process group are not ended with it");
		return 0;
	}
	log_info("exec jobs get their own cgroup under %s", cgroup_instance_path(es->cg));
	return 0;
}

void exec_teardown(struct coopd *d)
{
	struct exec_state *es = d->exec;

	if (!es)
		return;
	cgroup_close(es->cg);
	job_owners_free(es->owners);
	free(es);
	d->exec = NULL;
}

bool exec_cgroups_active(const struct coopd *d)
{
	return d->exec && d->exec->cg;
}

unsigned exec_cgroup_controllers(const struct coopd *d)
{
	return d->exec ? cgroup_controllers(d->exec->cg) : 0;
}

void exec_job_free(struct exec_job *job)
{
	int s;

	if (!job)
		return;
	if (job->on_active && job->d->exec)
		active_remove(job);
	if (job->in_table)
		lh_table_delete(job->d->exec_pids, (void *)(intptr_t)job->pid);
	if (job->grace_active)
		ev_timer_stop(job->d->loop, &job->grace_timer);
	if (job->gone_active)
		ev_timer_stop(job->d->loop, &job->gone_timer);
	if (job->retry_active)
		ev_timer_stop(job->d->loop, &job->retry_timer);
	if (job->attempt_timer_active)
		ev_timer_stop(job->d->loop, &job->attempt_timer);
	for (s = 0; s < 2; s++) {
		job_close_stream(job, s);
		if (job->log_fd[s] >= 0)
			close(job->log_fd[s]);
	}
	coop_waker_cell_clear(&job->cell);
	slurm_job_detach(job->sj);
	free(job->lo_pids);
	free(job->error);
	free(job->limit_error);
	free(job);
}
