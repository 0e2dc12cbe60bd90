/*
 * graph-run.c - orchestration of a graph on libcoop.
 *
 * A graph is a root coop_scope; a `scope` node a nested coop_scope; task,
 * blocking and exec nodes are spawned into their parent's scope once every
 * `after` target has settled.  A node whose dependency did not succeed is
 * `skipped` (with its whole subtree), unless it is `always`: then it is
 * spawned shielded and runs whatever happened (its own timeout still
 * applies).  A scope is closed once every child has been launched or
 * skipped; its end, like every job's, is then reported through the inbox
 * by the waker of job_watch_end (job-builtin.c).
 *
 * Launching is driven by a per-call worklist instead of recursion, so a
 * chain of 1,000,000 skipped nodes costs no stack.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-run.h"
#include "job-builtin.h"
#include "job-exec.h"
#include "util-log.h"

/* Nodes whose dependencies have all settled, waiting to be launched. */
struct worklist {
	struct rnode **v;
	size_t n, cap;
	bool oom;
};

static void work_push(struct worklist *w, struct rnode *n)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct rnode **v = realloc(w->v, cap * sizeof(*v));

		if (!v) {
			w->oom = true;
			return;
		}
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = n;
}

static void node_settle(struct coopd *d, struct rnode *n, enum proto_state st, struct worklist *w);
static void scope_settle(struct coopd *d, struct rnode *n, struct worklist *w);
static void node_apply_outcome(struct rnode *n, const coop_outcome *o);
static enum proto_state state_of(const coop_outcome *o);
static void node_launch(struct coopd *d, struct rnode *n, struct worklist *w);

int graph_reason_from_coop(coop_reason r)
{
	switch (r) {
	case COOP_REASON_CLIENT:
		return PROTO_CANCEL_CLIENT;
	case COOP_REASON_DEADLINE:
		return PROTO_CANCEL_DEADLINE;
	case COOP_REASON_TIMEOUT:
		return PROTO_CANCEL_TIMEOUT;
	case COOP_REASON_SIBLING_FAILED:
		return PROTO_CANCEL_SIBLING_FAILED;
	case COOP_REASON_RACE_LOST:
		return PROTO_CANCEL_RACE_LOST;
	case COOP_REASON_SHUTDOWN:
		return PROTO_CANCEL_SHUTDOWN;
	default:
		return -1;
	}
}

static enum job_kind job_kind_of(const struct rnode *n)
{
	switch (n->def->kind) {
	case PROTO_NODE_BLOCKING:
		return JOB_BLOCKING;
	case PROTO_NODE_EXEC:
		return JOB_EXEC;
	default:
		return JOB_TASK;
	}
}

void graph_set_state(struct coopd *d, struct rnode *n, enum proto_state st)
{
	if (!graph_node_set_state(n, st))
		return;
	graph_registry_node_changed(d, n, true);
}

/* Launching is sliced: one event (a submit, a node's end, a resume)
 * may make 200,000 nodes ready, and spawning them all at once held the
 * loop about 0.2 s, every other client waiting (docs/security.md, "Fair
 * share").  At most RUN_SLICE (256) nodes, and about 2 ms of launching,
 * per loop iteration; the rest of a worklist waits in the backlog, and so
 * does every worklist made after it, in the order they were made: nodes
 * are launched in the very order an unsliced run would launch them (with
 * max_parallel, that is the order they run in).  Meanwhile a node not yet
 * launched is a node whose dependencies have not settled yet: a cancel or
 * a pause reaches it when it is launched, and its scope stays open (so
 * its graph cannot settle and free it) until it has been. */
#define RUN_SLICE 256
#define RUN_SLICE_NS 2000000u /* and about 2 ms of them */

struct run_session {
	struct run_session *next;
	struct worklist w;
};

struct run_backlog {
	struct run_session *head, *tail;
	/* Active while there is a backlog: the check watcher runs a slice
	 * after every poll (whatever else is pending), the idle watcher only
	 * keeps the poll from waiting. */
	ev_check check;
	ev_idle idle;
	struct coopd *d;
};

static void worklist_done(struct worklist *w)
{
	free(w->v);
	w->v = NULL;
	w->cap = 0;
	if (w->oom)
		log_err("out of memory while launching graph nodes: some nodes stay pending");
}

/* Launches at most *budget nodes of w (and of what they push on it), and
 * none once the clock has passed until. */
static void launch_some(struct coopd *d, struct worklist *w, size_t *budget, uint64_t until)
{
	while (w->n > 0 && *budget > 0) {
		(*budget)--;
		node_launch(d, w->v[--w->n], w);
		if (coop_now_ns() > until)
			*budget = 0;
	}
}

static void backlog_idle_cb(struct ev_loop *loop, ev_idle *idle, int revents)
{
}

static void backlog_cb(struct ev_loop *loop, ev_check *check, int revents)
{
	struct run_backlog *b = check->data;
	size_t budget = RUN_SLICE;
	uint64_t until = coop_now_ns() + RUN_SLICE_NS;
	struct run_session *s;

	while ((s = b->head) && budget > 0) {
		launch_some(b->d, &s->w, &budget, until);
		if (s->w.n > 0)
			break;
		b->head = s->next;
		if (!b->head)
			b->tail = NULL;
		worklist_done(&s->w);
		free(s);
	}
	if (!b->head) {
		ev_check_stop(loop, check);
		ev_idle_stop(loop, &b->idle);
	}
}

/* Puts the rest of w (taken) behind the backlog; false: out of memory. */
static bool backlog_push(struct coopd *d, struct worklist *w)
{
	struct run_backlog *b = d->run_backlog;
	struct run_session *s;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return false;
		b->d = d;
		ev_check_init(&b->check, backlog_cb);
		b->check.data = b;
		ev_idle_init(&b->idle, backlog_idle_cb);
		d->run_backlog = b;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return false;
	s->w = *w;
	*w = (struct worklist){0};
	if (b->tail)
		b->tail->next = s;
	else
		b->head = s;
	b->tail = s;
	ev_check_start(d->loop, &b->check);
	ev_idle_start(d->loop, &b->idle);
	return true;
}

static void drain(struct coopd *d, struct worklist *w)
{
	struct run_backlog *b = d->run_backlog;
	size_t budget = RUN_SLICE;

	if (w->n == 0) {
		worklist_done(w);
		return;
	}
	if (!b || !b->head)
		launch_some(d, w, &budget, coop_now_ns() + RUN_SLICE_NS);
	if (w->n > 0 && backlog_push(d, w))
		return;
	/* Out of memory for the backlog: the rest now. */
	while (w->n > 0)
		node_launch(d, w->v[--w->n], w);
	worklist_done(w);
}

void graph_run_backlog_free(struct coopd *d)
{
	struct run_backlog *b = d->run_backlog;
	struct run_session *s;

	if (!b)
		return;
	ev_check_stop(d->loop, &b->check);
	ev_idle_stop(d->loop, &b->idle);
	while ((s = b->head)) {
		b->head = s->next;
		free(s->w.v);
		free(s);
	}
	free(b);
	d->run_backlog = NULL;
}

/* Closes scope n once every child was launched, and watches for its end. */
static void scope_maybe_close(struct coopd *d, struct rnode *n)
{
	if (!n->scope || n->end_watched || n->kids_unstarted > 0)
		return;
	n->end_watched = true;
	job_watch_end(n);
}

/* Marks every descendant of n (not n) as `st` without running it. */
static void subtree_settle_unrun(struct coopd *d, struct rnode *n, enum proto_state st)
{
	for (size_t i = 0; i < n->def->n_children; i++) {
		struct rnode *k = &n->kids[i];

		k->launched = true;
		k->settled = true;
		subtree_settle_unrun(d, k, st);
		graph_set_state(d, k, st);
	}
}

/* The descendants of a reused node (not n) take their old states. */
static void subtree_settle_reused(struct coopd *d, struct rnode *n)
{
	for (size_t i = 0; i < n->def->n_children; i++) {
		struct rnode *k = &n->kids[i];

		k->launched = true;
		k->settled = true;
		subtree_settle_reused(d, k);
		graph_set_state(d, k, (enum proto_state)k->reuse_state);
	}
}

/* Fills the result of a node from its libcoop outcome. */
static void node_apply_outcome(struct rnode *n, const coop_outcome *o)
{
	int reason = graph_reason_from_coop(o->cancel_reason);

	if (!o->started)
		n->started_ms = -1;
	n->finished_ms = o->finished_ns ? graph_mono_to_unix_ms(o->finished_ns) : graph_now_ms();
	if (reason >= 0) {
		n->cancel_reason = (int8_t)reason;
		n->cancel_requested_ms = graph_mono_to_unix_ms(o->cancel_requested_ns);
		n->cancel_ack_ms = o->status == COOP_STATUS_CANCELLED ? n->finished_ms : -1;
	}
	/* A task with retries times its attempts itself: the last one's
	 * timeout is the node's, as libcoop would report it. */
	if (reason < 0 && n->attempts && n->def->kind == PROTO_NODE_TASK &&
	    n->attempts[n->def->retries].timed_out && o->status == COOP_STATUS_CANCELLED) {
		n->cancel_reason = PROTO_CANCEL_TIMEOUT;
		n->cancel_requested_ms = n->cancel_ack_ms = n->finished_ms;
	}
	n->polls = o->polls;
	n->forced_yields = o->forced_yields;
	if (n->def->kind == PROTO_NODE_TASK || n->def->kind == PROTO_NODE_BLOCKING) {
		if (o->status == COOP_STATUS_OK) {
			n->has_value = true;
			n->value = o->value;
		} else if (o->status == COOP_STATUS_CANCELLED &&
			   o->value == JOB_IGNORE_CANCEL_CUT && !n->error) {
			/* ignore_cancel, stopped by the operator's bound
			 * (job-builtin.c): say so rather than pass for an
			 * ordinary cancel. */
			n->error = strdup("ignore_cancel: stopped ignore_cancel_max_ms after its "
					  "cancel");
		} else if (o->status == COOP_STATUS_FAILED && !n->error) {
			if (n->def->fn == PROTO_FN_FAIL)
				n->error = strdup(n->def->args.fail.message);
			else
				n->error =
					strdup(o->value < 0 ? strerror((int)-o->value) : "failed");
		}
	}
}

static enum proto_state state_of(const coop_outcome *o)
{
	switch (o->status) {
	case COOP_STATUS_OK:
		return PROTO_STATE_SUCCEEDED;
	case COOP_STATUS_CANCELLED:
		return PROTO_STATE_CANCELLED;
	default:
		return PROTO_STATE_FAILED;
	}
}

/* Releases the libcoop objects of a settled graph. */
static void graph_release_runtime(struct graph *g)
{
	for (size_t i = 0; i <= g->n_nodes; i++) {
		struct rnode *n = g->by_idx[i];

		if (n->handle) {
			coop_handle_free(n->handle);
			n->handle = NULL;
		}
		if (n->job) {
			exec_job_free(n->job);
			n->job = NULL;
		}
	}
	/* Children scopes before their parents: reverse breadth-first order. */
	for (size_t i = g->n_nodes + 1; i-- > 0;) {
		struct rnode *n = g->by_idx[i];

		if (n->scope) {
			coop_scope_free(n->scope);
			n->scope = NULL;
		}
	}
}

static void graph_finish(struct coopd *d, struct graph *g)
{
	/* Nodes the scopes never got to (they cannot exist once the root has
	 * settled, unless memory ran out): report them rather than hang. */
	for (size_t i = 1; i <= g->n_nodes; i++) {
		struct rnode *n = g->by_idx[i];

		if (!proto_state_is_final((enum proto_state)n->state)) {
			n->finished_ms = g->root->finished_ms;
			graph_set_state(d, n, PROTO_STATE_FAILED);
		}
	}
	graph_registry_deactivate(d, g);
	d->counters.graphs_finished[g->root->state]++;
	graph_release_runtime(g);
	/* The store makes the final state durable before it lets g settle
	 * (store-state.c), then `wait` answers its waiters (graph events). */
	graph_registry_ended(d, g);
}

static void node_settle(struct coopd *d, struct rnode *n, enum proto_state st, struct worklist *w)
{
	struct rnode *p = n->parent;

	if (n->settled)
		return;
	n->settled = true;
	if (n->finished_ms < 0)
		n->finished_ms = graph_now_ms();
	if (n->def->kind != PROTO_NODE_SCOPE && !n->reused)
		d->counters.jobs_finished[job_kind_of(n)][st]++;
	graph_set_state(d, n, st);
	if (!p) {
		graph_finish(d, n->g);
		return;
	}
	p->kids_unsettled--;
	for (uint32_t i = 0; i < n->n_dependents; i++) {
		struct rnode *k = &p->kids[n->dependents[i]];

		if (--k->deps_left == 0)
			work_push(w, k);
	}
	/* The ends race: libcoop may report the scope before we have
	 * processed the report of its last child.  Settle it now. */
	if (p->kids_unsettled == 0 && p->scope_outcome)
		scope_settle(d, p, w);
}

static void scope_settle(struct coopd *d, struct rnode *n, struct worklist *w)
{
	coop_outcome o = *n->scope_outcome;

	free(n->scope_outcome);
	n->scope_outcome = NULL;
	node_apply_outcome(n, &o);
	node_settle(d, n, state_of(&o), w);
}

static bool deps_succeeded(const struct rnode *n)
{
	const struct rnode *p = n->parent;

	for (size_t i = 0; i < n->def->n_after; i++)
		if (p->kids[n->def->after[i]].state != PROTO_STATE_SUCCEEDED)
			return false;
	return true;
}

static void scope_opts_of(const struct rnode *n, coop_scope_opts *o)
{
	memset(o, 0, sizeof(*o));
	switch (n->def->policy) {
	case PROTO_POLICY_ALL_SETTLED:
		o->policy = COOP_POLICY_ALL_SETTLED;
		break;
	case PROTO_POLICY_RACE:
		o->policy = COOP_POLICY_RACE;
		break;
	default:
		o->policy = COOP_POLICY_FAIL_FAST;
		break;
	}
	o->max_parallel = n->def->max_parallel;
	o->budget = n->def->budget;
	if (n->def->deadline_ms >= 0)
		o->deadline_ns = coop_now_ns() + (uint64_t)n->def->deadline_ms * 1000000u;
	o->shielded = n->def->always;
}

/* Launches the children of scope n whose dependencies have settled. */
static void scope_launch_kids(struct coopd *d, struct rnode *n, struct worklist *w)
{
	for (size_t i = n->def->n_children; i-- > 0;)
		if (n->kids[i].deps_left == 0)
			work_push(w, &n->kids[i]);
}

static void node_fail_launch(struct coopd *d, struct rnode *n, int err, struct worklist *w)
{
	free(n->error);
	n->error = strdup(strerror(err < 0 ? -err : err));
	log_errno(LOG_ERR, err, "graph %s: cannot start node %s", n->g->id, n->def->path);
	subtree_settle_unrun(d, n, PROTO_STATE_SKIPPED);
	node_settle(d, n, PROTO_STATE_FAILED, w);
}

static void node_launch(struct coopd *d, struct rnode *n, struct worklist *w)
{
	struct rnode *p = n->parent;
	coop_spawn_opts so = {.shielded = n->def->always};
	int r;

	if (n->launched)
		return;
	n->launched = true;
	p->kids_unstarted--;
	if (n->reused) {
		/* rerun failed_only: it succeeded in the graph rerun. */
		subtree_settle_reused(d, n);
		node_settle(d, n, (enum proto_state)n->reuse_state, w);
		/* Kept across a restart (graph_run_resumable) is not `reused`
		 * in the protocol's sense: that is rerun's. */
		if (n->g->loaded)
			n->reused = false;
		scope_maybe_close(d, p);
		return;
	}
	if (!n->def->always && !deps_succeeded(n)) {
		subtree_settle_unrun(d, n, PROTO_STATE_SKIPPED);
		node_settle(d, n, PROTO_STATE_SKIPPED, w);
		scope_maybe_close(d, p);
		return;
	}
	if (n->pre_cancel && n->def->kind != PROTO_NODE_SCOPE) {
		/* Cancelled before it started: never handed to libcoop (a
		 * spawn-then-cancel would race with its first poll). */
		n->cancel_reason = (int8_t)graph_reason_from_coop((coop_reason)n->pre_cancel);
		n->finished_ms = n->cancel_ack_ms = graph_now_ms();
		if (n->cancel_requested_ms < 0)
			n->cancel_requested_ms = n->finished_ms;
		node_settle(d, n, PROTO_STATE_CANCELLED, w);
		scope_maybe_close(d, p);
		return;
	}
	/* With retries, timeout_ms bounds each attempt: the job times its
	 * attempts itself (job-exec.c, job-builtin.c). */
	if (n->paused) {
		/* Paused: launched by graph_run_resume(). */
		n->launched = false;
		n->held = true;
		p->kids_unstarted++;
		return;
	}
	if (n->def->timeout_ms >= 0 && n->def->retries == 0)
		so.timeout_ns = (uint64_t)n->def->timeout_ms * 1000000u;
	if (graph_attempts_alloc(n) < 0) {
		node_fail_launch(d, n, -ENOMEM, w);
		scope_maybe_close(d, p);
		return;
	}
	switch (n->def->kind) {
	case PROTO_NODE_SCOPE: {
		coop_scope_opts o;

		scope_opts_of(n, &o);
		r = coop_scope_new(d->rt, p->scope, &o, &n->scope);
		if (r < 0)
			break;
		if (n->started_ms < 0) /* resumed after a restart: keep it */
			n->started_ms = graph_now_ms();
		graph_set_state(d, n, PROTO_STATE_RUNNING);
		if (n->pre_cancel)
			coop_scope_cancel(n->scope, (coop_reason)n->pre_cancel);
		scope_launch_kids(d, n, w);
		scope_maybe_close(d, n);
		break;
	}
	case PROTO_NODE_TASK:
		r = job_spawn_task(d, n, p->scope, &so, &n->handle);
		break;
	case PROTO_NODE_BLOCKING:
		r = job_spawn_blocking(d, n, p->scope, &so, &n->handle);
		break;
	case PROTO_NODE_EXEC:
		r = exec_spawn_task(d, n, p->scope, &so, &n->handle);
		break;
	default:
		r = -EINVAL;
		break;
	}
	if (r < 0) {
		node_fail_launch(d, n, r, w);
		scope_maybe_close(d, p);
		return;
	}
	if (n->def->kind != PROTO_NODE_SCOPE) {
		d->counters.jobs_spawned[job_kind_of(n)]++;
		job_watch_end(n);
	}
	scope_maybe_close(d, p);
}

/* A node that settled below a scope still running (resume): what it did
 * is kept.  Its subtree comes along (subtree_settle_reused). */
static bool resume_keep(const struct rnode *n)
{
	return proto_state_is_final((enum proto_state)n->state);
}

/* The checks of graph_run_resumable() for node n and its subtree. */
static bool resume_check(const struct rnode *n, size_t *slurm_jobs)
{
	const struct proto_node *def = n->def;

	if (resume_keep(n))
		return n->state == PROTO_STATE_SUCCEEDED;
	if (n->state == PROTO_STATE_CANCELLING || n->cancel_reason >= 0)
		return false;
	if (def->kind == PROTO_NODE_SCOPE) {
		for (size_t i = 0; i < def->n_children; i++)
			if (!resume_check(&n->kids[i], slurm_jobs))
				return false;
		return true;
	}
	if (def->kind == PROTO_NODE_EXEC && def->placement == PROTO_PLACEMENT_SLURM && n->slurm &&
	    n->slurm->job_id && n->att_done == 0 && n->att_started <= 1) {
		(*slurm_jobs)++;
		return true;
	}
	/* Never started (a local job that ran is gone with its processes). */
	return n->state == PROTO_STATE_PENDING && n->started_ms < 0 && !n->slurm &&
	       n->att_started == 0;
}

static void resume_keep_subtree(struct rnode *n)
{
	n->reuse_state = n->state;
	for (size_t i = 0; i < n->def->n_children; i++)
		resume_keep_subtree(&n->kids[i]);
}

/* Marks the kept nodes (the topmost settled ones) and the Slurm jobs to
 * follow. */
static void resume_mark(struct rnode *n)
{
	for (size_t i = 0; i < n->def->n_children; i++) {
		struct rnode *k = &n->kids[i];

		if (resume_keep(k)) {
			k->reused = true;
			k->reuse_state = k->state;
			for (size_t j = 0; j < k->def->n_children; j++)
				resume_keep_subtree(&k->kids[j]);
			continue;
		}
		if (k->slurm && k->slurm->job_id)
			k->slurm->reattach = true;
		resume_mark(k);
	}
}

bool graph_run_resumable(struct coopd *d, struct graph *g)
{
	size_t slurm_jobs = 0;

	if (!d->slurm || proto_state_is_final((enum proto_state)g->root->state) ||
	    !resume_check(g->root, &slurm_jobs) || slurm_jobs == 0)
		return false;
	resume_mark(g->root);
	return true;
}

void graph_run_start(struct coopd *d, struct graph *g)
{
	struct rnode *root = g->root;
	struct worklist w = {0};
	coop_scope_opts o;
	int r;

	graph_registry_activate(d, g);
	scope_opts_of(root, &o);
	r = coop_scope_new(d->rt, NULL, &o, &root->scope);
	if (r < 0) {
		root->error = strdup(strerror(-r));
		log_errno(LOG_ERR, r, "graph %s: cannot create its root scope", g->id);
		root->launched = true;
		subtree_settle_unrun(d, root, PROTO_STATE_SKIPPED);
		node_settle(d, root, PROTO_STATE_FAILED, &w);
		drain(d, &w);
		return;
	}
	root->launched = true;
	if (root->started_ms < 0) /* resumed after a restart: keep it */
		root->started_ms = graph_now_ms();
	graph_set_state(d, root, PROTO_STATE_RUNNING);
	if (root->pre_cancel)
		coop_scope_cancel(root->scope, (coop_reason)root->pre_cancel);
	scope_launch_kids(d, root, &w);
	drain(d, &w);
	scope_maybe_close(d, root);
}

void graph_run_node_running(struct coopd *d, struct rnode *n, int64_t unix_ms)
{
	if (n->settled || n->state != PROTO_STATE_PENDING)
		return;
	n->started_ms = unix_ms;
	graph_set_state(d, n, PROTO_STATE_RUNNING);
}

void graph_run_node_cancelling(struct coopd *d, struct rnode *n, int coop_reason_value)
{
	int reason = graph_reason_from_coop((coop_reason)coop_reason_value);

	if (n->settled || n->state != PROTO_STATE_RUNNING)
		return;
	if (reason >= 0 && n->cancel_reason < 0) {
		n->cancel_reason = (int8_t)reason;
		n->cancel_requested_ms = graph_now_ms();
	}
	graph_set_state(d, n, PROTO_STATE_CANCELLING);
}

void graph_run_exec_result(struct coopd *d, struct rnode *n, int exit_code, int term_signal,
			   const char *error)
{
	n->exit_code = exit_code;
	n->term_signal = term_signal;
	/* An attempt's result replaces the one before (retries). */
	free(n->error);
	n->error = error ? strdup(error) : NULL;
}

void graph_run_attempts(struct coopd *d, struct rnode *n, unsigned started, unsigned done)
{
	if (n->settled || !n->attempts)
		return;
	if (done > n->att_done) {
		d->counters.retries[job_kind_of(n)] += done - n->att_done;
		n->att_done = (uint8_t)done;
		log_info("graph %s node %s: attempt %u of %u failed or timed out; retrying",
			 n->g->id, n->def->path, done, n->def->retries + 1u);
		graph_registry_node_changed(d, n, false);
	}
	if (started > n->att_started)
		n->att_started = (uint8_t)started;
}

void graph_run_mail(struct coopd *d, struct rnode *n, unsigned bits, uint64_t started_ns,
		    int reason, const coop_outcome *o)
{
	struct worklist w = {0};

	if (bits & MAIL_STARTED)
		graph_run_node_running(d, n, graph_mono_to_unix_ms(started_ns));
	if (bits & (MAIL_EXEC_SPAWN | MAIL_EXEC_KILL))
		exec_job_mail(d, n, bits, reason);
	if (bits & MAIL_DONE) {
		struct rnode *p = n->parent;

		if (n->def->kind == PROTO_NODE_SCOPE) {
			n->scope_outcome = malloc(sizeof(*n->scope_outcome));
			if (!n->scope_outcome) {
				log_err("out of memory: graph %s scope %s reported late", n->g->id,
					n->def->path);
				node_apply_outcome(n, o);
				node_settle(d, n, state_of(o), &w);
			} else {
				*n->scope_outcome = *o;
				if (n->kids_unsettled == 0)
					scope_settle(d, n, &w);
			}
		} else {
			node_apply_outcome(n, o);
			/* A task whose STARTED mail was lost to memory pressure
			 * cannot exist (mail never allocates); exec nodes start
			 * at their spawn, which may never have happened. */
			if (o->started && n->started_ms < 0 && n->def->kind != PROTO_NODE_EXEC)
				n->started_ms = n->finished_ms;
			node_settle(d, n, state_of(o), &w);
			/* Its outcome is read and libcoop done with its waker: the
			 * handle goes now rather than with the whole graph's
			 * (graph_release_runtime), which held the loop about
			 * 0.2 s for 200,000 nodes. */
			if (n->handle && n->settled) {
				coop_handle_free(n->handle);
				n->handle = NULL;
			}
		}
		drain(d, &w);
		if (p)
			scope_maybe_close(d, p);
	}
}

/* Marks what a cancel of `n` reaches: running nodes become `cancelling`,
 * nodes not yet launched remember the request.  `always` nodes below the
 * target are shielded, with their subtrees, exactly as libcoop shields
 * them. */
static void subtree_mark_cancel(struct coopd *d, struct rnode *n, bool target, coop_reason reason,
				int64_t grace_ms, int64_t now)
{
	if (n->settled || (!target && n->def->always))
		return;
	if (grace_ms >= 0)
		n->grace_override_ms = grace_ms;
	if (!n->launched && !n->pre_cancel) {
		n->pre_cancel = (uint8_t)reason;
		n->cancel_requested_ms = now;
	}
	if (n->state == PROTO_STATE_RUNNING) {
		if (n->cancel_reason < 0) {
			n->cancel_reason = (int8_t)graph_reason_from_coop(reason);
			n->cancel_requested_ms = now;
		}
		graph_set_state(d, n, PROTO_STATE_CANCELLING);
	}
	for (size_t i = 0; i < n->def->n_children; i++)
		subtree_mark_cancel(d, &n->kids[i], false, reason, grace_ms, now);
}

/* Clears the pause of n's subtree: frozen jobs thaw, held nodes go to the
 * worklist.  A held exec spawn or attempt starts only with start_held: a
 * cancel leaves it to the job's cancellation (it never starts), except
 * below an `always` node, which the cancel does not reach. */
static void subtree_unpause(struct coopd *d, struct rnode *n, struct worklist *w, bool start_held)
{
	n->paused = false;
	if (n->held) {
		n->held = false;
		work_push(w, n);
	}
	if (n->def->kind == PROTO_NODE_EXEC)
		exec_job_resume(d, n, start_held);
	for (size_t i = 0; i < n->def->n_children; i++)
		subtree_unpause(d, &n->kids[i], w, start_held || n->kids[i].def->always);
}

static void subtree_pause(struct coopd *d, struct rnode *n)
{
	if (n->settled)
		return;
	n->paused = true;
	if (n->def->kind == PROTO_NODE_EXEC)
		exec_job_pause(d, n);
	for (size_t i = 0; i < n->def->n_children; i++)
		subtree_pause(d, &n->kids[i]);
}

int graph_run_pause(struct coopd *d, struct graph *g, struct rnode *n)
{
	if (!n)
		n = g->root;
	if (n->settled || proto_state_is_final((enum proto_state)n->state))
		return -EALREADY;
	subtree_pause(d, n);
	return 0;
}

int graph_run_resume(struct coopd *d, struct graph *g, struct rnode *n)
{
	struct worklist w = {0};

	if (!n)
		n = g->root;
	if (!n->paused)
		return -ENOENT;
	subtree_unpause(d, n, &w, true);
	drain(d, &w);
	return 0;
}

void graph_run_cancel(struct coopd *d, struct graph *g, struct rnode *n, coop_reason reason,
		      int64_t grace_ms, const char *note)
{
	struct worklist w = {0};

	if (!n)
		n = g->root;
	if (n->settled)
		return;
	/* A paused subtree is resumed first: held nodes launch (and end
	 * cancelled at once), frozen jobs thaw to get SIGTERM and their grace. */
	subtree_unpause(d, n, &w, false);
	if (note && !n->cancel_note)
		n->cancel_note = strdup(note);
	subtree_mark_cancel(d, n, true, reason, grace_ms, graph_now_ms());
	drain(d, &w);
	if (!n->launched)
		return;
	if (n->scope)
		coop_scope_cancel(n->scope, reason);
	else if (n->handle)
		coop_handle_cancel(n->handle, reason);
}
