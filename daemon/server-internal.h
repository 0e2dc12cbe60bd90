/*
 * server-internal.h - what server-listen.c, server-conn.c and
 * server-dispatch.c share and nobody else needs.
 */
#ifndef COOPD_SERVER_INTERNAL_H
#define COOPD_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "server.h"
#include "util-uidcount.h"

struct server {
	struct coopd *d;
	int fd;
	bool activated; /* fd from systemd: never unlink */
	ino_t ino;      /* inode of the socket file we bound */
	ev_io accept_w;
	ev_timer accept_pause; /* after EMFILE/ENFILE */
	bool accepting;
	bool draining; /* the stop's last step: the loop ends with the last conn */
	struct conn *conns;
	size_t n_conns;
	/* Fair share (docs/security.md): connections and bytes of unread
	 * input per uid, and the input of every connection together. */
	struct uidcount conns_of;
	struct uidcount input_of;
	size_t input_total;
	/* And unsent answer bytes per uid (answer_bytes_per_user) and in
	 * all (server-conn.c, conn_account_output). */
	struct uidcount answers_of;
	size_t answers_total;
	/* Turns (server-turns.c): connections with lines left for a later
	 * loop iteration, served in order by turn_check after each poll
	 * (turn_idle keeps the poll from waiting meanwhile), and those
	 * waiting for their user's answers to drain. */
	struct conn *ready_head, *ready_tail;
	struct conn *share_head, *share_tail;
	ev_check turn_check;
	ev_idle turn_idle;
	struct conn *watchers;
	struct server_parser *parser; /* server-parse.c; NULL: parse on the loop */
	unsigned long next_serial;
};

/* Streamed answers (server-stream.c).  conn_stream_start takes gs (on
 * success) and queues the first piece; conn_stream_fill queues the next
 * piece if little output is left unsent (the write path); a finished
 * stream's held output follows it.  conn_stream_abort drops a stream and
 * the held output (the connection is closing).  On out of memory the
 * connection is dropped (conn_drop). */
struct graph_stream;
int conn_stream_start(struct conn *c, struct json_object *id, struct graph_stream *gs);
void conn_stream_fill(struct conn *c);
void conn_stream_abort(struct conn *c);
/* Parks c's request (line) until g's tree has been read back off the loop
 * (server-park.c); 0, or a negative errno (not parked: answer it).
 * conn_unpark forgets it (the connection closes).  conn_resume goes on
 * with c's unread lines once its stream or parked request is done. */
int conn_park(struct conn *c, struct graph *g, const char *line, size_t len, struct json_object *id,
	      bool has_id, enum proto_method m);
void conn_unpark(struct conn *c);
void conn_resume(struct conn *c);
/* Parks c's request (line) until pr, queued here on the store's reader
 * thread, is done (struct park_read, server.h); 0, or a negative errno
 * (not parked, pr not queued: answer it). */
int conn_park_read(struct conn *c, struct park_read *pr, const char *line, size_t len);
/* Whether c's request waits (a tree or a read: server-park.c). */
static inline bool conn_parked(const struct conn *c)
{
	return c->park_g || c->park_read;
}
/* Big lines parsed off the loop (server-parse.c).  A line of at least
 * parse_thread_bytes (coopd.conf(5); 256 KiB by default, about the size
 * a parse holds the loop a few milliseconds for) is queued by
 * server_parse_queue (0: c->parsing is set,
 * c reads nothing more until it is dispatched; < 0: not queued, parse it on
 * the loop); server_parse_forget leaves the job to be freed on its own
 * (the connection closes). */
struct server_parser;
int server_parser_start(struct ev_loop *loop, struct server_parser **ret);
void server_parser_stop(struct server_parser *p);
int server_parse_queue(struct conn *c, const char *line, size_t len);
void server_parse_forget(struct conn *c);
/* The bytes of c's line held by the parser (0 without one). */
size_t server_parse_held(const struct conn *c);
/* Turns (server-turns.c, docs/security.md "Answers and turns"): one callback
 * dispatches at most budget.lines of a connection's lines and, after the
 * first, none once coop_now_ns() has passed budget.until (0: the first
 * line's time plus TURN_NS).  conn_turn_may_dispatch says whether c may
 * dispatch its next line now; if not, c has been put where it waits for
 * its next turn (the back of the queue, or the wait for its user's
 * answers).  conn_turn_forget takes c off those lists (it closes, or is
 * being served).  server_turns_share_drained is told when uid's unsent
 * answers went down: below the bound, its waiting connections go to the
 * back of the queue. */
struct turn_budget {
	size_t lines;
	size_t taken;
	uint64_t until;
};
void server_turns_init(struct server *s);
void server_turns_stop(struct server *s);
void turn_budget_init(struct turn_budget *b);
bool conn_turn_may_dispatch(struct conn *c, struct turn_budget *b);
void conn_turn_forget(struct conn *c);
void server_turns_share_drained(struct server *s, uid_t uid);
/* Whether uid's unsent answers are at answer_bytes_per_user or more. */
bool server_answers_full(const struct server *s, uid_t uid);
/* Dispatches what c has left within b, as its read callback would
 * (server-conn.c; the turn of a queued connection). */
void conn_take_turn(struct conn *c, struct turn_budget *b);
/* Brings c's user's count of unsent answer bytes (and the total) up to
 * date with what c holds now; when it went down, that user's connections
 * waiting for their share get their turn (server-conn.c). */
void conn_account_output(struct conn *c);
/* Marks c dead and lets its write callback close it (server-conn.c). */
void conn_drop(struct conn *c);
/* Starts/stops c's read and write watchers after its buffers or its
 * stream changed outside its own callbacks (a late streamed answer). */
void conn_update_watchers(struct conn *c);

int listen_open(struct coopd *d, int *ret_fd, bool *ret_activated, ino_t *ret_ino);
void listen_unlink(struct coopd *d, ino_t ino);

#endif
