/*
 * proto-rpc.c - JSON-RPC 2.0 envelopes: decoding requests (daemon side)
 * and responses (client side), encoding lines in both directions.
 *
 * The envelope is checked here and only here: "jsonrpc", "method", "id",
 * "params" and nothing else.  What is inside params is the business of the
 * per-method decoders in proto-params.c, which the daemon's dispatcher calls
 * once it knows the method.  A request that fails the envelope check still
 * yields its id when one could be read, because JSON-RPC wants the error
 * answer to carry it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto-internal.h"
#include "proto-jtree.h"
#include "proto-rpc.h"

static const char *const method_names[PROTO_M__MAX] = {
	[PROTO_M_VERSION] = PROTO_METHOD_VERSION, [PROTO_M_PING] = PROTO_METHOD_PING,
	[PROTO_M_SUBMIT] = PROTO_METHOD_SUBMIT,   [PROTO_M_STATUS] = PROTO_METHOD_STATUS,
	[PROTO_M_LIST] = PROTO_METHOD_LIST,       [PROTO_M_CANCEL] = PROTO_METHOD_CANCEL,
	[PROTO_M_WAIT] = PROTO_METHOD_WAIT,       [PROTO_M_LOGS] = PROTO_METHOD_LOGS,
	[PROTO_M_WATCH] = PROTO_METHOD_WATCH,     [PROTO_M_STATS] = PROTO_METHOD_STATS,
	[PROTO_M_METRICS] = PROTO_METHOD_METRICS, [PROTO_M_REMOVE] = PROTO_METHOD_REMOVE,
	[PROTO_M_RERUN] = PROTO_METHOD_RERUN,     [PROTO_M_PAUSE] = PROTO_METHOD_PAUSE,
	[PROTO_M_RESUME] = PROTO_METHOD_RESUME,
};

const char *proto_method_name(enum proto_method m)
{
	return m >= 0 && m < PROTO_M__MAX ? method_names[m] : NULL;
}

enum proto_method proto_method_from_name(const char *name)
{
	if (!name)
		return PROTO_M_UNKNOWN;
	for (int i = 0; i < PROTO_M__MAX; i++)
		if (strcmp(method_names[i], name) == 0)
			return (enum proto_method)i;
	return PROTO_M_UNKNOWN;
}

static const char *const request_keys[] = {"jsonrpc", "method", "params", "id", NULL};

/* A json-c copy of the members of obj but `skip`, except that the member
 * named `keep` (if any) is the jtree wrapper of that member's value. */
static int copy_object(struct jtree_doc **doc, const struct jtree *obj, const char *keep,
		       const char *skip, struct json_object **ret)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct jtree_member *m = &obj->u.members[i];
		struct json_object *v;

		if (skip && strcmp(m->key, skip) == 0)
			continue;
		if (keep && strcmp(m->key, keep) == 0) {
			v = jtree_wrap_json(*doc, &m->val);
			*doc = NULL; /* the wrapper owns it now, even on failure */
		} else {
			v = jtree_to_json(&m->val);
		}
		if ((!v && m->val.type != JTREE_NULL) || json_object_object_add(o, m->key, v) < 0) {
			json_object_put(v);
			json_object_put(o);
			return -ENOMEM;
		}
	}
	*ret = o;
	return 0;
}

/*
 * A `submit` request is read with the compact tree of proto-jtree.h, and
 * its graph is handed on as a jtree wrapper (proto_graph_parse() reads it
 * directly) instead of a json-c document of ~1 KiB per node.  Only the
 * well-formed case takes this path: for anything else (bad JSON, not a
 * submit, no graph object) it returns -EINVAL and the caller parses with
 * json-c, so that every verdict and error text stays json-c's.  The rest
 * of the envelope becomes ordinary json-c objects.
 */
static int submit_from_jtree(const char *line, size_t len, unsigned depth, struct json_object **ret)
{
	const struct jtree *root, *method, *params, *graph;
	struct jtree_doc *doc;
	struct json_object *msg = NULL, *po = NULL;
	int r;

	if (depth == 0 || depth > INT32_MAX)
		depth = PROTO_DEFAULT_MAX_JSON_DEPTH;
	r = jtree_parse(line, len, depth, &doc);
	if (r < 0)
		return r;
	root = jtree_root(doc);
	method = jtree_get(root, "method");
	params = jtree_get(root, "params");
	graph = jtree_get(params, "graph");
	if (!method || method->type != JTREE_STRING ||
	    strcmp(method->u.s, PROTO_METHOD_SUBMIT) != 0 || !graph ||
	    graph->type != JTREE_OBJECT) {
		jtree_doc_free(doc);
		return -EINVAL;
	}
	/* params first: the wrapper takes the document over. */
	r = copy_object(&doc, params, "graph", NULL, &po);
	if (r == 0)
		r = copy_object(&doc, root, NULL, "params", &msg);
	if (r == 0 && json_object_object_add(msg, "params", po) < 0)
		r = -ENOMEM;
	else if (r == 0)
		po = NULL;
	json_object_put(po);
	jtree_doc_free(doc);
	if (r < 0) {
		json_object_put(msg);
		return r;
	}
	*ret = msg;
	return 0;
}

/* The numeric id v of msg, as it will be echoed: json-c keeps the text of
 * a fraction or exponent as written, but saturates integers beyond 64
 * bits (2^64 would come back as 2^64-1) and writes -0 as 0.  Such an id
 * is replaced in msg by a number that serializes as the request's own
 * text.  Returns the id to use, or NULL when out of memory. */
static struct json_object *exact_number_id(struct json_object *msg, struct json_object *v,
					   const char *line, size_t len)
{
	const char *raw, *cur;
	size_t rawlen;
	struct json_object *n;
	char *text;

	if (!proto__member_text(line, len, "id", &raw, &rawlen))
		return v;
	cur = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (cur && strlen(cur) == rawlen && memcmp(cur, raw, rawlen) == 0)
		return v;
	text = strndup(raw, rawlen);
	if (!text)
		return NULL;
	n = json_object_new_double_s(strtod(text, NULL), text);
	free(text);
	if (!n || json_object_object_add(msg, "id", n) < 0) {
		json_object_put(n);
		return NULL;
	}
	return n;
}

/* After the tokener refused a request for its depth: recovers the id (an
 * number or a string, as the envelope allows; proto__member_text reads
 * the top-level members without descending into their values, so the
 * depth costs it nothing) into ret, so that the error is answered with
 * it, and, for `submit`, turns the error into the limit that a user can
 * change (docs/protocol.md, section 2): in a graph only nested scopes can
 * come near the JSON depth limit, two levels each. */
static void too_deep_recover(const char *line, size_t len, const struct proto_limits *lim,
			     struct proto_request *ret, struct proto_error *err)
{
	const char *raw, *meth;
	size_t rawlen, methlen;
	struct proto_error ignored;
	struct json_object *id, *env;

	if (!proto__member_text(line, len, "id", &raw, &rawlen))
		return;
	id = proto__parse(raw, rawlen, 2, &ignored);
	if (!id && rawlen == 4 && memcmp(raw, "null", 4) == 0) {
		ret->has_id = true; /* id null, as sent */
	} else if (!id || (!json_object_is_type(id, json_type_int) &&
			   !json_object_is_type(id, json_type_double) &&
			   !json_object_is_type(id, json_type_string))) {
		json_object_put(id);
		return;
	}
	env = json_object_new_object();
	if (!env || (id && json_object_object_add(env, "id", id) < 0)) {
		json_object_put(id);
		json_object_put(env);
		return;
	}
	ret->msg = env; /* owns the id from now on */
	ret->id = id;
	ret->has_id = true;
	if (proto__member_text(line, len, "method", &meth, &methlen) &&
	    methlen == sizeof(PROTO_METHOD_SUBMIT) + 1 &&
	    memcmp(meth, "\"" PROTO_METHOD_SUBMIT "\"", methlen) == 0) {
		ret->method_id = PROTO_M_SUBMIT;
		proto_error_set(err, PROTO_ERR_LIMIT, NULL,
				"JSON nested deeper than %u levels (scopes nested up to "
				"max_scope_depth, %u, need at most that)",
				lim->max_json_depth, lim->max_scope_depth);
	}
}

int proto_request_parse(const char *line, size_t len, const struct proto_limits *lim,
			struct proto_request *ret, struct proto_error *err)
{
	return proto_request_parse_ex(line, len, lim, 0, ret, err);
}

int proto_request_parse_ex(const char *line, size_t len, const struct proto_limits *lim,
			   unsigned flags, struct proto_request *ret, struct proto_error *err)
{
	struct proto_limits deflim;
	struct json_object *msg, *v;
	const char *s;
	size_t off;

	memset(ret, 0, sizeof(*ret));
	ret->method_id = PROTO_M_UNKNOWN;
	proto_error_clear(err);
	if (!lim) {
		proto_limits_default(&deflim);
		lim = &deflim;
	}
	if (len > lim->max_request)
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL,
				       "message too large (%zu bytes, limit %zu)", len,
				       lim->max_request);
	msg = NULL;
	if ((flags & PROTO_REQ_COMPACT_GRAPH) &&
	    memmem(line, len, "\"" PROTO_METHOD_SUBMIT "\"", sizeof(PROTO_METHOD_SUBMIT) + 1) &&
	    submit_from_jtree(line, len, lim->max_json_depth, &msg) == -ENOMEM)
		return proto_error_set(err, PROTO_ERR_INTERNAL, NULL, "out of memory");
	if (!msg)
		msg = proto__parse(line, len, lim->max_json_depth, err);
	if (!msg && err && err->code == PROTO_ERR_INVALID_REQUEST &&
	    strstr(err->reason, "nested deeper"))
		too_deep_recover(line, len, lim, ret, err);
	if (!msg)
		return err && err->code == PROTO_ERR_INTERNAL ? -ENOMEM : -EINVAL;
	ret->msg = msg;
	if (json_object_is_type(msg, json_type_array))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL,
				       "batch requests are not supported");
	if (!json_object_is_type(msg, json_type_object))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL, "expected an object");

	/* The id first, so that every later error can be answered with it. */
	if (json_object_object_get_ex(msg, "id", &v)) {
		if (v && !json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_double) &&
		    !json_object_is_type(v, json_type_string))
			return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "id",
					       "expected a number, a string or null");
		if (v && !json_object_is_type(v, json_type_string) &&
		    (v = exact_number_id(msg, v, line, len)) == NULL)
			return proto_error_set(err, PROTO_ERR_INTERNAL, NULL, "out of memory");
		ret->id = v;
		ret->has_id = true;
	}
	/* json-c passes overlong forms, surrogates and code points above
	 * U+10FFFF through; they would come back raw in answers. */
	off = proto__utf8_check(line, len);
	if (off < len) {
		if (ret->id && json_object_is_type(ret->id, json_type_string) &&
		    proto__utf8_check(json_object_get_string(ret->id),
				      (size_t)json_object_get_string_len(ret->id)) <
			    (size_t)json_object_get_string_len(ret->id))
			ret->id = NULL; /* cannot be echoed: answered with id null */
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL,
				       "invalid UTF-8 at offset %zu", off);
	}
	if (!json_object_object_get_ex(msg, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), PROTO_JSONRPC) != 0)
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "jsonrpc",
				       "expected \"" PROTO_JSONRPC "\"");
	if (!json_object_object_get_ex(msg, "method", &v))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "method",
				       "missing required field");
	if (!json_object_is_type(v, json_type_string))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "method",
				       "expected a string");
	if (proto__has_nul(v))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "method",
				       "string contains a NUL character");
	s = json_object_get_string(v);
	if (proto_json_check_keys(msg, "", request_keys, PROTO_ERR_INVALID_REQUEST, err) < 0)
		return -EINVAL;
	ret->method = s;
	ret->method_id = proto_method_from_name(s);
	if (json_object_object_get_ex(msg, "params", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, "params",
					       "expected an object");
		ret->params = v;
	}
	return 0;
}

void proto_request_free(struct proto_request *req)
{
	if (!req)
		return;
	json_object_put(req->msg);
	memset(req, 0, sizeof(*req));
	req->method_id = PROTO_M_UNKNOWN;
}

int proto_json_line(struct json_object *obj, char **ret_line, size_t *ret_len)
{
	const char *s;
	size_t len;
	char *line;

	s = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s || len > SIZE_MAX - 2)
		return -ENOMEM;
	line = malloc(len + 2);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	*ret_line = line;
	*ret_len = len + 1;
	return 0;
}

/* Serialises msg (consumed) to a line. */
static int finish_line(struct json_object *msg, char **ret_line, size_t *ret_len)
{
	int r = proto_json_line(msg, ret_line, ret_len);

	json_object_put(msg);
	return r;
}

static struct json_object *envelope(void)
{
	struct json_object *msg = json_object_new_object();

	if (msg && proto__add_string(msg, "jsonrpc", PROTO_JSONRPC) < 0) {
		json_object_put(msg);
		return NULL;
	}
	return msg;
}

int proto_request_line(const char *method, struct json_object *params, int64_t id, char **ret_line,
		       size_t *ret_len)
{
	struct json_object *msg = envelope();

	if (!msg || proto__add_string(msg, "method", method) < 0)
		goto fail;
	if (params) {
		struct json_object *p = params;

		params = NULL;
		if (proto_json_add(msg, "params", p) < 0)
			goto fail;
	}
	if (proto__add_int(msg, "id", id) < 0)
		goto fail;
	return finish_line(msg, ret_line, ret_len);
fail:
	json_object_put(params);
	json_object_put(msg);
	return -ENOMEM;
}

/* Adds "id": a new reference to id, or null. */
static int add_id(struct json_object *msg, struct json_object *id)
{
	if (!id)
		return json_object_object_add(msg, "id", NULL) < 0 ? -ENOMEM : 0;
	return proto_json_add(msg, "id", json_object_get(id));
}

int proto_result_line(struct json_object *id, struct json_object *result, char **ret_line,
		      size_t *ret_len)
{
	struct json_object *msg = envelope();

	if (!result)
		result = json_object_new_object();
	if (!msg || !result)
		goto fail;
	if (add_id(msg, id) < 0) {
		json_object_put(result);
		goto fail_msg;
	}
	if (proto_json_add(msg, "result", result) < 0)
		goto fail_msg;
	return finish_line(msg, ret_line, ret_len);
fail:
	json_object_put(result);
fail_msg:
	json_object_put(msg);
	return -ENOMEM;
}

int proto_error_line(struct json_object *id, const struct proto_error *err, char **ret_line,
		     size_t *ret_len)
{
	struct json_object *msg = envelope(), *e = NULL, *data = NULL;
	int code = err && err->code ? err->code : PROTO_ERR_INTERNAL;

	if (!msg || add_id(msg, id) < 0)
		goto fail;
	e = json_object_new_object();
	if (!e)
		goto fail;
	if (proto__add_int(e, "code", code) < 0 ||
	    proto__add_string(e, "message",
			      err && err->reason[0] ? err->reason : proto_error_message(code)) < 0)
		goto fail;
	if (err && err->reason[0]) {
		data = json_object_new_object();
		if (!data)
			goto fail;
		if (err->path[0] && proto__add_string(data, "path", err->path) < 0)
			goto fail;
		if (proto__add_string(data, "reason", err->reason) < 0)
			goto fail;
		if (proto_json_add(e, "data", data) < 0) {
			data = NULL;
			goto fail;
		}
		data = NULL;
	}
	if (proto_json_add(msg, "error", e) < 0) {
		e = NULL;
		goto fail;
	}
	return finish_line(msg, ret_line, ret_len);
fail:
	json_object_put(data);
	json_object_put(e);
	json_object_put(msg);
	return -ENOMEM;
}

int proto_notification_line(const char *method, struct json_object *params, char **ret_line,
			    size_t *ret_len)
{
	struct json_object *msg = envelope();

	if (!params)
		params = json_object_new_object();
	if (!msg || !params || proto__add_string(msg, "method", method) < 0)
		goto fail;
	if (proto_json_add(msg, "params", params) < 0) {
		params = NULL;
		goto fail;
	}
	return finish_line(msg, ret_line, ret_len);
fail:
	json_object_put(params);
	json_object_put(msg);
	return -ENOMEM;
}

/* Copies an optional string member of the error data into buf. */
static int error_data_string(struct json_object *data, const char *key, char *buf, size_t size,
			     struct proto_error *err)
{
	const char *s = NULL;
	int r;

	r = proto_json_get_string(data, "error.data", key, false, SIZE_MAX, &s, NULL, err);
	if (r <= 0)
		return r;
	if (strlen(s) >= size) {
		memcpy(buf, s, size - 4);
		memcpy(buf + size - 4, "...", 4);
	} else {
		memcpy(buf, s, strlen(s) + 1);
	}
	return 1;
}

int proto_response_parse(const char *line, size_t len, const struct proto_limits *lim,
			 struct proto_response *ret, struct proto_error *err)
{
	struct proto_limits deflim;
	struct json_object *msg, *v, *e, *data;
	bool has_method;
	int r;

	memset(ret, 0, sizeof(*ret));
	proto_error_clear(err);
	if (!lim) {
		proto_limits_default(&deflim);
		lim = &deflim;
	}
	msg = proto__parse(line, len, lim->max_json_depth, err);
	if (!msg)
		return err && err->code == PROTO_ERR_INTERNAL ? -ENOMEM : -EINVAL;
	ret->msg = msg;
	if (!json_object_is_type(msg, json_type_object))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL, "expected an object");
	if (!json_object_object_get_ex(msg, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), PROTO_JSONRPC) != 0)
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "jsonrpc",
				       "expected \"" PROTO_JSONRPC "\"");
	has_method = json_object_object_get_ex(msg, "method", &v);
	if (has_method && !json_object_object_get_ex(msg, "id", NULL)) {
		if (!json_object_is_type(v, json_type_string))
			return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "method",
					       "expected a string");
		ret->kind = PROTO_RESP_NOTIFICATION;
		ret->method = json_object_get_string(v);
		r = proto_json_get(msg, "", "params", PROTO_J_OBJECT, false, &ret->params, err);
		return r < 0 ? r : 0;
	}
	if (!json_object_object_get_ex(msg, "id", &v))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "id",
				       "missing required field");
	if (v && json_object_is_type(v, json_type_int)) {
		ret->has_id = true;
		ret->id = json_object_get_int64(v);
	} else if (v && json_object_is_type(v, json_type_string)) {
		ret->has_id = true;
		ret->id = -1;
	} else if (v) {
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "id",
				       "expected an integer, a string or null");
	}
	r = proto_json_get(msg, "", "error", PROTO_J_OBJECT, false, &e, err);
	if (r < 0)
		return r;
	if (r == 0) {
		r = proto_json_get(msg, "", "result", PROTO_J_ANY, true, &ret->result, err);
		if (r < 0)
			return r;
		ret->kind = PROTO_RESP_RESULT;
		return 0;
	}
	if (json_object_object_get_ex(msg, "result", NULL))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, "result",
				       "both result and error present");
	ret->kind = PROTO_RESP_ERROR;
	{
		int64_t code;

		r = proto_json_get_int(e, "error", "code", true, INT32_MIN, INT32_MAX, &code, err);
		if (r < 0)
			return r;
		ret->error.code = (int)code;
	}
	r = proto_json_get_string(e, "error", "message", true, SIZE_MAX, &ret->error_message, NULL,
				  err);
	if (r < 0)
		return r;
	r = proto_json_get(e, "error", "data", PROTO_J_OBJECT, false, &data, err);
	if (r < 0)
		return r;
	if (r > 0) {
		r = error_data_string(data, "path", ret->error.path, sizeof(ret->error.path), err);
		if (r < 0)
			return r;
		r = error_data_string(data, "reason", ret->error.reason, sizeof(ret->error.reason),
				      err);
		if (r < 0)
			return r;
	}
	if (!ret->error.reason[0]) {
		size_t n = strlen(ret->error_message);

		if (n >= sizeof(ret->error.reason))
			n = sizeof(ret->error.reason) - 1;
		memcpy(ret->error.reason, ret->error_message, n);
		ret->error.reason[n] = '\0';
	}
	return 0;
}

void proto_response_free(struct proto_response *resp)
{
	if (!resp)
		return;
	json_object_put(resp->msg);
	memset(resp, 0, sizeof(*resp));
}
