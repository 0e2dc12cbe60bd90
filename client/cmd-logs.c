/*
 * cmd-logs.c - `coopctl logs ID NODE [--stderr] [--follow] [--attempt N]`.
 *
 * --attempt N prints the output of attempt N (from 1) of a node with
 * retries; the default is the last attempt begun.
 *
 * Copies an exec job's kept stdout (or stderr) to standard output, bytes as
 * they were, chunk by chunk (`logs` answers carry next_offset).  Without
 * --follow it stops at what the daemon has now; with --follow it keeps
 * going until the stream has ended (eof: the job is over).  As in `run`,
 * an idle follower parks in the daemon's `wait` with a short timeout_ms
 * rather than sleeping.  With --json each answer is printed as it came.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <getopt.h>
#include <string.h>

#include <json-c/json.h>

#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

/* How long an idle follower parks in `wait`. */
#define LOGS_IDLE_MS 250

int cmd_logs_parse(int argc, char **argv, struct cmd_logs_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"stderr", no_argument, NULL, 'e'},
		{"follow", no_argument, NULL, 'f'},
		{"attempt", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_logs_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":efa:h", opts, NULL)) != -1) {
		char *end;

		switch (ch) {
		case 'a':
			errno = 0;
			a.attempt = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || a.attempt < 1 ||
			    a.attempt > PROTO_MAX_ATTEMPTS) {
				fprintf(err,
					"coopctl logs: invalid attempt '%s' (expected 1 to %d)\n",
					optarg, PROTO_MAX_ATTEMPTS);
				return -EINVAL;
			}
			break;
		case 'e':
			a.stderr_stream = true;
			break;
		case 'f':
			a.follow = true;
			break;
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "logs", ch, argv);
		}
	}
	if (cmd_operands(err, "logs", argc, argv, 2, 2, "a graph id and a node path are needed") <
	    0)
		return -EINVAL;
	a.id = argv[optind];
	a.node = argv[optind + 1];
	*ret = a;
	return 0;
}

/* Parks until the graph settles or LOGS_IDLE_MS pass.  Returns 0 with
 * *ret_final, or an exit code. */
static int logs_idle(struct coopctl *c, const char *id, bool *ret_final)
{
	struct proto_wait_params wp = {
		.id = id, .has_timeout_ms = true, .timeout_ms = LOGS_IDLE_MS, .summary = true};
	struct json_object *params = NULL, *status = NULL, *state = NULL;
	int r;

	if (proto_wait_params_encode(&wp, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, "wait", params, &status);
	if (r != 0)
		return r;
	*ret_final = json_object_object_get_ex(status, "state", &state) &&
		     json_object_is_type(state, json_type_string) &&
		     output_state_is_final(json_object_get_string(state));
	json_object_put(status);
	return 0;
}

int cmd_logs_fetch(struct coopctl *c, const struct proto_logs_params *p,
		   struct proto_logs_result *ret, struct json_object **ret_result)
{
	struct json_object *params = NULL, *result = NULL;
	struct proto_error perr;
	int r;

	if (proto_logs_params_encode(p, &params) < 0) {
		coopctl_err(c, "%s", strerror(ENOMEM));
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, "logs", params, &result);
	if (r != 0)
		return r;
	proto_error_clear(&perr);
	if (proto_logs_result_decode(result, ret, &perr) < 0) {
		coopctl_err(c, "unexpected logs answer: %s: %s", perr.path, perr.reason);
		json_object_put(result);
		return COOPCTL_EXIT_FAILED;
	}
	*ret_result = result;
	return 0;
}

int cmd_logs_copy(struct coopctl *c, const char *id, const char *node, bool stderr_stream,
		  bool follow, FILE *out)
{
	return cmd_logs_copy_attempt(c, id, node, 0, stderr_stream, follow, out);
}

int cmd_logs_copy_attempt(struct coopctl *c, const char *id, const char *node, unsigned attempt,
			  bool stderr_stream, bool follow, FILE *out)
{
	int64_t offset = 0;
	bool settled = false, printed = false;
	int idle_after_settled = 0;

	for (;;) {
		struct proto_logs_params p = {
			.id = id,
			.node = node,
			.stream = stderr_stream ? PROTO_STREAM_STDERR : PROTO_STREAM_STDOUT,
			.offset = offset,
			.attempt = attempt,
		};
		struct json_object *result = NULL;
		struct proto_logs_result lr;
		int r;

		r = cmd_logs_fetch(c, &p, &lr, &result);
		if (r != 0)
			return r;
		/* --json: one line per answer with data; an answer without
		 * data only when it is all there is. */
		if (c->json && (lr.data_len > 0 || (!printed && (lr.eof || !follow)))) {
			coopctl_print_json(c, result);
			printed = true;
		} else if (!c->json && lr.data_len > 0) {
			(void)fwrite(lr.data, 1, lr.data_len, out);
		}
		fflush(out);
		if (lr.next_offset > offset)
			offset = lr.next_offset;
		json_object_put(result);
		if (lr.eof)
			return COOPCTL_EXIT_OK;
		if (lr.data_len > 0)
			continue;
		if (!follow)
			return COOPCTL_EXIT_OK;
		/* A settled graph whose stream never reports eof (a node
		 * that never ran) must not keep us here. */
		if (settled && ++idle_after_settled > 1)
			return COOPCTL_EXIT_OK;
		if (!settled) {
			r = logs_idle(c, id, &settled);
			if (r != 0)
				return r;
		}
	}
}

static int cmd_logs_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_logs_args a;
	int r;

	r = coopctl_parsed(&cmd_logs_entry, cmd_logs_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	return cmd_logs_copy_attempt(c, a.id, a.node, (unsigned)a.attempt, a.stderr_stream,
				     a.follow, stdout);
}

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.usage = "ID NODE [--stderr] [--follow] [--attempt N]",
	.summary = "print an exec job's stdout (or stderr)",
	.exec = cmd_logs_exec,
};
