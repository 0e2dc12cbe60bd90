/*
 * cmd-list.c - `coopctl list [--all]`.
 *
 * One line per graph: id, name, state, creation time and nodes settled out
 * of all.  Which graphs are listed without --all (and which with it) is the
 * daemon's answer to `list {all}`: the running ones and the recent ones,
 * or everything it keeps.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <json-c/json.h>

#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

int cmd_list_parse(int argc, char **argv, struct cmd_list_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_list_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ah", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			a.all = true;
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "list", ch, argv);
		}
	}
	if (cmd_operands(err, "list", argc, argv, 0, 0, NULL) < 0)
		return -EINVAL;
	*ret = a;
	return 0;
}

int cmd_list_show(struct coopctl *c, bool all)
{
	struct proto_list_params p = {.all = all};
	struct json_object *params = NULL, *result = NULL, *graphs = NULL;
	struct output_opts o = {.color = c->color, .utf8 = c->utf8};
	int r;

	if (proto_list_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, "list", params, &result);
	if (r != 0)
		return r;
	if (c->json) {
		coopctl_print_json(c, result);
	} else if (!all && json_object_object_get_ex(result, "graphs", &graphs) &&
		   json_object_is_type(graphs, json_type_array) &&
		   json_object_array_length(graphs) == 0) {
		printf("No active graphs ('coopctl list --all' shows finished ones too).\n");
	} else if (output_list(stdout, result, &o) < 0) {
		coopctl_err(c, "unexpected answer from coopd (no graphs array)");
		r = COOPCTL_EXIT_FAILED;
	}
	json_object_put(result);
	return r;
}

static int cmd_list_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_list_args a;
	int r;

	r = coopctl_parsed(&cmd_list_entry, cmd_list_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	return cmd_list_show(c, a.all);
}

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.usage = "[--all]",
	.summary = "list graphs (--all: finished ones too)",
	.exec = cmd_list_exec,
};
