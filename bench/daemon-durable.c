/*
 * daemon-durable.c -- the price of durability (issue 7, docs/durability.md).
 *
 *   daemon-durable SOCK CLIENTS SUBMITS LABEL
 *   daemon-durable --bare FILE WRITES LABEL
 *
 * CLIENTS processes (forked), each on its own connection, submit SUBMITS
 * one-node graphs ({"nodes":[{"id":"a","kind":"task","fn":"noop"}]}) one at
 * a time: send the request, read the answer.  `submit` answers only once
 * the graph is on disk (a transaction of coopd.db committed with its
 * fdatasync; group commit across clients), so the latency of one submit is the cost of making a
 * graph durable, and submits/second from many clients shows how well the
 * syncs are shared.  Run against a coopd with `fsync = no` the same figures
 * show what is left without the syncs.
 *
 * Output: one line
 *   RESULT bench=daemon-durable-LABEL clients=C submits=N p50_ms=.. p99_ms=..
 *          max_ms=.. rate=SUBMITS_PER_S wall_s=..
 * (latencies over every submit of every client; rate = all submits / the
 * wall time from the moment all clients are connected to the last answer).
 * Nothing asserts on time.
 *
 * --bare: the floor on the same file system, without coopd: WRITES times
 * write 128 bytes into FILE and fdatasync it; one RESULT line the same,
 * clients=1, with every write+fdatasync as one "submit".  FILE is 1 MiB,
 * written whole and synced first, and the writes go round in it: like
 * SQLite's WAL once it has reached its size, a sync then flushes data and
 * no file size (appending would add a journal commit of the size to every
 * fdatasync).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"

static const char graph_req_fmt[] =
	"{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"submit\",\"params\":{\"graph\":"
	"{\"name\":\"durable\",\"nodes\":[{\"id\":\"a\",\"kind\":\"task\",\"fn\":\"noop\"}]}}}\n";

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Reads one answer line; 0, or -1 with a message on stderr. */
static int read_answer(int fd, char *buf, size_t cap, size_t *len)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *len);
		ssize_t r;

		if (nl) {
			size_t used = (size_t)(nl - buf) + 1;

			if (!memmem(buf, used, "\"result\"", 8)) {
				fprintf(stderr, "daemon-durable: submit failed: %.*s", (int)used,
					buf);
				return -1;
			}
			memmove(buf, buf + used, *len - used);
			*len -= used;
			return 0;
		}
		if (*len == cap) {
			fprintf(stderr, "daemon-durable: answer too long\n");
			return -1;
		}
		r = read(fd, buf + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "daemon-durable: connection closed\n");
			return -1;
		}
		*len += (size_t)r;
	}
}

/* One client: waits for the go byte, then submits n graphs, storing each
 * latency in lat[].  Exit status 0 or 1. */
static int client(const char *sock, int n, int go_fd, uint64_t *lat)
{
	char req[512], buf[8192];
	size_t len = 0;
	int fd = connect_to(sock);
	char go;

	if (fd < 0) {
		fprintf(stderr, "daemon-durable: connect %s: %s\n", sock, strerror(-fd));
		return 1;
	}
	if (read(go_fd, &go, 1) != 1)
		return 1;
	for (int i = 0; i < n; i++) {
		int rl = snprintf(req, sizeof(req), graph_req_fmt, i + 1);
		uint64_t t0 = bench_now_ns();

		if (write(fd, req, (size_t)rl) != rl || read_answer(fd, buf, sizeof(buf), &len) < 0)
			return 1;
		lat[i] = bench_now_ns() - t0;
	}
	close(fd);
	return 0;
}

/* The bare write+fdatasync loop (--bare). */
static int bare(const char *path, int n, const char *label)
{
	char rec[128];
	uint64_t *lat = calloc((size_t)n, sizeof(*lat)), t0, t1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const size_t size = 1 << 20;

	if (!lat || fd < 0) {
		perror("daemon-durable --bare");
		return 1;
	}
	memset(rec, 'x', sizeof(rec));
	rec[sizeof(rec) - 1] = '\n';
	for (size_t off = 0; off < size; off += sizeof(rec))
		if (pwrite(fd, rec, sizeof(rec), (off_t)off) != (ssize_t)sizeof(rec)) {
			perror("daemon-durable --bare");
			return 1;
		}
	if (fsync(fd) < 0) {
		perror("daemon-durable --bare");
		return 1;
	}
	t0 = bench_now_ns();
	for (int i = 0; i < n; i++) {
		uint64_t s = bench_now_ns();
		off_t off = (off_t)(((size_t)i * sizeof(rec)) % size);

		if (pwrite(fd, rec, sizeof(rec), off) != (ssize_t)sizeof(rec) ||
		    fdatasync(fd) < 0) {
			perror("daemon-durable --bare");
			return 1;
		}
		lat[i] = bench_now_ns() - s;
	}
	t1 = bench_now_ns();
	close(fd);
	unlink(path);
	printf("RESULT bench=daemon-durable-%s rt=bare clients=1 submits=%d p50_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f rate=%.1f wall_s=%.3f\n",
	       label, n, (double)bench_quantile(lat, (size_t)n, 0.50) / 1e6,
	       (double)bench_quantile(lat, (size_t)n, 0.99) / 1e6,
	       (double)bench_quantile(lat, (size_t)n, 1.0) / 1e6, (double)n / ((t1 - t0) / 1e9),
	       (t1 - t0) / 1e9);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	int clients, n, go[2], failed = 0;
	const char *sock, *label;
	uint64_t *lat, t0, t1;
	size_t total;

	if (argc == 5 && strcmp(argv[1], "--bare") == 0)
		return bare(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1, argv[4]);
	if (argc != 5) {
		fprintf(stderr, "usage: daemon-durable SOCK CLIENTS SUBMITS LABEL\n"
				"       daemon-durable --bare FILE WRITES LABEL\n");
		return 2;
	}
	sock = argv[1];
	clients = atoi(argv[2]);
	n = atoi(argv[3]);
	label = argv[4];
	if (clients < 1 || n < 1) {
		fprintf(stderr, "daemon-durable: CLIENTS and SUBMITS must be positive\n");
		return 2;
	}
	total = (size_t)clients * (size_t)n;
	lat = mmap(NULL, total * sizeof(*lat), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (lat == MAP_FAILED || pipe(go) < 0) {
		perror("daemon-durable");
		return 1;
	}
	for (int c = 0; c < clients; c++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			close(go[1]);
			_exit(client(sock, n, go[0], lat + (size_t)c * (size_t)n));
		}
	}
	close(go[0]);
	/* Connections are made before the go; give them a moment to be
	 * accepted so that connecting is not measured. */
	bench_sleep_ms(200);
	t0 = bench_now_ns();
	for (int c = 0; c < clients; c++)
		if (write(go[1], "g", 1) != 1)
			failed = 1;
	close(go[1]);
	for (int c = 0; c < clients; c++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	t1 = bench_now_ns();
	if (failed) {
		fprintf(stderr, "daemon-durable: a client failed\n");
		return 1;
	}
	{
		double p50 = (double)bench_quantile(lat, total, 0.50) / 1e6;
		double p99 = (double)bench_quantile(lat, total, 0.99) / 1e6;
		double max = (double)bench_quantile(lat, total, 1.0) / 1e6;
		double wall = (double)(t1 - t0) / 1e9;

		printf("RESULT bench=daemon-durable-%s rt=coopd clients=%d submits=%zu p50_ms=%.3f "
		       "p99_ms=%.3f max_ms=%.3f rate=%.1f wall_s=%.3f\n",
		       label, clients, total, p50, p99, max, (double)total / wall, wall);
	}
	return 0;
}
