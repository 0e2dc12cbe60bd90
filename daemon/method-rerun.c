/*
 * method-rerun.c - `rerun {id, failed_only?}` -> {id}.
 *
 * A new graph from the document of a settled graph (the same owner rules
 * as `cancel`: another user's graph answers -32001 like an unknown id).
 * The document is the old graph's as it was submitted, read from the state
 * store (store_db_read_doc, docs/durability.md), parsed again, checked and
 * stored as a submit's would be (method-submit.h), so a rerun is refused
 * for what a submit would be (a limit this coopd cannot enforce now,
 * max_active_per_user, max_active_nodes_per_user, and
 * max_active_bytes_per_user with the stored document's length).  With failed_only the nodes that
 * succeeded are not run again (graph-reuse.c).  A graph still running answers -32005.
 *
 * Only the graph's owner reruns it: the new graph belongs to whoever asks
 * (method-submit.h), so root rerunning a user's graph would run that user's
 * argv as root ("an exec job never runs with more privilege than the user
 * who submitted it", docs/security.md).  Root gets -32002 for another
 * user's graph; a non-root user never sees one (-32001 above).
 *
 * Reading a big document, parsing it twice (JSON, then the graph) and
 * building the new graph held the loop about half a second for a 60 MB
 * document, and every other client waited (issue 15, item 2).  That part
 * now runs on the store's reader thread (store-reader.h): the request is
 * parked (server-park.c, struct park_read) and, once the read is done,
 * runs again and finds it (c->park_done); the loop does only the owner
 * and state checks before, and the checks and registration a submit does
 * after (submit_graph_built).  The answers and errors are the same as
 * when it all ran on the loop, which it still does without a reader
 * thread.  Reads are one at a time on that thread and a connection has at
 * most one, so the documents held are bounded by the connections.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "method-submit.h"
#include "method.h"
#include "proto-graph.h"
#include "server.h"
#include "store-db.h"
#include "store-state.h"

/* Where building the new graph stopped (each with its own answer). */
enum rerun_stage {
	RERUN_BUILT,   /* g and text are there */
	RERUN_UNREAD,  /* the document could not be read: r */
	RERUN_NOTJSON, /* it is not JSON */
	RERUN_INVALID, /* the graph is refused now: err (a limit lowered since) */
	RERUN_NOMEM,   /* out of memory building it */
};

/* One rerun's read; everything it reads is its own copy (the limits too:
 * a reload may change them meanwhile). */
struct rerun_read {
	struct park_read pr; /* first */
	struct graph *old;   /* failed_only: pinned, its tree kept until used */
	char id[GRAPH_ID_LEN + 1];
	uid_t uid;
	gid_t gid;
	struct proto_limits lim;
	/* The result. */
	enum rerun_stage stage;
	int r;
	struct proto_error err;
	struct graph *g;
	char *text;
	size_t len;
};

static void rerun_read_free(struct park_read *pr)
{
	struct rerun_read *j = (struct rerun_read *)pr;

	graph_free(j->g);
	free(j->text);
	if (j->old)
		graph_unpin(j->old);
	free(j);
}

/* Parses the document text (taken) and builds the new graph, on whichever
 * thread reads it. */
static void rerun_build(struct rerun_read *j, char *text, size_t len)
{
	/* As deep as a submit may be: json_tokener_parse() stops at 32
	 * levels, which a graph of 16 nested scopes passes. */
	unsigned depth = j->lim.max_json_depth;
	struct json_tokener *tok =
		json_tokener_new_ex(depth ? (int)depth : (int)PROTO_DEFAULT_MAX_JSON_DEPTH);
	struct json_object *doc = NULL;
	struct proto_graph *def = NULL;

	if (tok && len < INT32_MAX)
		doc = json_tokener_parse_ex(tok, text, (int)len);
	if (tok)
		json_tokener_free(tok);
	if (!doc) {
		free(text);
		j->stage = RERUN_NOTJSON;
		return;
	}
	proto_error_clear(&j->err);
	if (proto_graph_parse(doc, &j->lim, &def, &j->err) < 0) {
		free(text);
		json_object_put(doc);
		j->stage = RERUN_INVALID;
		return;
	}
	/* def keeps its own references into doc (as a submit's does). */
	json_object_put(doc);
	if (graph_new(def, "", j->uid, j->gid, 0, &j->g) < 0) {
		proto_graph_free(def);
		free(text);
		j->stage = RERUN_NOMEM;
		return;
	}
	/* The stored text is kept as it is: it was written from the
	 * validated document (store_doc_text), and parsing it gave this
	 * graph. */
	j->text = text;
	j->len = len;
	j->stage = RERUN_BUILT;
}

/* Reader thread. */
static void rerun_read_run(struct store_db *db, struct store_read *job)
{
	struct rerun_read *j = (struct rerun_read *)job;
	char *text = NULL;
	size_t len = 0;

	j->r = store_db_read_doc(db, j->id, &text, &len);
	if (j->r < 0) {
		j->stage = RERUN_UNREAD;
		return;
	}
	rerun_build(j, text, len);
}

static struct rerun_read *rerun_read_new(struct method_call *call, struct graph *g,
					 bool failed_only)
{
	struct rerun_read *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->pr.read.run = rerun_read_run;
	j->pr.free = rerun_read_free;
	/* What it answers if the reader stops before running it. */
	j->stage = RERUN_UNREAD;
	j->r = -ESHUTDOWN;
	memcpy(j->id, g->id, sizeof(j->id));
	j->uid = call->c->uid;
	j->gid = call->c->gid;
	j->lim = call->d->cfg.limits;
	if (failed_only) {
		/* Its tree stays until the rerun has taken its results. */
		g->pins++;
		j->old = g;
	}
	return j;
}

/* The answer of a done read j (taken). */
static enum method_ret rerun_finish(struct method_call *call, struct rerun_read *j,
				    struct graph *reuse)
{
	enum method_ret ret;

	switch (j->stage) {
	case RERUN_BUILT:
		ret = submit_graph_built(call, j->g, j->text, j->len, reuse);
		j->g = NULL;
		j->text = NULL;
		break;
	case RERUN_UNREAD:
		ret = method_fail(call, PROTO_ERR_INTERNAL, NULL,
				  "cannot read the document of graph %s: %s", j->id,
				  store_db_strerror(j->r));
		break;
	case RERUN_NOTJSON:
		ret = method_fail(call, PROTO_ERR_INTERNAL, NULL,
				  "the stored document of graph %s is not JSON", j->id);
		break;
	case RERUN_INVALID:
		/* Only a limit lowered since (max_nodes, max_scope_depth),
		 * or an env name reserved since (COOPD_JOB): a rerun is a
		 * new document. */
		call->err = j->err;
		ret = METHOD_ERROR;
		break;
	default:
		ret = method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
		break;
	}
	j->pr.free(&j->pr);
	return ret;
}

static int rerun_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_rerun_params_decode(params, ret, err);
}

static enum method_ret rerun_handle(struct method_call *call, void *params)
{
	struct proto_rerun_params *p = params;
	/* Without failed_only the old graph's tree is not needed. */
	struct graph *g =
		p->failed_only ? method_graph(call, p->id) : method_graph_brief(call, p->id);
	struct rerun_read *j;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!g)
		return METHOD_ERROR;
	if (g->uid != call->c->uid)
		return method_fail(call, PROTO_ERR_PERMISSION, "params.id",
				   "graph %s belongs to uid %lu: only its owner may rerun it "
				   "(the rerun would run its jobs as uid %lu)",
				   g->id, (unsigned long)g->uid, (unsigned long)call->c->uid);
	if (g->active)
		return method_fail(call, PROTO_ERR_ACTIVE, "params.id",
				   "graph %s is still %s: wait for it to settle (or cancel it) "
				   "before rerunning it",
				   g->id, proto_state_name((enum proto_state)graph_state(g)));
	j = (struct rerun_read *)call->c->park_done;
	if (j && j->pr.free == rerun_read_free && strcmp(j->id, g->id) == 0) {
		/* Read and built off the loop: this is the request again. */
		call->c->park_done = NULL;
		return rerun_finish(call, j, p->failed_only ? g : NULL);
	}
	j = rerun_read_new(call, g, p->failed_only);
	if (!j)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	if (store_reads_off_loop(call->d->store)) {
		call->d->counters.reruns_read_off_loop++;
		call->park_read = &j->pr;
		/* The answer if it cannot be queued. */
		return method_fail(call, PROTO_ERR_INTERNAL, NULL,
				   "cannot read the document of graph %s: %s", g->id,
				   strerror(ENOMEM));
	}
	/* No reader thread: on the loop, as before it had one. */
	r = store_read_doc(call->d->store, g->id, &text, &len);
	if (r < 0) {
		j->stage = RERUN_UNREAD;
		j->r = r;
	} else {
		rerun_build(j, text, len);
	}
	return rerun_finish(call, j, p->failed_only ? g : NULL);
}

const struct method method_rerun = {
	.id = PROTO_M_RERUN,
	.params_size = sizeof(struct proto_rerun_params),
	.decode = rerun_decode,
	.handler = rerun_handle,
};
