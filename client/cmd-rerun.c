/*
 * cmd-rerun.c - `coopctl rerun ID [--failed] [--wait]`.
 *
 * Runs a settled graph again as a new graph (the daemon's `rerun`) and
 * prints the new id, as `submit` does.  --failed reuses the results of the
 * nodes that succeeded (they show `reused` and are not run again): a graph
 * that failed at step 40 of 50 reruns 11 nodes.  --wait then follows the
 * new graph like `wait` and exits as it does.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "coopctl.h"
#include "proto-rpc.h"

int cmd_rerun_parse(int argc, char **argv, struct cmd_rerun_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"failed", no_argument, NULL, 'f'},
		{"wait", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_rerun_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fwh", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			a.failed = true;
			break;
		case 'w':
			a.wait = true;
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "rerun", ch, argv);
		}
	}
	if (cmd_operands(err, "rerun", argc, argv, 1, 1, "a graph id is needed") < 0)
		return -EINVAL;
	a.id = argv[optind];
	*ret = a;
	return 0;
}

static int cmd_rerun_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_rerun_args a;
	struct proto_rerun_params p = {0};
	struct proto_submit_result sr;
	struct proto_error perr;
	struct json_object *params = NULL, *result = NULL;
	char *id;
	int r;

	r = coopctl_parsed(&cmd_rerun_entry, cmd_rerun_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	p.id = a.id;
	p.failed_only = a.failed;
	if (proto_rerun_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, PROTO_METHOD_RERUN, params, &result);
	if (r != 0)
		return r;
	proto_error_clear(&perr);
	if (proto_submit_result_decode(result, &sr, &perr) < 0) {
		coopctl_err(c, "unexpected rerun answer: %s: %s", perr.path, perr.reason);
		json_object_put(result);
		return COOPCTL_EXIT_FAILED;
	}
	if (c->json)
		coopctl_print_json(c, result);
	else
		printf("%s\n", sr.id);
	fflush(stdout);
	id = strdup(sr.id);
	json_object_put(result);
	if (!id) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = a.wait ? cmd_wait_follow(c, id, FOLLOW_AUTO, 0) : COOPCTL_EXIT_OK;
	free(id);
	return r;
}

const struct cmd_entry cmd_rerun_entry = {
	.name = "rerun",
	.usage = "ID [--failed] [--wait]",
	.summary = "run a settled graph again (--failed: only what did not succeed)",
	.exec = cmd_rerun_exec,
};
