/*
 * proto-graph.c - validating parser and canonical encoder of job graphs.
 *
 * The parser walks the document once, scope by scope, and builds the
 * struct proto_node tree as it goes; the first problem found stops it and
 * is reported with the JSON path of the offending value.  Per scope it runs
 * three passes over the children: (1) every child is an object with a
 * valid id and no id repeats, (2) every child is decoded in document order
 * (fields, `after` resolved against the ids of pass 1, nested scopes
 * recursively), (3) the `after` edges are sorted topologically (Kahn's
 * algorithm), which finds cycles; a cycle is named by walking unresolved
 * dependencies until a node repeats.  The work per scope is O(n log n) in
 * its children plus O(edges), so a flat graph at the node limit is fine.
 *
 * The path of the value being decoded is kept in one fixed buffer in the
 * parser context and extended and truncated as the walk goes down and up;
 * it only becomes a string in an error.  Its size is enough for the
 * deepest allowed nesting (see PATH_CAP).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto-graph.h"
#include "proto-internal.h"
#include "proto-jtree.h"

/* Recursion in the parser, the encoder and proto_graph_free() follows scope
 * nesting; whatever limits say, it never goes deeper than this. */
#define HARD_MAX_SCOPE_DEPTH 1024u

/* "nodes[1000000]." is 15 bytes per level; 1024 levels plus a field fit. */
#define PATH_CAP (16u * (HARD_MAX_SCOPE_DEPTH + 8u))

#define FAIL_MESSAGE_MAX 4096u

struct gctx {
	struct proto_graph *g;
	struct proto_error *err;
	size_t max_nodes;
	unsigned max_depth;
	bool stored;         /* proto_limits.stored */
	char path[PATH_CAP]; /* JSON path of the object being decoded */
	size_t plen;
};

/* Sibling id -> index, sorted by id, for duplicate checks and lookups. */
struct sib {
	const char *id;
	size_t index;
};

const char *proto_node_kind_name(enum proto_node_kind k)
{
	switch (k) {
	case PROTO_NODE_EXEC:
		return PROTO_KIND_EXEC_NAME;
	case PROTO_NODE_TASK:
		return PROTO_KIND_TASK_NAME;
	case PROTO_NODE_BLOCKING:
		return PROTO_KIND_BLOCKING_NAME;
	case PROTO_NODE_SCOPE:
		return PROTO_KIND_SCOPE_NAME;
	}
	return NULL;
}

const char *proto_policy_name(enum proto_policy p)
{
	switch (p) {
	case PROTO_POLICY_FAIL_FAST:
		return PROTO_POLICY_FAIL_FAST_NAME;
	case PROTO_POLICY_ALL_SETTLED:
		return PROTO_POLICY_ALL_SETTLED_NAME;
	case PROTO_POLICY_RACE:
		return PROTO_POLICY_RACE_NAME;
	}
	return NULL;
}

const char *proto_fn_name(enum proto_fn f)
{
	switch (f) {
	case PROTO_FN_NOOP:
		return "noop";
	case PROTO_FN_SLEEP:
		return "sleep";
	case PROTO_FN_SPIN:
		return "spin";
	case PROTO_FN_FAIL:
		return "fail";
	}
	return NULL;
}

const char *proto_placement_name(enum proto_placement p)
{
	return p == PROTO_PLACEMENT_SLURM ? "slurm" : "local";
}

/*
 * Path handling.
 */

static size_t path_push_key(struct gctx *c, const char *key)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "%s%s", c->plen ? "." : "",
			 key);

	if (n > 0)
		c->plen += (size_t)n < sizeof(c->path) - c->plen ? (size_t)n
								 : sizeof(c->path) - c->plen - 1;
	return old;
}

static size_t path_push_index(struct gctx *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);

	if (n > 0)
		c->plen += (size_t)n < sizeof(c->path) - c->plen ? (size_t)n
								 : sizeof(c->path) - c->plen - 1;
	return old;
}

static void path_pop(struct gctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* Fails at the current path, extended by key (if not NULL) and by an
 * index (if index != SIZE_MAX). */
__attribute__((format(printf, 5, 6))) static int gfail(struct gctx *c, int code, const char *key,
						       size_t index, const char *fmt, ...)
{
	size_t old = c->plen;
	va_list ap;
	int r;

	if (key)
		path_push_key(c, key);
	if (index != SIZE_MAX)
		path_push_index(c, index);
	va_start(ap, fmt);
	r = proto_error_setv(c->err, code, c->path, fmt, ap);
	va_end(ap);
	path_pop(c, old);
	return r;
}

#define NOKEY NULL
#define NOIDX SIZE_MAX

static int oom(struct gctx *c)
{
	proto_error_set(c->err, PROTO_ERR_INTERNAL, NULL, "out of memory");
	return -ENOMEM;
}

/* Makes untrusted text safe to quote in a reason: at most 64 bytes, with
 * quotes, backslashes and non-printable bytes as \xNN. */
static const char *show(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch >= 0x7f || ch == '\'' || ch == '\\' || ch == '"')
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o] = '\0';
	return buf;
}
#define SHOW_BUF 300

/* Blocks holding the ids and paths of a graph (two small strings a node
 * would cost two allocations and their headers each). */
#define STRINGS_BLOCK (64u * 1024u)

struct proto_strings {
	struct proto_strings *next;
	size_t used, cap;
	char data[];
};

static void strings_free(struct proto_strings *b)
{
	while (b) {
		struct proto_strings *next = b->next;

		free(b);
		b = next;
	}
}

/* The string a (alen bytes) "/" b (blen bytes), or a alone when b is
 * NULL, from g's blocks. */
static char *gstr(struct proto_graph *g, const char *a, size_t alen, const char *b, size_t blen)
{
	struct proto_strings *blk = g->strings;
	size_t need = alen + (b ? blen + 1 : 0) + 1;
	char *p;

	if (!blk || blk->cap - blk->used < need) {
		size_t cap = need > STRINGS_BLOCK ? need : STRINGS_BLOCK;

		blk = malloc(sizeof(*blk) + cap);
		if (!blk)
			return NULL;
		blk->used = 0;
		blk->cap = cap;
		blk->next = g->strings;
		g->strings = blk;
	}
	p = blk->data + blk->used;
	memcpy(p, a, alen);
	if (b) {
		p[alen] = '/';
		memcpy(p + alen + 1, b, blen);
	}
	p[need - 1] = '\0';
	blk->used += need;
	return p;
}

static char *xstrndup(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/*
 * Typed reads from the document tree, with the messages of proto-json.c's
 * json-c helpers (proto-rpc.h), so that both kinds of documents get the
 * same errors.
 */

static bool jt_matches(const struct jtree *v, enum proto_jtype t)
{
	switch (t) {
	case PROTO_J_ANY:
		return true;
	case PROTO_J_OBJECT:
		return v->type == JTREE_OBJECT;
	case PROTO_J_ARRAY:
		return v->type == JTREE_ARRAY;
	case PROTO_J_STRING:
		return v->type == JTREE_STRING;
	case PROTO_J_BOOL:
		return v->type == JTREE_BOOL;
	case PROTO_J_INT:
		return v->type == JTREE_INT;
	case PROTO_J_NULL:
		return v->type == JTREE_NULL;
	}
	return false;
}

static int jt_get(const struct jtree *obj, const char *path, const char *key, enum proto_jtype type,
		  bool required, const struct jtree **ret, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];
	const struct jtree *v;

	if (obj->type != JTREE_OBJECT)
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, path, "expected an object");
	v = jtree_get(obj, key);
	if (v && v->type == JTREE_NULL && type != PROTO_J_NULL && type != PROTO_J_ANY && !required)
		v = NULL; /* an explicit null for an optional field means absent */
	if (!v) {
		if (required)
			return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
					       proto_path_join(fpath, sizeof(fpath), path, key, 0),
					       "missing required field");
		return 0;
	}
	if (!jt_matches(v, type))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "expected %s", proto__jtype_desc(type));
	*ret = v;
	return 1;
}

static int jt_get_index(const struct jtree *arr, const char *path, size_t index,
			enum proto_jtype type, const struct jtree **ret, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];

	if (arr->type != JTREE_ARRAY)
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, path, "expected an array");
	if (index >= arr->len)
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, NULL, index),
				       "missing element");
	if (!jt_matches(&arr->u.items[index], type))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, NULL, index),
				       "expected %s", proto__jtype_desc(type));
	*ret = &arr->u.items[index];
	return 1;
}

static bool jt_has_nul(const struct jtree *s)
{
	return s->len > 0 && memchr(s->u.s, '\0', s->len) != NULL;
}

static int jt_get_string(const struct jtree *obj, const char *path, const char *key, bool required,
			 size_t max_len, const char **ret, size_t *ret_len, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];
	const struct jtree *v;
	int r;

	r = jt_get(obj, path, key, PROTO_J_STRING, required, &v, err);
	if (r <= 0)
		return r;
	if (v->len > max_len)
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "string longer than %zu bytes", max_len);
	if (jt_has_nul(v))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "string contains a NUL character");
	*ret = v->u.s;
	if (ret_len)
		*ret_len = v->len;
	return 1;
}

static int jt_get_int(const struct jtree *obj, const char *path, const char *key, bool required,
		      int64_t min, int64_t max, int64_t *ret, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];
	const struct jtree *v;
	int r;

	r = jt_get(obj, path, key, PROTO_J_INT, required, &v, err);
	if (r <= 0)
		return r;
	if ((v->flags & JTREE_F_UINT) || v->u.i < min || v->u.i > max)
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "must be an integer between %" PRId64 " and %" PRId64, min,
				       max);
	*ret = v->u.i;
	return 1;
}

static int jt_get_bool(const struct jtree *obj, const char *path, const char *key, bool required,
		       bool *ret, struct proto_error *err)
{
	const struct jtree *v;
	int r;

	r = jt_get(obj, path, key, PROTO_J_BOOL, required, &v, err);
	if (r <= 0)
		return r;
	*ret = v->u.b;
	return 1;
}

static int jt_check_keys(const struct jtree *obj, const char *path, const char *const *allowed,
			 int code, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];

	if (obj->type != JTREE_OBJECT)
		return proto_error_set(err, code, path, "expected an object");
	for (uint32_t k = 0; k < obj->len; k++) {
		const char *key = obj->u.members[k].key;
		bool ok = false;

		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0) {
				ok = true;
				break;
			}
		if (!ok)
			return proto_error_set(err, code,
					       proto_path_join(fpath, sizeof(fpath), path, key, 0),
					       "unknown field");
	}
	return 0;
}

/*
 * Field decoding.  All reads go through proto_json_get*() with the node's
 * path, so type errors carry "nodes[1].timeout_ms"-style paths.
 */

static int get_time(struct gctx *c, const struct jtree *obj, const char *key, int64_t *ret)
{
	int r = jt_get_int(obj, c->path, key, false, 0, PROTO_MAX_TIME_MS, ret, c->err);

	return r < 0 ? r : 0;
}

static int get_u31(struct gctx *c, const struct jtree *obj, const char *key, uint32_t *ret)
{
	int64_t v;
	int r = jt_get_int(obj, c->path, key, false, 1, PROTO_MAX_BUDGET, &v, c->err);

	if (r > 0)
		*ret = (uint32_t)v;
	return r < 0 ? r : 0;
}

static int get_policy(struct gctx *c, const struct jtree *obj, enum proto_policy *ret)
{
	char sbuf[SHOW_BUF];
	const char *s;
	size_t len;
	int r;

	r = jt_get_string(obj, c->path, "policy", false, 64, &s, &len, c->err);
	if (r <= 0)
		return r;
	if (strcmp(s, PROTO_POLICY_FAIL_FAST_NAME) == 0)
		*ret = PROTO_POLICY_FAIL_FAST;
	else if (strcmp(s, PROTO_POLICY_ALL_SETTLED_NAME) == 0)
		*ret = PROTO_POLICY_ALL_SETTLED;
	else if (strcmp(s, PROTO_POLICY_RACE_NAME) == 0)
		*ret = PROTO_POLICY_RACE;
	else
		return gfail(c, PROTO_ERR_INVALID_PARAMS, "policy", NOIDX,
			     "unknown policy '%s' (expected fail_fast, all_settled or race)",
			     show(sbuf, sizeof(sbuf), s, len));
	return 0;
}

static int parse_children(struct gctx *c, struct proto_node *scope, const struct jtree *arr);
static int parse_placement(struct gctx *c, struct proto_node *n, const struct jtree *obj);

/* Fields every scope has, the root included.  The caller has pushed the
 * scope's path. */
static int parse_scope_fields(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	const struct jtree *nodes;
	int r;

	n->policy = PROTO_POLICY_FAIL_FAST;
	n->deadline_ms = -1;
	n->max_parallel = 0;
	n->budget = n->parent ? n->parent->budget : PROTO_DEFAULT_BUDGET;
	if ((r = get_policy(c, obj, &n->policy)) < 0 ||
	    (r = get_time(c, obj, "deadline_ms", &n->deadline_ms)) < 0 ||
	    (r = get_u31(c, obj, "max_parallel", &n->max_parallel)) < 0 ||
	    (r = get_u31(c, obj, "budget", &n->budget)) < 0 || (r = parse_placement(c, n, obj)) < 0)
		return r;
	r = jt_get(obj, c->path, "nodes", PROTO_J_ARRAY, true, &nodes, c->err);
	if (r < 0)
		return r;
	if (n->depth > c->max_depth)
		return gfail(c, PROTO_ERR_LIMIT, NOKEY, NOIDX,
			     "scopes nested deeper than %u levels (max_scope_depth)", c->max_depth);
	if (n->depth > c->g->max_depth)
		c->g->max_depth = n->depth;
	{
		size_t old = path_push_key(c, "nodes");

		r = parse_children(c, n, nodes);
		path_pop(c, old);
	}
	return r;
}

static int parse_argv(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	const struct jtree *arr;
	size_t len, old;
	int r;

	r = jt_get(obj, c->path, "argv", PROTO_J_ARRAY, true, &arr, c->err);
	if (r < 0)
		return r;
	len = (size_t)arr->len;
	if (len == 0)
		return gfail(c, PROTO_ERR_INVALID_PARAMS, "argv", NOIDX,
			     "must be a non-empty array of strings");
	if (len > PROTO_MAX_ARGV)
		return gfail(c, PROTO_ERR_LIMIT, "argv", NOIDX, "more than %u arguments",
			     PROTO_MAX_ARGV);
	n->argv = calloc(len + 1, sizeof(char *));
	if (!n->argv)
		return oom(c);
	old = path_push_key(c, "argv");
	for (size_t i = 0; i < len; i++) {
		const struct jtree *v;

		r = jt_get_index(arr, c->path, i, PROTO_J_STRING, &v, c->err);
		if (r < 0)
			goto out;
		if (jt_has_nul(v)) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, NOKEY, i,
				  "string contains a NUL character");
			goto out;
		}
		if (i == 0 && v->len == 0) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, NOKEY, i, "empty program name");
			goto out;
		}
		n->argv[i] = xstrndup(v->u.s, (size_t)v->len);
		if (!n->argv[i]) {
			r = oom(c);
			goto out;
		}
		n->n_argv = i + 1;
	}
	r = 0;
out:
	path_pop(c, old);
	return r;
}

static int parse_env(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	const struct jtree *env;
	char sbuf[SHOW_BUF];
	size_t count, i = 0, old;
	int r;

	r = jt_get(obj, c->path, "env", PROTO_J_OBJECT, false, &env, c->err);
	if (r <= 0)
		return r;
	count = (size_t)env->len;
	if (count > PROTO_MAX_ENV)
		return gfail(c, PROTO_ERR_LIMIT, "env", NOIDX, "more than %u variables",
			     PROTO_MAX_ENV);
	n->env = calloc(count + 1, sizeof(char *));
	if (!n->env)
		return oom(c);
	old = path_push_key(c, "env");
	r = 0;
	for (uint32_t k = 0; k < env->len; k++) {
		const char *key = env->u.members[k].key;
		size_t klen = strlen(key), vlen;
		const char *val;
		char *item;

		if (klen == 0 || strchr(key, '=')) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX,
				  "invalid variable name '%s'",
				  show(sbuf, sizeof(sbuf), key, klen));
			break;
		}
		/* coopd's own: the crash-recovery sweep finds a job's
		 * processes by it (and kills them as the job's), so a job
		 * that set it could hide its processes from that sweep or
		 * pass them off as another graph's.  The other variables of
		 * the minimal environment (PATH, HOME, ...) are the job's
		 * own business and may be overridden.  A stored document
		 * accepted before the name was reserved stays readable. */
		if (!c->stored && strcmp(key, PROTO_JOB_MARKER_ENV) == 0) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX,
				  "%s is reserved: coopd sets it to the job's marker "
				  "(GRAPH/NODE), by which it finds the job's processes",
				  PROTO_JOB_MARKER_ENV);
			break;
		}
		r = jt_get_string(env, c->path, key, true, SIZE_MAX, &val, &vlen, c->err);
		if (r < 0)
			break;
		item = malloc(klen + vlen + 2);
		if (!item) {
			r = oom(c);
			break;
		}
		memcpy(item, key, klen);
		item[klen] = '=';
		memcpy(item + klen + 1, val, vlen + 1);
		n->env[i++] = item;
		n->n_env = i;
	}
	path_pop(c, old);
	return r;
}

static int parse_cwd(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	const char *s;
	size_t len;
	int r;

	r = jt_get_string(obj, c->path, "cwd", false, PROTO_MAX_PATH_LEN, &s, &len, c->err);
	if (r <= 0)
		return r;
	if (len == 0 || s[0] != '/')
		return gfail(c, PROTO_ERR_INVALID_PARAMS, "cwd", NOIDX, "must be an absolute path");
	n->cwd = xstrndup(s, len);
	return n->cwd ? 0 : oom(c);
}

static const char *const args_none[] = {NULL};
static const char *const args_sleep_task[] = {"ms", NULL};
static const char *const args_sleep_blocking[] = {"ms", "ignore_cancel", NULL};
static const char *const args_spin[] = {"units", NULL};
static const char *const args_fail[] = {"message", NULL};

/* Decodes fn and args of a task or blocking node. */
static int parse_fn(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	bool blocking = n->kind == PROTO_NODE_BLOCKING;
	const struct jtree *args = NULL;
	const char *const *allowed;
	char sbuf[SHOW_BUF];
	const char *s;
	size_t len, old;
	int r;

	r = jt_get_string(obj, c->path, "fn", true, 256, &s, &len, c->err);
	if (r < 0)
		return r;
	if (strcmp(s, "noop") == 0)
		n->fn = PROTO_FN_NOOP, allowed = args_none;
	else if (strcmp(s, "sleep") == 0)
		n->fn = PROTO_FN_SLEEP, allowed = blocking ? args_sleep_blocking : args_sleep_task;
	else if (!blocking && strcmp(s, "spin") == 0)
		n->fn = PROTO_FN_SPIN, allowed = args_spin;
	else if (!blocking && strcmp(s, "fail") == 0)
		n->fn = PROTO_FN_FAIL, allowed = args_fail;
	else
		return gfail(c, PROTO_ERR_INVALID_PARAMS, "fn", NOIDX,
			     "unknown function '%s' for kind %s (expected %s)",
			     show(sbuf, sizeof(sbuf), s, len), proto_node_kind_name(n->kind),
			     blocking ? "noop or sleep" : "noop, sleep, spin or fail");
	n->fn_name = gstr(c->g, s, len, NULL, 0);
	if (!n->fn_name)
		return oom(c);
	r = jt_get(obj, c->path, "args", PROTO_J_OBJECT, false, &args, c->err);
	if (r < 0)
		return r;
	if (args) {
		n->args_json = jtree_to_json(args);
		if (!n->args_json)
			return oom(c);
	}
	old = path_push_key(c, "args");
	if (args &&
	    (r = jt_check_keys(args, c->path, allowed, PROTO_ERR_INVALID_PARAMS, c->err)) < 0)
		goto out;
	r = 0;
	switch (n->fn) {
	case PROTO_FN_NOOP:
		break;
	case PROTO_FN_SLEEP:
		if (!args) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, "ms", NOIDX,
				  "missing required field");
			break;
		}
		r = jt_get_int(args, c->path, "ms", true, 0, PROTO_MAX_TIME_MS, &n->args.sleep.ms,
			       c->err);
		if (r >= 0 && blocking)
			r = jt_get_bool(args, c->path, "ignore_cancel", false,
					&n->args.sleep.ignore_cancel, c->err);
		break;
	case PROTO_FN_SPIN:
		if (!args) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, "units", NOIDX,
				  "missing required field");
			break;
		}
		r = jt_get_int(args, c->path, "units", true, 0, INT64_MAX, &n->args.spin.units,
			       c->err);
		break;
	case PROTO_FN_FAIL: {
		const char *msg = "failed";
		size_t mlen = strlen(msg);

		if (args) {
			r = jt_get_string(args, c->path, "message", false, FAIL_MESSAGE_MAX, &msg,
					  &mlen, c->err);
			if (r < 0)
				break;
		}
		n->args.fail.message = xstrndup(msg, mlen);
		r = n->args.fail.message ? 0 : oom(c);
		break;
	}
	}
out:
	path_pop(c, old);
	return r < 0 ? r : 0;
}

static bool in_list(const char *const *list, const char *key);

/*
 * Placement and Slurm options (coopd.graph(5) "Placement").  A scope's
 * placement and options are the defaults of the exec nodes below it; a
 * node's own win, option by option.
 */

/* The string options, in the order of enum PROTO_SLURM_*'s bits. */
static const struct {
	const char *key;
	unsigned bit;
	size_t off;
} slurm_strs[] = {
	{"partition", PROTO_SLURM_PARTITION, offsetof(struct proto_slurm, partition)},
	{"account", PROTO_SLURM_ACCOUNT, offsetof(struct proto_slurm, account)},
	{"qos", PROTO_SLURM_QOS, offsetof(struct proto_slurm, qos)},
	{"time", PROTO_SLURM_TIME, offsetof(struct proto_slurm, time)},
	{"mem", PROTO_SLURM_MEM, offsetof(struct proto_slurm, mem)},
	{"gres", PROTO_SLURM_GRES, offsetof(struct proto_slurm, gres)},
	{"constraint", PROTO_SLURM_CONSTRAINT, offsetof(struct proto_slurm, constraint)},
};

static const char *const slurm_keys[] = {"partition",     "account", "qos",  "time",
					 "cpus_per_task", "mem",     "gres", "constraint",
					 "nodes",         NULL};

static char **slurm_str(struct proto_slurm *o, size_t i)
{
	return (char **)((char *)o + slurm_strs[i].off);
}

static void slurm_free(struct proto_slurm *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < sizeof(slurm_strs) / sizeof(slurm_strs[0]); i++)
		free(*slurm_str(o, i));
	free(o);
}

/* sbatch --time: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S", or
 * UNLIMITED / INFINITE. */
static bool slurm_time_ok(const char *t)
{
	const char *p = t;
	unsigned groups = 0;
	bool days = false;

	if (strcmp(t, "UNLIMITED") == 0 || strcmp(t, "INFINITE") == 0)
		return true;
	for (;;) {
		size_t digits = strspn(p, "0123456789");

		if (digits == 0 || digits > 9)
			return false;
		p += digits;
		groups++;
		if (*p == '-' && groups == 1 && !days) {
			days = true;
			groups = 0;
			p++;
			continue;
		}
		if (*p == ':' && groups < 3) {
			p++;
			continue;
		}
		return *p == '\0' && (!days || groups <= 3);
	}
}

/* sbatch --mem: a number with an optional unit K, M, G or T. */
static bool slurm_mem_ok(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	if (digits == 0 || digits > 15)
		return false;
	s += digits;
	return *s == '\0' || (strchr("KMGTkmgt", *s) && s[1] == '\0');
}

static int parse_slurm(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	const struct jtree *so;
	struct proto_slurm *o;
	size_t old;
	int r;

	r = jt_get(obj, c->path, "slurm", PROTO_J_OBJECT, false, &so, c->err);
	if (r <= 0)
		return r;
	old = path_push_key(c, "slurm");
	for (uint32_t k = 0; k < so->len; k++)
		if (!in_list(slurm_keys, so->u.members[k].key)) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, so->u.members[k].key, NOIDX,
				  "unknown Slurm option (expected partition, account, qos, time, "
				  "cpus_per_task, mem, gres, constraint or nodes)");
			goto out;
		}
	o = calloc(1, sizeof(*o));
	if (!o) {
		r = oom(c);
		goto out;
	}
	n->slurm = o;
	for (size_t i = 0; i < sizeof(slurm_strs) / sizeof(slurm_strs[0]); i++) {
		const char *key = slurm_strs[i].key, *v;
		size_t len;

		r = jt_get_string(so, c->path, key, false, PROTO_SLURM_OPT_MAX, &v, &len, c->err);
		if (r < 0)
			goto out;
		if (r == 0)
			continue;
		/* Each option is one argument of sbatch (no shell), but a
		 * space or a control character is never meant. */
		for (size_t j = 0; j < len; j++)
			if ((unsigned char)v[j] <= 0x20 || (unsigned char)v[j] >= 0x7f) {
				r = gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX,
					  "must be printable ASCII without spaces");
				goto out;
			}
		if (len == 0) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX, "must not be empty");
			goto out;
		}
		*slurm_str(o, i) = xstrndup(v, len);
		if (!*slurm_str(o, i)) {
			r = oom(c);
			goto out;
		}
		o->own |= slurm_strs[i].bit;
	}
	if (o->time && !slurm_time_ok(o->time)) {
		r = gfail(c, PROTO_ERR_INVALID_PARAMS, "time", NOIDX,
			  "not a Slurm time (minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S or "
			  "UNLIMITED)");
		goto out;
	}
	if (o->mem && !slurm_mem_ok(o->mem)) {
		r = gfail(c, PROTO_ERR_INVALID_PARAMS, "mem", NOIDX,
			  "not a Slurm memory size (a number with an optional unit K, M, G or T)");
		goto out;
	}
	r = jt_get_int(so, c->path, "cpus_per_task", false, 1, PROTO_MAX_BUDGET, &o->cpus_per_task,
		       c->err);
	if (r < 0)
		goto out;
	if (r > 0)
		o->own |= PROTO_SLURM_CPUS_PER_TASK;
	r = jt_get_int(so, c->path, "nodes", false, 1, PROTO_MAX_BUDGET, &o->nodes, c->err);
	if (r < 0)
		goto out;
	if (r > 0)
		o->own |= PROTO_SLURM_NODES;
	r = 0;
out:
	path_pop(c, old);
	return r;
}

/* Fills what n's own options leave out from its scope's (parent's).  A
 * node without options of its own shares nothing: it gets a copy, so that
 * every node owns its struct. */
static int slurm_inherit(struct gctx *c, struct proto_node *n)
{
	const struct proto_slurm *up = n->parent ? n->parent->slurm : NULL;
	struct proto_slurm *o = n->slurm;

	if (!up)
		return 0;
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return oom(c);
		n->slurm = o;
	}
	for (size_t i = 0; i < sizeof(slurm_strs) / sizeof(slurm_strs[0]); i++) {
		const char *v = *slurm_str((struct proto_slurm *)up, i);

		if (!*slurm_str(o, i) && v) {
			*slurm_str(o, i) = strdup(v);
			if (!*slurm_str(o, i))
				return oom(c);
		}
	}
	if (!o->cpus_per_task)
		o->cpus_per_task = up->cpus_per_task;
	if (!o->nodes)
		o->nodes = up->nodes;
	return 0;
}

/* `placement` and `slurm` of an exec node or a scope (the root too). */
static int parse_placement(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	char sbuf[SHOW_BUF];
	const char *v;
	size_t len;
	int r;

	n->placement = n->parent ? n->parent->placement : PROTO_PLACEMENT_LOCAL;
	r = jt_get_string(obj, c->path, "placement", false, 64, &v, &len, c->err);
	if (r < 0)
		return r;
	if (r > 0) {
		if (strcmp(v, "local") == 0)
			n->placement = PROTO_PLACEMENT_LOCAL;
		else if (strcmp(v, "slurm") == 0)
			n->placement = PROTO_PLACEMENT_SLURM;
		else
			return gfail(c, PROTO_ERR_INVALID_PARAMS, "placement", NOIDX,
				     "unknown placement '%s' (expected local or slurm)",
				     show(sbuf, sizeof(sbuf), v, len));
		n->placement_own = true;
	}
	if ((r = parse_slurm(c, n, obj)) < 0)
		return r;
	if (n->kind == PROTO_NODE_EXEC && n->slurm && n->placement != PROTO_PLACEMENT_SLURM)
		return gfail(c, PROTO_ERR_INVALID_PARAMS, "slurm", NOIDX,
			     "Slurm options on a node placed local (set \"placement\": \"slurm\" "
			     "here or on a scope above)");
	if (n->kind == PROTO_NODE_EXEC && n->placement != PROTO_PLACEMENT_SLURM)
		return 0;
	/* limits are enforced on coopd's machine (cgroups, rlimits); on a
	 * cluster the job's resources are Slurm's to grant: never ignore them
	 * silently. */
	if (n->kind == PROTO_NODE_EXEC && n->limits)
		return gfail(c, PROTO_ERR_INVALID_PARAMS,
			     jtree_get(obj, "limits") ? "limits" : "placement", NOIDX,
			     "limits apply to local jobs only; a job placed on Slurm gets its "
			     "resources from its slurm options (mem, cpus_per_task)");
	return slurm_inherit(c, n);
}

/* Keys a node may have, per kind; and their union, to tell "unknown" from
 * "not for this kind". */
static const char *const keys_exec[] = {
	"id",     "kind",       "after",    "always",  "argv",           "env",
	"cwd",    "timeout_ms", "grace_ms", "retries", "retry_delay_ms", "retry_backoff",
	"limits", "placement",  "slurm",    NULL};
/* task nodes retry; blocking ones do not (a blocking job cannot be
 * stopped between attempts without its cooperation). */
static const char *const keys_task[] = {
	"id",         "kind",    "after",          "always",        "fn", "args",
	"timeout_ms", "retries", "retry_delay_ms", "retry_backoff", NULL};
static const char *const keys_fn[] = {"id", "kind", "after",      "always",
				      "fn", "args", "timeout_ms", NULL};
static const char *const keys_scope[] = {
	"id",     "kind",  "after",  "always",    "policy", "deadline_ms", "max_parallel",
	"budget", "nodes", "limits", "placement", "slurm",  NULL};

static bool in_list(const char *const *list, const char *key)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

static int check_node_keys(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	const char *const *allowed = n->kind == PROTO_NODE_EXEC    ? keys_exec
				     : n->kind == PROTO_NODE_SCOPE ? keys_scope
				     : n->kind == PROTO_NODE_TASK  ? keys_task
								   : keys_fn;

	for (uint32_t k = 0; k < obj->len; k++) {
		const char *key = obj->u.members[k].key;

		if (in_list(allowed, key))
			continue;
		if (in_list(keys_exec, key) || in_list(keys_task, key) || in_list(keys_scope, key))
			return gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX,
				     "field not allowed for kind %s",
				     proto_node_kind_name(n->kind));
		return gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX, "unknown field");
	}
	return 0;
}

static int sib_cmp(const void *a, const void *b)
{
	const struct sib *x = a, *y = b;
	int r = strcmp(x->id, y->id);

	if (r)
		return r;
	return x->index < y->index ? -1 : x->index > y->index;
}

static const struct sib *sib_find(const struct sib *sibs, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(sibs[mid].id, id);

		if (r == 0) {
			/* Ids are unique by now; no need to find the first. */
			return &sibs[mid];
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Resolves `after` of node n against its siblings.  mark[] (one slot per
 * sibling) drops repeated targets: mark[j] == n->index + 1 once j is in. */
static int parse_after(struct gctx *c, struct proto_node *n, const struct jtree *obj,
		       const struct sib *sibs, size_t n_sibs, size_t *mark)
{
	const struct jtree *arr;
	char sbuf[SHOW_BUF];
	size_t len, old;
	int r;

	r = jt_get(obj, c->path, "after", PROTO_J_ARRAY, false, &arr, c->err);
	if (r <= 0)
		return r;
	len = (size_t)arr->len;
	if (len == 0)
		return 0;
	n->after = malloc((len < n_sibs ? len : n_sibs) * sizeof(size_t));
	if (!n->after)
		return oom(c);
	old = path_push_key(c, "after");
	r = 0;
	for (size_t i = 0; i < len; i++) {
		const struct sib *s;
		const struct jtree *v;
		const char *id;

		r = jt_get_index(arr, c->path, i, PROTO_J_STRING, &v, c->err);
		if (r < 0)
			break;
		r = 0;
		id = v->u.s;
		s = jt_has_nul(v) ? NULL : sib_find(sibs, n_sibs, id);
		if (!s) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, NOKEY, i, "unknown sibling '%s'",
				  show(sbuf, sizeof(sbuf), id, (size_t)v->len));
			break;
		}
		if (s->index == n->index) {
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, NOKEY, i, "cycle %s -> %s", n->id,
				  n->id);
			break;
		}
		if (mark[s->index] == n->index + 1)
			continue;
		mark[s->index] = n->index + 1;
		n->after[n->n_after++] = s->index;
	}
	path_pop(c, old);
	return r;
}

/* A JSON number (integer or not) as a double; 1 when present, 0 absent. */
static int get_number(struct gctx *c, const struct jtree *obj, const char *key, double *ret)
{
	const struct jtree *v;
	char buf[64];
	char *end;
	int r;

	r = jt_get(obj, c->path, key, PROTO_J_ANY, false, &v, c->err);
	if (r <= 0 || v->type == JTREE_NULL)
		return r <= 0 ? r : 0; /* an explicit null means absent */
	if (v->type == JTREE_INT) {
		*ret = (v->flags & JTREE_F_UINT) ? (double)v->u.u : (double)v->u.i;
		return 1;
	}
	if (v->type != JTREE_DOUBLE || v->len >= sizeof(buf))
		return gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX, "expected a number");
	/* The text of a JSON number is what strtod reads (in the C locale
	 * coopd runs in). */
	memcpy(buf, v->u.s, v->len);
	buf[v->len] = '\0';
	*ret = strtod(buf, &end);
	if (*end)
		return gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX, "expected a number");
	return 1;
}

/* retries, retry_delay_ms, retry_backoff of an exec or task node. */
static int parse_retries(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	int64_t v = 0;
	double b = 1.0;
	int r;

	r = jt_get_int(obj, c->path, "retries", false, 0, PROTO_MAX_RETRIES, &v, c->err);
	if (r < 0)
		return r;
	n->retries = (uint8_t)v;
	if ((r = get_time(c, obj, "retry_delay_ms", &n->retry_delay_ms)) < 0)
		return r;
	r = get_number(c, obj, "retry_backoff", &b);
	if (r < 0)
		return r;
	if (r > 0 && !(b >= 1.0 && b <= PROTO_MAX_RETRY_BACKOFF))
		return gfail(c, PROTO_ERR_INVALID_PARAMS, "retry_backoff", NOIDX,
			     "must be a number between 1 and 10");
	n->retry_backoff = b;
	return 0;
}

static const char *const limit_keys[] = {"memory_max", "cpu_max",     "pids_max",
					 "nofile",     "cpu_seconds", NULL};

/* One integer limit: present, an integer, in [1, max]; a string such as
 * "512M" gets a reason that names the unit expected. */
static int get_limit_int(struct gctx *c, const struct jtree *obj, const char *key, int64_t max,
			 const char *unit, int64_t *ret)
{
	const struct jtree *v = jtree_get(obj, key);
	int r;

	if (v && v->type == JTREE_STRING)
		return gfail(c, PROTO_ERR_INVALID_PARAMS, key, NOIDX,
			     "expected an integer number of %s, without a unit", unit);
	r = jt_get_int(obj, c->path, key, false, 1, max, ret, c->err);
	return r < 0 ? r : 0;
}

/* `limits` of an exec or scope node; an exec node's are merged over the
 * nearest scope's (proto_job_limits). */
static int parse_limits(struct gctx *c, struct proto_node *n, const struct jtree *obj)
{
	const struct proto_node *up;
	const struct proto_job_limits *inh = NULL;
	struct proto_job_limits l = {-1, -1, -1, -1, 0.0};
	const struct jtree *lo;
	size_t old;
	int r;

	for (up = n->parent; up && !inh; up = up->parent)
		inh = up->limits;
	r = jt_get(obj, c->path, "limits", PROTO_J_OBJECT, false, &lo, c->err);
	if (r < 0)
		return r;
	if (r == 0 && (!inh || n->kind == PROTO_NODE_SCOPE))
		return 0;
	if (inh)
		l = *inh;
	if (r > 0) {
		double cpu = 0;

		old = path_push_key(c, "limits");
		if ((r = jt_check_keys(lo, c->path, limit_keys, PROTO_ERR_INVALID_PARAMS, c->err)) <
			    0 ||
		    (r = get_limit_int(c, lo, "memory_max", INT64_MAX / 2, "bytes",
				       &l.memory_max)) < 0 ||
		    (r = get_limit_int(c, lo, "pids_max", INT32_MAX, "processes", &l.pids_max)) <
			    0 ||
		    (r = get_limit_int(c, lo, "nofile", 1 << 20, "file descriptors", &l.nofile)) <
			    0 ||
		    (r = get_limit_int(c, lo, "cpu_seconds", PROTO_MAX_TIME_MS / 1000, "seconds",
				       &l.cpu_seconds)) < 0) {
			path_pop(c, old);
			return r;
		}
		if (jtree_get(lo, "cpu_max") && jtree_get(lo, "cpu_max")->type == JTREE_STRING)
			r = gfail(
				c, PROTO_ERR_INVALID_PARAMS, "cpu_max", NOIDX,
				"expected a number of CPUs (1.5: one and a half), without a unit");
		else
			r = get_number(c, lo, "cpu_max", &cpu);
		if (r > 0 && !(cpu >= 0.001 && cpu <= 4096))
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, "cpu_max", NOIDX,
				  "must be a number of CPUs between 0.001 and 4096");
		path_pop(c, old);
		if (r < 0)
			return r;
		if (r > 0)
			l.cpu_max = cpu;
	}
	n->limits = malloc(sizeof(*n->limits));
	if (!n->limits)
		return oom(c);
	*n->limits = l;
	return 0;
}

static int parse_node(struct gctx *c, struct proto_node *n, const struct jtree *obj,
		      const struct sib *sibs, size_t n_sibs, size_t *mark)
{
	char sbuf[SHOW_BUF];
	const char *kind;
	size_t klen;
	int r;

	r = jt_get_string(obj, c->path, "kind", true, 64, &kind, &klen, c->err);
	if (r < 0)
		return r;
	if (strcmp(kind, PROTO_KIND_EXEC_NAME) == 0)
		n->kind = PROTO_NODE_EXEC;
	else if (strcmp(kind, PROTO_KIND_TASK_NAME) == 0)
		n->kind = PROTO_NODE_TASK;
	else if (strcmp(kind, PROTO_KIND_BLOCKING_NAME) == 0)
		n->kind = PROTO_NODE_BLOCKING;
	else if (strcmp(kind, PROTO_KIND_SCOPE_NAME) == 0)
		n->kind = PROTO_NODE_SCOPE;
	else
		return gfail(c, PROTO_ERR_INVALID_PARAMS, "kind", NOIDX,
			     "unknown kind '%s' (expected exec, task, blocking or scope)",
			     show(sbuf, sizeof(sbuf), kind, klen));
	if ((r = check_node_keys(c, n, obj)) < 0 ||
	    (r = parse_after(c, n, obj, sibs, n_sibs, mark)) < 0)
		return r;
	r = jt_get_bool(obj, c->path, "always", false, &n->always, c->err);
	if (r < 0)
		return r;
	n->timeout_ms = -1;
	n->grace_ms = PROTO_DEFAULT_GRACE_MS;
	n->deadline_ms = -1;
	n->retry_delay_ms = PROTO_DEFAULT_RETRY_DELAY_MS;
	n->retry_backoff = 1.0;
	switch (n->kind) {
	case PROTO_NODE_EXEC:
		if ((r = parse_argv(c, n, obj)) < 0 || (r = parse_env(c, n, obj)) < 0 ||
		    (r = parse_cwd(c, n, obj)) < 0 ||
		    (r = get_time(c, obj, "timeout_ms", &n->timeout_ms)) < 0 ||
		    (r = get_time(c, obj, "grace_ms", &n->grace_ms)) < 0 ||
		    (r = parse_retries(c, n, obj)) < 0 || (r = parse_limits(c, n, obj)) < 0 ||
		    (r = parse_placement(c, n, obj)) < 0)
			return r;
		if (!n->env) {
			n->env = calloc(1, sizeof(char *));
			if (!n->env)
				return oom(c);
		}
		return 0;
	case PROTO_NODE_TASK:
	case PROTO_NODE_BLOCKING:
		if ((r = parse_fn(c, n, obj)) < 0 ||
		    (r = get_time(c, obj, "timeout_ms", &n->timeout_ms)) < 0 ||
		    (r = parse_retries(c, n, obj)) < 0)
			return r;
		return 0;
	case PROTO_NODE_SCOPE:
		if ((r = parse_limits(c, n, obj)) < 0)
			return r;
		return parse_scope_fields(c, n, obj);
	}
	return 0;
}

/* Builds "a -> b -> a" into buf, truncating with "...". */
static void cycle_text(char *buf, size_t size, const struct proto_node *children, const size_t *cyc,
		       size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i <= len; i++) {
		const char *id = children[cyc[i % len]].id;
		size_t need = strlen(id) + (i ? 4 : 0);

		if (o + need + 4 >= size) {
			memcpy(buf + o, " ...", 5);
			return;
		}
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? " -> " : "", id);
	}
}

/* Position in node's JSON `after` array of the target id (for the path
 * of a cycle error). */
static size_t after_pos(const struct jtree *obj, const char *target)
{
	const struct jtree *arr;

	arr = jtree_get(obj, "after");
	if (!arr || arr->type != JTREE_ARRAY)
		return 0;
	for (size_t i = 0; i < (size_t)arr->len; i++)
		if (arr->u.items[i].type == JTREE_STRING &&
		    strcmp(arr->u.items[i].u.s, target) == 0)
			return i;
	return 0;
}

/* Orders the children topologically into scope->topo; on a cycle, fails
 * naming it, starting at its member that comes first in the document. */
static int sort_children(struct gctx *c, struct proto_node *scope, const struct jtree *arr)
{
	size_t n = scope->n_children, n_edges = 0, head = 0, tail = 0;
	size_t *indeg = NULL, *start = NULL, *dep = NULL, *step = NULL, *cyc = NULL;
	struct proto_node *ch = scope->children;
	int r = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		n_edges += ch[i].n_after;
	scope->topo = malloc(n * sizeof(size_t));
	indeg = calloc(n, sizeof(size_t));
	start = calloc(n + 1, sizeof(size_t));
	dep = malloc((n_edges ? n_edges : 1) * sizeof(size_t));
	if (!scope->topo || !indeg || !start || !dep) {
		r = oom(c);
		goto out;
	}
	/* Reverse edges (who waits for j) in compressed rows. */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ch[i].n_after; k++)
			start[ch[i].after[k] + 1]++;
	for (size_t j = 0; j < n; j++)
		start[j + 1] += start[j];
	{
		size_t *fill = indeg; /* reused as a cursor, then reset */

		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < ch[i].n_after; k++) {
				size_t j = ch[i].after[k];

				dep[start[j] + fill[j]++] = i;
			}
	}
	for (size_t i = 0; i < n; i++) {
		indeg[i] = ch[i].n_after;
		if (indeg[i] == 0)
			scope->topo[tail++] = i;
	}
	while (head < tail) {
		size_t j = scope->topo[head++];

		for (size_t k = start[j]; k < start[j + 1]; k++)
			if (--indeg[dep[k]] == 0)
				scope->topo[tail++] = dep[k];
	}
	if (tail == n)
		goto out;

	/* Every node left has a dependency left: follow the first one until a
	 * node repeats; the repeat closes the cycle. */
	step = calloc(n, sizeof(size_t));
	cyc = malloc(n * sizeof(size_t));
	if (!step || !cyc) {
		r = oom(c);
		goto out;
	}
	{
		size_t v = 0, len = 0, first, lo, m;
		char text[PROTO_ERROR_REASON_MAX];

		while (indeg[v] == 0)
			v++;
		while (step[v] == 0) {
			step[v] = ++len;
			cyc[len - 1] = v;
			for (size_t k = 0; k < ch[v].n_after; k++)
				if (indeg[ch[v].after[k]] > 0) {
					v = ch[v].after[k];
					break;
				}
		}
		first = step[v] - 1;
		m = len - first;
		memmove(cyc, cyc + first, m * sizeof(size_t));
		lo = 0;
		for (size_t i = 1; i < m; i++)
			if (cyc[i] < cyc[lo])
				lo = i;
		/* Rotate so that the cycle starts at its first node in the document. */
		for (size_t i = 0; i < m; i++)
			step[i] = cyc[(lo + i) % m];
		/* Leave room for the "cycle " prefix. */
		cycle_text(text, sizeof(text) - 8, ch, step, m);
		{
			size_t old = path_push_index(c, step[0]);
			const struct jtree *o = &arr->u.items[step[0]];

			path_push_key(c, "after");
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, NOKEY,
				  after_pos(o, ch[step[m > 1 ? 1 : 0]].id), "cycle %s", text);
			path_pop(c, old);
		}
	}
out:
	free(indeg);
	free(start);
	free(dep);
	free(step);
	free(cyc);
	return r;
}

static int parse_children(struct gctx *c, struct proto_node *scope, const struct jtree *arr)
{
	size_t n = (size_t)arr->len;
	struct sib *sibs = NULL;
	size_t *mark = NULL;
	size_t dup = SIZE_MAX, dup_first = 0;
	char sbuf[SHOW_BUF];
	int r = 0;

	if (n > c->max_nodes - c->g->n_nodes)
		return gfail(c, PROTO_ERR_LIMIT, NOKEY, NOIDX,
			     "graph has more than %zu nodes (max_nodes)", c->max_nodes);
	c->g->n_nodes += n;
	if (n == 0)
		return 0;
	scope->children = calloc(n, sizeof(struct proto_node));
	if (!scope->children)
		return oom(c);
	scope->n_children = n;
	sibs = malloc(n * sizeof(*sibs));
	mark = calloc(n, sizeof(*mark));
	if (!sibs || !mark) {
		r = oom(c);
		goto out;
	}

	/* Pass 1: objects with valid, unique ids. */
	for (size_t i = 0; i < n; i++) {
		struct proto_node *ch = &scope->children[i];
		const struct jtree *o;
		const char *id;
		size_t old, len;

		ch->parent = scope;
		ch->index = i;
		ch->depth = scope->depth + 1;
		r = jt_get_index(arr, c->path, i, PROTO_J_OBJECT, &o, c->err);
		if (r < 0)
			goto out;
		old = path_push_index(c, i);
		if ((r = jt_get_string(o, c->path, "id", true, 1024, &id, &len, c->err)) >= 0 &&
		    !proto_id_valid(id, len))
			r = gfail(c, PROTO_ERR_INVALID_PARAMS, "id", NOIDX,
				  "invalid id '%s' (expected [A-Za-z0-9_.-]{1,64})",
				  show(sbuf, sizeof(sbuf), id, len));
		if (r >= 0) {
			ch->id = gstr(c->g, id, len, NULL, 0);
			r = ch->id ? 0 : oom(c);
		}
		path_pop(c, old);
		if (r < 0)
			goto out;
		sibs[i].id = ch->id;
		sibs[i].index = i;
	}
	qsort(sibs, n, sizeof(*sibs), sib_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sibs[i - 1].id, sibs[i].id) == 0 && sibs[i].index < dup) {
			dup = sibs[i].index;
			dup_first = sibs[i - 1].index;
		}
	if (dup != SIZE_MAX) {
		size_t old = path_push_index(c, dup);

		r = gfail(c, PROTO_ERR_INVALID_PARAMS, "id", NOIDX,
			  "duplicate sibling id '%s' (first at index %zu)", scope->children[dup].id,
			  dup_first);
		path_pop(c, old);
		goto out;
	}
	/* Kept for proto_graph_find: cancel, logs and pause name nodes by
	 * path, and a scan of 200,000 siblings per request cost the loop a
	 * millisecond or two each. */
	if (n >= PROTO_FIND_INDEX_MIN) {
		scope->by_id = malloc(n * sizeof(*scope->by_id));
		if (!scope->by_id) {
			r = oom(c);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			scope->by_id[i] = (uint32_t)sibs[i].index;
	}

	/* Pass 2: every child in document order. */
	for (size_t i = 0; i < n; i++) {
		struct proto_node *ch = &scope->children[i];
		size_t old = path_push_index(c, i);

		/* The root's path is "/", its children's "id" (the same
		 * string), deeper "a/b". */
		if (!scope->parent) {
			ch->path = ch->id;
		} else {
			ch->path = gstr(c->g, scope->path, strlen(scope->path), ch->id,
					strlen(ch->id));
			if (!ch->path)
				r = oom(c);
		}
		if (r >= 0)
			r = parse_node(c, ch, &arr->u.items[i], sibs, n, mark);
		path_pop(c, old);
		if (r < 0)
			goto out;
	}

	/* Pass 3: dependency order and cycles. */
	r = sort_children(c, scope, arr);
out:
	free(sibs);
	free(mark);
	return r;
}

static void node_free(struct proto_node *n)
{
	free(n->after);
	if (n->argv)
		for (size_t i = 0; i < n->n_argv; i++)
			free(n->argv[i]);
	free(n->argv);
	if (n->env)
		for (size_t i = 0; i < n->n_env; i++)
			free(n->env[i]);
	free(n->env);
	free(n->cwd);
	json_object_put(n->args_json);
	if (n->kind == PROTO_NODE_TASK && n->fn == PROTO_FN_FAIL)
		free(n->args.fail.message);
	for (size_t i = 0; i < n->n_children; i++)
		node_free(&n->children[i]);
	free(n->children);
	free(n->topo);
	free(n->by_id);
	free(n->limits);
	slurm_free(n->slurm);
}

void proto_graph_free(struct proto_graph *g)
{
	if (!g)
		return;
	free(g->name);
	node_free(&g->root);
	strings_free(g->strings);
	free(g);
}

static const char *const root_keys[] = {"name",  "policy", "deadline_ms", "max_parallel", "budget",
					"nodes", "limits", "placement",   "slurm",        NULL};

/* Validates the tree of a graph document (an object) into *ret. */
static int parse_tree(const struct jtree *doc, const struct proto_limits *lim,
		      struct proto_graph **ret, struct proto_error *err)
{
	struct proto_graph *g;
	struct gctx *c;
	const char *name = "";
	size_t nlen = 0;
	int r;

	/* malloc, not calloc: path is 16 KiB that only its first byte needs
	 * clearing (zeroing it was a fifth of the loop's instructions per
	 * one-node submit, bench/README.md). */
	c = malloc(sizeof(*c));
	g = calloc(1, sizeof(*g));
	if (!c || !g) {
		free(c);
		free(g);
		return proto_error_set(err, PROTO_ERR_INTERNAL, NULL, "out of memory");
	}
	c->g = g;
	c->err = err;
	c->path[0] = '\0';
	c->plen = 0;
	c->max_nodes = lim->max_nodes;
	c->stored = lim->stored;
	c->max_depth = lim->max_scope_depth < HARD_MAX_SCOPE_DEPTH ? lim->max_scope_depth
								   : HARD_MAX_SCOPE_DEPTH;
	g->root.kind = PROTO_NODE_SCOPE;
	g->root.depth = 1;
	g->root.timeout_ms = -1;
	g->root.grace_ms = PROTO_DEFAULT_GRACE_MS;
	g->max_depth = 1;

	r = jt_check_keys(doc, "", root_keys, PROTO_ERR_INVALID_PARAMS, err);
	if (r < 0)
		goto fail;
	r = jt_get_string(doc, "", "name", false, PROTO_NAME_MAX_LEN, &name, &nlen, err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < nlen; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			r = proto_error_set(err, PROTO_ERR_INVALID_PARAMS, "name",
					    "control character in name");
			goto fail;
		}
	g->name = xstrndup(name, nlen);
	g->root.id = gstr(g, "", 0, NULL, 0);
	g->root.path = gstr(g, "/", 1, NULL, 0);
	if (!g->name || !g->root.id || !g->root.path) {
		r = oom(c);
		goto fail;
	}
	r = parse_limits(c, &g->root, doc);
	if (r == 0)
		r = parse_scope_fields(c, &g->root, doc);
	if (r < 0)
		goto fail;
	free(c);
	*ret = g;
	return 0;
fail:
	free(c);
	proto_graph_free(g);
	return r;
}

/* JSON nesting allowed when re-reading a json-c document: whatever built
 * it, scope nesting (two levels each) is what the validator recurses on,
 * and it stops at its own limit. */
static unsigned reread_depth(const struct proto_limits *lim)
{
	return lim->max_json_depth + 2u * HARD_MAX_SCOPE_DEPTH + 16u;
}

int proto_graph_parse(struct json_object *doc, const struct proto_limits *lim,
		      struct proto_graph **ret, struct proto_error *err)
{
	struct proto_limits deflim;
	const struct jtree *t;
	struct jtree_doc *copy = NULL;
	int r;

	proto_error_clear(err);
	if (!lim) {
		proto_limits_default(&deflim);
		lim = &deflim;
	}
	if (!json_object_is_type(doc, json_type_object))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, NULL, "expected an object");
	/* A submitted graph comes as a jtree wrapper (proto-rpc.c); any other
	 * json-c document is read through its text. */
	t = jtree_of_json(doc);
	if (!t) {
		size_t len;
		const char *text =
			json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &len);

		r = text ? jtree_parse(text, len, reread_depth(lim), &copy) : -ENOMEM;
		if (r == -ENOMEM)
			return proto_error_set(err, PROTO_ERR_INTERNAL, NULL, "out of memory");
		if (r < 0)
			return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, NULL,
					       "graph document cannot be read back");
		t = jtree_root(copy);
	}
	r = parse_tree(t, lim, ret, err);
	jtree_doc_free(copy);
	return r;
}

int proto_graph_doc_write(struct json_object *doc, int (*out)(void *ctx, const char *p, size_t len),
			  void *ctx)
{
	const struct jtree *t = jtree_of_json(doc);
	const char *text;
	size_t len;

	/* The stand-in streams its tree: no json-c print buffer of the whole
	 * document (which doubles as it grows). */
	if (t)
		return jtree_write(t, out, ctx);
	text = json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &len);
	if (!text)
		return -ENOMEM;
	return out(ctx, text, len);
}

int proto_graph_parse_text(const char *text, size_t len, const struct proto_limits *lim,
			   struct proto_graph **ret, struct proto_error *err)
{
	struct proto_limits deflim;
	struct jtree_doc *tree;
	struct json_object *doc;
	unsigned depth;
	int r;

	proto_error_clear(err);
	if (!lim) {
		proto_limits_default(&deflim);
		lim = &deflim;
	}
	depth = lim->max_json_depth;
	if (depth == 0 || depth > INT32_MAX)
		depth = PROTO_DEFAULT_MAX_JSON_DEPTH;
	/* The compact tree when it can read the text; otherwise json-c, whose
	 * verdict on bad JSON (and error text) is the reference. */
	r = jtree_parse(text, len, depth, &tree);
	if (r == -ENOMEM)
		return proto_error_set(err, PROTO_ERR_INTERNAL, NULL, "out of memory");
	if (r == 0 && jtree_root(tree)->type == JTREE_OBJECT) {
		r = parse_tree(jtree_root(tree), lim, ret, err);
		jtree_doc_free(tree);
		return r;
	}
	if (r == 0)
		jtree_doc_free(tree);
	doc = proto__parse(text, len, lim->max_json_depth, err);
	if (!doc)
		return err && err->code == PROTO_ERR_INTERNAL ? -ENOMEM : -EINVAL;
	r = proto_graph_parse(doc, lim, ret, err);
	json_object_put(doc);
	return r;
}

/*
 * Encoding.
 */

static int encode_args(const struct proto_node *n, struct json_object *o)
{
	struct json_object *a;
	int r = 0;

	if (n->fn == PROTO_FN_NOOP)
		return 0;
	a = json_object_new_object();
	if (!a)
		return -ENOMEM;
	switch (n->fn) {
	case PROTO_FN_NOOP:
		break;
	case PROTO_FN_SLEEP:
		r = proto__add_int(a, "ms", n->args.sleep.ms);
		if (r >= 0 && n->kind == PROTO_NODE_BLOCKING && n->args.sleep.ignore_cancel)
			r = proto__add_bool(a, "ignore_cancel", true);
		break;
	case PROTO_FN_SPIN:
		r = proto__add_int(a, "units", n->args.spin.units);
		break;
	case PROTO_FN_FAIL:
		r = proto__add_string(a, "message", n->args.fail.message);
		break;
	}
	if (r < 0) {
		json_object_put(a);
		return r;
	}
	return proto_json_add(o, "args", a);
}

/* The node's own placement and Slurm options (the inherited ones come
 * back from its scopes when the document is parsed again). */
static int encode_placement(const struct proto_node *n, struct json_object *o)
{
	struct json_object *so;
	int r = 0;

	if (n->placement_own)
		r = proto__add_string(o, "placement", proto_placement_name(n->placement));
	if (r < 0 || !n->slurm || !n->slurm->own)
		return r;
	so = json_object_new_object();
	if (!so)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(slurm_strs) / sizeof(slurm_strs[0]) && r >= 0; i++)
		if (n->slurm->own & slurm_strs[i].bit)
			r = proto__add_string(so, slurm_strs[i].key, *slurm_str(n->slurm, i));
	if (r >= 0 && (n->slurm->own & PROTO_SLURM_CPUS_PER_TASK))
		r = proto__add_int(so, "cpus_per_task", n->slurm->cpus_per_task);
	if (r >= 0 && (n->slurm->own & PROTO_SLURM_NODES))
		r = proto__add_int(so, "nodes", n->slurm->nodes);
	if (r < 0) {
		json_object_put(so);
		return r;
	}
	return proto_json_add(o, "slurm", so);
}

static int encode_node(const struct proto_node *n, struct json_object **ret);

static int encode_retries(const struct proto_node *n, struct json_object *o)
{
	int r = 0;

	if (n->retries == 0)
		return 0;
	r = proto__add_int(o, "retries", n->retries);
	if (r >= 0)
		r = proto__add_int(o, "retry_delay_ms", n->retry_delay_ms);
	if (r >= 0)
		r = proto_json_add(o, "retry_backoff", json_object_new_double(n->retry_backoff));
	return r;
}

static int encode_limits(const struct proto_node *n, struct json_object *o)
{
	const struct proto_job_limits *l = n->limits;
	struct json_object *lo;
	int r = 0;

	if (!l)
		return 0;
	lo = json_object_new_object();
	if (!lo)
		return -ENOMEM;
	if (l->memory_max > 0)
		r = proto__add_int(lo, "memory_max", l->memory_max);
	if (r >= 0 && l->cpu_max > 0)
		r = proto_json_add(lo, "cpu_max", json_object_new_double(l->cpu_max));
	if (r >= 0 && l->pids_max > 0)
		r = proto__add_int(lo, "pids_max", l->pids_max);
	if (r >= 0 && l->nofile > 0)
		r = proto__add_int(lo, "nofile", l->nofile);
	if (r >= 0 && l->cpu_seconds > 0)
		r = proto__add_int(lo, "cpu_seconds", l->cpu_seconds);
	if (r < 0) {
		json_object_put(lo);
		return r;
	}
	return proto_json_add(o, "limits", lo);
}

static int encode_scope_fields(const struct proto_node *n, struct json_object *o)
{
	struct json_object *arr;
	int r;

	r = proto__add_string(o, "policy", proto_policy_name(n->policy));
	if (r >= 0)
		r = encode_limits(n, o);
	if (r >= 0 && n->deadline_ms >= 0)
		r = proto__add_int(o, "deadline_ms", n->deadline_ms);
	if (r >= 0 && n->max_parallel > 0)
		r = proto__add_int(o, "max_parallel", n->max_parallel);
	if (r >= 0)
		r = proto__add_int(o, "budget", n->budget);
	if (r >= 0)
		r = encode_placement(n, o);
	if (r < 0)
		return r;
	arr = json_object_new_array_ext((int)(n->n_children < INT32_MAX ? n->n_children : 0));
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_children && r >= 0; i++) {
		struct json_object *child = NULL;

		r = encode_node(&n->children[i], &child);
		if (r >= 0)
			r = proto_json_append(arr, child);
	}
	if (r < 0) {
		json_object_put(arr);
		return r;
	}
	return proto_json_add(o, "nodes", arr);
}

static int encode_node(const struct proto_node *n, struct json_object **ret)
{
	struct json_object *o = json_object_new_object(), *a;
	int r;

	if (!o)
		return -ENOMEM;
	r = proto__add_string(o, "id", n->id);
	if (r >= 0)
		r = proto__add_string(o, "kind", proto_node_kind_name(n->kind));
	if (r >= 0 && n->n_after > 0) {
		a = json_object_new_array();
		r = a ? 0 : -ENOMEM;
		for (size_t i = 0; i < n->n_after && r >= 0; i++)
			r = proto_json_append(
				a, json_object_new_string(n->parent->children[n->after[i]].id));
		if (r >= 0)
			r = proto_json_add(o, "after", a);
		else
			json_object_put(a);
	}
	if (r >= 0 && n->always)
		r = proto__add_bool(o, "always", true);
	switch (n->kind) {
	case PROTO_NODE_EXEC:
		a = r >= 0 ? json_object_new_array() : NULL;
		if (r >= 0 && !a)
			r = -ENOMEM;
		for (size_t i = 0; i < n->n_argv && r >= 0; i++)
			r = proto_json_append(a, json_object_new_string(n->argv[i]));
		if (r >= 0)
			r = proto_json_add(o, "argv", a);
		else
			json_object_put(a);
		if (r >= 0 && n->n_env > 0) {
			a = json_object_new_object();
			r = a ? 0 : -ENOMEM;
			for (size_t i = 0; i < n->n_env && r >= 0; i++) {
				const char *eq = strchr(n->env[i], '=');
				char *key = xstrndup(n->env[i], (size_t)(eq - n->env[i]));

				r = key ? proto__add_string(a, key, eq + 1) : -ENOMEM;
				free(key);
			}
			if (r >= 0)
				r = proto_json_add(o, "env", a);
			else
				json_object_put(a);
		}
		if (r >= 0 && n->cwd)
			r = proto__add_string(o, "cwd", n->cwd);
		if (r >= 0 && n->timeout_ms >= 0)
			r = proto__add_int(o, "timeout_ms", n->timeout_ms);
		if (r >= 0)
			r = proto__add_int(o, "grace_ms", n->grace_ms);
		if (r >= 0)
			r = encode_retries(n, o);
		if (r >= 0)
			r = encode_limits(n, o);
		if (r >= 0)
			r = encode_placement(n, o);
		break;
	case PROTO_NODE_TASK:
	case PROTO_NODE_BLOCKING:
		if (r >= 0)
			r = proto__add_string(o, "fn", proto_fn_name(n->fn));
		if (r >= 0)
			r = encode_args(n, o);
		if (r >= 0 && n->timeout_ms >= 0)
			r = proto__add_int(o, "timeout_ms", n->timeout_ms);
		if (r >= 0 && n->kind == PROTO_NODE_TASK)
			r = encode_retries(n, o);
		break;
	case PROTO_NODE_SCOPE:
		if (r >= 0)
			r = encode_scope_fields(n, o);
		break;
	}
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

int proto_graph_encode(const struct proto_graph *g, struct json_object **ret)
{
	struct json_object *o = json_object_new_object();
	int r = 0;

	if (!o)
		return -ENOMEM;
	if (g->name && g->name[0])
		r = proto__add_string(o, "name", g->name);
	if (r >= 0)
		r = encode_scope_fields(&g->root, o);
	if (r < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

const struct proto_node *proto_graph_find(const struct proto_graph *g, const char *path)
{
	const struct proto_node *n = &g->root;
	const char *p = path;

	if (!p)
		return NULL;
	if (*p == '/')
		p++;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		const struct proto_node *next = NULL;

		if (n->by_id) {
			size_t lo = 0, hi = n->n_children;

			while (lo < hi && !next) {
				size_t mid = lo + (hi - lo) / 2;
				const struct proto_node *ch = &n->children[n->by_id[mid]];
				/* ch->id against the len bytes at p, as strcmp
				 * would order them (a longer id with p's bytes as
				 * its prefix comes after). */
				int r = strncmp(ch->id, p, len);

				if (r == 0)
					r = ch->id[len] != '\0';
				if (r == 0)
					next = ch;
				else if (r < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		} else {
			for (size_t i = 0; i < n->n_children; i++)
				if (strlen(n->children[i].id) == len &&
				    memcmp(n->children[i].id, p, len) == 0) {
					next = &n->children[i];
					break;
				}
		}
		if (!next)
			return NULL;
		n = next;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return NULL; /* trailing '/' */
	}
	return n;
}

static int walk(const struct proto_node *n, int (*fn)(const struct proto_node *, void *),
		void *userdata)
{
	int r = fn(n, userdata);

	for (size_t i = 0; i < n->n_children && r == 0; i++)
		r = walk(&n->children[i], fn, userdata);
	return r;
}

int proto_graph_walk(const struct proto_graph *g,
		     int (*fn)(const struct proto_node *node, void *userdata), void *userdata)
{
	return walk(&g->root, fn, userdata);
}
