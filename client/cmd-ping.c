/*
 * cmd-ping.c - `coopctl ping`: is coopd there?  Sends one `ping` and prints
 * the socket that answered and the round trip.  Under socket activation the
 * first ping is what starts the service.  Exit 0 when coopd answered, 3 when
 * it cannot be reached.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "coopctl.h"

static double ping_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmd_ping_exec(struct coopctl *c, int argc, char **argv)
{
	struct json_object *result = NULL;
	double start;
	int r;

	r = coopctl_parsed(&cmd_ping_entry, cmd_noargs_parse(argc, argv, stderr));
	if (r >= 0)
		return r;
	start = ping_now_ms();
	r = coopctl_call(c, "ping", NULL, &result);
	if (r != 0)
		return r;
	if (c->json)
		coopctl_print_json(c, result);
	else
		printf("coopd answered at %s in %.3f ms\n", client_conn_path(c->conn),
		       ping_now_ms() - start);
	json_object_put(result);
	return 0;
}

const struct cmd_entry cmd_ping_entry = {
	.name = "ping",
	.usage = "",
	.summary = "check that coopd answers (and start it, under socket activation)",
	.exec = cmd_ping_exec,
};
