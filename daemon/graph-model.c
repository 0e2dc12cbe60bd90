/*
 * graph-model.c - building, finding and rendering the run-time node tree.
 *
 * The tree mirrors the parsed definition: every scope's children are one
 * array, in document order, so a node's kids[i] is def->children[i].  The
 * tree is built breadth-first with an explicit queue (no recursion over a
 * 1,000,000-node document); rendering recurses only over scope nesting,
 * which the validator bounds (64 by default).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coopd.h"
#include "graph-model.h"

/*
 * Node times come from two sources: libcoop's outcomes (CLOCK_MONOTONIC,
 * coop_now_ns) and the daemon's own readings.  Both are converted with one
 * offset taken once per process, so that their order is kept exactly (a
 * job that starts when another finishes never appears to start first).
 * The price: wall-clock steps after start-up are not followed.  This
 * calibration constant is the only process-wide state of the module; it is
 * set on the loop thread before any graph exists.
 */
static int64_t mono_to_unix_offset_ns;
static bool mono_offset_set;

static void mono_offset_init(void)
{
	struct timespec ts;

	if (mono_offset_set)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	mono_to_unix_offset_ns =
		(int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - (int64_t)coop_now_ns();
	mono_offset_set = true;
}

int64_t graph_now_ms(void)
{
	mono_offset_init();
	return ((int64_t)coop_now_ns() + mono_to_unix_offset_ns) / 1000000;
}

int64_t graph_mono_to_unix_ms(uint64_t mono_ns)
{
	if (mono_ns == 0)
		return -1;
	mono_offset_init();
	return ((int64_t)mono_ns + mono_to_unix_offset_ns) / 1000000;
}

const char *graph_reason_name(int reason)
{
	if (reason < 0 || reason >= PROTO_CANCEL__MAX)
		return NULL;
	return proto_cancel_reason_name((enum proto_cancel_reason)reason);
}

static void rnode_init(struct rnode *n, const struct proto_node *def, struct graph *g,
		       struct rnode *parent)
{
	memset(n, 0, sizeof(*n));
	n->def = def;
	n->g = g;
	n->parent = parent;
	n->state = PROTO_STATE_PENDING;
	n->cancel_reason = -1;
	n->started_ms = n->finished_ms = -1;
	n->cancel_requested_ms = n->cancel_ack_ms = -1;
	n->exit_code = -1;
	n->grace_override_ms = -1;
	n->deps_left = (uint32_t)def->n_after;
	n->kids_unstarted = n->kids_unsettled = (uint32_t)def->n_children;
}

/* Fills the dependents lists of the children of scope n. */
static int rnode_link_deps(struct rnode *n)
{
	const struct proto_node *def = n->def;
	size_t i, j;

	for (i = 0; i < def->n_children; i++) {
		const struct proto_node *c = &def->children[i];

		for (j = 0; j < c->n_after; j++) {
			struct rnode *t = &n->kids[c->after[j]];
			uint32_t *p = realloc(t->dependents, (t->n_dependents + 1) * sizeof(*p));

			if (!p)
				return -ENOMEM;
			p[t->n_dependents++] = (uint32_t)i;
			t->dependents = p;
		}
	}
	return 0;
}

bool graph_node_set_state(struct rnode *n, enum proto_state st)
{
	struct graph *g = n->g;
	enum proto_state old = (enum proto_state)n->state;

	if (old == st)
		return false;
	if (n != g->root) {
		g->counts[old]--;
		g->counts[st]++;
		if (proto_state_is_final(st) && !proto_state_is_final(old))
			g->n_done++;
		else if (!proto_state_is_final(st) && proto_state_is_final(old))
			g->n_done--;
	}
	n->state = (uint8_t)st;
	return true;
}

int graph_attempts_alloc(struct rnode *n)
{
	size_t k = (size_t)n->def->retries + 1;

	if (n->attempts || n->def->retries == 0)
		return 0;
	n->attempts = calloc(k, sizeof(*n->attempts));
	if (!n->attempts)
		return -ENOMEM;
	for (size_t i = 0; i < k; i++) {
		n->attempts[i].started_ms = n->attempts[i].finished_ms = -1;
		n->attempts[i].exit_code = -1;
	}
	return 0;
}

static void rnode_free_parts(struct rnode *n)
{
	if (n->attempts)
		for (size_t i = 0; i <= n->def->retries; i++)
			free(n->attempts[i].error);
	free(n->attempts);
	free(n->dependents);
	free(n->error);
	free(n->cancel_note);
	free(n->slurm);
	free(n->scope_outcome);
	/* A job outlives its graph's end only if the graph is freed while it
	 * runs; job-exec.c frees it (through d, as graph-model.c is below
	 * job-exec.c). */
	if (n->job && n->g->d && n->g->d->job_free)
		n->g->d->job_free(n->job);
	if (n->handle)
		coop_handle_free(n->handle);
	if (n->scope)
		coop_scope_free(n->scope);
}

void graph_free(struct graph *g)
{
	size_t i;

	if (!g)
		return;
	if (g->by_idx) {
		/* A node lives in its parent's kids array, and parents come
		 * first in breadth-first order: free from the end. */
		for (i = g->n_nodes + 1; i-- > 0;) {
			if (!g->by_idx[i])
				continue;
			rnode_free_parts(g->by_idx[i]);
			free(g->by_idx[i]->kids);
		}
	}
	free(g->root);
	free(g->by_idx);
	free(g->name);
	free(g->dirty);
	free(g->dirty_bits);
	proto_graph_free(g->def);
	free(g);
}

int graph_state(const struct graph *g)
{
	return g->root ? g->root->state : g->final_state;
}

const char *graph_name(const struct graph *g)
{
	return g->def ? g->def->name : g->name ? g->name : "";
}

int64_t graph_finished_ms(const struct graph *g)
{
	return g->root ? g->root->finished_ms : g->finished_ms;
}

void graph_release_tree(struct graph *g)
{
	size_t i;

	if (g->released || !g->root)
		return;
	g->final_state = g->root->state;
	g->finished_ms = g->root->finished_ms;
	if (!g->name)
		g->name = strdup(g->def->name ? g->def->name : "");
	if (!g->name)
		return; /* out of memory: keep the tree, it still says it */
	for (i = g->n_nodes + 1; i-- > 0;) {
		if (!g->by_idx[i])
			continue;
		rnode_free_parts(g->by_idx[i]);
		free(g->by_idx[i]->kids);
	}
	free(g->root);
	free(g->by_idx);
	proto_graph_free(g->def);
	g->root = NULL;
	g->by_idx = NULL;
	g->def = NULL;
	g->released = true;
}

void graph_maybe_release(struct graph *g)
{
	if (g->root && !g->active && !g->syncing && !g->waiters && !g->pins &&
	    proto_state_is_final((enum proto_state)g->root->state))
		graph_release_tree(g);
}

void graph_unpin(struct graph *g)
{
	if (--g->pins > 0)
		return;
	if (g->forgotten)
		graph_free(g);
	else
		graph_maybe_release(g);
}

void graph_adopt_tree(struct graph *g, struct graph *t)
{
	g->def = t->def;
	g->root = t->root;
	g->by_idx = t->by_idx;
	g->n_nodes = t->n_nodes;
	g->n_done = t->n_done;
	memcpy(g->counts, t->counts, sizeof(g->counts));
	g->counts_known = true;
	for (size_t i = 0; i <= g->n_nodes; i++)
		g->by_idx[i]->g = g;
	g->released = false;
	t->def = NULL;
	t->root = NULL;
	t->by_idx = NULL;
	graph_free(t);
}

int graph_new_released(const char *id, const char *name, uid_t uid, gid_t gid, int64_t created_ms,
		       int64_t finished_ms, int state, size_t n_nodes, size_t n_done,
		       struct graph **ret)
{
	struct graph *g = calloc(1, sizeof(*g));

	if (!g || !(g->name = strdup(name ? name : ""))) {
		free(g);
		return -ENOMEM;
	}
	snprintf(g->id, sizeof(g->id), "%s", id);
	g->uid = uid;
	g->gid = gid;
	g->created_ms = created_ms;
	g->finished_ms = finished_ms;
	g->final_state = (uint8_t)state;
	g->n_nodes = n_nodes;
	g->n_done = n_done;
	g->released = true;
	*ret = g;
	return 0;
}

int graph_new(struct proto_graph *def, const char *id, uid_t uid, gid_t gid, int64_t created_ms,
	      struct graph **ret)
{
	struct graph *g = calloc(1, sizeof(*g));
	size_t head = 0, tail = 0;

	if (!g)
		return -ENOMEM;
	g->def = def;
	snprintf(g->id, sizeof(g->id), "%s", id);
	g->uid = uid;
	g->gid = gid;
	g->created_ms = created_ms;
	g->n_nodes = def->n_nodes;
	g->by_idx = calloc(def->n_nodes + 1, sizeof(*g->by_idx));
	g->root = malloc(sizeof(*g->root));
	if (!g->by_idx || !g->root)
		goto oom;
	rnode_init(g->root, &def->root, g, NULL);
	/* Breadth-first: by_idx doubles as the queue.  Indexes are therefore
	 * breadth-first positions, which are as stable as pre-order ones. */
	g->by_idx[tail++] = g->root;
	while (head < tail) {
		struct rnode *n = g->by_idx[head];
		size_t i, nk = n->def->n_children;

		n->idx = (uint32_t)head++;
		if (nk == 0)
			continue;
		n->kids = malloc(nk * sizeof(*n->kids));
		if (!n->kids)
			goto oom;
		for (i = 0; i < nk; i++) {
			rnode_init(&n->kids[i], &n->def->children[i], g, n);
			if (tail > def->n_nodes)
				goto oom; /* inconsistent n_nodes: cannot happen */
			g->by_idx[tail++] = &n->kids[i];
		}
		if (rnode_link_deps(n) < 0)
			goto oom;
	}
	g->counts[PROTO_STATE_PENDING] = (uint32_t)def->n_nodes;
	g->counts_known = true;
	*ret = g;
	return 0;
oom:
	g->def = NULL; /* the caller keeps def on failure */
	graph_free(g);
	return -ENOMEM;
}

struct rnode *graph_find(struct graph *g, const char *path)
{
	const struct proto_node *target = proto_graph_find(g->def, path);
	struct rnode *n = g->root;
	unsigned k;

	if (!target)
		return NULL;
	/* Descend from the root: at depth k take the ancestor of target that
	 * lives at depth k (O(depth^2), depth is bounded by the validator). */
	for (k = 2; k <= target->depth; k++) {
		const struct proto_node *a = target;

		while (a->depth > k)
			a = a->parent;
		n = &n->kids[a->index];
	}
	return n;
}

static void render_time_field(struct strbuf *sb, const char *key, int64_t ms)
{
	sb_puts(sb, ",\"");
	sb_puts(sb, key);
	sb_puts(sb, "\":");
	sb_json_time(sb, ms);
}

/* The result fields of one attempt (exec: exit_code, signal; task:
 * value) and its error. */
static void render_result(struct strbuf *sb, bool exec, int exit_code, int term_signal,
			  bool has_value, int64_t value, const char *error)
{
	if (exec) {
		if (exit_code >= 0)
			sb_printf(sb, ",\"exit_code\":%d", exit_code);
		else
			sb_puts(sb, ",\"exit_code\":null");
		if (term_signal > 0)
			sb_printf(sb, ",\"signal\":%d", term_signal);
		else
			sb_puts(sb, ",\"signal\":null");
	} else if (has_value) {
		sb_printf(sb, ",\"value\":%lld", (long long)value);
	} else {
		sb_puts(sb, ",\"value\":null");
	}
	sb_puts(sb, ",\"error\":");
	if (error)
		sb_json_cstr(sb, error);
	else
		sb_puts(sb, "null");
}

/* "attempt": N (the current or last, from 1), "max_attempts", and
 * "attempts": one entry per attempt begun.  The ones before the current
 * come from their records; the current (or the last, once the node has
 * settled) from the node's own fields. */
static void render_attempts(const struct rnode *n, struct strbuf *sb)
{
	bool exec = n->def->kind == PROTO_NODE_EXEC;
	/* A reloaded graph's nodes are final without having settled here. */
	bool ended = n->settled || proto_state_is_final((enum proto_state)n->state);
	unsigned begun = n->att_started > n->att_done ? n->att_started : n->att_done;

	sb_printf(sb, ",\"attempt\":%u,\"max_attempts\":%u,\"attempts\":[", begun ? begun : 1,
		  (unsigned)n->def->retries + 1);
	for (unsigned i = 0; i < begun; i++) {
		const struct node_attempt *a = &n->attempts[i];
		bool last = i == n->att_done;

		sb_printf(sb, "%s{\"attempt\":%u", i ? "," : "", i + 1);
		render_time_field(sb, "started", a->started_ms);
		if (!last) {
			render_time_field(sb, "finished", a->finished_ms);
			render_result(sb, exec, a->exit_code, a->term_signal, a->has_value,
				      a->value, a->error);
			sb_printf(sb, ",\"timed_out\":%s}", a->timed_out ? "true" : "false");
			continue;
		}
		render_time_field(sb, "finished", ended ? n->finished_ms : -1);
		if (ended)
			render_result(sb, exec, n->exit_code, n->term_signal, n->has_value,
				      n->value, n->error);
		else
			render_result(sb, exec, -1, 0, false, 0, NULL);
		sb_printf(sb, ",\"timed_out\":%s}",
			  ended && n->cancel_reason == PROTO_CANCEL_TIMEOUT ? "true" : "false");
	}
	sb_putc(sb, ']');
}

void graph_render_slurm(const struct rnode *n, struct strbuf *sb)
{
	if (!n->slurm)
		return;
	sb_printf(sb,
		  ",\"slurm\":{\"job_id\":%llu,\"state\":", (unsigned long long)n->slurm->job_id);
	sb_json_cstr(sb, n->slurm->state);
	sb_putc(sb, '}');
}

/* Whether n's stored figures are final: it settled here, or it was loaded
 * from the state directory in a final state (`settled` is a run-time flag). */
static bool node_stats_final(const struct rnode *n)
{
	return n->settled || proto_state_is_final((enum proto_state)n->state);
}

void graph_node_stats(const struct rnode *n, uint64_t *ret_polls, uint64_t *ret_yields)
{
	*ret_polls = n->polls;
	*ret_yields = n->forced_yields;
	if (node_stats_final(n))
		return; /* libcoop's outcome (or the stored one), final */
	if (n->handle) {
		/* Running (or just ended, not yet settled here): the task's
		 * own counters as they stand. */
		coop_handle_stats(n->handle, ret_polls, ret_yields);
	} else if (n->def->kind == PROTO_NODE_SCOPE && n->kids) {
		/* A scope's figures are the sums over its descendants. */
		for (size_t i = 0; i < n->def->n_children; i++) {
			uint64_t p, y;

			graph_node_stats(&n->kids[i], &p, &y);
			*ret_polls += p;
			*ret_yields += y;
		}
	}
}

/* Live stats of every node of an active graph, taken once before a status
 * is rendered (2 values per node, by pre-order index), so that a scope's
 * figures are exactly the sums of its children's as the same answer shows
 * them: children have larger indexes than their parents, so one pass from
 * the last index down sees every child before its scope.  NULL when out of
 * memory (each node is then read as it is rendered). */
static uint64_t *stats_snapshot(const struct graph *g)
{
	uint64_t *snap = malloc(2 * (g->n_nodes + 1) * sizeof(*snap));

	if (!snap)
		return NULL;
	for (size_t i = g->n_nodes + 1; i-- > 0;) {
		const struct rnode *n = g->by_idx[i];
		uint64_t *p = &snap[2 * n->idx];

		if (node_stats_final(n) || n->handle || n->def->kind != PROTO_NODE_SCOPE ||
		    !n->kids) {
			graph_node_stats(n, &p[0], &p[1]);
			continue;
		}
		p[0] = n->polls;
		p[1] = n->forced_yields;
		for (size_t k = 0; k < n->def->n_children; k++) {
			p[0] += snap[2 * n->kids[k].idx];
			p[1] += snap[2 * n->kids[k].idx + 1];
		}
	}
	return snap;
}

uint64_t *graph_stats_snapshot(const struct graph *g)
{
	/* A settled graph's figures are final: no snapshot needed. */
	return node_stats_final(g->root) ? NULL : stats_snapshot(g);
}

void graph_render_node_open(const struct rnode *n, const uint64_t *snap, struct strbuf *sb)
{
	uint64_t polls, yields;
	const struct proto_node *def = n->def;
	size_t i;

	sb_puts(sb, "{\"id\":");
	sb_json_cstr(sb, def->id);
	sb_puts(sb, ",\"path\":");
	sb_json_cstr(sb, def->path);
	sb_puts(sb, ",\"kind\":\"");
	sb_puts(sb, proto_node_kind_name(def->kind));
	sb_puts(sb, "\",\"state\":\"");
	sb_puts(sb, proto_state_name((enum proto_state)n->state));
	sb_putc(sb, '"');
	/* The graph's edges, so that a client can draw the graph or say which
	 * dependency made a node skipped (coopctl status --format dot). */
	if (def->n_after > 0) {
		sb_puts(sb, ",\"after\":[");
		for (i = 0; i < def->n_after; i++) {
			if (i)
				sb_putc(sb, ',');
			sb_json_cstr(sb, def->parent->children[def->after[i]].id);
		}
		sb_putc(sb, ']');
	}
	render_time_field(sb, "started", n->started_ms);
	render_time_field(sb, "finished", n->finished_ms);
	if (def->kind == PROTO_NODE_EXEC) {
		sb_puts(sb, ",\"exit_code\":");
		if (n->exit_code >= 0)
			sb_put_i64(sb, n->exit_code);
		else
			sb_puts(sb, "null");
		sb_puts(sb, ",\"signal\":");
		if (n->term_signal > 0)
			sb_put_i64(sb, n->term_signal);
		else
			sb_puts(sb, "null");
		/* Output beyond log_cap_bytes is not kept: say how much. */
		if (n->log_dropped[0] || n->log_dropped[1])
			sb_printf(sb, ",\"log_dropped\":{\"stdout\":%llu,\"stderr\":%llu}",
				  (unsigned long long)n->log_dropped[0],
				  (unsigned long long)n->log_dropped[1]);
		/* Processes still alive when the job ended, ended by coopd. */
		if (n->leftovers)
			sb_printf(sb, ",\"leftover_processes\":%u", n->leftovers);
		graph_render_slurm(n, sb);
	} else if (def->kind != PROTO_NODE_SCOPE) {
		sb_puts(sb, ",\"value\":");
		if (n->has_value)
			sb_put_i64(sb, n->value);
		else
			sb_puts(sb, "null");
	}
	sb_puts(sb, ",\"error\":");
	if (n->error)
		sb_json_cstr(sb, n->error);
	else
		sb_puts(sb, "null");
	sb_puts(sb, ",\"cancel\":");
	if (n->cancel_reason >= 0 || n->cancel_requested_ms >= 0) {
		const char *rn = graph_reason_name(n->cancel_reason);

		sb_puts(sb, "{\"reason\":");
		if (rn)
			sb_json_cstr(sb, rn);
		else
			sb_puts(sb, "null");
		render_time_field(sb, "requested", n->cancel_requested_ms);
		render_time_field(sb, "acknowledged", n->cancel_ack_ms);
		if (n->cancel_note) {
			sb_puts(sb, ",\"note\":");
			sb_json_cstr(sb, n->cancel_note);
		}
		sb_putc(sb, '}');
	} else {
		sb_puts(sb, "null");
	}
	if (snap) {
		polls = snap[2 * n->idx];
		yields = snap[2 * n->idx + 1];
	} else {
		graph_node_stats(n, &polls, &yields);
	}
	sb_puts(sb, ",\"stats\":{\"polls\":");
	sb_put_u64(sb, polls);
	sb_puts(sb, ",\"forced_yields\":");
	sb_put_u64(sb, yields);
	sb_putc(sb, '}');
	if (n->attempts)
		render_attempts(n, sb);
	/* rerun failed_only: its results are those of the graph rerun. */
	if (n->reused)
		sb_puts(sb, ",\"reused\":true");
	/* Paused: it does not start, or its job is frozen (docs/protocol.md). */
	if (n->paused && !n->settled && !proto_state_is_final((enum proto_state)n->state))
		sb_puts(sb, ",\"paused\":true");
	if (def->kind == PROTO_NODE_SCOPE)
		sb_puts(sb, ",\"nodes\":[");
	else
		sb_putc(sb, '}');
}

static void render_node(const struct rnode *n, const uint64_t *snap, struct strbuf *sb)
{
	graph_render_node_open(n, snap, sb);
	if (n->def->kind != PROTO_NODE_SCOPE)
		return;
	for (size_t i = 0; i < n->def->n_children; i++) {
		if (i)
			sb_putc(sb, ',');
		render_node(&n->kids[i], snap, sb);
	}
	sb_puts(sb, "]}");
}

void graph_render_node(const struct rnode *n, struct strbuf *sb)
{
	render_node(n, NULL, sb);
}

static void render_head(const struct graph *g, struct strbuf *sb)
{
	sb_puts(sb, "{\"id\":");
	sb_json_cstr(sb, g->id);
	sb_puts(sb, ",\"name\":");
	sb_json_cstr(sb, graph_name(g));
	sb_printf(sb, ",\"state\":\"%s\"", proto_state_name((enum proto_state)graph_state(g)));
}

void graph_render_status(const struct graph *g, bool summary, struct strbuf *sb)
{
	int s;
	bool first = true;

	if (summary) {
		render_head(g, sb);
		sb_puts(sb, ",\"counts\":{");
		for (s = 0; s < PROTO_STATE__MAX; s++) {
			if (!g->counts[s])
				continue;
			sb_printf(sb, "%s\"%s\":%u", first ? "" : ",",
				  proto_state_name((enum proto_state)s), g->counts[s]);
			first = false;
		}
		sb_puts(sb, "}}");
		return;
	}
	graph_render_status_head(g, sb);
	{
		uint64_t *snap = graph_stats_snapshot(g);

		render_node(g->root, snap, sb);
		free(snap);
	}
	sb_putc(sb, '}');
}

void graph_render_status_head(const struct graph *g, struct strbuf *sb)
{
	render_head(g, sb);
	sb_printf(sb, ",\"owner_uid\":%lu,\"owner_gid\":%lu", (unsigned long)g->uid,
		  (unsigned long)g->gid);
	render_time_field(sb, "created", g->created_ms);
	render_time_field(sb, "started", g->root->started_ms);
	render_time_field(sb, "finished", g->root->finished_ms);
	sb_puts(sb, ",\"root\":");
}

void graph_render_brief(const struct graph *g, struct strbuf *sb)
{
	render_head(g, sb);
	render_time_field(sb, "created", g->created_ms);
	sb_printf(sb, ",\"nodes_total\":%zu,\"nodes_done\":%zu}", g->n_nodes, g->n_done);
}
