/*
 * cmd-remove.c - `coopctl remove ID...`.
 *
 * Forgets settled graphs now, with their logs (the daemon's `remove`).
 * Each id is asked for on its own, so one that cannot go (unknown, still
 * running: the daemon says which) does not keep the others: every id is
 * tried, the errors are printed as they come, and the exit code is the
 * worst one met (0 only when every graph was removed).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "coopctl.h"
#include "proto-rpc.h"

int cmd_remove_parse(int argc, char **argv, struct cmd_remove_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "remove", ch, argv);
		}
	}
	if (optind >= argc) {
		fprintf(err, "coopctl remove: at least one graph id is needed\n");
		return -EINVAL;
	}
	ret->ids = argv + optind;
	ret->n_ids = argc - optind;
	return 0;
}

/* A worse exit code wins: unreachable over usage over failed over ok. */
static int remove_worse(int a, int b)
{
	static const int rank[] = {[COOPCTL_EXIT_OK] = 0,
				   [COOPCTL_EXIT_FAILED] = 1,
				   [COOPCTL_EXIT_USAGE] = 2,
				   [COOPCTL_EXIT_UNREACHABLE] = 3};

	if (a < 0 || a > 3)
		return a;
	if (b < 0 || b > 3)
		return b;
	return rank[b] > rank[a] ? b : a;
}

static int cmd_remove_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_remove_args a;
	int worst = COOPCTL_EXIT_OK, r;

	r = coopctl_parsed(&cmd_remove_entry, cmd_remove_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	for (int i = 0; i < a.n_ids; i++) {
		struct proto_graph_node_params p = {.id = a.ids[i]};
		struct json_object *params = NULL, *result = NULL;

		if (proto_graph_node_params_encode(&p, &params) < 0) {
			coopctl_err(c, "%s", strerror(ENOMEM));
			return COOPCTL_EXIT_FAILED;
		}
		r = coopctl_call(c, PROTO_METHOD_REMOVE, params, &result);
		if (r != 0) {
			worst = remove_worse(worst, r);
			/* Without a daemon no other id can go either. */
			if (r == COOPCTL_EXIT_UNREACHABLE)
				break;
			continue;
		}
		if (c->json) {
			/* One line per id, so that a script can tell them apart. */
			json_object_object_add(result, "id", json_object_new_string(a.ids[i]));
			coopctl_print_json(c, result);
		} else {
			printf("Removed %s.\n", a.ids[i]);
		}
		fflush(stdout);
		json_object_put(result);
	}
	return worst;
}

const struct cmd_entry cmd_remove_entry = {
	.name = "remove",
	.usage = "ID...",
	.summary = "forget settled graphs and their logs",
	.exec = cmd_remove_exec,
};
