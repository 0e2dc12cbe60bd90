/*
 * proto-frame.c - newline framing of one connection (see proto-frame.h).
 *
 * Input: bytes are appended to one buffer that holds the complete lines
 * not yet handed out followed by at most max_line bytes of the line being
 * received.  proto_inbuf_feed() does the bounding as the bytes arrive, so a
 * client sending an endless line costs max_line bytes, never more; the
 * positions where an oversized line was cut out are remembered so that
 * proto_inbuf_next() reports it between the lines around it.  Handing out a
 * line only moves an offset; the buffer is compacted on the next feed,
 * which is why lines are valid only until then.
 *
 * Output: a FIFO of chunks, each either an answer (unbounded) or an event
 * (bounded).  Keeping chunks instead of one flat buffer lets the bound
 * count only event bytes, and lets a large answer be queued without a copy.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto-frame.h"

/* Capacity an input buffer keeps once the lines that grew it are consumed. */
#define INBUF_KEEP (64u * 1024u)

int proto_inbuf_init(struct proto_inbuf *in, size_t max_line)
{
	memset(in, 0, sizeof(*in));
	if (max_line == 0 || max_line > SIZE_MAX / 2)
		return -EINVAL;
	in->max_line = max_line;
	return 0;
}

void proto_inbuf_free(struct proto_inbuf *in)
{
	size_t max_line = in->max_line;

	free(in->buf);
	free(in->too_long);
	memset(in, 0, sizeof(*in));
	in->max_line = max_line;
}

/* Moves the bytes not yet handed out to the front of the buffer. */
static void inbuf_compact(struct proto_inbuf *in)
{
	if (in->start == 0)
		return;
	memmove(in->buf, in->buf + in->start, in->len - in->start);
	for (size_t i = 0; i < in->n_too_long; i++)
		in->too_long[i] -= in->start;
	in->len -= in->start;
	in->start = 0;
}

/* One pass over data, either measuring (apply false: only *ret_bytes, the
 * size of buf afterwards, and *ret_events are computed; nothing changes) or
 * applying.  The data is cut at newlines, so an unfinished line can only be
 * continued by the first segment: the buffer only shrinks (by the kept part
 * of an oversized line) before it grows, and *ret_bytes is its peak. */
static void inbuf_scan(struct proto_inbuf *in, const char *data, size_t len, bool apply,
		       size_t *ret_bytes, size_t *ret_events)
{
	bool discarding = in->discarding;
	size_t partial = in->scanned;
	size_t used = in->len;
	size_t events = 0;

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t seg = nl ? (size_t)(nl - data) : len;
		size_t step = nl ? seg + 1 : seg;

		if (discarding) {
			if (nl)
				discarding = false;
		} else if (seg > in->max_line - partial) {
			/* Oversized: forget the part kept so far and note
			 * the event where the line would have started. */
			used -= partial;
			partial = 0;
			if (apply)
				in->too_long[in->n_too_long++] = used;
			events++;
			if (!nl)
				discarding = true;
		} else {
			if (apply)
				memcpy(in->buf + used, data, step);
			used += step;
			partial = nl ? 0 : partial + seg;
		}
		data += step;
		len -= step;
	}
	if (apply) {
		in->len = used;
		in->scanned = partial;
		in->discarding = discarding;
	}
	*ret_bytes = used;
	*ret_events = events;
}

int proto_inbuf_feed(struct proto_inbuf *in, const void *data, size_t len)
{
	size_t need, events;

	if (len == 0)
		return 0;
	inbuf_compact(in);
	/* Measure first so that a failed allocation leaves nothing changed.
	 * need is the buffer size after the feed; it is bounded by the lines
	 * already kept plus this feed, and the partial line by max_line. */
	inbuf_scan(in, data, len, false, &need, &events);
	if (in->cap > INBUF_KEEP && need + 1 <= INBUF_KEEP) {
		/* The big line that grew the buffer is gone: give the memory
		 * back (a 4 MB submit would otherwise pin it for the life of
		 * the connection).  Failing to shrink changes nothing. */
		char *p = realloc(in->buf, INBUF_KEEP);

		if (p) {
			in->buf = p;
			in->cap = INBUF_KEEP;
		}
	}
	if (need + 1 > in->cap) {
		size_t cap = in->cap ? in->cap : 4096;
		char *p;

		while (cap < need + 1)
			cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
		p = realloc(in->buf, cap);
		if (!p)
			return -ENOMEM;
		in->buf = p;
		in->cap = cap;
	}
	if (in->n_too_long + events > in->cap_too_long) {
		size_t cap = in->n_too_long + events + 8;
		size_t *p;

		if (cap > SIZE_MAX / sizeof(*p))
			return -ENOMEM;
		p = realloc(in->too_long, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		in->too_long = p;
		in->cap_too_long = cap;
	}
	inbuf_scan(in, data, len, true, &need, &events);
	return 0;
}

enum proto_frame_result proto_inbuf_next(struct proto_inbuf *in, const char **ret_line,
					 size_t *ret_len)
{
	size_t complete_end;
	char *nl;

	if (in->n_too_long > 0 && in->too_long[0] == in->start) {
		memmove(in->too_long, in->too_long + 1, (in->n_too_long - 1) * sizeof(size_t));
		in->n_too_long--;
		return PROTO_FRAME_TOO_LONG;
	}
	complete_end = in->len - in->scanned;
	if (in->start >= complete_end) {
		if (in->start == in->len && in->cap > INBUF_KEEP && in->n_too_long == 0) {
			/* Everything taken: drop the memory a big line grew
			 * (a 4 MB submit would otherwise stay for the life of
			 * the connection, its graph running meanwhile). */
			free(in->buf);
			in->buf = NULL;
			in->cap = in->len = in->start = 0;
		}
		return PROTO_FRAME_NONE;
	}
	nl = memchr(in->buf + in->start, '\n', complete_end - in->start);
	if (!nl)
		return PROTO_FRAME_NONE; /* cannot happen: complete lines end in '\n' */
	*nl = '\0';
	*ret_line = in->buf + in->start;
	*ret_len = (size_t)(nl - (in->buf + in->start));
	in->start = (size_t)(nl - in->buf) + 1;
	return PROTO_FRAME_LINE;
}

size_t proto_inbuf_partial(const struct proto_inbuf *in)
{
	return in->discarding ? 1 : in->scanned;
}

bool proto_inbuf_ready(const struct proto_inbuf *in)
{
	/* Every report still noted is due; lines end before the partial one. */
	return in->n_too_long > 0 || in->start < in->len - in->scanned;
}

size_t proto_inbuf_held(const struct proto_inbuf *in)
{
	return in->len - in->start;
}

bool proto_inbuf_discarding(const struct proto_inbuf *in)
{
	return in->discarding;
}

struct proto_outchunk {
	struct proto_outchunk *next;
	char *data; /* owned data, or inline_data */
	size_t len;
	bool bounded;
	bool owned;
	char inline_data[];
};

void proto_outbuf_init(struct proto_outbuf *out, size_t limit)
{
	memset(out, 0, sizeof(*out));
	out->limit = limit;
}

static void outchunk_free(struct proto_outchunk *c)
{
	if (c->owned)
		free(c->data);
	free(c);
}

void proto_outbuf_free(struct proto_outbuf *out)
{
	size_t limit = out->limit;

	while (out->head) {
		struct proto_outchunk *c = out->head;

		out->head = c->next;
		outchunk_free(c);
	}
	memset(out, 0, sizeof(*out));
	out->limit = limit;
}

static int outbuf_admit(const struct proto_outbuf *out, size_t len, bool bounded)
{
	if (len > SIZE_MAX - out->pending)
		return -ENOMEM;
	if (bounded && (len > out->limit || out->bounded > out->limit - len))
		return -ENOBUFS;
	return 0;
}

static void outbuf_link(struct proto_outbuf *out, struct proto_outchunk *c)
{
	if (out->tail)
		out->tail->next = c;
	else
		out->head = c;
	out->tail = c;
	out->pending += c->len;
	if (c->bounded)
		out->bounded += c->len;
}

int proto_outbuf_push(struct proto_outbuf *out, const void *data, size_t len, bool bounded)
{
	struct proto_outchunk *c;
	int r;

	if (len == 0)
		return 0;
	r = outbuf_admit(out, len, bounded);
	if (r < 0)
		return r;
	if (len > SIZE_MAX - sizeof(*c))
		return -ENOMEM;
	c = malloc(sizeof(*c) + len);
	if (!c)
		return -ENOMEM;
	memcpy(c->inline_data, data, len);
	c->next = NULL;
	c->data = c->inline_data;
	c->len = len;
	c->bounded = bounded;
	c->owned = false;
	outbuf_link(out, c);
	return 0;
}

int proto_outbuf_push_owned(struct proto_outbuf *out, char *data, size_t len, bool bounded)
{
	struct proto_outchunk *c;
	int r;

	if (len == 0) {
		free(data);
		return 0;
	}
	r = outbuf_admit(out, len, bounded);
	if (r < 0) {
		free(data);
		return r;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		free(data);
		return -ENOMEM;
	}
	c->next = NULL;
	c->data = data;
	c->len = len;
	c->bounded = bounded;
	c->owned = true;
	outbuf_link(out, c);
	return 0;
}

int proto_outbuf_iov(const struct proto_outbuf *out, struct iovec *iov, int max)
{
	const struct proto_outchunk *c = out->head;
	int n = 0;

	if (c && n < max) {
		iov[n].iov_base = c->data + out->head_off;
		iov[n].iov_len = c->len - out->head_off;
		n++;
		c = c->next;
	}
	for (; c && n < max; c = c->next, n++) {
		iov[n].iov_base = c->data;
		iov[n].iov_len = c->len;
	}
	return n;
}

void proto_outbuf_consume(struct proto_outbuf *out, size_t n)
{
	while (n > 0 && out->head) {
		struct proto_outchunk *c = out->head;
		size_t avail = c->len - out->head_off;
		size_t take = n < avail ? n : avail;

		out->head_off += take;
		out->pending -= take;
		if (c->bounded)
			out->bounded -= take;
		n -= take;
		if (out->head_off == c->len) {
			out->head = c->next;
			if (!out->head)
				out->tail = NULL;
			out->head_off = 0;
			outchunk_free(c);
		}
	}
}

size_t proto_outbuf_pending(const struct proto_outbuf *out)
{
	return out->pending;
}

size_t proto_outbuf_bounded(const struct proto_outbuf *out)
{
	return out->bounded;
}
