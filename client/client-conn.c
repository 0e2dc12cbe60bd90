/*
 * client-conn.c - coopctl's connection to coopd: socket resolution,
 * connecting, and JSON-RPC requests and answers over the line framing of
 * proto-frame.h.
 *
 * The connection is blocking with poll() for timeouts.  Requests are
 * written whole (a request is small next to the socket buffer, and the
 * daemon keeps reading while it answers, so a blocking write cannot
 * deadlock against it).  Answers are read into a proto_inbuf and decoded
 * with proto_response_parse(); answers whose id nobody waits for any more
 * are dropped, notifications go to the event callback.
 */
#include "config.h"

#include "client-conn.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "coopctl.h"
#include "proto-frame.h"
#include "proto-rpc.h"
#include "protocol.h"

volatile sig_atomic_t client_conn_interrupted;

struct client_conn {
	int fd;
	char *path;
	struct proto_inbuf in;
	bool eof;
	int64_t next_id;
	client_event_fn event_fn;
	void *event_data;
};

int client_sockets_resolve(const char *opt, const char *env_socket, const char *xdg, uid_t uid,
			   bool (*exists)(const char *path), struct client_sockets *ret)
{
	struct client_sockets s = {.n = 0};
	const char *single = NULL;

	if (opt && *opt)
		single = opt;
	else if (env_socket && *env_socket)
		single = env_socket;
	if (single) {
		s.paths[0] = strdup(single);
		if (!s.paths[0])
			return -ENOMEM;
		s.n = 1;
		*ret = s;
		return 0;
	}

	if (uid != 0 && xdg && *xdg) {
		size_t len = strlen(xdg);
		bool slash = xdg[len - 1] == '/';
		if (asprintf(&s.paths[0], "%s%s%s", xdg, slash ? "" : "/", PROTO_USER_SOCKET_NAME) <
		    0)
			return -ENOMEM;
		s.n = 1;
		if (exists(s.paths[0])) {
			*ret = s;
			return 0;
		}
		/* Named in the error message, never connected to. */
		s.errs[0] = ENOENT;
	}
	s.paths[s.n] = strdup(PROTO_SYSTEM_SOCKET);
	if (!s.paths[s.n]) {
		client_sockets_free(&s);
		return -ENOMEM;
	}
	s.n++;
	*ret = s;
	return 0;
}

void client_sockets_free(struct client_sockets *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->paths[i]);
		s->paths[i] = NULL;
	}
	s->n = 0;
}

void client_sockets_describe(const struct client_sockets *s, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (int i = 0; i < s->n; i++) {
		int n = snprintf(buf + used, size - used, "%s%s: %s", i ? "; " : "", s->paths[i],
				 s->errs[i] ? strerror(s->errs[i]) : "not tried");
		if (n < 0 || (size_t)n >= size - used)
			return;
		used += (size_t)n;
	}
}

/* Connects one path; returns the fd or a negative errno. */
static int conn_connect_path(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (e == EINTR)
			continue;
		(void)close(fd);
		return -e;
	}
	return fd;
}

static int conn_new(int fd, const char *path, struct client_conn **ret_conn)
{
	struct client_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return -ENOMEM;
	if (path) {
		conn->path = strdup(path);
		if (!conn->path) {
			free(conn);
			return -ENOMEM;
		}
	}
	(void)proto_inbuf_init(&conn->in, CLIENT_MAX_LINE);
	conn->fd = fd;
	conn->next_id = 1;
	*ret_conn = conn;
	return 0;
}

int client_conn_open(struct client_sockets *s, struct client_conn **ret_conn)
{
	int r = -ENOENT;

	for (int i = 0; i < s->n; i++) {
		int fd;

		if (s->errs[i])
			continue;
		fd = conn_connect_path(s->paths[i]);
		if (fd < 0) {
			s->errs[i] = -fd;
			r = fd;
			continue;
		}
		r = conn_new(fd, s->paths[i], ret_conn);
		if (r < 0)
			(void)close(fd);
		return r;
	}
	return r;
}

int client_conn_from_fd(int fd, struct client_conn **ret_conn)
{
	return conn_new(fd, NULL, ret_conn);
}

void client_conn_free(struct client_conn *conn)
{
	if (!conn)
		return;
	if (conn->fd >= 0)
		(void)close(conn->fd);
	proto_inbuf_free(&conn->in);
	free(conn->path);
	free(conn);
}

const char *client_conn_path(const struct client_conn *conn)
{
	return conn->path;
}

void client_conn_set_event_cb(struct client_conn *conn, client_event_fn fn, void *userdata)
{
	conn->event_fn = fn;
	conn->event_data = userdata;
}

/* Writes all of buf; MSG_NOSIGNAL so a vanished daemon is -EPIPE, not a
 * SIGPIPE. */
static int conn_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int client_conn_send(struct client_conn *conn, const char *method, struct json_object *params,
		     int64_t *ret_id)
{
	char *line = NULL;
	size_t len = 0;
	int64_t id = conn->next_id;
	int r;

	r = proto_request_line(method, params, id, &line, &len);
	if (r < 0)
		return r;
	r = conn_write_all(conn->fd, line, len);
	free(line);
	if (r < 0)
		return r;
	conn->next_id++;
	*ret_id = id;
	return 0;
}

int client_conn_send_text(struct client_conn *conn, const char *method, const char *params,
			  size_t len, int64_t *ret_id)
{
	int64_t id = conn->next_id;
	char head[256];
	char *line;
	size_t head_len, total;
	int n, r;

	n = snprintf(head, sizeof(head),
		     "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"%s\",\"params\":",
		     (long long)id, method);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	head_len = (size_t)n;
	if (len > SIZE_MAX - head_len - 3)
		return -E2BIG;
	total = head_len + len + 2;
	line = malloc(total + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, head, head_len);
	for (size_t i = 0; i < len; i++)
		line[head_len + i] = params[i] == '\n' || params[i] == '\r' ? ' ' : params[i];
	line[head_len + len] = '}';
	line[head_len + len + 1] = '\n';
	line[total] = '\0';
	r = conn_write_all(conn->fd, line, total);
	free(line);
	if (r < 0)
		return r;
	conn->next_id++;
	*ret_id = id;
	return 0;
}

void client_reply_clear(struct client_reply *r)
{
	if (r->result)
		json_object_put(r->result);
	if (r->err_data)
		json_object_put(r->err_data);
	free(r->err_message);
	memset(r, 0, sizeof(*r));
}

static int64_t conn_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads once from the socket into the input buffer, waiting at most
 * timeout_ms (< 0: forever).  Returns 1 when bytes were read, 0 on
 * timeout, -ECONNRESET at EOF, another negative errno on failure. */
static int conn_fill(struct client_conn *conn, int timeout_ms)
{
	char buf[65536];
	struct pollfd pfd = {.fd = conn->fd, .events = POLLIN};
	ssize_t n;
	int r;

	if (conn->eof)
		return -ECONNRESET;
	do {
		if (client_conn_interrupted)
			return -EINTR;
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	do
		n = read(conn->fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -ECONNRESET : -errno;
	if (n == 0) {
		conn->eof = true;
		return -ECONNRESET;
	}
	r = proto_inbuf_feed(&conn->in, buf, (size_t)n);
	if (r < 0)
		return r;
	return 1;
}

/* Takes one reply out of a decoded response (moving the references). */
static int conn_take_reply(struct proto_response *resp, struct client_reply *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id = resp->id;
	if (resp->kind == PROTO_RESP_RESULT) {
		ret->result = json_object_get(resp->result);
		if (!ret->result)
			ret->result = json_object_new_object();
		return ret->result ? 0 : -ENOMEM;
	}
	ret->err_code = resp->error.code;
	{
		struct json_object *err = NULL, *data = NULL;
		if (json_object_object_get_ex(resp->msg, "error", &err) &&
		    json_object_object_get_ex(err, "data", &data) && data)
			ret->err_data = json_object_get(data);
	}
	if (resp->error_message && *resp->error_message)
		ret->err_message = strdup(resp->error_message);
	else
		ret->err_message = strdup(proto_error_message(ret->err_code));
	if (!ret->err_message) {
		client_reply_clear(ret);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Processes the complete lines buffered.  If want_id >= 0 and its answer is
 * among them, stores it in *ret and returns 1 (lines after it stay
 * buffered).  Returns 0 when the buffer ran dry, negative on a malformed
 * line.
 */
static int conn_dispatch(struct client_conn *conn, int64_t want_id, struct client_reply *ret)
{
	for (;;) {
		const char *line;
		size_t len;
		struct proto_response resp;
		struct proto_error err;
		enum proto_frame_result fr;
		int r;

		fr = proto_inbuf_next(&conn->in, &line, &len);
		if (fr == PROTO_FRAME_NONE)
			return 0;
		if (fr == PROTO_FRAME_TOO_LONG)
			return -EMSGSIZE;
		if (len == 0 || (len == 1 && line[0] == '\r'))
			continue;
		memset(&resp, 0, sizeof(resp));
		r = proto_response_parse(line, len, NULL, &resp, &err);
		if (r < 0) {
			proto_response_free(&resp);
			return -EPROTO;
		}
		if (resp.kind == PROTO_RESP_NOTIFICATION) {
			if (conn->event_fn)
				conn->event_fn(resp.method, resp.params, conn->event_data);
			proto_response_free(&resp);
			continue;
		}
		/* An error without an id answers a request the daemon could not
		 * even read; with one request in flight it is ours. */
		if (want_id >= 0 && (resp.id == want_id || !resp.has_id)) {
			r = conn_take_reply(&resp, ret);
			ret->id = want_id;
			proto_response_free(&resp);
			return r < 0 ? r : 1;
		}
		proto_response_free(&resp);
	}
}

int client_conn_wait_reply(struct client_conn *conn, int64_t id, int timeout_ms,
			   struct client_reply *ret)
{
	int64_t deadline = timeout_ms >= 0 ? conn_now_ms() + timeout_ms : -1;

	for (;;) {
		int r = conn_dispatch(conn, id, ret);
		int wait_ms = -1;

		if (r != 0)
			return r > 0 ? 0 : r;
		if (deadline >= 0) {
			int64_t left = deadline - conn_now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
			wait_ms = left > 1000000000 ? 1000000000 : (int)left;
		}
		r = conn_fill(conn, wait_ms);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return r;
	}
}

int client_conn_pump(struct client_conn *conn, int timeout_ms)
{
	int64_t deadline = timeout_ms >= 0 ? conn_now_ms() + timeout_ms : -1;

	for (;;) {
		int r = conn_dispatch(conn, -1, NULL);
		int wait_ms = -1;

		if (r < 0)
			return r;
		if (deadline >= 0) {
			int64_t left = deadline - conn_now_ms();
			if (left <= 0)
				return 0;
			wait_ms = left > 1000000000 ? 1000000000 : (int)left;
		}
		r = conn_fill(conn, wait_ms);
		if (r == 0)
			return 0;
		if (r < 0)
			return r;
	}
}

int client_conn_pump_some(struct client_conn *conn, int timeout_ms)
{
	int r = conn_dispatch(conn, -1, NULL);

	if (r < 0)
		return r;
	r = conn_fill(conn, timeout_ms);
	if (r <= 0)
		return r;
	r = conn_dispatch(conn, -1, NULL);
	return r < 0 ? r : 1;
}

int client_conn_call(struct client_conn *conn, const char *method, struct json_object *params,
		     struct client_reply *ret)
{
	int64_t id;
	int r = client_conn_send(conn, method, params, &id);

	if (r < 0)
		return r;
	return client_conn_wait_reply(conn, id, -1, ret);
}

int client_exit_for_error(int code)
{
	switch (code) {
	case PROTO_ERR_PARSE:
	case PROTO_ERR_INVALID_REQUEST:
	case PROTO_ERR_METHOD_NOT_FOUND:
	case PROTO_ERR_INVALID_PARAMS:
	case PROTO_ERR_NO_SUCH_GRAPH:
		return COOPCTL_EXIT_USAGE;
	case PROTO_ERR_SHUTTING_DOWN:
		return COOPCTL_EXIT_UNREACHABLE;
	default:
		return COOPCTL_EXIT_FAILED;
	}
}
