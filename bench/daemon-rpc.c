/*
 * daemon-rpc.c -- the client side of the coopd benchmarks (issue 4).
 *
 * Speaks JSON-RPC 2.0 (one message per line) to coopd's Unix socket
 * directly, with no JSON library, so that the client adds as little as
 * possible to what is measured.  Modes:
 *
 *   daemon-rpc ready SOCK TIMEOUT_MS
 *       retry `ping` until it answers (exit 0) or the timeout passes (1)
 *   daemon-rpc ping SOCK N [WARMUP]
 *       N pings, one at a time, on one connection; p50/p99/max round trip
 *   daemon-rpc submit-wait SOCK FILE LABEL
 *       submit the one-line graph in FILE, then `wait` with summary: true,
 *       on one connection; the time from the first byte sent to the wait
 *       answer (and to the submit answer)
 *   daemon-rpc gen-exec N MAX_PARALLEL PROG FILE
 *       writes a graph of N exec nodes running PROG (no after edges)
 *   daemon-rpc gen-noop N FILE
 *       writes a graph of N task nodes of the builtin `noop`
 *   daemon-rpc time LABEL BENCH CMD [ARG...]
 *       runs CMD, prints its wall time and its children's CPU time
 *   daemon-rpc status-kb PID FIELD
 *       prints a /proc/PID/status field in KiB (VmRSS, VmHWM)
 *
 * Output: one `RESULT bench=... rt=... key=value ...` line (see
 * bench-util.h) plus '#' lines.  Nothing asserts on time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"

struct conn {
	int fd;
	char *buf; /* bytes received, not yet consumed */
	size_t len, cap;
};

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(c->fd);
		c->fd = -1;
		return e;
	}
	c->cap = 65536;
	c->buf = malloc(c->cap);
	return c->buf ? 0 : -ENOMEM;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one line (without its '\n') into *line (NUL-terminated, valid until
 * the next call).  Returns its length or a negative errno (-EPIPE at EOF). */
static ssize_t conn_read_line(struct conn *c, char **line)
{
	static size_t consumed; /* bytes of the previous line to drop */

	if (consumed) {
		memmove(c->buf, c->buf + consumed, c->len - consumed);
		c->len -= consumed;
		consumed = 0;
	}
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*nl = '\0';
			*line = c->buf;
			consumed = (size_t)(nl - c->buf) + 1;
			return nl - c->buf;
		}
		if (c->len == c->cap) {
			char *nb = realloc(c->buf, c->cap * 2);
			if (!nb)
				return -ENOMEM;
			c->buf = nb;
			c->cap *= 2;
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EPIPE;
		c->len += (size_t)r;
	}
}

/* Reads lines until the answer to request `id` (skipping notifications). */
static ssize_t conn_answer(struct conn *c, long id, char **line)
{
	char key[32];

	snprintf(key, sizeof(key), "\"id\":%ld", id);
	for (;;) {
		ssize_t n = conn_read_line(c, line);
		if (n < 0)
			return n;
		if (strstr(*line, key) || strstr(*line, "\"error\""))
			return n;
	}
}

static const char ping_req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";

static int mode_ready(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	uint64_t end = bench_now_ns() + (uint64_t)atol(argv[3]) * 1000000u;
	do {
		struct conn c;
		char *line;
		if (conn_open(&c, argv[2]) == 0) {
			if (write_all(c.fd, ping_req, sizeof(ping_req) - 1) == 0 &&
			    conn_answer(&c, 1, &line) >= 0 && strstr(line, "\"result\"")) {
				conn_close(&c);
				return 0;
			}
			conn_close(&c);
		}
		bench_sleep_ms(10);
	} while (bench_now_ns() < end);
	fprintf(stderr, "daemon-rpc: no answer to ping on %s\n", argv[2]);
	return 1;
}

static int mode_ping(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	long n = atol(argv[3]), warm = bench_arg_int(argc, argv, 4, 1000);
	struct conn c;
	char *line;
	uint64_t *lat = calloc((size_t)(n > 0 ? n : 1), sizeof(*lat));
	int r = conn_open(&c, argv[2]);

	if (r < 0 || !lat) {
		fprintf(stderr, "daemon-rpc: connect %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	for (long i = 0; i < warm; i++)
		if (write_all(c.fd, ping_req, sizeof(ping_req) - 1) < 0 ||
		    conn_answer(&c, 1, &line) < 0)
			return 1;
	uint64_t t_start = bench_now_ns();
	double cpu0 = bench_cpu_s();
	bool ok = true;
	for (long i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		if (write_all(c.fd, ping_req, sizeof(ping_req) - 1) < 0 ||
		    conn_answer(&c, 1, &line) < 0)
			return 1;
		lat[i] = bench_now_ns() - t0;
		if (!strstr(line, "\"result\""))
			ok = false;
	}
	double time_s = (double)(bench_now_ns() - t_start) / 1e9;
	double cpu_s = bench_cpu_s() - cpu0;
	conn_close(&c);
	uint64_t p50 = bench_quantile(lat, (size_t)n, 0.50);
	uint64_t p99 = bench_quantile(lat, (size_t)n, 0.99);
	uint64_t mx = lat[n - 1];
	printf("RESULT bench=daemon-ping rt=coopd workers=0 p50_us=%.1f p99_us=%.1f max_us=%.1f "
	       "samples=%ld time_s=%.4f client_cpu_s=%.3f pings_per_s=%.0f ok=%d\n",
	       (double)p50 / 1e3, (double)p99 / 1e3, (double)mx / 1e3, n, time_s, cpu_s,
	       (double)n / time_s, ok);
	free(lat);
	return 0;
}

static char *read_file(const char *path, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	char *p = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (p && n < (size_t)st.st_size) {
		ssize_t r = read(fd, p + n, (size_t)st.st_size - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	if (p)
		p[n] = '\0';
	*ret_len = n;
	return p;
}

/* The integer after "key": in s, or -1. */
static long json_int_after(const char *s, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(s, k);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static int mode_submit_wait(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	size_t glen;
	char *graph = read_file(argv[3], &glen);
	const char *label = argv[4];
	if (!graph) {
		fprintf(stderr, "daemon-rpc: cannot read %s\n", argv[3]);
		return 1;
	}
	static const char head[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit\",\"params\":{\"graph\":";
	size_t rlen = sizeof(head) - 1 + glen + 3;
	char *req = malloc(rlen + 1);
	memcpy(req, head, sizeof(head) - 1);
	memcpy(req + sizeof(head) - 1, graph, glen);
	memcpy(req + sizeof(head) - 1 + glen, "}}\n", 4);
	free(graph);

	struct conn c;
	char *line;
	if (conn_open(&c, argv[2]) < 0) {
		fprintf(stderr, "daemon-rpc: cannot connect to %s\n", argv[2]);
		return 1;
	}
	uint64_t t0 = bench_now_ns();
	if (write_all(c.fd, req, rlen) < 0 || conn_answer(&c, 1, &line) < 0)
		return 1;
	uint64_t t_sub = bench_now_ns();
	const char *res = strstr(line, "\"result\"");
	const char *idp = res ? strstr(res, "\"id\":\"") : NULL;
	if (!idp) {
		fprintf(stderr, "daemon-rpc: submit failed: %.300s\n", line);
		return 1;
	}
	idp += 6;
	char gid[128];
	size_t k = 0;
	while (idp[k] && idp[k] != '"' && k < sizeof(gid) - 1) {
		gid[k] = idp[k];
		k++;
	}
	gid[k] = '\0';
	char wreq[256];
	int wl = snprintf(
		wreq, sizeof(wreq),
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"wait\",\"params\":{\"id\":\"%s\","
		"\"summary\":true}}\n",
		gid);
	if (write_all(c.fd, wreq, (size_t)wl) < 0 || conn_answer(&c, 2, &line) < 0)
		return 1;
	uint64_t t_end = bench_now_ns();
	bool ok = strstr(line, "\"state\":\"succeeded\"") != NULL;
	long nsucc = json_int_after(line, "succeeded");
	printf("# %s: %.300s\n", label, line);
	printf("RESULT bench=%s rt=%s workers=0 time_s=%.4f submit_s=%.4f request_bytes=%zu "
	       "succeeded=%ld cpu_s=%.3f ok=%d\n",
	       label, label, (double)(t_end - t0) / 1e9, (double)(t_sub - t0) / 1e9, rlen, nsucc,
	       bench_cpu_s(), ok);
	conn_close(&c);
	free(req);
	return ok ? 0 : 1;
}

static int mode_gen_exec(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	long n = atol(argv[2]);
	FILE *f = fopen(argv[5], "we");
	if (!f)
		return 1;
	fprintf(f, "{\"name\":\"bench-exec\",\"max_parallel\":%d,\"nodes\":[", atoi(argv[3]));
	for (long i = 0; i < n; i++)
		fprintf(f, "%s{\"id\":\"j%ld\",\"kind\":\"exec\",\"argv\":[\"%s\"]}", i ? "," : "",
			i, argv[4]);
	fprintf(f, "]}\n");
	return fclose(f) == 0 ? 0 : 1;
}

static int mode_gen_noop(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	long n = atol(argv[2]);
	FILE *f = fopen(argv[3], "we");
	if (!f)
		return 1;
	fprintf(f, "{\"name\":\"bench-noop\",\"nodes\":[");
	for (long i = 0; i < n; i++)
		fprintf(f, "%s{\"id\":\"n%ld\",\"kind\":\"task\",\"fn\":\"noop\"}", i ? "," : "",
			i);
	fprintf(f, "]}\n");
	return fclose(f) == 0 ? 0 : 1;
}

static int mode_time(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	uint64_t t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
		return 1;
	double time_s = (double)(bench_now_ns() - t0) / 1e9;
	/* RUSAGE_CHILDREN covers the command and every descendant it waited
	 * for (xargs' and parallel's jobs), unlike ru of wait4 alone. */
	struct rusage rc;
	getrusage(RUSAGE_CHILDREN, &rc);
	double cpu = (double)(rc.ru_utime.tv_sec + rc.ru_stime.tv_sec) +
		     (double)(rc.ru_utime.tv_usec + rc.ru_stime.tv_usec) / 1e6;
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	printf("RESULT bench=%s rt=%s workers=0 time_s=%.4f cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       argv[3], argv[2], time_s, cpu, ru.ru_maxrss, ok);
	return 0;
}

static int mode_status_kb(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	char path[64], line[256];
	size_t n = strlen(argv[3]);
	snprintf(path, sizeof(path), "/proc/%s/status", argv[2]);
	FILE *f = fopen(path, "re");
	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, argv[3], n) == 0 && line[n] == ':') {
			printf("%ld\n", strtol(line + n + 1, NULL, 10));
			fclose(f);
			return 0;
		}
	fclose(f);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} modes[] = {
		{"ready", mode_ready},
		{"ping", mode_ping},
		{"submit-wait", mode_submit_wait},
		{"gen-exec", mode_gen_exec},
		{"gen-noop", mode_gen_noop},
		{"time", mode_time},
		{"status-kb", mode_status_kb},
	};

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0) {
			int r = modes[i].fn(argc, argv);
			if (r == 2)
				fprintf(stderr,
					"daemon-rpc %s: missing arguments (see the header of "
					"bench/daemon-rpc.c)\n",
					argv[1]);
			return r;
		}
	fprintf(stderr,
		"usage: daemon-rpc ready|ping|submit-wait|gen-exec|gen-noop|time|status-kb ...\n");
	return 2;
}
