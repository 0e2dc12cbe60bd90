/*
 * cmd-version.c - `coopctl version`: coopctl's own version and protocol,
 * then the daemon's and the socket it answered on.  A protocol mismatch is
 * pointed out.  If the daemon cannot be reached, coopctl's version is still
 * printed before the error (exit 3).
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "coopctl.h"
#include "proto-rpc.h"

static int cmd_version_exec(struct coopctl *c, int argc, char **argv)
{
	struct json_object *result = NULL;
	struct proto_version_result vr;
	struct proto_error perr;
	int r;

	r = coopctl_parsed(&cmd_version_entry, cmd_noargs_parse(argc, argv, stderr));
	if (r >= 0)
		return r;
	if (!c->json) {
		printf("coopctl %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
		fflush(stdout);
	}
	r = coopctl_call(c, "version", NULL, &result);
	if (r != 0)
		return r;
	proto_error_clear(&perr);
	if (c->json) {
		coopctl_print_json(c, result);
	} else if (proto_version_result_decode(result, &vr, &perr) < 0) {
		coopctl_err(c, "unexpected answer from coopd: %s", perr.reason);
		r = COOPCTL_EXIT_FAILED;
	} else {
		printf("coopd %s (protocol %lld) at %s\n", vr.version, (long long)vr.protocol,
		       client_conn_path(c->conn));
		if (vr.protocol != PROTO_VERSION)
			coopctl_err(c, "warning: coopd speaks protocol %lld, coopctl %d",
				    (long long)vr.protocol, PROTO_VERSION);
	}
	json_object_put(result);
	return r;
}

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.usage = "",
	.summary = "show coopctl's and coopd's versions",
	.exec = cmd_version_exec,
};
