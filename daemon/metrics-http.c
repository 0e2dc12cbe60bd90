/*
 * metrics-http.c - GET /metrics with libmicrohttpd on the libev loop.
 *
 * MHD runs without threads of its own (MHD_USE_EPOLL, external polling):
 * its epoll fd is one ev_io, its timeout one ev_timer, and MHD_run() is
 * called from those callbacks.  The listening socket is made here
 * (SOCK_CLOEXEC, numeric address only) and handed to MHD.  Anything but
 * GET /metrics answers 404 or 405.
 *
 * Why a scrape cannot stall the executor: the text is rendered on the loop
 * thread, which owns the daemon's counters, so nothing is locked against
 * the workers; libcoop's figures come from coop_rt_stats(), relaxed atomic
 * loads (see metrics-text.c).  MHD_run() never blocks (non-blocking
 * sockets, a zero-timeout epoll_wait), and a slow or silent client only
 * holds one of 16 connection slots until its 10 s timeout.  A scrape costs
 * the loop well under a tenth of a millisecond, mostly in the kernel's
 * TCP (bench/daemon-scrape.sh, "Scrape cost" in bench/README.md).
 *
 * The per-connection memory pool stays at 16 KiB (a GET needs far less;
 * the body is sent from our own buffer): MHD malloc()s pools up to 32 KiB
 * but mmap()s larger ones, and the munmap() at every connection's end
 * cost a TLB shootdown across all of coopd's threads, ~10x the rest of
 * the scrape.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "coopd.h"
#include "metrics-http.h"
#include "metrics-text.h"
#include "util-log.h"

struct metrics_http {
	struct coopd *d;
	struct MHD_Daemon *mhd;
	int listen_fd;
	ev_io io;
	ev_timer timer;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result r;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *h = cls;
	struct strbuf sb;
	char *text;
	size_t len = 0;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     strdup("method not allowed\n"), 19);
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", strdup("not found\n"), 10);
	sb_init(&sb);
	metrics_render(h->d, &sb);
	text = sb_steal(&sb, &len);
	if (!text)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void rearm(struct metrics_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(h->d->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		ev_timer_set(&h->timer, (double)ms / 1000., 0.);
		ev_timer_start(h->d->loop, &h->timer);
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct metrics_http *h = w->data;

	(void)MHD_run(h->mhd);
	rearm(h);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct metrics_http *h = w->data;

	(void)MHD_run(h->mhd);
	rearm(h);
}

/* "ADDR:PORT" or "[V6ADDR]:PORT" -> a bound, listening socket. */
static int open_listener(const char *spec, int *ret_fd)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	size_t hl;
	int fd, r, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		memcpy(host, spec + 1, hl - 2);
		host[hl - 2] = '\0';
	} else {
		memcpy(host, spec, hl);
		host[hl] = '\0';
	}
	r = getaddrinfo(host, colon + 1, &hints, &ai);
	if (r != 0)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	*ret_fd = fd;
	r = 0;
out:
	freeaddrinfo(ai);
	return r;
}

int metrics_http_start(struct coopd *d, struct metrics_http **ret)
{
	struct metrics_http *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *info;
	int r;

	if (!h)
		return -ENOMEM;
	h->d = d;
	r = open_listener(d->cfg.metrics_listen, &h->listen_fd);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot listen for metrics on %s", d->cfg.metrics_listen);
		free(h);
		return r;
	}
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, /* see top */
		MHD_OPTION_END);
	info = h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		log_err("cannot start the metrics HTTP server on %s", d->cfg.metrics_listen);
		if (h->mhd)
			MHD_stop_daemon(h->mhd);
		close(h->listen_fd);
		free(h);
		return -EIO;
	}
	ev_io_init(&h->io, io_cb, info->epoll_fd, EV_READ);
	h->io.data = h;
	ev_io_start(d->loop, &h->io);
	ev_timer_init(&h->timer, timer_cb, 0., 0.);
	h->timer.data = h;
	rearm(h);
	log_info("serving Prometheus metrics on http://%s/metrics", d->cfg.metrics_listen);
	*ret = h;
	return 0;
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	ev_io_stop(h->d->loop, &h->io);
	ev_timer_stop(h->d->loop, &h->timer);
	MHD_stop_daemon(h->mhd);
	close(h->listen_fd);
	free(h);
}
