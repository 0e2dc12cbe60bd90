/*
 * coopctl.c - the command table and what every command shares.
 *
 * coopctl_main() parses the global options (--socket, --json, --help,
 * --version), finds the command in cmd_table[] and runs its handler.  The
 * handlers open the connection lazily through coopctl_connect(), so a usage
 * error never needs a daemon, and make calls through coopctl_call(), which
 * turns a daemon error into a message and an exit code in one place.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "coopctl.h"
#include "proto-rpc.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_submit_entry,
	&cmd_run_entry,
	&cmd_status_entry,
	&cmd_list_entry,
	&cmd_wait_entry,
	&cmd_cancel_entry,
	&cmd_logs_entry,
	&cmd_watch_entry,
	&cmd_stats_entry,
	&cmd_metrics_entry,
	&cmd_version_entry,
	&cmd_ping_entry,
	&cmd_remove_entry,
	&cmd_rerun_entry,
	&cmd_map_entry,
	&cmd_top_entry,
	&cmd_pause_entry,
	&cmd_resume_entry,
	NULL,
};

const struct cmd_entry *cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

/* Optimal string alignment distance (Levenshtein plus the swap of two
 * neighbours, the commonest typo: "stauts"), bounded: names are short, and
 * anything longer than the buffer is simply not close. */
static size_t cmd_distance(const char *a, const char *b)
{
	enum { MAX = 32 };
	size_t la = strlen(a), lb = strlen(b), d[MAX + 1][MAX + 1];

	if (la > MAX || lb > MAX)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1, best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

static size_t cmd_len_diff(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la > lb ? la - lb : lb - la;
}

const struct cmd_entry *cmd_suggest(const char *name)
{
	const struct cmd_entry *best = NULL;
	size_t best_d = SIZE_MAX, best_skew = SIZE_MAX, len = strlen(name);
	bool tie = false;

	/* A unique prefix ("stat" is not one: status, stats) is a good guess. */
	for (size_t i = 0; len >= 2 && cmd_table[i]; i++) {
		if (strncmp(cmd_table[i]->name, name, len) != 0)
			continue;
		tie = best != NULL;
		best = cmd_table[i];
	}
	if (best && !tie)
		return best;
	best = NULL;
	tie = false;
	/* Else the nearest name, if it is near: at most 2 edits, and fewer
	 * than half the typed name's length, so "xy" suggests nothing. */
	for (size_t i = 0; cmd_table[i]; i++) {
		size_t d = cmd_distance(name, cmd_table[i]->name);
		size_t skew = cmd_len_diff(name, cmd_table[i]->name);

		/* Equally near: the one of the typed length wins ("stauts" is a
		 * swap away from status, a deletion away from stats). */
		if (d < best_d || (d == best_d && skew < best_skew)) {
			best_d = d;
			best_skew = skew;
			best = cmd_table[i];
			tie = false;
		} else if (d == best_d && skew == best_skew) {
			tie = true;
		}
	}
	if (!best || tie || best_d > 2 || best_d * 2 >= len)
		return NULL;
	return best;
}

static void coopctl_help(FILE *out)
{
	fprintf(out, "Usage: coopctl [--socket PATH] [--json] COMMAND [ARG...]\n"
		     "\n"
		     "Submits job graphs to coopd and follows them.\n"
		     "\n"
		     "Options:\n"
		     "  -s, --socket PATH  the daemon's socket (default: $COOPD_SOCKET, then\n"
		     "                     $XDG_RUNTIME_DIR/coopd.sock if it exists, then\n"
		     "                     /run/coopd/coopd.sock)\n"
		     "  -j, --json         print the daemon's answers as JSON\n"
		     "  -h, --help         show this help (or COMMAND --help)\n"
		     "  -V, --version      show coopctl's version\n"
		     "\n"
		     "Commands:\n");
	for (size_t i = 0; cmd_table[i]; i++)
		fprintf(out, "  %s%s%s\n      %s\n", cmd_table[i]->name,
			*cmd_table[i]->usage ? " " : "", cmd_table[i]->usage,
			cmd_table[i]->summary);
	fprintf(out, "\nDurations: 500ms, 5s, 1.5s, 2m, 1h30m.\n"
		     "Exit status: 0 success, 1 the work failed or was cancelled, 2 bad usage\n"
		     "or invalid graph, 3 cannot reach the daemon; run: the command's own,\n"
		     "127 not found, 126 not executable.\n");
}

int coopctl_parse_args(int argc, char **argv, struct coopctl_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct coopctl_args a = {0};
	int ch;

	optind = 0; /* glibc: full re-initialisation */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:s:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (!*optarg) {
				fprintf(err, "coopctl: --socket needs a path\n");
				return -EINVAL;
			}
			a.socket = optarg;
			break;
		case 'j':
			a.json = true;
			break;
		case 'h':
			a.help = true;
			break;
		case 'V':
			a.version = true;
			break;
		case ':':
			fprintf(err, "coopctl: option '%s' needs an argument\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(err, "coopctl: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	a.cmd_index = optind;
	*ret = a;
	return 0;
}

int coopctl_take_late_globals(const struct cmd_entry *e, int argc, char **argv, int cmd_index,
			      struct coopctl_args *a)
{
	int out = cmd_index + 1;

	/* run, map: everything after their own options is the command's
	 * (and map's -j is its number of jobs). */
	if (strcmp(e->name, "run") == 0 || strcmp(e->name, "map") == 0)
		return argc;
	for (int i = cmd_index + 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		/* The value of a command option is never one of ours. */
		if (i + 1 < argc &&
		    (!strcmp(arg, "--reason") || !strcmp(arg, "-r") || !strcmp(arg, "--grace") ||
		     !strcmp(arg, "-g") || !strcmp(arg, "--timeout") || !strcmp(arg, "-t") ||
		     !strcmp(arg, "--format") || !strcmp(arg, "-f"))) {
			argv[out++] = argv[i++];
			argv[out++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--json") == 0 || strcmp(arg, "-j") == 0) {
			a->json = true;
			continue;
		}
		if (strcmp(arg, "--socket") == 0 || strcmp(arg, "-s") == 0) {
			if (i + 1 >= argc || !*argv[i + 1]) {
				fprintf(stderr, "coopctl: option '%s' needs an argument\n", arg);
				return -1;
			}
			a->socket = argv[++i];
			continue;
		}
		if (strncmp(arg, "--socket=", 9) == 0) {
			if (!arg[9]) {
				fprintf(stderr, "coopctl: --socket needs a path\n");
				return -1;
			}
			a->socket = arg + 9;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

void coopctl_err(const struct coopctl *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (c && c->cmd_name)
		fprintf(stderr, "coopctl %s: ", c->cmd_name);
	else
		fputs("coopctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int coopctl_connect(struct coopctl *c)
{
	struct client_sockets s;
	char tried[2048];
	int r;

	if (c->conn)
		return 0;
	r = client_sockets_resolve(c->socket_opt, getenv(PROTO_SOCKET_ENV),
				   getenv("XDG_RUNTIME_DIR"), geteuid(), path_exists, &s);
	if (r < 0) {
		coopctl_err(c, "%s", strerror(-r));
		return COOPCTL_EXIT_FAILED;
	}
	r = client_conn_open(&s, &c->conn);
	if (r < 0) {
		client_sockets_describe(&s, tried, sizeof(tried));
		coopctl_err(
			c, "cannot reach coopd (tried %s)%s", tried,
			r == -ENOENT || r == -ECONNREFUSED
				? "; is coopd running? Start it with 'coopd' or pass --socket PATH"
				: "");
		client_sockets_free(&s);
		return COOPCTL_EXIT_UNREACHABLE;
	}
	client_sockets_free(&s);
	return 0;
}

/* Prints a daemon error: its message and, for graph validation, the path
 * into the document and the reason. */
void coopctl_print_rpc_error(const struct coopctl *c, const struct client_reply *rep)
{
	struct json_object *path = NULL, *reason = NULL;
	const char *p = NULL, *why = NULL;

	if (rep->err_data && json_object_is_type(rep->err_data, json_type_object)) {
		if (json_object_object_get_ex(rep->err_data, "path", &path) &&
		    json_object_is_type(path, json_type_string))
			p = json_object_get_string(path);
		if (json_object_object_get_ex(rep->err_data, "reason", &reason) &&
		    json_object_is_type(reason, json_type_string))
			why = json_object_get_string(reason);
	}
	/* A rejected graph says so first: the path alone reads like a
	 * coopctl usage problem. */
	const char *what =
		rep->err_code == PROTO_ERR_INVALID_PARAMS && c && c->cmd_name &&
				(!strcmp(c->cmd_name, "submit") || !strcmp(c->cmd_name, "run"))
			? "invalid graph: "
			: "";

	if (*what) {
		if (p && *p)
			coopctl_err(c, "%sat %s: %s (error %d)", what, p,
				    why ? why : rep->err_message, rep->err_code);
		else
			coopctl_err(c, "%s%s (error %d)", what, why ? why : rep->err_message,
				    rep->err_code);
	} else if (why && (!rep->err_message || strcmp(why, rep->err_message) != 0)) {
		if (p && *p)
			coopctl_err(c, "%s: at %s: %s (error %d)", rep->err_message, p, why,
				    rep->err_code);
		else
			coopctl_err(c, "%s: %s (error %d)", rep->err_message, why, rep->err_code);
	} else if (p && *p) {
		coopctl_err(c, "at %s: %s (error %d)", p, rep->err_message, rep->err_code);
	} else {
		coopctl_err(c, "%s (error %d)", rep->err_message, rep->err_code);
	}
}

int coopctl_take_reply(struct coopctl *c, int r, struct client_reply *rep,
		       struct json_object **ret_result)
{
	if (r < 0) {
		if (r == -EINTR)
			return 130; /* interrupted by a signal the command handles */
		if (r == -ECONNRESET || r == -EPIPE) {
			coopctl_err(c, "coopd at %s closed the connection",
				    client_conn_path(c->conn));
			return COOPCTL_EXIT_UNREACHABLE;
		}
		coopctl_err(c, "talking to coopd at %s: %s", client_conn_path(c->conn),
			    r == -EPROTO ? "malformed answer" : strerror(-r));
		return COOPCTL_EXIT_FAILED;
	}
	if (!rep->result) {
		coopctl_print_rpc_error(c, rep);
		r = client_exit_for_error(rep->err_code);
		client_reply_clear(rep);
		return r;
	}
	*ret_result = rep->result;
	rep->result = NULL;
	client_reply_clear(rep);
	return 0;
}

int coopctl_call(struct coopctl *c, const char *method, struct json_object *params,
		 struct json_object **ret_result)
{
	struct client_reply rep = {0};
	int r;

	r = coopctl_connect(c);
	if (r != 0) {
		if (params)
			json_object_put(params);
		return r;
	}
	r = client_conn_call(c->conn, method, params, &rep);
	return coopctl_take_reply(c, r, &rep, ret_result);
}

void coopctl_print_json(const struct coopctl *c, struct json_object *result)
{
	(void)c;
	fputs(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
}

/* Colour only on a terminal, and never with NO_COLOR or TERM=dumb. */
static bool want_color(bool tty)
{
	const char *term = getenv("TERM");
	const char *no = getenv("NO_COLOR");

	if (!tty || (no && *no))
		return false;
	return !term || strcmp(term, "dumb") != 0;
}

int coopctl_main(int argc, char **argv)
{
	struct coopctl_args a;
	struct coopctl c = {0};
	const struct cmd_entry *e;
	int r;

	(void)setlocale(LC_CTYPE, "");
	if (coopctl_parse_args(argc, argv, &a, stderr) < 0) {
		fprintf(stderr, "Try 'coopctl --help'.\n");
		return COOPCTL_EXIT_USAGE;
	}
	if (a.help) {
		coopctl_help(stdout);
		return COOPCTL_EXIT_OK;
	}
	if (a.version) {
		printf("coopctl %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
		return COOPCTL_EXIT_OK;
	}
	if (a.cmd_index >= argc) {
		coopctl_help(stderr);
		return COOPCTL_EXIT_USAGE;
	}
	if (strcmp(argv[a.cmd_index], "help") == 0) {
		if (a.cmd_index + 1 < argc && (e = cmd_find(argv[a.cmd_index + 1])) != NULL) {
			printf("Usage: coopctl %s %s\n  %s\n", e->name, e->usage, e->summary);
			return COOPCTL_EXIT_OK;
		}
		coopctl_help(stdout);
		return COOPCTL_EXIT_OK;
	}
	e = cmd_find(argv[a.cmd_index]);
	if (!e) {
		const struct cmd_entry *near = cmd_suggest(argv[a.cmd_index]);

		if (near)
			fprintf(stderr,
				"coopctl: unknown command '%s'. Did you mean '%s'? Try 'coopctl "
				"--help'.\n",
				argv[a.cmd_index], near->name);
		else
			fprintf(stderr, "coopctl: unknown command '%s'. Try 'coopctl --help'.\n",
				argv[a.cmd_index]);
		return COOPCTL_EXIT_USAGE;
	}
	argc = coopctl_take_late_globals(e, argc, argv, a.cmd_index, &a);
	if (argc < 0)
		return COOPCTL_EXIT_USAGE;
	c.socket_opt = a.socket;
	c.json = a.json;
	c.tty = isatty(STDOUT_FILENO) == 1;
	c.color = want_color(c.tty);
	c.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	c.cmd_name = e->name;
	r = e->exec(&c, argc - a.cmd_index, argv + a.cmd_index);
	client_conn_free(c.conn);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE)
			fprintf(stderr, "coopctl: writing to standard output: %s\n",
				strerror(errno));
		if (r == 0)
			r = COOPCTL_EXIT_FAILED;
	}
	return r;
}

int coopctl_parsed(const struct cmd_entry *e, int r)
{
	if (r == 0)
		return -1;
	if (r > 0) {
		printf("Usage: coopctl %s %s\n  %s\n", e->name, e->usage, e->summary);
		return COOPCTL_EXIT_OK;
	}
	fprintf(stderr, "Usage: coopctl %s %s\n", e->name, e->usage);
	return COOPCTL_EXIT_USAGE;
}

int cmd_opt_error(FILE *err, const char *cmd, int ch, char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		fprintf(err, "coopctl %s: option '%s' needs an argument\n", cmd, opt);
	else if (optopt && optopt != '?')
		fprintf(err, "coopctl %s: unknown option '-%c'\n", cmd, optopt);
	else
		fprintf(err, "coopctl %s: unknown option '%s'\n", cmd, opt);
	return -EINVAL;
}

int cmd_operands(FILE *err, const char *cmd, int argc, char **argv, int min, int max,
		 const char *missing)
{
	int n = argc - optind;

	if (n < min) {
		fprintf(err, "coopctl %s: %s\n", cmd, missing);
		return -EINVAL;
	}
	if (n > max) {
		fprintf(err, "coopctl %s: unexpected argument '%s'\n", cmd, argv[optind + max]);
		return -EINVAL;
	}
	return n;
}
