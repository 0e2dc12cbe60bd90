/*
 * cmd-wait.c - `coopctl wait ID [--timeout D]`, and the follower that
 * `submit --wait/--follow` and `cancel --wait` share.
 *
 * On a terminal the follower draws a progress bar from summary statuses;
 * otherwise it prints the counts once and then a plain line for every node
 * state change, from a watch subscription (so no state is skipped), or,
 * for `submit --follow`, one watch line per state change.  It never sleeps: progress comes from the
 * daemon's `wait` with a short timeout_ms, which answers as soon as the graph settles or when the
 * time is up, whichever comes first.  Once the graph has settled the outcome is printed (the final
 * status verbatim with
 * --json) and, for a graph that did not succeed and is small enough, its
 * status tree, so the failed node is on screen.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

/* Progress refresh on a terminal (plain lines follow events instead, or
 * these samples once coopd has dropped a reader too slow for its events). */
#define WAIT_BAR_INTERVAL_MS 200
#define WAIT_LINE_INTERVAL_MS 1000
/* A graph that did not succeed gets its tree printed up to this size. */
#define WAIT_TREE_MAX_NODES 200

int cmd_wait_parse(int argc, char **argv, struct cmd_wait_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_wait_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (output_duration_parse(optarg, &a.timeout_ms) < 0) {
				fprintf(err,
					"coopctl wait: invalid duration '%s' (e.g. 500ms, 5s, "
					"2m)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "wait", ch, argv);
		}
	}
	if (cmd_operands(err, "wait", argc, argv, 1, 1, "a graph id is needed") < 0)
		return -EINVAL;
	a.id = argv[optind];
	*ret = a;
	return 0;
}

static int64_t wait_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wait_wall_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *wait_state(struct json_object *status)
{
	struct json_object *v = NULL;

	if (json_object_object_get_ex(status, "state", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* One `wait` request: summary or whole, with a timeout (< 0: none).
 * Returns 0 with the status, or an exit code. */
static int wait_once(struct coopctl *c, const char *id, bool summary, int64_t timeout_ms,
		     struct json_object **ret)
{
	struct proto_wait_params p = {
		.id = id,
		.has_timeout_ms = timeout_ms >= 0,
		.timeout_ms = timeout_ms >= 0 ? timeout_ms : 0,
		.summary = summary,
	};
	struct json_object *params = NULL;

	if (proto_wait_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	return coopctl_call(c, "wait", params, ret);
}

void cmd_wait_print_event(struct coopctl *c, const char *id, struct json_object *params)
{
	struct json_object *graph = NULL;
	struct output_opts o = {.color = c->color, .utf8 = c->utf8};

	if (id && !(json_object_object_get_ex(params, "graph", &graph) &&
		    json_object_is_type(graph, json_type_string) &&
		    strcmp(json_object_get_string(graph), id) == 0))
		return;
	if (c->json)
		coopctl_print_json(c, params);
	else
		output_event_line(stdout, params, &o);
	fflush(stdout);
}

struct wait_events {
	struct coopctl *c;
	const char *id;
	/* Plain lines (FOLLOW_AUTO off a terminal): counts from the snapshot
	 * summary, moved on by every event after it. */
	bool lines;
	bool counting; /* the snapshot arrived: events from now on are news */
	struct output_counts cnt;
	int64_t start;
};

static int64_t wait_now_ms(void);

/* One plain line per node state change: "ID NODE STATE (2/4 done, 1 failed,
 * 1.20s)".  Every change is a line of its own, so no state is skipped. */
static void wait_line_event(struct wait_events *w, struct json_object *params)
{
	struct json_object *v = NULL;
	const char *node = NULL, *state = NULL;
	char dur[OUTPUT_DURATION_BUF];

	if (json_object_object_get_ex(params, "graph", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	     strcmp(json_object_get_string(v), w->id) != 0))
		return;
	if (json_object_object_get_ex(params, "node", &v) &&
	    json_object_is_type(v, json_type_string))
		node = json_object_get_string(v);
	if (json_object_object_get_ex(params, "state", &v) &&
	    json_object_is_type(v, json_type_string))
		state = json_object_get_string(v);
	/* The root's own change is the outcome, printed at the end; the
	 * counts are of the nodes below it, as in the summary. */
	if (!w->counting || !node || !*node || strcmp(node, "/") == 0 || !state)
		return;
	if (output_state_is_final(state)) {
		w->cnt.done++;
		if (!strcmp(state, "failed") || !strcmp(state, "interrupted"))
			w->cnt.failed++;
		if (!strcmp(state, "cancelled"))
			w->cnt.cancelled++;
	}
	printf("%s %s %s (%lld/%lld done", w->id, node, state, (long long)w->cnt.done,
	       (long long)w->cnt.total);
	if (w->cnt.failed)
		printf(", %lld failed", (long long)w->cnt.failed);
	if (w->cnt.cancelled)
		printf(", %lld cancelled", (long long)w->cnt.cancelled);
	printf(", %s)\n", output_duration_format(wait_now_ms() - w->start, dur, sizeof(dur)));
	fflush(stdout);
}

/* A `wait` for plain lines: like wait_once(), but a connection that coopd
 * closed is returned as -ECONNRESET without a message, so that the caller
 * can tell a watcher dropped for reading too slowly (coopd's
 * event_queue_bytes) from a daemon that went away. */
static int wait_lines_once(struct coopctl *c, const char *id, int64_t timeout_ms,
			   struct json_object **ret)
{
	struct proto_wait_params p = {
		.id = id,
		.has_timeout_ms = timeout_ms >= 0,
		.timeout_ms = timeout_ms >= 0 ? timeout_ms : 0,
		.summary = true,
	};
	struct json_object *params = NULL;
	struct client_reply rep = {0};
	int r;

	if (proto_wait_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = client_conn_call(c->conn, "wait", params, &rep);
	if (r == -ECONNRESET || r == -EPIPE) {
		client_reply_clear(&rep);
		return -ECONNRESET;
	}
	return coopctl_take_reply(c, r, &rep, ret);
}

static void wait_event_cb(const char *method, struct json_object *params, void *userdata)
{
	struct wait_events *w = userdata;

	if (strcmp(method, "event") != 0 || !params)
		return;
	if (w->lines)
		wait_line_event(w, params);
	else
		cmd_wait_print_event(w->c, w->id, params);
}

static int wait_watch(struct coopctl *c, const char *id)
{
	struct proto_watch_params p = {.id = id};
	struct json_object *params = NULL, *result = NULL;
	int r;

	if (proto_watch_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, "watch", params, &result);
	if (r == 0)
		json_object_put(result);
	return r;
}

static int terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* After the graph settled: the outcome for people. */
static void wait_report(struct coopctl *c, const char *id, struct json_object *final,
			const struct output_opts *o)
{
	struct output_counts counts;
	const char *state = wait_state(final);
	struct json_object *whole = NULL;

	output_counts_from_summary(final, &counts);
	if (counts.total <= WAIT_TREE_MAX_NODES) {
		/* Small enough to fetch whole: the tree for a graph that did
		 * not succeed, the outcome with its duration otherwise. */
		struct proto_status_params sp = {.id = id};
		struct json_object *params = NULL;
		struct client_reply rep = {0};

		/* Quietly: the outcome is known already; a coopd that has
		 * just stopped (its last answer was this graph's, cancelled by
		 * the stop) is no error here, the summary is printed instead. */
		if (proto_status_params_encode(&sp, &params) == 0 &&
		    client_conn_call(c->conn, "status", params, &rep) == 0 && rep.result) {
			whole = rep.result;
			rep.result = NULL;
			if (state && strcmp(state, "succeeded") == 0)
				output_outcome_line(stdout, whole, o);
			else if (output_status_tree(stdout, whole, o) < 0)
				output_outcome_line(stdout, final, o);
			json_object_put(whole);
			client_reply_clear(&rep);
			return;
		}
		client_reply_clear(&rep);
	}
	output_outcome_line(stdout, final, o);
}

/* On a terminal, Ctrl-C while the bar is drawn: clear the line, exit 130. */
static void wait_on_signal(int sig)
{
	(void)sig;
	client_conn_interrupted = 1;
}

int cmd_wait_follow(struct coopctl *c, const char *id, enum follow_mode mode, uint64_t timeout_ms)
{
	struct output_opts o = {.color = c->color, .utf8 = c->utf8};
	int64_t start = wait_now_ms();
	int64_t deadline = timeout_ms > 0 ? start + (int64_t)timeout_ms : -1;
	struct json_object *status = NULL;
	bool bar = !c->json && mode == FOLLOW_AUTO && c->tty;
	bool lines = !c->json && mode == FOLLOW_AUTO && !c->tty;
	bool drawn = false;
	bool whole = false;
	bool sampled = false; /* plain lines from samples, after a drop */
	struct output_counts last = {0};
	struct wait_events events = {.c = c, .id = id};
	const char *state;
	int r;

	if (mode == FOLLOW_EVENTS || mode == FOLLOW_EVENTS_SUBSCRIBED) {
		/* Events on this connection, printed while `wait` is pending. */
		client_conn_set_event_cb(c->conn, wait_event_cb, &events);
		if (mode == FOLLOW_EVENTS) {
			r = wait_watch(c, id);
			if (r != 0)
				return r;
		}
	}
	if (lines) {
		/* Subscribe first, then take the snapshot: events that arrive
		 * before the snapshot's answer are already in it (the daemon
		 * answers in order on one connection), the rest are news. */
		events.lines = true;
		events.start = start;
		client_conn_set_event_cb(c->conn, wait_event_cb, &events);
		r = wait_watch(c, id);
		if (r != 0)
			return r;
	}
	o.width = bar ? terminal_width() : 80;
	if (bar) {
		struct sigaction sa = {.sa_handler = wait_on_signal};

		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGINT, &sa, NULL);
		(void)sigaction(SIGTERM, &sa, NULL);
	}
	for (;;) {
		int64_t step = -1, now = wait_now_ms();

		if (bar)
			step = drawn ? WAIT_BAR_INTERVAL_MS : 0;
		else if (lines && sampled)
			step = WAIT_LINE_INTERVAL_MS;
		else if (lines)
			step = events.counting ? -1 : 0; /* the snapshot, then the end */
		if (deadline >= 0) {
			int64_t left = deadline > now ? deadline - now : 0;
			if (step < 0 || left < step)
				step = left;
		}
		/* --json waits for the whole final status at once unless it
		 * must stop early; everything else reads summaries. */
		whole = c->json && step < 0;
		if (lines && events.counting && !sampled) {
			r = wait_lines_once(c, id, step, &status);
			if (r == -ECONNRESET) {
				/* Dropped, or coopd is gone: a new connection
				 * tells which; then samples, without events. */
				client_conn_free(c->conn);
				c->conn = NULL;
				r = coopctl_connect(c);
				if (r != 0)
					return r;
				fflush(stdout);
				coopctl_err(
					c,
					"coopd closed the event stream (this output is read too "
					"slowly for its event_queue_bytes); %s is followed by "
					"samples from here",
					id);
				sampled = true;
				last = events.cnt;
				continue;
			}
		} else {
			r = wait_once(c, id, !whole, step, &status);
		}
		if (r != 0) {
			if (drawn)
				fputs("\r\033[K", stdout);
			return r;
		}
		state = wait_state(status);
		if (output_state_is_final(state))
			break;
		if (deadline >= 0 && wait_now_ms() >= deadline)
			break;
		if (bar || lines) {
			struct output_counts cnt;
			output_counts_from_summary(status, &cnt);
			if (bar) {
				output_progress_bar(stdout, id, &cnt, wait_now_ms() - start, &o);
				drawn = true;
			} else if (!events.counting ||
				   (sampled && memcmp(&cnt, &last, sizeof(cnt)) != 0)) {
				char dur[OUTPUT_DURATION_BUF];
				printf("%s %s: %lld/%lld nodes done, %lld running, %lld failed "
				       "(%s)\n",
				       id, state ? state : "-", (long long)cnt.done,
				       (long long)cnt.total, (long long)cnt.running,
				       (long long)cnt.failed,
				       output_duration_format(wait_now_ms() - start, dur,
							      sizeof(dur)));
				fflush(stdout);
				events.cnt = cnt;
				events.counting = true;
				last = cnt;
			}
		}
		json_object_put(status);
		status = NULL;
	}
	client_conn_set_event_cb(c->conn, NULL, NULL);
	if (drawn)
		fputs("\r\033[K", stdout);
	o.now_ms = wait_wall_ms();
	if (!output_state_is_final(state)) {
		char dur[OUTPUT_DURATION_BUF];

		if (c->json) {
			/* The status as it stands, whole. */
			struct proto_status_params sp = {.id = id};
			struct json_object *params = NULL, *now = NULL;

			if (!whole && proto_status_params_encode(&sp, &params) == 0 &&
			    coopctl_call(c, "status", params, &now) == 0) {
				json_object_put(status);
				status = now;
				state = wait_state(status);
			}
			coopctl_print_json(c, status);
			if (output_state_is_final(state)) {
				/* It settled in between. */
				r = output_exit_for_state(state);
				json_object_put(status);
				return r;
			}
		} else {
			output_outcome_line(stdout, status, &o);
		}
		coopctl_err(c, "%s still %s after %s", id, state ? state : "unsettled",
			    output_duration_format((int64_t)timeout_ms, dur, sizeof(dur)));
		json_object_put(status);
		return COOPCTL_EXIT_FAILED;
	}
	if (c->json) {
		/* The final status verbatim and whole: fetch it if the loop
		 * read summaries. */
		if (!whole) {
			json_object_put(status);
			status = NULL;
			r = wait_once(c, id, false, -1, &status);
			if (r != 0)
				return r;
		}
		coopctl_print_json(c, status);
		r = output_exit_for_state(wait_state(status));
		json_object_put(status);
		return r;
	}
	wait_report(c, id, status, &o);
	r = output_exit_for_state(state);
	json_object_put(status);
	return r;
}

static int cmd_wait_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_wait_args a;
	int r;

	r = coopctl_parsed(&cmd_wait_entry, cmd_wait_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	r = coopctl_connect(c);
	if (r != 0)
		return r;
	return cmd_wait_follow(c, a.id, FOLLOW_AUTO, a.timeout_ms);
}

const struct cmd_entry cmd_wait_entry = {
	.name = "wait",
	.usage = "ID [--timeout D]",
	.summary = "wait until a graph settles (a progress bar on a terminal)",
	.exec = cmd_wait_exec,
};
