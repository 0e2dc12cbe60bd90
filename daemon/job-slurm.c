/*
 * job-slurm.c - exec nodes on a Slurm cluster: submission, the one poll
 * for all jobs, cancellation and results (job-slurm.h, docs/slurm.md).
 *
 * A struct slurm_job lives from the submission until both its exec job
 * has been freed and no Slurm command that names it is still running
 * (refs).  Jobs with a Slurm id that have not settled are in a table by
 * id and a list; the poll timer runs while the list is not empty.  The
 * poll asks squeue about exactly the ids of that list; a job the answer
 * leaves out is asked about with scontrol (it ended longer ago than
 * squeue shows, or Slurm forgot it).
 *
 * Mapping (docs/slurm.md "States"): Slurm PENDING (and other queued
 * states) keeps the node pending; RUNNING makes it running; COMPLETED
 * with exit 0 succeeds; a non-zero exit or a signal fails; CANCELLED
 * after coopd asked is cancelled, CANCELLED by someone else fails; every
 * other end state (TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, ...) fails with an
 * error naming it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/linkhash.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-run.h"
#include "job-exec.h"
#include "job-owner.h"
#include "job-proc.h"
#include "job-slurm-cmd.h"
#include "job-slurm-parse.h"
#include "job-slurm.h"
#include "store-db.h"
#include "store-state.h"
#include "util-log.h"

#define SUBMIT_TRIES 5         /* sbatch attempts when Slurm cannot be reached */
#define RETRY_FIRST_S 0.5      /* first back-off after a failed command */
#define RETRY_MAX_S 30.0       /* back-off bound */
#define CANCEL_POLL_S 0.05     /* a poll this soon after a cancel was sent */
#define IDS_ARG_MAX (1u << 20) /* bytes of squeue's --jobs list */

struct slurm_job {
	struct slurm_state *s;
	struct rnode *n; /* NULL once detached */
	struct exec_job *ej;
	unsigned refs; /* the exec job's + commands in flight */
	uint64_t id;   /* 0 until sbatch answered */
	char gid[GRAPH_ID_LEN + 1];
	uint32_t idx;
	unsigned attempt; /* the node's attempt, from 1 */
	uid_t uid;
	int tries;
	bool cancel_wanted, cancel_sent, kill_sent, settled, in_table, in_poll;
	bool asking;      /* scontrol in flight */
	bool ran;         /* seen running (or ended after running) */
	bool hold_wanted; /* paused: held in Slurm's queue while pending */
	bool held;        /* `scontrol hold` sent and not yet released */
	ev_timer grace, retry;
	bool grace_active, retry_active;
	struct slurm_job *prev, *next; /* s->polled */
};

struct slurm_state {
	struct coopd *d;
	struct slurm_cmds *cmds;
	struct job_owners *owners;
	char *spool;
	struct lh_table *by_id; /* Slurm id -> struct slurm_job (polled ones) */
	struct slurm_job *polled;
	size_t n_polled;
	ev_timer poll;
	bool poll_active, poll_inflight;
	double backoff; /* after a failed squeue; 0: none */
	uint64_t polls, submitted;
	uint64_t recover_ids[64]; /* start-up: jobs to cancel once the loop runs */
	size_t n_recover;
	ev_idle recover_idle;
};

static void job_unref(struct slurm_job *sj)
{
	if (--sj->refs > 0)
		return;
	if (sj->grace_active)
		ev_timer_stop(sj->s->d->loop, &sj->grace);
	if (sj->retry_active)
		ev_timer_stop(sj->s->d->loop, &sj->retry);
	free(sj);
}

static const struct slurm_as *owner_as(struct slurm_state *s, struct slurm_job *sj,
				       struct slurm_as *as, const char **err)
{
	struct job_owner *own;

	*err = NULL;
	if (geteuid() != 0 || sj->uid == 0)
		return NULL; /* coopd runs as its own user, or the owner is root */
	own = job_owner_get(s->owners, sj->gid, sj->uid);
	if (!own || !(as->pw = job_owner_passwd(own))) {
		*err = "no passwd entry for the graph's owner";
		return NULL;
	}
	if (job_owner_groups(own, &as->groups, &as->ngroups) < 0) {
		*err = "cannot read the supplementary groups of the graph's owner";
		return NULL;
	}
	return as;
}

int slurm_log_path(struct coopd *d, const char *gid, uint32_t idx, unsigned attempt, int stream,
		   char *buf, size_t size)
{
	const char *spool = d->slurm ? d->slurm->spool : d->cfg.slurm_spool_dir;
	char def[4096];
	int n;

	if (!spool) {
		snprintf(def, sizeof(def), "%s/slurm", d->cfg.state_dir);
		spool = def;
	}
	if (attempt > 1)
		n = snprintf(buf, size, "%s/%s/%u.a%u.%s", spool, gid, idx, attempt,
			     stream ? "err" : "out");
	else
		n = snprintf(buf, size, "%s/%s/%u.%s", spool, gid, idx, stream ? "err" : "out");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int slurm_log_open(struct coopd *d, const struct graph *g, uint32_t idx, unsigned attempt,
		   int stream)
{
	char path[4096];
	struct stat st;
	int fd;

	if (slurm_log_path(d, g->id, idx, attempt, stream, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	/* Slurm writes the files as the job's owner, in a directory of the
	 * owner's: a file of anyone else there (coopd's own root included)
	 * was linked in, and is not read back to the owner. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != g->uid) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int slurm_log_link(struct coopd *d, const char *from_gid, const struct graph *g, uint32_t idx,
		   unsigned attempt, int stream)
{
	char from[4096], to[4096], *slash;

	if (slurm_log_path(d, from_gid, idx, attempt, stream, from, sizeof(from)) < 0 ||
	    slurm_log_path(d, g->id, idx, attempt, stream, to, sizeof(to)) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(to, '/');
	*slash = '\0';
	/* As submit() makes it: the owner's Slurm jobs write there. */
	if (mkdir(to, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (geteuid() == 0 && chown(to, g->uid, g->gid) < 0)
		return -errno;
	*slash = '/';
	/* No AT_SYMLINK_FOLLOW: a symbolic link the owner left is linked as
	 * itself, and slurm_log_open() refuses it. */
	if (linkat(AT_FDCWD, from, AT_FDCWD, to, 0) < 0)
		return -errno;
	return 0;
}

/*
 * Polling.
 */

static void poll_schedule(struct slurm_state *s, double after);

static void polled_add(struct slurm_state *s, struct slurm_job *sj)
{
	if (lh_table_insert(s->by_id, (void *)(uintptr_t)sj->id, sj) == 0)
		sj->in_table = true;
	sj->prev = NULL;
	sj->next = s->polled;
	if (s->polled)
		s->polled->prev = sj;
	s->polled = sj;
	s->n_polled++;
	sj->refs++;
	sj->in_poll = true;
	poll_schedule(s, s->d->cfg.slurm_poll_ms / 1000.);
}

static void polled_remove(struct slurm_state *s, struct slurm_job *sj)
{
	if (!sj->in_poll)
		return;
	if (sj->in_table)
		lh_table_delete(s->by_id, (void *)(uintptr_t)sj->id);
	sj->in_table = false;
	if (sj->prev)
		sj->prev->next = sj->next;
	else
		s->polled = sj->next;
	if (sj->next)
		sj->next->prev = sj->prev;
	sj->in_poll = false;
	s->n_polled--;
	job_unref(sj);
}

/* The node's Slurm id and state: status, watch, the store. */
static void note_state(struct slurm_job *sj, const char *state)
{
	struct rnode *n = sj->n;
	bool changed;

	if (!n)
		return;
	if (!n->slurm) {
		n->slurm = calloc(1, sizeof(*n->slurm));
		if (!n->slurm)
			return;
	}
	changed = n->slurm->job_id != sj->id || strcmp(n->slurm->state, state) != 0;
	n->slurm->job_id = sj->id;
	snprintf(n->slurm->state, sizeof(n->slurm->state), "%s", state);
	if (!changed)
		return;
	graph_registry_node_changed(sj->s->d, n, true);
}

/* Publishes the end of the job to its exec task. */
static void job_settle(struct slurm_job *sj, const struct slurm_job_info *info, const char *error)
{
	struct slurm_state *s = sj->s;
	char msg[512];
	int exit_code = -1, sig = 0;
	bool cancelled = false, never = false;

	if (sj->settled)
		return;
	sj->settled = true;
	if (sj->grace_active) {
		ev_timer_stop(s->d->loop, &sj->grace);
		sj->grace_active = false;
	}
	if (info) {
		enum slurm_class cl = slurm_state_class(info->state);

		note_state(sj, info->state);
		exit_code = info->exit_code;
		sig = info->term_signal;
		if (sj->cancel_wanted) {
			/* We asked: it is cancelled unless it still exited 0;
			 * a job that never ran was never started. */
			cancelled = true;
			never = sj->n && sj->n->state == PROTO_STATE_PENDING;
		} else if (cl == SLURM_CLASS_CANCELLED) {
			snprintf(msg, sizeof(msg), "Slurm job %llu: CANCELLED (not by coopd)",
				 (unsigned long long)sj->id);
			error = msg;
		} else if (cl == SLURM_CLASS_FAILED) {
			snprintf(msg, sizeof(msg), "Slurm job %llu: %s", (unsigned long long)sj->id,
				 info->state);
			error = msg;
		}
	}
	log_debug("graph %s node %u: Slurm job %llu settled (%s)", sj->gid, sj->idx,
		  (unsigned long long)sj->id, info ? info->state : error);
	/* A job that ended between two polls ran all the same. */
	if (info && !never && sj->ej && !sj->ran) {
		sj->ran = true;
		exec_job_slurm_running(sj->ej);
	}
	/* A retry detaches this job from its exec job: keep it until done. */
	sj->refs++;
	if (sj->ej)
		exec_job_settle(sj->ej, exit_code, sig, error, cancelled, never);
	polled_remove(s, sj);
	job_unref(sj);
}

static void job_update(struct slurm_job *sj, const struct slurm_job_info *info)
{
	enum slurm_class cl = slurm_state_class(info->state);

	if (sj->settled)
		return;
	if (cl >= SLURM_CLASS_COMPLETED) {
		job_settle(sj, info, NULL);
		return;
	}
	if (cl == SLURM_CLASS_RUNNING && sj->ej && !sj->ran) {
		/* Running from now; the id is already durable (id_durable). */
		sj->ran = true;
		exec_job_slurm_running(sj->ej);
	}
	note_state(sj, info->state);
}

static void scontrol_done(struct coopd *d, const struct slurm_cmd_result *r, void *arg)
{
	struct slurm_job *sj = arg;
	struct slurm_job_info info;

	sj->asking = false;
	if (!sj->settled && sj->n) {
		if (slurm_cmd_ok(r) && slurm_parse_scontrol(r->out, &info) == 0 &&
		    info.job_id == sj->id)
			job_update(sj, &info);
		else if (!r->start_error && !r->timed_out && strstr(r->err, "Invalid job id")) {
			char msg[160];

			snprintf(msg, sizeof(msg), "Slurm no longer knows job %llu",
				 (unsigned long long)sj->id);
			job_settle(sj, NULL, msg);
		}
		/* Else: asked again after the next poll. */
	}
	job_unref(sj);
}

static void ask_scontrol(struct slurm_state *s, struct slurm_job *sj)
{
	char id[32];
	char *args[] = {"-o", "show", "job", id, NULL};

	if (sj->asking)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)sj->id);
	if (slurm_cmd_run(s->cmds, SLURM_CMD_SCONTROL, args, NULL, "/", scontrol_done, sj) == 0) {
		sj->asking = true;
		sj->refs++;
	}
}

struct poll_ctx {
	struct slurm_state *s;
	uint64_t *ids; /* the jobs asked about */
	size_t n;
	unsigned char *seen;
};

static void poll_seen(const struct slurm_job_info *info, void *arg)
{
	struct poll_ctx *pc = arg;
	struct slurm_job *sj = NULL;

	if (!lh_table_lookup_ex(pc->s->by_id, (void *)(uintptr_t)info->job_id, (void **)&sj) || !sj)
		return;
	for (size_t i = 0; i < pc->n; i++)
		if (pc->ids[i] == info->job_id) {
			pc->seen[i] = 1;
			break;
		}
	job_update(sj, info);
}

static void poll_done(struct coopd *d, const struct slurm_cmd_result *r, void *arg)
{
	struct poll_ctx *pc = arg;
	struct slurm_state *s = pc->s;
	struct slurm_parse_error err = {0, "truncated"};
	int n = -EINVAL;

	s->poll_inflight = false;
	if (slurm_cmd_ok(r) && !r->truncated)
		n = slurm_parse_squeue(r->out, r->out_len, poll_seen, pc, &err);
	if (n < 0) {
		if (slurm_cmd_ok(r))
			log_warn("squeue answered something that is not its job list "
				 "(line %u: %s); asking again",
				 err.line, err.reason);
		s->backoff = s->backoff > 0 ? s->backoff * 2 : RETRY_FIRST_S;
		if (s->backoff > RETRY_MAX_S)
			s->backoff = RETRY_MAX_S;
	} else {
		s->backoff = 0;
		for (size_t i = 0; i < pc->n; i++) {
			struct slurm_job *sj = NULL;

			if (pc->seen[i] ||
			    !lh_table_lookup_ex(s->by_id, (void *)(uintptr_t)pc->ids[i],
						(void **)&sj) ||
			    !sj)
				continue;
			ask_scontrol(s, sj);
		}
	}
	free(pc->ids);
	free(pc->seen);
	free(pc);
	if (s->n_polled > 0)
		poll_schedule(s, s->backoff > 0 ? s->backoff : d->cfg.slurm_poll_ms / 1000.);
}

static void poll_run(struct slurm_state *s)
{
	struct poll_ctx *pc;
	struct strbuf sb;
	char *ids;
	size_t i = 0;

	if (s->poll_inflight || s->n_polled == 0)
		return;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		goto oom;
	pc->s = s;
	pc->ids = calloc(s->n_polled, sizeof(*pc->ids));
	pc->seen = calloc(s->n_polled, 1);
	if (!pc->ids || !pc->seen)
		goto oom;
	sb_init(&sb);
	sb_puts(&sb, "--jobs=");
	for (struct slurm_job *sj = s->polled; sj && sb.len < IDS_ARG_MAX; sj = sj->next) {
		sb_printf(&sb, "%s%llu", i ? "," : "", (unsigned long long)sj->id);
		pc->ids[i++] = sj->id;
	}
	pc->n = i;
	ids = sb_steal(&sb, NULL);
	if (!ids)
		goto oom;
	{
		char *args[] = {"--noheader", SLURM_SQUEUE_FORMAT, "--states=all", ids, NULL};

		if (slurm_cmd_run(s->cmds, SLURM_CMD_SQUEUE, args, NULL, "/", poll_done, pc) < 0) {
			free(ids);
			goto oom;
		}
	}
	free(ids);
	s->poll_inflight = true;
	s->polls++;
	return;
oom:
	if (pc) {
		free(pc->ids);
		free(pc->seen);
		free(pc);
	}
	log_err("out of memory polling Slurm; trying again");
	poll_schedule(s, RETRY_MAX_S);
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct slurm_state *s = w->data;

	s->poll_active = false;
	poll_run(s);
}

/* The next poll in at most `after` seconds (an earlier one stays). */
static void poll_schedule(struct slurm_state *s, double after)
{
	struct ev_loop *loop = s->d->loop;

	if (s->poll_inflight)
		return; /* poll_done schedules the next */
	if (s->poll_active) {
		if (ev_timer_remaining(loop, &s->poll) <= after)
			return;
		ev_timer_stop(loop, &s->poll);
	}
	ev_timer_set(&s->poll, after, 0.);
	ev_timer_start(loop, &s->poll);
	s->poll_active = true;
}

/*
 * Cancellation.
 */

static void scancel_done(struct coopd *d, const struct slurm_cmd_result *r, void *arg)
{
	struct slurm_job *sj = arg;

	/* Whether it worked shows in the poll: the job ends, or the grace
	 * runs out and SIGKILL follows.  See it soon. */
	if (!sj->settled && sj->in_poll)
		poll_schedule(sj->s, CANCEL_POLL_S + d->cfg.slurm_poll_ms / 10000.);
	job_unref(sj);
}

static void run_scancel(struct slurm_job *sj, const char *signal)
{
	struct slurm_state *s = sj->s;
	struct slurm_as asbuf;
	const struct slurm_as *as;
	const char *why;
	char id[32], sigopt[32];
	char *args[5];
	size_t k = 0;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)sj->id);
	if (signal) {
		snprintf(sigopt, sizeof(sigopt), "--signal=%s", signal);
		args[k++] = sigopt;
		args[k++] = "--full";
	}
	args[k++] = id;
	args[k] = NULL;
	/* As the owner, as it was submitted; coopd itself if that fails
	 * (a job is never left running for want of a passwd entry). */
	as = owner_as(s, sj, &asbuf, &why);
	if (slurm_cmd_run(s->cmds, SLURM_CMD_SCANCEL, args, as, "/", scancel_done, sj) == 0)
		sj->refs++;
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct slurm_job *sj = w->data;

	sj->grace_active = false;
	if (sj->settled || sj->kill_sent)
		return;
	sj->kill_sent = true;
	log_debug("graph %s node %u: grace over, SIGKILL to Slurm job %llu", sj->gid, sj->idx,
		  (unsigned long long)sj->id);
	run_scancel(sj, "KILL");
}

static void hold_done(struct coopd *d, const struct slurm_cmd_result *r, void *arg)
{
	struct slurm_job *sj = arg;
	char why[300];

	if (!slurm_cmd_ok(r)) {
		/* Typically: it started meanwhile (a running job cannot be held). */
		slurm_cmd_describe(r, why, sizeof(why));
		log_info("graph %s node %u: scontrol on Slurm job %llu: %s", sj->gid, sj->idx,
			 (unsigned long long)sj->id, why);
	}
	job_unref(sj);
}

/* Holds (pause) or releases (resume) a submitted job that Slurm has not
 * started: `scontrol hold|release ID` as the owner, as it was submitted. */
static void run_hold(struct slurm_job *sj, bool hold)
{
	struct slurm_state *s = sj->s;
	struct slurm_as asbuf;
	const struct slurm_as *as;
	const char *why;
	char id[32];
	char *args[3] = {hold ? "hold" : "release", id, NULL};

	if (sj->held == hold || sj->settled || sj->cancel_sent || (hold && sj->ran))
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)sj->id);
	as = owner_as(s, sj, &asbuf, &why);
	if (slurm_cmd_run(s->cmds, SLURM_CMD_SCONTROL, args, as, "/", hold_done, sj) == 0) {
		sj->refs++;
		sj->held = hold;
	}
}

void slurm_job_pause(struct slurm_job *sj, bool pause)
{
	if (!sj || sj->settled)
		return;
	sj->hold_wanted = pause;
	if (sj->id) /* else: held once sbatch has answered */
		run_hold(sj, pause);
}

/* The job has an id and coopd wants it gone. */
static void job_stop(struct slurm_job *sj)
{
	struct rnode *n = sj->n;
	int64_t grace;

	if (sj->cancel_sent || sj->settled)
		return;
	sj->cancel_sent = true;
	if (!n || n->state == PROTO_STATE_PENDING) {
		/* Nothing runs yet: take it out of the queue. */
		run_scancel(sj, NULL);
		return;
	}
	/* SIGTERM to the batch shell and every step, then the grace. */
	run_scancel(sj, "TERM");
	grace = n->grace_override_ms >= 0 ? n->grace_override_ms : n->def->grace_ms;
	ev_timer_init(&sj->grace, grace_cb, (double)grace / 1000., 0.);
	sj->grace.data = sj;
	ev_timer_start(sj->s->d->loop, &sj->grace);
	sj->grace_active = true;
}

void slurm_job_cancel(struct slurm_job *sj, int reason)
{
	if (!sj || sj->settled)
		return;
	if (sj->n)
		graph_run_node_cancelling(sj->s->d, sj->n, reason);
	sj->cancel_wanted = true;
	if (sj->id)
		job_stop(sj);
	/* Else: sbatch is under way; stopped once it answers.  A job that
	 * waits for a retry of sbatch is never submitted. */
	if (!sj->id && sj->retry_active) {
		ev_timer_stop(sj->s->d->loop, &sj->retry);
		sj->retry_active = false;
		sj->settled = true;
		if (sj->ej)
			exec_job_settle(sj->ej, -1, 0, NULL, true, true);
		job_unref(sj); /* the timer's */
	}
}

/*
 * Submission.
 */

static int submit(struct slurm_job *sj);

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct slurm_job *sj = w->data;

	sj->retry_active = false;
	if (!sj->settled && sj->ej)
		(void)submit(sj);
	job_unref(sj);
}

/* Whether sbatch's failure is Slurm being unreachable or busy (worth
 * another try) rather than a refusal of this job. */
static bool transient(const struct slurm_cmd_result *r)
{
	static const char *const msgs[] = {"Socket timed out",
					   "Unable to contact slurm controller",
					   "Resource temporarily unavailable",
					   "Zero Bytes were transmitted",
					   "Connection refused",
					   "Slurm temporarily unable",
					   NULL};

	if (r->timed_out || r->start_error == -EAGAIN || r->start_error == -ENOMEM)
		return true;
	if (WIFSIGNALED(r->wstatus))
		return true;
	for (size_t i = 0; msgs[i]; i++)
		if (strstr(r->err, msgs[i]))
			return true;
	return false;
}

static void id_durable(struct coopd *d, struct graph *g, int r, void *arg);

static void sbatch_done(struct coopd *d, const struct slurm_cmd_result *r, void *arg)
{
	struct slurm_job *sj = arg;
	struct slurm_state *s = sj->s;
	char why[600], msg[700];
	uint64_t id;

	if (slurm_cmd_ok(r) && slurm_parse_sbatch(r->out, &id) == 0) {
		sj->id = id;
		s->submitted++;
		note_state(sj, "PENDING");
		if (sj->hold_wanted) /* paused while sbatch ran */
			run_hold(sj, true);
		log_debug("graph %s node %u: Slurm job %llu", sj->gid, sj->idx,
			  (unsigned long long)id);
		/* The id is durable before the node can be reported running:
		 * polling (which makes it running) starts once it is. */
		if (sj->n && store_node_durable(d->store, sj->n, id_durable, sj) == 0)
			return; /* the reference passes to id_durable */
		log_err("graph %s node %u: Slurm job %llu could not be stored now", sj->gid,
			sj->idx, (unsigned long long)id);
		id_durable(d, NULL, -ENOMEM, sj);
		return;
	}
	if (!sj->settled && sj->ej && !sj->cancel_wanted && transient(r) &&
	    ++sj->tries < SUBMIT_TRIES) {
		double delay = RETRY_FIRST_S * (double)(1u << (sj->tries - 1));

		ev_timer_init(&sj->retry, retry_cb, delay, 0.);
		sj->retry.data = sj;
		ev_timer_start(d->loop, &sj->retry);
		sj->retry_active = true;
		return; /* the reference passes to the timer */
	}
	if (slurm_cmd_ok(r))
		snprintf(why, sizeof(why), "sbatch answered '%.200s', not a job id", r->out);
	else
		slurm_cmd_describe(r, why, sizeof(why));
	snprintf(msg, sizeof(msg), "Slurm refused the job: %s", why);
	if (!sj->settled && sj->ej) {
		sj->settled = true;
		if (sj->cancel_wanted)
			exec_job_settle(sj->ej, -1, 0, NULL, true, true);
		else
			exec_job_settle(sj->ej, -1, 0, msg, false, true);
	}
	job_unref(sj);
}

static void id_durable(struct coopd *d, struct graph *g, int r, void *arg)
{
	struct slurm_job *sj = arg;

	if (r < 0)
		log_err("graph %s node %u: storing Slurm job %llu: %s", sj->gid, sj->idx,
			(unsigned long long)sj->id, store_db_errtext(r));
	polled_add(sj->s, sj);
	if (sj->cancel_wanted || !sj->ej)
		job_stop(sj);
	job_unref(sj);
}

static char *xconcat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 1);

	if (p) {
		memcpy(p, a, la);
		memcpy(p + la, b, lb + 1);
	}
	return p;
}

/*
 * Writes path with text, 0600, owned by uid/gid when coopd is root.  The
 * graph's spool directory belongs to the graph's owner (their Slurm jobs
 * write there), so whatever has the script's name may have been put there
 * by one of their jobs: a FIFO (opening it for writing would block the
 * loop until someone reads it), a hard link to another file (which O_TRUNC
 * and fchown would take over).  It is removed first (unlink removes a
 * link, not its target) and the script made anew with O_EXCL; O_NONBLOCK
 * so that no open here can wait.
 */
static int write_file(const char *path, const char *text, size_t len, uid_t uid, gid_t gid)
{
	int fd;
	ssize_t w;
	int r = 0;

	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0)
		return -errno;
	if (geteuid() == 0 && fchown(fd, uid, gid) < 0)
		r = -errno;
	while (r == 0 && len > 0) {
		w = write(fd, text, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		text += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* The job's environment: the minimal one of local jobs (coopd.graph(5))
 * plus the node's env; strings into owned[] (freed by the caller). */
static char **job_env(const struct rnode *n, const struct passwd *pw, char **owned, size_t *no)
{
	const struct proto_node *def = n->def;
	char **envp = calloc(8 + def->n_env + 1, sizeof(char *));
	size_t ne = 0;
	char marker[GRAPH_ID_LEN + 16];

	if (!envp)
		return NULL;
	snprintf(marker, sizeof(marker), "%s/%u", n->g->id, n->idx);
	owned[(*no)++] = envp[ne++] = xconcat("PATH=", "/usr/local/bin:/usr/bin:/bin");
	owned[(*no)++] = envp[ne++] = xconcat("HOME=", pw && pw->pw_dir ? pw->pw_dir : "/");
	if (pw && pw->pw_name) {
		owned[(*no)++] = envp[ne++] = xconcat("USER=", pw->pw_name);
		owned[(*no)++] = envp[ne++] = xconcat("LOGNAME=", pw->pw_name);
	}
	owned[(*no)++] = envp[ne++] = xconcat("LANG=", "C.UTF-8");
	owned[(*no)++] = envp[ne++] = xconcat(PROC_JOB_MARKER "=", marker);
	for (size_t i = 0; i < *no; i++)
		if (!owned[i]) {
			free(envp);
			return NULL;
		}
	/* The node's env after: in the script a later export wins. */
	for (size_t i = 0; i < def->n_env; i++)
		envp[ne++] = def->env[i];
	envp[ne] = NULL;
	return envp;
}

/* Writes the script and starts sbatch.  0, or -1 after the job was
 * settled failed (exec_job_settle) at once. */
static int submit(struct slurm_job *sj)
{
	struct slurm_state *s = sj->s;
	struct rnode *n = sj->n;
	const struct proto_node *def = n->def;
	struct job_owner *own = job_owner_get(s->owners, sj->gid, sj->uid);
	const struct passwd *pw = own ? job_owner_passwd(own) : NULL;
	struct slurm_as asbuf;
	const struct slurm_as *as;
	char dir[4096], script[4200], out[4200], err[4200], *owned[8] = {NULL};
	char *args[32] = {NULL}, **envp = NULL;
	size_t no = 0, na = 0, bad = 0;
	struct strbuf sb;
	const char *why = NULL, *cwd;
	char msg[4600];
	int r;

	sb_init(&sb);
	snprintf(dir, sizeof(dir), "%s/%s", s->spool, sj->gid);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(msg, sizeof(msg), "spool directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (geteuid() == 0 && chown(dir, sj->uid, n->g->gid) < 0) {
		snprintf(msg, sizeof(msg), "spool directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (geteuid() == 0 && sj->uid != 0 && !pw) {
		snprintf(msg, sizeof(msg), "no passwd entry for the graph's owner (uid %lu)",
			 (unsigned long)sj->uid);
		goto fail;
	}
	envp = job_env(n, pw, owned, &no);
	if (!envp) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	cwd = def->cwd ? def->cwd : (own ? job_owner_home_cwd(own) : "/");
	/* Slurm goes to /tmp when it cannot enter --chdir; the script's own
	 * cd makes that an error, as it is for a local job. */
	if (slurm_script_build(&sb, envp, def->argv, &bad) < 0) {
		snprintf(msg, sizeof(msg), "env key '%.64s' cannot be passed to a batch script",
			 envp[bad]);
		goto fail;
	}
	{
		/* Insert "cd" before the exec line. */
		struct strbuf full;
		char *exec_at = strstr(sb.buf, "\nexec ");

		sb_init(&full);
		sb_put(&full, sb.buf, (size_t)(exec_at - sb.buf) + 1);
		sb_puts(&full, "cd ");
		slurm_sh_quote(&full, cwd);
		sb_puts(&full, " || exit 126\n");
		sb_puts(&full, exec_at + 1);
		sb_free(&sb);
		sb = full;
	}
	if (sb.oom) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	snprintf(script, sizeof(script), "%s/%u.sh", dir, sj->idx);
	r = write_file(script, sb.buf, sb.len, sj->uid, n->g->gid);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "batch script %s: %s", script, strerror(-r));
		goto fail;
	}
	slurm_log_path(s->d, sj->gid, sj->idx, sj->attempt, 0, out, sizeof(out));
	slurm_log_path(s->d, sj->gid, sj->idx, sj->attempt, 1, err, sizeof(err));
	args[na++] = strdup("--parsable");
	snprintf(msg, sizeof(msg), "--job-name=coopd-%s-%u", sj->gid, sj->idx);
	args[na++] = strdup(msg);
	args[na++] = xconcat("--output=", out);
	args[na++] = xconcat("--error=", err);
	args[na++] = xconcat("--chdir=", cwd);
	args[na++] = strdup("--export=NONE");
	if (slurm_sbatch_options(def->slurm, args, &na) < 0)
		args[na++] = NULL; /* reported below */
	args[na++] = strdup(script);
	for (size_t i = 0; i < na; i++)
		if (!args[i]) {
			snprintf(msg, sizeof(msg), "out of memory");
			goto fail;
		}
	as = owner_as(s, sj, &asbuf, &why);
	if (why) {
		snprintf(msg, sizeof(msg), "%s", why);
		goto fail;
	}
	if (slurm_cmd_run(s->cmds, SLURM_CMD_SBATCH, args, as, dir, sbatch_done, sj) < 0) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto fail;
	}
	sj->refs++;
	r = 0;
	goto out;
fail:
	sj->settled = true;
	r = -1;
	sj->refs++;
	exec_job_settle(sj->ej, -1, 0, msg, false, true);
	job_unref(sj);
out:
	for (size_t i = 0; i < na; i++)
		free(args[i]);
	for (size_t i = 0; i < no; i++)
		free(owned[i]);
	free(envp);
	sb_free(&sb);
	return r;
}

struct slurm_job *slurm_job_start(struct coopd *d, struct rnode *n, struct exec_job *ej,
				  unsigned attempt)
{
	struct slurm_state *s = d->slurm;
	struct slurm_job *sj;

	if (!s) {
		/* Refused at submit; a graph stored before slurm was turned
		 * off can still get here after a restart. */
		exec_job_settle(ej, -1, 0, "placement slurm, but slurm = off in coopd's config",
				false, true);
		return NULL;
	}
	sj = calloc(1, sizeof(*sj));
	if (!sj) {
		exec_job_settle(ej, -1, 0, "out of memory", false, true);
		return NULL;
	}
	sj->s = s;
	sj->n = n;
	sj->ej = ej;
	sj->refs = 1;
	sj->uid = n->g->uid;
	sj->idx = n->idx;
	sj->attempt = attempt;
	snprintf(sj->gid, sizeof(sj->gid), "%s", n->g->id);
	if (n->slurm && n->slurm->reattach && attempt == 1) {
		/* The graph was resumed after a restart: its job lives on. */
		n->slurm->reattach = false;
		sj->id = n->slurm->job_id;
		sj->ran = n->state == PROTO_STATE_RUNNING;
		log_info("graph %s node %s: following Slurm job %llu again", sj->gid, n->def->path,
			 (unsigned long long)sj->id);
		polled_add(s, sj);
		return sj;
	}
	if (submit(sj) < 0) {
		/* Settled already (a retry may be under way with a new job). */
		sj->n = NULL;
		sj->ej = NULL;
		job_unref(sj);
		return NULL;
	}
	return sj;
}

void slurm_job_detach(struct slurm_job *sj)
{
	if (!sj)
		return;
	sj->n = NULL;
	sj->ej = NULL;
	/* A job that has not ended (coopd stopping) is not left behind. */
	if (!sj->settled && sj->id && !sj->cancel_sent)
		job_stop(sj);
	if (sj->settled)
		polled_remove(sj->s, sj);
	job_unref(sj);
}

void slurm_cancel_all(struct coopd *d)
{
	struct slurm_state *s = d->slurm;

	if (!s)
		return;
	for (struct slurm_job *sj = s->polled; sj; sj = sj->next)
		if (!sj->settled && !sj->kill_sent) {
			sj->kill_sent = sj->cancel_sent = sj->cancel_wanted = true;
			run_scancel(sj, NULL);
		}
}

bool slurm_child_reaped(struct coopd *d, pid_t pid, int wstatus)
{
	return d->slurm && slurm_cmd_reaped(d->slurm->cmds, pid, wstatus);
}

/*
 * Restarts: a job of a graph that cannot go on is cancelled.
 */

static void recover_done(struct coopd *d, const struct slurm_cmd_result *r, void *arg)
{
	if (!slurm_cmd_ok(r))
		log_warn("could not cancel a Slurm job left from before the restart");
}

static void recover_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct slurm_state *s = w->data;

	ev_idle_stop(loop, w);
	for (size_t i = 0; i < s->n_recover; i += 16) {
		char *args[18] = {NULL};
		char ids[16][24];
		size_t k = 0;

		for (size_t j = i; j < s->n_recover && j < i + 16; j++) {
			snprintf(ids[k], sizeof(ids[k]), "%llu",
				 (unsigned long long)s->recover_ids[j]);
			args[k] = ids[k];
			k++;
		}
		(void)slurm_cmd_run(s->cmds, SLURM_CMD_SCANCEL, args, NULL, "/", recover_done,
				    NULL);
	}
	s->n_recover = 0;
}

void slurm_recover_note(struct coopd *d, const struct rnode *n)
{
	struct slurm_state *s = d->slurm;

	if (!n->slurm || !n->slurm->job_id)
		return;
	if (!s) {
		log_warn("graph %s node %s: Slurm job %llu may still run, and slurm = off",
			 n->g->id, n->def->path, (unsigned long long)n->slurm->job_id);
		return;
	}
	if (s->n_recover == sizeof(s->recover_ids) / sizeof(s->recover_ids[0])) {
		log_warn("graph %s node %s: Slurm job %llu is not cancelled (too many at once)",
			 n->g->id, n->def->path, (unsigned long long)n->slurm->job_id);
		return;
	}
	log_notice("graph %s node %s: cancelling Slurm job %llu left from before the restart",
		   n->g->id, n->def->path, (unsigned long long)n->slurm->job_id);
	s->recover_ids[s->n_recover++] = n->slurm->job_id;
	ev_idle_start(d->loop, &s->recover_idle);
}

/*
 * Set-up, metrics.
 */

int slurm_setup(struct coopd *d)
{
	struct slurm_state *s;
	char def[4096];
	const char *spool = d->cfg.slurm_spool_dir;
	int r;

	if (!d->cfg.slurm)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return log_errno(LOG_ERR, -ENOMEM, "slurm");
	s->d = d;
	if (!spool) {
		snprintf(def, sizeof(def), "%s/slurm", d->cfg.state_dir);
		spool = def;
	}
	s->spool = strdup(spool);
	s->owners = job_owners_new();
	s->by_id = lh_kptr_table_new(256, NULL);
	if (!s->spool || !s->owners || !s->by_id) {
		r = -ENOMEM;
		goto fail;
	}
	/* Entered by every owner (their own GRAPH directories are 0700). */
	if (mkdir(s->spool, 0711) < 0 && errno != EEXIST) {
		r = log_errno(LOG_ERR, -errno, "slurm_spool_dir %s", s->spool);
		goto fail;
	}
	/* A deleted graph's directory here goes with it (job-slurm-spool.c). */
	if (d->store && (r = store_set_slurm_spool(d->store, s->spool)) < 0)
		goto fail;
	r = slurm_cmds_new(d, &s->cmds);
	if (r < 0)
		goto fail;
	ev_init(&s->poll, poll_cb);
	s->poll.data = s;
	ev_idle_init(&s->recover_idle, recover_cb);
	s->recover_idle.data = s;
	d->slurm = s;
	log_info("slurm = on: spool %s, sbatch %s, poll every %u ms", s->spool,
		 d->cfg.slurm_bin_dir ? d->cfg.slurm_bin_dir : "from PATH", d->cfg.slurm_poll_ms);
	return 0;
fail:
	if (s->by_id)
		lh_table_free(s->by_id);
	job_owners_free(s->owners);
	free(s->spool);
	free(s);
	return r;
}

void slurm_teardown(struct coopd *d)
{
	struct slurm_state *s = d->slurm;

	if (!s)
		return;
	if (s->poll_active)
		ev_timer_stop(d->loop, &s->poll);
	ev_idle_stop(d->loop, &s->recover_idle);
	slurm_cmds_free(s->cmds);
	s->cmds = NULL;
	while (s->polled) {
		struct slurm_job *sj = s->polled;

		sj->refs = 1;
		polled_remove(s, sj);
	}
	lh_table_free(s->by_id);
	job_owners_free(s->owners);
	free(s->spool);
	free(s);
	d->slurm = NULL;
}

void slurm_counts(struct coopd *d, struct slurm_counts *ret)
{
	struct slurm_state *s = d->slurm;

	ret->polls = s ? s->polls : 0;
	ret->jobs_submitted = s ? s->submitted : 0;
}

void slurm_metrics(struct coopd *d, struct strbuf *sb)
{
	struct slurm_state *s = d->slurm;
	static const char *const classes[] = {"pending", "running", "completed", "cancelled",
					      "failed"};
	uint64_t by_class[5] = {0};

	if (!s)
		return;
	for (struct slurm_job *sj = s->polled; sj; sj = sj->next)
		if (sj->n && sj->n->slurm)
			by_class[slurm_state_class(sj->n->slurm->state)]++;
	sb_puts(sb, "# HELP coopd_slurm_jobs Slurm jobs of coopd not yet settled, by Slurm "
		    "state.\n# TYPE coopd_slurm_jobs gauge\n");
	for (int i = 0; i < 2; i++)
		sb_printf(sb, "coopd_slurm_jobs{state=\"%s\"} %llu\n", classes[i],
			  (unsigned long long)by_class[i]);
	sb_puts(sb, "# HELP coopd_slurm_command_seconds Run time of Slurm's commands.\n"
		    "# TYPE coopd_slurm_command_seconds histogram\n");
	for (int k = 0; k < SLURM_CMD__MAX; k++) {
		const struct slurm_cmd_stats *st = slurm_cmd_stats(s->cmds, k);
		const char *name = slurm_cmd_name(k);

		for (int b = 0; b < SLURM_CMD_BUCKETS; b++)
			sb_printf(sb,
				  "coopd_slurm_command_seconds_bucket{command=\"%s\",le=\"%g\"} "
				  "%llu\n",
				  name, slurm_cmd_bucket_le[b], (unsigned long long)st->buckets[b]);
		sb_printf(sb,
			  "coopd_slurm_command_seconds_bucket{command=\"%s\",le=\"+Inf\"} %llu\n"
			  "coopd_slurm_command_seconds_sum{command=\"%s\"} %.6f\n"
			  "coopd_slurm_command_seconds_count{command=\"%s\"} %llu\n",
			  name, (unsigned long long)st->runs, name, st->sum_seconds, name,
			  (unsigned long long)st->runs);
	}
	sb_puts(sb, "# HELP coopd_slurm_command_failures_total Slurm commands that failed "
		    "(could not start, non-zero exit, timed out).\n"
		    "# TYPE coopd_slurm_command_failures_total counter\n");
	for (int k = 0; k < SLURM_CMD__MAX; k++)
		sb_printf(sb, "coopd_slurm_command_failures_total{command=\"%s\"} %llu\n",
			  slurm_cmd_name(k),
			  (unsigned long long)slurm_cmd_stats(s->cmds, k)->failures);
	sb_printf(sb,
		  "# HELP coopd_slurm_polls_total squeue runs of the poll (one per period for "
		  "all jobs).\n# TYPE coopd_slurm_polls_total counter\n"
		  "coopd_slurm_polls_total %llu\n",
		  (unsigned long long)s->polls);
}
