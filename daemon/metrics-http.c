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
 * A slot for the next scrape (issue 15, docs/security.md "Fair share"):
 * the listener is open to every local user, and 16 connections that send
 * nothing would otherwise keep Prometheus out until their 10 s timeouts
 * (and again at once, since the holder reconnects).  So whenever fewer
 * than METRICS_SPARE slots are free, the connection that has been idle
 * longest -- connected, or done with its last request, at least
 * METRICS_GRACE_S ago, and not in the middle of a request -- is shut down
 * (shutdown(2) on its socket: MHD sees the end of it and closes it as
 * usual).  This is checked when a connection starts and, while the slots
 * are short, when the oldest idle connection's grace ends.  A scrape sends
 * its request as soon as it is connected, well within its grace, and is
 * then busy until answered; idle holders only push each other out.
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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "coopd.h"
#include "metrics-http.h"
#include "metrics-text.h"
#include "util-log.h"

#define METRICS_SLOTS 16    /* MHD's connection limit */
#define METRICS_SPARE 2     /* slots kept free for the next scrape */
#define METRICS_GRACE_S 0.5 /* idle this long before it may be shut down */

/* One HTTP connection, in order of last activity (oldest first). */
struct metrics_conn {
	int fd;
	ev_tstamp since; /* connected, or its last request answered */
	bool busy;       /* a request is being answered */
	bool evicted;    /* shut down to make room; MHD closes it next */
	struct metrics_conn *prev, *next;
};

struct metrics_http {
	struct coopd *d;
	struct metrics_conn *head, *tail;
	size_t n_conns;   /* not evicted */
	size_t n_evicted; /* shut down, not yet closed by MHD */
	bool rerun;       /* a connection closed: run MHD again at once */
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

static void conn_unlink(struct metrics_http *h, struct metrics_conn *mc)
{
	if (mc->prev)
		mc->prev->next = mc->next;
	else
		h->head = mc->next;
	if (mc->next)
		mc->next->prev = mc->prev;
	else
		h->tail = mc->prev;
	mc->prev = mc->next = NULL;
}

static void conn_append(struct metrics_http *h, struct metrics_conn *mc)
{
	mc->prev = h->tail;
	mc->next = NULL;
	if (h->tail)
		h->tail->next = mc;
	else
		h->head = mc;
	h->tail = mc;
}

/* Whether fewer than METRICS_SPARE slots are free. */
static bool short_of_slots(const struct metrics_http *h)
{
	return h->n_conns + METRICS_SPARE > METRICS_SLOTS;
}

/* The longest-idle connection that may be shut down at some time, or
 * NULL (the list is in order of `since`). */
static struct metrics_conn *oldest_idle(const struct metrics_http *h)
{
	for (struct metrics_conn *mc = h->head; mc; mc = mc->next)
		if (!mc->busy && !mc->evicted)
			return mc;
	return NULL;
}

/* Shuts down the longest-idle connections past their grace until
 * METRICS_SPARE slots are free, or none is left to shut. */
static void make_room(struct metrics_http *h)
{
	ev_tstamp now = ev_now(h->d->loop);
	struct metrics_conn *mc;

	while (short_of_slots(h) && (mc = oldest_idle(h)) && now - mc->since >= METRICS_GRACE_S) {
		(void)shutdown(mc->fd, SHUT_RDWR);
		mc->evicted = true;
		h->n_conns--;
		h->n_evicted++;
		h->d->counters.metrics_conns_evicted++;
	}
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct metrics_http *h = cls;
	struct metrics_conn *mc = *socket_context;
	const union MHD_ConnectionInfo *info;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!mc)
			return;
		if (mc->evicted)
			h->n_evicted--;
		else
			h->n_conns--;
		/* MHD takes its listening socket out of epoll at its limit
		 * and puts it back only in a later MHD_run(): make sure one
		 * comes, rather than waiting for an unrelated event. */
		h->rerun = true;
		conn_unlink(h, mc);
		free(mc);
		*socket_context = NULL;
		return;
	}
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	mc = info ? calloc(1, sizeof(*mc)) : NULL;
	if (!mc)
		return; /* untracked: never evicted, MHD's timeout still applies */
	mc->fd = info->connect_fd;
	mc->since = ev_now(h->d->loop);
	*socket_context = mc;
	conn_append(h, mc);
	h->n_conns++;
	make_room(h);
}

static struct metrics_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

/* A request was answered (or failed): the connection is idle again, the
 * most recently active one. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct metrics_http *h = cls;
	struct metrics_conn *mc = conn_of(conn);

	if (!mc)
		return;
	mc->busy = false;
	mc->since = ev_now(h->d->loop);
	conn_unlink(h, mc);
	conn_append(h, mc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *h = cls;
	struct metrics_conn *mc = conn_of(conn);
	struct strbuf sb;
	char *text;
	size_t len = 0;

	if (mc)
		mc->busy = true;
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

/* The next MHD_run() without an event: MHD's own timeout, sooner while
 * connections shut down to make room are being closed (see on_connection)
 * or, short of slots, when the oldest idle connection's grace ends. */
static void rearm(struct metrics_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	double after = -1;
	struct metrics_conn *old = short_of_slots(h) ? oldest_idle(h) : NULL;

	ev_timer_stop(h->d->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		after = (double)ms / 1000.;
	if (h->rerun) {
		h->rerun = false;
		after = 0.;
	} else if (h->n_evicted > 0 && (after < 0 || after > 0.01)) {
		after = 0.01;
	}
	if (old) {
		double grace = old->since + METRICS_GRACE_S - ev_now(h->d->loop);

		if (grace < 0)
			grace = 0;
		if (after < 0 || grace < after)
			after = grace;
	}
	if (after >= 0) {
		ev_timer_set(&h->timer, after, 0.);
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

	make_room(h);
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
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_SLOTS, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, /* see top */
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, h, MHD_OPTION_END);
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
