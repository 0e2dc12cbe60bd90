/*
 * coopd-config.c - options, config file and defaults.
 *
 * The config file is deliberately small: "key = value" per line, '#'
 * starts a comment, unknown keys are rejected so that a typo never goes
 * unnoticed.  Every key is listed in --help and in coopd.conf(5).
 *
 * SIGHUP re-reads the file (config_reload()): the limits, retention,
 * shutdown bound, journal delay and log level change at once; the keys
 * that shape what was set up at start (socket, state_dir, workers,
 * blocking_threads, blocking_threads_per_user, metrics_listen, fsync,
 * cgroups, cgroup_root, slurm, slurm_bin_dir, slurm_spool_dir) keep their
 * values until a restart, and a change to them is logged as such.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopd-config.h"
#include "util-log.h"

/* Which options came from the command line (they win over the file). */
enum {
	SET_SOCKET = 1 << 0,
	SET_WORKERS = 1 << 1,
	SET_BLOCKING = 1 << 2,
	SET_STATE = 1 << 3,
	SET_METRICS = 1 << 4,
	SET_LOG_LEVEL = 1 << 5,
};
static unsigned cmdline_set;

void config_init(struct coopd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	proto_limits_default(&cfg->limits);
	cfg->log_level = LOG_INFO;
	cfg->max_connections = PROTO_DEFAULT_MAX_CONNECTIONS;
	cfg->max_connections_per_user = 64;
	cfg->root_reserved_connections = 8;
	cfg->max_input_bytes_per_user = 64u * 1024 * 1024;
	cfg->max_input_bytes = 512u * 1024 * 1024;
	cfg->message_timeout_ms = 30000;
	cfg->ignore_cancel_max_ms = 30000;
	cfg->idle_timeout_ms = 300000;
	cfg->event_queue_bytes = PROTO_DEFAULT_MAX_EVENT_QUEUE;
	cfg->answer_backlog = 64u * 1024 * 1024;
	cfg->answer_bytes_per_user = 256u * 1024 * 1024;
	cfg->parse_thread_bytes = 256u * 1024;
	cfg->max_pending_per_conn = 1024;
	cfg->log_cap = PROTO_DEFAULT_LOG_CAP;
	cfg->log_bytes_per_user = 10ull << 30;
	cfg->max_active_per_user = PROTO_DEFAULT_MAX_ACTIVE_PER_USER;
	/* One graph of the default max_nodes, about 2 GB of coopd's memory
	 * (docs/security.md, "Fair share"). */
	cfg->max_active_nodes_per_user = 1000000;
	/* At least one graph of the default max_request_bytes, whose stored
	 * text is at most 3 times the request (docs/security.md). */
	cfg->max_active_bytes_per_user = 1ull << 30;
	cfg->retention_days = PROTO_DEFAULT_RETENTION_DAYS;
	cfg->retention_graphs = PROTO_DEFAULT_RETENTION_GRAPHS;
	cfg->retention_nodes = 10000000;
	cfg->retention_bytes = 10ull << 30;
	cfg->shutdown_timeout_ms = 10000;
	cfg->journal_flush_ms = 50;
	cfg->fsync = true;
	cfg->slurm_poll_ms = 1000;
}

void config_free(struct coopd_config *cfg)
{
	free(cfg->socket_path);
	free(cfg->config_file);
	free(cfg->state_dir);
	free(cfg->metrics_listen);
	free(cfg->cgroup_root);
	free(cfg->slurm_bin_dir);
	free(cfg->slurm_spool_dir);
	memset(cfg, 0, sizeof(*cfg));
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: coopd [OPTION...]\n"
		"Run the coopd job-graph daemon (a scoped parallel executor behind a Unix "
		"socket).\n"
		"\n"
		"  -s, --socket PATH          listen on PATH (default: $COOPD_SOCKET, else\n"
		"                             /run/coopd/coopd.sock as root, else\n"
		"                             $XDG_RUNTIME_DIR/coopd.sock); ignored under\n"
		"                             systemd socket activation (LISTEN_FDS)\n"
		"  -c, --config FILE          read settings from FILE (keys below)\n"
		"  -w, --workers N            worker threads for tasks (default: online CPUs)\n"
		"  -b, --blocking-threads N   bound of the blocking pool (default: 64)\n"
		"  -d, --state-dir DIR        durable state (default: /var/lib/coopd as root,\n"
		"                             else $XDG_STATE_HOME/coopd or ~/.local/state/coopd)\n"
		"  -m, --metrics-listen ADDR:PORT\n"
		"                             serve Prometheus text at http://ADDR:PORT/metrics\n"
		"                             (numeric address: 127.0.0.1:9464, [::1]:9464)\n"
		"  -f, --foreground           stay in the foreground (coopd never forks; accepted\n"
		"                             for compatibility with init scripts)\n"
		"  -v, --verbose              log debug messages\n"
		"  -h, --help                 show this help and exit\n"
		"  -V, --version              show the version and exit\n"
		"\n"
		"Config file keys (\"key = value\", '#' comments; unknown keys are errors):\n"
		"  socket, state_dir, workers, blocking_threads, metrics_listen  as the options\n"
		"  max_request_bytes     largest request line (default 16777216)\n"
		"  max_nodes             nodes per graph (default 1000000)\n"
		"  max_scope_depth       scope nesting (default 64)\n"
		"  max_connections       simultaneous clients (default 256)\n"
		"  blocking_threads_per_user  blocking threads one user's jobs may hold at\n"
		"                        once (0: half of blocking_threads)\n"
		"  ignore_cancel_max_ms  how long an ignore_cancel job may go on once\n"
		"                        cancelled (30000; 0: to its end)\n"
		"  max_connections_per_user  connections of one non-root user (64)\n"
		"  root_reserved_connections  of max_connections, kept for root (8)\n"
		"  max_input_bytes_per_user  unfinished request bytes of one user (67108864)\n"
		"  max_input_bytes       unfinished request bytes, all clients (536870912)\n"
		"  message_timeout_ms    to finish a started request line (30000; 0: none)\n"
		"  idle_timeout_ms       a connection with nothing in flight is closed\n"
		"                        after (300000; 0: never)\n"
		"  event_queue_bytes     queued events per client before it is dropped (1048576)\n"
		"  max_pending_requests  wait/submit requests in flight per connection (1024)\n"
		"  answer_backlog_bytes  unsent answers at which a client is not read (67108864)\n"
		"  answer_bytes_per_user  unsent answers of all of one user's connections at\n"
		"                        which none of them dispatches a request (268435456)\n"
		"  parse_thread_bytes    request lines this long are parsed off the event loop\n"
		"                        (262144)\n"
		"  log_cap_bytes         bytes of stdout/stderr kept per job and stream (1048576)\n"
		"  log_bytes_per_user    log bytes kept of one user's running graphs "
		"(10737418240)\n"
		"  max_active_per_user   graphs not yet settled per user (10000)\n"
		"  max_active_nodes_per_user  nodes of those graphs, per user (1000000)\n"
		"  max_active_bytes_per_user  bytes of their documents, per user (1073741824)\n"
		"  retention_days        forget finished graphs and their logs after (7; 0: "
		"never)\n"
		"  retention_graphs      finished graphs kept per user (10000)\n"
		"  retention_nodes       nodes of finished graphs kept per user (10000000)\n"
		"  retention_bytes       bytes (documents, logs) of finished graphs kept per\n"
		"                        user (10737418240)\n"
		"  shutdown_timeout_ms   bound on the graceful stop (10000)\n"
		"  journal_flush_ms      delay before node state changes are written (50)\n"
		"  fsync                 yes|no: sync state to disk (yes; no is for benchmarks)\n"
		"  log_level             err, warning, notice, info or debug (info; -v: debug)\n"
		"  cgroups               auto|on|off: a cgroup v2 per exec job (auto: when\n"
		"                        writable; off: child subreaper tracking only)\n"
		"  cgroup_root           cgroup2 directory for coopd's cgroups (auto: its\n"
		"                        delegated cgroup, else the cgroup2 mount)\n"
		"  slurm                 on|off: exec nodes may be placed on Slurm (off)\n"
		"  slurm_bin_dir         where sbatch, squeue, scontrol and scancel are (PATH)\n"
		"  slurm_poll_ms         period of the one squeue for all Slurm jobs (1000)\n"
		"  slurm_spool_dir       Slurm jobs' scripts and output, a directory the\n"
		"                        cluster's nodes see too (STATE/slurm)\n"
		"\n"
		"SIGHUP re-reads the config file; socket, state_dir, workers, blocking_threads,\n"
		"blocking_threads_per_user, metrics_listen, fsync, cgroups, cgroup_root, slurm,\n"
		"slurm_bin_dir and slurm_spool_dir take effect on the next start only.\n");
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *p = strdup(v);

	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

/* ADDR:PORT with a port 1..65535 and a non-empty address. */
static bool listen_addr_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	unsigned long long port;

	return colon && colon != s && parse_uint(colon + 1, 65535, &port) == 0 && port > 0;
}

/* A command-line mistake: one line saying what, one saying where to look
 * (the help is 40-odd lines; printing it would bury the error). */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("coopd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'coopd --help' for more information.\n", stderr);
	return -EINVAL;
}

int config_parse_args(struct coopd_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"workers", required_argument, NULL, 'w'},
		{"blocking-threads", required_argument, NULL, 'b'},
		{"state-dir", required_argument, NULL, 'd'},
		{"metrics-listen", required_argument, NULL, 'm'},
		{"foreground", no_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long v;
	int c;

	/* getopt's own messages carry argv[0] (a libtool wrapper's path in the
	 * build tree) and would come before the help; coopd says what was
	 * wrong in one line and where to look instead (usage_error). */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:c:w:b:d:m:fvhV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!*optarg || set_str(&cfg->socket_path, optarg) < 0)
				goto bad;
			cmdline_set |= SET_SOCKET;
			break;
		case 'c':
			if (set_str(&cfg->config_file, optarg) < 0)
				goto bad;
			break;
		case 'w':
			if (parse_uint(optarg, 1024, &v) < 0 || v == 0)
				return usage_error("--workers wants a number 1..1024, not '%s'",
						   optarg);
			cfg->workers = (unsigned)v;
			cmdline_set |= SET_WORKERS;
			break;
		case 'b':
			if (parse_uint(optarg, 4096, &v) < 0 || v == 0)
				return usage_error(
					"--blocking-threads wants a number 1..4096, not '%s'",
					optarg);
			cfg->blocking_threads = (unsigned)v;
			cmdline_set |= SET_BLOCKING;
			break;
		case 'd':
			if (!*optarg || set_str(&cfg->state_dir, optarg) < 0)
				goto bad;
			cmdline_set |= SET_STATE;
			break;
		case 'm':
			if (!listen_addr_valid(optarg))
				return usage_error("--metrics-listen wants ADDR:PORT, not '%s'",
						   optarg);
			if (set_str(&cfg->metrics_listen, optarg) < 0)
				goto bad;
			cmdline_set |= SET_METRICS;
			break;
		case 'f':
			cfg->foreground = true;
			break;
		case 'v':
			cfg->log_level = LOG_DEBUG;
			cmdline_set |= SET_LOG_LEVEL;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("coopd %s (protocol %d)\n", PACKAGE_VERSION, PROTO_VERSION);
			return 1;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
bad:
	return usage_error("option '%s' needs a non-empty value", argv[optind - 1]);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static bool below(unsigned long long v, unsigned long long lo)
{
	return v < lo;
}

static const char *const log_level_names[] = {
	[LOG_ERR] = "err",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static int log_level_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof(log_level_names) / sizeof(log_level_names[0])); i++)
		if (log_level_names[i] && strcmp(s, log_level_names[i]) == 0)
			return i;
	return -EINVAL;
}

/* Applies one key; returns 0, -ENOENT (unknown key) or -EINVAL (bad value). */
static int config_set(struct coopd_config *cfg, const char *key, const char *val)
{
	unsigned long long v;

#define UINT_KEY(name, field, lo, hi)                            \
	if (strcmp(key, name) == 0) {                            \
		if (parse_uint(val, hi, &v) < 0 || below(v, lo)) \
			return -EINVAL;                          \
		cfg->field = v;                                  \
		return 0;                                        \
	}
	if (strcmp(key, "socket") == 0 || strcmp(key, "state_dir") == 0) {
		bool sock = key[1] == 'o';

		if (!*val)
			return -EINVAL;
		if (cmdline_set & (sock ? SET_SOCKET : SET_STATE))
			return 0;
		return set_str(sock ? &cfg->socket_path : &cfg->state_dir, val);
	}
	if (strcmp(key, "metrics_listen") == 0) {
		if (!listen_addr_valid(val))
			return -EINVAL;
		return (cmdline_set & SET_METRICS) ? 0 : set_str(&cfg->metrics_listen, val);
	}
	if (strcmp(key, "workers") == 0) {
		if (parse_uint(val, 1024, &v) < 0 || v == 0)
			return -EINVAL;
		if (!(cmdline_set & SET_WORKERS))
			cfg->workers = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "blocking_threads") == 0) {
		if (parse_uint(val, 4096, &v) < 0 || v == 0)
			return -EINVAL;
		if (!(cmdline_set & SET_BLOCKING))
			cfg->blocking_threads = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "log_level") == 0) {
		int level = log_level_parse(val);

		if (level < 0)
			return -EINVAL;
		if (!(cmdline_set & SET_LOG_LEVEL))
			cfg->log_level = level;
		return 0;
	}
	if (strcmp(key, "cgroups") == 0) {
		if (strcmp(val, "auto") == 0)
			cfg->cgroups = CONFIG_CGROUPS_AUTO;
		else if (strcmp(val, "on") == 0)
			cfg->cgroups = CONFIG_CGROUPS_ON;
		else if (strcmp(val, "off") == 0)
			cfg->cgroups = CONFIG_CGROUPS_OFF;
		else
			return -EINVAL;
		return 0;
	}
	if (strcmp(key, "cgroup_root") == 0)
		return val[0] == '/' ? set_str(&cfg->cgroup_root, val) : -EINVAL;
	if (strcmp(key, "slurm") == 0) {
		if (strcmp(val, "on") == 0)
			cfg->slurm = true;
		else if (strcmp(val, "off") == 0)
			cfg->slurm = false;
		else
			return -EINVAL;
		return 0;
	}
	if (strcmp(key, "slurm_bin_dir") == 0)
		return val[0] == '/' ? set_str(&cfg->slurm_bin_dir, val) : -EINVAL;
	if (strcmp(key, "slurm_spool_dir") == 0)
		return val[0] == '/' ? set_str(&cfg->slurm_spool_dir, val) : -EINVAL;
	UINT_KEY("slurm_poll_ms", slurm_poll_ms, 10, 3600000)
	if (strcmp(key, "fsync") == 0) {
		if (strcmp(val, "yes") == 0)
			cfg->fsync = true;
		else if (strcmp(val, "no") == 0)
			cfg->fsync = false;
		else
			return -EINVAL;
		return 0;
	}
	UINT_KEY("max_request_bytes", limits.max_request, 1024, 1ull << 30)
	UINT_KEY("max_nodes", limits.max_nodes, 1, 100000000)
	UINT_KEY("max_connections", max_connections, 1, 1000000)
	UINT_KEY("blocking_threads_per_user", blocking_threads_per_user, 0, 4096)
	UINT_KEY("ignore_cancel_max_ms", ignore_cancel_max_ms, 0, 86400000)
	UINT_KEY("max_connections_per_user", max_connections_per_user, 1, 1000000)
	UINT_KEY("root_reserved_connections", root_reserved_connections, 0, 1000000)
	UINT_KEY("max_input_bytes_per_user", max_input_bytes_per_user, 1024, 1ull << 40)
	UINT_KEY("max_input_bytes", max_input_bytes, 1024, 1ull << 40)
	UINT_KEY("message_timeout_ms", message_timeout_ms, 0, 86400000)
	UINT_KEY("idle_timeout_ms", idle_timeout_ms, 0, 86400000)
	UINT_KEY("event_queue_bytes", event_queue_bytes, 4096, 1ull << 32)
	UINT_KEY("max_pending_requests", max_pending_per_conn, 1, 1000000)
	UINT_KEY("answer_backlog_bytes", answer_backlog, 1, 1ull << 40)
	UINT_KEY("answer_bytes_per_user", answer_bytes_per_user, 1, 1ull << 40)
	UINT_KEY("parse_thread_bytes", parse_thread_bytes, 1024, 1ull << 30)
	UINT_KEY("log_cap_bytes", log_cap, 0, 1ull << 40)
	UINT_KEY("log_bytes_per_user", log_bytes_per_user, 0, 1ull << 50)
	UINT_KEY("max_active_per_user", max_active_per_user, 1, 100000000)
	UINT_KEY("max_active_nodes_per_user", max_active_nodes_per_user, 1, 1ull << 40)
	UINT_KEY("max_active_bytes_per_user", max_active_bytes_per_user, 1, 1ull << 50)
	UINT_KEY("retention_days", retention_days, 0, 36500)
	UINT_KEY("retention_graphs", retention_graphs, 0, 100000000)
	UINT_KEY("retention_nodes", retention_nodes, 1, 1ull << 40)
	UINT_KEY("retention_bytes", retention_bytes, 1, 1ull << 50)
	UINT_KEY("shutdown_timeout_ms", shutdown_timeout_ms, 0, 3600000)
	UINT_KEY("journal_flush_ms", journal_flush_ms, 0, 60000)
	if (strcmp(key, "max_scope_depth") == 0) {
		if (parse_uint(val, 1024, &v) < 0 || v == 0)
			return -EINVAL;
		cfg->limits.max_scope_depth = (unsigned)v;
		cfg->limits.max_json_depth = 2 * (unsigned)v + 24;
		return 0;
	}
#undef UINT_KEY
	return -ENOENT;
}

int config_load_file(struct coopd_config *cfg, const char *path)
{
	FILE *f;
	char line[4096];
	unsigned lineno = 0;
	struct stat st;
	int fd, r = 0;

	/* A directory opens and then reads like an empty file, which would
	 * reset every key to its default; a FIFO would block the loop at
	 * SIGHUP: only a regular file is read (O_NONBLOCK for the open). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return log_errno(LOG_ERR, -errno, "cannot open config file %s", path);
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	if (r == 0 && !(f = fdopen(fd, "re")))
		r = -errno;
	if (r < 0) {
		close(fd);
		return log_errno(LOG_ERR, r, "cannot read config file %s (not a regular file)",
				 path);
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			log_err("%s:%u: line too long", path, lineno);
			r = -EINVAL;
			break;
		}
		if ((s = strchr(line, '#')))
			*s = '\0';
		s = trim(line);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			log_err("%s:%u: expected key = value", path, lineno);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		r = config_set(cfg, key, val);
		if (r == -ENOENT) {
			log_err("%s:%u: unknown key '%s'", path, lineno, key);
			break;
		}
		if (r < 0) {
			log_err("%s:%u: bad value '%s' for '%s'", path, lineno, val, key);
			break;
		}
	}
	if (r == 0 && ferror(f))
		r = log_errno(LOG_ERR, -EIO, "cannot read config file %s", path);
	fclose(f);
	return r < 0 ? -EINVAL : 0;
}

static int path_join(char **ret, const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	if (!p)
		return -ENOMEM;
	snprintf(p, n, "%s/%s", a, b);
	*ret = p;
	return 0;
}

int config_finish(struct coopd_config *cfg)
{
	const char *env;
	bool root = geteuid() == 0;

	if (!cfg->socket_path) {
		if ((env = getenv(PROTO_SOCKET_ENV)) && *env) {
			if (set_str(&cfg->socket_path, env) < 0)
				return -ENOMEM;
		} else if (root) {
			if (set_str(&cfg->socket_path, PROTO_SYSTEM_SOCKET) < 0)
				return -ENOMEM;
		} else if ((env = getenv("XDG_RUNTIME_DIR")) && env[0] == '/') {
			if (path_join(&cfg->socket_path, env, PROTO_USER_SOCKET_NAME) < 0)
				return -ENOMEM;
		} else {
			log_err("no socket path: XDG_RUNTIME_DIR is not set; use --socket PATH "
				"or COOPD_SOCKET");
			return -EINVAL;
		}
	}
	if (strlen(cfg->socket_path) >= 108) {
		log_err("socket path too long (max 107 bytes): %s", cfg->socket_path);
		return -ENAMETOOLONG;
	}
	if (!cfg->state_dir) {
		if (root) {
			if (set_str(&cfg->state_dir, "/var/lib/coopd") < 0)
				return -ENOMEM;
		} else if ((env = getenv("XDG_STATE_HOME")) && env[0] == '/') {
			if (path_join(&cfg->state_dir, env, "coopd") < 0)
				return -ENOMEM;
		} else if ((env = getenv("HOME")) && env[0] == '/') {
			if (path_join(&cfg->state_dir, env, ".local/state/coopd") < 0)
				return -ENOMEM;
		} else {
			log_err("no state directory: HOME is not set; use --state-dir DIR");
			return -EINVAL;
		}
	}
	return 0;
}

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Logs the keys that changed in the file but take effect only on restart. */
static void report_restart_only(const struct coopd_config *cur, const struct coopd_config *n)
{
	const char *changed[14];
	size_t k = 0;

	if (str_differs(cur->socket_path, n->socket_path))
		changed[k++] = "socket";
	if (str_differs(cur->state_dir, n->state_dir))
		changed[k++] = "state_dir";
	if (cur->workers != n->workers)
		changed[k++] = "workers";
	if (cur->blocking_threads != n->blocking_threads)
		changed[k++] = "blocking_threads";
	if (cur->blocking_threads_per_user != n->blocking_threads_per_user)
		changed[k++] = "blocking_threads_per_user";
	if (str_differs(cur->metrics_listen, n->metrics_listen))
		changed[k++] = "metrics_listen";
	if (cur->fsync != n->fsync)
		changed[k++] = "fsync";
	if (cur->cgroups != n->cgroups)
		changed[k++] = "cgroups";
	if (str_differs(cur->cgroup_root, n->cgroup_root))
		changed[k++] = "cgroup_root";
	if (cur->slurm != n->slurm)
		changed[k++] = "slurm";
	if (str_differs(cur->slurm_bin_dir, n->slurm_bin_dir))
		changed[k++] = "slurm_bin_dir";
	if (str_differs(cur->slurm_spool_dir, n->slurm_spool_dir))
		changed[k++] = "slurm_spool_dir";
	for (size_t i = 0; i < k; i++)
		log_notice("%s: '%s' changed; it takes effect when coopd is restarted",
			   cur->config_file, changed[i]);
}

int config_reload(struct coopd_config *cfg)
{
	struct coopd_config n;
	int r = -ENOMEM;

	if (!cfg->config_file)
		return -ENOENT;
	config_init(&n);
	/* What the command line set still wins; the rest comes from the file
	 * or the defaults, as at start-up. */
	if (set_str(&n.config_file, cfg->config_file) < 0)
		goto out;
	if ((cmdline_set & SET_SOCKET) && set_str(&n.socket_path, cfg->socket_path) < 0)
		goto out;
	if ((cmdline_set & SET_STATE) && set_str(&n.state_dir, cfg->state_dir) < 0)
		goto out;
	if ((cmdline_set & SET_METRICS) && set_str(&n.metrics_listen, cfg->metrics_listen) < 0)
		goto out;
	if (cmdline_set & SET_WORKERS)
		n.workers = cfg->workers;
	if (cmdline_set & SET_BLOCKING)
		n.blocking_threads = cfg->blocking_threads;
	n.log_level = (cmdline_set & SET_LOG_LEVEL) ? cfg->log_level : n.log_level;
	n.foreground = cfg->foreground;
	r = config_load_file(&n, n.config_file);
	if (r < 0)
		goto out;
	r = config_finish(&n);
	if (r < 0)
		goto out;
	report_restart_only(cfg, &n);

	cfg->log_level = n.log_level;
	cfg->limits = n.limits;
	cfg->max_connections = n.max_connections;
	cfg->max_connections_per_user = n.max_connections_per_user;
	cfg->ignore_cancel_max_ms = n.ignore_cancel_max_ms;
	cfg->root_reserved_connections = n.root_reserved_connections;
	cfg->max_input_bytes_per_user = n.max_input_bytes_per_user;
	cfg->max_input_bytes = n.max_input_bytes;
	cfg->message_timeout_ms = n.message_timeout_ms;
	cfg->idle_timeout_ms = n.idle_timeout_ms;
	cfg->event_queue_bytes = n.event_queue_bytes;
	cfg->answer_backlog = n.answer_backlog;
	cfg->answer_bytes_per_user = n.answer_bytes_per_user;
	cfg->parse_thread_bytes = n.parse_thread_bytes;
	cfg->max_pending_per_conn = n.max_pending_per_conn;
	cfg->log_cap = n.log_cap;
	cfg->log_bytes_per_user = n.log_bytes_per_user;
	cfg->max_active_per_user = n.max_active_per_user;
	cfg->max_active_nodes_per_user = n.max_active_nodes_per_user;
	cfg->max_active_bytes_per_user = n.max_active_bytes_per_user;
	cfg->retention_days = n.retention_days;
	cfg->retention_graphs = n.retention_graphs;
	cfg->retention_nodes = n.retention_nodes;
	cfg->retention_bytes = n.retention_bytes;
	cfg->shutdown_timeout_ms = n.shutdown_timeout_ms;
	cfg->journal_flush_ms = n.journal_flush_ms;
	cfg->slurm_poll_ms = n.slurm_poll_ms;
	r = 0;
out:
	config_free(&n);
	return r;
}
