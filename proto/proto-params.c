/*
 * proto-params.c - params and results of each coopd method (docs/protocol.md, section 4).
 *
 * For every method there is a decoder the daemon's dispatcher runs before
 * the handler (so a handler only ever sees checked values) and an encoder
 * coopctl uses to build the request; for the methods with small fixed
 * results there are result encoders (daemon) and decoders (client) too.
 * Params decoders are strict: an unknown field is an error at its path,
 * because a misspelt optional field ("timout_ms") silently ignored is a
 * bug the user cannot see.  Result decoders are lenient about unknown
 * fields, so that a newer daemon can add some without breaking old clients.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto-internal.h"
#include "proto-rpc.h"

#define P "params"

/* The accessors below treat absent params (NULL) as {}. */
static int missing(struct json_object *params, const char *key, bool required,
		   struct proto_error *err)
{
	char path[PROTO_ERROR_PATH_MAX];

	(void)params;
	if (!required)
		return 0;
	return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
			       proto_path_join(path, sizeof(path), P, key, 0),
			       "missing required field");
}

static int check_keys(struct json_object *params, const char *const *allowed,
		      struct proto_error *err)
{
	if (!params)
		return 0;
	return proto_json_check_keys(params, P, allowed, PROTO_ERR_INVALID_PARAMS, err);
}

static int get_bool(struct json_object *params, const char *key, bool *ret, struct proto_error *err)
{
	*ret = false;
	if (!params)
		return 0;
	return proto_json_get_bool(params, P, key, false, ret, err);
}

static int get_time(struct json_object *params, const char *key, bool *ret_has, int64_t *ret,
		    struct proto_error *err)
{
	int r;

	*ret_has = false;
	*ret = 0;
	if (!params)
		return 0;
	r = proto_json_get_int(params, P, key, false, 0, PROTO_MAX_TIME_MS, ret, err);
	if (r > 0)
		*ret_has = true;
	return r;
}

/* A graph id: present, a string, of id syntax. */
static int get_graph_id(struct json_object *params, const char *key, bool required,
			const char **ret, struct proto_error *err)
{
	char path[PROTO_ERROR_PATH_MAX];
	size_t len;
	int r;

	*ret = NULL;
	if (!params)
		return missing(params, key, required, err);
	r = proto_json_get_string(params, P, key, required, PROTO_GRAPH_ID_MAX_LEN * 4, ret, &len,
				  err);
	if (r <= 0)
		return r;
	if (!proto_id_valid(*ret, len)) {
		*ret = NULL;
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(path, sizeof(path), P, key, 0),
				       "invalid graph id (expected [A-Za-z0-9_.-]{1,64})");
	}
	return 1;
}

/* A node path: "/" or ids joined by '/'. */
static int get_node_path(struct json_object *params, const char *key, bool required,
			 const char **ret, struct proto_error *err)
{
	char path[PROTO_ERROR_PATH_MAX];
	size_t len;
	int r;

	*ret = NULL;
	if (!params)
		return missing(params, key, required, err);
	r = proto_json_get_string(params, P, key, required, PROTO_MAX_PATH_LEN, ret, &len, err);
	if (r <= 0)
		return r;
	if (!proto_node_path_valid(*ret, len)) {
		*ret = NULL;
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(path, sizeof(path), P, key, 0),
				       "invalid node path (expected ids joined by '/')");
	}
	return 1;
}

static const char *const no_keys[] = {NULL};

int proto_empty_params_decode(struct json_object *params, struct proto_error *err)
{
	return check_keys(params, no_keys, err);
}

static const char *const submit_keys[] = {"graph", NULL};

int proto_submit_params_decode(struct json_object *params, struct proto_submit_params *ret,
			       struct proto_error *err)
{
	struct json_object *g;
	int r;

	if (!params)
		return missing(params, "graph", true, err);
	r = check_keys(params, submit_keys, err);
	if (r < 0)
		return r;
	r = proto_json_get(params, P, "graph", PROTO_J_OBJECT, true, &g, err);
	if (r < 0)
		return r;
	ret->graph = g;
	return 0;
}

/* Returns a fresh params object or NULL. */
static struct json_object *new_params(void)
{
	return json_object_new_object();
}

static int done(struct json_object *obj, int r, struct json_object **ret)
{
	if (r < 0) {
		json_object_put(obj);
		return -ENOMEM;
	}
	*ret = obj;
	return 0;
}

int proto_submit_params_encode(const struct proto_submit_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();

	if (!o || !p->graph) {
		json_object_put(o);
		return o ? -EINVAL : -ENOMEM;
	}
	return done(o, proto_json_add(o, "graph", json_object_get(p->graph)), ret);
}

static const char *const status_keys[] = {"id", "summary", NULL};

int proto_status_params_decode(struct json_object *params, struct proto_status_params *ret,
			       struct proto_error *err)
{
	struct proto_status_params p;
	int r;

	if ((r = check_keys(params, status_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", true, &p.id, err)) < 0 ||
	    (r = get_bool(params, "summary", &p.summary, err)) < 0)
		return r;
	*ret = p;
	return 0;
}

int proto_status_params_encode(const struct proto_status_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();
	int r;

	if (!o)
		return -ENOMEM;
	r = proto__add_string(o, "id", p->id ? p->id : "");
	if (r >= 0 && p->summary)
		r = proto__add_bool(o, "summary", true);
	return done(o, r, ret);
}

static const char *const list_keys[] = {"all", NULL};

int proto_list_params_decode(struct json_object *params, struct proto_list_params *ret,
			     struct proto_error *err)
{
	struct proto_list_params p;
	int r;

	if ((r = check_keys(params, list_keys, err)) < 0 ||
	    (r = get_bool(params, "all", &p.all, err)) < 0)
		return r;
	*ret = p;
	return 0;
}

int proto_list_params_encode(const struct proto_list_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();
	int r = 0;

	if (!o)
		return -ENOMEM;
	if (p->all)
		r = proto__add_bool(o, "all", true);
	return done(o, r, ret);
}

static const char *const cancel_keys[] = {"id", "node", "grace_ms", "reason", NULL};

int proto_cancel_params_decode(struct json_object *params, struct proto_cancel_params *ret,
			       struct proto_error *err)
{
	struct proto_cancel_params p = {0};
	int r;

	if ((r = check_keys(params, cancel_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", true, &p.id, err)) < 0 ||
	    (r = get_node_path(params, "node", false, &p.node, err)) < 0 ||
	    (r = get_time(params, "grace_ms", &p.has_grace_ms, &p.grace_ms, err)) < 0)
		return r;
	if (params) {
		r = proto_json_get_string(params, P, "reason", false, PROTO_REASON_MAX_LEN,
					  &p.reason, NULL, err);
		if (r < 0)
			return r;
	}
	*ret = p;
	return 0;
}

int proto_cancel_params_encode(const struct proto_cancel_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();
	int r;

	if (!o)
		return -ENOMEM;
	r = proto__add_string(o, "id", p->id ? p->id : "");
	if (r >= 0 && p->node)
		r = proto__add_string(o, "node", p->node);
	if (r >= 0 && p->has_grace_ms)
		r = proto__add_int(o, "grace_ms", p->grace_ms);
	if (r >= 0 && p->reason)
		r = proto__add_string(o, "reason", p->reason);
	return done(o, r, ret);
}

static const char *const wait_keys[] = {"id", "timeout_ms", "summary", NULL};

int proto_wait_params_decode(struct json_object *params, struct proto_wait_params *ret,
			     struct proto_error *err)
{
	struct proto_wait_params p;
	int r;

	if ((r = check_keys(params, wait_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", true, &p.id, err)) < 0 ||
	    (r = get_time(params, "timeout_ms", &p.has_timeout_ms, &p.timeout_ms, err)) < 0 ||
	    (r = get_bool(params, "summary", &p.summary, err)) < 0)
		return r;
	*ret = p;
	return 0;
}

int proto_wait_params_encode(const struct proto_wait_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();
	int r;

	if (!o)
		return -ENOMEM;
	r = proto__add_string(o, "id", p->id ? p->id : "");
	if (r >= 0 && p->has_timeout_ms)
		r = proto__add_int(o, "timeout_ms", p->timeout_ms);
	if (r >= 0 && p->summary)
		r = proto__add_bool(o, "summary", true);
	return done(o, r, ret);
}

static const char *const logs_keys[] = {"id", "node", "stream", "offset", "attempt", NULL};

int proto_logs_params_decode(struct json_object *params, struct proto_logs_params *ret,
			     struct proto_error *err)
{
	struct proto_logs_params p = {0};
	const char *stream;
	int r;

	if ((r = check_keys(params, logs_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", true, &p.id, err)) < 0 ||
	    (r = get_node_path(params, "node", true, &p.node, err)) < 0)
		return r;
	/* params is non-NULL from here on: "id" was required. */
	r = proto_json_get_string(params, P, "stream", true, 16, &stream, NULL, err);
	if (r < 0)
		return r;
	if (strcmp(stream, "stdout") == 0)
		p.stream = PROTO_STREAM_STDOUT;
	else if (strcmp(stream, "stderr") == 0)
		p.stream = PROTO_STREAM_STDERR;
	else
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, P ".stream",
				       "expected \"stdout\" or \"stderr\"");
	r = proto_json_get_int(params, P, "offset", false, 0, INT64_MAX, &p.offset, err);
	if (r < 0)
		return r;
	r = proto_json_get_int(params, P, "attempt", false, 1, PROTO_MAX_ATTEMPTS, &p.attempt, err);
	if (r < 0)
		return r;
	*ret = p;
	return 0;
}

int proto_logs_params_encode(const struct proto_logs_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();
	int r;

	if (!o)
		return -ENOMEM;
	r = proto__add_string(o, "id", p->id ? p->id : "");
	if (r >= 0)
		r = proto__add_string(o, "node", p->node ? p->node : "/");
	if (r >= 0)
		r = proto__add_string(o, "stream",
				      p->stream == PROTO_STREAM_STDERR ? "stderr" : "stdout");
	if (r >= 0 && p->offset > 0)
		r = proto__add_int(o, "offset", p->offset);
	if (r >= 0 && p->attempt > 0)
		r = proto__add_int(o, "attempt", p->attempt);
	return done(o, r, ret);
}

static const char *const watch_keys[] = {"id", NULL};

int proto_watch_params_decode(struct json_object *params, struct proto_watch_params *ret,
			      struct proto_error *err)
{
	struct proto_watch_params p;
	int r;

	if ((r = check_keys(params, watch_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", false, &p.id, err)) < 0)
		return r;
	*ret = p;
	return 0;
}

int proto_watch_params_encode(const struct proto_watch_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();
	int r = 0;

	if (!o)
		return -ENOMEM;
	if (p->id)
		r = proto__add_string(o, "id", p->id);
	return done(o, r, ret);
}

static const char *const remove_keys[] = {"id", NULL};

int proto_remove_params_decode(struct json_object *params, struct proto_graph_node_params *ret,
			       struct proto_error *err)
{
	struct proto_graph_node_params p = {0};
	int r;

	if ((r = check_keys(params, remove_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", true, &p.id, err)) < 0)
		return r;
	*ret = p;
	return 0;
}

static const char *const pause_keys[] = {"id", "node", NULL};

int proto_pause_params_decode(struct json_object *params, struct proto_graph_node_params *ret,
			      struct proto_error *err)
{
	struct proto_graph_node_params p = {0};
	int r;

	if ((r = check_keys(params, pause_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", true, &p.id, err)) < 0 ||
	    (r = get_node_path(params, "node", false, &p.node, err)) < 0)
		return r;
	*ret = p;
	return 0;
}

int proto_graph_node_params_encode(const struct proto_graph_node_params *p,
				   struct json_object **ret)
{
	struct json_object *o = new_params();
	int r;

	if (!o)
		return -ENOMEM;
	r = proto__add_string(o, "id", p->id ? p->id : "");
	if (r >= 0 && p->node)
		r = proto__add_string(o, "node", p->node);
	return done(o, r, ret);
}

static const char *const rerun_keys[] = {"id", "failed_only", NULL};

int proto_rerun_params_decode(struct json_object *params, struct proto_rerun_params *ret,
			      struct proto_error *err)
{
	struct proto_rerun_params p = {0};
	int r;

	if ((r = check_keys(params, rerun_keys, err)) < 0 ||
	    (r = get_graph_id(params, "id", true, &p.id, err)) < 0 ||
	    (r = get_bool(params, "failed_only", &p.failed_only, err)) < 0)
		return r;
	*ret = p;
	return 0;
}

int proto_rerun_params_encode(const struct proto_rerun_params *p, struct json_object **ret)
{
	struct json_object *o = new_params();
	int r;

	if (!o)
		return -ENOMEM;
	r = proto__add_string(o, "id", p->id ? p->id : "");
	if (r >= 0 && p->failed_only)
		r = proto__add_bool(o, "failed_only", true);
	return done(o, r, ret);
}

/*
 * Results.
 */

#define R "result"

static int result_object(struct json_object *result, struct proto_error *err)
{
	if (!json_object_is_type(result, json_type_object))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, R, "expected an object");
	return 0;
}

int proto_version_result_encode(const struct proto_version_result *r, struct json_object **ret)
{
	struct json_object *o = json_object_new_object();
	int x;

	if (!o)
		return -ENOMEM;
	x = proto__add_string(o, "version", r->version ? r->version : "");
	if (x >= 0)
		x = proto__add_int(o, "protocol", r->protocol);
	return done(o, x, ret);
}

int proto_version_result_decode(struct json_object *result, struct proto_version_result *ret,
				struct proto_error *err)
{
	struct proto_version_result v;
	int r;

	if ((r = result_object(result, err)) < 0 ||
	    (r = proto_json_get_string(result, R, "version", true, 256, &v.version, NULL, err)) <
		    0 ||
	    (r = proto_json_get_int(result, R, "protocol", true, 0, INT32_MAX, &v.protocol, err)) <
		    0)
		return r;
	*ret = v;
	return 0;
}

int proto_submit_result_encode(const struct proto_submit_result *r, struct json_object **ret)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	return done(o, proto__add_string(o, "id", r->id ? r->id : ""), ret);
}

int proto_submit_result_decode(struct json_object *result, struct proto_submit_result *ret,
			       struct proto_error *err)
{
	struct proto_submit_result v;
	size_t len;
	int r;

	if ((r = result_object(result, err)) < 0 ||
	    (r = proto_json_get_string(result, R, "id", true, PROTO_GRAPH_ID_MAX_LEN, &v.id, &len,
				       err)) < 0)
		return r;
	if (!proto_id_valid(v.id, len))
		return proto_error_set(err, PROTO_ERR_INVALID_REQUEST, R ".id", "invalid graph id");
	*ret = v;
	return 0;
}

int proto_cancel_result_encode(struct json_object **ret)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	return done(o, proto__add_bool(o, "requested", true), ret);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Log data is whatever a job wrote; JSON strings must be UTF-8, so invalid
 * bytes are replaced by U+FFFD.  *ret is data itself when it was valid,
 * else a malloc()ed copy the caller frees. */
static int utf8_sanitize(const char *data, size_t len, char **ret_copy, size_t *ret_len)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0, out = 0;
	char *copy;

	*ret_copy = NULL;
	*ret_len = len;
	while (i < len) {
		size_t l = utf8_seq(s + i, len - i);

		if (l == 0)
			break;
		i += l;
	}
	if (i == len)
		return 0;
	if (len > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	copy = malloc(len * 3 + 1);
	if (!copy)
		return -ENOMEM;
	for (i = 0; i < len;) {
		size_t l = utf8_seq(s + i, len - i);

		if (l == 0) {
			memcpy(copy + out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		} else {
			memcpy(copy + out, s + i, l);
			out += l;
			i += l;
		}
	}
	copy[out] = '\0';
	*ret_copy = copy;
	*ret_len = out;
	return 0;
}

int proto_logs_result_encode(const struct proto_logs_result *r, struct json_object **ret)
{
	struct json_object *o;
	char *copy;
	size_t len;
	int x;

	x = utf8_sanitize(r->data ? r->data : "", r->data ? r->data_len : 0, &copy, &len);
	if (x < 0)
		return x;
	o = json_object_new_object();
	if (!o) {
		free(copy);
		return -ENOMEM;
	}
	x = proto__add_string_len(o, "data", copy ? copy : (r->data ? r->data : ""), len);
	free(copy);
	if (x >= 0)
		x = proto__add_int(o, "next_offset", r->next_offset);
	if (x >= 0)
		x = proto__add_bool(o, "eof", r->eof);
	return done(o, x, ret);
}

int proto_logs_result_decode(struct json_object *result, struct proto_logs_result *ret,
			     struct proto_error *err)
{
	struct proto_logs_result v;
	struct json_object *d;
	int r;

	if ((r = result_object(result, err)) < 0 ||
	    (r = proto_json_get(result, R, "data", PROTO_J_STRING, true, &d, err)) < 0 ||
	    (r = proto_json_get_int(result, R, "next_offset", true, 0, INT64_MAX, &v.next_offset,
				    err)) < 0 ||
	    (r = proto_json_get_bool(result, R, "eof", true, &v.eof, err)) < 0)
		return r;
	v.data = json_object_get_string(d);
	v.data_len = (size_t)json_object_get_string_len(d);
	*ret = v;
	return 0;
}

int proto_metrics_result_encode(const struct proto_metrics_result *r, struct json_object **ret)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	return done(o, proto__add_string(o, "text", r->text ? r->text : ""), ret);
}

int proto_metrics_result_decode(struct json_object *result, struct proto_metrics_result *ret,
				struct proto_error *err)
{
	struct proto_metrics_result v;
	int r;

	if ((r = result_object(result, err)) < 0 ||
	    (r = proto_json_get_string(result, R, "text", true, SIZE_MAX, &v.text, NULL, err)) < 0)
		return r;
	*ret = v;
	return 0;
}
