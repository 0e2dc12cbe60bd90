/*
 * cmd-stats.c - `coopctl stats`.
 *
 * The daemon's executor, budget and cancellation counters (`stats`) for
 * people: workers and queues, polls, forced yields and short-circuits,
 * cancellations by reason with acknowledgement latency percentiles (p50,
 * p90, p99, estimated from the latency histogram of the same answer the
 * way Prometheus' histogram_quantile() does, so they agree with a
 * Prometheus query over the same figures).  The
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

int cmd_noargs_parse(int argc, char **argv, FILE *err)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'h')
			return 1;
		return cmd_opt_error(err, argv[0], ch, argv);
	}
	return cmd_operands(err, argv[0], argc, argv, 0, 0, NULL) < 0 ? -EINVAL : 0;
}

/* The cancel latency histogram of the same `stats` answer:
 * cancellation.latency_buckets = [{le, count}, ..., {le: "+Inf", count}],
 * cumulative.  Returns false when it is missing or malformed; the report
 * then goes without percentiles. */
static bool stats_histogram(struct json_object *stats, struct output_histogram *ret)
{
	struct json_object *cancel, *buckets;
	struct output_histogram h = {.n = 0};
	size_t n;

	if (!json_object_object_get_ex(stats, "cancellation", &cancel) ||
	    !json_object_object_get_ex(cancel, "latency_buckets", &buckets) ||
	    !json_object_is_type(buckets, json_type_array))
		return false;
	n = json_object_array_length(buckets);
	if (n == 0 || n > OUTPUT_HIST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct json_object *b = json_object_array_get_idx(buckets, i), *le, *count;

		if (!json_object_is_type(b, json_type_object) ||
		    !json_object_object_get_ex(b, "le", &le) ||
		    !json_object_object_get_ex(b, "count", &count) ||
		    !json_object_is_type(count, json_type_int))
			return false;
		if (json_object_is_type(le, json_type_string) &&
		    strcmp(json_object_get_string(le), "+Inf") == 0)
			h.le[i] = -1;
		else if (json_object_is_type(le, json_type_double) ||
			 json_object_is_type(le, json_type_int))
			h.le[i] = json_object_get_double(le);
		else
			return false;
		h.cum[i] = (double)json_object_get_int64(count);
	}
	h.n = n;
	*ret = h;
	return true;
}

static int cmd_stats_exec(struct coopctl *c, int argc, char **argv)
{
	struct json_object *result = NULL;
	struct output_opts o = {.color = c->color, .utf8 = c->utf8};
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
	} else if (have_hist = stats_histogram(result, &hist),
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
