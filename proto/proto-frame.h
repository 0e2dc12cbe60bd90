/*
 * proto-frame.h - newline framing for one connection, without sockets.
 *
 * The wire carries one JSON-RPC message per '\n'-terminated line.  An
 * input buffer (struct proto_inbuf) is fed whatever read() returned and
 * hands out complete lines; an output buffer (struct proto_outbuf) queues
 * encoded lines and tracks how much a (possibly partial) write() took.
 * The caller owns the fd and the event loop; these only move bytes, so the
 * daemon, the client and the tests use the same code.
 *
 * Bounds.  The input buffer never keeps more than max_line bytes of an
 * unfinished line: a longer line is reported once (PROTO_FRAME_TOO_LONG, in
 * its place in the stream) and its remaining bytes are dropped up to and
 * including its newline, so the connection stays usable.  The output
 * buffer distinguishes answers, which are always queued (docs/protocol.md,
 * section 1: answers are not limited), from bounded data (events): bounded data is refused with
 * -ENOBUFS once the bounded bytes still queued would exceed the limit, and
 * the daemon then drops the client that stopped reading.
 *
 * Neither type is thread-safe; each belongs to one connection.
 */
#ifndef COOPD_PROTO_FRAME_H
#define COOPD_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Input side.  Fields are private; use the calls below. */
struct proto_inbuf {
	char *buf;        /* bytes kept: complete lines, then a partial one */
	size_t start;     /* first byte not yet handed out */
	size_t len;       /* bytes used in buf */
	size_t cap;       /* allocated size of buf */
	size_t scanned;   /* length of the unfinished line at the end */
	size_t max_line;  /* longest accepted line, without its '\n' */
	bool discarding;  /* inside an oversized line, dropping bytes */
	size_t *too_long; /* offsets in buf where a TOO_LONG event sits */
	size_t n_too_long;
	size_t cap_too_long;
};

/* What proto_inbuf_next() found. */
enum proto_frame_result {
	PROTO_FRAME_NONE = 0,     /* no complete line yet: feed more bytes */
	PROTO_FRAME_LINE = 1,     /* ret_line and ret_len hold one line */
	PROTO_FRAME_TOO_LONG = 2, /* a line exceeded max_line; reply -32600 */
};

/* Prepares an empty input buffer accepting lines of at most max_line bytes
 * (the '\n' not counted; max_line >= 1).  Allocates lazily, so it cannot
 * fail; returns 0, or -EINVAL for max_line 0. */
int proto_inbuf_init(struct proto_inbuf *in, size_t max_line);

/* Releases the memory; the struct may be initialised again afterwards. */
void proto_inbuf_free(struct proto_inbuf *in);

/* Takes len bytes just read.  Lines handed out by proto_inbuf_next() before
 * this call become invalid.  Returns 0, or -ENOMEM (nothing of data was
 * taken; the buffer is as before).  Memory held afterwards is at most the
 * complete lines not yet taken plus max_line + 1. */
int proto_inbuf_feed(struct proto_inbuf *in, const void *data, size_t len);

/* Hands out the next event in stream order.  For PROTO_FRAME_LINE, *ret_line
 * points at the line without its '\n', NUL-terminated in place (the line may
 * itself contain NUL bytes; *ret_len is authoritative), valid until the next
 * proto_inbuf_feed() or proto_inbuf_free(), or the next call that returns
 * PROTO_FRAME_NONE (which gives back the memory of big lines once all is
 * taken).  A trailing '\r' is kept. */
enum proto_frame_result proto_inbuf_next(struct proto_inbuf *in, const char **ret_line,
					 size_t *ret_len);

/* Bytes of an unfinished line kept now (1 while discarding the rest of an
 * oversized line): non-zero at EOF means the peer disconnected in
 * mid-message. */
size_t proto_inbuf_partial(const struct proto_inbuf *in);

/* Bytes of input kept now: complete lines not yet handed out plus the
 * unfinished line (what a connection's unread requests cost; the daemon
 * bounds their sum per user and in total, docs/security.md). */
size_t proto_inbuf_held(const struct proto_inbuf *in);

/* Whether proto_inbuf_next() would hand out something now (a complete
 * line or an oversized line's report): the daemon asks before it takes a
 * line whose turn may have to wait (docs/security.md, "Fair share"). */
bool proto_inbuf_ready(const struct proto_inbuf *in);

/* True while the rest of an oversized line is being dropped. */
bool proto_inbuf_discarding(const struct proto_inbuf *in);

/* Output side.  A queue of chunks; fields are private. */
struct proto_outchunk;
struct proto_outbuf {
	struct proto_outchunk *head, *tail;
	size_t head_off; /* bytes of head already written */
	size_t pending;  /* bytes queued and not yet written, all chunks */
	size_t bounded;  /* of which in chunks pushed as bounded */
	size_t limit;    /* bound for bounded bytes */
};

/* Prepares an empty output buffer whose bounded data may not exceed limit
 * bytes queued.  Cannot fail. */
void proto_outbuf_init(struct proto_outbuf *out, size_t limit);

/* Drops all queued data and releases the memory. */
void proto_outbuf_free(struct proto_outbuf *out);

/* Queues a copy of len bytes (normally one encoded line with its '\n').
 * With bounded false (answers) the data is always queued; with bounded true
 * (events) it is refused with -ENOBUFS if the bounded bytes still queued
 * plus len would exceed the limit.  Returns 0, -ENOBUFS or -ENOMEM; on
 * error nothing was queued.  len 0 is a no-op. */
int proto_outbuf_push(struct proto_outbuf *out, const void *data, size_t len, bool bounded);

/* As proto_outbuf_push() but takes ownership of data (malloc()ed; it is
 * free()d once written or when the buffer is freed), saving a copy of large
 * answers.  On error data is still freed.  The same bound applies. */
int proto_outbuf_push_owned(struct proto_outbuf *out, char *data, size_t len, bool bounded);

/* Fills up to max iovecs with the queued data in order and returns how many
 * were filled (0 when empty).  Nothing is consumed. */
int proto_outbuf_iov(const struct proto_outbuf *out, struct iovec *iov, int max);

/* Marks n bytes as written (what write()/writev() returned); n larger than
 * what is pending is clamped. */
void proto_outbuf_consume(struct proto_outbuf *out, size_t n);

/* Bytes queued and not yet written (0: nothing to write, stop polling for
 * POLLOUT). */
size_t proto_outbuf_pending(const struct proto_outbuf *out);

/* Bounded bytes queued and not yet written. */
size_t proto_outbuf_bounded(const struct proto_outbuf *out);

#endif /* COOPD_PROTO_FRAME_H */
