/*
 * cmd-metrics.c - `coopctl metrics`: the daemon's Prometheus text
 * exposition (docs/metrics.md), printed as is, e.g. for promtool or a
 * textfile collector.  --json prints the `{text}` answer verbatim.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "coopctl.h"
#include "proto-rpc.h"

static int cmd_metrics_exec(struct coopctl *c, int argc, char **argv)
{
	struct json_object *result = NULL;
	struct proto_metrics_result mr;
	struct proto_error perr;
	size_t len;
	int r;

	r = coopctl_parsed(&cmd_metrics_entry, cmd_noargs_parse(argc, argv, stderr));
	if (r >= 0)
		return r;
	r = coopctl_call(c, "metrics", NULL, &result);
	if (r != 0)
		return r;
	proto_error_clear(&perr);
	if (c->json) {
		coopctl_print_json(c, result);
	} else if (proto_metrics_result_decode(result, &mr, &perr) < 0) {
		coopctl_err(c, "unexpected answer from coopd: %s", perr.reason);
		r = COOPCTL_EXIT_FAILED;
	} else {
		len = strlen(mr.text);
		fputs(mr.text, stdout);
		if (len > 0 && mr.text[len - 1] != '\n')
			fputc('\n', stdout);
	}
	json_object_put(result);
	return r;
}

const struct cmd_entry cmd_metrics_entry = {
	.name = "metrics",
	.usage = "",
	.summary = "print the Prometheus metrics text",
	.exec = cmd_metrics_exec,
};
