/*
 * proto-json.c - typed JSON access, error records, paths and small value
 * codecs (ids, times, enum names) shared by the rest of libcoopproto.
 *
 * This is the single place where a json-c value's type is checked before
 * it is read: proto_json_get() and its wrappers look a key up, check type
 * and range, and on failure write the field's path and a reason into a
 * struct proto_error.  Everything that decodes client input goes through
 * them, which is what makes "every error carries a path" true by
 * construction rather than by care at each call site.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto-internal.h"
#include "proto-rpc.h"

void proto_limits_default(struct proto_limits *lim)
{
	lim->max_request = PROTO_DEFAULT_MAX_REQUEST;
	lim->max_nodes = PROTO_DEFAULT_MAX_NODES;
	lim->max_scope_depth = PROTO_DEFAULT_MAX_SCOPE_DEPTH;
	lim->max_json_depth = PROTO_DEFAULT_MAX_JSON_DEPTH;
	lim->stored = false;
}

void proto_error_clear(struct proto_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->path[0] = '\0';
	err->reason[0] = '\0';
}

/* Copies src into a fixed buffer; an overlong path keeps its tail (the
 * most specific part) behind "...", an overlong reason its head. */
static void copy_truncated(char *dst, size_t size, const char *src, bool keep_tail)
{
	size_t len = strlen(src);

	if (len < size) {
		memcpy(dst, src, len + 1);
		return;
	}
	if (keep_tail) {
		memcpy(dst, "...", 3);
		memcpy(dst + 3, src + len - (size - 4), size - 4);
		dst[size - 1] = '\0';
	} else {
		memcpy(dst, src, size - 4);
		memcpy(dst + size - 4, "...", 4);
	}
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

size_t proto__utf8_check(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		size_t n;

		/* ASCII runs are the common case: skip them a byte at a time
		 * without the call. */
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

/* Error texts quote client input, cut at a byte count (%.64s, the
 * truncation below): whatever is not valid UTF-8 becomes '?', so that an
 * answer is always valid UTF-8. */
static void utf8_scrub(char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t n = utf8_seq((const unsigned char *)s + i, len - i);

		if (n == 0) {
			s[i++] = '?';
			continue;
		}
		i += n;
	}
}

/* The end of the JSON string whose opening quote is at p. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p < end ? p + 1 : end;
}

/* The end of the (well-formed) JSON value at p. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	if (*p != '"' && *p != '{' && *p != '[') {
		while (p < end && !strchr(",}] \t\r\n", *p))
			p++;
		return p;
	}
	while (p < end) {
		if (*p == '"') {
			p = skip_string(p, end);
		} else {
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			p++;
		}
		if (depth == 0)
			return p;
	}
	return end;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Whether the key string at [k, kend) (quotes included) decodes to key. */
static bool key_is(const char *k, const char *kend, const char *key)
{
	size_t n = (size_t)(kend - k) - 2, kl = strlen(key);
	struct json_tokener *tok;
	struct json_object *o;
	bool same;

	if (!memchr(k + 1, '\\', n))
		return n == kl && memcmp(k + 1, key, kl) == 0;
	/* Escapes ("\u0069d"): let json-c decode the key. */
	tok = json_tokener_new();
	if (!tok)
		return false;
	o = json_tokener_parse_ex(tok, k, (int)(kend - k));
	json_tokener_free(tok);
	same = o && json_object_is_type(o, json_type_string) &&
	       (size_t)json_object_get_string_len(o) == kl &&
	       memcmp(json_object_get_string(o), key, kl) == 0;
	json_object_put(o);
	return same;
}

bool proto__member_text(const char *text, size_t len, const char *key, const char **ret_v,
			size_t *ret_vlen)
{
	const char *p = text, *end = text + len;
	bool found = false;

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return false;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *k = p, *kend = skip_string(p, end), *v, *vend;

		p = skip_ws(kend, end);
		if (p >= end || *p != ':')
			return found;
		v = skip_ws(p + 1, end);
		if (v >= end)
			return found;
		vend = skip_value(v, end);
		if (key_is(k, kend, key)) {
			*ret_v = v;
			*ret_vlen = (size_t)(vend - v);
			found = true;
		}
		p = skip_ws(vend, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	return found;
}

static int errno_for_code(int code)
{
	switch (code) {
	case PROTO_ERR_LIMIT:
		return -E2BIG;
	case PROTO_ERR_INTERNAL:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
}

int proto_error_setv(struct proto_error *err, int code, const char *path, const char *fmt,
		     va_list ap)
{
	char reason[PROTO_ERROR_REASON_MAX + 4];
	int n;

	if (!err)
		return errno_for_code(code);
	err->code = code;
	copy_truncated(err->path, sizeof(err->path), path ? path : "", true);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	if (n < 0)
		reason[0] = '\0';
	copy_truncated(err->reason, sizeof(err->reason), reason, false);
	utf8_scrub(err->path);
	utf8_scrub(err->reason);
	return errno_for_code(code);
}

int proto_error_set(struct proto_error *err, int code, const char *path, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = proto_error_setv(err, code, path, fmt, ap);
	va_end(ap);
	return r;
}

const char *proto_error_message(int code)
{
	switch (code) {
	case PROTO_ERR_PARSE:
		return "Parse error";
	case PROTO_ERR_INVALID_REQUEST:
		return "Invalid request";
	case PROTO_ERR_METHOD_NOT_FOUND:
		return "Method not found";
	case PROTO_ERR_INVALID_PARAMS:
		return "Invalid params";
	case PROTO_ERR_INTERNAL:
		return "Internal error";
	case PROTO_ERR_NO_SUCH_GRAPH:
		return "No such graph";
	case PROTO_ERR_PERMISSION:
		return "Permission denied";
	case PROTO_ERR_LIMIT:
		return "Limit exceeded";
	case PROTO_ERR_SHUTTING_DOWN:
		return "Shutting down";
	case PROTO_ERR_ACTIVE:
		return "Graph still active";
	default:
		return "Error";
	}
}

static const char *const state_names[PROTO_STATE__MAX] = {
	[PROTO_STATE_PENDING] = "pending",       [PROTO_STATE_RUNNING] = "running",
	[PROTO_STATE_CANCELLING] = "cancelling", [PROTO_STATE_SUCCEEDED] = "succeeded",
	[PROTO_STATE_FAILED] = "failed",         [PROTO_STATE_CANCELLED] = "cancelled",
	[PROTO_STATE_SKIPPED] = "skipped",       [PROTO_STATE_INTERRUPTED] = "interrupted",
};

static const char *const reason_names[PROTO_CANCEL__MAX] = {
	[PROTO_CANCEL_CLIENT] = "client",       [PROTO_CANCEL_DEADLINE] = "deadline",
	[PROTO_CANCEL_TIMEOUT] = "timeout",     [PROTO_CANCEL_SIBLING_FAILED] = "sibling_failed",
	[PROTO_CANCEL_RACE_LOST] = "race_lost", [PROTO_CANCEL_SHUTDOWN] = "shutdown",
};

static int name_lookup(const char *const *names, int n, const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *proto_state_name(enum proto_state s)
{
	return (unsigned)s < PROTO_STATE__MAX ? state_names[s] : NULL;
}

int proto_state_from_name(const char *name)
{
	return name_lookup(state_names, PROTO_STATE__MAX, name);
}

bool proto_state_is_final(enum proto_state s)
{
	return s >= PROTO_STATE_SUCCEEDED && s < PROTO_STATE__MAX;
}

const char *proto_cancel_reason_name(enum proto_cancel_reason r)
{
	return (unsigned)r < PROTO_CANCEL__MAX ? reason_names[r] : NULL;
}

int proto_cancel_reason_from_name(const char *name)
{
	return name_lookup(reason_names, PROTO_CANCEL__MAX, name);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so that parsing needs neither timegm() nor TZ. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse, for formatting without gmtime_r()'s time_t range. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* v in exactly width decimal digits (v < 10^width) at buf + *n. */
static void put_digits(char *buf, int *n, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		buf[*n + i] = (char)('0' + v % 10);
		v /= 10;
	}
	*n += width;
}

/* Year 9999 ends here; RFC 3339 has four-digit years. */
#define TIME_MAX_MS INT64_C(253402300799999)

int proto_time_format(int64_t unix_ms, char *buf, size_t size)
{
	int64_t days, y;
	unsigned m, d, rem;
	int n;

	if (unix_ms < 0 || unix_ms > TIME_MAX_MS || size < PROTO_TIME_BUF)
		return -EINVAL;
	days = unix_ms / 86400000;
	rem = (unsigned)(unix_ms % 86400000);
	civil_from_days(days, &y, &m, &d);
	/* "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ" by hand: a status of 200,000
	 * nodes formats 400,000 times, and snprintf was most of its cost. */
	n = 0;
	put_digits(buf, &n, (unsigned)y, 4);
	buf[n++] = '-';
	put_digits(buf, &n, m, 2);
	buf[n++] = '-';
	put_digits(buf, &n, d, 2);
	buf[n++] = 'T';
	put_digits(buf, &n, rem / 3600000, 2);
	buf[n++] = ':';
	put_digits(buf, &n, rem / 60000 % 60, 2);
	buf[n++] = ':';
	put_digits(buf, &n, rem / 1000 % 60, 2);
	buf[n++] = '.';
	put_digits(buf, &n, rem % 1000, 3);
	buf[n++] = 'Z';
	buf[n] = '\0';
	return 0;
}

/* Reads exactly n decimal digits. */
static bool read_digits(const char **p, int n, unsigned *ret)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

static bool expect_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int proto_time_parse(const char *text, int64_t *ret_unix_ms)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *p = text;
	unsigned y, mo, d, h, mi, s, ms = 0;

	if (!text)
		return -EINVAL;
	if (!read_digits(&p, 4, &y) || !expect_char(&p, '-') || !read_digits(&p, 2, &mo) ||
	    !expect_char(&p, '-') || !read_digits(&p, 2, &d) || !expect_char(&p, 'T') ||
	    !read_digits(&p, 2, &h) || !expect_char(&p, ':') || !read_digits(&p, 2, &mi) ||
	    !expect_char(&p, ':') || !read_digits(&p, 2, &s))
		return -EINVAL;
	if (*p == '.' && (p++, !read_digits(&p, 3, &ms)))
		return -EINVAL;
	if (!expect_char(&p, 'Z') || *p != '\0')
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 59)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EINVAL;
	if (y < 1970)
		return -EINVAL;
	*ret_unix_ms = days_from_civil(y, mo, d) * 86400000 +
		       (int64_t)(h * 3600 + mi * 60 + s) * 1000 + ms;
	return 0;
}

static bool id_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

bool proto_id_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > PROTO_ID_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!id_char((unsigned char)s[i]))
			return false;
	return true;
}

bool proto_node_path_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (!s || len == 0 || len > PROTO_MAX_PATH_LEN)
		return false;
	if (len == 1 && s[0] == '/')
		return true;
	if (s[0] == '/')
		i = 1;
	while (i < len) {
		size_t j = i;

		while (j < len && s[j] != '/')
			j++;
		if (!proto_id_valid(s + i, j - i))
			return false;
		if (j == len)
			return true;
		i = j + 1;
		if (i == len)
			return false; /* trailing '/' */
	}
	return false;
}

char *proto_path_join(char *buf, size_t size, const char *parent, const char *key, size_t index)
{
	int n;

	if (size == 0)
		return buf;
	if (!parent)
		parent = "";
	if (key)
		n = snprintf(buf, size, "%s%s%s", parent, parent[0] ? "." : "", key);
	else
		n = snprintf(buf, size, "%s[%zu]", parent, index);
	if (n < 0)
		buf[0] = '\0';
	return buf;
}

const char *proto__jtype_desc(enum proto_jtype t)
{
	switch (t) {
	case PROTO_J_OBJECT:
		return "an object";
	case PROTO_J_ARRAY:
		return "an array";
	case PROTO_J_STRING:
		return "a string";
	case PROTO_J_BOOL:
		return "a boolean";
	case PROTO_J_INT:
		return "an integer";
	case PROTO_J_NULL:
		return "null";
	default:
		return "a value";
	}
}

static bool jtype_matches(struct json_object *v, enum proto_jtype t)
{
	switch (t) {
	case PROTO_J_ANY:
		return true;
	case PROTO_J_OBJECT:
		return json_object_is_type(v, json_type_object);
	case PROTO_J_ARRAY:
		return json_object_is_type(v, json_type_array);
	case PROTO_J_STRING:
		return json_object_is_type(v, json_type_string);
	case PROTO_J_BOOL:
		return json_object_is_type(v, json_type_boolean);
	case PROTO_J_INT:
		return json_object_is_type(v, json_type_int);
	case PROTO_J_NULL:
		return v == NULL;
	}
	return false;
}

int proto_json_get(struct json_object *obj, const char *path, const char *key,
		   enum proto_jtype type, bool required, struct json_object **ret,
		   struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];
	struct json_object *v = NULL;
	bool found;

	if (!json_object_is_type(obj, json_type_object))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, path, "expected an object");
	found = json_object_object_get_ex(obj, key, &v);
	if (found && v == NULL && type != PROTO_J_NULL && type != PROTO_J_ANY && !required)
		found = false; /* an explicit null for an optional field means absent */
	if (!found) {
		if (required)
			return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
					       proto_path_join(fpath, sizeof(fpath), path, key, 0),
					       "missing required field");
		return 0;
	}
	if (!jtype_matches(v, type))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "expected %s", proto__jtype_desc(type));
	*ret = v;
	return 1;
}

int proto_json_get_index(struct json_object *arr, const char *path, size_t index,
			 enum proto_jtype type, struct json_object **ret, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];
	struct json_object *v;

	if (!json_object_is_type(arr, json_type_array))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS, path, "expected an array");
	if (index >= json_object_array_length(arr))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, NULL, index),
				       "missing element");
	v = json_object_array_get_idx(arr, index);
	if (!jtype_matches(v, type))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, NULL, index),
				       "expected %s", proto__jtype_desc(type));
	*ret = v;
	return 1;
}

bool proto__has_nul(struct json_object *s)
{
	const char *p = json_object_get_string(s);
	int len = json_object_get_string_len(s);

	return len > 0 && memchr(p, '\0', (size_t)len) != NULL;
}

int proto_json_get_string(struct json_object *obj, const char *path, const char *key, bool required,
			  size_t max_len, const char **ret, size_t *ret_len,
			  struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];
	struct json_object *v;
	size_t len;
	int r;

	r = proto_json_get(obj, path, key, PROTO_J_STRING, required, &v, err);
	if (r <= 0)
		return r;
	len = (size_t)json_object_get_string_len(v);
	if (len > max_len)
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "string longer than %zu bytes", max_len);
	if (proto__has_nul(v))
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "string contains a NUL character");
	*ret = json_object_get_string(v);
	if (ret_len)
		*ret_len = len;
	return 1;
}

/* Reads an integer object exactly: json-c saturates values outside int64
 * when asked for int64, so a saturated INT64_MAX is told apart from a
 * real one through the uint64 view.  Values below INT64_MIN saturate to
 * INT64_MIN, which no field of the protocol accepts. */
static bool int_exact(struct json_object *v, int64_t *ret)
{
	int64_t i = json_object_get_int64(v);

	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return false;
	*ret = i;
	return true;
}

int proto_json_get_int(struct json_object *obj, const char *path, const char *key, bool required,
		       int64_t min, int64_t max, int64_t *ret, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];
	struct json_object *v;
	int64_t i;
	int r;

	r = proto_json_get(obj, path, key, PROTO_J_INT, required, &v, err);
	if (r <= 0)
		return r;
	if (!int_exact(v, &i) || i < min || i > max)
		return proto_error_set(err, PROTO_ERR_INVALID_PARAMS,
				       proto_path_join(fpath, sizeof(fpath), path, key, 0),
				       "must be an integer between %" PRId64 " and %" PRId64, min,
				       max);
	*ret = i;
	return 1;
}

int proto_json_get_bool(struct json_object *obj, const char *path, const char *key, bool required,
			bool *ret, struct proto_error *err)
{
	struct json_object *v;
	int r;

	r = proto_json_get(obj, path, key, PROTO_J_BOOL, required, &v, err);
	if (r <= 0)
		return r;
	*ret = json_object_get_boolean(v);
	return 1;
}

int proto_json_check_keys(struct json_object *obj, const char *path, const char *const *allowed,
			  int code, struct proto_error *err)
{
	char fpath[PROTO_ERROR_PATH_MAX];

	if (!json_object_is_type(obj, json_type_object))
		return proto_error_set(err, code, path, "expected an object");
	json_object_object_foreach(obj, key, val)
	{
		bool ok = false;

		(void)val;
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
 * Construction helpers (proto-internal.h).
 */

int proto_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int proto__add_string(struct json_object *obj, const char *key, const char *s)
{
	return proto_json_add(obj, key, json_object_new_string(s));
}

int proto__add_string_len(struct json_object *obj, const char *key, const char *s, size_t len)
{
	if (len > INT32_MAX)
		return -ENOMEM;
	return proto_json_add(obj, key, json_object_new_string_len(s, (int)len));
}

int proto__add_int(struct json_object *obj, const char *key, int64_t v)
{
	return proto_json_add(obj, key, json_object_new_int64(v));
}

int proto__add_bool(struct json_object *obj, const char *key, bool v)
{
	return proto_json_add(obj, key, json_object_new_boolean(v));
}

int proto_json_append(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

struct json_object *proto__parse(const char *text, size_t len, unsigned depth,
				 struct proto_error *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end, bad;

	if (len > INT32_MAX - 1) {
		proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL, "message too large");
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		proto_error_set(err, PROTO_ERR_PARSE, NULL, "NUL byte at offset %zu",
				(size_t)((const char *)memchr(text, '\0', len) - text));
		return NULL;
	}
	if (depth == 0 || depth > INT32_MAX)
		depth = PROTO_DEFAULT_MAX_JSON_DEPTH;
	tok = json_tokener_new_ex((int)depth);
	if (!tok) {
		proto_error_set(err, PROTO_ERR_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* Bare numbers need a terminator; anything else is truncated. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_success)
			end = len;
		else if (jerr == json_tokener_continue)
			jerr = json_tokener_error_parse_eof;
	}
	/* JSON_TOKENER_STRICT already rejects anything but whitespace after
	 * the value, so success means the whole text was one value. */
	if (jerr != json_tokener_success) {
		if (jerr == json_tokener_error_depth)
			proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL,
					"JSON nested deeper than %u levels", depth);
		else if ((bad = proto__utf8_check(text, len)) < len && bad <= end)
			/* json-c stopped at (or after) bytes that are not
			 * UTF-8: say so rather than "invalid string". */
			proto_error_set(err, PROTO_ERR_PARSE, NULL, "invalid UTF-8 at offset %zu",
					bad);
		else
			proto_error_set(err, PROTO_ERR_PARSE, NULL, "%s at offset %zu",
					json_tokener_error_desc(jerr), end);
		json_object_put(obj);
		obj = NULL;
	} else if (!obj) {
		/* The text was the literal null. */
		proto_error_set(err, PROTO_ERR_INVALID_REQUEST, NULL, "expected an object");
	}
	json_tokener_free(tok);
	return obj;
}
