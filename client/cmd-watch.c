/*
 * cmd-watch.c - `coopctl watch [ID]`.
 *
 * Subscribes to the daemon's events (one per state change of any node of
 * the graph, or of every graph the user may see) and prints one line per
 * event: time, graph, node path, new state and any details the event
 * carries.  With --json each event's params are printed as one line of
 * JSON (NDJSON).  Watching one graph ends when its root scope settles
 * (exit 0), or with exit 3 if the daemon goes away first; watching
 * everything ends when the daemon closes the connection (exit 0) or on
 * Ctrl-C.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

int cmd_watch_parse(int argc, char **argv, struct cmd_watch_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_watch_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'h')
			return 1;
		return cmd_opt_error(err, "watch", ch, argv);
	}
	if (cmd_operands(err, "watch", argc, argv, 0, 1, NULL) < 0)
		return -EINVAL;
	a.id = optind < argc ? argv[optind] : NULL;
	*ret = a;
	return 0;
}

struct watch_ctx {
	struct coopctl *c;
	struct output_opts o;
	const char *id; /* NULL: all graphs */
	bool done;      /* the watched graph's root settled */
};

/* True for an event about a graph's root scope. */
static bool watch_is_root(struct json_object *params)
{
	struct json_object *node = NULL;
	const char *s;

	if (!json_object_object_get_ex(params, "node", &node) || !node ||
	    json_object_is_type(node, json_type_null))
		return true;
	if (!json_object_is_type(node, json_type_string))
		return false;
	s = json_object_get_string(node);
	return !*s || strcmp(s, "/") == 0;
}

static void watch_event(const char *method, struct json_object *params, void *userdata)
{
	struct watch_ctx *w = userdata;
	struct json_object *state = NULL;

	if (strcmp(method, "event") != 0 || !params)
		return;
	if (w->c->json)
		coopctl_print_json(w->c, params);
	else
		output_event_line(stdout, params, &w->o);
	fflush(stdout);
	if (w->id && watch_is_root(params) && json_object_object_get_ex(params, "state", &state) &&
	    json_object_is_type(state, json_type_string) &&
	    output_state_is_final(json_object_get_string(state)))
		w->done = true;
}

static int cmd_watch_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_watch_args a;
	struct proto_watch_params p = {0};
	struct json_object *params = NULL, *result = NULL;
	struct watch_ctx w = {.c = c};
	int r;

	r = coopctl_parsed(&cmd_watch_entry, cmd_watch_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	w.id = a.id;
	w.o.color = c->color;
	w.o.utf8 = c->utf8;
	p.id = a.id;
	if (proto_watch_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_connect(c);
	if (r != 0) {
		json_object_put(params);
		return r;
	}
	client_conn_set_event_cb(c->conn, watch_event, &w);
	r = coopctl_call(c, "watch", params, &result);
	if (r != 0)
		return r;
	json_object_put(result);
	if (a.id) {
		/* A graph that settled before we subscribed sends no more
		 * events: ask once, then watch. */
		struct proto_status_params sp = {.id = a.id, .summary = true};
		struct json_object *status = NULL, *state = NULL;

		if (proto_status_params_encode(&sp, &params) == 0 &&
		    coopctl_call(c, "status", params, &status) == 0) {
			if (json_object_object_get_ex(status, "state", &state) &&
			    json_object_is_type(state, json_type_string) &&
			    output_state_is_final(json_object_get_string(state)) && !w.done) {
				if (!c->json)
					printf("%s has already settled: %s\n", a.id,
					       json_object_get_string(state));
				w.done = true;
			}
			json_object_put(status);
		}
	}
	while (!w.done) {
		r = client_conn_pump(c->conn, 1000);
		/* The graph's last event may come in the same read as the
		 * end of the connection (coopd stopping writes its last
		 * events, then closes): it has settled, as printed. */
		if (w.done)
			break;
		if (r == -ECONNRESET && !a.id)
			return COOPCTL_EXIT_OK; /* the stream of everything ended */
		if (r == -ECONNRESET) {
			coopctl_err(c, "coopd closed the connection before %s settled", a.id);
			return COOPCTL_EXIT_UNREACHABLE;
		}
		if (r < 0) {
			coopctl_err(c, "reading events: %s", strerror(-r));
			return COOPCTL_EXIT_FAILED;
		}
	}
	return COOPCTL_EXIT_OK;
}

const struct cmd_entry cmd_watch_entry = {
	.name = "watch",
	.usage = "[ID]",
	.summary = "print state changes as they happen",
	.exec = cmd_watch_exec,
};
