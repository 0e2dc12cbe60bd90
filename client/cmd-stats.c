/*
 * cmd-stats.c - `coopctl stats`.
 *
 * The daemon's executor, budget and cancellation counters (`stats`) for
 * people: workers and queues, polls, forced yields and short-circuits,
 * cancellations by reason with acknowledgement latency percentiles.  The
 * layout follows the JSON's own grouping (client-output.c renders any
 * object it does not know as "key: value"), so counters a newer daemon adds
 * still show.  --json prints the answer verbatim.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <json-c/json.h>

#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

int cmd_noargs_parse(int argc, char **argv, FILE *err)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'h')
			return 1;
		return cmd_opt_error(err, argv[0], ch, argv);
	}
	if (optind < argc) {
		fprintf(err, "coopctl %s: unexpected argument '%s'\n", argv[0], argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int cmd_stats_exec(struct coopctl *c, int argc, char **argv)
{
	struct json_object *result = NULL;
	struct output_opts o = { .color = c->color, .utf8 = c->utf8 };
	int r;

	r = coopctl_parsed(&cmd_stats_entry, cmd_noargs_parse(argc, argv, stderr));
	if (r >= 0)
		return r;
	r = coopctl_call(c, "stats", NULL, &result);
	if (r != 0)
		return r;
	if (c->json) {
		coopctl_print_json(c, result);
	} else if (output_stats(stdout, result, &o) < 0) {
		coopctl_err(c, "unexpected answer from coopd (not an object)");
		r = COOPCTL_EXIT_FAILED;
	}
	json_object_put(result);
	return r;
}

const struct cmd_entry cmd_stats_entry = {
	.name = "stats",
	.usage = "",
	.summary = "show executor, budget and cancellation statistics",
	.exec = cmd_stats_exec,
};
