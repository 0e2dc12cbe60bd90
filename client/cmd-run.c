/*
 * cmd-run.c - `coopctl run [--timeout D] [--name N] [--env NAME=VALUE]...
 * -- CMD [ARG...]`.
 *
 * The quick way to run one command under coopd: builds a graph of one exec
 * node (argv as given, no shell; the working directory is coopctl's), submits
 * it, copies the job's stdout and stderr to coopctl's own as they come, and
 * exits with the command's status (128 + N when a signal N ended it; as
 * shells and env(1) do, 127 when the command was not found and 126 when it
 * could not be executed; 1 when it was cancelled or failed to start for
 * another reason, with a message).  Ctrl-C (SIGINT),
 * SIGTERM or SIGHUP cancels the graph with reason "client" and still waits for it to
 * settle, so nothing is left running; a second one gives up waiting.  One that
 * comes while the submit is in flight waits for the graph's id and cancels it
 * then (client-interrupt.c).
 *
 * The protocol has no push for log data, so while the job runs coopctl asks
 * for new output and, when there is none, parks in the daemon's `wait` with
 * a short timeout_ms: the answer comes when the graph settles or the time is
 * up, so settling is seen at once and idle polling stays cheap.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "client-interrupt.h"
#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

/* How long one idle `wait` parks while the job runs. */
#define RUN_IDLE_MS 100
/* The node's id in the one-node graph. */
#define RUN_NODE "run"

int cmd_run_parse(int argc, char **argv, struct cmd_run_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"timeout", required_argument, NULL, 't'},
		{"name", required_argument, NULL, 'n'},
		{"env", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_run_args a = {0};
	int ch;

	optind = 0;
	opterr = 0;
	/* '+': the command's own options are not ours, even without "--". */
	while ((ch = getopt_long(argc, argv, "+:t:n:e:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (output_duration_parse(optarg, &a.timeout_ms) < 0) {
				fprintf(err,
					"coopctl run: invalid duration '%s' (e.g. 500ms, 5s, 2m)\n",
					optarg);
				goto fail;
			}
			break;
		case 'n':
			if (!*optarg) {
				fprintf(err, "coopctl run: --name needs a non-empty name\n");
				goto fail;
			}
			a.name = optarg;
			break;
		case 'e': {
			char **env;
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				fprintf(err, "coopctl run: --env takes NAME=VALUE, not '%s'\n",
					optarg);
				goto fail;
			}
			env = realloc(a.env, sizeof(*env) * (size_t)(a.n_env + 2));
			if (!env) {
				fprintf(err, "coopctl run: %s\n", strerror(ENOMEM));
				goto fail;
			}
			a.env = env;
			a.env[a.n_env++] = optarg;
			a.env[a.n_env] = NULL;
			break;
		}
		case 'h':
			free(a.env);
			return 1;
		default:
			cmd_opt_error(err, "run", ch, argv);
			goto fail;
		}
	}
	if (optind >= argc) {
		fprintf(err, "coopctl run: a command is needed after --\n");
		goto fail;
	}
	if (!*argv[optind]) {
		fprintf(err, "coopctl run: the command is an empty string\n");
		goto fail;
	}
	a.argv = argv + optind;
	a.argc = argc - optind;
	*ret = a;
	return 0;
fail:
	free(a.env);
	return -EINVAL;
}

void cmd_run_args_free(struct cmd_run_args *a)
{
	free(a->env);
	a->env = NULL;
	a->n_env = 0;
}

/* The one-node graph. */
static int run_graph(const struct cmd_run_args *a, struct json_object **ret)
{
	struct json_object *graph = json_object_new_object(), *nodes = NULL, *node = NULL,
			   *argv = NULL, *env = NULL;
	char *base = NULL, *cwd = NULL;
	int r = -ENOMEM;

	if (!graph)
		return -ENOMEM;
	if (a->name) {
		r = proto_json_add(graph, "name", json_object_new_string(a->name));
	} else {
		base = strdup(a->argv[0]);
		r = base ? proto_json_add(graph, "name", json_object_new_string(basename(base)))
			 : -ENOMEM;
	}
	if (r < 0)
		goto out;
	node = json_object_new_object();
	if (!node || proto_json_add(node, "id", json_object_new_string(RUN_NODE)) < 0 ||
	    proto_json_add(node, "kind", json_object_new_string("exec")) < 0)
		goto fail_node;
	argv = json_object_new_array();
	if (!argv)
		goto fail_node;
	for (int i = 0; i < a->argc; i++) {
		if (proto_json_append(argv, json_object_new_string(a->argv[i])) < 0) {
			json_object_put(argv);
			goto fail_node;
		}
	}
	if (proto_json_add(node, "argv", argv) < 0)
		goto fail_node;
	cwd = getcwd(NULL, 0);
	if (cwd && proto_json_add(node, "cwd", json_object_new_string(cwd)) < 0)
		goto fail_node;
	if (a->n_env > 0) {
		env = json_object_new_object();
		if (!env)
			goto fail_node;
		for (int i = 0; i < a->n_env; i++) {
			const char *eq = strchr(a->env[i], '=');
			char *key = strndup(a->env[i], (size_t)(eq - a->env[i]));
			struct json_object *v = json_object_new_string(eq + 1);
			int ar = key && v ? json_object_object_add(env, key, v) : -1;
			free(key);
			if (ar < 0) {
				json_object_put(v);
				json_object_put(env);
				goto fail_node;
			}
		}
		if (proto_json_add(node, "env", env) < 0)
			goto fail_node;
	}
	if (a->timeout_ms > 0 &&
	    proto_json_add(node, "timeout_ms", json_object_new_int64((int64_t)a->timeout_ms)) < 0)
		goto fail_node;
	nodes = json_object_new_array();
	if (!nodes || json_object_array_add(nodes, node) < 0) {
		json_object_put(nodes);
		goto fail_node;
	}
	node = NULL;
	r = proto_json_add(graph, "nodes", nodes);
	if (r < 0)
		goto out;
	*ret = graph;
	graph = NULL;
	r = 0;
	goto out;
fail_node:
	json_object_put(node);
	r = -ENOMEM;
out:
	free(base);
	free(cwd);
	json_object_put(graph);
	return r;
}

struct run_stream {
	const char *node;
	bool is_stderr;
	int64_t offset;
	bool eof;
	FILE *out;
};

/* One `logs` request; writes what came.  Returns 0 (with *ret_got set to
 * whether there were bytes) or an exit code. */
static int run_fetch(struct coopctl *c, const char *id, struct run_stream *s, bool *ret_got)
{
	struct proto_logs_params p = {
		.id = id,
		.node = s->node,
		.stream = s->is_stderr ? PROTO_STREAM_STDERR : PROTO_STREAM_STDOUT,
		.offset = s->offset,
	};
	struct json_object *result = NULL;
	struct proto_logs_result lr;
	int r;

	*ret_got = false;
	r = cmd_logs_fetch(c, &p, &lr, &result);
	if (r != 0)
		return r;
	if (lr.data_len > 0) {
		(void)fwrite(lr.data, 1, lr.data_len, s->out);
		fflush(s->out);
		*ret_got = true;
	}
	if (lr.next_offset > s->offset)
		s->offset = lr.next_offset;
	s->eof = lr.eof;
	json_object_put(result);
	return 0;
}

int cmd_run_spawn_status(const char *argv0, const char *error)
{
	/* The daemon reports a command it could not start as "ARGV0: TEXT"
	 * (resolving it on PATH) or "exec ARGV0 (cwd DIR): TEXT" (the exec
	 * itself), TEXT being strerror() in the C locale, the same libc as
	 * coopctl's on this machine. */
	static const struct {
		int err;
		int status;
	} map[] = {
		{ENOENT, 127}, {ENOTDIR, 127}, {EACCES, 126},  {EPERM, 126},
		{EISDIR, 126}, {ENOEXEC, 126}, {ETXTBSY, 126},
	};
	size_t n = argv0 ? strlen(argv0) : 0;
	const char *text = NULL;

	if (!argv0 || !error)
		return COOPCTL_EXIT_FAILED;
	if (strncmp(error, argv0, n) == 0 && strncmp(error + n, ": ", 2) == 0)
		text = error + n + 2;
	else if (strncmp(error, "exec ", 5) == 0 && strncmp(error + 5, argv0, n) == 0 &&
		 strncmp(error + 5 + n, " (cwd ", 6) == 0 && (text = strstr(error + 5 + n, "): ")))
		text += 3;
	for (size_t i = 0; text && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(text, strerror(map[i].err)) == 0)
			return map[i].status;
	return COOPCTL_EXIT_FAILED;
}

/* The exit status of `run` from the final status of its graph. */
static int run_exit_status(struct coopctl *c, struct json_object *status, uint64_t timeout_ms,
			   const char *argv0)
{
	struct json_object *root = NULL, *nodes = NULL, *node = NULL, *v = NULL, *cancel = NULL;
	const char *state = output_str(status, "state"), *nstate;

	if (json_object_object_get_ex(status, "root", &root) &&
	    json_object_object_get_ex(root, "nodes", &nodes) &&
	    json_object_is_type(nodes, json_type_array) && json_object_array_length(nodes) > 0)
		node = json_object_array_get_idx(nodes, 0);
	nstate = output_str(node, "state");
	if (!nstate)
		nstate = state;
	if (nstate && strcmp(nstate, "succeeded") == 0)
		return 0;
	if (node && json_object_object_get_ex(node, "cancel", &cancel) &&
	    json_object_is_type(cancel, json_type_object)) {
		const char *reason = output_str(cancel, "reason");
		char dur[OUTPUT_DURATION_BUF];

		if (reason && strcmp(reason, "timeout") == 0 && timeout_ms > 0)
			coopctl_err(c, "timed out after %s (timeout)",
				    output_duration_format((int64_t)timeout_ms, dur, sizeof(dur)));
		else if (reason && strcmp(reason, "shutdown") == 0)
			coopctl_err(c, "cancelled: coopd is shutting down (shutdown)");
		else
			coopctl_err(c, "%s (%s)", nstate ? nstate : "cancelled",
				    reason ? reason : "?");
		return COOPCTL_EXIT_FAILED;
	}
	if (node && json_object_object_get_ex(node, "exit_code", &v) &&
	    json_object_is_type(v, json_type_int)) {
		int code = (int)json_object_get_int64(v);
		if (code > 0 && code < 256)
			return code;
	}
	if (node && json_object_object_get_ex(node, "signal", &v) && v) {
		int sig = 0;
		if (json_object_is_type(v, json_type_int))
			sig = (int)json_object_get_int64(v);
		else if (json_object_is_type(v, json_type_string)) {
			const char *name = json_object_get_string(v);
			if (strncmp(name, "SIG", 3) == 0)
				name += 3;
			for (int i = 1; i < 65; i++) {
				const char *abbrev = sigabbrev_np(i);
				if (abbrev && strcmp(abbrev, name) == 0)
					sig = i;
			}
		}
		if (sig > 0 && sig < 128) {
			coopctl_err(c, "killed by SIG%s",
				    sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
			return 128 + sig;
		}
	}
	if (node && json_object_object_get_ex(node, "error", &v) &&
	    json_object_is_type(v, json_type_string)) {
		coopctl_err(c, "%s", json_object_get_string(v));
		return cmd_run_spawn_status(argv0, json_object_get_string(v));
	}
	coopctl_err(c, "the job ended %s", nstate ? nstate : "in an unknown state");
	return COOPCTL_EXIT_FAILED;
}

static int cmd_run_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_run_args a;
	struct json_object *graph = NULL, *params = NULL, *result = NULL, *status = NULL;
	struct proto_submit_params sp;
	struct proto_submit_result sres;
	struct proto_error perr;
	struct run_stream streams[2] = {
		{.node = RUN_NODE, .is_stderr = false, .out = stdout},
		{.node = RUN_NODE, .is_stderr = true, .out = stderr},
	};
	sigset_t old_mask;
	char *id = NULL;
	const char *argv0;
	bool settled = false, cancelled = false;
	uint64_t timeout_ms;
	int r;

	r = coopctl_parsed(&cmd_run_entry, cmd_run_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	r = run_graph(&a, &graph);
	timeout_ms = a.timeout_ms;
	argv0 = a.argv[0]; /* points into argv, which outlives this call */
	cmd_run_args_free(&a);
	if (r < 0) {
		coopctl_err(c, "%s", strerror(-r));
		return COOPCTL_EXIT_FAILED;
	}
	sp.graph = graph;
	r = proto_submit_params_encode(&sp, &params);
	json_object_put(graph);
	if (r < 0) {
		coopctl_err(c, "%s", strerror(-r));
		return COOPCTL_EXIT_FAILED;
	}
	/* Blocked until the graph's id is known: a Ctrl-C while the submit
	 * is in flight cancels the graph once it has one (client-interrupt.c). */
	client_interrupt_install(&old_mask);
	r = coopctl_call(c, "submit", params, &result);
	if (r == 0) {
		proto_error_clear(&perr);
		if (proto_submit_result_decode(result, &sres, &perr) < 0 ||
		    !(id = strdup(sres.id))) {
			coopctl_err(c, "unexpected submit answer: %s", perr.reason);
			r = COOPCTL_EXIT_FAILED;
		}
		json_object_put(result);
	}
	client_interrupt_unblock(&old_mask);
	if (r != 0)
		return r;

	/* With --json only the final status is printed; the output stays
	 * with the daemon (coopctl logs ID run). */
	while (!settled) {
		bool got = false;

		for (int i = 0; !c->json && i < 2; i++) {
			bool g;
			if (streams[i].eof)
				continue;
			r = run_fetch(c, id, &streams[i], &g);
			if (r == COOPCTL_EXIT_UNREACHABLE || (r != 0 && !client_interrupts))
				goto out;
			got = got || g;
		}
		if (client_interrupts >= 2) {
			r = 130;
			goto out;
		}
		if (client_interrupts && !cancelled) {
			client_interrupt_cancel(c, id);
			cancelled = true;
		}
		if (got)
			continue;
		{
			struct proto_wait_params wp = {.id = id,
						       .has_timeout_ms = true,
						       .timeout_ms = RUN_IDLE_MS,
						       .summary = true};
			const char *state;

			if (proto_wait_params_encode(&wp, &params) < 0) {
				r = COOPCTL_EXIT_FAILED;
				goto out;
			}
			r = coopctl_call(c, "wait", params, &status);
			if (r != 0) {
				if (client_interrupts && r != COOPCTL_EXIT_UNREACHABLE)
					continue;
				goto out;
			}
			state = output_str(status, "state");
			settled = output_state_is_final(state);
			json_object_put(status);
			status = NULL;
		}
	}
	/* Whatever is left of the output. */
	for (int i = 0; !c->json && i < 2; i++) {
		bool g = true;
		while (g && !streams[i].eof) {
			r = run_fetch(c, id, &streams[i], &g);
			if (r != 0)
				goto out;
		}
	}
	{
		struct proto_status_params stp = {.id = id};
		if (proto_status_params_encode(&stp, &params) < 0) {
			r = COOPCTL_EXIT_FAILED;
			goto out;
		}
		r = coopctl_call(c, "status", params, &status);
		if (r != 0)
			goto out;
	}
	if (c->json)
		coopctl_print_json(c, status);
	r = run_exit_status(c, status, timeout_ms, argv0);
	json_object_put(status);
out:
	free(id);
	return r;
}

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.usage = "[--timeout D] [--name N] [--env NAME=VALUE]... -- CMD [ARG...]",
	.summary = "run one command as a job; show its output, exit with its status",
	.exec = cmd_run_exec,
};
