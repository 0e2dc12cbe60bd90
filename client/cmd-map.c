/*
 * cmd-map.c - `coopctl map [-j N] [--name N] [--timeout D] [-0] -- CMD
 * [ARG...] ::: ITEM...`: GNU parallel's everyday fan-out, without writing
 * a graph.
 *
 * One graph (policy all_settled, max_parallel N) with one exec node per
 * item, ids "1", "2", ... in item order.  In CMD's arguments {} becomes the
 * item, {.} the item without its extension, {/} its base name, {//} its
 * directory and {/.} its base name without extension; without any of them
 * the item is appended as the last argument (as parallel does).  No shell
 * is involved, so an item with spaces, quotes or `*` stays one argument, as
 * written.  Without `:::` the items are the lines of standard input (with
 * -0, NUL-terminated strings).
 *
 * Jobs are followed through a watch subscription: each job's output (its
 * stdout to stdout, its stderr to stderr) is printed whole, never
 * interleaved with another's, as soon as the job has settled, in the order
 * jobs finish; a job that failed gets one line on stderr saying how.  A
 * progress bar is drawn on standard error when it is a terminal.  Exit
 * status 0 when every job succeeded, 1 when any failed or was cancelled.
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP cancels the graph (reason client) and
 * still prints what the jobs that ran wrote; a second one stops waiting.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "client-interrupt.h"
#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

/* How long the follower waits for events before redrawing the bar and
 * checking for Ctrl-C (a poll on the socket, not a sleep). */
#define MAP_TICK_MS 200

/* One item and what became of its job. */
struct map_job {
	const char *item;
	bool running;
	bool settled;
	bool printed;
	char state[16];
	int exit_code; /* -1: none */
	int signal;    /* 0: none */
	char *error;
};

struct map_run {
	struct coopctl *c;
	const char *id;
	struct map_job *jobs;
	size_t n;
	size_t *queue; /* settled, not yet printed (each job once) */
	size_t queued;
	bool settled;
	struct output_counts cnt;
};

int cmd_map_parse(int argc, char **argv, struct cmd_map_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"jobs", required_argument, NULL, 'j'},    {"name", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'}, {"null", no_argument, NULL, '0'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	struct cmd_map_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	/* '+': the command's options are not ours, even without "--". */
	while ((ch = getopt_long(argc, argv, "+:j:n:t:0h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > CMD_MAP_MAX_JOBS) {
				fprintf(err,
					"coopctl map: -j takes a number of jobs from 1 to %d, not "
					"'%s'\n",
					CMD_MAP_MAX_JOBS, optarg);
				return -EINVAL;
			}
			a.jobs = (int)v;
			break;
		}
		case 'n':
			if (!*optarg) {
				fprintf(err, "coopctl map: --name needs a non-empty name\n");
				return -EINVAL;
			}
			a.name = optarg;
			break;
		case 't':
			if (output_duration_parse(optarg, &a.timeout_ms) < 0) {
				fprintf(err,
					"coopctl map: invalid duration '%s' (e.g. 500ms, 5s, 2m)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case '0':
			a.null = true;
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "map", ch, argv);
		}
	}
	a.argv = argv + optind;
	for (a.argc = 0; optind + a.argc < argc && strcmp(argv[optind + a.argc], ":::") != 0;
	     a.argc++)
		;
	if (a.argc == 0 || !*a.argv[0]) {
		fprintf(err, "coopctl map: a command is needed: map [-j N] -- CMD [ARG...] ::: "
			     "ITEM...\n");
		return -EINVAL;
	}
	if (optind + a.argc < argc) {
		a.has_items = true;
		a.items = argv + optind + a.argc + 1;
		a.n_items = argc - optind - a.argc - 1;
		if (a.null) {
			fprintf(err, "coopctl map: -0 reads items from standard input; it does "
				     "not go with :::\n");
			return -EINVAL;
		}
	}
	*ret = a;
	return 0;
}

/* The part of item a placeholder stands for, into *ret (malloc()ed). */
static char *map_part(const char *item, const char *ph)
{
	const char *slash = strrchr(item, '/'), *base = slash ? slash + 1 : item, *dot;

	if (strcmp(ph, "{}") == 0)
		return strdup(item);
	if (strcmp(ph, "{/}") == 0)
		return strdup(base);
	if (strcmp(ph, "{//}") == 0)
		return slash ? strndup(item, slash == item ? 1 : (size_t)(slash - item))
			     : strdup(".");
	/* {.} and {/.}: without the extension of the base name (a leading
	 * dot, as in ".bashrc", is not one). */
	dot = strrchr(base, '.');
	if (dot == base)
		dot = NULL;
	if (strcmp(ph, "{.}") == 0)
		return dot ? strndup(item, (size_t)(dot - item)) : strdup(item);
	return dot ? strndup(base, (size_t)(dot - base)) : strdup(base);
}

static const char *const map_placeholders[] = {"{}", "{.}", "{/}", "{//}", "{/.}", NULL};

/* The placeholder at s, or NULL. */
static const char *map_placeholder_at(const char *s)
{
	for (size_t i = 0; map_placeholders[i]; i++)
		if (strncmp(s, map_placeholders[i], strlen(map_placeholders[i])) == 0)
			return map_placeholders[i];
	return NULL;
}

int cmd_map_has_placeholder(char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		for (const char *p = argv[i]; *p; p++)
			if (map_placeholder_at(p))
				return 1;
	return 0;
}

char *cmd_map_substitute(const char *arg, const char *item)
{
	size_t cap = strlen(arg) + 1, len = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (const char *p = arg; *p;) {
		const char *ph = map_placeholder_at(p);
		const char *piece = p;
		char *part = NULL;
		size_t plen = 1;

		if (ph) {
			part = map_part(item, ph);
			if (!part) {
				free(out);
				return NULL;
			}
			piece = part;
			plen = strlen(part);
			p += strlen(ph);
		} else {
			p++;
		}
		if (len + plen + 1 > cap) {
			char *bigger;

			cap = (len + plen + 1) * 2;
			bigger = realloc(out, cap);
			if (!bigger) {
				free(part);
				free(out);
				return NULL;
			}
			out = bigger;
		}
		memcpy(out + len, piece, plen);
		len += plen;
		free(part);
	}
	out[len] = '\0';
	return out;
}

/* One exec node for item number i (0-based). */
static struct json_object *map_node(const struct cmd_map_args *a, const char *item, size_t i,
				    const char *cwd, bool append)
{
	struct json_object *node = json_object_new_object(), *argv = json_object_new_array();
	char id[24];

	if (!node || !argv)
		goto fail;
	snprintf(id, sizeof(id), "%zu", i + 1);
	if (proto_json_add(node, "id", json_object_new_string(id)) < 0 ||
	    proto_json_add(node, "kind", json_object_new_string("exec")) < 0)
		goto fail;
	for (int k = 0; k < a->argc + (append ? 1 : 0); k++) {
		char *s = k < a->argc ? cmd_map_substitute(a->argv[k], item) : strdup(item);
		struct json_object *js = s ? json_object_new_string(s) : NULL;

		free(s);
		if (proto_json_append(argv, js) < 0)
			goto fail;
	}
	if (proto_json_add(node, "argv", argv) < 0) {
		argv = NULL;
		goto fail;
	}
	argv = NULL;
	if (cwd && proto_json_add(node, "cwd", json_object_new_string(cwd)) < 0)
		goto fail;
	if (a->timeout_ms > 0 &&
	    proto_json_add(node, "timeout_ms", json_object_new_int64((int64_t)a->timeout_ms)) < 0)
		goto fail;
	return node;
fail:
	json_object_put(argv);
	json_object_put(node);
	return NULL;
}

int cmd_map_graph(const struct cmd_map_args *a, const char *const *items, size_t n, const char *cwd,
		  struct json_object **ret)
{
	struct json_object *graph = json_object_new_object(), *nodes = json_object_new_array();
	bool append = !cmd_map_has_placeholder(a->argv, a->argc);
	char name[256];
	int r = -ENOMEM;

	if (!graph || !nodes)
		goto out;
	if (a->name) {
		snprintf(name, sizeof(name), "%s", a->name);
	} else {
		char *copy = strdup(a->argv[0]);

		if (!copy)
			goto out;
		snprintf(name, sizeof(name), "map %s", basename(copy));
		free(copy);
	}
	if (proto_json_add(graph, "name", json_object_new_string(name)) < 0 ||
	    proto_json_add(graph, "policy", json_object_new_string("all_settled")) < 0 ||
	    proto_json_add(graph, "max_parallel", json_object_new_int(a->jobs)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (proto_json_append(nodes, map_node(a, items[i], i, cwd, append)) < 0)
			goto out;
	}
	if (proto_json_add(graph, "nodes", nodes) < 0) {
		nodes = NULL;
		goto out;
	}
	nodes = NULL;
	*ret = graph;
	graph = NULL;
	r = 0;
out:
	json_object_put(nodes);
	json_object_put(graph);
	return r;
}

int cmd_map_split(char *text, size_t len, char sep, char ***ret_items, size_t *ret_n)
{
	size_t n = 0, cap = 0;
	char **items = NULL;

	for (size_t start = 0; start < len;) {
		char *end = memchr(text + start, sep, len - start);
		size_t stop = end ? (size_t)(end - text) : len;

		if (n >= CMD_MAP_MAX_ITEMS) {
			free(items);
			return -E2BIG;
		}
		if (n == cap) {
			char **bigger;

			cap = cap ? cap * 2 : 64;
			bigger = realloc(items, cap * sizeof(*items));
			if (!bigger) {
				free(items);
				return -ENOMEM;
			}
			items = bigger;
		}
		text[stop] = '\0';
		if (memchr(text + start, '\0', stop - start) != NULL) {
			/* Only -0 input may hold NULs, and there they end items. */
			free(items);
			return -EINVAL;
		}
		items[n++] = text + start;
		start = stop + 1;
	}
	*ret_items = items;
	*ret_n = n;
	return 0;
}

/* Reads standard input whole, at most max bytes. */
static int map_read_stdin(size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t got;

		if (len == cap) {
			char *bigger;

			if (cap >= max) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max ? max : cap * 2;
			bigger = realloc(buf, cap + 1);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
		}
		got = read(STDIN_FILENO, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The job a node path names ("17" -> jobs[16]), or NULL. */
static struct map_job *map_job_of(struct map_run *m, const char *path, size_t *ret_i)
{
	char *end;
	unsigned long v;

	if (!path || *path < '1' || *path > '9')
		return NULL;
	errno = 0;
	v = strtoul(path, &end, 10);
	if (errno || *end || v < 1 || v > m->n)
		return NULL;
	*ret_i = v - 1;
	return &m->jobs[v - 1];
}

/* A node's new state, from an event or a status snapshot. */
static void map_note(struct map_run *m, struct json_object *node, const char *path)
{
	const char *state = output_str(node, "state");
	struct json_object *v = NULL;
	struct map_job *j;
	size_t i;

	if (!state)
		return;
	if (path && (!*path || strcmp(path, "/") == 0)) {
		if (output_state_is_final(state))
			m->settled = true;
		return;
	}
	j = map_job_of(m, path, &i);
	if (!j || j->settled)
		return;
	if (!output_state_is_final(state)) {
		if (!j->running &&
		    (strcmp(state, "running") == 0 || strcmp(state, "cancelling") == 0)) {
			j->running = true;
			m->cnt.running++;
		}
		return;
	}
	j->settled = true;
	snprintf(j->state, sizeof(j->state), "%s", state);
	if (json_object_object_get_ex(node, "exit_code", &v) &&
	    json_object_is_type(v, json_type_int))
		j->exit_code = (int)json_object_get_int64(v);
	if (json_object_object_get_ex(node, "signal", &v) && json_object_is_type(v, json_type_int))
		j->signal = (int)json_object_get_int64(v);
	if (output_str(node, "error"))
		j->error = strdup(output_str(node, "error"));
	if (j->running)
		m->cnt.running--;
	m->cnt.done++;
	if (strcmp(state, "failed") == 0 || strcmp(state, "interrupted") == 0)
		m->cnt.failed++;
	else if (strcmp(state, "cancelled") == 0 || strcmp(state, "skipped") == 0)
		m->cnt.cancelled++;
	m->queue[m->queued++] = i;
}

static void map_event_cb(const char *method, struct json_object *params, void *userdata)
{
	struct map_run *m = userdata;
	const char *graph = output_str(params, "graph");

	if (strcmp(method, "event") != 0 || !graph || strcmp(graph, m->id) != 0)
		return;
	map_note(m, params, output_str(params, "node"));
}

/* The nodes of a whole status, as events (after subscribing: whatever
 * settled before the subscription is caught here; duplicates are ignored). */
static void map_note_status(struct map_run *m, struct json_object *status)
{
	struct json_object *root = NULL, *nodes = NULL;

	if (!json_object_object_get_ex(status, "root", &root))
		return;
	if (json_object_object_get_ex(root, "nodes", &nodes) &&
	    json_object_is_type(nodes, json_type_array))
		for (size_t i = 0; i < json_object_array_length(nodes); i++) {
			struct json_object *node = json_object_array_get_idx(nodes, i);
			map_note(m, node, output_str(node, "id"));
		}
	map_note(m, root, "/");
}

/* Copies one stream of a settled job to out, from its start to its end. */
static int map_copy_log(struct coopctl *c, const char *id, const char *node, bool err_stream,
			FILE *out)
{
	int64_t offset = 0;

	for (;;) {
		struct proto_logs_params p = {
			.id = id,
			.node = node,
			.stream = err_stream ? PROTO_STREAM_STDERR : PROTO_STREAM_STDOUT,
			.offset = offset,
		};
		struct json_object *result = NULL;
		struct proto_logs_result lr;
		bool eof;
		int r;

		r = cmd_logs_fetch(c, &p, &lr, &result);
		if (r != 0)
			return r;
		if (lr.data_len > 0)
			(void)fwrite(lr.data, 1, lr.data_len, out);
		eof = lr.eof || lr.next_offset <= offset;
		offset = lr.next_offset;
		json_object_put(result);
		if (eof)
			return 0;
	}
}

/* "exit 3", "killed by SIGKILL", the error text, or the state. */
static void map_how(const struct map_job *j, char *buf, size_t size)
{
	if (j->exit_code > 0)
		snprintf(buf, size, "exit %d", j->exit_code);
	else if (j->signal > 0)
		snprintf(buf, size, "killed by SIG%s",
			 sigabbrev_np(j->signal) ? sigabbrev_np(j->signal) : "?");
	else if (j->error)
		snprintf(buf, size, "%s", j->error);
	else
		snprintf(buf, size, "%s", j->state);
}

/* Prints one settled job: its output grouped, and how it failed. */
static int map_print_job(struct map_run *m, size_t i)
{
	struct map_job *j = &m->jobs[i];
	char node[24], how[512];
	int r;

	snprintf(node, sizeof(node), "%zu", i + 1);
	j->printed = true;
	if (m->c->json) {
		/* One JSON line per job; the output stays with the daemon
		 * (coopctl logs ID N). */
		struct json_object *o = json_object_new_object();

		if (!o)
			return COOPCTL_EXIT_FAILED;
		(void)proto_json_add(o, "node", json_object_new_string(node));
		(void)proto_json_add(o, "item", json_object_new_string(j->item));
		(void)proto_json_add(o, "state", json_object_new_string(j->state));
		/* exit_code only when the job exited (proto_json_add() adds nothing
		 * for NULL): a job killed or never started has none. */
		(void)proto_json_add(o, "exit_code",
				     j->exit_code >= 0 ? json_object_new_int(j->exit_code) : NULL);
		if (j->signal > 0)
			(void)proto_json_add(o, "signal", json_object_new_int(j->signal));
		if (j->error)
			(void)proto_json_add(o, "error", json_object_new_string(j->error));
		coopctl_print_json(m->c, o);
		json_object_put(o);
		return 0;
	}
	/* A job cancelled before it started wrote nothing. */
	if (j->running || strcmp(j->state, "cancelled") != 0) {
		r = map_copy_log(m->c, m->id, node, false, stdout);
		fflush(stdout);
		if (r == 0)
			r = map_copy_log(m->c, m->id, node, true, stderr);
		fflush(stderr);
		if (r != 0)
			return r;
	}
	if (strcmp(j->state, "succeeded") != 0 && strcmp(j->state, "cancelled") != 0) {
		map_how(j, how, sizeof(how));
		coopctl_err(m->c, "job %s failed (%s): %s", node, how, j->item);
	}
	return 0;
}

static int map_stderr_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static int64_t map_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Subscribes to the graph's events, then reads its status: what settled
 * before the subscription is in the snapshot, the rest comes as events. */
static int map_subscribe(struct map_run *m)
{
	struct coopctl *c = m->c;
	struct proto_watch_params wp = {.id = m->id};
	struct proto_status_params sp = {.id = m->id};
	struct json_object *params = NULL, *result = NULL;
	int r;

	client_conn_set_event_cb(c->conn, map_event_cb, m);
	if (proto_watch_params_encode(&wp, &params) < 0)
		return COOPCTL_EXIT_FAILED;
	r = coopctl_call(c, "watch", params, &result);
	if (r != 0)
		return r;
	json_object_put(result);
	if (proto_status_params_encode(&sp, &params) < 0)
		return COOPCTL_EXIT_FAILED;
	r = coopctl_call(c, "status", params, &result);
	if (r != 0)
		return r;
	map_note_status(m, result);
	json_object_put(result);
	return 0;
}

/* Follows the graph until it settled and every job is printed. */
static int map_follow(struct map_run *m, bool bar)
{
	struct coopctl *c = m->c;
	struct output_opts o = {.color = false, .utf8 = c->utf8, .width = map_stderr_width()};
	struct proto_status_params sp = {.id = m->id};
	struct json_object *params = NULL, *result = NULL;
	int64_t start = map_now_ms();
	bool cancelled = false, drawn = false;
	int r;

	o.color = isatty(STDERR_FILENO) == 1 && !getenv("NO_COLOR");
	for (;;) {
		if (m->queued > 0 && drawn) {
			fputs("\r\033[K", stderr);
			drawn = false;
		}
		/* Print what settled; printing may deliver more events, which
		 * join the queue behind. */
		for (size_t k = 0; k < m->queued; k++) {
			r = map_print_job(m, m->queue[k]);
			if (r != 0 && !client_interrupts)
				return r;
		}
		m->queued = 0;
		if (client_interrupts >= 2) {
			if (drawn)
				fputs("\r\033[K", stderr);
			return 130;
		}
		if (client_interrupts && !cancelled) {
			if (drawn) {
				fputs("\r\033[K", stderr);
				drawn = false;
			}
			client_interrupt_cancel(c, m->id);
			cancelled = true;
		}
		if (m->settled)
			break;
		if (bar) {
			output_progress_bar(stderr, m->id, &m->cnt, map_now_ms() - start, &o);
			drawn = true;
		}
		r = client_conn_pump_some(c->conn, MAP_TICK_MS);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			if (drawn)
				fputs("\r\033[K", stderr);
			return coopctl_take_reply(c, r, &(struct client_reply){0}, &result);
		}
	}
	if (drawn)
		fputs("\r\033[K", stderr);
	client_conn_set_event_cb(c->conn, NULL, NULL);
	/* Whatever an event did not report (it cannot be lost on a live
	 * connection, but the snapshot is cheap insurance for the exit
	 * status): settle it from the final status. */
	if (m->cnt.done < (int64_t)m->n) {
		if (proto_status_params_encode(&sp, &params) < 0)
			return COOPCTL_EXIT_FAILED;
		r = coopctl_call(c, "status", params, &result);
		if (r != 0)
			return r;
		map_note_status(m, result);
		json_object_put(result);
		for (size_t k = 0; k < m->queued; k++) {
			r = map_print_job(m, m->queue[k]);
			if (r != 0)
				return r;
		}
		m->queued = 0;
	}
	return 0;
}

static int cmd_map_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_map_args a;
	struct json_object *graph = NULL, *params = NULL, *result = NULL;
	struct proto_submit_params sp;
	struct proto_submit_result sres;
	struct proto_error perr;
	sigset_t old_mask;
	bool blocked = false;
	struct map_run m = {.c = c};
	char **items = NULL, *input = NULL, *cwd = NULL, *id = NULL;
	size_t n = 0, len = 0;
	int r;

	r = coopctl_parsed(&cmd_map_entry, cmd_map_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	if (a.jobs == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		a.jobs = cpus > 0 && cpus < CMD_MAP_MAX_JOBS ? (int)cpus : 1;
	}
	if (a.has_items) {
		if ((size_t)a.n_items > CMD_MAP_MAX_ITEMS) {
			coopctl_err(c, "too many items (at most %d)", CMD_MAP_MAX_ITEMS);
			return COOPCTL_EXIT_USAGE;
		}
		items = malloc(sizeof(*items) * (size_t)(a.n_items ? a.n_items : 1));
		if (!items) {
			coopctl_err(c, "%s", strerror(ENOMEM));
			return COOPCTL_EXIT_FAILED;
		}
		for (int i = 0; i < a.n_items; i++)
			items[i] = a.items[i];
		n = (size_t)a.n_items;
	} else {
		r = map_read_stdin(CLIENT_MAX_LINE / 4, &input, &len);
		if (r == 0)
			r = cmd_map_split(input, len, a.null ? '\0' : '\n', &items, &n);
		if (r < 0) {
			coopctl_err(c, "standard input: %s",
				    r == -EFBIG   ? "too large"
				    : r == -E2BIG ? "too many items"
				    : r == -EINVAL
					    ? "a NUL byte in a line (use -0 for NUL-separated "
					      "items)"
					    : strerror(-r));
			free(input);
			return r == -ENOMEM ? COOPCTL_EXIT_FAILED : COOPCTL_EXIT_USAGE;
		}
	}
	if (n == 0) {
		/* Nothing to run is not a failure (as with parallel and xargs). */
		free(items);
		free(input);
		return COOPCTL_EXIT_OK;
	}
	cwd = getcwd(NULL, 0);
	r = cmd_map_graph(&a, (const char *const *)items, n, cwd, &graph);
	free(cwd);
	if (r == 0) {
		sp.graph = graph;
		r = proto_submit_params_encode(&sp, &params);
		json_object_put(graph);
	}
	if (r < 0) {
		coopctl_err(c, "%s", strerror(-r));
		r = COOPCTL_EXIT_FAILED;
		goto out;
	}
	/* Blocked until the graph is subscribed to: a Ctrl-C meanwhile
	 * cancels it then (client-interrupt.c). */
	client_interrupt_install(&old_mask);
	blocked = true;
	r = coopctl_call(c, "submit", params, &result);
	if (r != 0)
		goto out;
	proto_error_clear(&perr);
	if (proto_submit_result_decode(result, &sres, &perr) < 0 || !(id = strdup(sres.id))) {
		coopctl_err(c, "unexpected submit answer: %s", perr.reason);
		json_object_put(result);
		r = COOPCTL_EXIT_FAILED;
		goto out;
	}
	json_object_put(result);

	m.id = id;
	m.n = n;
	m.cnt.total = (int64_t)n;
	m.jobs = calloc(n, sizeof(*m.jobs));
	m.queue = calloc(n, sizeof(*m.queue));
	if (!m.jobs || !m.queue) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		r = COOPCTL_EXIT_FAILED;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		m.jobs[i].item = items[i];
		m.jobs[i].exit_code = -1;
	}
	r = map_subscribe(&m);
	if (r != 0)
		goto out;
	client_interrupt_unblock(&old_mask);
	blocked = false;
	r = map_follow(&m, !c->json && isatty(STDERR_FILENO) == 1);
	if (r == 0) {
		if (m.cnt.failed > 0 || m.cnt.cancelled > 0) {
			coopctl_err(c, "%s: %lld of %zu jobs failed, %lld cancelled or skipped", id,
				    (long long)m.cnt.failed, n, (long long)m.cnt.cancelled);
			r = COOPCTL_EXIT_FAILED;
		}
	}
out:
	if (blocked)
		client_interrupt_unblock(&old_mask);
	for (size_t i = 0; m.jobs && i < n; i++)
		free(m.jobs[i].error);
	free(m.jobs);
	free(m.queue);
	free(id);
	free(items);
	free(input);
	return r;
}

const struct cmd_entry cmd_map_entry = {
	.name = "map",
	.usage = "[-j N] [--name N] [--timeout D] [-0] -- CMD [ARG...] [::: ITEM...]",
	.summary = "run CMD once per item ({} in ARGs; items from stdin without :::), "
		   "N at once",
	.exec = cmd_map_exec,
};
