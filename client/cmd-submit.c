/*
 * cmd-submit.c - `coopctl submit FILE|- [--wait] [--follow]`.
 *
 * Reads a job graph (coopd.graph(5)) from a file or standard input, checks
 * locally only that it is one well-formed JSON document (so a typo gets a
 * line and column instead of a daemon parse error), and sends the text as
 * written: validation is the daemon's, whose error names the path into the
 * document and the reason.  Prints the new graph's id; with --wait follows
 * it to the end like `wait`, with --follow prints every state change.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "coopctl.h"
#include "proto-rpc.h"

/* JSON nesting coopctl accepts before handing a document over: far above
 * the daemon's default (PROTO_DEFAULT_MAX_JSON_DEPTH), so the daemon's own
 * limit and error apply, yet bounded for json-c's recursive printer. */
#define SUBMIT_MAX_DEPTH 4096

int cmd_submit_parse(int argc, char **argv, struct cmd_submit_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"wait", no_argument, NULL, 'w'},
		{"follow", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_submit_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":wfh", opts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			a.wait = true;
			break;
		case 'f':
			a.follow = true;
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "submit", ch, argv);
		}
	}
	if (cmd_operands(err, "submit", argc, argv, 1, 1,
			 "a graph file (or - for standard input) is needed") < 0)
		return -EINVAL;
	a.file = argv[optind];
	*ret = a;
	return 0;
}

/* Reads all of fd, at most max bytes.  Returns 0, -EFBIG or a negative
 * errno. */
static int submit_read_all(int fd, size_t max, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;
			if (cap >= max) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Line and column (1-based) of byte offset off. */
static void submit_position(const char *text, size_t off, int *ret_line, int *ret_col)
{
	int line = 1, col = 1;

	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}

/* Checks that text is exactly one JSON value (whitespace around it
 * allowed).  Prints the problem and returns false otherwise. */
static bool submit_check_json(const struct coopctl *c, const char *name, const char *text,
			      size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(SUBMIT_MAX_DEPTH);
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;
	int line, col;

	if (!tok) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return false;
	}
	if (len > INT32_MAX) {
		json_tokener_free(tok);
		coopctl_err(c, "%s: too large", name);
		return false;
	}
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (obj)
		json_object_put(obj);
	if (!obj && jerr == json_tokener_continue) {
		submit_position(text, len, &line, &col);
		coopctl_err(c, "%s: line %d, column %d: unexpected end of the document", name, line,
			    col);
		return false;
	}
	if (!obj && jerr != json_tokener_success) {
		submit_position(text, end, &line, &col);
		coopctl_err(c, "%s: line %d, column %d: %s", name, line, col,
			    json_tokener_error_desc(jerr));
		return false;
	}
	if (!obj && len == 0) {
		coopctl_err(c, "%s: empty document", name);
		return false;
	}
	for (size_t i = end; i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
			submit_position(text, i, &line, &col);
			coopctl_err(c, "%s: line %d, column %d: text after the graph document",
				    name, line, col);
			return false;
		}
	}
	if (memchr(text, '\0', len)) {
		coopctl_err(c, "%s: contains a NUL byte", name);
		return false;
	}
	return true;
}

/* Reads and sends the graph; returns 0 with the new id in *ret_id, or an
 * exit code. */
static int submit_send(struct coopctl *c, const char *file, char **ret_id)
{
	const char *name = strcmp(file, "-") == 0 ? "standard input" : file;
	struct client_reply rep = {0};
	struct json_object *result = NULL;
	struct proto_submit_result sr;
	struct proto_error perr;
	char *text = NULL, *params = NULL;
	size_t len = 0;
	int64_t id;
	int fd, r;

	if (strcmp(file, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			coopctl_err(c, "%s: %s", file, strerror(errno));
			return COOPCTL_EXIT_USAGE;
		}
	}
	r = submit_read_all(fd, CLIENT_MAX_LINE - 256, &text, &len);
	if (fd != STDIN_FILENO)
		(void)close(fd);
	if (r < 0) {
		/* A directory is a wrong argument, like a missing file: usage. */
		coopctl_err(c, "%s: %s", name,
			    r == -EFBIG    ? "too large"
			    : r == -EISDIR ? "is a directory, not a graph file"
					   : strerror(-r));
		return r == -EFBIG || r == -EISDIR ? COOPCTL_EXIT_USAGE : COOPCTL_EXIT_FAILED;
	}
	if (!submit_check_json(c, name, text, len)) {
		free(text);
		return COOPCTL_EXIT_USAGE;
	}
	r = coopctl_connect(c);
	if (r != 0) {
		free(text);
		return r;
	}
	/* {"graph": TEXT} around the document as written. */
	params = malloc(len + 16);
	if (!params) {
		free(text);
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	memcpy(params, "{\"graph\":", 9);
	memcpy(params + 9, text, len);
	params[9 + len] = '}';
	free(text);
	r = client_conn_send_text(c->conn, "submit", params, len + 10, &id);
	free(params);
	if (r == 0)
		r = client_conn_wait_reply(c->conn, id, -1, &rep);
	r = coopctl_take_reply(c, r, &rep, &result);
	if (r != 0)
		return r;
	if (proto_submit_result_decode(result, &sr, &perr) < 0 || !(*ret_id = strdup(sr.id))) {
		coopctl_err(c, "unexpected answer from coopd: %s", perr.reason);
		json_object_put(result);
		return COOPCTL_EXIT_FAILED;
	}
	if (c->json)
		coopctl_print_json(c, result);
	else
		printf("%s\n", *ret_id);
	fflush(stdout);
	json_object_put(result);
	return 0;
}

/* Events that arrive before the submit answer says which graph is ours.
 * Bounded: beyond SUBMIT_EARLY_MAX the oldest are the ones kept (the
 * graph's first events come first). */
#define SUBMIT_EARLY_MAX 4096
struct submit_early {
	struct json_object *events[SUBMIT_EARLY_MAX];
	size_t n;
};

static void submit_early_cb(const char *method, struct json_object *params, void *userdata)
{
	struct submit_early *e = userdata;

	if (strcmp(method, "event") != 0 || !params || e->n >= SUBMIT_EARLY_MAX)
		return;
	e->events[e->n++] = json_object_get(params);
}

/* --follow: watch everything before submitting, so the graph's first
 * events are not missed, and keep them until its id is known. */
static int submit_subscribe(struct coopctl *c, struct submit_early *early)
{
	struct proto_watch_params p = {.id = NULL};
	struct json_object *params = NULL, *result = NULL;
	int r;

	r = coopctl_connect(c);
	if (r != 0)
		return r;
	if (proto_watch_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	client_conn_set_event_cb(c->conn, submit_early_cb, early);
	r = coopctl_call(c, "watch", params, &result);
	if (r == 0)
		json_object_put(result);
	return r;
}

static int cmd_submit_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_submit_args a;
	struct submit_early *early = NULL;
	char *id = NULL;
	int r;

	r = coopctl_parsed(&cmd_submit_entry, cmd_submit_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	if (a.follow) {
		early = calloc(1, sizeof(*early));
		if (!early) {
			coopctl_err(c, "%s", strerror(ENOMEM));
			return COOPCTL_EXIT_FAILED;
		}
		r = submit_subscribe(c, early);
		if (r != 0)
			goto out;
	}
	r = submit_send(c, a.file, &id);
	if (early) {
		client_conn_set_event_cb(c->conn, NULL, NULL);
		for (size_t i = 0; i < early->n; i++) {
			if (r == 0)
				cmd_wait_print_event(c, id, early->events[i]);
			json_object_put(early->events[i]);
		}
	}
	if (r != 0)
		goto out;
	if (a.follow)
		r = cmd_wait_follow(c, id, FOLLOW_EVENTS_SUBSCRIBED, 0);
	else if (a.wait)
		r = cmd_wait_follow(c, id, FOLLOW_AUTO, 0);
out:
	free(early);
	free(id);
	return r;
}

const struct cmd_entry cmd_submit_entry = {
	.name = "submit",
	.usage = "FILE|- [--wait] [--follow]",
	.summary = "submit a job graph; print its id (and follow it)",
	.exec = cmd_submit_exec,
};
