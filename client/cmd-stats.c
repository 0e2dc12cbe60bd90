/*
 * cmd-stats.c - `coopctl stats`.
 *
 * The daemon's executor, budget and cancellation counters (`stats`) for
 * people: workers and queues, polls, forced yields and short-circuits,
 * cancellations by reason with acknowledgement latency percentiles (the
 * percentiles are estimated from the latency histogram of `metrics`, the
 * way Prometheus' histogram_quantile() does, as `stats` has no buckets).  The
 * layout follows the JSON's own grouping (client-output.c renders any
 * object it does not know as "key: value"), so counters a newer daemon adds
 * still show.  --json prints the answer verbatim.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <json-c/json.h>

#include "client-conn.h"
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

/* The cancel latency histogram from `metrics`: `stats` carries only the
 * count and sum, the buckets are in the Prometheus text.  Returns false
 * (and prints nothing) when they cannot be had; the report then goes
 * without percentiles. */
static bool stats_histogram(struct coopctl *c, struct output_histogram *ret)
{
	struct json_object *result = NULL;
	struct proto_metrics_result mr;
	struct proto_error perr;
	struct client_reply rep = { 0 };
	bool ok = false;

	if (client_conn_call(c->conn, "metrics", NULL, &rep) < 0 || !rep.result) {
		client_reply_clear(&rep);
		return false;
	}
	result = rep.result;
	if (proto_metrics_result_decode(result, &mr, &perr) == 0 &&
	    output_histogram_parse(mr.text, "coopd_cancel_latency_seconds", ret) == 0)
		ok = true;
	client_reply_clear(&rep);
	return ok;
}

static int cmd_stats_exec(struct coopctl *c, int argc, char **argv)
{
	struct json_object *result = NULL;
	struct output_opts o = { .color = c->color, .utf8 = c->utf8 };
	struct output_histogram hist;
	bool have_hist;
	int r;

	r = coopctl_parsed(&cmd_stats_entry, cmd_noargs_parse(argc, argv, stderr));
	if (r >= 0)
		return r;
	r = coopctl_call(c, "stats", NULL, &result);
	if (r != 0)
		return r;
	if (c->json) {
		coopctl_print_json(c, result);
	} else if (have_hist = stats_histogram(c, &hist),
		   output_stats(stdout, result, have_hist ? &hist : NULL, &o) < 0) {
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
