/*
 * coopd-config.h - the daemon's settings: command line, config file and the
 * embedded defaults (enough for `coopd` alone, run by an ordinary user).
 *
 * Precedence: command line > config file > environment (COOPD_SOCKET,
 * XDG_RUNTIME_DIR, XDG_STATE_HOME) > built-in defaults.
 */
#ifndef COOPD_CONFIG_H
#define COOPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto-rpc.h"

struct coopd_config {
	char *socket_path; /* NULL until resolved by config_finish() */
	char *config_file;
	char *state_dir;
	char *metrics_listen;               /* ADDR:PORT of HTTP /metrics, NULL: not served */
	unsigned workers;                   /* 0: online CPUs */
	unsigned blocking_threads;          /* 0: libcoop's default (64) */
	unsigned blocking_threads_per_user; /* 0: half of the pool (at least 1) */
	unsigned ignore_cancel_max_ms;      /* run-to-completion after a cancel; 0: no bound */
	bool foreground;
	int log_level;

	struct proto_limits limits;
	size_t max_connections;
	size_t max_connections_per_user;  /* non-root uids: each one's share */
	size_t root_reserved_connections; /* of max_connections, for root only */
	size_t max_input_bytes_per_user;  /* unfinished request bytes, one uid */
	size_t max_input_bytes;           /* the same, every connection together */
	unsigned message_timeout_ms;      /* to finish a started line; 0: none */
	unsigned idle_timeout_ms;         /* nothing in flight; 0: none */
	size_t event_queue_bytes;         /* bounded output per connection (events) */
	size_t answer_backlog;            /* stop reading a client with this much unsent */
	size_t answer_bytes_per_user;     /* one uid's connections dispatch no line beyond */
	size_t parse_thread_bytes;        /* lines this long are parsed off the loop */
	size_t max_pending_per_conn;      /* wait requests in flight on one connection */
	size_t log_cap;                   /* bytes kept per job stream (the first ones) */
	uint64_t log_bytes_per_user;      /* log bytes of one user's active graphs */
	size_t max_active_per_user;
	uint64_t max_active_nodes_per_user; /* nodes of those graphs, per user */
	uint64_t max_active_bytes_per_user; /* bytes of their documents, per user */
	unsigned retention_days;            /* prune finished graphs older than this; 0: never */
	size_t retention_graphs;            /* finished graphs kept per user */
	uint64_t retention_nodes;           /* nodes of finished graphs kept per user */
	uint64_t retention_bytes; /* bytes (documents, logs) of finished graphs kept per user */
	unsigned shutdown_timeout_ms;
	unsigned journal_flush_ms;
	bool fsync;             /* false only for benchmarks: sync = off */
	int cgroups;            /* CONFIG_CGROUPS_*: a cgroup per exec job */
	char *cgroup_root;      /* cgroup2 directory for coopd's cgroups, NULL: auto */
	bool slurm;             /* exec nodes may be placed on Slurm (docs/slurm.md) */
	char *slurm_bin_dir;    /* where sbatch, squeue, scontrol, scancel are; NULL: PATH */
	char *slurm_spool_dir;  /* job scripts and output; NULL: STATE/slurm */
	unsigned slurm_poll_ms; /* period of the one squeue for all jobs */
};

enum { CONFIG_CGROUPS_AUTO, CONFIG_CGROUPS_ON, CONFIG_CGROUPS_OFF };

/* Fills the defaults. */
void config_init(struct coopd_config *cfg);
void config_free(struct coopd_config *cfg);

/* Parses argv.  Returns 0 to run, 1 when the program should exit 0 (after
 * --help or --version), -EINVAL after printing a usage error to stderr. */
int config_parse_args(struct coopd_config *cfg, int argc, char **argv);

/* Reads "key = value" lines ('#' comments).  Unknown keys and bad values
 * are errors (logged with the file and line).  Keys set on the command
 * line are not overridden. */
int config_load_file(struct coopd_config *cfg, const char *path);

/* SIGHUP: reads cfg->config_file again into a fresh configuration and, if
 * it is valid, takes over the keys that can change at runtime (limits,
 * retention, shutdown bound, journal delay, log level; see coopd.conf(5)).
 * Keys only read at start-up keep their values; a change to one is logged.
 * On any error cfg is left untouched (the error is logged with the file
 * and line).  -ENOENT: there is no config file. */
int config_reload(struct coopd_config *cfg);

/* Resolves the socket path and state directory from the environment when
 * they were not given.  Logs and returns a negative errno on failure. */
int config_finish(struct coopd_config *cfg);

#endif
