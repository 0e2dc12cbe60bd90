/*
 * coopctl.h - what the pieces of coopctl share.
 *
 * coopctl is built like tmux's command layer: coopctl.c parses the global
 * options and dispatches through cmd_table[] to one cmd-<name>.c per command.
 * Each command file exports one struct cmd_entry: its name, a usage line, a
 * one-line summary and a handler.  A handler parses its own arguments (the
 * parse step is a separate, pure function so the unit tests can reach it),
 * talks to coopd through client-conn.c and prints through client-output.c.
 *
 * Exit codes (coopctl(1), EXIT STATUS) are the enum below; every handler returns one.
 */
#ifndef COOPCTL_H
#define COOPCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;
struct client_conn;

/* Exit codes of coopctl (coopctl(1), EXIT STATUS).  `run` also exits with the
 * command's own status. */
enum coopctl_exit {
	COOPCTL_EXIT_OK = 0,          /* success */
	COOPCTL_EXIT_FAILED = 1,      /* the work failed or was cancelled; other errors */
	COOPCTL_EXIT_USAGE = 2,       /* bad usage, invalid graph, rejected request */
	COOPCTL_EXIT_UNREACHABLE = 3, /* cannot reach the daemon */
};

/* Global state handed to every command handler. */
struct coopctl {
	const char *socket_opt;   /* --socket, or NULL */
	bool json;                /* --json: print the daemon's results verbatim */
	bool tty;                 /* stdout is a terminal */
	bool color;               /* colour escapes allowed on stdout */
	bool utf8;                /* the locale can show tree glyphs */
	const char *cmd_name;     /* the command being run, for messages */
	struct client_conn *conn; /* opened on first use by coopctl_connect() */
};

/* One command of the table. */
struct cmd_entry {
	const char *name;
	const char *usage;   /* arguments after the name */
	const char *summary; /* one line for `coopctl --help` */
	/* Runs the command.  argv[0] is the command name; getopt-style parsing
	 * starts at argv[1].  Returns an enum coopctl_exit value (or, for
	 * `run`, the job's own status). */
	int (*exec)(struct coopctl *c, int argc, char **argv);
};

extern const struct cmd_entry cmd_submit_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_list_entry;
extern const struct cmd_entry cmd_wait_entry;
extern const struct cmd_entry cmd_cancel_entry;
extern const struct cmd_entry cmd_logs_entry;
extern const struct cmd_entry cmd_watch_entry;
extern const struct cmd_entry cmd_stats_entry;
extern const struct cmd_entry cmd_metrics_entry;
extern const struct cmd_entry cmd_version_entry;
extern const struct cmd_entry cmd_ping_entry;
extern const struct cmd_entry cmd_remove_entry;
extern const struct cmd_entry cmd_rerun_entry;
extern const struct cmd_entry cmd_map_entry;
extern const struct cmd_entry cmd_top_entry;
extern const struct cmd_entry cmd_pause_entry;
extern const struct cmd_entry cmd_resume_entry;

/* The table, NULL-terminated, in the order `--help` lists it. */
extern const struct cmd_entry *const cmd_table[];

/* Looks a command up by its exact name; NULL when unknown. */
const struct cmd_entry *cmd_find(const char *name);

/* The command a mistyped name most likely meant ("stauts" -> status): a
 * unique command it is a prefix of, else the one nearest by edit distance
 * when that is close and unambiguous; NULL otherwise. */
const struct cmd_entry *cmd_suggest(const char *name);

/* Global options as parsed from the command line (coopctl.c). */
struct coopctl_args {
	const char *socket;
	bool json;
	bool help;
	bool version;
	int cmd_index; /* index in argv of the command name; argc when absent */
};

/* Parses the global options up to the command name.  Returns 0, or -EINVAL
 * after printing a message to err. */
int coopctl_parse_args(int argc, char **argv, struct coopctl_args *ret, FILE *err);

/* Lets --json/-j and --socket/-s PATH follow the command name too
 * (`coopctl status ID --json`): takes them out of argv (after cmd_index,
 * up to a "--"; not for `run`, whose arguments are the job's) into *a.
 * Returns the new argc, or -1 after printing a message. */
int coopctl_take_late_globals(const struct cmd_entry *e, int argc, char **argv, int cmd_index,
			      struct coopctl_args *a);

/* The whole program: what main() runs.  Returns the exit code. */
int coopctl_main(int argc, char **argv);

/* Opens the connection on first use (c->conn).  On failure prints the
 * message naming every path tried and returns COOPCTL_EXIT_UNREACHABLE;
 * returns 0 on success. */
int coopctl_connect(struct coopctl *c);

/* Prints "coopctl CMD: " and a formatted message to stderr. */
void coopctl_err(const struct coopctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Calls method with params (ownership taken, may be NULL) and waits for its
 * answer.  On success stores the result (owned by the caller) in
 * *ret_result and returns 0.  On failure prints the error (a daemon error
 * with its code, message and, for graph validation, path and reason) and
 * returns the exit code it maps to (never 0).
 */
int coopctl_call(struct coopctl *c, const char *method, struct json_object *params,
		 struct json_object **ret_result);

struct client_reply;

/* Finishes a request: r is what client_conn_wait_reply() (or _call())
 * returned and rep its answer.  Returns 0 with the result in *ret_result,
 * or prints the failure (transport error, or daemon error with path and
 * reason) and returns its exit code.  rep is cleared either way. */
int coopctl_take_reply(struct coopctl *c, int r, struct client_reply *rep,
		       struct json_object **ret_result);

/* Prints a daemon error to stderr: message, path and reason, code. */
void coopctl_print_rpc_error(const struct coopctl *c, const struct client_reply *rep);

/* Turns a cmd_X_parse() return into an exit code: 1 (help asked for)
 * prints the usage to stdout and gives 0, a negative value gives
 * COOPCTL_EXIT_USAGE (the message was printed), 0 gives -1 ("go on"). */
int coopctl_parsed(const struct cmd_entry *e, int r);

/* Prints a getopt error ("unknown option", "needs an argument") for the
 * command to err and returns -EINVAL. */
int cmd_opt_error(FILE *err, const char *cmd, int ch, char **argv);

/* Checks the operands left after getopt (argv[optind] on): fewer than min
 * prints "coopctl CMD: MISSING", more than max names the first one too
 * many; both return -EINVAL.  Otherwise returns how many there are. */
int cmd_operands(FILE *err, const char *cmd, int argc, char **argv, int min, int max,
		 const char *missing);

/* Prints a result as one line of JSON, as the daemon sent it. */
void coopctl_print_json(const struct coopctl *c, struct json_object *result);

/* Options shared by commands that follow a graph to its end (wait, submit
 * --wait/--follow, cancel --wait). */
enum follow_mode {
	FOLLOW_AUTO,              /* progress bar on a terminal, plain lines otherwise */
	FOLLOW_EVENTS,            /* one line per state change (submit --follow) */
	FOLLOW_EVENTS_SUBSCRIBED, /* the same, the connection already watches */
};

/* Prints one watch event's params for people (or as JSON with --json) if it
 * belongs to graph id (NULL: any). */
void cmd_wait_print_event(struct coopctl *c, const char *id, struct json_object *params);

/* Waits for graph id to settle, showing progress as mode says (nothing with
 * --json), then prints the outcome (the final status verbatim with --json).
 * timeout_ms 0 waits forever; otherwise, when it passes first, the status as
 * it stands is shown and COOPCTL_EXIT_FAILED returned.  Returns the exit code
 * for the final state (cmd-wait.c). */
int cmd_wait_follow(struct coopctl *c, const char *id, enum follow_mode mode, uint64_t timeout_ms);

/* Parsed arguments of each command, kept apart from the handlers so the unit
 * tests can check parsing without a daemon.  Each cmd_X_parse() returns 0,
 * 1 for --help, or -EINVAL after printing a message to err.  Strings point
 * into argv. */
struct cmd_submit_args {
	const char *file; /* "-" for standard input */
	bool wait;
	bool follow;
};
int cmd_submit_parse(int argc, char **argv, struct cmd_submit_args *ret, FILE *err);

struct cmd_run_args {
	uint64_t timeout_ms; /* 0: none */
	const char *name;    /* NULL: the command's basename */
	char **env;          /* NAME=VALUE items from --env (malloc()ed array of pointers
			      * into argv, NULL-terminated; cmd_run_args_free()) */
	int n_env;
	char **argv; /* the command, pointing into the caller's argv */
	int argc;
};
int cmd_run_parse(int argc, char **argv, struct cmd_run_args *ret, FILE *err);
/* The exit status of `run` for a job that did not start, from the node's
 * error text: 127 for a command not found, 126 for one that could not be
 * executed (as shells and env(1)), else COOPCTL_EXIT_FAILED. */
int cmd_run_spawn_status(const char *argv0, const char *error);
void cmd_run_args_free(struct cmd_run_args *a);

/* map: bounds on what one command line or standard input may ask for (the
 * daemon's max_nodes and max_request_bytes apply on top). */
#define CMD_MAP_MAX_JOBS 100000
#define CMD_MAP_MAX_ITEMS 1000000
struct cmd_map_args {
	int jobs;            /* -j; 0: online CPUs */
	const char *name;    /* NULL: "map CMD" */
	uint64_t timeout_ms; /* per job; 0: none */
	bool null;           /* -0: stdin items end with NUL, not newline */
	char **argv;         /* the command, pointing into the caller's argv */
	int argc;
	bool has_items; /* ::: was given */
	char **items;
	int n_items;
};
int cmd_map_parse(int argc, char **argv, struct cmd_map_args *ret, FILE *err);
/* Whether any argument holds a placeholder ({}, {.}, {/}, {//}, {/.}). */
int cmd_map_has_placeholder(char **argv, int argc);
/* arg with every placeholder replaced by its part of item (malloc()ed;
 * NULL without memory). */
char *cmd_map_substitute(const char *arg, const char *item);
/* The graph: one exec node per item, ids "1".."n", max_parallel a->jobs,
 * policy all_settled; the item is appended as the last argument when no
 * argument holds a placeholder.  Returns 0 or -ENOMEM. */
int cmd_map_graph(const struct cmd_map_args *a, const char *const *items, size_t n, const char *cwd,
		  struct json_object **ret);
/* Splits text (len bytes, NUL-terminated after them; modified) at sep into
 * items; a last separator ends the last item rather than starting an empty
 * one.  *ret_items is malloc()ed, the items point into text.  Returns 0,
 * -E2BIG beyond CMD_MAP_MAX_ITEMS, -EINVAL for a NUL inside a line, or
 * -ENOMEM. */
int cmd_map_split(char *text, size_t len, char sep, char ***ret_items, size_t *ret_n);

struct cmd_top_args {
	uint64_t delay_ms; /* -d: between refreshes (1s) */
	long iterations;   /* -n: stop after this many; 0: until q */
};
int cmd_top_parse(int argc, char **argv, struct cmd_top_args *ret, FILE *err);

/* Graphs whose whole status `top` fetches, at most. */
#define CMD_TOP_MAX_STATUSES 8
/* What one screen of `top` is drawn from: the daemon's answers (owned by
 * the caller) and the terminal. */
struct top_view {
	struct json_object *stats, *prev_stats;             /* prev_stats: NULL at first */
	double dt_s;                                        /* between the two stats */
	struct json_object *list;                           /* active graphs */
	struct json_object *statuses[CMD_TOP_MAX_STATUSES]; /* of some of them */
	size_t n_statuses;
	int rows, cols;
	bool tty;          /* in place, with escapes; else plain text */
	const char *where; /* the socket, for the header */
	int64_t now_ms;    /* wall clock, for running times */
};
/* Draws one screen, every line cut to v->cols, at most v->rows lines. */
void cmd_top_render(FILE *out, const struct top_view *v);
/* One plain line (not a terminal). */
void cmd_top_plain_line(FILE *out, const struct top_view *v);

struct cmd_status_args {
	const char *id; /* NULL: list */
	bool summary;
	bool all;
	bool dot; /* --format dot */
};
int cmd_status_parse(int argc, char **argv, struct cmd_status_args *ret, FILE *err);

struct cmd_list_args {
	bool all;
};
int cmd_list_parse(int argc, char **argv, struct cmd_list_args *ret, FILE *err);

struct cmd_wait_args {
	const char *id;
	uint64_t timeout_ms; /* 0: none */
};
int cmd_wait_parse(int argc, char **argv, struct cmd_wait_args *ret, FILE *err);

struct cmd_cancel_args {
	const char *id;
	const char *node; /* NULL: the whole graph */
	bool has_grace;
	uint64_t grace_ms;
	const char *reason; /* NULL: the daemon's default ("client") */
	bool wait;
};
int cmd_cancel_parse(int argc, char **argv, struct cmd_cancel_args *ret, FILE *err);

struct cmd_logs_args {
	const char *id;
	const char *node;
	bool stderr_stream;
	bool follow;
	unsigned long attempt; /* --attempt N (from 1); 0: the last */
};
int cmd_logs_parse(int argc, char **argv, struct cmd_logs_args *ret, FILE *err);

struct cmd_watch_args {
	const char *id; /* NULL: every graph the user may see */
};
int cmd_watch_parse(int argc, char **argv, struct cmd_watch_args *ret, FILE *err);

struct cmd_remove_args {
	char **ids; /* into argv */
	int n_ids;  /* >= 1 */
};
int cmd_remove_parse(int argc, char **argv, struct cmd_remove_args *ret, FILE *err);

struct cmd_rerun_args {
	const char *id;
	bool failed; /* --failed: reuse what succeeded */
	bool wait;
};
int cmd_rerun_parse(int argc, char **argv, struct cmd_rerun_args *ret, FILE *err);

struct cmd_pause_args {
	const char *id;
	const char *node; /* NULL: the whole graph */
};
/* pause and resume (name is the command's, for messages). */
int cmd_pause_parse(const char *name, int argc, char **argv, struct cmd_pause_args *ret, FILE *err);

/* Lists graphs (list, and status without an id); returns an exit code. */
int cmd_list_show(struct coopctl *c, bool all);

/* Commands without arguments (stats, metrics, version). */
int cmd_noargs_parse(int argc, char **argv, FILE *err);

struct proto_logs_params;
struct proto_logs_result;

/* One `logs` request for p: 0 with the decoded answer in *ret, which points
 * into *ret_result (the caller releases it), or, after printing why, an exit
 * code.  What `logs`, `run` and `map` read output with. */
int cmd_logs_fetch(struct coopctl *c, const struct proto_logs_params *p,
		   struct proto_logs_result *ret, struct json_object **ret_result);

/* Fetches a job's stream from its start and writes it to out (or, with
 * --json, each answer) until the daemon has nothing more right now, or,
 * with follow, until the stream has ended.  Returns 0 or an exit code
 * (cmd-logs.c). */
int cmd_logs_copy(struct coopctl *c, const char *id, const char *node, bool stderr_stream,
		  bool follow, FILE *out);
/* The same for one attempt (from 1; 0: the last) of a node with retries. */
int cmd_logs_copy_attempt(struct coopctl *c, const char *id, const char *node, unsigned attempt,
			  bool stderr_stream, bool follow, FILE *out);

#endif /* COOPCTL_H */
