/*
 * daemon-scrape.c -- the scraping side of the metrics benchmark (issue 8).
 *
 * A Prometheus scrape reduced to what it costs coopd: an HTTP/1.0 GET of
 * /metrics over a fresh loopback TCP connection, read to EOF.  No HTTP
 * library (libcurl is not a dependency of coopd), so the client adds as
 * little as possible to what is measured.  Modes:
 *
 *   daemon-scrape free-port
 *       prints a TCP port on 127.0.0.1 that was free a moment ago
 *   daemon-scrape get HOST:PORT N LABEL
 *       N scrapes one after the other (after 20 unmeasured ones): the
 *       round trip of each, from connect() to the last byte; p50/p90/p99/max
 *   daemon-scrape loop HOST:PORT HZ
 *       scrapes HZ times a second on a fixed schedule until SIGTERM or
 *       SIGINT, then prints how many it made, their round trips and how
 *       many failed (a scraper beside a workload)
 *
 * Output: one `RESULT bench=... rt=coopd workers=0 key=value ...` line (see
 * bench-util.h) plus '#' lines.  Nothing asserts on time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-util.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* "127.0.0.1:9000" -> sockaddr (IPv4 numeric only: a bench tool). */
static int parse_addr(const char *spec, struct sockaddr_in *ret)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = {.sin_family = AF_INET};

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	*ret = sa;
	return 0;
}

/* One scrape; returns the body size, or -1 (and says why on stderr) when
 * the answer is not a 200 with coopd's metrics in it. */
static long scrape(const struct sockaddr_in *sa, char **buf, size_t *cap)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: coopd\r\n\r\n";
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char *body;

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		fprintf(stderr, "daemon-scrape: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= *cap) {
			size_t nc = *cap ? *cap * 2 : 65536;
			char *nb = realloc(*buf, nc);

			if (!nb) {
				close(fd);
				return -1;
			}
			*buf = nb;
			*cap = nc;
		}
		n = read(fd, *buf + len, *cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	(*buf)[len] = '\0';
	body = strstr(*buf, "\r\n\r\n");
	if (strncmp(*buf, "HTTP/1.", 7) != 0 || strncmp(*buf + 8, " 200", 4) != 0 || !body ||
	    !strstr(body, "coopd_build_info")) {
		fprintf(stderr, "daemon-scrape: unexpected answer: %.200s\n", *buf);
		return -1;
	}
	return (long)(len - (size_t)(body + 4 - *buf));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return -1;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e3;
}

static int mode_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("daemon-scrape: free-port");
		return 1;
	}
	printf("%u\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

static int mode_get(int argc, char **argv)
{
	struct sockaddr_in sa;
	long n = argc > 3 ? atol(argv[3]) : 0, bytes = 0;
	uint64_t *lat;
	char *buf = NULL;
	size_t cap = 0;

	if (argc < 5 || n <= 0 || parse_addr(argv[2], &sa) < 0)
		return 2;
	lat = calloc((size_t)n, sizeof(*lat));
	if (!lat)
		return 1;
	for (int i = 0; i < 20; i++)
		if (scrape(&sa, &buf, &cap) < 0)
			return 1;
	uint64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t t = bench_now_ns();

		bytes = scrape(&sa, &buf, &cap);
		if (bytes < 0)
			return 1;
		lat[i] = bench_now_ns() - t;
	}
	double total_s = (double)(bench_now_ns() - t0) / 1e9;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("RESULT bench=%s rt=coopd workers=0 p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	       "max_us=%.1f samples=%ld body_bytes=%ld scrapes_per_s=%.0f cpu_s=%.3f ok=1\n",
	       argv[4], pct_us(lat, (size_t)n, 0.5), pct_us(lat, (size_t)n, 0.9),
	       pct_us(lat, (size_t)n, 0.99), (double)lat[n - 1] / 1e3, n, bytes,
	       (double)n / total_s, bench_cpu_s());
	free(lat);
	free(buf);
	return 0;
}

static int mode_loop(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct sigaction act = {.sa_handler = on_stop};
	double hz = argc > 3 ? atof(argv[3]) : 0;
	size_t n = 0, cap_lat = 1024, failures = 0;
	uint64_t *lat = malloc(cap_lat * sizeof(*lat)), period, next;
	char *buf = NULL;
	size_t cap = 0;

	if (argc < 4 || hz <= 0 || hz > 10000 || parse_addr(argv[2], &sa) < 0 || !lat)
		return 2;
	/* no SA_RESTART: SIGTERM must end the sleep between scrapes */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	period = (uint64_t)(1e9 / hz);
	next = bench_now_ns();
	while (!stop) {
		uint64_t t = bench_now_ns();

		if (scrape(&sa, &buf, &cap) < 0) {
			if (!stop) /* not the one our SIGTERM interrupted */
				failures++;
		} else {
			if (n == cap_lat) {
				uint64_t *nl = realloc(lat, 2 * cap_lat * sizeof(*lat));

				if (!nl)
					break;
				lat = nl;
				cap_lat *= 2;
			}
			lat[n++] = bench_now_ns() - t;
		}
		/* a fixed schedule, as Prometheus keeps one: a slow scrape does
		 * not push the next ones back */
		next += period;
		uint64_t now = bench_now_ns();
		if (next > now) {
			struct timespec ts = {(time_t)((next - now) / 1000000000u),
					      (long)((next - now) % 1000000000u)};
			nanosleep(&ts, NULL);
		} else {
			next = now;
		}
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("RESULT bench=scraper rt=coopd workers=0 scrapes=%zu failures=%zu "
	       "scrape_p50_us=%.1f scrape_p99_us=%.1f scrape_max_us=%.1f\n",
	       n, failures, pct_us(lat, n, 0.5), pct_us(lat, n, 0.99),
	       n ? (double)lat[n - 1] / 1e3 : -1.0);
	free(lat);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	if (argc >= 2 && strcmp(argv[1], "free-port") == 0)
		r = mode_free_port();
	else if (argc >= 2 && strcmp(argv[1], "get") == 0)
		r = mode_get(argc, argv);
	else if (argc >= 2 && strcmp(argv[1], "loop") == 0)
		r = mode_loop(argc, argv);
	if (r == 2)
		fprintf(stderr, "usage: daemon-scrape free-port | get HOST:PORT N LABEL | "
				"loop HOST:PORT HZ\n");
	return r;
}
