/*
 * cmd-pause.c - `coopctl pause ID [NODE]` and `coopctl resume ID [NODE]`.
 *
 * Holds a graph (or the subtree at NODE) and lets it go again (the
 * daemon's `pause` and `resume`): while paused nothing in it starts and
 * its running exec jobs are frozen.  The two commands are mirror images
 * with the same arguments, so they share this file and its parser; each
 * has its own table entry.  Errors (a settled graph, one not paused) are
 * the daemon's, with its reason.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <json-c/json.h>

#include "coopctl.h"
#include "proto-rpc.h"

int cmd_pause_parse(const char *name, int argc, char **argv, struct cmd_pause_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_pause_args a = {0};
	int ch, n;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, name, ch, argv);
		}
	}
	n = cmd_operands(err, name, argc, argv, 1, 2, "a graph id is needed");
	if (n < 0)
		return n;
	a.id = argv[optind];
	if (n > 1)
		a.node = argv[optind + 1];
	*ret = a;
	return 0;
}

static int pause_or_resume(struct coopctl *c, const struct cmd_entry *e, const char *method,
			   const char *done, int argc, char **argv)
{
	struct cmd_pause_args a;
	struct proto_graph_node_params p;
	struct json_object *params = NULL, *result = NULL;
	int r;

	r = coopctl_parsed(e, cmd_pause_parse(e->name, argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	p = (struct proto_graph_node_params){.id = a.id, .node = a.node};
	if (proto_graph_node_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, method, params, &result);
	if (r != 0)
		return r;
	if (c->json)
		coopctl_print_json(c, result);
	else if (a.node)
		printf("%s %s in %s.\n", done, a.node, a.id);
	else
		printf("%s %s.\n", done, a.id);
	fflush(stdout);
	json_object_put(result);
	return COOPCTL_EXIT_OK;
}

static int cmd_pause_exec(struct coopctl *c, int argc, char **argv)
{
	return pause_or_resume(c, &cmd_pause_entry, PROTO_METHOD_PAUSE, "Paused", argc, argv);
}

static int cmd_resume_exec(struct coopctl *c, int argc, char **argv)
{
	return pause_or_resume(c, &cmd_resume_entry, PROTO_METHOD_RESUME, "Resumed", argc, argv);
}

const struct cmd_entry cmd_pause_entry = {
	.name = "pause",
	.usage = "ID [NODE]",
	.summary = "hold a graph or subtree: nothing starts, running jobs are frozen",
	.exec = cmd_pause_exec,
};

const struct cmd_entry cmd_resume_entry = {
	.name = "resume",
	.usage = "ID [NODE]",
	.summary = "let a paused graph or subtree go on",
	.exec = cmd_resume_exec,
};
