/*
 * server-dispatch.c - from one request line to one answer.
 *
 * Order of checks: framing (too long: -32600), JSON and envelope
 * (proto_request_parse: -32700/-32600), method (-32601), shutting down
 * (-32004 for submit), params (the table entry's decoder: -32602), then the
 * handler.  Notifications (no id) are run but never answered.  Every
 * answered request is counted in coopd_requests_total{method, code}.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-stream.h"
#include "method.h"
#include "server-internal.h"
#include "store-db.h"
#include "store-state.h"
#include "util-log.h"

static const struct method *const method_table[PROTO_M__MAX] = {
	[PROTO_M_VERSION] = &method_version, [PROTO_M_PING] = &method_ping,
	[PROTO_M_SUBMIT] = &method_submit,   [PROTO_M_STATUS] = &method_status,
	[PROTO_M_LIST] = &method_list,       [PROTO_M_CANCEL] = &method_cancel,
	[PROTO_M_WAIT] = &method_wait,       [PROTO_M_LOGS] = &method_logs,
	[PROTO_M_WATCH] = &method_watch,     [PROTO_M_STATS] = &method_stats,
	[PROTO_M_METRICS] = &method_metrics, [PROTO_M_REMOVE] = &method_remove,
	[PROTO_M_RERUN] = &method_rerun,     [PROTO_M_PAUSE] = &method_pause,
	[PROTO_M_RESUME] = &method_resume,
};

/* Big enough for every proto_*_params struct. */
union params_storage {
	struct proto_submit_params submit;
	struct proto_status_params status;
	struct proto_list_params list;
	struct proto_cancel_params cancel;
	struct proto_wait_params wait;
	struct proto_logs_params logs;
	struct proto_watch_params watch;
	struct proto_graph_node_params graph_node;
	struct proto_rerun_params rerun;
	char bytes[256];
};

static int code_slot(int code)
{
	switch (code) {
	case 0:
		return REQ_CODE_OK;
	case PROTO_ERR_PARSE:
		return REQ_CODE_PARSE;
	case PROTO_ERR_INVALID_REQUEST:
		return REQ_CODE_INVALID_REQUEST;
	case PROTO_ERR_METHOD_NOT_FOUND:
		return REQ_CODE_NO_METHOD;
	case PROTO_ERR_INVALID_PARAMS:
		return REQ_CODE_INVALID_PARAMS;
	case PROTO_ERR_NO_SUCH_GRAPH:
		return REQ_CODE_NO_GRAPH;
	case PROTO_ERR_PERMISSION:
		return REQ_CODE_PERMISSION;
	case PROTO_ERR_LIMIT:
		return REQ_CODE_LIMIT;
	case PROTO_ERR_SHUTTING_DOWN:
		return REQ_CODE_SHUTTING_DOWN;
	case PROTO_ERR_ACTIVE:
		return REQ_CODE_ACTIVE;
	default:
		return REQ_CODE_INTERNAL;
	}
}

void dispatch_count(struct coopd *d, enum proto_method m, int code)
{
	int row = (m >= 0 && m < PROTO_M__MAX) ? (int)m : PROTO_M__MAX;

	d->counters.requests[row][code_slot(code)]++;
}

void conn_answer_text(struct conn *c, struct json_object *id, char *result, size_t len)
{
	const char *ids = id ? json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN) : "null";
	size_t idl = strlen(ids);
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
	static const char mid[] = ",\"result\":";
	size_t total = sizeof(head) - 1 + idl + sizeof(mid) - 1 + len + 2;
	char *line = malloc(total + 1);
	size_t o = 0;

	if (!line) {
		free(result);
		log_err("out of memory building an answer for client %lu", c->serial);
		return;
	}
	memcpy(line + o, head, sizeof(head) - 1);
	o += sizeof(head) - 1;
	memcpy(line + o, ids, idl);
	o += idl;
	memcpy(line + o, mid, sizeof(mid) - 1);
	o += sizeof(mid) - 1;
	memcpy(line + o, result, len);
	o += len;
	line[o++] = '}';
	line[o++] = '\n';
	line[o] = '\0';
	free(result);
	conn_queue_answer(c, line, o);
}

void conn_answer_error(struct conn *c, struct json_object *id, const struct proto_error *err)
{
	char *line;
	size_t len;

	if (proto_error_line(id, err, &line, &len) < 0) {
		log_err("out of memory building an error for client %lu", c->serial);
		return;
	}
	conn_queue_answer(c, line, len);
}

void dispatch_too_long(struct conn *c)
{
	struct proto_error err;

	proto_error_set(&err, PROTO_ERR_INVALID_REQUEST, NULL,
			"message too large (max_request_bytes %zu)", c->d->cfg.limits.max_request);
	dispatch_count(c->d, PROTO_M_UNKNOWN, err.code);
	conn_answer_error(c, NULL, &err);
}

static void dispatch_request(struct conn *c, const char *line, size_t len,
			     struct proto_request *reqp, int r, struct method_call *callp);

void dispatch_line(struct conn *c, const char *line, size_t len)
{
	struct proto_request req;
	struct method_call call = {.d = c->d, .c = c};
	int r;

	/* Blank lines between messages are tolerated. */
	if (len == 0 || (len == 1 && line[0] == '\r'))
		return;
	proto_error_clear(&call.err);
	memset(&req, 0, sizeof(req));
	r = proto_request_parse_ex(line, len, &c->d->cfg.limits, PROTO_REQ_COMPACT_GRAPH, &req,
				   &call.err);
	dispatch_request(c, line, len, &req, r, &call);
}

void dispatch_parsed(struct conn *c, const char *line, size_t len, struct server_parsed *res)
{
	struct method_call call = {.d = c->d, .c = c};

	call.err = res->err;
	if (res->graph_parsed)
		call.pre = res;
	dispatch_request(c, line, len, &res->req, res->r, &call);
	/* dispatch_request freed the request; the caller frees what is left. */
	memset(&res->req, 0, sizeof(res->req));
}

/* The rest of dispatch_line() once the line is parsed (r, *reqp and
 * callp->err as proto_request_parse_ex() left them); frees *reqp. */
static void dispatch_request(struct conn *c, const char *line, size_t len,
			     struct proto_request *reqp, int r, struct method_call *callp)
{
	struct coopd *d = c->d;
	struct proto_request req = *reqp;
	struct method_call call = *callp;
	union params_storage params;
	const struct method *m;
	enum method_ret ret;

	call.id = req.id;
	call.m = req.method_id;
	if (r < 0) {
		ret = METHOD_ERROR;
		call.m = PROTO_M_UNKNOWN;
		req.has_id = true; /* answer malformed requests, with id null if unknown */
		goto answer;
	}
	if (req.method_id == PROTO_M_UNKNOWN || req.method_id >= PROTO_M__MAX ||
	    !(m = method_table[req.method_id])) {
		ret = method_fail(&call, PROTO_ERR_METHOD_NOT_FOUND, "method",
				  "unknown method '%.64s'", req.method ? req.method : "");
		goto answer;
	}
	if (d->shutting_down && req.method_id == PROTO_M_SUBMIT) {
		ret = method_fail(&call, PROTO_ERR_SHUTTING_DOWN, NULL, "coopd is shutting down");
		goto answer;
	}
	if (m->params_size > sizeof(params)) {
		ret = method_fail(&call, PROTO_ERR_INTERNAL, NULL, "params too large for dispatch");
		goto answer;
	}
	memset(&params, 0, sizeof(params));
	r = m->decode(req.params, &params, &call.err);
	if (r < 0) {
		ret = METHOD_ERROR;
		goto answer;
	}
	ret = m->handler(&call, &params);
	/* A settled graph's tree read back for this request goes again
	 * (unless a `wait` now holds it). */
	if (call.hydrated)
		graph_maybe_release(call.hydrated);
answer:
	if (ret == METHOD_LATER) {
		proto_request_free(&req);
		return;
	}
	if (ret == METHOD_ERROR && call.park &&
	    conn_park(c, call.park, line, len, req.id, req.has_id, call.m) == 0) {
		proto_request_free(&req);
		return;
	}
	if (ret == METHOD_ERROR && call.park_read) {
		if (conn_park_read(c, call.park_read, line, len) == 0) {
			proto_request_free(&req);
			return;
		}
		call.park_read->free(call.park_read);
		call.park_read = NULL;
	}
	if (ret == METHOD_STREAM) {
		if (!req.has_id) {
			graph_stream_free(call.stream);
		} else if (conn_stream_start(c, req.id, call.stream) < 0) {
			graph_stream_free(call.stream);
			ret = method_fail(&call, PROTO_ERR_INTERNAL, NULL, "out of memory");
			goto answer;
		}
		dispatch_count(d, call.m, 0);
		proto_request_free(&req);
		return;
	}
	dispatch_count(d, call.m, ret == METHOD_OK ? 0 : call.err.code);
	if (!req.has_id) {
		free(call.result);
	} else if (ret == METHOD_OK) {
		conn_answer_text(c, req.id, call.result, call.result_len);
	} else {
		if (call.err.code == 0)
			proto_error_set(&call.err, PROTO_ERR_INTERNAL, NULL, "internal error");
		conn_answer_error(c, req.id, &call.err);
	}
	proto_request_free(&req);
}

enum method_ret method_ok_json(struct method_call *call, struct json_object *result)
{
	const char *s;
	size_t len;

	s = json_object_to_json_string_length(result, JSON_C_TO_STRING_PLAIN, &len);
	call->result = s ? malloc(len + 1) : NULL;
	if (!call->result) {
		json_object_put(result);
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	memcpy(call->result, s, len + 1);
	call->result_len = len;
	json_object_put(result);
	return METHOD_OK;
}

enum method_ret method_ok_sb(struct method_call *call, struct strbuf *sb)
{
	call->result = sb_steal(sb, &call->result_len);
	if (!call->result)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	return METHOD_OK;
}

enum method_ret method_ok_status_stream(struct method_call *call, struct graph *g)
{
	call->stream = graph_stream_new(g);
	if (!call->stream)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	return METHOD_STREAM;
}

enum method_ret method_fail(struct method_call *call, int code, const char *path, const char *fmt,
			    ...)
{
	va_list ap;

	va_start(ap, fmt);
	proto_error_setv(&call->err, code, path, fmt, ap);
	va_end(ap);
	return METHOD_ERROR;
}

struct graph *method_graph_brief(struct method_call *call, const char *id)
{
	struct graph *g = graph_registry_find(call->d, id);

	/* Someone else's graph answers exactly like an unknown id, so ids of
	 * other users' graphs cannot be probed (docs/security.md). */
	if (!g || !conn_may_see(call->c, g->uid)) {
		proto_error_set(&call->err, PROTO_ERR_NO_SUCH_GRAPH, "params.id",
				"no such graph '%.64s'", id);
		return NULL;
	}
	return g;
}

struct graph *method_graph(struct method_call *call, const char *id)
{
	struct graph *g = method_graph_brief(call, id);
	int r;

	if (g && g->released && store_reads_off_loop(call->d->store)) {
		/* Read back on the reader thread; this request waits for it
		 * (server-park.c) while the loop serves everyone else. */
		call->park = g;
		proto_error_set(&call->err, PROTO_ERR_INTERNAL, NULL,
				"cannot wait for graph %s to be read from the state database",
				g->id);
		return NULL;
	}
	if (g && g->released) {
		/* A settled graph keeps no tree in memory: read it back. */
		r = store_graph_hydrate(call->d->store, g);
		if (r < 0) {
			proto_error_set(&call->err, PROTO_ERR_INTERNAL, NULL,
					"cannot read graph %s from the state database: %s", g->id,
					store_db_strerror(r));
			return NULL;
		}
		call->hydrated = g;
	}
	return g;
}

struct graph *method_graph_counted(struct method_call *call, const char *id)
{
	struct graph *g = method_graph_brief(call, id);
	int r;

	if (g && (r = store_graph_counts(call->d->store, g)) < 0) {
		proto_error_set(&call->err, PROTO_ERR_INTERNAL, NULL,
				"cannot read graph %s from the state database: %s", g->id,
				store_db_strerror(r));
		return NULL;
	}
	return g;
}

struct later *later_new(struct conn *c, struct json_object *id, enum proto_method m)
{
	struct later *l;

	if (c->n_laters >= c->d->cfg.max_pending_per_conn)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->conn = c;
	l->id = id ? json_object_get(id) : NULL;
	l->method = m;
	l->cnext = c->laters;
	if (c->laters)
		c->laters->cprev = l;
	c->laters = l;
	c->n_laters++;
	return l;
}

void later_set_backref(struct later *l, struct later **slot)
{
	l->backref = slot;
}

void later_answer_error(struct later *l, const struct proto_error *err)
{
	dispatch_count(l->conn->d, l->method, err->code);
	conn_answer_error(l->conn, l->id, err);
	later_free(l);
}

void later_free(struct later *l)
{
	struct conn *c = l->conn;

	if (l->backref)
		*l->backref = NULL;
	if (l->timer_active)
		ev_timer_stop(c->d->loop, &l->timer);
	if (l->g) {
		if (l->gprev)
			l->gprev->gnext = l->gnext;
		else
			l->g->waiters = l->gnext;
		if (l->gnext)
			l->gnext->gprev = l->gprev;
	}
	if (l->cprev)
		l->cprev->cnext = l->cnext;
	else
		c->laters = l->cnext;
	if (l->cnext)
		l->cnext->cprev = l->cprev;
	c->n_laters--;
	if (l->id)
		json_object_put(l->id);
	free(l);
}

int later_answer_stream(struct later *l, struct graph_stream *gs)
{
	struct conn *c = l->conn;
	int r;

	if (c->stream || !l->id || c->dead)
		return -EBUSY;
	if ((r = conn_stream_start(c, l->id, gs)) < 0)
		return r;
	dispatch_count(c->d, l->method, 0);
	later_free(l);
	conn_update_watchers(c);
	return 0;
}

void later_answer_text(struct later *l, char *result, size_t len)
{
	struct conn *c = l->conn;

	dispatch_count(c->d, l->method, result ? 0 : PROTO_ERR_INTERNAL);
	if (result) {
		conn_answer_text(c, l->id, result, len);
	} else {
		struct proto_error err;

		proto_error_set(&err, PROTO_ERR_INTERNAL, NULL, "out of memory");
		conn_answer_error(c, l->id, &err);
	}
	later_free(l);
}
