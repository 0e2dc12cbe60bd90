/*
 * suite-proto-rpc.c - Check suite for the JSON-RPC layer of libcoopproto:
 * request envelopes, per-method params, answer/notification lines,
 * response decoding on the client side, and the small value codecs
 * (times, ids, node paths, state and reason names).
 *
 * Every rejection is checked for its code, path and reason, because those
 * are what a client shows to its user; the tables below are the
 * specification of the messages the daemon sends back.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "proto-rpc.h"

static struct json_object *parse_json(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", text);
	return o;
}

/*
 * Envelope.
 */

START_TEST(test_request_ok)
{
	const char *line = "{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"params\":{\"id\":\"g1\"},"
			   "\"id\":7}";
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(proto_request_parse(line, strlen(line), NULL, &req, &err), 0);
	ck_assert_str_eq(req.method, "status");
	ck_assert_int_eq(req.method_id, PROTO_M_STATUS);
	ck_assert(req.has_id);
	ck_assert_int_eq(json_object_get_int64(req.id), 7);
	ck_assert_ptr_nonnull(req.params);
	ck_assert_int_eq(err.code, 0);
	proto_request_free(&req);
}
END_TEST

START_TEST(test_request_string_id_notification_unknown)
{
	const char *a = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"abc\"}";
	const char *b = "{\"method\":\"ping\",\"jsonrpc\":\"2.0\"}";
	const char *c = "{\"jsonrpc\":\"2.0\",\"method\":\"frobnicate\",\"id\":null}";
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(proto_request_parse(a, strlen(a), NULL, &req, &err), 0);
	ck_assert_str_eq(json_object_get_string(req.id), "abc");
	ck_assert_ptr_null(req.params);
	proto_request_free(&req);

	ck_assert_int_eq(proto_request_parse(b, strlen(b), NULL, &req, &err), 0);
	ck_assert(!req.has_id);
	ck_assert_ptr_null(req.id);
	ck_assert_int_eq(req.method_id, PROTO_M_PING);
	proto_request_free(&req);

	/* Unknown methods decode; the dispatcher answers -32601. */
	ck_assert_int_eq(proto_request_parse(c, strlen(c), NULL, &req, &err), 0);
	ck_assert(req.has_id);
	ck_assert_ptr_null(req.id);
	ck_assert_int_eq(req.method_id, PROTO_M_UNKNOWN);
	ck_assert_str_eq(req.method, "frobnicate");
	proto_request_free(&req);
}
END_TEST

struct bad_request {
	const char *line;
	int code;
	const char *path;
	const char *reason; /* a prefix of the expected reason */
	bool has_id;        /* the id was recovered for the error answer */
};

static const struct bad_request bad_requests[] = {
	{"", PROTO_ERR_PARSE, "", "", false},
	{"{", PROTO_ERR_PARSE, "", "", false},
	{"not json", PROTO_ERR_PARSE, "", "", false},
	{"{\"jsonrpc\":\"2.0\",}", PROTO_ERR_PARSE, "", "", false},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\"} x", PROTO_ERR_PARSE, "",
	 "unexpected character at offset 34", false},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"p\xffng\"}", PROTO_ERR_PARSE, "", "", false},
	{"null", PROTO_ERR_INVALID_REQUEST, "", "expected an object", false},
	{"42", PROTO_ERR_INVALID_REQUEST, "", "expected an object", false},
	{"\"ping\"", PROTO_ERR_INVALID_REQUEST, "", "expected an object", false},
	{"[{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}]", PROTO_ERR_INVALID_REQUEST, "",
	 "batch requests are not supported", false},
	{"{\"method\":\"ping\",\"id\":1}", PROTO_ERR_INVALID_REQUEST, "jsonrpc", "expected \"2.0\"",
	 true},
	{"{\"jsonrpc\":\"1.0\",\"method\":\"ping\",\"id\":1}", PROTO_ERR_INVALID_REQUEST, "jsonrpc",
	 "expected \"2.0\"", true},
	{"{\"jsonrpc\":2,\"method\":\"ping\",\"id\":\"x\"}", PROTO_ERR_INVALID_REQUEST, "jsonrpc",
	 "expected \"2.0\"", true},
	{"{\"jsonrpc\":\"2.0\",\"id\":1}", PROTO_ERR_INVALID_REQUEST, "method",
	 "missing required field", true},
	{"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}", PROTO_ERR_INVALID_REQUEST, "method",
	 "expected a string", true},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"pi\\u0000ng\",\"id\":1}", PROTO_ERR_INVALID_REQUEST,
	 "method", "string contains a NUL", true},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":{}}", PROTO_ERR_INVALID_REQUEST, "id",
	 "expected a number, a string or null", false},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":[1]}", PROTO_ERR_INVALID_REQUEST, "id",
	 "expected a number", false},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":true}", PROTO_ERR_INVALID_REQUEST, "id",
	 "expected a number", false},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1,\"extra\":0}",
	 PROTO_ERR_INVALID_REQUEST, "extra", "unknown field", true},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":[],\"id\":1}",
	 PROTO_ERR_INVALID_PARAMS, "params", "expected an object", true},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":null,\"id\":1}",
	 PROTO_ERR_INVALID_PARAMS, "params", "expected an object", true},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":{\"a\":{\"b\":{\"c\":1,}}},\"id\":1}",
	 PROTO_ERR_PARSE, "", "", false},
};

START_TEST(test_request_bad)
{
	const struct bad_request *t = &bad_requests[_i];
	struct proto_request req;
	struct proto_error err;
	int r;

	r = proto_request_parse(t->line, strlen(t->line), NULL, &req, &err);
	ck_assert_msg(r == -EINVAL, "%s: r=%d", t->line, r);
	ck_assert_msg(err.code == t->code, "%s: code %d", t->line, err.code);
	ck_assert_str_eq(err.path, t->path);
	ck_assert_msg(strncmp(err.reason, t->reason, strlen(t->reason)) == 0, "%s: reason '%s'",
		      t->line, err.reason);
	ck_assert_msg(err.reason[0] != '\0', "%s: empty reason", t->line);
	ck_assert_int_eq(req.has_id && req.id != NULL, t->has_id);
	proto_request_free(&req);
}
END_TEST

/* Invalid UTF-8: each line is refused naming the offset of the first bad
 * byte.  What json-c lets through is -32600, answered with the request's
 * id unless the id itself is the bad string; what json-c stops at (a
 * stray continuation byte, a cut sequence) is a parse error, -32700 with
 * id null. */
static const struct {
	const char *line;
	size_t off;
	bool has_id;
	int code;
} bad_utf8[] = {
	/* overlong '/' (C0 AF) and overlong 3-byte form (E0 80 AF) */
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1,\"params\":{\"a\":\"\xc0\xaf\"}}", 55,
	 true, PROTO_ERR_INVALID_REQUEST},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1,\"params\":{\"a\":\"\xe0\x80\xaf\"}}",
	 55, true, PROTO_ERR_INVALID_REQUEST},
	/* a UTF-16 surrogate encoded directly (U+D800 as ED A0 80) */
	{"{\"jsonrpc\":\"2.0\",\"method\":\"p\xed\xa0\x80\",\"id\":\"x\"}", 28, true,
	 PROTO_ERR_INVALID_REQUEST},
	/* above U+10FFFF (F4 90 80 80), and F5 */
	{"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"submit\",\"params\":{\"graph\":{\"name\":"
	 "\"\xf4\x90\x80\x80\",\"nodes\":[]}}}",
	 69, true, PROTO_ERR_INVALID_REQUEST},
	{"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"\xf5\x80\x80\x80\"}", 34, true,
	 PROTO_ERR_INVALID_REQUEST},
	/* a lone continuation byte, a truncated sequence */
	{"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\\u0020\x80\"}", 44, false,
	 PROTO_ERR_PARSE},
	{"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"\xe2\x82\"}", 34, false, PROTO_ERR_PARSE},
	/* the bad bytes in the id itself: answered with id null */
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":\"\xed\xbf\xbf\"}", 39, false,
	 PROTO_ERR_INVALID_REQUEST},
};

START_TEST(test_request_bad_utf8)
{
	struct proto_request req;
	struct proto_error err;
	char want[64];
	char *line;
	size_t len;
	int r;

	r = proto_request_parse_ex(bad_utf8[_i].line, strlen(bad_utf8[_i].line), NULL,
				   PROTO_REQ_COMPACT_GRAPH, &req, &err);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_int_eq(err.code, bad_utf8[_i].code);
	snprintf(want, sizeof(want), "invalid UTF-8 at offset %zu", bad_utf8[_i].off);
	ck_assert_str_eq(err.reason, want);
	ck_assert_int_eq(req.id != NULL, bad_utf8[_i].has_id);
	/* The error line is valid UTF-8 whatever the request held. */
	ck_assert_int_eq(proto_error_line(req.id, &err, &line, &len), 0);
	for (size_t i = 0; i < len; i++)
		ck_assert_msg((unsigned char)line[i] < 0x80, "byte %zu of %s", i, line);
	free(line);
	proto_request_free(&req);
}
END_TEST

/* Valid UTF-8 of every length, escapes that json-c turns into U+FFFD,
 * and a proper surrogate pair in an escape are all accepted. */
START_TEST(test_request_good_utf8)
{
	static const char *const good[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":\"\xc2\xa9 "
		"\xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":"
		"\"\\ud83d\\ude00\"}}",
	};
	struct proto_request req;
	struct proto_error err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(proto_request_parse(good[i], strlen(good[i]), NULL, &req, &err),
				 0);
		proto_request_free(&req);
	}
}
END_TEST

/* Ids are echoed exactly as sent: integers beyond 64 bits (json-c would
 * saturate them), -0, fractions and exponents, through both parsers
 * (the compact one of submit and json-c), whatever the key's spelling. */
static const struct {
	const char *line;
	const char *id;
} exact_ids[] = {
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":18446744073709551616}",
	 "18446744073709551616"},
	{"{\"id\" : 18446744073709551615 , \"jsonrpc\":\"2.0\",\"method\":\"ping\"}",
	 "18446744073709551615"},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":-9223372036854775809}",
	 "-9223372036854775809"},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":123456789012345678901234567890}",
	 "123456789012345678901234567890"},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":-0}", "-0"},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1.50}", "1.50"},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1E400}", "1E400"},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":0.1e-3}", "0.1e-3"},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":42}", "42"},
	{"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"\\u0069d\":18446744073709551617}",
	 "18446744073709551617"},
	{"{\"jsonrpc\":\"2.0\",\"params\":{\"id\":1,\"graph\":{\"x\":[{\"id\":\"}\"}]}},"
	 "\"method\":\"submit\",\"id\":99999999999999999999}",
	 "99999999999999999999"},
};

START_TEST(test_request_exact_id)
{
	struct proto_request req;
	struct proto_error err;
	char *line;
	size_t len;
	char want[160];

	proto_error_clear(&err);
	(void)proto_request_parse_ex(exact_ids[_i].line, strlen(exact_ids[_i].line), NULL,
				     PROTO_REQ_COMPACT_GRAPH, &req, &err);
	ck_assert_msg(req.has_id && req.id, "%s: no id", exact_ids[_i].line);
	proto_error_set(&err, PROTO_ERR_METHOD_NOT_FOUND, NULL, "x");
	ck_assert_int_eq(proto_error_line(req.id, &err, &line, &len), 0);
	snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,", exact_ids[_i].id);
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "%s -> %s", exact_ids[_i].line, line);
	free(line);
	proto_request_free(&req);
}
END_TEST

/* Error texts quoting client bytes cut mid-character stay valid UTF-8. */
START_TEST(test_error_reason_utf8)
{
	struct proto_error err;
	char name[80];

	/* 63 ASCII bytes then a 3-byte character: %.64s cuts it. */
	memset(name, 'm', 63);
	memcpy(name + 63, "\xe2\x82\xac", 4);
	proto_error_set(&err, PROTO_ERR_METHOD_NOT_FOUND, "a.\xff", "unknown method '%.64s'", name);
	ck_assert_uint_eq(strlen(err.reason), strlen("unknown method ''") + 64);
	ck_assert_int_eq(err.reason[strlen(err.reason) - 2], '?');
	ck_assert_str_eq(err.path, "a.?");
}
END_TEST

START_TEST(test_request_nul_byte)
{
	const char line[] = "{\"jsonrpc\":\"2.0\",\0\"method\":\"ping\"}";
	struct proto_request req;
	struct proto_error err;

	ck_assert_int_eq(proto_request_parse(line, sizeof(line) - 1, NULL, &req, &err), -EINVAL);
	ck_assert_int_eq(err.code, PROTO_ERR_PARSE);
	ck_assert_str_eq(err.reason, "NUL byte at offset 17");
	proto_request_free(&req);
}
END_TEST

START_TEST(test_request_too_large)
{
	const char *line = "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}";
	struct proto_limits lim;
	struct proto_request req;
	struct proto_error err;

	proto_limits_default(&lim);
	lim.max_request = strlen(line) - 1;
	ck_assert_int_eq(proto_request_parse(line, strlen(line), &lim, &req, &err), -EINVAL);
	ck_assert_int_eq(err.code, PROTO_ERR_INVALID_REQUEST);
	ck_assert_str_eq(err.reason, "message too large (40 bytes, limit 39)");
	proto_request_free(&req);
	lim.max_request = strlen(line);
	ck_assert_int_eq(proto_request_parse(line, strlen(line), &lim, &req, &err), 0);
	proto_request_free(&req);
}
END_TEST

/* Deep nesting is refused by the tokener, not by a stack overflow. */
START_TEST(test_request_too_deep)
{
	const size_t depth = 100000;
	const char *head = "{\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"id\":3,\"params\":{\"x\":";
	size_t hl = strlen(head), o = 0;
	char *line = malloc(hl + 2 * depth + 4);
	struct proto_request req;
	struct proto_error err;

	ck_assert_ptr_nonnull(line);
	memcpy(line, head, hl);
	o = hl;
	for (size_t i = 0; i < depth; i++)
		line[o++] = '[';
	for (size_t i = 0; i < depth; i++)
		line[o++] = ']';
	line[o++] = '}';
	line[o++] = '}';
	ck_assert_int_eq(proto_request_parse(line, o, NULL, &req, &err), -EINVAL);
	/* A submit: answered with its id, as the limit a user can change. */
	ck_assert_int_eq(err.code, PROTO_ERR_LIMIT);
	ck_assert_msg(strstr(err.reason, "JSON nested deeper than 152 levels") &&
			      strstr(err.reason, "max_scope_depth, 64"),
		      "%s", err.reason);
	ck_assert(req.has_id);
	ck_assert_ptr_nonnull(req.id);
	ck_assert_int_eq(json_object_get_int(req.id), 3);
	ck_assert_int_eq(req.method_id, PROTO_M_SUBMIT);
	proto_request_free(&req);
	free(line);
}
END_TEST

/* Builds head + depth '[' + depth ']' + tail into a malloc()ed line. */
static char *deep_line(const char *head, size_t depth, const char *tail, size_t *ret_len)
{
	size_t hl = strlen(head), tl = strlen(tail), o;
	char *line = malloc(hl + 2 * depth + tl + 1);

	ck_assert_ptr_nonnull(line);
	memcpy(line, head, hl);
	o = hl;
	memset(line + o, '[', depth);
	o += depth;
	memset(line + o, ']', depth);
	o += depth;
	memcpy(line + o, tail, tl + 1);
	*ret_len = o + tl;
	return line;
}

/* Too deep for the tokener: the id is still found at the top level (after
 * the deep member, a string id, strings with brackets and escaped quotes
 * on the way), and a method other than submit keeps -32600. */
START_TEST(test_request_too_deep_id)
{
	static const struct {
		const char *head, *tail;
		int id_type; /* 0: none, 1: int, 2: string, 3: null */
		const char *id_str;
		int64_t id_int;
		int code;
	} cases[] = {
		{"{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"params\":{\"id\":",
		 "},\"id\":\"a]\\\"b\"}", 2, "a]\"b", 0, PROTO_ERR_INVALID_REQUEST},
		{"{\"id\" : 41 , \"method\" : \"submit\", "
		 "\"jsonrpc\":\"2.0\",\"params\":{\"s\":\"{[\\\"\",\"graph\":",
		 "}}", 1, NULL, 41, PROTO_ERR_LIMIT},
		{"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"submit\",\"params\":{\"graph\":",
		 "}}", 3, NULL, 0, PROTO_ERR_LIMIT},
		/* No id: a notification; nothing to recover. */
		{"{\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":{\"graph\":", "}}", 0, NULL,
		 0, PROTO_ERR_INVALID_REQUEST},
		/* An id of the wrong type: not recovered. */
		{"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\",\"params\":{\"x\":", "}}", 0,
		 NULL, 0, PROTO_ERR_INVALID_REQUEST},
		/* Cut after the id: the tokener stops at the depth first. */
		{"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":{\"x\":", "}, \"id\": 5", 1,
		 NULL, 5, PROTO_ERR_INVALID_REQUEST},
		{"[{\"id\":1,\"x\":", "}]", 0, NULL, 0, PROTO_ERR_INVALID_REQUEST},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_request req;
		struct proto_error err;
		size_t len;
		char *line = deep_line(cases[i].head, 1000, cases[i].tail, &len);

		ck_assert_int_eq(proto_request_parse(line, len, NULL, &req, &err), -EINVAL);
		ck_assert_msg(err.code == cases[i].code, "case %zu: code %d (%s)", i, err.code,
			      err.reason);
		switch (cases[i].id_type) {
		case 0:
			ck_assert_msg(!req.has_id && !req.id, "case %zu: an id", i);
			break;
		case 1:
			ck_assert_msg(req.has_id && req.id, "case %zu: no id", i);
			ck_assert_int_eq(json_object_get_int64(req.id), cases[i].id_int);
			break;
		case 2:
			ck_assert_msg(req.has_id && req.id, "case %zu: no id", i);
			ck_assert_str_eq(json_object_get_string(req.id), cases[i].id_str);
			break;
		case 3:
			ck_assert_msg(req.has_id && !req.id, "case %zu: not id null", i);
			break;
		}
		proto_request_free(&req);
		free(line);
	}
}
END_TEST

START_TEST(test_method_names)
{
	for (int m = 0; m < PROTO_M__MAX; m++) {
		const char *name = proto_method_name((enum proto_method)m);

		ck_assert_ptr_nonnull(name);
		ck_assert_int_eq(proto_method_from_name(name), m);
	}
	ck_assert_ptr_null(proto_method_name(PROTO_M__MAX));
	ck_assert_ptr_null(proto_method_name(PROTO_M_UNKNOWN));
	ck_assert_int_eq(proto_method_from_name("event"), PROTO_M_UNKNOWN);
	ck_assert_int_eq(proto_method_from_name(NULL), PROTO_M_UNKNOWN);
	ck_assert_str_eq(proto_method_name(PROTO_M_SUBMIT), PROTO_METHOD_SUBMIT);
}
END_TEST

/*
 * Params of each method.
 */

enum which {
	W_EMPTY,
	W_SUBMIT,
	W_STATUS,
	W_LIST,
	W_CANCEL,
	W_WAIT,
	W_LOGS,
	W_WATCH,
	W_REMOVE,
	W_PAUSE,
	W_RERUN
};

static int decode(enum which w, struct json_object *params, struct proto_error *err)
{
	struct proto_submit_params s;
	struct proto_status_params st;
	struct proto_list_params l;
	struct proto_cancel_params c;
	struct proto_wait_params wa;
	struct proto_logs_params lg;
	struct proto_watch_params wt;
	struct proto_graph_node_params gn;
	struct proto_rerun_params rr;

	switch (w) {
	case W_EMPTY:
		return proto_empty_params_decode(params, err);
	case W_SUBMIT:
		return proto_submit_params_decode(params, &s, err);
	case W_STATUS:
		return proto_status_params_decode(params, &st, err);
	case W_LIST:
		return proto_list_params_decode(params, &l, err);
	case W_CANCEL:
		return proto_cancel_params_decode(params, &c, err);
	case W_WAIT:
		return proto_wait_params_decode(params, &wa, err);
	case W_LOGS:
		return proto_logs_params_decode(params, &lg, err);
	case W_WATCH:
		return proto_watch_params_decode(params, &wt, err);
	case W_REMOVE:
		return proto_remove_params_decode(params, &gn, err);
	case W_PAUSE:
		return proto_pause_params_decode(params, &gn, err);
	case W_RERUN:
		return proto_rerun_params_decode(params, &rr, err);
	}
	return -1;
}

struct params_case {
	enum which w;
	const char *params; /* NULL: absent */
	const char *path;   /* NULL: accepted */
	const char *reason;
};

static const struct params_case params_cases[] = {
	{W_EMPTY, NULL, NULL, NULL},
	{W_EMPTY, "{}", NULL, NULL},
	{W_EMPTY, "{\"verbose\":true}", "params.verbose", "unknown field"},
	{W_SUBMIT, "{\"graph\":{}}", NULL, NULL},
	{W_SUBMIT, NULL, "params.graph", "missing required field"},
	{W_SUBMIT, "{}", "params.graph", "missing required field"},
	{W_SUBMIT, "{\"graph\":[]}", "params.graph", "expected an object"},
	{W_SUBMIT, "{\"graph\":{},\"wait\":true}", "params.wait", "unknown field"},
	{W_STATUS, "{\"id\":\"g-1\"}", NULL, NULL},
	{W_STATUS, "{\"id\":\"g-1\",\"summary\":true}", NULL, NULL},
	{W_STATUS, NULL, "params.id", "missing required field"},
	{W_STATUS, "{\"id\":7}", "params.id", "expected a string"},
	{W_STATUS, "{\"id\":\"a/b\"}", "params.id", "invalid graph id"},
	{W_STATUS, "{\"id\":\"\"}", "params.id", "invalid graph id"},
	{W_STATUS, "{\"id\":\"g\",\"summary\":1}", "params.summary", "expected a boolean"},
	{W_STATUS, "{\"id\":\"g\",\"sumary\":true}", "params.sumary", "unknown field"},
	{W_LIST, NULL, NULL, NULL},
	{W_LIST, "{\"all\":true}", NULL, NULL},
	{W_LIST, "{\"all\":null}", NULL, NULL},
	{W_LIST, "{\"all\":\"yes\"}", "params.all", "expected a boolean"},
	{W_CANCEL, "{\"id\":\"g\"}", NULL, NULL},
	{W_CANCEL, "{\"id\":\"g\",\"node\":\"load/primary\",\"grace_ms\":0,\"reason\":\"oops\"}",
	 NULL, NULL},
	{W_CANCEL, "{\"id\":\"g\",\"node\":\"/\"}", NULL, NULL},
	{W_CANCEL, "{\"id\":\"g\",\"node\":\"load//x\"}", "params.node", "invalid node path"},
	{W_CANCEL, "{\"id\":\"g\",\"node\":\"load/\"}", "params.node", "invalid node path"},
	{W_CANCEL, "{\"id\":\"g\",\"grace_ms\":-1}", "params.grace_ms",
	 "must be an integer between 0 and 1000000000000"},
	{W_CANCEL, "{\"id\":\"g\",\"grace_ms\":1.5}", "params.grace_ms", "expected an integer"},
	{W_CANCEL, "{\"id\":\"g\",\"reason\":5}", "params.reason", "expected a string"},
	{W_CANCEL, "{\"node\":\"a\"}", "params.id", "missing required field"},
	{W_WAIT, "{\"id\":\"g\",\"timeout_ms\":100,\"summary\":false}", NULL, NULL},
	{W_WAIT, "{\"id\":\"g\",\"timeout_ms\":99999999999999999999}", "params.timeout_ms",
	 "must be an integer between"},
	{W_WAIT, "{\"id\":\"g\",\"timeout\":1}", "params.timeout", "unknown field"},
	{W_LOGS, "{\"id\":\"g\",\"node\":\"fetch\",\"stream\":\"stdout\"}", NULL, NULL},
	{W_LOGS,
	 "{\"id\":\"g\",\"node\":\"fetch\",\"stream\":\"stderr\",\"offset\":9223372036854775807}",
	 NULL, NULL},
	{W_LOGS,
	 "{\"id\":\"g\",\"node\":\"fetch\",\"stream\":\"stderr\",\"offset\":9223372036854775808}",
	 "params.offset", "must be an integer between 0 and 9223372036854775807"},
	{W_LOGS, "{\"id\":\"g\",\"node\":\"fetch\",\"stream\":\"stdin\"}", "params.stream",
	 "expected \"stdout\" or \"stderr\""},
	{W_LOGS, "{\"id\":\"g\",\"stream\":\"stdout\"}", "params.node", "missing required field"},
	{W_LOGS, "{\"id\":\"g\",\"node\":\"fetch\"}", "params.stream", "missing required field"},
	{W_LOGS, "{\"id\":\"g\",\"node\":\"fetch\",\"stream\":\"stdout\",\"offset\":-5}",
	 "params.offset", "must be an integer"},
	{W_WATCH, NULL, NULL, NULL},
	{W_WATCH, "{\"id\":\"g\"}", NULL, NULL},
	{W_WATCH, "{\"id\":\"bad id\"}", "params.id", "invalid graph id"},
	{W_WATCH, "{\"graph\":\"g\"}", "params.graph", "unknown field"},
	{W_REMOVE, "{\"id\":\"g\"}", NULL, NULL},
	{W_REMOVE, NULL, "params.id", "missing required field"},
	{W_REMOVE, "{\"id\":[]}", "params.id", "expected a string"},
	{W_REMOVE, "{\"id\":\"g\",\"node\":\"a\"}", "params.node", "unknown field"},
	{W_PAUSE, "{\"id\":\"g\"}", NULL, NULL},
	{W_PAUSE, "{\"id\":\"g\",\"node\":\"load/primary\"}", NULL, NULL},
	{W_PAUSE, "{\"id\":\"g\",\"node\":\"a b\"}", "params.node", "invalid node path"},
	{W_PAUSE, "{\"node\":\"a\"}", "params.id", "missing required field"},
	{W_RERUN, "{\"id\":\"g\",\"failed_only\":true}", NULL, NULL},
	{W_RERUN, "{\"id\":\"g\",\"failed_only\":1}", "params.failed_only", "expected a boolean"},
	{W_RERUN, "{\"id\":\"g\",\"failed\":true}", "params.failed", "unknown field"},
};

START_TEST(test_params_table)
{
	const struct params_case *t = &params_cases[_i];
	struct json_object *p = t->params ? parse_json(t->params) : NULL;
	struct proto_error err;
	int r;

	proto_error_clear(&err);
	r = decode(t->w, p, &err);
	if (!t->path) {
		ck_assert_msg(r == 0, "case %d: %s: %s %s", _i, t->params, err.path, err.reason);
	} else {
		ck_assert_msg(r == -EINVAL, "case %d: %s accepted", _i, t->params);
		ck_assert_int_eq(err.code, PROTO_ERR_INVALID_PARAMS);
		ck_assert_str_eq(err.path, t->path);
		ck_assert_msg(strncmp(err.reason, t->reason, strlen(t->reason)) == 0,
			      "case %d: reason '%s'", _i, err.reason);
	}
	json_object_put(p);
}
END_TEST

/* What the client encodes, the daemon decodes to the same values, through
 * a real request line. */
static struct json_object *through_line(const char *method, struct json_object *params,
					struct proto_request *req)
{
	struct proto_error err;
	char *line;
	size_t len;

	ck_assert_int_eq(proto_request_line(method, params, 42, &line, &len), 0);
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\n', len - 1));
	ck_assert_int_eq(proto_request_parse(line, len - 1, NULL, req, &err), 0);
	ck_assert_int_eq(json_object_get_int64(req->id), 42);
	ck_assert_str_eq(req->method, method);
	free(line);
	return req->params;
}

START_TEST(test_params_roundtrip)
{
	struct proto_request req;
	struct proto_error err;
	struct json_object *p;

	{
		struct proto_cancel_params in = {.id = "g7",
						 .node = "load/primary",
						 .has_grace_ms = true,
						 .grace_ms = 250,
						 .reason = "operator says \"stop\"\n"},
					   out;

		ck_assert_int_eq(proto_cancel_params_encode(&in, &p), 0);
		p = through_line(PROTO_METHOD_CANCEL, p, &req);
		ck_assert_int_eq(proto_cancel_params_decode(p, &out, &err), 0);
		ck_assert_str_eq(out.id, "g7");
		ck_assert_str_eq(out.node, "load/primary");
		ck_assert(out.has_grace_ms);
		ck_assert_int_eq(out.grace_ms, 250);
		ck_assert_str_eq(out.reason, in.reason);
		proto_request_free(&req);
	}
	{
		struct proto_cancel_params in = {.id = "g7"}, out;

		ck_assert_int_eq(proto_cancel_params_encode(&in, &p), 0);
		p = through_line(PROTO_METHOD_CANCEL, p, &req);
		ck_assert_int_eq(proto_cancel_params_decode(p, &out, &err), 0);
		ck_assert_ptr_null(out.node);
		ck_assert_ptr_null(out.reason);
		ck_assert(!out.has_grace_ms);
		proto_request_free(&req);
	}
	{
		struct proto_wait_params in = {.id = "x",
					       .has_timeout_ms = true,
					       .timeout_ms = 5,
					       .summary = true},
					 out;

		ck_assert_int_eq(proto_wait_params_encode(&in, &p), 0);
		p = through_line(PROTO_METHOD_WAIT, p, &req);
		ck_assert_int_eq(proto_wait_params_decode(p, &out, &err), 0);
		ck_assert_str_eq(out.id, "x");
		ck_assert(out.has_timeout_ms && out.summary);
		ck_assert_int_eq(out.timeout_ms, 5);
		proto_request_free(&req);
	}
	{
		struct proto_logs_params in = {.id = "x",
					       .node = "a/b",
					       .stream = PROTO_STREAM_STDERR,
					       .offset = 77},
					 out;

		ck_assert_int_eq(proto_logs_params_encode(&in, &p), 0);
		p = through_line(PROTO_METHOD_LOGS, p, &req);
		ck_assert_int_eq(proto_logs_params_decode(p, &out, &err), 0);
		ck_assert_str_eq(out.node, "a/b");
		ck_assert_int_eq(out.stream, PROTO_STREAM_STDERR);
		ck_assert_int_eq(out.offset, 77);
		proto_request_free(&req);
	}
	{
		struct proto_status_params in = {.id = "s", .summary = true}, out;

		ck_assert_int_eq(proto_status_params_encode(&in, &p), 0);
		p = through_line(PROTO_METHOD_STATUS, p, &req);
		ck_assert_int_eq(proto_status_params_decode(p, &out, &err), 0);
		ck_assert_str_eq(out.id, "s");
		ck_assert(out.summary);
		proto_request_free(&req);
	}
	{
		struct proto_list_params in = {.all = true}, out;

		ck_assert_int_eq(proto_list_params_encode(&in, &p), 0);
		p = through_line(PROTO_METHOD_LIST, p, &req);
		ck_assert_int_eq(proto_list_params_decode(p, &out, &err), 0);
		ck_assert(out.all);
		proto_request_free(&req);
	}
	{
		struct proto_watch_params in = {.id = NULL}, out;

		ck_assert_int_eq(proto_watch_params_encode(&in, &p), 0);
		p = through_line(PROTO_METHOD_WATCH, p, &req);
		ck_assert_int_eq(proto_watch_params_decode(p, &out, &err), 0);
		ck_assert_ptr_null(out.id);
		proto_request_free(&req);
	}
	{
		struct json_object *g = parse_json("{\"nodes\":[]}");
		struct proto_submit_params in = {.graph = g}, out;

		ck_assert_int_eq(proto_submit_params_encode(&in, &p), 0);
		json_object_put(g); /* the params hold their own reference */
		p = through_line(PROTO_METHOD_SUBMIT, p, &req);
		ck_assert_int_eq(proto_submit_params_decode(p, &out, &err), 0);
		ck_assert_int_eq(
			json_object_array_length(json_object_object_get(out.graph, "nodes")), 0);
		proto_request_free(&req);
	}
	/* No params at all. */
	p = through_line(PROTO_METHOD_PING, NULL, &req);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(proto_empty_params_decode(p, &err), 0);
	proto_request_free(&req);
}
END_TEST

/*
 * Lines the daemon writes.
 */

START_TEST(test_result_and_error_lines)
{
	struct json_object *id = json_object_new_int(5), *res;
	struct proto_error err;
	char *line;
	size_t len;

	ck_assert_int_eq(proto_result_line(id, NULL, &line, &len), 0);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}\n");
	ck_assert_uint_eq(len, strlen(line));
	free(line);

	ck_assert_int_eq(proto_cancel_result_encode(&res), 0);
	ck_assert_int_eq(proto_result_line(NULL, res, &line, &len), 0);
	ck_assert_str_eq(line,
			 "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{\"requested\":true}}\n");
	free(line);

	proto_error_set(&err, PROTO_ERR_INVALID_PARAMS, "nodes[2].after[0]", "unknown sibling '%s'",
			"lod");
	ck_assert_int_eq(proto_error_line(id, &err, &line, &len), 0);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32602,"
			       "\"message\":\"unknown sibling 'lod'\",\"data\":{\"path\":"
			       "\"nodes[2].after[0]\",\"reason\":\"unknown sibling 'lod'\"}}}\n");
	free(line);

	proto_error_set(&err, PROTO_ERR_METHOD_NOT_FOUND, NULL, "unknown method 'x/y'");
	ck_assert_int_eq(proto_error_line(NULL, &err, &line, &len), 0);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32601,"
			       "\"message\":\"unknown method 'x/y'\",\"data\":{\"reason\":"
			       "\"unknown method 'x/y'\"}}}\n");
	free(line);

	proto_error_clear(&err);
	err.code = PROTO_ERR_SHUTTING_DOWN;
	ck_assert_int_eq(proto_error_line(id, &err, &line, &len), 0);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32004,"
			       "\"message\":\"Shutting down\"}}\n");
	free(line);
	json_object_put(id);
}
END_TEST

START_TEST(test_notification_line)
{
	struct json_object *p = json_object_new_object();
	char *line;
	size_t len;

	json_object_object_add(p, "graph", json_object_new_string("g1"));
	json_object_object_add(p, "state", json_object_new_string("running"));
	ck_assert_int_eq(proto_notification_line(PROTO_NOTIFY_EVENT, p, &line, &len), 0);
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":"
			       "{\"graph\":\"g1\",\"state\":\"running\"}}\n");
	free(line);
}
END_TEST

/* A string with a newline or a slash still yields one line. */
START_TEST(test_line_escapes)
{
	struct json_object *r = json_object_new_object();
	char *line;
	size_t len;

	json_object_object_add(r, "text", json_object_new_string("a\nb/c\x01"));
	ck_assert_int_eq(proto_result_line(NULL, r, &line, &len), 0);
	ck_assert_ptr_null(memchr(line, '\n', len - 1));
	ck_assert_ptr_nonnull(strstr(line, "\"a\\nb/c\\u0001\""));
	free(line);
}
END_TEST

/*
 * Client side.
 */

START_TEST(test_response_parse)
{
	const char *ok = "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"version\":\"0.1.0\","
			 "\"protocol\":1,\"new_field\":[]}}";
	const char *er =
		"{\"jsonrpc\":\"2.0\",\"id\":9,\"error\":{\"code\":-32602,\"message\":\"m\","
		"\"data\":{\"path\":\"nodes[0].id\",\"reason\":\"bad\"}}}";
	const char *er2 = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
			  "\"message\":\"Parse error\"}}";
	const char *ev = "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"graph\":\"g\"}}";
	struct proto_response resp;
	struct proto_version_result v;
	struct proto_error err;

	ck_assert_int_eq(proto_response_parse(ok, strlen(ok), NULL, &resp, &err), 0);
	ck_assert_int_eq(resp.kind, PROTO_RESP_RESULT);
	ck_assert(resp.has_id);
	ck_assert_int_eq(resp.id, 9);
	ck_assert_int_eq(proto_version_result_decode(resp.result, &v, &err), 0);
	ck_assert_str_eq(v.version, "0.1.0");
	ck_assert_int_eq(v.protocol, 1);
	proto_response_free(&resp);

	ck_assert_int_eq(proto_response_parse(er, strlen(er), NULL, &resp, &err), 0);
	ck_assert_int_eq(resp.kind, PROTO_RESP_ERROR);
	ck_assert_int_eq(resp.error.code, PROTO_ERR_INVALID_PARAMS);
	ck_assert_str_eq(resp.error.path, "nodes[0].id");
	ck_assert_str_eq(resp.error.reason, "bad");
	ck_assert_str_eq(resp.error_message, "m");
	proto_response_free(&resp);

	ck_assert_int_eq(proto_response_parse(er2, strlen(er2), NULL, &resp, &err), 0);
	ck_assert(!resp.has_id);
	ck_assert_str_eq(resp.error.path, "");
	ck_assert_str_eq(resp.error.reason, "Parse error");
	proto_response_free(&resp);

	ck_assert_int_eq(proto_response_parse(ev, strlen(ev), NULL, &resp, &err), 0);
	ck_assert_int_eq(resp.kind, PROTO_RESP_NOTIFICATION);
	ck_assert_str_eq(resp.method, "event");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(resp.params, "graph")), "g");
	proto_response_free(&resp);
}
END_TEST

static const struct bad_request bad_responses[] = {
	{"[]", PROTO_ERR_INVALID_REQUEST, "", "expected an object", false},
	{"{\"id\":1,\"result\":{}}", PROTO_ERR_INVALID_REQUEST, "jsonrpc", "expected", false},
	{"{\"jsonrpc\":\"2.0\",\"result\":{}}", PROTO_ERR_INVALID_REQUEST, "id",
	 "missing required field", false},
	{"{\"jsonrpc\":\"2.0\",\"id\":1}", PROTO_ERR_INVALID_PARAMS, "result",
	 "missing required field", false},
	{"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}", PROTO_ERR_INVALID_REQUEST,
	 "result", "both result and error present", false},
	{"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"x\"}}", PROTO_ERR_INVALID_PARAMS,
	 "error.code", "missing required field", false},
	{"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"x\",\"data\":{\"path\":"
	 "1}}}",
	 PROTO_ERR_INVALID_PARAMS, "error.data.path", "expected a string", false},
	{"{\"jsonrpc\":\"2.0\",\"id\":[1],\"result\":{}}", PROTO_ERR_INVALID_REQUEST, "id",
	 "expected an integer", false},
	{"{\"jsonrpc\":\"2.0\",\"method\":7}", PROTO_ERR_INVALID_REQUEST, "method",
	 "expected a string", false},
	{"{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":1}", PROTO_ERR_INVALID_PARAMS,
	 "params", "expected an object", false},
};

START_TEST(test_response_bad)
{
	const struct bad_request *t = &bad_responses[_i];
	struct proto_response resp;
	struct proto_error err;

	ck_assert_int_eq(proto_response_parse(t->line, strlen(t->line), NULL, &resp, &err),
			 -EINVAL);
	ck_assert_msg(err.code == t->code, "%s: code %d", t->line, err.code);
	ck_assert_str_eq(err.path, t->path);
	ck_assert_msg(strncmp(err.reason, t->reason, strlen(t->reason)) == 0, "%s: reason '%s'",
		      t->line, err.reason);
	proto_response_free(&resp);
}
END_TEST

START_TEST(test_results_roundtrip)
{
	struct proto_error err;
	struct json_object *o;

	{
		struct proto_submit_result in = {.id = "g-0001"}, out;

		ck_assert_int_eq(proto_submit_result_encode(&in, &o), 0);
		ck_assert_int_eq(proto_submit_result_decode(o, &out, &err), 0);
		ck_assert_str_eq(out.id, "g-0001");
		json_object_put(o);
	}
	{
		struct proto_submit_result out;

		o = parse_json("{\"id\":\"../etc\"}");
		ck_assert_int_eq(proto_submit_result_decode(o, &out, &err), -EINVAL);
		ck_assert_str_eq(err.path, "result.id");
		json_object_put(o);
	}
	{
		struct proto_metrics_result in = {.text = "# HELP x\nx 1\n"}, out;

		ck_assert_int_eq(proto_metrics_result_encode(&in, &o), 0);
		ck_assert_int_eq(proto_metrics_result_decode(o, &out, &err), 0);
		ck_assert_str_eq(out.text, in.text);
		json_object_put(o);
	}
	{
		struct proto_version_result in = {.version = "0.1.0", .protocol = PROTO_VERSION},
					    out;

		ck_assert_int_eq(proto_version_result_encode(&in, &o), 0);
		ck_assert_int_eq(proto_version_result_decode(o, &out, &err), 0);
		ck_assert_int_eq(out.protocol, PROTO_VERSION);
		json_object_put(o);
	}
	{
		struct proto_version_result out;

		ck_assert_int_eq(proto_version_result_decode(NULL, &out, &err), -EINVAL);
		ck_assert_str_eq(err.path, "result");
	}
}
END_TEST

/* Job output is bytes; the answer must be UTF-8 JSON.  Valid text (NUL
 * included) survives; invalid bytes become U+FFFD. */
START_TEST(test_logs_result_bytes)
{
	static const char raw[] =
		"ok\0\xc3\xa9 \xff\xfe \xed\xa0\x80 \xf0\x9f\x98\x80 \xc0\xaf\xe2\x82";
	struct proto_logs_result in = {.data = raw,
				       .data_len = sizeof(raw) - 1,
				       .next_offset = 99,
				       .eof = true},
				 out;
	static const char want[] = "ok\0\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
				   "\xef\xbf\xbd \xf0\x9f\x98\x80 \xef\xbf\xbd\xef\xbf\xbd"
				   "\xef\xbf\xbd\xef\xbf\xbd";
	struct proto_response resp;
	struct proto_error err;
	struct json_object *o;
	char *line;
	size_t len;

	ck_assert_int_eq(proto_logs_result_encode(&in, &o), 0);
	ck_assert_int_eq(proto_result_line(NULL, o, &line, &len), 0);
	/* The line is valid UTF-8: the client's strict parser accepts it. */
	ck_assert_int_eq(proto_response_parse(line, len - 1, NULL, &resp, &err), 0);
	ck_assert_int_eq(proto_logs_result_decode(resp.result, &out, &err), 0);
	ck_assert_uint_eq(out.data_len, sizeof(want) - 1);
	ck_assert_mem_eq(out.data, want, sizeof(want) - 1);
	ck_assert_int_eq(out.next_offset, 99);
	ck_assert(out.eof);
	proto_response_free(&resp);
	free(line);
}
END_TEST

/*
 * Small codecs.
 */

START_TEST(test_time_format_parse)
{
	static const struct {
		int64_t ms;
		const char *text;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{1700000000123, "2023-11-14T22:13:20.123Z"},
		{951782400000, "2000-02-29T00:00:00.000Z"},
		{4102444799999, "2099-12-31T23:59:59.999Z"},
		{253402300799999, "9999-12-31T23:59:59.999Z"},
	};
	char buf[PROTO_TIME_BUF];
	int64_t ms;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(proto_time_format(cases[i].ms, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, cases[i].text);
		ck_assert_int_eq(proto_time_parse(cases[i].text, &ms), 0);
		ck_assert_int_eq(ms, cases[i].ms);
	}
	/* Against the printf format it replaced, over the whole range. */
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		char ref[PROTO_TIME_BUF];
		int64_t t = (int64_t)(x % 253402300800000ull), days = t / 86400000;
		unsigned rem = (unsigned)(t % 86400000);
		struct tm tm;
		time_t secs = (time_t)(days * 86400);

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ck_assert_ptr_nonnull(gmtime_r(&secs, &tm));
		snprintf(ref, sizeof(ref), "%04d-%02d-%02dT%02u:%02u:%02u.%03uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, rem / 3600000, rem / 60000 % 60,
			 rem / 1000 % 60, rem % 1000);
		ck_assert_int_eq(proto_time_format(t, buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, ref);
	}
	ck_assert_int_eq(proto_time_parse("2023-11-14T22:13:20Z", &ms), 0);
	ck_assert_int_eq(ms, 1700000000000);
	ck_assert_int_eq(proto_time_format(-1, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(proto_time_format(253402300800000, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(proto_time_format(0, buf, 10), -EINVAL);
	ck_assert_int_eq(proto_time_parse("2023-02-29T00:00:00Z", &ms), -EINVAL);
	ck_assert_int_eq(proto_time_parse("2023-13-01T00:00:00Z", &ms), -EINVAL);
	ck_assert_int_eq(proto_time_parse("2023-11-14T24:00:00Z", &ms), -EINVAL);
	ck_assert_int_eq(proto_time_parse("2023-11-14T22:13:20.12Z", &ms), -EINVAL);
	ck_assert_int_eq(proto_time_parse("2023-11-14T22:13:20.123", &ms), -EINVAL);
	ck_assert_int_eq(proto_time_parse("2023-11-14T22:13:20.123Z ", &ms), -EINVAL);
	ck_assert_int_eq(proto_time_parse("1969-12-31T23:59:59Z", &ms), -EINVAL);
	ck_assert_int_eq(proto_time_parse(NULL, &ms), -EINVAL);
}
END_TEST

START_TEST(test_ids_and_paths)
{
	char id65[66];

	memset(id65, 'a', 65);
	id65[65] = '\0';
	ck_assert(proto_id_valid("fetch", 5));
	ck_assert(proto_id_valid("A-z_0.9", 7));
	ck_assert(proto_id_valid(id65, 64));
	ck_assert(!proto_id_valid(id65, 65));
	ck_assert(!proto_id_valid("", 0));
	ck_assert(!proto_id_valid("a b", 3));
	ck_assert(!proto_id_valid("a/b", 3));
	ck_assert(!proto_id_valid("\xc3\xa9", 2));
	ck_assert(proto_node_path_valid("/", 1));
	ck_assert(proto_node_path_valid("load", 4));
	ck_assert(proto_node_path_valid("load/primary", 12));
	ck_assert(proto_node_path_valid("/load/primary", 13));
	ck_assert(!proto_node_path_valid("", 0));
	ck_assert(!proto_node_path_valid("//", 2));
	ck_assert(!proto_node_path_valid("load/", 5));
	ck_assert(!proto_node_path_valid("a//b", 4));
	ck_assert(!proto_node_path_valid("a/b c", 5));
}
END_TEST

START_TEST(test_names)
{
	for (int s = 0; s < PROTO_STATE__MAX; s++) {
		ck_assert_ptr_nonnull(proto_state_name((enum proto_state)s));
		ck_assert_int_eq(proto_state_from_name(proto_state_name((enum proto_state)s)), s);
	}
	for (int r = 0; r < PROTO_CANCEL__MAX; r++)
		ck_assert_int_eq(proto_cancel_reason_from_name(
					 proto_cancel_reason_name((enum proto_cancel_reason)r)),
				 r);
	ck_assert_str_eq(proto_state_name(PROTO_STATE_INTERRUPTED), "interrupted");
	ck_assert_str_eq(proto_cancel_reason_name(PROTO_CANCEL_SIBLING_FAILED), "sibling_failed");
	ck_assert_int_eq(proto_state_from_name("done"), -1);
	ck_assert_int_eq(proto_cancel_reason_from_name(NULL), -1);
	ck_assert(!proto_state_is_final(PROTO_STATE_CANCELLING));
	ck_assert(proto_state_is_final(PROTO_STATE_SKIPPED));
	ck_assert_str_eq(proto_error_message(PROTO_ERR_NO_SUCH_GRAPH), "No such graph");
}
END_TEST

START_TEST(test_error_truncation)
{
	struct proto_error err;
	char longpath[3000];
	int r;

	memset(longpath, 'p', sizeof(longpath) - 2);
	longpath[sizeof(longpath) - 2] = 'Z';
	longpath[sizeof(longpath) - 1] = '\0';
	r = proto_error_set(&err, PROTO_ERR_LIMIT, longpath, "%s", longpath);
	ck_assert_int_eq(r, -E2BIG);
	ck_assert_uint_eq(strlen(err.path), PROTO_ERROR_PATH_MAX - 1);
	ck_assert_int_eq(strncmp(err.path, "...", 3), 0);
	ck_assert_int_eq(err.path[PROTO_ERROR_PATH_MAX - 2], 'Z');
	ck_assert_uint_eq(strlen(err.reason), PROTO_ERROR_REASON_MAX - 1);
	ck_assert_str_eq(err.reason + PROTO_ERROR_REASON_MAX - 4, "...");
	ck_assert_int_eq(proto_error_set(NULL, PROTO_ERR_INTERNAL, NULL, "x"), -ENOMEM);
	ck_assert_int_eq(proto_error_set(&err, PROTO_ERR_INVALID_PARAMS, NULL, "x"), -EINVAL);
	ck_assert_str_eq(err.path, "");
}
END_TEST

/* The typed getters: integers beyond int64 do not wrap or saturate into
 * range, doubles are not integers, explicit null is absent when optional. */
START_TEST(test_typed_getters)
{
	struct json_object *o = parse_json("{\"big\":18446744073709551616,\"max\":"
					   "9223372036854775807,\"neg\":-9223372036854775809,"
					   "\"d\":2.0,\"n\":null,\"s\":\"x\\u0000y\",\"b\":false}");
	struct proto_error err;
	struct json_object *v;
	const char *s;
	int64_t i;
	bool b = true;

	ck_assert_int_eq(proto_json_get_int(o, "p", "big", true, 0, INT64_MAX, &i, &err), -EINVAL);
	ck_assert_str_eq(err.path, "p.big");
	ck_assert_int_eq(proto_json_get_int(o, "p", "max", true, 0, INT64_MAX, &i, &err), 1);
	ck_assert_int_eq(i, INT64_MAX);
	ck_assert_int_eq(proto_json_get_int(o, "p", "neg", true, -5, 5, &i, &err), -EINVAL);
	ck_assert_int_eq(proto_json_get_int(o, "", "d", true, 0, 5, &i, &err), -EINVAL);
	ck_assert_str_eq(err.path, "d");
	ck_assert_str_eq(err.reason, "expected an integer");
	ck_assert_int_eq(proto_json_get_int(o, "", "n", false, 0, 5, &i, &err), 0);
	ck_assert_int_eq(proto_json_get_int(o, "", "n", true, 0, 5, &i, &err), -EINVAL);
	ck_assert_int_eq(proto_json_get(o, "", "n", PROTO_J_NULL, true, &v, &err), 1);
	ck_assert_int_eq(proto_json_get_string(o, "", "s", true, 100, &s, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.reason, "string contains a NUL character");
	ck_assert_int_eq(proto_json_get_bool(o, "", "b", true, &b, &err), 1);
	ck_assert(!b);
	ck_assert_int_eq(proto_json_get_bool(o, "", "missing", false, &b, &err), 0);
	ck_assert_int_eq(proto_json_get(NULL, "q", "k", PROTO_J_ANY, false, &v, &err), -EINVAL);
	ck_assert_str_eq(err.path, "q");
	json_object_put(o);

	o = parse_json("[\"a\", 1, null]");
	ck_assert_int_eq(proto_json_get_index(o, "argv", 0, PROTO_J_STRING, &v, &err), 1);
	ck_assert_str_eq(json_object_get_string(v), "a");
	ck_assert_int_eq(proto_json_get_index(o, "argv", 1, PROTO_J_STRING, &v, &err), -EINVAL);
	ck_assert_str_eq(err.path, "argv[1]");
	ck_assert_str_eq(err.reason, "expected a string");
	ck_assert_int_eq(proto_json_get_index(o, "argv", 2, PROTO_J_NULL, &v, &err), 1);
	ck_assert_int_eq(proto_json_get_index(o, "argv", 3, PROTO_J_ANY, &v, &err), -EINVAL);
	ck_assert_str_eq(err.path, "argv[3]");
	ck_assert_int_eq(proto_json_get_index(NULL, "argv", 0, PROTO_J_ANY, &v, &err), -EINVAL);
	ck_assert_str_eq(err.reason, "expected an array");
	json_object_put(o);
}
END_TEST

static Suite *rpc_suite(void)
{
	Suite *s = suite_create("proto-rpc");
	TCase *env = tcase_create("envelope");
	TCase *params = tcase_create("params");
	TCase *lines = tcase_create("lines");
	TCase *codec = tcase_create("codecs");

	tcase_add_test(env, test_request_ok);
	tcase_add_test(env, test_request_string_id_notification_unknown);
	tcase_add_loop_test(env, test_request_bad, 0,
			    (int)(sizeof(bad_requests) / sizeof(bad_requests[0])));
	tcase_add_test(env, test_request_nul_byte);
	tcase_add_loop_test(env, test_request_bad_utf8, 0, sizeof(bad_utf8) / sizeof(bad_utf8[0]));
	tcase_add_test(env, test_request_good_utf8);
	tcase_add_loop_test(env, test_request_exact_id, 0,
			    sizeof(exact_ids) / sizeof(exact_ids[0]));
	tcase_add_test(env, test_error_reason_utf8);
	tcase_add_test(env, test_request_too_large);
	tcase_add_test(env, test_request_too_deep);
	tcase_add_test(env, test_request_too_deep_id);
	tcase_add_test(env, test_method_names);
	suite_add_tcase(s, env);

	tcase_add_loop_test(params, test_params_table, 0,
			    (int)(sizeof(params_cases) / sizeof(params_cases[0])));
	tcase_add_test(params, test_params_roundtrip);
	suite_add_tcase(s, params);

	tcase_add_test(lines, test_result_and_error_lines);
	tcase_add_test(lines, test_notification_line);
	tcase_add_test(lines, test_line_escapes);
	tcase_add_test(lines, test_response_parse);
	tcase_add_loop_test(lines, test_response_bad, 0,
			    (int)(sizeof(bad_responses) / sizeof(bad_responses[0])));
	tcase_add_test(lines, test_results_roundtrip);
	tcase_add_test(lines, test_logs_result_bytes);
	suite_add_tcase(s, lines);

	tcase_add_test(codec, test_time_format_parse);
	tcase_add_test(codec, test_ids_and_paths);
	tcase_add_test(codec, test_names);
	tcase_add_test(codec, test_error_truncation);
	tcase_add_test(codec, test_typed_getters);
	suite_add_tcase(s, codec);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
