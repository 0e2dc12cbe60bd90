/*
 * method-submit.c - `submit {graph}` -> {id}.
 *
 * The whole graph is validated (proto_graph_parse) before anything runs,
 * then the per-user active limits are checked (graphs not yet settled plus
 * submits of the same user still waiting for the disk, so that pipelined
 * submits cannot get past them: d->submits_pending; the same in nodes for
 * max_active_nodes_per_user, since an active node holds about 1.3 KB of
 * coopd's memory: docs/security.md, "Fair share"; and in the bytes of the
 * stored documents for max_active_bytes_per_user, since a graph's strings
 * stay in memory and on disk while it is active, whatever its node
 * count), then the graph is stored durably (store-state.c: fsync'ed) and
 * only then registered, started and answered.  A graph that could not be
 * stored is not run.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-reuse.h"
#include "graph-run.h"
#include "job-cgroup.h"
#include "job-exec.h"
#include "method-submit.h"
#include "method.h"
#include "server.h"
#include "store-db.h"
#include "store-state.h"
#include "util-log.h"

static int submit_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_submit_params_decode(params, ret, err);
}

/* The next random value for an id.  The kernel's CSPRNG is read a batch
 * at a time, not once per submit (one system call less each): an id is
 * as unpredictable as before (docs/protocol.md: 16 random hex
 * characters), and the values not yet used are only in coopd's memory. */
static int next_random(struct coopd *d, uint64_t *v)
{
	if (d->id_random_left == 0) {
		ssize_t n = getrandom(d->id_random, sizeof(d->id_random), 0);

		/* Up to 256 bytes come whole once the pool is ready
		 * (getrandom(2)); a short read is taken as a failure. */
		if (n != (ssize_t)sizeof(d->id_random))
			return n < 0 ? -errno : -EIO;
		d->id_random_left = sizeof(d->id_random) / sizeof(d->id_random[0]);
	}
	*v = d->id_random[--d->id_random_left];
	/* A used value is an id and public; cleared all the same, so that the
	 * pool holds only values not yet handed out. */
	d->id_random[d->id_random_left] = 0;
	return 0;
}

/* A fresh random id (16 hex characters) not used by any known graph. */
static int new_graph_id(struct coopd *d, char *buf)
{
	for (int tries = 0; tries < 16; tries++) {
		uint64_t v = 0;
		int r;

		if ((r = next_random(d, &v)) < 0)
			return r;
		snprintf(buf, GRAPH_ID_LEN + 1, "%016llx", (unsigned long long)v);
		if (!graph_registry_find(d, buf))
			return 0;
	}
	return -EEXIST;
}

static size_t active_of_user(struct coopd *d, uid_t uid)
{
	return graph_registry_active_of(d, uid);
}

/* Whether uid has a passwd entry (needed to run its exec jobs as it). */
static bool user_known(uid_t uid)
{
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];

	return getpwuid_r(uid, &pwbuf, buf, sizeof(buf), &pw) == 0 && pw;
}

static int has_exec(const struct proto_node *node, void *userdata)
{
	return node->kind == PROTO_NODE_EXEC;
}

/* The document path of node n ("nodes[2].nodes[0]"; "" for the root). */
static void doc_path(const struct proto_node *n, char *buf, size_t size)
{
	char tail[PROTO_ERROR_PATH_MAX];

	buf[0] = '\0';
	for (; n && n->parent; n = n->parent) {
		snprintf(tail, sizeof(tail), "nodes[%zu]%s%s", n->index, buf[0] ? "." : "", buf);
		snprintf(buf, size, "%s", tail);
	}
}

struct limits_check {
	unsigned have;     /* CGROUP_CTRL_* of the job cgroups */
	bool cgroups;      /* a cgroup per job at all */
	unsigned reported; /* fields already checked (the topmost wins) */
	struct proto_error *err;
};

/* A limit this coopd cannot enforce is refused, never ignored
 * (coopd.graph(5), `limits`): memory_max, cpu_max and pids_max need a
 * cgroup per job with the controller.  Parents come first in the walk and
 * limits are inherited, so the first node that has one is where the
 * document sets it. */
static int check_limits(const struct proto_node *node, void *userdata)
{
	static const struct {
		const char *key, *ctrl;
		unsigned bit;
	} need[] = {{"memory_max", "memory", CGROUP_CTRL_MEMORY},
		    {"cpu_max", "cpu", CGROUP_CTRL_CPU},
		    {"pids_max", "pids", CGROUP_CTRL_PIDS}};
	struct limits_check *lc = userdata;
	const struct proto_job_limits *l = node->limits;
	char path[PROTO_ERROR_PATH_MAX], field[PROTO_ERROR_PATH_MAX + 32];

	if (!l)
		return 0;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		bool set = i == 0 ? l->memory_max > 0 : i == 1 ? l->cpu_max > 0 : l->pids_max > 0;

		if (!set || (lc->cgroups && (lc->have & need[i].bit)))
			continue;
		doc_path(node, path, sizeof(path));
		snprintf(field, sizeof(field), "%s%slimits.%s", path, path[0] ? "." : "",
			 need[i].key);
		if (!lc->cgroups)
			proto_error_set(lc->err, PROTO_ERR_INVALID_PARAMS, field,
					"%s needs a cgroup per job, and this coopd has none "
					"(cgroups = off, or no writable cgroup2 subtree)",
					need[i].key);
		else
			proto_error_set(lc->err, PROTO_ERR_INVALID_PARAMS, field,
					"%s needs the cgroup v2 '%s' controller, which coopd's "
					"cgroup has not been given (delegate it to coopd)",
					need[i].key, need[i].ctrl);
		return -EINVAL;
	}
	return 0;
}

static int find_slurm(const struct proto_node *node, void *userdata)
{
	if (node->kind != PROTO_NODE_EXEC || node->placement != PROTO_PLACEMENT_SLURM)
		return 0;
	*(const struct proto_node **)userdata = node;
	return 1;
}

/* A node placed on Slurm while slurm = off: the path of the "placement"
 * that put it there (its own, or the nearest scope's). */
static bool slurm_refused(struct coopd *d, const struct proto_graph *def, char *path, size_t size)
{
	const struct proto_node *node = NULL;
	size_t len;

	if (d->slurm || !proto_graph_walk(def, find_slurm, &node))
		return false;
	while (!node->placement_own && node->parent)
		node = node->parent;
	doc_path(node, path, size);
	len = strlen(path);
	snprintf(path + len, size - len, "%splacement", len ? "." : "");
	return true;
}

/* Who to answer once the write completes; l is cleared (later_free) if
 * the client disconnects first, or NULL for a notification.  A rerun
 * names the graph whose logs its reused nodes keep. */
struct submit_ctx {
	struct later *l;
	char reuse_from[GRAPH_ID_LEN + 1]; /* "" none */
};

static void submit_answer_id(struct later *l, struct graph *g)
{
	struct strbuf sb;
	char *text;
	size_t len = 0;

	sb_init(&sb);
	sb_puts(&sb, "{\"id\":");
	sb_json_cstr(&sb, g->id);
	sb_putc(&sb, '}');
	text = sb_steal(&sb, &len);
	later_answer_text(l, text, len);
}

/* The graph's files are durable (or could not be written): register,
 * start and answer, on the loop thread. */
static void submit_stored(struct coopd *d, struct graph *g, int r, void *arg)
{
	struct submit_ctx *ctx = arg;
	struct later *l = ctx->l;
	struct proto_error err;
	char reuse_from[GRAPH_ID_LEN + 1];

	memcpy(reuse_from, ctx->reuse_from, sizeof(reuse_from));
	free(ctx);
	uidcount_sub(&d->submits_pending, g->uid, 1);
	uidcount_sub(&d->submit_nodes_pending, g->uid, g->n_nodes);
	uidcount_sub(&d->submit_bytes_pending, g->uid, (size_t)g->doc_bytes);
	if (l)
		later_set_backref(l, NULL);

	if (r < 0) {
		if (l) {
			proto_error_set(&err, PROTO_ERR_INTERNAL, NULL,
					"cannot store the graph durably: %s", store_db_strerror(r));
			later_answer_error(l, &err);
		}
		graph_free(g);
		return;
	}
	if (graph_registry_add(d, g) < 0) {
		log_err("out of memory registering graph %s; it runs after a restart", g->id);
		if (l) {
			proto_error_set(&err, PROTO_ERR_INTERNAL, NULL, "out of memory");
			later_answer_error(l, &err);
		}
		graph_free(g);
		return;
	}
	d->counters.graphs_submitted++;
	log_debug("graph %s (%s) submitted by uid %lu: %zu nodes", g->id, g->def->name,
		  (unsigned long)g->uid, g->n_nodes);
	/* Accepted and durable: it runs even if its client has gone. */
	if (l)
		submit_answer_id(l, g);
	if (reuse_from[0])
		graph_reuse_logs(d, graph_registry_find(d, reuse_from), g);
	graph_run_start(d, g);
	if (d->shutting_down)
		graph_run_cancel(d, g, NULL, COOP_REASON_SHUTDOWN, -1, NULL);
}

/* The checks of a valid graph that need the daemon, in this order;
 * doc_len is the length of the document's text as stored
 * (store_doc_text).  METHOD_OK, or METHOD_ERROR with call->err set (def
 * is the caller's either way). */
static enum method_ret submit_check(struct method_call *call, const struct proto_graph *def,
				    size_t doc_len)
{
	struct coopd *d = call->d;

	{
		struct limits_check lc = {.have = exec_cgroup_controllers(d),
					  .cgroups = exec_cgroups_active(d),
					  .err = &call->err};

		if (proto_graph_walk(def, check_limits, &lc) != 0)
			return METHOD_ERROR;
	}
	{
		char path[PROTO_ERROR_PATH_MAX];

		if (slurm_refused(d, def, path, sizeof(path)))
			return method_fail(call, PROTO_ERR_INVALID_PARAMS, path,
					   "placement slurm, but this coopd has slurm = off "
					   "(coopd.conf(5))");
	}
	if (call->c->uid != 0 && exec_as_owner(d) && proto_graph_walk(def, has_exec, NULL) &&
	    !user_known(call->c->uid))
		return method_fail(call, PROTO_ERR_PERMISSION, "nodes",
				   "uid %lu has no passwd entry: its exec jobs cannot run",
				   (unsigned long)call->c->uid);
	if (active_of_user(d, call->c->uid) + uidcount_get(&d->submits_pending, call->c->uid) >=
	    d->cfg.max_active_per_user)
		return method_fail(call, PROTO_ERR_LIMIT, NULL,
				   "too many active graphs for this user (max_active_per_user %zu)",
				   d->cfg.max_active_per_user);
	{
		/* Root too, like max_active_per_user: it is memory every
		 * user's graphs share, not a share of the socket. */
		uint64_t have = (uint64_t)graph_registry_active_nodes_of(d, call->c->uid) +
				uidcount_get(&d->submit_nodes_pending, call->c->uid);

		if (have + def->n_nodes > d->cfg.max_active_nodes_per_user)
			return method_fail(call, PROTO_ERR_LIMIT, NULL,
					   "too many active nodes for this user "
					   "(max_active_nodes_per_user %llu: %llu active or being "
					   "stored, this graph has %zu)",
					   (unsigned long long)d->cfg.max_active_nodes_per_user,
					   (unsigned long long)have, def->n_nodes);
	}
	{
		/* The same for the bytes of the documents: the node bound
		 * leaves one graph of a few nodes with 15 MB strings each
		 * (a 15 MB env value) unbounded, 10,000 times over
		 * (docs/security.md, "Fair share"). */
		uint64_t have = (uint64_t)graph_registry_active_bytes_of(d, call->c->uid) +
				uidcount_get(&d->submit_bytes_pending, call->c->uid);

		if (have + doc_len > d->cfg.max_active_bytes_per_user)
			return method_fail(call, PROTO_ERR_LIMIT, NULL,
					   "too many bytes of active graphs for this user "
					   "(max_active_bytes_per_user %llu: %llu active or being "
					   "stored, this graph's document has %zu)",
					   (unsigned long long)d->cfg.max_active_bytes_per_user,
					   (unsigned long long)have, doc_len);
	}
	return METHOD_OK;
}

/* The checked graph g (its id and creation time set here) is queued for
 * the store with its document's text (taken).  g is freed on failure. */
static enum method_ret submit_store(struct method_call *call, struct graph *g, char *text,
				    size_t text_len, struct graph *reuse)
{
	struct coopd *d = call->d;
	struct submit_ctx *ctx;
	int r;

	r = new_graph_id(d, g->id);
	if (r < 0) {
		free(text);
		graph_free(g);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "cannot make a graph id");
	}
	g->created_ms = graph_now_ms();
	g->d = d;
	g->doc_bytes = text_len;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx || (reuse && graph_reuse_results(g, reuse) < 0)) {
		free(ctx);
		free(text);
		graph_free(g);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	if (reuse)
		memcpy(ctx->reuse_from, reuse->id, sizeof(ctx->reuse_from));
	/* A notification (no id) is stored and run all the same, unanswered. */
	if (call->id) {
		ctx->l = later_new(call->c, call->id, call->m);
		if (!ctx->l) {
			free(ctx);
			free(text);
			graph_free(g);
			return method_fail(call, PROTO_ERR_LIMIT, NULL,
					   "too many requests waiting on this connection "
					   "(max_pending_requests %zu)",
					   d->cfg.max_pending_per_conn);
		}
	}
	/* All three counts or none: submit_stored takes back all three. */
	r = uidcount_add(&d->submits_pending, g->uid, 1);
	if (r == 0 && uidcount_add(&d->submit_nodes_pending, g->uid, g->n_nodes) < 0) {
		uidcount_sub(&d->submits_pending, g->uid, 1);
		r = -ENOMEM;
	}
	if (r == 0 && uidcount_add(&d->submit_bytes_pending, g->uid, text_len) < 0) {
		uidcount_sub(&d->submits_pending, g->uid, 1);
		uidcount_sub(&d->submit_nodes_pending, g->uid, g->n_nodes);
		r = -ENOMEM;
	}
	if (r == 0) {
		r = store_graph_create_text(d->store, g, text, text_len, submit_stored, ctx);
		text = NULL; /* taken */
		if (r < 0) {
			uidcount_sub(&d->submits_pending, g->uid, 1);
			uidcount_sub(&d->submit_nodes_pending, g->uid, g->n_nodes);
			uidcount_sub(&d->submit_bytes_pending, g->uid, text_len);
			r = -ENOMEM;
		}
	}
	if (r < 0) {
		free(text);
		if (ctx->l)
			later_free(ctx->l);
		free(ctx);
		graph_free(g);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	if (ctx->l)
		later_set_backref(ctx->l, &ctx->l);
	return METHOD_LATER;
}

enum method_ret submit_graph(struct method_call *call, struct proto_graph *def,
			     struct json_object *doc, struct graph *reuse)
{
	struct graph *g = NULL;
	char *text = NULL;
	size_t text_len = 0;

	/* The text first: max_active_bytes_per_user counts what is stored. */
	if (store_doc_text(doc, &text, &text_len) < 0) {
		proto_graph_free(def);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	if (submit_check(call, def, text_len) != METHOD_OK) {
		free(text);
		proto_graph_free(def);
		return METHOD_ERROR;
	}
	if (graph_new(def, "", call->c->uid, call->c->gid, 0, &g) < 0) {
		free(text);
		proto_graph_free(def);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	return submit_store(call, g, text, text_len, reuse);
}

enum method_ret submit_graph_built(struct method_call *call, struct graph *g, char *text,
				   size_t text_len, struct graph *reuse)
{
	if (submit_check(call, g->def, text_len) != METHOD_OK) {
		free(text);
		graph_free(g);
		return METHOD_ERROR;
	}
	return submit_store(call, g, text, text_len, reuse);
}

static enum method_ret submit_handle(struct method_call *call, void *params)
{
	struct proto_submit_params *p = params;
	struct proto_graph *def = NULL;
	int r;

	if (call->pre && call->pre->g) {
		/* Validated, built and written out on the parse thread
		 * (server-parse.c); a graph refused here goes back there to
		 * be freed. */
		struct graph *g = call->pre->g;
		char *text = call->pre->doc;

		if (submit_check(call, g->def, call->pre->doc_len) != METHOD_OK)
			return METHOD_ERROR;
		call->pre->g = NULL;
		call->pre->doc = NULL;
		return submit_store(call, g, text, call->pre->doc_len, NULL);
	}
	if (call->pre) {
		/* Validated on the parse thread (server-parse.c). */
		r = call->pre->graph_r;
		def = call->pre->def;
		call->pre->def = NULL;
		if (r < 0)
			call->err = call->pre->graph_err;
	} else {
		r = proto_graph_parse(p->graph, &call->d->cfg.limits, &def, &call->err);
	}
	if (r < 0)
		return METHOD_ERROR; /* data.path is relative to the graph document */
	return submit_graph(call, def, p->graph, NULL);
}

const struct method method_submit = {
	.id = PROTO_M_SUBMIT,
	.params_size = sizeof(struct proto_submit_params),
	.decode = submit_decode,
	.handler = submit_handle,
};
