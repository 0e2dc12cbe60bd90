/*
 * cmd-status.c - `coopctl status [ID] [--summary]`.
 *
 * With an id: the graph's header (state, times, owner) and its node tree,
 * one line per node with its kind, state, duration and details (exit code
 * or signal, error, cancel reason and how long acknowledging it took,
 * polls and forced yields).  --summary asks for counts per state only,
 * for graphs too large to print.  --format dot prints the graph as
 * Graphviz source instead (client-dot.c).  Without an id it lists graphs,
 * like `list`.  The exit status says whether the question was answered, not
 * how the graph did (`wait` says that).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "client-dot.h"
#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

int cmd_status_parse(int argc, char **argv, struct cmd_status_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"summary", no_argument, NULL, 's'},
		{"all", no_argument, NULL, 'a'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_status_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":saf:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			a.summary = true;
			break;
		case 'a':
			a.all = true;
			break;
		case 'f':
			if (strcmp(optarg, "tree") == 0) {
				a.dot = false;
			} else if (strcmp(optarg, "dot") == 0) {
				a.dot = true;
			} else {
				fprintf(err, "coopctl status: unknown format '%s' (tree or dot)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "status", ch, argv);
		}
	}
	if (cmd_operands(err, "status", argc, argv, 0, 1, NULL) < 0)
		return -EINVAL;
	a.id = optind < argc ? argv[optind] : NULL;
	if (a.all && a.id) {
		fprintf(err, "coopctl status: --all lists graphs; it takes no id\n");
		return -EINVAL;
	}
	if (a.dot && (!a.id || a.summary)) {
		fprintf(err, "coopctl status: --format dot draws one whole graph: it needs an id "
			     "and no --summary\n");
		return -EINVAL;
	}
	*ret = a;
	return 0;
}

/* Wall-clock now, for the durations of running nodes. */
static int64_t status_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_status_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_status_args a;
	struct proto_status_params p;
	struct json_object *params = NULL, *result = NULL;
	struct output_opts o = {.color = c->color, .utf8 = c->utf8};
	int r;

	r = coopctl_parsed(&cmd_status_entry, cmd_status_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	if (!a.id)
		return cmd_list_show(c, a.all);
	p.id = a.id;
	p.summary = a.summary;
	if (proto_status_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, "status", params, &result);
	if (r != 0)
		return r;
	if (a.dot) {
		/* The picture is the output, --json or not. */
		if (client_dot_status(stdout, result) < 0) {
			coopctl_err(c, "unexpected answer from coopd (no root node)");
			r = COOPCTL_EXIT_FAILED;
		}
	} else if (c->json) {
		coopctl_print_json(c, result);
	} else {
		o.now_ms = status_now_ms();
		r = a.summary ? output_status_summary(stdout, result, &o)
			      : output_status_tree(stdout, result, &o);
		if (r < 0) {
			coopctl_err(c, "unexpected answer from coopd (no %s)",
				    a.summary ? "counts" : "root node");
			r = COOPCTL_EXIT_FAILED;
		}
	}
	json_object_put(result);
	return r;
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.usage = "[ID] [--summary] [--all] [--format tree|dot]",
	.summary = "show a graph's node tree or, with --format dot, its Graphviz source "
		   "(without ID: list graphs)",
	.exec = cmd_status_exec,
};
