/*
 * client-conn.h - coopctl's connection to coopd.
 *
 * Finds the socket (docs/protocol.md, section 1: --socket, then $COOPD_SOCKET, then the
 * user's or the system's default path), connects, sends JSON-RPC requests
 * and reads the answers line by line with proto's framing.  Several
 * requests may be in flight; answers are matched to requests by id and
 * notifications (watch events) are handed to a callback or dropped.
 *
 * Everything here is blocking and single-threaded: coopctl has nothing else
 * to do while it waits for the daemon.
 */
#ifndef CLIENT_CONN_H
#define CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

struct json_object;
struct client_conn;

/* Largest answer line coopctl accepts.  Answers are not limited by the
 * daemon (a 100,000-node status is tens of MB); this only stops a runaway
 * peer from making the client allocate without bound. */
#define CLIENT_MAX_LINE (1024u * 1024 * 1024)

/* Set from a signal handler (installed without SA_RESTART) to make a wait
 * for the daemon return -EINTR instead of resuming. */
extern volatile sig_atomic_t client_conn_interrupted;

/* Where to look for the daemon's socket, in order. */
struct client_sockets {
	char *paths[2];
	int errs[2]; /* for each path already known not to work: its errno, else 0 */
	int n;
};

/*
 * Resolves the socket paths to try (docs/protocol.md, section 1).  opt is --socket,
 * env_socket $COOPD_SOCKET, xdg $XDG_RUNTIME_DIR (each may be NULL or
 * empty), uid the caller's.  exists() says whether a path exists (stat, in
 * the program; a fake in the tests).  A non-root user with an existing
 * $XDG_RUNTIME_DIR/coopd.sock gets only that; without it, the user path is
 * listed as not existing (errs = ENOENT, so the error message names it) and
 * the system path follows.  Returns 0 or -ENOMEM.
 */
int client_sockets_resolve(const char *opt, const char *env_socket, const char *xdg, uid_t uid,
			   bool (*exists)(const char *path), struct client_sockets *ret);
void client_sockets_free(struct client_sockets *s);

/* Writes "PATH: reason; PATH: reason" for every path tried into buf. */
void client_sockets_describe(const struct client_sockets *s, char *buf, size_t size);

/*
 * Connects to the first path of s that accepts (paths whose errs is already
 * set are skipped), recording each failure's errno in s->errs.  Returns 0
 * and the connection in *ret_conn, or a negative errno (that of the last
 * path tried).
 */
int client_conn_open(struct client_sockets *s, struct client_conn **ret_conn);

/* Wraps an already connected fd (the tests use a socketpair); the
 * connection owns fd afterwards.  Returns 0 or -ENOMEM (fd left open). */
int client_conn_from_fd(int fd, struct client_conn **ret_conn);

void client_conn_free(struct client_conn *conn);

/* The path connected to (NULL for client_conn_from_fd). */
const char *client_conn_path(const struct client_conn *conn);

/* Called with each notification's method and params (borrowed) while the
 * connection waits for an answer. */
typedef void (*client_event_fn)(const char *method, struct json_object *params, void *userdata);

/* Sets (or with NULL clears) the notification callback. */
void client_conn_set_event_cb(struct client_conn *conn, client_event_fn fn, void *userdata);

/* Sends one request; params ownership is taken (NULL: no params).  Stores
 * its id in *ret_id.  Returns 0 or a negative errno (-EPIPE when the daemon
 * went away). */
int client_conn_send(struct client_conn *conn, const char *method, struct json_object *params,
		     int64_t *ret_id);

/* Sends one request whose params are already-encoded JSON text (params,
 * len bytes, a single JSON object; raw '\n' and '\r' are sent as spaces,
 * which JSON allows only as whitespace).  Used by submit, so the graph
 * document reaches the daemon exactly as written (json-c would clamp an
 * out-of-range integer the daemon must reject).  Returns as
 * client_conn_send(). */
int client_conn_send_text(struct client_conn *conn, const char *method, const char *params,
			  size_t len, int64_t *ret_id);

/* The answer to one request. */
struct client_reply {
	int64_t id;
	struct json_object *result;   /* owned; NULL for an error */
	int err_code;                 /* JSON-RPC error code when result is NULL */
	char *err_message;            /* owned; NULL when result is set */
	struct json_object *err_data; /* owned, may be NULL */
};
void client_reply_clear(struct client_reply *r);

/*
 * Reads until the answer to request id arrives (notifications go to the
 * callback; answers to other ids are dropped) and stores it in *ret.
 * timeout_ms < 0 waits forever; otherwise -ETIMEDOUT when nothing arrived in
 * that time, with the request still in flight (call again to keep waiting).
 * Returns 0, -ECONNRESET when the daemon closed the connection, -EPROTO for
 * a malformed answer, or another negative errno.
 */
int client_conn_wait_reply(struct client_conn *conn, int64_t id, int timeout_ms,
			   struct client_reply *ret);

/* Reads and dispatches notifications for at most timeout_ms (< 0: until the
 * connection closes); answers that arrive are dropped.  Returns 0 on
 * timeout, -ECONNRESET when the connection closed, another negative errno
 * on failure. */
int client_conn_pump(struct client_conn *conn, int timeout_ms);

/* Like client_conn_pump(), but returns as soon as one read has delivered
 * something (1, after dispatching it) or timeout_ms passed first (0), so a
 * caller can act on each batch of events at once.  -EINTR when
 * client_conn_interrupted is set. */
int client_conn_pump_some(struct client_conn *conn, int timeout_ms);

/* send + wait_reply. */
int client_conn_call(struct client_conn *conn, const char *method, struct json_object *params,
		     struct client_reply *ret);

/* Maps a JSON-RPC error code from the daemon to coopctl's exit code. */
int client_exit_for_error(int code);

#endif /* CLIENT_CONN_H */
