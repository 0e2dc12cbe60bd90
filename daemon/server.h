/*
 * server.h - the Unix socket side of coopd: the listening socket, client
 * connections, request dispatch and answers that come later.
 *
 * Everything here runs on the loop thread.  A connection owns a bounded
 * input buffer (proto_inbuf: max request size), an output buffer
 * (proto_outbuf: answers always queued, events bounded), its peer
 * credentials, its watch subscription, and the list of its requests still
 * waiting for an answer ("laters": `wait`).  When a client disconnects,
 * its laters are dropped and nothing else changes: graphs it submitted go
 * on running.
 */
#ifndef COOPD_SERVER_H
#define COOPD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

#include "proto-frame.h"
#include "proto-rpc.h"
#include "store-reader.h"

struct coopd;
struct graph;
struct json_object;

/* Where a connection with lines left waits for its turn to dispatch them
 * (server-turns.c): nowhere, at the back of the queue (its callback's
 * budget was spent), or until its user's unsent answers drain below
 * answer_bytes_per_user. */
enum conn_turn {
	CONN_TURN_NONE,
	CONN_TURN_READY,
	CONN_TURN_SHARE,
};

struct conn {
	struct coopd *d;
	int fd;
	ev_io rio, wio;
	bool reading, writing;
	struct proto_inbuf in;
	struct proto_outbuf out;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	unsigned long serial;
	bool dead;             /* dropped: closed from its write callback */
	bool eof;              /* peer shut its side: close once answered */
	bool has_unread_lines; /* complete lines left by back-pressure */
	bool dispatching;      /* in conn_process_lines: answers wait for its end */
	/* Fair share (server-conn.c): input bytes counted against the uid,
	 * and the timeouts of an unfinished message and of idleness. */
	size_t input_counted;
	/* Unsent answer bytes counted against the uid (answer_bytes_per_user,
	 * server-conn.c), and the connection's place on the server's lists
	 * of turns (server-turns.c). */
	size_t answers_counted;
	enum conn_turn turn;
	struct conn *turn_prev, *turn_next;
	ev_timer timeout_w;
	ev_tstamp partial_since; /* first byte of the unfinished line, or 0 */
	ev_tstamp last_active;   /* last read or write */
	bool timed_out;          /* told why; closed once that is written */
	/* watch */
	bool watching;
	char *watch_id; /* NULL: every graph the peer may see */
	struct conn *watch_prev, *watch_next;
	/* An answer being streamed (server-stream.c), and what is held back
	 * for after it. */
	struct conn_stream *stream;
	struct proto_outbuf held;
	/* A request waiting for a settled graph's tree, read back off the
	 * loop (server-park.c): its line, run again once the tree is in. */
	struct graph *park_g;
	char *park_line;
	size_t park_len;
	struct json_object *park_id;
	enum proto_method park_method;
	bool park_has_id;
	struct conn *park_prev, *park_next; /* on park_g->parked */
	/* Or waiting for a read its handler asked for (call->park_read,
	 * server-park.c), with the same park_line; once done, the read is
	 * park_done while the line runs again, for its handler to take. */
	struct park_read *park_read;
	struct park_read *park_done;
	/* A big line being parsed off the loop (server-parse.c). */
	struct parse_job *parsing;
	/* requests answered later */
	struct later *laters;
	size_t n_laters;
	struct conn *prev, *next;
};

/* A request whose answer comes later (wait).  Owned by its connection. */
struct later {
	struct conn *conn;
	struct json_object *id; /* reference of the request id (may be NULL) */
	enum proto_method method;
	struct graph *g;
	bool summary;
	ev_timer timer;
	bool timer_active;
	struct later *cprev, *cnext; /* on conn->laters */
	struct later *gprev, *gnext; /* on g->waiters */
	struct later **backref;      /* cleared when l is freed (see later_set_backref) */
};

struct server;

/* Opens the socket (sd_listen_fds first, else bind at cfg.socket_path). */
int server_new(struct coopd *d, struct server **ret);

/* Before crash recovery: refuses (negative, logged) when another daemon
 * answers on the socket path; a stale socket is removed.  Nothing to check
 * under socket activation. */
int server_listen_check(struct coopd *d);
/* Stops accepting new connections (shutdown); existing ones stay. */
void server_stop_accepting(struct server *s);
/* The graceful stop's last step, once every graph has settled and been
 * persisted: no connection is read any more, each gets what is queued for
 * it (the final `wait` answers, the last `watch` events) and is closed, and
 * the loop ends when none is left, or SERVER_DRAIN_S after a client stopped
 * reading. */
void server_drain(struct server *s);
/* Closes every connection, removes the socket file we created, frees. */
void server_free(struct server *s);
size_t server_connections(const struct server *s);
/* Bytes of requests read and not yet dispatched, every connection (the sum
 * bounded by max_input_bytes). */
size_t server_input_bytes(const struct server *s);
/* Unsent answer bytes, every connection (each user's bounded by
 * answer_bytes_per_user). */
size_t server_answer_bytes(const struct server *s);
/* The config was reloaded: connections held back by a bound that may
 * have been raised (answer_backlog_bytes, answer_bytes_per_user) get
 * their turn again. */
void server_limits_changed(struct server *s);
/* The watching connections, for server-watch.c. */
struct conn *server_watchers(struct server *s);
void server_watch_add(struct server *s, struct conn *c);

/* Connection output.  The line is queued (answers unbounded, events
 * bounded: a client whose bounded queue is full is dropped). */
void conn_queue_answer(struct conn *c, char *line, size_t len);
/* Returns false when the client was dropped for not reading. */
bool conn_queue_event(struct conn *c, const char *line, size_t len);
/* Closes and frees c now. */
void conn_close(struct conn *c);

/* Whether the peer may see graphs of uid (root sees every graph). */
bool conn_may_see(const struct conn *c, uid_t owner);

/* Answers built by method handlers: JSON text of the result (taken). */
void conn_answer_text(struct conn *c, struct json_object *id, char *result, size_t len);
void conn_answer_error(struct conn *c, struct json_object *id, const struct proto_error *err);

/* Laters. */
struct later *later_new(struct conn *c, struct json_object *id, enum proto_method m);
/* Answers with result text (taken) and frees l. */
void later_answer_text(struct later *l, char *result, size_t len);
struct graph_stream;
/* Answers with the streamed answer gs (graph-stream.h: made as the client
 * reads it, server-stream.c) and frees l; the stream is then the
 * connection's.  -EBUSY when the connection streams another answer
 * already, is closing, or l has no id: l and gs stay the caller's. */
int later_answer_stream(struct later *l, struct graph_stream *gs);
void later_free(struct later *l);
/* Answers with an error and frees l. */
void later_answer_error(struct later *l, const struct proto_error *err);
/* *slot is set to NULL when l is freed (the owner of an asynchronous
 * operation learns that its client went away); NULL clears it. */
void later_set_backref(struct later *l, struct later **slot);

/* The tree of g, read back off the loop, is in (r 0; or could not be
 * read: r < 0): the requests parked on it run again (server-park.c). */
void server_graph_hydrated(struct coopd *d, struct graph *g, int r);

/* A read a handler wants done on the store's reader thread before it
 * answers (rerun: method-rerun.c): the request is parked meanwhile (its
 * connection reads nothing more, every other one is served) and its line
 * runs again once the read is done, with the read as c->park_done, which
 * the handler takes (sets NULL) or leaves to be freed.  read.run and
 * free are the owner's; read.done is server-park.c's. */
struct park_read {
	struct store_read read; /* first: the reader hands it back */
	struct conn *c;         /* server-park.c; NULL once the connection closed */
	void (*free)(struct park_read *pr);
};

/* Dispatch one decoded line (server-dispatch.c). */
void dispatch_line(struct conn *c, const char *line, size_t len);

/* A line parsed off the loop (server-parse.c): the request as
 * proto_request_parse_ex() left it, and for a `submit` whose params
 * decoded, its graph validated (graph_parsed: def, or graph_r < 0 with
 * graph_err). */
struct proto_graph;
struct server_parsed {
	struct proto_request req;
	int r;
	struct proto_error err;
	bool graph_parsed;
	int graph_r;
	struct proto_graph *def; /* taken by the submit handler */
	struct proto_error graph_err;
	/* A valid submit's run-time graph (graph_new, id and creation time
	 * still to set) and the text of its document for the store: built
	 * off the loop too, and taken by the submit handler (NULL: build them
	 * on the loop from def and params.graph). */
	struct graph *g;
	char *doc;
	size_t doc_len;
};
/* dispatch_line() from a request parsed off the loop (res->def, res->g and
 * res->doc are taken or left for the caller to free). */
void dispatch_parsed(struct conn *c, const char *line, size_t len, struct server_parsed *res);
void dispatch_too_long(struct conn *c);
/* Counts a request answered with code (0 for success). */
void dispatch_count(struct coopd *d, enum proto_method m, int code);

#endif
