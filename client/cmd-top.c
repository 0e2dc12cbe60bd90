/*
 * cmd-top.c - `coopctl top [-d D] [-n N]`: a live view of coopd, like top.
 *
 * Every D (default 1s) it asks for `stats`, `list` and the `status` of the
 * active graphs it can show, and draws one screen: the executor (workers,
 * queues, polls and forced budget yields per second), cancellations (by
 * reason, per second, acknowledgement latency percentiles from the stats'
 * histogram), the active graphs with a progress bar each, and the running
 * nodes, longest-running first, with their time so far.  On a terminal the
 * screen is redrawn in place on the alternate screen, fitted to the
 * terminal's size (again at once on SIGWINCH), and `q` (or Ctrl-C) quits;
 * otherwise one plain line per refresh is printed, for logs.  -n stops after
 * N refreshes.
 *
 * The screen is rendered by cmd_top_render() from the daemon's answers alone
 * (no terminal, no clock of its own), so the unit tests draw it from canned
 * JSON at any size.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"

/* Graphs whose status is fetched for running nodes: the ones that fit on
 * the screen, and not huge ones (their whole tree is megabytes). */
#define TOP_STATUS_MAX_GRAPHS CMD_TOP_MAX_STATUSES
#define TOP_STATUS_MAX_NODES 20000

static volatile sig_atomic_t top_resized;
static volatile sig_atomic_t top_stop;

static void top_on_winch(int sig)
{
	(void)sig;
	top_resized = 1;
}

static void top_on_stop(int sig)
{
	(void)sig;
	top_stop = 1;
}

int cmd_top_parse(int argc, char **argv, struct cmd_top_args *ret, FILE *err)
{
	static const struct option opts[] = {
		{"delay", required_argument, NULL, 'd'},
		{"iterations", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cmd_top_args a = {.delay_ms = 1000};
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":d:n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (output_duration_parse(optarg, &a.delay_ms) < 0 || a.delay_ms < 100 ||
			    a.delay_ms > 3600000) {
				fprintf(err,
					"coopctl top: -d takes a duration from 100ms to 1h, not "
					"'%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'n': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 1000000000) {
				fprintf(err, "coopctl top: -n takes a positive number, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			a.iterations = v;
			break;
		}
		case 'h':
			return 1;
		default:
			return cmd_opt_error(err, "top", ch, argv);
		}
	}
	if (cmd_operands(err, "top", argc, argv, 0, 0, NULL) < 0)
		return -EINVAL;
	*ret = a;
	return 0;
}

static double top_num(struct json_object *obj, const char *key)
{
	struct json_object *v = output_get(obj, key);

	if (v &&
	    (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return json_object_get_double(v);
	return 0;
}

/* Sum of the cancellation requests over every reason. */
static double top_cancel_requests(struct json_object *stats)
{
	struct json_object *req = output_get(output_get(stats, "cancellation"), "requests");
	double total = 0;

	if (!req || !json_object_is_type(req, json_type_object))
		return 0;
	json_object_object_foreach(req, k, v)
	{
		(void)k;
		if (v && json_object_is_type(v, json_type_int))
			total += (double)json_object_get_int64(v);
	}
	return total;
}

/* A rate from two samples of the same counter, per second. */
static double top_rate(struct json_object *now, struct json_object *prev, const char *section,
		       const char *key, double dt_s)
{
	double d;

	if (!prev || dt_s <= 0)
		return -1;
	d = top_num(output_get(now, section), key) - top_num(output_get(prev, section), key);
	return d >= 0 ? d / dt_s : -1;
}

/* A line buffer: the screen is built line by line and each line is cut to
 * the width, so nothing wraps whatever the terminal's size. */
struct top_screen {
	FILE *out;
	int rows, cols;
	int row;
	char line[1024];
	size_t len;
	bool tty; /* clear each line's rest (in place) */
};

static void top_put(struct top_screen *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void top_put(struct top_screen *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->len >= sizeof(s->line) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->line + s->len, sizeof(s->line) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len += (size_t)n < sizeof(s->line) - s->len ? (size_t)n
							       : sizeof(s->line) - 1 - s->len;
}

/* Ends a line: prints it cut to the width (bytes of UTF-8 continuation do
 * not count), unless the screen is full. */
static void top_endl(struct top_screen *s)
{
	int w = 0;
	size_t i;

	if (s->row < s->rows) {
		for (i = 0; i < s->len; i++) {
			unsigned char ch = (unsigned char)s->line[i];

			/* Our own SGR sequences (bold) take no room; text from
			 * the daemon had its control characters replaced by
			 * top_put_text(), so every ESC here is ours. */
			if (ch == 0x1b) {
				size_t end = i + 1;

				while (end < s->len &&
				       !(s->line[end] >= '@' && s->line[end] <= '~' &&
					 s->line[end] != '['))
					end++;
				if (s->tty)
					fwrite(s->line + i, 1, end < s->len ? end - i + 1 : end - i,
					       s->out);
				i = end;
				continue;
			}
			if ((ch & 0xc0) != 0x80) {
				if (w == s->cols)
					break;
				w++;
			}
			fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, s->out);
		}
		if (s->tty)
			fputs("\033[K", s->out);
		if (s->row + 1 < s->rows || !s->tty)
			fputc('\n', s->out);
	}
	s->row++;
	s->len = 0;
}

/* Copies at most max characters of text, control characters as '?'. */
static void top_put_text(struct top_screen *s, const char *text, int max)
{
	int n = 0;

	for (; text && *text && n < max && s->len < sizeof(s->line) - 1; text++, n++)
		s->line[s->len++] = (unsigned char)*text < 0x20 ? '?' : *text;
	s->line[s->len] = '\0';
	for (; n < max && s->len < sizeof(s->line) - 1; n++)
		s->line[s->len++] = ' ';
	s->line[s->len] = '\0';
}

static void top_put_rate(struct top_screen *s, double r)
{
	if (r < 0)
		top_put(s, "-");
	else if (r >= 1e6)
		top_put(s, "%.1fM", r / 1e6);
	else if (r >= 1e4)
		top_put(s, "%.1fk", r / 1e3);
	else
		top_put(s, "%.0f", r);
}

static void top_put_latency(struct top_screen *s, double sec)
{
	if (sec < 0)
		top_put(s, "-");
	else if (sec < 0.001)
		top_put(s, "%.0fus", sec * 1e6);
	else if (sec < 1)
		top_put(s, "%.1fms", sec * 1e3);
	else
		top_put(s, "%.2fs", sec);
}

/* The cancellation latency histogram of `stats` (cumulative buckets). */
static void top_histogram(struct json_object *stats, struct output_histogram *h)
{
	struct json_object *b = output_get(output_get(stats, "cancellation"), "latency_buckets");

	h->n = 0;
	for (size_t i = 0; b && json_object_is_type(b, json_type_array) &&
			   i < json_object_array_length(b) && h->n < OUTPUT_HIST_MAX;
	     i++) {
		struct json_object *e = json_object_array_get_idx(b, i), *le = output_get(e, "le");

		h->le[h->n] = le && (json_object_is_type(le, json_type_double) ||
				     json_object_is_type(le, json_type_int))
				      ? json_object_get_double(le)
				      : -1; /* "+Inf" or null */
		h->cum[h->n] = top_num(e, "count");
		h->n++;
	}
}

struct top_running {
	const char *graph;
	const char *path;
	const char *kind;
	const char *state;
	int64_t since_ms;
	int64_t slurm_job; /* its Slurm job id (placement slurm), else 0 */
};

static void top_collect(struct json_object *node, const char *graph, struct top_running *out,
			size_t max, size_t *n)
{
	struct json_object *kids = output_get(node, "nodes");
	const char *state = output_str(node, "state"), *kind = output_str(node, "kind");
	int64_t started;

	if (state && kind && strcmp(kind, "scope") != 0 &&
	    (strcmp(state, "running") == 0 || strcmp(state, "cancelling") == 0) &&
	    output_str(node, "started") &&
	    proto_time_parse(output_str(node, "started"), &started) == 0 && *n < max) {
		out[*n].graph = graph;
		out[*n].path = output_str(node, "path");
		out[*n].kind = kind;
		out[*n].state = state;
		out[*n].since_ms = started;
		out[*n].slurm_job = top_num(output_get(node, "slurm"), "job_id") > 0
					    ? (int64_t)top_num(output_get(node, "slurm"), "job_id")
					    : 0;
		(*n)++;
	}
	for (size_t i = 0; kids && json_object_is_type(kids, json_type_array) &&
			   i < json_object_array_length(kids);
	     i++)
		top_collect(json_object_array_get_idx(kids, i), graph, out, max, n);
}

static int top_by_age(const void *a, const void *b)
{
	const struct top_running *x = a, *y = b;

	return x->since_ms < y->since_ms ? -1 : x->since_ms > y->since_ms;
}

void cmd_top_render(FILE *out, const struct top_view *v)
{
	struct top_screen s = {.out = out, .rows = v->rows, .cols = v->cols, .tty = v->tty};
	struct json_object *ex = output_get(v->stats, "executor");
	struct json_object *graphs = output_get(v->list, "graphs");
	size_t ng = graphs && json_object_is_type(graphs, json_type_array)
			    ? json_object_array_length(graphs)
			    : 0;
	struct output_histogram h;
	struct top_running run[256];
	size_t nrun = 0, nslurm = 0;
	char dur[OUTPUT_DURATION_BUF];
	int id_w = 16, name_w, bar_w, left;
	time_t t = (time_t)(v->now_ms / 1000);
	struct tm tm;
	char clock[16] = "";

	if (localtime_r(&t, &tm))
		(void)strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	/* Header and executor. */
	top_put(&s, "coopctl top  %s  %s", clock, v->where ? v->where : "");
	if (v->tty)
		top_put(&s, "  (q quits)");
	top_endl(&s);
	top_put(&s, "Workers %.0f  run queue %.0f  blocking %.0f/%.0f  polls/s ",
		top_num(ex, "workers"), top_num(ex, "run_queue_depth"),
		top_num(ex, "blocking_threads"), top_num(ex, "blocking_queue_depth"));
	top_put_rate(&s, top_rate(v->stats, v->prev_stats, "executor", "polls", v->dt_s));
	top_put(&s, "  forced yields/s ");
	top_put_rate(&s, top_rate(v->stats, v->prev_stats, "budget", "forced_yields", v->dt_s));
	top_endl(&s);
	/* Cancellation. */
	top_put(&s, "Cancel requests %.0f (", top_cancel_requests(v->stats));
	if (v->prev_stats && v->dt_s > 0)
		top_put_rate(&s,
			     (top_cancel_requests(v->stats) - top_cancel_requests(v->prev_stats)) /
				     v->dt_s);
	else
		top_put(&s, "-");
	top_put(&s, "/s)  acknowledged %.0f  latency p50 ",
		top_num(output_get(v->stats, "cancellation"), "latency_count"));
	top_histogram(v->stats, &h);
	top_put_latency(&s, output_histogram_quantile(&h, 0.5));
	top_put(&s, " p99 ");
	top_put_latency(&s, output_histogram_quantile(&h, 0.99));
	top_endl(&s);
	{
		struct json_object *req =
			output_get(output_get(v->stats, "cancellation"), "requests");
		const char *sep = "  by reason: ";

		if (req && json_object_is_type(req, json_type_object)) {
			json_object_object_foreach(req, reason, n)
			{
				if (!n || !json_object_is_type(n, json_type_int) ||
				    json_object_get_int64(n) == 0)
					continue;
				top_put(&s, "%s%s %" PRId64, sep, reason, json_object_get_int64(n));
				sep = ", ";
			}
		}
		if (strcmp(sep, ", ") == 0)
			top_endl(&s);
	}
	top_endl(&s);

	/* Active graphs. */
	name_w = v->cols >= 80 ? 16 : 10;
	bar_w = v->cols - id_w - name_w - 11 - 2 - 16 - 6;
	if (bar_w > 40)
		bar_w = 40;
	top_put(&s, "%s%zu active graph%s", v->tty ? "\033[1m" : "", ng, ng == 1 ? "" : "s");
	top_endl(&s);
	top_put(&s, "%-*s  %-*s %-11s  %-*s  DONE/TOTAL", id_w, "ID", name_w, "NAME", "STATE",
		bar_w > 0 ? bar_w + 2 : 0, bar_w > 0 ? "PROGRESS" : "");
	top_put(&s, "%s", v->tty ? "\033[0m" : "");
	top_endl(&s);
	/* Leave room for the running nodes: at most half the rest. */
	left = (v->rows - s.row) / 2;
	for (size_t i = 0; i < ng; i++) {
		struct json_object *g = json_object_array_get_idx(graphs, i);
		double total = top_num(g, "nodes_total"), done = top_num(g, "nodes_done");

		if ((int)i >= left - 1 && i + 1 < ng) {
			top_put(&s, "... %zu more", ng - i);
			top_endl(&s);
			break;
		}
		top_put_text(&s, output_str(g, "id"), id_w);
		top_put(&s, "  ");
		top_put_text(&s, output_str(g, "name"), name_w);
		top_put(&s, " ");
		top_put_text(&s, output_str(g, "state"), 11);
		top_put(&s, "  ");
		if (bar_w > 0) {
			int filled = total > 0 ? (int)(done * bar_w / total) : 0;

			top_put(&s, "[");
			for (int k = 0; k < bar_w; k++)
				top_put(&s, "%c", k < filled ? '#' : '.');
			top_put(&s, "]  ");
		}
		top_put(&s, "%.0f/%.0f", done, total);
		top_endl(&s);
	}
	top_endl(&s);

	/* Running nodes, longest first. */
	for (size_t i = 0; i < v->n_statuses; i++)
		top_collect(output_get(v->statuses[i], "root"), output_str(v->statuses[i], "id"),
			    run, sizeof(run) / sizeof(run[0]), &nrun);
	qsort(run, nrun, sizeof(run[0]), top_by_age);
	for (size_t i = 0; i < nrun; i++)
		nslurm += run[i].slurm_job > 0;
	top_put(&s, "%s%zu running node%s", v->tty ? "\033[1m" : "", nrun, nrun == 1 ? "" : "s");
	if (nslurm)
		top_put(&s, ", %zu on Slurm", nslurm);
	top_put(&s, "%s", v->n_statuses < ng ? " (of the graphs fetched)" : "");
	top_endl(&s);
	top_put(&s, "%-*s  %-*s %-9s %-11s %8s", id_w, "GRAPH",
		v->cols - id_w - 2 - 1 - 9 - 1 - 11 - 1 - 8 > 4 ? v->cols - id_w - 35 : 4, "NODE",
		"KIND", "STATE", "TIME");
	top_put(&s, "%s", v->tty ? "\033[0m" : "");
	top_endl(&s);
	for (size_t i = 0; i < nrun; i++) {
		int node_w = v->cols - id_w - 35 > 4 ? v->cols - id_w - 35 : 4;

		if (s.row >= v->rows - 1 && i + 1 < nrun && v->tty) {
			top_put(&s, "... %zu more", nrun - i);
			top_endl(&s);
			break;
		}
		top_put_text(&s, run[i].graph, id_w);
		top_put(&s, "  ");
		if (run[i].slurm_job > 0) {
			/* A Slurm node: its job id beside its path. */
			char label[320];

			snprintf(label, sizeof(label), "%s [slurm %lld]",
				 run[i].path ? run[i].path : "", (long long)run[i].slurm_job);
			top_put_text(&s, label, node_w);
		} else {
			top_put_text(&s, run[i].path, node_w);
		}
		top_put(&s, " ");
		top_put_text(&s, run[i].kind, 9);
		top_put(&s, " ");
		top_put_text(&s, run[i].state, 11);
		top_put(&s, " %8s",
			output_duration_format(v->now_ms - run[i].since_ms, dur, sizeof(dur)));
		top_endl(&s);
	}
	/* On a terminal, blank what the last screen had below. */
	if (v->tty)
		fputs("\033[J", out);
}

void cmd_top_plain_line(FILE *out, const struct top_view *v)
{
	struct json_object *graphs = output_get(v->list, "graphs");
	struct output_histogram h;
	struct top_running run[256];
	size_t nrun = 0, nslurm = 0;
	double running_nodes = 0;
	time_t t = (time_t)(v->now_ms / 1000);
	struct tm tm;
	char clock[16] = "";
	struct top_screen s = {.out = out, .rows = 1, .cols = 1000};

	for (size_t i = 0; i < v->n_statuses; i++)
		top_collect(output_get(v->statuses[i], "root"), output_str(v->statuses[i], "id"),
			    run, sizeof(run) / sizeof(run[0]), &nrun);
	running_nodes = (double)nrun;
	for (size_t i = 0; i < nrun; i++)
		nslurm += run[i].slurm_job > 0;
	if (localtime_r(&t, &tm))
		(void)strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	top_histogram(v->stats, &h);
	top_put(&s,
		"%s graphs %zu, running nodes %.0f (on Slurm %zu), workers %.0f, run queue %.0f, "
		"polls/s ",
		clock,
		graphs && json_object_is_type(graphs, json_type_array)
			? json_object_array_length(graphs)
			: 0,
		running_nodes, nslurm, top_num(output_get(v->stats, "executor"), "workers"),
		top_num(output_get(v->stats, "executor"), "run_queue_depth"));
	top_put_rate(&s, top_rate(v->stats, v->prev_stats, "executor", "polls", v->dt_s));
	top_put(&s, ", forced yields/s ");
	top_put_rate(&s, top_rate(v->stats, v->prev_stats, "budget", "forced_yields", v->dt_s));
	top_put(&s, ", cancels %.0f, cancel p50 ", top_cancel_requests(v->stats));
	top_put_latency(&s, output_histogram_quantile(&h, 0.5));
	top_put(&s, " p99 ");
	top_put_latency(&s, output_histogram_quantile(&h, 0.99));
	top_endl(&s);
}

/* One round of questions; the answers replace those in *v (owned). */
static int top_fetch(struct coopctl *c, struct top_view *v)
{
	struct json_object *stats = NULL, *list = NULL, *graphs;
	struct proto_list_params lp = {.all = false};
	struct json_object *params = NULL;
	int r;

	r = coopctl_call(c, "stats", NULL, &stats);
	if (r != 0)
		return r;
	if (proto_list_params_encode(&lp, &params) < 0) {
		json_object_put(stats);
		return COOPCTL_EXIT_FAILED;
	}
	r = coopctl_call(c, "list", params, &list);
	if (r != 0) {
		json_object_put(stats);
		return r;
	}
	json_object_put(v->prev_stats);
	v->prev_stats = v->stats;
	v->stats = stats;
	json_object_put(v->list);
	v->list = list;
	for (size_t i = 0; i < v->n_statuses; i++)
		json_object_put(v->statuses[i]);
	v->n_statuses = 0;
	graphs = output_get(list, "graphs");
	for (size_t i = 0;
	     graphs && json_object_is_type(graphs, json_type_array) &&
	     i < json_object_array_length(graphs) && v->n_statuses < TOP_STATUS_MAX_GRAPHS;
	     i++) {
		struct json_object *g = json_object_array_get_idx(graphs, i), *st = NULL;
		struct proto_status_params sp = {.id = output_str(g, "id")};

		if (!sp.id || top_num(g, "nodes_total") > TOP_STATUS_MAX_NODES)
			continue;
		if (proto_status_params_encode(&sp, &params) < 0)
			break;
		/* A graph that went away in between is simply not shown. */
		if (coopctl_call(c, "status", params, &st) != 0)
			continue;
		v->statuses[v->n_statuses++] = st;
	}
	return 0;
}

static int64_t top_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t top_mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void top_size(struct top_view *v)
{
	struct winsize ws;

	v->rows = 24;
	v->cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		v->rows = ws.ws_row;
		v->cols = ws.ws_col;
	}
}

static int cmd_top_exec(struct coopctl *c, int argc, char **argv)
{
	struct cmd_top_args a;
	struct top_view v = {0};
	struct termios saved, raw;
	bool term = false;
	int64_t last = 0;
	long done = 0;
	int r;

	r = coopctl_parsed(&cmd_top_entry, cmd_top_parse(argc, argv, &a, stderr));
	if (r >= 0)
		return r;
	r = coopctl_connect(c);
	if (r != 0)
		return r;
	v.where = client_conn_path(c->conn);
	v.tty = c->tty && !c->json;
	if (v.tty && isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved) == 0) {
		/* Keys without Enter and without echo; Ctrl-C still signals. */
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		term = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	{
		struct sigaction sa = {.sa_handler = top_on_winch};
		struct sigaction sq = {.sa_handler = top_on_stop};

		sigemptyset(&sa.sa_mask);
		sigemptyset(&sq.sa_mask);
		(void)sigaction(SIGWINCH, &sa, NULL);
		(void)sigaction(SIGINT, &sq, NULL);
		(void)sigaction(SIGTERM, &sq, NULL);
		(void)sigaction(SIGHUP, &sq, NULL);
	}
	if (v.tty)
		fputs("\033[?1049h\033[?25l", stdout); /* alternate screen, no cursor */
	for (;;) {
		int64_t now = top_mono_ms();
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		int wait_ms;

		if (top_stop)
			break;
		if (last == 0 || now - last >= (int64_t)a.delay_ms) {
			r = top_fetch(c, &v);
			if (r != 0)
				break;
			v.dt_s = last ? (double)(now - last) / 1000.0 : 0;
			last = now;
			v.now_ms = top_now_ms();
			if (v.tty) {
				top_size(&v);
				fputs("\033[H", stdout);
				cmd_top_render(stdout, &v);
			} else if (c->json) {
				coopctl_print_json(c, v.stats);
			} else {
				cmd_top_plain_line(stdout, &v);
			}
			fflush(stdout);
			if (a.iterations && ++done >= a.iterations)
				break;
		} else if (top_resized && v.tty) {
			/* Redraw the same answers at the new size, now. */
			top_resized = 0;
			top_size(&v);
			fputs("\033[H\033[2J", stdout);
			cmd_top_render(stdout, &v);
			fflush(stdout);
		}
		wait_ms = (int)(last + (int64_t)a.delay_ms - top_mono_ms());
		if (wait_ms < 0)
			wait_ms = 0;
		/* Wait for a key (on a terminal), a signal or the next refresh. */
		if (term && poll(&pfd, 1, wait_ms) > 0) {
			char key[16];
			ssize_t got = read(STDIN_FILENO, key, sizeof(key));

			for (ssize_t k = 0; k < got; k++)
				if (key[k] == 'q' || key[k] == 'Q')
					top_stop = 1;
		} else if (!term) {
			/* Plain lines: the refresh interval is all there is to
			 * wait for (a signal ends the wait early). */
			(void)poll(NULL, 0, wait_ms);
		}
	}
	if (v.tty)
		fputs("\033[?25h\033[?1049l", stdout);
	if (term)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	json_object_put(v.stats);
	json_object_put(v.prev_stats);
	json_object_put(v.list);
	for (size_t i = 0; i < v.n_statuses; i++)
		json_object_put(v.statuses[i]);
	return r;
}

const struct cmd_entry cmd_top_entry = {
	.name = "top",
	.usage = "[-d D] [-n N]",
	.summary = "a live view of graphs, running nodes, workers, yields and cancellations",
	.exec = cmd_top_exec,
};
