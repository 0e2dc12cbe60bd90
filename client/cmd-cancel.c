/*
 * cmd-cancel.c - `coopctl cancel ID [NODE] [--grace D] [--reason TEXT]
 * [--wait]`.
 *
 * Requests cancellation of a graph or of one subtree (NODE is a path such
 * as load/primary).  The daemon answers once the request is set; with
 * --wait coopctl then follows the graph until it has settled and shows the
 * report: which nodes were cancelled, which completed anyway, and how long
 * acknowledging took.  --grace overrides the exec jobs' grace_ms (SIGTERM,
 * then SIGKILL after the grace).  A graph or node that had already
 * settled is reported as such, with its final state (the `state` of the
 * daemon's answer: the target's state when the request arrived, so there is
 * no race with a second request), and the exit status is 0: nothing of it
 * is running, which is what was asked.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <json-c/json.h>

#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

int cmd_cancel_parse(int argc, char **argv, struct cmd_cancel_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"grace", required_argument, NULL, 'g'},
		{"reason", required_argument, NULL, 'r'},
		{"wait", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_cancel_args a = {0};
	int ch, n;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":g:r:wh", opts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			if (output_duration_parse(optarg, &a.grace_ms) < 0) {
				fprintf(err,
					"coopctl cancel: invalid duration '%s' (e.g. 500ms, 5s, "
					"2m)\n",
					optarg);
				return -EINVAL;
			}
			a.has_grace = true;
			break;
		case 'r':
			if (!*optarg) {
				fprintf(err, "coopctl cancel: --reason needs a text\n");
				return -EINVAL;
			}
			a.reason = optarg;
			break;
		case 'w':
			a.wait = true;
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "cancel", ch, argv);
		}
	}
	n = cmd_operands(err, "cancel", argc, argv, 1, 2, "a graph id is needed");
	if (n < 0)
		return n;
	a.id = argv[optind];
	if (n > 1)
		a.node = argv[optind + 1];
	*ret = a;
	return 0;
}

static int cmd_cancel_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_cancel_args a;
	struct proto_cancel_params p = {0};
	struct json_object *params = NULL, *result = NULL, *before = NULL;
	int r;

	r = coopctl_parsed(&cmd_cancel_entry, cmd_cancel_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	p.id = a.id;
	p.node = a.node;
	p.has_grace_ms = a.has_grace;
	p.grace_ms = (int64_t)a.grace_ms;
	p.reason = a.reason;
	if (proto_cancel_params_encode(&p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, "cancel", params, &result);
	if (r != 0)
		return r;
	if (!json_object_object_get_ex(result, "state", &before) ||
	    !json_object_is_type(before, json_type_string))
		before = NULL; /* an older coopd does not say */
	if (c->json) {
		coopctl_print_json(c, result);
	} else if (before && output_state_is_final(json_object_get_string(before))) {
		/* Nothing was cancelled: the target had settled before the
		 * request arrived.  Not an error (the work is not running,
		 * which is what was asked), so the exit status stays 0. */
		if (a.node)
			printf("Node %s of %s had already finished (%s); nothing to cancel.\n",
			       a.node, a.id, json_object_get_string(before));
		else
			printf("Graph %s had already finished (%s); nothing to cancel.\n", a.id,
			       json_object_get_string(before));
	} else if (a.node) {
		printf("Cancellation of %s in %s requested.\n", a.node, a.id);
	} else {
		printf("Cancellation of %s requested.\n", a.id);
	}
	fflush(stdout);
	json_object_put(result);
	if (a.wait)
		return cmd_wait_follow(c, a.id, FOLLOW_AUTO, 0);
	return COOPCTL_EXIT_OK;
}

const struct cmd_entry cmd_cancel_entry = {
	.name = "cancel",
	.usage = "ID [NODE] [--grace D] [--reason TEXT] [--wait]",
	.summary = "cancel a graph or one node's subtree",
	.exec = cmd_cancel_exec,
};
