/*
 * method.h - one JSON-RPC method per file (method-*.c), each exporting one
 * table entry: its id, the size of its decoded params, the decoder (one of
 * proto-rpc.h's, checking types and unknown fields) and the handler.
 *
 * The dispatcher (server-dispatch.c) decodes the params as the entry
 * declares before the handler runs, so a handler only sees checked input.
 * A handler answers at once (METHOD_OK with call->result set, or
 * METHOD_ERROR with call->err set), or returns METHOD_LATER after keeping
 * a `struct later` that an event (a graph settling, a timer) answers; it
 * never blocks the loop.
 */
#ifndef COOPD_METHOD_H
#define COOPD_METHOD_H

#include <stddef.h>

#include "proto-rpc.h"
#include "util-strbuf.h"

struct coopd;
struct conn;
struct json_object;
struct graph;
struct graph_stream;
struct park_read;
struct server_parsed;

/* METHOD_STREAM: call->stream is the answer, made a piece at a time as the
 * client reads it (server-stream.c). */
enum method_ret { METHOD_OK, METHOD_ERROR, METHOD_LATER, METHOD_STREAM };

struct method_call {
	struct coopd *d;
	struct conn *c;
	struct json_object *id; /* borrowed: take a reference to keep it */
	enum proto_method m;
	char *result; /* METHOD_OK: JSON text of the result (owned) */
	size_t result_len;
	struct proto_error err;      /* METHOD_ERROR */
	struct graph *hydrated;      /* a settled graph's tree read back by method_graph */
	struct graph_stream *stream; /* METHOD_STREAM */
	/* METHOD_ERROR from method_graph: g's tree is being read back off the
	 * loop; the request is run again once it is in (server-park.c). */
	struct graph *park;
	/* METHOD_ERROR with a read to do on the store's reader thread first
	 * (struct park_read, server.h): the request is run again once it is
	 * done; if it cannot be queued, pr is freed and err answered. */
	struct park_read *park_read;
	/* A submit's graph validated off the loop (server-parse.c), or NULL:
	 * the handler takes pre->def or answers pre->graph_err. */
	struct server_parsed *pre;
};

struct method {
	enum proto_method id;
	size_t params_size;
	int (*decode)(struct json_object *params, void *ret, struct proto_error *err);
	enum method_ret (*handler)(struct method_call *call, void *params);
};

extern const struct method method_version, method_ping, method_submit, method_status, method_list,
	method_cancel, method_wait, method_logs, method_watch, method_stats, method_metrics,
	method_remove, method_rerun, method_pause, method_resume;

/* Helpers for handlers. */
enum method_ret method_ok_json(struct method_call *call, struct json_object *result);
enum method_ret method_ok_sb(struct method_call *call, struct strbuf *sb);
/* The full status of g (its tree in memory), streamed. */
enum method_ret method_ok_status_stream(struct method_call *call, struct graph *g);
enum method_ret method_fail(struct method_call *call, int code, const char *path, const char *fmt,
			    ...) __attribute__((format(printf, 4, 5)));
/* Looks up graph id for the caller: -32001 if unknown or not the caller's
 * (see docs/security.md).  Returns NULL with call->err set. */
struct graph *method_graph(struct method_call *call, const char *id);
/* The same without the node tree of a settled graph (which is not kept in
 * memory, and method_graph reads back from the database): for requests
 * that need only the graph's id, owner and state (watch, remove). */
struct graph *method_graph_brief(struct method_call *call, const char *id);
/* The same with its per-state node counts right (store_graph_counts), still
 * without the tree: for the `summary` answers of status and wait, which a
 * big settled graph must not pay a read of its whole tree for. */
struct graph *method_graph_counted(struct method_call *call, const char *id);

#endif
