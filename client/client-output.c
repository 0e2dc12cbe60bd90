/*
 * client-output.c - coopctl's human output: durations, the status tree,
 * the list table, the progress bar, watch lines and the stats report.
 *
 * Input is the daemon's JSON as docs/protocol.md describes it, read
 * defensively: a missing or mistyped field shows as "-" rather than
 * crashing, since the daemon may be newer or older than the client.  Text
 * that comes from the daemon (ids, names, error messages) is printed with
 * control characters replaced, so a job's error message cannot move the
 * cursor or break the table.
 */
#include "config.h"

#include "client-output.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "proto-rpc.h"

/*
 * Durations.
 */

struct duration_unit {
	const char *name;
	uint64_t ms;
};

static const struct duration_unit duration_units[] = {
	{"ms", 1},      {"s", 1000},    {"sec", 1000},   {"m", 60000},
	{"min", 60000}, {"h", 3600000}, {"d", 86400000}, {NULL, 0},
};

int output_duration_parse(const char *text, uint64_t *ret_ms)
{
	const char *p = text;
	uint64_t total = 0;
	int parts = 0;

	if (!text || !*text)
		return -EINVAL;
	while (*p) {
		uint64_t whole = 0, frac = 0, frac_div = 1, unit = 0, v;
		bool digits = false;
		size_t ulen = 0;

		while (*p >= '0' && *p <= '9') {
			if (whole > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (uint64_t)(*p - '0');
			digits = true;
			p++;
		}
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				/* Digits past the millisecond are dropped. */
				if (frac_div < 1000000000u) {
					frac = frac * 10 + (uint64_t)(*p - '0');
					frac_div *= 10;
				}
				digits = true;
				p++;
			}
		}
		if (!digits)
			return -EINVAL;
		while (p[ulen] >= 'a' && p[ulen] <= 'z')
			ulen++;
		if (ulen == 0) {
			/* A bare number is seconds, and only on its own. */
			if (parts > 0 || *p)
				return -EINVAL;
			unit = 1000;
		} else {
			for (const struct duration_unit *u = duration_units; u->name; u++)
				if (strlen(u->name) == ulen && strncmp(p, u->name, ulen) == 0)
					unit = u->ms;
			if (unit == 0)
				return -EINVAL;
			p += ulen;
		}
		if (whole > UINT64_MAX / unit)
			return -ERANGE;
		v = whole * unit + frac * unit / frac_div;
		if (v > (uint64_t)INT64_MAX - total)
			return -ERANGE;
		total += v;
		parts++;
	}
	*ret_ms = total;
	return 0;
}

char *output_duration_format(int64_t ms, char *buf, size_t size)
{
	if (ms < 0)
		snprintf(buf, size, "-");
	else if (ms < 1000)
		snprintf(buf, size, "%" PRId64 "ms", ms);
	else if (ms < 10000)
		snprintf(buf, size, "%" PRId64 ".%02" PRId64 "s", ms / 1000, ms % 1000 / 10);
	else if (ms < 60000)
		snprintf(buf, size, "%" PRId64 ".%" PRId64 "s", ms / 1000, ms % 1000 / 100);
	else if (ms < 3600000)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms % 60000 / 1000);
	else if (ms < 86400000)
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", ms / 3600000,
			 ms % 3600000 / 60000);
	else
		snprintf(buf, size, "%" PRId64 "d%02" PRId64 "h", ms / 86400000,
			 ms % 86400000 / 3600000);
	return buf;
}

/*
 * States.
 */

bool output_state_is_final(const char *state)
{
	int s = state ? proto_state_from_name(state) : -1;

	return s >= 0 && proto_state_is_final((enum proto_state)s);
}

int output_exit_for_state(const char *state)
{
	return state && strcmp(state, "succeeded") == 0 ? 0 : 1;
}

const char *output_state_color(const char *state, bool color)
{
	if (!color || !state)
		return "";
	if (strcmp(state, "succeeded") == 0)
		return "\033[32m";
	if (strcmp(state, "failed") == 0 || strcmp(state, "interrupted") == 0)
		return "\033[1;31m";
	if (strcmp(state, "cancelled") == 0 || strcmp(state, "cancelling") == 0)
		return "\033[33m";
	if (strcmp(state, "running") == 0)
		return "\033[1;34m";
	if (strcmp(state, "skipped") == 0 || strcmp(state, "pending") == 0)
		return "\033[2m";
	return "";
}

const char *output_reset(bool color)
{
	return color ? "\033[0m" : "";
}

static const char *dim(bool color)
{
	return color ? "\033[2m" : "";
}

/*
 * Field access: never trusts a type.
 */

struct json_object *output_get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

const char *output_str(struct json_object *obj, const char *key)
{
	struct json_object *v = output_get(obj, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool jint(struct json_object *obj, const char *key, int64_t *ret)
{
	struct json_object *v = output_get(obj, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

/* An RFC 3339 time field as unix ms; false when null or malformed. */
static bool jtime(struct json_object *obj, const char *key, int64_t *ret)
{
	const char *s = output_str(obj, key);

	return s && proto_time_parse(s, ret) == 0;
}

/* Writes s with control characters shown as '?', at most max bytes
 * (0: all), returning the bytes written. */
static size_t put_clean(FILE *out, const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s && (max == 0 || n < max); s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
	return n;
}

/* Display width of a UTF-8 string (code points; ids are ASCII anyway). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; s && *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void pad(FILE *out, size_t n)
{
	while (n-- > 0)
		fputc(' ', out);
}

/* Local time "2024-05-01 12:00:00" (with ".123" if with_ms). */
static char *format_time(int64_t unix_ms, bool with_ms, char *buf, size_t size)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	char tmp[32];

	if (!localtime_r(&t, &tm) || strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	if (with_ms) {
		char zone[16] = "";
		(void)strftime(zone, sizeof(zone), "%Z", &tm);
		snprintf(buf, size, "%s.%03d %s", tmp, (int)(unix_ms % 1000), zone);
	} else {
		snprintf(buf, size, "%s", tmp);
	}
	return buf;
}

/* The node's duration: finished - started, or now - started while it runs;
 * -1 when it never started. */
static int64_t node_duration(struct json_object *node, int64_t now_ms)
{
	int64_t started, finished;

	if (!jtime(node, "started", &started))
		return -1;
	if (jtime(node, "finished", &finished))
		return finished >= started ? finished - started : 0;
	return now_ms >= started ? now_ms - started : 0;
}

/* The signal as "SIGKILL" from a number or a name. */
static void signal_name(struct json_object *v, char *buf, size_t size)
{
	if (json_object_is_type(v, json_type_int)) {
		int sig = (int)json_object_get_int64(v);
		const char *abbrev = sig > 0 && sig < 128 ? sigabbrev_np(sig) : NULL;
		if (abbrev)
			snprintf(buf, size, "SIG%s", abbrev);
		else
			snprintf(buf, size, "signal %d", sig);
	} else {
		snprintf(buf, size, "%s", json_object_get_string(v));
	}
}

/*
 * The status tree.
 */

struct tree_ctx {
	FILE *out;
	const struct output_opts *o;
	size_t name_w; /* widest glyphs + id */
	size_t kind_w;
	size_t state_w;
	size_t dur_w;
	size_t start_w;
	int64_t graph_start;        /* the root's start, -1 if it has not started */
	struct json_object *parent; /* of the nodes being drawn (NULL: the root) */
	char prefix[1024];          /* glyphs of the ancestors' columns */
	size_t prefix_len;
	size_t prefix_w;
};

static const char *glyph_mid(bool utf8)
{
	return utf8 ? "├─ " : "|- ";
}
static const char *glyph_last(bool utf8)
{
	return utf8 ? "└─ " : "`- ";
}
static const char *glyph_pipe(bool utf8)
{
	return utf8 ? "│  " : "|  ";
}

static struct json_object *node_children(struct json_object *node)
{
	struct json_object *n = output_get(node, "nodes");

	return n && json_object_is_type(n, json_type_array) ? n : NULL;
}

static const char *node_label(struct json_object *node, bool root)
{
	const char *id = output_str(node, "id");

	if (root)
		return "/";
	return id && *id ? id : "?";
}

/* When the node started, from the graph's start: "+350ms", or "-". */
static char *tree_start(const struct tree_ctx *t, struct json_object *node, char *buf, size_t size)
{
	int64_t started;

	if (t->graph_start < 0 || !jtime(node, "started", &started)) {
		snprintf(buf, size, "-");
		return buf;
	}
	buf[0] = '+';
	output_duration_format(started > t->graph_start ? started - t->graph_start : 0, buf + 1,
			       size - 1);
	return buf;
}

/* Measures the columns over the whole tree. */
static void tree_measure(struct tree_ctx *t, struct json_object *node, size_t depth, bool root)
{
	struct json_object *kids = node_children(node);
	const char *kind = output_str(node, "kind");
	const char *state = output_str(node, "state");
	char dur[OUTPUT_DURATION_BUF];
	size_t w = depth * 3 + text_width(node_label(node, root));

	if (w > t->name_w)
		t->name_w = w;
	if (kind && strlen(kind) > t->kind_w)
		t->kind_w = strlen(kind);
	if (state && strlen(state) > t->state_w)
		t->state_w = strlen(state);
	output_duration_format(node_duration(node, t->o->now_ms), dur, sizeof(dur));
	if (strlen(dur) > t->dur_w)
		t->dur_w = strlen(dur);
	tree_start(t, node, dur, sizeof(dur));
	if (strlen(dur) > t->start_w)
		t->start_w = strlen(dur);
	for (size_t i = 0; kids && i < json_object_array_length(kids); i++)
		tree_measure(t, json_object_array_get_idx(kids, i), depth + 1, false);
}

/* Why a node was skipped: its `after` siblings that did not succeed
 * ("skipped: after fetch (failed)"), or its skipped enclosing scope. */
static void tree_skipped_why(struct tree_ctx *t, struct json_object *node)
{
	struct json_object *after = output_get(node, "after");
	struct json_object *sibs = t->parent ? node_children(t->parent) : NULL;
	const char *pstate = t->parent ? output_str(t->parent, "state") : NULL;
	const char *sep = "";

	fputs("skipped: ", t->out);
	for (size_t i = 0; after && json_object_is_type(after, json_type_array) &&
			   i < json_object_array_length(after);
	     i++) {
		struct json_object *dep = json_object_array_get_idx(after, i);
		const char *dep_id = json_object_is_type(dep, json_type_string)
					     ? json_object_get_string(dep)
					     : NULL;

		for (size_t j = 0; dep_id && sibs && j < json_object_array_length(sibs); j++) {
			struct json_object *sib = json_object_array_get_idx(sibs, j);
			const char *sid = output_str(sib, "id"), *sst = output_str(sib, "state");

			if (!sid || strcmp(sid, dep_id) != 0 || (sst && !strcmp(sst, "succeeded")))
				continue;
			fprintf(t->out, "%safter ", *sep ? sep : "");
			put_clean(t->out, dep_id, 64);
			fprintf(t->out, " (%s)", sst ? sst : "?");
			sep = ", ";
		}
	}
	if (*sep)
		return;
	if (pstate && strcmp(pstate, "skipped") == 0)
		fputs("its scope was skipped", t->out);
	else
		fputs("a dependency did not succeed", t->out);
}

/* The details column of one node. */
static void tree_details(struct tree_ctx *t, struct json_object *node)
{
	FILE *out = t->out;
	bool color = t->o->color;
	const char *state = output_str(node, "state");
	struct json_object *v, *cancel = output_get(node, "cancel"),
			       *stats = output_get(node, "stats");
	const char *sep = "";
	int64_t n, max;

	if ((v = output_get(node, "paused")) && json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v)) {
		fprintf(out, "%spaused", sep);
		sep = ", ";
	}
	if ((v = output_get(node, "reused")) && json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v)) {
		fprintf(out, "%sreused", sep);
		sep = ", ";
	}
	/* A node with retries: which attempt this is (or was, at the end). */
	if (jint(node, "attempt", &n) && jint(node, "max_attempts", &max) && max > 1) {
		fprintf(out, "%sattempt %" PRId64 "/%" PRId64, sep, n, max);
		sep = ", ";
	}
	if (jint(node, "exit_code", &n)) {
		fprintf(out, "%sexit %" PRId64, sep, n);
		sep = ", ";
	}
	/* A node placed on Slurm (docs/slurm.md): its job and Slurm's state. */
	if ((v = output_get(node, "slurm")) && json_object_is_type(v, json_type_object) &&
	    jint(v, "job_id", &n)) {
		fprintf(out, "%sSlurm job %" PRId64, sep, n);
		if (output_str(v, "state")) {
			fputc(' ', out);
			put_clean(out, output_str(v, "state"), 32);
		}
		sep = ", ";
	}
	if ((v = output_get(node, "signal")) && !json_object_is_type(v, json_type_null)) {
		char sig[32];
		signal_name(v, sig, sizeof(sig));
		fprintf(out, "%skilled by %s", sep, sig);
		sep = ", ";
	}
	if ((v = output_get(node, "error")) && !json_object_is_type(v, json_type_null)) {
		fprintf(out, "%serror: ", sep);
		if (json_object_is_type(v, json_type_string))
			put_clean(out, json_object_get_string(v), 200);
		else
			put_clean(out, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
				  200);
		sep = ", ";
	}
	if ((v = output_get(node, "value")) && !json_object_is_type(v, json_type_null)) {
		fprintf(out, "%svalue ", sep);
		put_clean(out, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), 80);
		sep = ", ";
	}
	if (state && strcmp(state, "skipped") == 0 && !(cancel && output_str(cancel, "reason"))) {
		/* A skipped node never started and no cancellation reached it
		 * (coopd.graph(5): its dependency did not succeed): say which one. */
		fputs(sep, out);
		tree_skipped_why(t, node);
		sep = ", ";
	} else if (cancel && json_object_is_type(cancel, json_type_object)) {
		const char *reason = output_str(cancel, "reason"),
			   *note = output_str(cancel, "note");
		int64_t req, ack, started;
		bool has_req = jtime(cancel, "requested", &req);
		bool has_ack = jtime(cancel, "acknowledged", &ack);
		bool never_started = !jtime(node, "started", &started);
		char dur[OUTPUT_DURATION_BUF];

		if (state && strcmp(state, "succeeded") == 0)
			fprintf(out, "%s%scompleted anyway%s (", sep,
				output_state_color("cancelling", color), output_reset(color));
		else
			fputs(sep, out);
		/* A null reason: the request reached the node, but no reason
		 * was recorded for it (never "cancel: ?"). */
		if (reason) {
			fputs("cancel: ", out);
			put_clean(out, reason, 80);
		} else if (state && strcmp(state, "cancelled") == 0 && never_started) {
			fputs("cancelled before it started", out);
		} else {
			fputs("cancellation requested", out);
		}
		if (note) {
			/* The text of `coopctl cancel --reason`. */
			fputs(" \"", out);
			put_clean(out, note, 200);
			fputc('"', out);
		}
		if (reason && never_started && state && strcmp(state, "cancelled") == 0)
			fputs(", before it started", out);
		if (has_req && has_ack)
			fprintf(out, ", acknowledged in %s",
				output_duration_format(ack - req, dur, sizeof(dur)));
		else if (has_req && !output_state_is_final(state))
			fprintf(out, ", waiting %s",
				output_duration_format(t->o->now_ms - req, dur, sizeof(dur)));
		if (state && strcmp(state, "succeeded") == 0)
			fputc(')', out);
		sep = ", ";
	}
	if (stats && jint(stats, "polls", &n) && n > 0) {
		int64_t fy = 0;
		(void)jint(stats, "forced_yields", &fy);
		fprintf(out, "%s%s%" PRId64 " poll%s, %" PRId64 " forced yield%s%s", sep,
			dim(color), n, n == 1 ? "" : "s", fy, fy == 1 ? "" : "s",
			output_reset(color));
	}
}

static void tree_line(struct tree_ctx *t, struct json_object *node, bool root, const char *glyph)
{
	FILE *out = t->out;
	bool color = t->o->color;
	const char *kind = output_str(node, "kind");
	const char *state = output_str(node, "state");
	const char *label = node_label(node, root);
	char dur[OUTPUT_DURATION_BUF];
	size_t w;

	fputs(t->prefix, out);
	if (glyph)
		fputs(glyph, out);
	w = t->prefix_w + (glyph ? 3 : 0);
	w += put_clean(out, label, 0);
	pad(out, t->name_w - w + 2);
	fprintf(out, "%s", kind ? kind : "-");
	pad(out, t->kind_w - (kind ? strlen(kind) : 1) + 2);
	fprintf(out, "%s%s%s", output_state_color(state, color), state ? state : "-",
		output_reset(color));
	pad(out, t->state_w - (state ? strlen(state) : 1) + 2);
	tree_start(t, node, dur, sizeof(dur));
	pad(out, t->start_w - strlen(dur));
	fputs(dur, out);
	fputs("  ", out);
	output_duration_format(node_duration(node, t->o->now_ms), dur, sizeof(dur));
	pad(out, t->dur_w - strlen(dur));
	fputs(dur, out);
	{
		/* Details after two spaces, or nothing (no trailing blanks). */
		char *details = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&details, &len);
		FILE *saved = t->out;

		if (mem) {
			t->out = mem;
			tree_details(t, node);
			t->out = saved;
			if (fclose(mem) == 0 && len > 0) {
				fputs("  ", out);
				fwrite(details, 1, len, out);
			}
			free(details);
		}
	}
	fputc('\n', out);
}

static void tree_walk(struct tree_ctx *t, struct json_object *node)
{
	struct json_object *kids = node_children(node);
	size_t n = kids ? json_object_array_length(kids) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *kid = json_object_array_get_idx(kids, i);
		bool last = i + 1 == n;
		size_t saved_len = t->prefix_len, saved_w = t->prefix_w;
		const char *cont = last ? "   " : glyph_pipe(t->o->utf8);

		t->parent = node;
		tree_line(t, kid, false, last ? glyph_last(t->o->utf8) : glyph_mid(t->o->utf8));
		if (t->prefix_len + strlen(cont) < sizeof(t->prefix)) {
			memcpy(t->prefix + t->prefix_len, cont, strlen(cont) + 1);
			t->prefix_len += strlen(cont);
			t->prefix_w += 3;
		}
		tree_walk(t, kid);
		t->prefix_len = saved_len;
		t->prefix_w = saved_w;
		t->prefix[saved_len] = '\0';
	}
}

/* "Graph ID (name): state" and the times. */
static void status_header(FILE *out, struct json_object *status, const struct output_opts *o)
{
	const char *id = output_str(status, "id"), *name = output_str(status, "name"),
		   *state = output_str(status, "state");
	int64_t created, started, finished, uid;
	char buf[64], dur[OUTPUT_DURATION_BUF];
	bool color = o->color;

	fprintf(out, "%sGraph ", color ? "\033[1m" : "");
	put_clean(out, id ? id : "?", 0);
	if (name && *name) {
		fputs(" (", out);
		put_clean(out, name, 0);
		fputc(')', out);
	}
	fprintf(out, "%s: %s%s%s\n", output_reset(color), output_state_color(state, color),
		state ? state : "-", output_reset(color));
	if (jtime(status, "created", &created))
		fprintf(out, "  Created:  %s\n", format_time(created, true, buf, sizeof(buf)));
	if (jtime(status, "started", &started)) {
		fprintf(out, "  Started:  %s\n", format_time(started, true, buf, sizeof(buf)));
		if (jtime(status, "finished", &finished))
			fprintf(out, "  Finished: %s (ran %s)\n",
				format_time(finished, true, buf, sizeof(buf)),
				output_duration_format(finished - started, dur, sizeof(dur)));
		else
			fprintf(out, "  Running:  %s\n",
				output_duration_format(o->now_ms - started, dur, sizeof(dur)));
	}
	if (jint(status, "owner_uid", &uid))
		fprintf(out, "  Owner:    uid %" PRId64 "\n", uid);
}

int output_status_tree(FILE *out, struct json_object *status, const struct output_opts *o)
{
	struct json_object *root = output_get(status, "root");
	struct tree_ctx t = {.out = out, .o = o};

	if (!root || !json_object_is_type(root, json_type_object))
		return -EINVAL;
	status_header(out, status, o);
	fputc('\n', out);
	t.name_w = strlen("NODE");
	t.kind_w = strlen("KIND");
	t.state_w = strlen("STATE");
	t.dur_w = strlen("TIME");
	t.start_w = strlen("START");
	if (!jtime(root, "started", &t.graph_start))
		t.graph_start = -1;
	tree_measure(&t, root, 0, true);
	fprintf(out, "%sNODE", o->color ? "\033[1m" : "");
	pad(out, t.name_w - 4 + 2);
	fputs("KIND", out);
	pad(out, t.kind_w - 4 + 2);
	fputs("STATE", out);
	pad(out, t.state_w - 5 + 2);
	pad(out, t.start_w - 5);
	fputs("START  ", out);
	pad(out, t.dur_w - 4);
	fprintf(out, "TIME  DETAILS%s\n", output_reset(o->color));
	tree_line(&t, root, true, NULL);
	tree_walk(&t, root);
	return 0;
}

/* Node counts per state from a counts object ({STATE: N}). */
static void counts_read(struct json_object *counts, int64_t c[PROTO_STATE__MAX])
{
	for (int s = 0; s < PROTO_STATE__MAX; s++) {
		const char *name = proto_state_name((enum proto_state)s);
		int64_t n;

		c[s] = name && jint(counts, name, &n) && n > 0 ? n : 0;
	}
}

/* Prints "7 succeeded, 1 failed" in state order. */
static void print_counts(FILE *out, const int64_t c[PROTO_STATE__MAX], const struct output_opts *o)
{
	const char *sep = "";

	for (int s = 0; s < PROTO_STATE__MAX; s++) {
		const char *name = proto_state_name((enum proto_state)s);

		if (!name || c[s] == 0)
			continue;
		fprintf(out, "%s%" PRId64 " %s%s%s", sep, c[s], output_state_color(name, o->color),
			name, output_reset(o->color));
		sep = ", ";
	}
	if (!*sep)
		fputs("no nodes", out);
}

int output_status_summary(FILE *out, struct json_object *status, const struct output_opts *o)
{
	struct json_object *counts = output_get(status, "counts");

	if (!counts || !json_object_is_type(counts, json_type_object))
		return -EINVAL;
	int64_t c[PROTO_STATE__MAX];

	counts_read(counts, c);
	status_header(out, status, o);
	fputs("  Nodes:    ", out);
	print_counts(out, c, o);
	fputc('\n', out);
	return 0;
}

/*
 * The list table.
 */

int output_list(FILE *out, struct json_object *list, const struct output_opts *o)
{
	struct json_object *graphs = output_get(list, "graphs");
	size_t n, id_w = 2, name_w = 4, state_w = 5;

	if (!graphs || !json_object_is_type(graphs, json_type_array))
		return -EINVAL;
	n = json_object_array_length(graphs);
	if (n == 0) {
		fputs("No graphs.\n", out);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *g = json_object_array_get_idx(graphs, i);
		const char *id = output_str(g, "id"), *name = output_str(g, "name"),
			   *state = output_str(g, "state");
		if (id && text_width(id) > id_w)
			id_w = text_width(id);
		if (name && text_width(name) > name_w)
			name_w = text_width(name) > 40 ? 40 : text_width(name);
		if (state && strlen(state) > state_w)
			state_w = strlen(state);
	}
	fprintf(out, "%sID", o->color ? "\033[1m" : "");
	pad(out, id_w - 2 + 2);
	fputs("NAME", out);
	pad(out, name_w - 4 + 2);
	fputs("STATE", out);
	pad(out, state_w - 5 + 2);
	fprintf(out, "CREATED              NODES%s\n", output_reset(o->color));
	for (size_t i = 0; i < n; i++) {
		struct json_object *g = json_object_array_get_idx(graphs, i);
		const char *id = output_str(g, "id"), *name = output_str(g, "name"),
			   *state = output_str(g, "state");
		int64_t created, total, done;
		char buf[64];
		size_t w;

		w = put_clean(out, id ? id : "-", 0);
		pad(out, id_w - w + 2);
		w = put_clean(out, name && *name ? name : "-", 40);
		pad(out, name_w - w + 2);
		fprintf(out, "%s%s%s", output_state_color(state, o->color), state ? state : "-",
			output_reset(o->color));
		pad(out, state_w - (state ? strlen(state) : 1) + 2);
		fprintf(out, "%-19s  ",
			jtime(g, "created", &created)
				? format_time(created, false, buf, sizeof(buf))
				: "-");
		if (jint(g, "nodes_total", &total) && jint(g, "nodes_done", &done))
			fprintf(out, "%" PRId64 "/%" PRId64, done, total);
		else
			fputc('-', out);
		fputc('\n', out);
	}
	return 0;
}

/*
 * Progress.
 */

void output_counts_from_summary(struct json_object *status, struct output_counts *ret)
{
	struct json_object *counts = output_get(status, "counts");

	memset(ret, 0, sizeof(*ret));
	for (int s = 0; s < PROTO_STATE__MAX; s++) {
		const char *name = proto_state_name((enum proto_state)s);
		int64_t n;

		if (!name || !jint(counts, name, &n) || n < 0)
			continue;
		ret->total += n;
		if (proto_state_is_final((enum proto_state)s))
			ret->done += n;
		if (s == PROTO_STATE_RUNNING || s == PROTO_STATE_CANCELLING)
			ret->running += n;
		if (s == PROTO_STATE_FAILED || s == PROTO_STATE_INTERRUPTED)
			ret->failed += n;
		if (s == PROTO_STATE_CANCELLED)
			ret->cancelled += n;
	}
}

void output_progress_bar(FILE *out, const char *id, const struct output_counts *c,
			 int64_t elapsed_ms, const struct output_opts *o)
{
	char tail[160], dur[OUTPUT_DURATION_BUF];
	int width = o->width > 0 ? o->width : 80;
	int bar, filled, n;

	n = snprintf(tail, sizeof(tail), " %" PRId64 "/%" PRId64 " nodes, %" PRId64 " running",
		     c->done, c->total, c->running);
	if (c->failed > 0 && n >= 0 && (size_t)n < sizeof(tail))
		n += snprintf(tail + n, sizeof(tail) - (size_t)n, ", %" PRId64 " failed",
			      c->failed);
	if (c->cancelled > 0 && n >= 0 && (size_t)n < sizeof(tail))
		n += snprintf(tail + n, sizeof(tail) - (size_t)n, ", %" PRId64 " cancelled",
			      c->cancelled);
	if (n >= 0 && (size_t)n < sizeof(tail))
		snprintf(tail + n, sizeof(tail) - (size_t)n, ", %s",
			 output_duration_format(elapsed_ms, dur, sizeof(dur)));
	/* "ID [bar]tail": the bar takes what is left, within reason. */
	bar = width - 1 - (int)text_width(id) - 3 - (int)strlen(tail);
	if (bar > 50)
		bar = 50;
	if (bar < 10)
		bar = 10;
	filled = c->total > 0 ? (int)(c->done * bar / c->total) : 0;
	fprintf(out, "\r%s [%s", id, o->color ? "\033[32m" : "");
	for (int i = 0; i < bar; i++) {
		if (i == filled && o->color)
			fputs("\033[0;2m", out);
		if (o->utf8)
			fputs(i < filled ? "█" : "░", out);
		else
			fputc(i < filled ? '#' : '.', out);
	}
	fprintf(out, "%s]%s\033[K", output_reset(o->color), tail);
	fflush(out);
}

/*
 * Watch events.
 */

void output_event_line(FILE *out, struct json_object *params, const struct output_opts *o)
{
	const char *graph = output_str(params, "graph"), *node = output_str(params, "node"),
		   *state = output_str(params, "state"), *kind = output_str(params, "kind"),
		   *reason = output_str(params, "reason");
	struct json_object *v;
	int64_t ts, code;
	char buf[64];

	if (jtime(params, "ts", &ts)) {
		time_t t = (time_t)(ts / 1000);
		struct tm tm;
		if (localtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%H:%M:%S", &tm) > 0)
			fprintf(out, "%s%s.%03d%s ", dim(o->color), buf, (int)(ts % 1000),
				output_reset(o->color));
	}
	put_clean(out, graph ? graph : "-", 0);
	fputc(' ', out);
	put_clean(out, node && *node ? node : "/", 0);
	if (kind) {
		fprintf(out, " %s", dim(o->color));
		put_clean(out, kind, 0);
		fputs(output_reset(o->color), out);
	}
	fprintf(out, " %s%s%s", output_state_color(state, o->color), state ? state : "-",
		output_reset(o->color));
	if (jint(params, "exit_code", &code))
		fprintf(out, " exit %" PRId64, code);
	if ((v = output_get(params, "signal")) && !json_object_is_type(v, json_type_null)) {
		signal_name(v, buf, sizeof(buf));
		fprintf(out, " killed by %s", buf);
	}
	if (reason) {
		fputs(" cancel: ", out);
		put_clean(out, reason, 80);
	}
	if ((v = output_get(params, "error")) && json_object_is_type(v, json_type_string)) {
		fputs(" error: ", out);
		put_clean(out, json_object_get_string(v), 200);
	}
	/* Whatever else a newer daemon sends, as key=value. */
	json_object_object_foreach(params, key, val)
	{
		static const char *const known[] = {"graph", "node",      "state",  "ts",
						    "kind",  "exit_code", "signal", "reason",
						    "error", NULL};
		bool skip = !val || json_object_is_type(val, json_type_null);

		for (size_t i = 0; !skip && known[i]; i++)
			skip = strcmp(key, known[i]) == 0;
		if (skip)
			continue;
		fputc(' ', out);
		put_clean(out, key, 0);
		fputc('=', out);
		if (json_object_is_type(val, json_type_string))
			put_clean(out, json_object_get_string(val), 200);
		else
			put_clean(out, json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN),
				  200);
	}
	fputc('\n', out);
}

/* Counts node states over a whole status tree (the root included). */
static void count_tree(struct json_object *node, int64_t counts[PROTO_STATE__MAX])
{
	struct json_object *kids = node_children(node);
	const char *state = output_str(node, "state");
	int s = state ? proto_state_from_name(state) : -1;

	if (s >= 0)
		counts[s]++;
	for (size_t i = 0; kids && i < json_object_array_length(kids); i++)
		count_tree(json_object_array_get_idx(kids, i), counts);
}

void output_outcome_line(FILE *out, struct json_object *status, const struct output_opts *o)
{
	const char *id = output_str(status, "id"), *name = output_str(status, "name"),
		   *state = output_str(status, "state");
	struct json_object *counts = output_get(status, "counts"),
			   *root = output_get(status, "root");
	int64_t started, finished, c[PROTO_STATE__MAX] = {0};
	bool have_counts = false;
	char dur[OUTPUT_DURATION_BUF];

	put_clean(out, id ? id : "?", 0);
	if (name && *name) {
		fputs(" (", out);
		put_clean(out, name, 0);
		fputc(')', out);
	}
	fprintf(out, " %s%s%s", output_state_color(state, o->color), state ? state : "-",
		output_reset(o->color));
	if (jtime(status, "started", &started) && jtime(status, "finished", &finished))
		fprintf(out, " in %s",
			output_duration_format(finished - started, dur, sizeof(dur)));
	if (counts && json_object_is_type(counts, json_type_object)) {
		counts_read(counts, c);
		have_counts = true;
	} else if (root) {
		/* The whole tree: count its nodes below the root, as summaries do. */
		struct json_object *kids = node_children(root);

		for (size_t i = 0; kids && i < json_object_array_length(kids); i++)
			count_tree(json_object_array_get_idx(kids, i), c);
		have_counts = true;
	}
	if (have_counts) {
		fputs(": ", out);
		print_counts(out, c, o);
	}
	fputc('\n', out);
}

/*
 * Stats.  The daemon's stats object groups counters by subsystem; known
 * shapes get a readable line (latency percentiles, counters by reason) and
 * anything else is listed as "key: value", so a newer daemon's additions
 * still show.
 */

/* Prints a number with thousands separators. */
static void put_count(FILE *out, double v)
{
	char buf[64];
	int len, lead;

	if (v != (double)(int64_t)v || v < 0) {
		fprintf(out, "%.6g", v);
		return;
	}
	len = snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)v);
	lead = len % 3 ? len % 3 : 3;
	fwrite(buf, 1, (size_t)lead, out);
	for (int i = lead; i < len; i += 3) {
		fputc(',', out);
		fwrite(buf + i, 1, 3, out);
	}
}

static bool key_is_seconds(const char *key)
{
	size_t n = strlen(key);
	return (n > 8 && strcmp(key + n - 8, "_seconds") == 0) ||
	       (n > 2 && strcmp(key + n - 2, "_s") == 0);
}

static bool key_is_ms(const char *key)
{
	size_t n = strlen(key);
	return n > 3 && strcmp(key + n - 3, "_ms") == 0;
}

static bool key_is_us(const char *key)
{
	size_t n = strlen(key);
	return n > 3 && strcmp(key + n - 3, "_us") == 0;
}

/* A latency in seconds for people: "850us", "12.3ms", "1.20s". */
static void put_latency(FILE *out, double s)
{
	if (s < 0.001)
		fprintf(out, "%.0fus", s * 1e6);
	else if (s < 1.0)
		fprintf(out, "%.1fms", s * 1e3);
	else
		fprintf(out, "%.2fs", s);
}

static void put_scalar(FILE *out, const char *key, struct json_object *v)
{
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);
		if (strstr(key, "uptime") && key_is_seconds(key)) {
			char buf[OUTPUT_DURATION_BUF];
			fputs(output_duration_format((int64_t)(d * 1000), buf, sizeof(buf)), out);
		} else if (key_is_seconds(key))
			put_latency(out, d);
		else if (key_is_ms(key))
			put_latency(out, d / 1e3);
		else if (key_is_us(key))
			put_latency(out, d / 1e6);
		else
			put_count(out, d);
	} else if (json_object_is_type(v, json_type_string)) {
		put_clean(out, json_object_get_string(v), 200);
	} else {
		put_clean(out, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), 200);
	}
}

/* "Forced yields" from "forced_yields". */
static void put_title(FILE *out, const char *key)
{
	for (size_t i = 0; key[i]; i++) {
		char ch = key[i] == '_' ? ' ' : key[i];
		if (i == 0 && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		fputc((unsigned char)ch < 0x20 ? '?' : ch, out);
	}
}

static bool all_scalars(struct json_object *obj)
{
	json_object_object_foreach(obj, key, val)
	{
		(void)key;
		if (val && (json_object_is_type(val, json_type_object) ||
			    json_object_is_type(val, json_type_array)))
			return false;
	}
	return true;
}

static bool is_percentile_key(const char *key)
{
	return key[0] == 'p' && key[1] >= '0' && key[1] <= '9';
}

/* A latency summary: {count, p50, p90, p99, max...} with seconds values
 * (keys may also end in _ms/_us/_seconds). */
static bool put_latency_summary(FILE *out, struct json_object *obj)
{
	bool any = false;
	const char *sep = "";

	json_object_object_foreach(obj, k, v)
	{
		(void)v;
		if (is_percentile_key(k))
			any = true;
	}
	if (!any)
		return false;
	json_object_object_foreach(obj, key, val)
	{
		double d;
		if (!val || !(json_object_is_type(val, json_type_int) ||
			      json_object_is_type(val, json_type_double)))
			continue;
		d = json_object_get_double(val);
		fprintf(out, "%s", sep);
		put_clean(out, key, 0);
		fputc(' ', out);
		if (!strcmp(key, "count") || !strcmp(key, "n") || !strcmp(key, "total"))
			put_count(out, d);
		else if (key_is_ms(key))
			put_latency(out, d / 1e3);
		else if (key_is_us(key))
			put_latency(out, d / 1e6);
		else
			put_latency(out, d);
		sep = "  ";
	}
	return true;
}

static void stats_object(FILE *out, struct json_object *obj, int indent);

/* One "Key: value" line, or a heading and its indented members. */
static void stats_entry(FILE *out, const char *key, struct json_object *val, int indent,
			size_t key_w)
{
	pad(out, (size_t)indent);
	put_title(out, key);
	if (val && json_object_is_type(val, json_type_object)) {
		size_t n = (size_t)json_object_object_length(val);

		if (n == 0) {
			fputs(": none\n", out);
			return;
		}
		fputs(":", out);
		if (json_object_object_length(val) > 0) {
			/* Percentiles, or a few scalars, fit on the line. */
			char *line = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&line, &len);
			bool one_line = false;

			if (mem) {
				fputc(' ', mem);
				if (put_latency_summary(mem, val)) {
					one_line = true;
				} else if (all_scalars(val) && n <= 8) {
					const char *sep = "";
					json_object_object_foreach(val, k2, v2)
					{
						fputs(sep, mem);
						put_clean(mem, k2, 0);
						fputc(' ', mem);
						put_scalar(mem, k2, v2);
						sep = ", ";
					}
					one_line = true;
				}
				if (fclose(mem) == 0 && one_line) {
					fwrite(line, 1, len, out);
					fputc('\n', out);
					free(line);
					return;
				}
				free(line);
			}
		}
		fputc('\n', out);
		stats_object(out, val, indent + 2);
		return;
	}
	fputc(':', out);
	pad(out, key_w > strlen(key) ? key_w - strlen(key) + 1 : 1);
	if (val && json_object_is_type(val, json_type_array))
		put_clean(out, json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN), 300);
	else if (!val)
		fputs("-", out);
	else
		put_scalar(out, key, val);
	fputc('\n', out);
}

static void stats_object(FILE *out, struct json_object *obj, int indent)
{
	size_t key_w = 0;

	json_object_object_foreach(obj, k, v)
	{
		(void)v;
		if (strlen(k) > key_w)
			key_w = strlen(k);
	}
	if (key_w > 32)
		key_w = 32;
	json_object_object_foreach(obj, key, val) stats_entry(out, key, val, indent, key_w);
}

/*
 * Cancel latency percentiles from a Prometheus histogram.
 */

int output_histogram_parse(const char *text, const char *name, struct output_histogram *ret)
{
	size_t name_len = strlen(name);
	struct output_histogram h = {.n = 0};

	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > name_len + 12 && strncmp(line, name, name_len) == 0 &&
		    strncmp(line + name_len, "_bucket{le=\"", 12) == 0 && h.n < OUTPUT_HIST_MAX) {
			const char *le = line + name_len + 12;
			char *after;
			double bound, count;

			if (strncmp(le, "+Inf\"", 5) == 0) {
				bound = -1;
				after = (char *)le + 5;
			} else {
				bound = strtod(le, &after);
				if (after == le || *after != '"')
					goto next;
				after++;
			}
			if (*after++ != '}' || *after++ != ' ')
				goto next;
			count = strtod(after, NULL);
			h.le[h.n] = bound;
			h.cum[h.n] = count;
			h.n++;
		}
	next:
		line = end ? end + 1 : NULL;
	}
	if (h.n == 0)
		return -ENOENT;
	*ret = h;
	return 0;
}

double output_histogram_quantile(const struct output_histogram *h, double q)
{
	double total, rank, prev_le = 0, prev_cum = 0;

	if (h->n == 0)
		return -1;
	total = h->cum[h->n - 1];
	if (total <= 0)
		return -1;
	rank = q * total;
	for (size_t i = 0; i < h->n; i++) {
		if (h->cum[i] >= rank) {
			/* The +Inf bucket: the highest finite bound is all we
			 * know (as Prometheus' histogram_quantile does). */
			if (h->le[i] < 0)
				return prev_le;
			if (h->cum[i] == prev_cum)
				return h->le[i];
			return prev_le +
			       (h->le[i] - prev_le) * (rank - prev_cum) / (h->cum[i] - prev_cum);
		}
		if (h->le[i] >= 0)
			prev_le = h->le[i];
		prev_cum = h->cum[i];
	}
	return prev_le;
}

/*
 * The stats report.  Sections the daemon sends today get a layout of their
 * own; keys within them that this table does not know, and sections it
 * does not know, are listed generically after them.
 */

struct stats_field {
	const char *key;
	const char *label;
};

static bool field_known(const struct stats_field *f, const char *key)
{
	for (; f->key; f++)
		if (strcmp(f->key, key) == 0)
			return true;
	return false;
}

/* Prints label: value for each listed field present, then the rest. */
static void stats_fields(FILE *out, struct json_object *sec, const struct stats_field *fields)
{
	for (const struct stats_field *f = fields; f->key; f++) {
		struct json_object *v = output_get(sec, f->key);
		if (!v || json_object_is_type(v, json_type_object))
			continue;
		fprintf(out, "  %-22s ", f->label);
		put_scalar(out, f->key, v);
		fputc('\n', out);
	}
	json_object_object_foreach(sec, key, val)
	{
		if (field_known(fields, key) || !val)
			continue;
		fputs("  ", out);
		if (json_object_is_type(val, json_type_object)) {
			put_title(out, key);
			fputs(":\n", out);
			stats_object(out, val, 4);
			continue;
		}
		{
			size_t w = strlen(key) + 1;
			put_title(out, key);
			fputc(':', out);
			pad(out, w < 23 ? 23 - w : 1);
		}
		put_scalar(out, key, val);
		fputc('\n', out);
	}
}

static void stats_heading(FILE *out, const char *text, const struct output_opts *o)
{
	fprintf(out, "%s%s%s\n", o->color ? "\033[1m" : "", text, output_reset(o->color));
}

static const struct stats_field executor_fields[] = {
	{"workers", "Workers:"},
	{"tasks_spawned", "Tasks spawned:"},
	{"tasks_live", "Tasks live:"},
	{"run_queue_depth", "Run queue:"},
	{"steals", "Steals:"},
	{"parks", "Parks:"},
	{"blocking_spawned", "Blocking jobs:"},
	{"blocking_threads", "Blocking threads:"},
	{"blocking_threads_peak", "Blocking threads peak:"},
	{"blocking_queue_depth", "Blocking queue:"},
	{"polls", "Polls:"},
	{"forced_yields", "Forced yields:"},
	{"short_circuits", "Short-circuits:"},
	{NULL, NULL},
};

static const struct stats_field budget_fields[] = {
	{"default", "Default budget:"},
	{"forced_yields", "Forced yields:"},
	{"short_circuits", "Short-circuits:"},
	{NULL, NULL},
};

static const struct stats_field daemon_fields[] = {
	{"graphs_submitted", "Graphs submitted:"},
	{"graphs_active", "Graphs active:"},
	{"connections_active", "Connections:"},
	{"connections_accepted", "Connections accepted:"},
	{"connections_refused", "Connections refused:"},
	{"clients_dropped", "Clients dropped:"},
	{"exec_spawn_failures", "Exec spawn failures:"},
	{"orphans_reaped", "Orphans reaped:"},
	{"uptime_seconds", "Uptime:"},
	{NULL, NULL},
};

static void stats_budget(FILE *out, struct json_object *budget, struct json_object *executor,
			 const struct output_opts *o)
{
	struct json_object *polls = output_get(executor, "polls"),
			   *fy = output_get(budget, "forced_yields");

	stats_heading(out, "Cooperation budget", o);
	stats_fields(out, budget, budget_fields);
	if (polls && fy && json_object_is_type(polls, json_type_int) &&
	    json_object_is_type(fy, json_type_int) && json_object_get_int64(polls) > 0)
		fprintf(out, "  %-22s %.2f%%\n", "Polls ending in yield:",
			100.0 * (double)json_object_get_int64(fy) /
				(double)json_object_get_int64(polls));
}

static void stats_cancellation(FILE *out, struct json_object *cancel,
			       const struct output_histogram *hist, const struct output_opts *o)
{
	static const struct stats_field fields[] = {
		{"requests", ""},
		{"latency_count", "Acknowledged:"},
		{"latency_sum_seconds", ""},
		{"latency_buckets", ""},
		{NULL, NULL},
	};
	struct json_object *req = output_get(cancel, "requests");
	int64_t count = -1;
	double sum = 0;

	stats_heading(out, "Cancellation", o);
	if (req && json_object_is_type(req, json_type_object)) {
		const char *sep = "";
		int64_t total = 0;

		fprintf(out, "  %-22s ", "Requests by reason:");
		json_object_object_foreach(req, reason, n)
		{
			if (!n || !json_object_is_type(n, json_type_int))
				continue;
			fputs(sep, out);
			put_clean(out, reason, 0);
			fputc(' ', out);
			put_count(out, (double)json_object_get_int64(n));
			total += json_object_get_int64(n);
			sep = ", ";
		}
		fprintf(out, "%s(total %" PRId64 ")\n", *sep ? "  " : "", total);
	}
	if (jint(cancel, "latency_count", &count)) {
		struct json_object *sv = output_get(cancel, "latency_sum_seconds");
		fprintf(out, "  %-22s ", "Acknowledged:");
		put_count(out, (double)count);
		if (count > 0 && sv &&
		    (json_object_is_type(sv, json_type_double) ||
		     json_object_is_type(sv, json_type_int))) {
			sum = json_object_get_double(sv);
			fputs(", mean ", out);
			put_latency(out, sum / (double)count);
		}
		fputc('\n', out);
	}
	if (hist && hist->n > 0 && hist->cum[hist->n - 1] > 0) {
		static const double qs[] = {0.5, 0.9, 0.99};
		static const char *const names[] = {"p50", "p90", "p99"};

		fprintf(out, "  %-22s ", "Latency:");
		for (size_t i = 0; i < 3; i++) {
			fprintf(out, "%s%s ", i ? "  " : "", names[i]);
			put_latency(out, output_histogram_quantile(hist, qs[i]));
		}
		fputs("  (estimated from the histogram)\n", out);
	}
	json_object_object_foreach(cancel, key, val)
	{
		if (field_known(fields, key) || !val)
			continue;
		fputs("  ", out);
		put_title(out, key);
		fputs(": ", out);
		if (json_object_is_type(val, json_type_object) && put_latency_summary(out, val)) {
			fputc('\n', out);
			continue;
		}
		put_scalar(out, key, val);
		fputc('\n', out);
	}
}

/* jobs: {kind: {spawned, succeeded, failed, ...}} as a table. */
static void stats_jobs(FILE *out, struct json_object *jobs, const struct output_opts *o)
{
	const char *cols[16];
	size_t ncols = 0;

	stats_heading(out, "Jobs", o);
	/* Columns: the keys of the first kind, in its order. */
	json_object_object_foreach(jobs, kind, row)
	{
		(void)kind;
		if (!row || !json_object_is_type(row, json_type_object))
			continue;
		json_object_object_foreach(row, col, v)
		{
			(void)v;
			if (ncols < sizeof(cols) / sizeof(cols[0]))
				cols[ncols++] = col;
		}
		break;
	}
	fprintf(out, "  %-10s", "");
	for (size_t i = 0; i < ncols; i++)
		fprintf(out, " %10.10s", cols[i]);
	fputc('\n', out);
	json_object_object_foreach(jobs, kind2, row2)
	{
		if (!row2 || !json_object_is_type(row2, json_type_object))
			continue;
		fputs("  ", out);
		pad(out, 10 - put_clean(out, kind2, 10));
		for (size_t i = 0; i < ncols; i++) {
			int64_t n;
			if (jint(row2, cols[i], &n))
				fprintf(out, " %10" PRId64, n);
			else
				fprintf(out, " %10s", "-");
		}
		fputc('\n', out);
	}
}

int output_stats(FILE *out, struct json_object *stats, const struct output_histogram *hist,
		 const struct output_opts *o)
{
	struct json_object *executor, *budget, *cancel, *jobs, *daemon;
	bool first = true;

	if (!stats || !json_object_is_type(stats, json_type_object))
		return -EINVAL;
	executor = output_get(stats, "executor");
	budget = output_get(stats, "budget");
	cancel = output_get(stats, "cancellation");
	jobs = output_get(stats, "jobs");
	daemon = output_get(stats, "daemon");
	if (executor && json_object_is_type(executor, json_type_object)) {
		stats_heading(out, "Executor", o);
		stats_fields(out, executor, executor_fields);
		first = false;
	}
	if (budget && json_object_is_type(budget, json_type_object)) {
		if (!first)
			fputc('\n', out);
		stats_budget(out, budget, executor, o);
		first = false;
	}
	if (cancel && json_object_is_type(cancel, json_type_object)) {
		if (!first)
			fputc('\n', out);
		stats_cancellation(out, cancel, hist, o);
		first = false;
	}
	if (jobs && json_object_is_type(jobs, json_type_object)) {
		if (!first)
			fputc('\n', out);
		stats_jobs(out, jobs, o);
		first = false;
	}
	if (daemon && json_object_is_type(daemon, json_type_object)) {
		if (!first)
			fputc('\n', out);
		stats_heading(out, "Daemon", o);
		stats_fields(out, daemon, daemon_fields);
		first = false;
	}
	/* Sections this coopctl does not know. */
	json_object_object_foreach(stats, key, val)
	{
		if (!strcmp(key, "executor") || !strcmp(key, "budget") ||
		    !strcmp(key, "cancellation") || !strcmp(key, "jobs") ||
		    !strcmp(key, "daemon") || !val)
			continue;
		if (!first)
			fputc('\n', out);
		stats_entry(out, key, val, 0, strlen(key));
		first = false;
	}
	return 0;
}
