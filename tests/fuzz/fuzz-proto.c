/*
 * fuzz-proto.c - libFuzzer harness for what coopd decodes from clients.
 *
 * One input is used three ways: as a byte stream cut into lines by the
 * framing code (the cut points and line limit derived from the input), as
 * one request line (envelope, then the params decoder of its method, then
 * the graph validator for submit), and as a graph document on its own with
 * small limits so that the limit paths are reached.  Besides the
 * sanitizers, it checks the codec's own promises and aborts when one is
 * broken: a failure always carries a code and a reason, an accepted graph
 * re-encodes to a document that parses again to the same encoding, and
 * framing never hands out more bytes than it was fed.
 *
 * Built only with clang (see proto/local.mk: make fuzz-proto); not part of
 * the normal build.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto-frame.h"
#include "proto-graph.h"
#include "proto-rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int r, const struct proto_error *err)
{
	if (r < 0 && (err->code == 0 || err->reason[0] == '\0'))
		abort();
}

/* Encodes, parses the encoding and encodes again: both must agree. */
static void check_roundtrip(const struct proto_graph *g, const struct proto_limits *lim)
{
	struct json_object *o1 = NULL, *o2 = NULL;
	struct proto_graph *g2 = NULL;
	struct proto_error err;

	if (proto_graph_encode(g, &o1) < 0)
		return; /* ENOMEM */
	if (proto_graph_parse(o1, lim, &g2, &err) < 0)
		abort();
	if (g2->n_nodes != g->n_nodes || g2->max_depth != g->max_depth)
		abort();
	if (proto_graph_encode(g2, &o2) == 0) {
		const char *s1 = json_object_to_json_string_ext(o1, JSON_C_TO_STRING_PLAIN);
		const char *s2 = json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PLAIN);

		if (s1 && s2 && strcmp(s1, s2) != 0)
			abort();
	}
	/* Every node is found by its own path. */
	if (g->root.n_children > 0 &&
	    proto_graph_find(g, g->root.children[g->root.n_children - 1].path) !=
		    &g->root.children[g->root.n_children - 1])
		abort();
	json_object_put(o1);
	json_object_put(o2);
	proto_graph_free(g2);
}

static void params_of(struct proto_request *req, const struct proto_limits *lim)
{
	struct proto_error err;
	int r = 0;

	switch (req->method_id) {
	case PROTO_M_SUBMIT: {
		struct proto_submit_params p;
		struct proto_graph *g = NULL;

		r = proto_submit_params_decode(req->params, &p, &err);
		if (r == 0) {
			r = proto_graph_parse(p.graph, lim, &g, &err);
			if (r == 0) {
				check_roundtrip(g, lim);
				proto_graph_free(g);
			}
		}
		break;
	}
	case PROTO_M_STATUS: {
		struct proto_status_params p;

		r = proto_status_params_decode(req->params, &p, &err);
		break;
	}
	case PROTO_M_LIST: {
		struct proto_list_params p;

		r = proto_list_params_decode(req->params, &p, &err);
		break;
	}
	case PROTO_M_CANCEL: {
		struct proto_cancel_params p;

		r = proto_cancel_params_decode(req->params, &p, &err);
		if (r == 0 && p.node && !proto_node_path_valid(p.node, strlen(p.node)))
			abort();
		break;
	}
	case PROTO_M_WAIT: {
		struct proto_wait_params p;

		r = proto_wait_params_decode(req->params, &p, &err);
		break;
	}
	case PROTO_M_LOGS: {
		struct proto_logs_params p;

		r = proto_logs_params_decode(req->params, &p, &err);
		if (r == 0 && (p.offset < 0 || !proto_id_valid(p.id, strlen(p.id))))
			abort();
		break;
	}
	case PROTO_M_WATCH: {
		struct proto_watch_params p;

		r = proto_watch_params_decode(req->params, &p, &err);
		break;
	}
	default:
		r = proto_empty_params_decode(req->params, &err);
		break;
	}
	check_error(r, &err);
	/* The answer to whatever happened can always be written. */
	{
		char *line = NULL;
		size_t len;

		if (r < 0 && proto_error_line(req->id, &err, &line, &len) == 0) {
			if (memchr(line, '\n', len - 1))
				abort();
			free(line);
		}
	}
}

static void as_request(const char *text, size_t size)
{
	struct proto_limits lim;
	struct proto_request req;
	struct proto_error err;
	int r;

	proto_limits_default(&lim);
	lim.max_nodes = 200;
	r = proto_request_parse(text, size, &lim, &req, &err);
	check_error(r, &err);
	if (r == 0)
		params_of(&req, &lim);
	proto_request_free(&req);
	{
		struct proto_response resp;

		r = proto_response_parse(text, size, &lim, &resp, &err);
		check_error(r, &err);
		proto_response_free(&resp);
	}
}

static bool same_error(const struct proto_error *a, const struct proto_error *b)
{
	return a->code == b->code && strcmp(a->path, b->path) == 0 &&
	       strcmp(a->reason, b->reason) == 0;
}

/* A submit's graph, validated from its request read with json-c and read
 * with the compact tree (PROTO_REQ_COMPACT_GRAPH, what coopd uses): *r is
 * the verdict, *err its error, *enc the accepted graph's encoding. */
static void submit_graph_verdict(const char *text, size_t size, const struct proto_limits *lim,
				 unsigned flags, int *r, struct proto_error *err, char **enc)
{
	struct proto_request req;
	struct proto_submit_params p;
	struct proto_graph *g = NULL;
	struct json_object *o = NULL;

	*enc = NULL;
	*r = proto_request_parse_ex(text, size, lim, flags, &req, err);
	if (*r == 0 && req.method_id == PROTO_M_SUBMIT) {
		*r = proto_submit_params_decode(req.params, &p, err);
		if (*r == 0)
			*r = proto_graph_parse(p.graph, lim, &g, err);
		if (*r == 0 && proto_graph_encode(g, &o) == 0) {
			const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

			*enc = s ? strdup(s) : NULL;
			json_object_put(o);
		}
		proto_graph_free(g);
	}
	proto_request_free(&req);
}

/* The compact reader is new code on untrusted input: it must give exactly
 * json-c's verdict, error (code, path, reason) and graph. */
static void as_compact_request(const char *text, size_t size)
{
	struct proto_limits lim;
	struct proto_error e1, e2;
	char *enc1, *enc2;
	int r1, r2;

	proto_limits_default(&lim);
	lim.max_nodes = 200;
	submit_graph_verdict(text, size, &lim, 0, &r1, &e1, &enc1);
	submit_graph_verdict(text, size, &lim, PROTO_REQ_COMPACT_GRAPH, &r2, &e2, &enc2);
	if ((r1 < 0) != (r2 < 0) || (r1 < 0 && !same_error(&e1, &e2)))
		abort();
	if (enc1 && enc2 && strcmp(enc1, enc2) != 0)
		abort();
	free(enc1);
	free(enc2);
}

static void as_graph(const char *text, size_t size)
{
	struct proto_limits lim;
	struct proto_graph *g = NULL;
	struct proto_error err;
	int r;

	proto_limits_default(&lim);
	lim.max_nodes = 64;
	lim.max_scope_depth = 6;
	r = proto_graph_parse_text(text, size, &lim, &g, &err);
	check_error(r, &err);
	if (r == 0) {
		if (g->n_nodes > lim.max_nodes || g->max_depth > lim.max_scope_depth)
			abort();
		check_roundtrip(g, &lim);
		proto_graph_free(g);
	}
}

static void as_stream(const uint8_t *data, size_t size)
{
	struct proto_inbuf in;
	size_t max_line = size > 0 ? 1 + data[0] % 64 : 8, pos = 0, out = 0, step = 1;

	if (proto_inbuf_init(&in, max_line) < 0)
		abort();
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		const char *line;
		size_t len;
		enum proto_frame_result fr;

		if (proto_inbuf_feed(&in, data + pos, n) < 0)
			break;
		pos += n;
		while ((fr = proto_inbuf_next(&in, &line, &len)) != PROTO_FRAME_NONE) {
			if (fr == PROTO_FRAME_LINE) {
				if (len > max_line || line[len] != '\0')
					abort();
				out += len + 1;
			}
		}
		if (out > pos || proto_inbuf_partial(&in) > max_line)
			abort();
		step = 1 + (data[pos - 1] % 7) * 3;
	}
	proto_inbuf_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	as_stream(data, size);
	as_request((const char *)data, size);
	as_compact_request((const char *)data, size);
	as_graph((const char *)data, size);
	return 0;
}
