/*
 * server-stream.c - a connection's answer streamed with back-pressure.
 *
 * A full `status` (or `wait`) answer is made by graph-stream.c a piece at
 * a time: the connection asks for the next piece (SERVER_STREAM_CHUNK
 * bytes, cut at a node boundary) only when less than SERVER_STREAM_LOW
 * bytes of its output are still unsent.  A client that does not read gets
 * no more work done for it, and the answer costs it at most about two
 * pieces of memory, whatever the graph's size (issue 15: 30 clients
 * pipelining the 21 MB status of a 100,000-node graph without reading
 * grew coopd by 2.4 GB and held the loop for seconds at a time).  Each
 * write callback makes at most one piece, so streams of several clients
 * and everything else on the loop take turns.
 *
 * While a connection streams: its later requests are not read or
 * dispatched (they wait behind the stream, in order), and answers or
 * events that come meanwhile for it (a `wait` answered by a graph
 * settling, `watch` events) are held in c->held, with the same bound for
 * events, and queued after the stream's last byte, so lines never mix.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "coopd.h"
#include "graph-stream.h"
#include "server-internal.h"
#include "util-log.h"

/* Ask for more below this many unsent bytes; a piece is about this big. */
#define SERVER_STREAM_LOW 65536
#define SERVER_STREAM_CHUNK 65536

struct conn_stream {
	struct graph_stream *gs;
	char *prefix; /* {"jsonrpc":"2.0","id":ID,"result": */
};

static void stream_end(struct conn *c)
{
	struct iovec iov[64];
	int n;

	graph_stream_free(c->stream->gs);
	free(c->stream->prefix);
	free(c->stream);
	c->stream = NULL;
	/* What came meanwhile goes out now, in its order. */
	while ((n = proto_outbuf_iov(&c->held, iov, 64)) > 0) {
		size_t taken = 0;

		for (int i = 0; i < n; i++) {
			if (proto_outbuf_push(&c->out, iov[i].iov_base, iov[i].iov_len, false) <
			    0) {
				log_err("out of memory queueing answers; dropping client %lu",
					c->serial);
				proto_outbuf_free(&c->held);
				conn_drop(c);
				return;
			}
			taken += iov[i].iov_len;
		}
		proto_outbuf_consume(&c->held, taken);
	}
}

void conn_stream_fill(struct conn *c)
{
	struct strbuf sb;
	char *text;
	size_t len = 0;
	bool done;

	if (!c->stream || c->dead || proto_outbuf_pending(&c->out) >= SERVER_STREAM_LOW)
		return;
	sb_init(&sb);
	if (c->stream->prefix) {
		sb_puts(&sb, c->stream->prefix);
		free(c->stream->prefix);
		c->stream->prefix = NULL;
	}
	done = graph_stream_next(c->stream->gs, &sb, SERVER_STREAM_CHUNK);
	if (done)
		sb_puts(&sb, "}\n");
	text = sb_steal(&sb, &len);
	if (!text || proto_outbuf_push_owned(&c->out, text, len, false) < 0) {
		/* The answer cannot be finished: the client must not wait for
		 * the rest of a line that will never come. */
		log_err("out of memory streaming an answer; dropping client %lu", c->serial);
		conn_stream_abort(c);
		conn_drop(c);
		return;
	}
	if (done)
		stream_end(c);
}

int conn_stream_start(struct conn *c, struct json_object *id, struct graph_stream *gs)
{
	const char *ids = id ? json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN) : "null";
	struct conn_stream *s = calloc(1, sizeof(*s));
	struct strbuf sb;

	if (!s)
		return -ENOMEM;
	sb_init(&sb);
	sb_puts(&sb, "{\"jsonrpc\":\"2.0\",\"id\":");
	sb_puts(&sb, ids);
	sb_puts(&sb, ",\"result\":");
	if (!(s->prefix = sb_steal(&sb, NULL))) {
		free(s);
		return -ENOMEM;
	}
	s->gs = gs;
	c->stream = s;
	conn_stream_fill(c);
	return 0;
}

void conn_stream_abort(struct conn *c)
{
	if (!c->stream)
		return;
	graph_stream_free(c->stream->gs);
	free(c->stream->prefix);
	free(c->stream);
	c->stream = NULL;
	proto_outbuf_free(&c->held);
}
