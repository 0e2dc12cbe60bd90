/*
 * server-conn.c - client connections: accept, read, frame, write, close.
 *
 * Reading: up to 64 KiB per callback into the connection's proto_inbuf,
 * whose bound is the request size limit; the complete lines are
 * dispatched at once, within the callback's budget, the rest on the
 * connection's next turn (server-turns.c).  Back-pressure: while more than
 * cfg.answer_backlog bytes of answers wait to be written, the connection
 * is not read, so a client that pipelines requests without reading the
 * answers cannot grow our memory beyond one answer past that bound; and
 * while the answers unsent to all the connections of its uid come to
 * answer_bytes_per_user, none of them dispatches a line (the answer share,
 * conn_account_output).  Events (watch) have their own bound
 * (proto_outbuf's limit); a client over it is dropped.
 *
 * A client that disconnects in the middle of a line or while requests are
 * in flight is simply closed: its pending `wait`s are forgotten, its
 * graphs go on.
 *
 * Fair share (docs/security.md, "Per-user limits and timeouts"): a
 * non-root uid holds at most max_connections_per_user connections, and
 * root_reserved_connections of max_connections are kept for root, so no
 * user can lock the others or the operator out.  The bytes of input kept
 * (unfinished lines, lines not yet dispatched, and the copies of a line
 * that waits for the parse thread or for a read: conn_input_held) are
 * counted per uid and in total; the read that would take a uid over max_input_bytes_per_user, or
 * everyone over max_input_bytes, gets -32003 naming the key and the
 * connection is closed.  Each connection has one timer: a line started
 * and not finished within message_timeout_ms (counted while we read: not
 * while back-pressure keeps the client from finishing it) gets -32600 and
 * the connection is closed (a client sending a byte a second, or half a
 * message, holds nothing for long); a connection with nothing in flight
 * (no partial line, no unsent answer, no `wait` or `submit` pending, not
 * watching) for idle_timeout_ms is closed.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "server-internal.h"
#include "util-log.h"

static void conn_process_lines(struct conn *c, struct turn_budget *b);
static void conn_timer_arm(struct conn *c);
static bool conn_account_input(struct conn *c);

/* Bytes read from a client per callback. */
#define CONN_READ_BYTES 65536

/* How long a connection that was told why it is closed may take to read
 * that line before it is closed anyway. */
#define CONN_FAREWELL_S 5.0
/* How long a client may take to read its last answers and events when
 * coopd stops (server_drain): within systemd's stop timeout. */
#define SERVER_DRAIN_S 2.0

bool conn_may_see(const struct conn *c, uid_t owner)
{
	return c->uid == 0 || c->uid == owner;
}

static void conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	struct iovec iov[64];
	int n;
	ssize_t r;

	if (c->dead) {
		conn_close(c);
		return;
	}
	while ((n = proto_outbuf_iov(&c->out, iov, 64)) > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};

		r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* EPIPE, ECONNRESET: the peer is gone. */
			conn_close(c);
			return;
		}
		proto_outbuf_consume(&c->out, (size_t)r);
		c->last_active = ev_now(loop);
	}
	/* What went gives the user's answer share back (and may give the
	 * user's waiting connections their turn). */
	conn_account_output(c);
	/* A streamed answer: its next piece once the last has (nearly) gone;
	 * one piece per callback, so that others get their turn. */
	if (c->stream) {
		conn_stream_fill(c);
		if (c->dead || c->stream) {
			if (!c->dead)
				conn_update_watchers(c);
			return;
		}
	}
	if (c->timed_out) {
		if (proto_outbuf_pending(&c->out) == 0)
			conn_close(c);
		return;
	}
	if (c->eof && proto_outbuf_pending(&c->out) == 0 && c->n_laters == 0 &&
	    !c->has_unread_lines && !c->stream && !conn_parked(c) && !c->parsing) {
		conn_close(c);
		return;
	}
	if (c->has_unread_lines && proto_outbuf_pending(&c->out) < c->d->cfg.answer_backlog) {
		struct turn_budget b;

		turn_budget_init(&b);
		conn_take_turn(c, &b);
		return;
	}
	conn_update_watchers(c);
}

void conn_take_turn(struct conn *c, struct turn_budget *b)
{
	if (c->dead || c->timed_out)
		return;
	conn_process_lines(c, b);
	/* The lines taken give their bytes back to the user's share now,
	 * not at the next read (which may never come). */
	if (!c->dead && !c->timed_out)
		(void)conn_account_input(c);
}

/* Sends what is queued now rather than on the write watcher's turn: an
 * answer that comes later (a submit once it is durable) goes out at once,
 * without starting and stopping the watcher (two epoll_ctl and an
 * epoll_wait per answer).  Only in the plain case; the rest (a stream,
 * lines held back, a closing connection, the watcher already on) is the
 * write callback's.  Answers to the lines of one read go out together,
 * after them (conn_process_lines).  A failed send is left to the watcher,
 * which sees it again and closes the connection. */
static void conn_write_now(struct conn *c)
{
	struct iovec iov[64];
	int n;
	ssize_t r;

	if (c->dead || c->eof || c->timed_out || c->stream || c->has_unread_lines || c->writing ||
	    c->dispatching)
		return;
	while ((n = proto_outbuf_iov(&c->out, iov, 64)) > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};

		r = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r <= 0)
			return;
		proto_outbuf_consume(&c->out, (size_t)r);
		c->last_active = ev_now(c->d->loop);
	}
}

/* Answer bytes c holds unsent: its output's and, while it streams, those
 * held for after the stream (events are bounded on their own:
 * event_queue_bytes). */
static size_t conn_answers_held(const struct conn *c)
{
	return proto_outbuf_pending(&c->out) - proto_outbuf_bounded(&c->out) +
	       proto_outbuf_pending(&c->held) - proto_outbuf_bounded(&c->held);
}

void conn_account_output(struct conn *c)
{
	struct server *s = c->d->server;
	size_t held = conn_answers_held(c);

	if (held < c->answers_counted) {
		uidcount_sub(&s->answers_of, c->uid, c->answers_counted - held);
		s->answers_total -= c->answers_counted - held;
		c->answers_counted = held;
		server_turns_share_drained(s, c->uid);
		return;
	}
	if (held == c->answers_counted)
		return;
	if (uidcount_add(&s->answers_of, c->uid, held - c->answers_counted) < 0) {
		/* Uncounted answers would escape the share: c goes. */
		log_err("out of memory counting answers of client %lu; dropping it", c->serial);
		conn_drop(c);
		return;
	}
	s->answers_total += held - c->answers_counted;
	c->answers_counted = held;
}

/* Starts/stops the read and write watchers after the buffers changed. */
void conn_update_watchers(struct conn *c)
{
	struct ev_loop *loop = c->d->loop;
	size_t pending;
	bool want_write, want_read;

	/* Every change of c's output passes here: its user's answer share
	 * (first: out of memory there drops c). */
	conn_account_output(c);
	pending = proto_outbuf_pending(&c->out);
	want_write = pending > 0 || c->stream;
	/* Requests that come after a streamed answer wait for its end. */
	want_read = !c->dead && !c->eof && !c->timed_out && !c->has_unread_lines && !c->stream &&
		    !conn_parked(c) && !c->parsing && pending < c->d->cfg.answer_backlog;

	if (want_write != c->writing) {
		if (want_write)
			ev_io_start(loop, &c->wio);
		else
			ev_io_stop(loop, &c->wio);
		c->writing = want_write;
	}
	if (want_read != c->reading) {
		if (want_read)
			ev_io_start(loop, &c->rio);
		else
			ev_io_stop(loop, &c->rio);
		c->reading = want_read;
		/* While we do not read (back-pressure), the client cannot
		 * finish its line: its time starts again when we do. */
		if (want_read && c->partial_since > 0) {
			c->partial_since = ev_now(loop);
			conn_timer_arm(c);
		}
	}
}

/* Drops c from its write callback (safe while callers iterate lists). */
void conn_drop(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->reading) {
		ev_io_stop(c->d->loop, &c->rio);
		c->reading = false;
	}
	ev_feed_event(c->d->loop, &c->wio, EV_WRITE);
}

void conn_queue_answer(struct conn *c, char *line, size_t len)
{
	if (c->dead) {
		free(line);
		return;
	}
	/* Never inside a streamed answer's line: after it. */
	if (proto_outbuf_push_owned(c->stream ? &c->held : &c->out, line, len, false) < 0) {
		log_err("out of memory queueing an answer; dropping client %lu", c->serial);
		conn_drop(c);
		return;
	}
	conn_write_now(c);
	conn_update_watchers(c);
}

bool conn_queue_event(struct conn *c, const char *line, size_t len)
{
	int r;

	if (c->dead)
		return false;
	r = proto_outbuf_push(c->stream ? &c->held : &c->out, line, len, true);
	if (r < 0) {
		if (r == -ENOBUFS) {
			log_notice("client %lu (uid %lu) does not read its events; dropping it",
				   c->serial, (unsigned long)c->uid);
			c->d->counters.clients_dropped++;
		}
		conn_drop(c);
		return false;
	}
	conn_update_watchers(c);
	return true;
}

/* Answers one error line (id null), stops reading, gives back the input
 * and closes the connection once the line is written (or after
 * CONN_FAREWELL_S if the client does not read it). */
static void conn_fail(struct conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_fail(struct conn *c, int code, const char *fmt, ...)
{
	struct server *s = c->d->server;
	struct proto_error err;
	va_list ap;

	va_start(ap, fmt);
	proto_error_setv(&err, code, NULL, fmt, ap);
	va_end(ap);
	log_notice("client %lu (uid %lu): %s; closing it", c->serial, (unsigned long)c->uid,
		   err.reason);
	dispatch_count(c->d, PROTO_M_UNKNOWN, code);
	/* In the middle of a streamed line no other line can be told. */
	if (c->stream) {
		conn_stream_abort(c);
		conn_drop(c);
		return;
	}
	c->timed_out = true;
	c->has_unread_lines = false;
	conn_turn_forget(c);
	proto_inbuf_free(&c->in);
	uidcount_sub(&s->input_of, c->uid, c->input_counted);
	s->input_total -= c->input_counted;
	c->input_counted = 0;
	conn_answer_error(c, NULL, &err);
	if (c->dead)
		return;
	conn_update_watchers(c);
	ev_timer_stop(c->d->loop, &c->timeout_w);
	ev_timer_set(&c->timeout_w, CONN_FAREWELL_S, 0.);
	ev_timer_start(c->d->loop, &c->timeout_w);
}

/* Brings the uid's and the total count of input bytes up to date with
 * what c keeps now.  Returns false when that was over a share: c was told
 * (-32003 naming the key) and is being closed. */
/* The request bytes c keeps: its input buffer's, and the copy of a line
 * taken from it that waits for the parse thread (server-parse.c) or for a
 * read (server-park.c).  Those copies count until the request is
 * dispatched: else one user's connections, each with a max_request_bytes
 * line queued for the parse thread, held connections x max_request_bytes
 * (64 x 16 MiB) beside a share of 64 MiB. */
static size_t conn_input_held(const struct conn *c)
{
	return proto_inbuf_held(&c->in) + server_parse_held(c) + (c->park_line ? c->park_len : 0);
}

static bool conn_account_input(struct conn *c)
{
	struct server *s = c->d->server;
	const struct coopd_config *cfg = &c->d->cfg;
	size_t held = conn_input_held(c);
	size_t add, user_cap;

	if (held <= c->input_counted) {
		uidcount_sub(&s->input_of, c->uid, c->input_counted - held);
		s->input_total -= c->input_counted - held;
		c->input_counted = held;
		return true;
	}
	add = held - c->input_counted;
	/* Root is not held to the per-user share, only to the total.  The
	 * share always admits one whole request of max_request_bytes and the
	 * rest of the read that completed it (a client pipelining behind a
	 * maximal request is not refused for it). */
	user_cap = cfg->limits.max_request + CONN_READ_BYTES + 1;
	if (user_cap < cfg->max_input_bytes_per_user)
		user_cap = cfg->max_input_bytes_per_user;
	if (c->uid != 0 && uidcount_get(&s->input_of, c->uid) + add > user_cap) {
		conn_fail(c, PROTO_ERR_LIMIT,
			  "too many bytes of unfinished requests for this user "
			  "(max_input_bytes_per_user %zu)",
			  cfg->max_input_bytes_per_user);
		return false;
	}
	if (s->input_total + add > cfg->max_input_bytes) {
		conn_fail(c, PROTO_ERR_LIMIT,
			  "too many bytes of unfinished requests (max_input_bytes %zu)",
			  cfg->max_input_bytes);
		return false;
	}
	if (uidcount_add(&s->input_of, c->uid, add) < 0) {
		log_err("out of memory counting input of client %lu; dropping it", c->serial);
		conn_close(c);
		return false;
	}
	s->input_total += add;
	c->input_counted = held;
	return true;
}

/* Nothing in flight: no unfinished or undispatched input, no unsent
 * answer, no request answered later, no subscription. */
static bool conn_idle(const struct conn *c)
{
	return proto_inbuf_held(&c->in) == 0 && proto_outbuf_pending(&c->out) == 0 &&
	       c->n_laters == 0 && !c->watching && !c->has_unread_lines && !c->stream &&
	       !conn_parked(c) && !c->parsing;
}

/* Sets the connection's one timer to its next deadline: the end of the
 * unfinished message's time, else the end of its idle time; while
 * something is in flight it looks again one idle period later. */
static void conn_timer_arm(struct conn *c)
{
	const struct coopd_config *cfg = &c->d->cfg;
	ev_tstamp now = ev_now(c->d->loop), at = 0;

	if (c->timed_out || c->dead)
		return;
	if (c->partial_since > 0 && cfg->message_timeout_ms > 0 && c->reading)
		at = c->partial_since + cfg->message_timeout_ms / 1000.;
	else if (cfg->idle_timeout_ms > 0)
		at = (conn_idle(c) ? c->last_active : now) + cfg->idle_timeout_ms / 1000.;
	ev_timer_stop(c->d->loop, &c->timeout_w);
	if (at == 0)
		return;
	ev_timer_set(&c->timeout_w, at > now ? at - now : 0.001, 0.);
	ev_timer_start(c->d->loop, &c->timeout_w);
}

static void conn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	const struct coopd_config *cfg = &c->d->cfg;
	ev_tstamp now = ev_now(loop);

	if (c->timed_out || c->dead) {
		conn_close(c);
		return;
	}
	if (c->partial_since > 0 && cfg->message_timeout_ms > 0 && c->reading &&
	    now >= c->partial_since + cfg->message_timeout_ms / 1000. - 0.001) {
		c->d->counters.connections_timed_out++;
		conn_fail(c, PROTO_ERR_INVALID_REQUEST,
			  "message not finished within %u ms (message_timeout_ms)",
			  cfg->message_timeout_ms);
		return;
	}
	if (c->partial_since == 0 && cfg->idle_timeout_ms > 0 && conn_idle(c) &&
	    now >= c->last_active + cfg->idle_timeout_ms / 1000. - 0.001) {
		log_debug("client %lu (uid %lu) idle for %u ms; closing it", c->serial,
			  (unsigned long)c->uid, cfg->idle_timeout_ms);
		c->d->counters.connections_timed_out++;
		conn_close(c);
		return;
	}
	conn_timer_arm(c);
}

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	char buf[CONN_READ_BYTES];
	struct turn_budget b;
	ssize_t r;

	r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (r == 0) {
		if (proto_inbuf_partial(&c->in) > 0)
			log_debug("client %lu disconnected in the middle of a message", c->serial);
		/* Half-close: answers still due are written, then the connection
		 * goes (clients like `nc -N` shut their side first).  A peer that
		 * is really gone makes the write fail, which closes it too. */
		c->eof = true;
		if (proto_outbuf_pending(&c->out) == 0 && c->n_laters == 0 && !c->stream &&
		    !conn_parked(c) && !c->parsing) {
			conn_close(c);
			return;
		}
		conn_update_watchers(c);
		return;
	}
	c->last_active = ev_now(loop);
	if (proto_inbuf_feed(&c->in, buf, (size_t)r) < 0) {
		log_err("out of memory reading from client %lu; dropping it", c->serial);
		conn_close(c);
		return;
	}
	if (!conn_account_input(c))
		return;
	turn_budget_init(&b);
	conn_process_lines(c, &b);
	if (c->dead || c->timed_out)
		return;
	(void)conn_account_input(c); /* only shrinks after dispatching */
	if (proto_inbuf_partial(&c->in) == 0)
		c->partial_since = 0;
	else if (c->partial_since == 0)
		c->partial_since = ev_now(loop);
	conn_timer_arm(c);
}

/* Dispatches the complete lines in the input buffer within b, until
 * back-pressure stops reading; the rest is dispatched when the answers
 * have drained, on the connection's next turn (server-turns.c: b was
 * spent, or its user's answers are at answer_bytes_per_user). */
static void conn_process_lines(struct conn *c, struct turn_budget *b)
{
	const char *line;
	size_t len;
	enum proto_frame_result fr;

	if (c->stream || conn_parked(c) || c->parsing || c->turn != CONN_TURN_NONE) {
		/* Later lines wait for the stream, the parked request, or
		 * their turn. */
		c->has_unread_lines = true;
		conn_update_watchers(c);
		return;
	}
	c->has_unread_lines = false;
	c->dispatching = true;
	while (!c->dead && proto_inbuf_ready(&c->in)) {
		/* The next requests wait for the answers to drain, for a
		 * streamed answer's end, for the tree a parked one waits
		 * for, or for their turn. */
		if (proto_outbuf_pending(&c->out) >= c->d->cfg.answer_backlog ||
		    !conn_turn_may_dispatch(c, b)) {
			c->has_unread_lines = true;
			break;
		}
		fr = proto_inbuf_next(&c->in, &line, &len);
		b->taken++;
		if (fr == PROTO_FRAME_TOO_LONG)
			dispatch_too_long(c);
		else if (len < c->d->cfg.parse_thread_bytes || server_parse_queue(c, line, len) < 0)
			dispatch_line(c, line, len);
		if (c->stream || conn_parked(c) || c->parsing) {
			c->has_unread_lines = true;
			break;
		}
	}
	c->dispatching = false;
	if (!c->dead) {
		conn_write_now(c);
		conn_update_watchers(c);
	}
}

void conn_resume(struct conn *c)
{
	struct turn_budget b;

	if (c->dead)
		return;
	turn_budget_init(&b);
	if (c->has_unread_lines && !c->stream && !conn_parked(c) && !c->parsing &&
	    proto_outbuf_pending(&c->out) < c->d->cfg.answer_backlog)
		conn_process_lines(c, &b);
	/* A parsed or parked line just dispatched gives its copy's bytes
	 * back to the share, and so do the lines taken. */
	if (!c->dead && !c->timed_out)
		(void)conn_account_input(c);
	if (!c->dead)
		conn_update_watchers(c);
}

void conn_close(struct conn *c)
{
	struct server *s = c->d->server;

	while (c->laters)
		later_free(c->laters);
	conn_stream_abort(c);
	conn_unpark(c);
	server_parse_forget(c);
	proto_outbuf_free(&c->held);
	ev_io_stop(c->d->loop, &c->rio);
	ev_io_stop(c->d->loop, &c->wio);
	ev_timer_stop(c->d->loop, &c->timeout_w);
	conn_turn_forget(c);
	uidcount_sub(&s->conns_of, c->uid, 1);
	uidcount_sub(&s->input_of, c->uid, c->input_counted);
	s->input_total -= c->input_counted;
	uidcount_sub(&s->answers_of, c->uid, c->answers_counted);
	s->answers_total -= c->answers_counted;
	close(c->fd);
	proto_inbuf_free(&c->in);
	proto_outbuf_free(&c->out);
	/* Its user's other connections may go on now. */
	server_turns_share_drained(s, c->uid);
	if (c->watching) {
		if (c->watch_prev)
			c->watch_prev->watch_next = c->watch_next;
		else
			s->watchers = c->watch_next;
		if (c->watch_next)
			c->watch_next->watch_prev = c->watch_prev;
	}
	free(c->watch_id);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	free(c);
	if (s->draining && s->n_conns == 0)
		ev_break(s->d->loop, EVBREAK_ALL);
}

void server_drain(struct server *s)
{
	struct conn *c, *next;

	s->draining = true;
	for (c = s->conns; c; c = next) {
		next = c->next;
		/* Nothing more is read; laters left (none should be: every
		 * graph has settled) are dropped unanswered. */
		while (c->laters)
			later_free(c->laters);
		if (c->dead || (proto_outbuf_pending(&c->out) == 0 && !c->stream)) {
			conn_close(c);
			continue;
		}
		c->timed_out = true; /* closed as soon as its output is written */
		c->has_unread_lines = false;
		conn_turn_forget(c);
		proto_inbuf_free(&c->in);
		uidcount_sub(&s->input_of, c->uid, c->input_counted);
		s->input_total -= c->input_counted;
		c->input_counted = 0;
		conn_update_watchers(c);
		ev_timer_stop(s->d->loop, &c->timeout_w);
		ev_timer_set(&c->timeout_w, SERVER_DRAIN_S, 0.);
		ev_timer_start(s->d->loop, &c->timeout_w);
	}
	if (s->n_conns == 0)
		ev_break(s->d->loop, EVBREAK_ALL);
}

void server_watch_add(struct server *s, struct conn *c)
{
	if (c->watching)
		return;
	c->watching = true;
	c->watch_prev = NULL;
	c->watch_next = s->watchers;
	if (s->watchers)
		s->watchers->watch_prev = c;
	s->watchers = c;
}

struct conn *server_watchers(struct server *s)
{
	return s->watchers;
}

/* Refuses a connection over a limit with one error line naming it. */
static void refuse(struct coopd *d, int fd, const char *why)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
			 "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32003,"
			 "\"message\":\"%s\"}}\n",
			 why);

	if (n > 0 && (size_t)n < sizeof(msg))
		(void)!send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	d->counters.connections_refused++;
}

/* Why a new connection of uid must be refused, or NULL to take it.  Root
 * may use every connection; the others leave root_reserved_connections
 * free and hold at most max_connections_per_user each. */
static const char *admit(struct server *s, uid_t uid)
{
	const struct coopd_config *cfg = &s->d->cfg;
	size_t reserve = cfg->root_reserved_connections < cfg->max_connections
				 ? cfg->root_reserved_connections
				 : cfg->max_connections - 1;

	if (s->d->shutting_down)
		return "coopd is shutting down";
	if (s->n_conns >= cfg->max_connections)
		return "too many connections (max_connections)";
	if (uid == 0)
		return NULL;
	if (reserve > 0 &&
	    s->n_conns - uidcount_get(&s->conns_of, 0) + reserve >= cfg->max_connections)
		return "too many connections (max_connections, root_reserved_connections)";
	if (uidcount_get(&s->conns_of, uid) >= cfg->max_connections_per_user)
		return "too many connections for this user (max_connections_per_user)";
	return NULL;
}

static void accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server *s = w->data;

	if (s->accepting)
		ev_io_start(loop, &s->accept_w);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct server *s = w->data;
	struct coopd *d = s->d;

	for (int i = 0; i < 64; i++) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		struct conn *c;
		const char *why;
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_errno(LOG_WARNING, -errno, "accept; pausing for 100 ms");
				ev_io_stop(loop, &s->accept_w);
				ev_timer_set(&s->accept_pause, 0.1, 0.);
				ev_timer_start(loop, &s->accept_pause);
			}
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
			log_errno(LOG_WARNING, -errno, "SO_PEERCRED");
			close(fd);
			continue;
		}
		if ((why = admit(s, cred.uid))) {
			log_debug("refusing a connection of uid %lu: %s", (unsigned long)cred.uid,
				  why);
			refuse(d, fd, why);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || uidcount_add(&s->conns_of, cred.uid, 1) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->d = d;
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		c->serial = ++s->next_serial;
		proto_inbuf_init(&c->in, d->cfg.limits.max_request);
		proto_outbuf_init(&c->out, d->cfg.event_queue_bytes);
		proto_outbuf_init(&c->held, d->cfg.event_queue_bytes);
		ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
		ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
		c->rio.data = c->wio.data = c;
		ev_init(&c->timeout_w, conn_timeout_cb);
		c->timeout_w.data = c;
		c->last_active = ev_now(loop);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->n_conns++;
		d->counters.connections_accepted++;
		conn_update_watchers(c);
		conn_timer_arm(c);
		log_debug("client %lu connected (uid %lu pid %ld)", c->serial,
			  (unsigned long)c->uid, (long)c->pid);
	}
}

int server_new(struct coopd *d, struct server **ret)
{
	struct server *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	r = listen_open(d, &s->fd, &s->activated, &s->ino);
	if (r < 0) {
		free(s);
		return r;
	}
	ev_io_init(&s->accept_w, accept_cb, s->fd, EV_READ);
	s->accept_w.data = s;
	ev_timer_init(&s->accept_pause, accept_pause_cb, 0.1, 0.);
	s->accept_pause.data = s;
	server_turns_init(s);
	/* Without the thread big lines are parsed on the loop, as before. */
	r = server_parser_start(d->loop, &s->parser);
	if (r < 0)
		log_warn("cannot start the parse thread (%s): big requests are parsed on the loop",
			 strerror(-r));
	ev_io_start(d->loop, &s->accept_w);
	s->accepting = true;
	*ret = s;
	return 0;
}

void server_stop_accepting(struct server *s)
{
	if (!s || !s->accepting)
		return;
	s->accepting = false;
	ev_io_stop(s->d->loop, &s->accept_w);
	ev_timer_stop(s->d->loop, &s->accept_pause);
	close(s->fd);
	s->fd = -1;
	if (!s->activated)
		listen_unlink(s->d, s->ino);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_stop_accepting(s);
	while (s->conns)
		conn_close(s->conns);
	server_turns_stop(s);
	server_parser_stop(s->parser);
	s->parser = NULL;
	uidcount_free(&s->conns_of);
	uidcount_free(&s->input_of);
	uidcount_free(&s->answers_of);
	s->d->server = NULL;
	free(s);
}
