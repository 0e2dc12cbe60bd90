/*
 * suite-proto-frame.c - Check suite for the line framing of proto-frame.c.
 *
 * The input side is driven the way a socket drives it: the same byte
 * stream is fed split at every possible position, one byte at a time and
 * all at once, and every split must yield the same events.  The output
 * side is checked for the event bound, for bookkeeping across partial
 * writes at every split position, and end to end through a non-blocking
 * pipe whose writes really are partial.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto-frame.h"

/* Collected events of one input stream, as text: a line is "L:<bytes>",
 * an oversized line "TOO_LONG". */
struct events {
	char *items[64];
	size_t lens[64];
	size_t n;
};

static void events_free(struct events *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		free(ev->items[i]);
	ev->n = 0;
}

static void drain(struct proto_inbuf *in, struct events *ev)
{
	enum proto_frame_result r;
	const char *line;
	size_t len;

	for (;;) {
		/* proto_inbuf_ready says beforehand whether next hands out
		 * something, at every split of every stream below. */
		bool ready = proto_inbuf_ready(in);

		r = proto_inbuf_next(in, &line, &len);
		ck_assert_int_eq(ready, r != PROTO_FRAME_NONE);
		if (r == PROTO_FRAME_NONE)
			break;
		ck_assert_uint_lt(ev->n, 64);
		if (r == PROTO_FRAME_LINE) {
			ck_assert_int_eq(line[len], '\0');
			ev->items[ev->n] = malloc(len + 3);
			ck_assert_ptr_nonnull(ev->items[ev->n]);
			memcpy(ev->items[ev->n], "L:", 2);
			memcpy(ev->items[ev->n] + 2, line, len);
			ev->items[ev->n][len + 2] = '\0';
			ev->lens[ev->n] = len + 2;
		} else {
			ck_assert_int_eq(r, PROTO_FRAME_TOO_LONG);
			ev->items[ev->n] = strdup("TOO_LONG");
			ev->lens[ev->n] = 8;
		}
		ev->n++;
	}
}

/* Feeds data cut at the given positions (ascending, < len) and collects. */
static void feed_split(size_t max_line, const char *data, size_t len, const size_t *cuts,
		       size_t n_cuts, struct events *ev, size_t *ret_partial)
{
	struct proto_inbuf in;
	size_t pos = 0;

	ck_assert_int_eq(proto_inbuf_init(&in, max_line), 0);
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;

		ck_assert_int_eq(proto_inbuf_feed(&in, data + pos, end - pos), 0);
		drain(&in, ev);
		/* Never more than the complete lines plus one bounded partial. */
		ck_assert_uint_le(proto_inbuf_partial(&in), max_line);
		pos = end;
	}
	if (ret_partial)
		*ret_partial = proto_inbuf_partial(&in);
	proto_inbuf_free(&in);
}

static void assert_events(const struct events *ev, const char *const *want, size_t n)
{
	ck_assert_uint_eq(ev->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(ev->items[i], want[i]);
}

START_TEST(test_init_rejects_zero)
{
	struct proto_inbuf in;

	ck_assert_int_eq(proto_inbuf_init(&in, 0), -EINVAL);
	ck_assert_int_eq(proto_inbuf_init(&in, 1), 0);
	proto_inbuf_free(&in);
}
END_TEST

START_TEST(test_single_line)
{
	static const char *const want[] = {"L:{\"a\":1}"};
	struct events ev = {0};
	size_t partial;

	feed_split(100, "{\"a\":1}\n", 8, NULL, 0, &ev, &partial);
	assert_events(&ev, want, 1);
	ck_assert_uint_eq(partial, 0);
	events_free(&ev);
}
END_TEST

static const char two_lines[] = "{\"jsonrpc\":\"2.0\"}\n\n{\"x\":[1,2]}\r\nend";

/* Splitting two lines (and an empty one) at every position gives the same
 * lines; the unterminated tail stays partial. */
START_TEST(test_split_every_position)
{
	static const char *const want[] = {"L:{\"jsonrpc\":\"2.0\"}", "L:", "L:{\"x\":[1,2]}\r"};
	size_t len = strlen(two_lines);

	for (size_t cut = 0; cut <= len; cut++) {
		struct events ev = {0};
		size_t partial, cuts[1] = {cut};

		feed_split(64, two_lines, len, cuts, 1, &ev, &partial);
		assert_events(&ev, want, 3);
		ck_assert_uint_eq(partial, 3);
		events_free(&ev);
	}
}
END_TEST

START_TEST(test_split_two_positions)
{
	static const char *const want[] = {"L:{\"jsonrpc\":\"2.0\"}", "L:", "L:{\"x\":[1,2]}\r"};
	size_t len = strlen(two_lines);

	for (size_t a = 0; a <= len; a++)
		for (size_t b = a; b <= len; b++) {
			struct events ev = {0};
			size_t cuts[2] = {a, b};

			feed_split(64, two_lines, len, cuts, 2, &ev, NULL);
			assert_events(&ev, want, 3);
			events_free(&ev);
		}
}
END_TEST

START_TEST(test_byte_at_a_time)
{
	static const char *const want[] = {"L:{\"jsonrpc\":\"2.0\"}", "L:", "L:{\"x\":[1,2]}\r"};
	size_t len = strlen(two_lines), cuts[64];

	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	{
		struct events ev = {0};

		feed_split(64, two_lines, len, cuts, len - 1, &ev, NULL);
		assert_events(&ev, want, 3);
		events_free(&ev);
	}
}
END_TEST

START_TEST(test_many_lines_one_read)
{
	char buf[1000];
	size_t o = 0;
	struct proto_inbuf in;
	const char *line;
	size_t len, count = 0;

	for (int i = 0; i < 50; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "line%d\n", i);
	ck_assert_int_eq(proto_inbuf_init(&in, 16), 0);
	ck_assert_int_eq(proto_inbuf_feed(&in, buf, o), 0);
	while (proto_inbuf_next(&in, &line, &len) == PROTO_FRAME_LINE) {
		char want[16];

		snprintf(want, sizeof(want), "line%zu", count);
		ck_assert_str_eq(line, want);
		ck_assert_uint_eq(len, strlen(want));
		count++;
	}
	ck_assert_uint_eq(count, 50);
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_NONE);
	proto_inbuf_free(&in);
}
END_TEST

START_TEST(test_exact_limit)
{
	static const char *const want[] = {"L:12345678", "TOO_LONG", "L:ok"};
	const char *data = "12345678\n123456789\nok\n";
	struct events ev = {0};

	feed_split(8, data, strlen(data), NULL, 0, &ev, NULL);
	assert_events(&ev, want, 3);
	events_free(&ev);
}
END_TEST

/* An oversized line between good ones is reported once, in its place,
 * whatever the split; the lines around it survive. */
START_TEST(test_oversized_every_split)
{
	static const char *const want[] = {"L:aa", "TOO_LONG", "L:bb", "TOO_LONG", "L:", "L:cc"};
	const char *data = "aa\n0123456789abcdef\nbb\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n\ncc\n";
	size_t len = strlen(data);

	for (size_t a = 0; a <= len; a++)
		for (size_t b = a; b <= len; b += 3) {
			struct events ev = {0};
			size_t cuts[2] = {a, b}, partial;

			feed_split(10, data, len, cuts, 2, &ev, &partial);
			assert_events(&ev, want, 6);
			ck_assert_uint_eq(partial, 0);
			events_free(&ev);
		}
}
END_TEST

/* A line that never ends costs max_line bytes, not what was sent. */
START_TEST(test_oversized_is_not_buffered)
{
	struct proto_inbuf in;
	char chunk[4096];
	const char *line;
	size_t len;

	memset(chunk, 'x', sizeof(chunk));
	ck_assert_int_eq(proto_inbuf_init(&in, 100), 0);
	for (int i = 0; i < 256; i++) {
		ck_assert_int_eq(proto_inbuf_feed(&in, chunk, sizeof(chunk)), 0);
		ck_assert_uint_le(in.cap, 8192);
	}
	ck_assert(proto_inbuf_discarding(&in));
	ck_assert_uint_gt(proto_inbuf_partial(&in), 0);
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_TOO_LONG);
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_NONE);
	ck_assert_int_eq(proto_inbuf_feed(&in, "tail\n{}\n", 8), 0);
	ck_assert(!proto_inbuf_discarding(&in));
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_LINE);
	ck_assert_str_eq(line, "{}");
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_NONE);
	ck_assert_uint_eq(proto_inbuf_partial(&in), 0);
	proto_inbuf_free(&in);
}
END_TEST

START_TEST(test_embedded_nul)
{
	struct proto_inbuf in;
	const char *line;
	size_t len;

	ck_assert_int_eq(proto_inbuf_init(&in, 16), 0);
	ck_assert_int_eq(proto_inbuf_feed(&in, "a\0b\n", 4), 0);
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_LINE);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(line, "a\0b", 3);
	proto_inbuf_free(&in);
}
END_TEST

/* Lines taken before more bytes arrive stay readable until the next feed,
 * and compaction keeps a pending oversize event in its place. */
START_TEST(test_interleaved_feed_and_next)
{
	struct proto_inbuf in;
	const char *line;
	size_t len;

	ck_assert_int_eq(proto_inbuf_init(&in, 4), 0);
	ck_assert_int_eq(proto_inbuf_feed(&in, "ab\ncd\nTOOLONG\nef", 16), 0);
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_LINE);
	ck_assert_str_eq(line, "ab");
	ck_assert_int_eq(proto_inbuf_feed(&in, "\n", 1), 0);
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_LINE);
	ck_assert_str_eq(line, "cd");
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_TOO_LONG);
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_LINE);
	ck_assert_str_eq(line, "ef");
	ck_assert_int_eq(proto_inbuf_next(&in, &line, &len), PROTO_FRAME_NONE);
	proto_inbuf_free(&in);
}
END_TEST

/*
 * Output.
 */

/* Concatenates what proto_outbuf_iov() offers. */
static size_t outbuf_collect(const struct proto_outbuf *out, char *buf, size_t size, int max)
{
	struct iovec iov[16];
	int n = proto_outbuf_iov(out, iov, max);
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		ck_assert_uint_le(o + iov[i].iov_len, size);
		memcpy(buf + o, iov[i].iov_base, iov[i].iov_len);
		o += iov[i].iov_len;
	}
	return o;
}

START_TEST(test_outbuf_partial_every_position)
{
	const char *all = "{\"id\":1}\n{\"ev\":2}\n{\"id\":3}\n";
	size_t total = strlen(all);

	for (size_t k = 0; k <= total; k++) {
		struct proto_outbuf out;
		char got[64];
		size_t n;

		proto_outbuf_init(&out, 1000);
		ck_assert_int_eq(proto_outbuf_push(&out, all, 9, false), 0);
		ck_assert_int_eq(proto_outbuf_push(&out, all + 9, 9, true), 0);
		ck_assert_int_eq(proto_outbuf_push(&out, all + 18, 9, false), 0);
		ck_assert_uint_eq(proto_outbuf_pending(&out), total);
		ck_assert_uint_eq(proto_outbuf_bounded(&out), 9);
		proto_outbuf_consume(&out, k);
		ck_assert_uint_eq(proto_outbuf_pending(&out), total - k);
		/* The event's bytes still queued, whatever part was written. */
		ck_assert_uint_eq(proto_outbuf_bounded(&out), k <= 9 ? 9 : k >= 18 ? 0 : 18 - k);
		n = outbuf_collect(&out, got, sizeof(got), 16);
		ck_assert_uint_eq(n, total - k);
		ck_assert_mem_eq(got, all + k, n);
		proto_outbuf_free(&out);
	}
}
END_TEST

START_TEST(test_outbuf_bound)
{
	struct proto_outbuf out;
	char *big = malloc(100000);

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 100000);
	proto_outbuf_init(&out, 10);
	ck_assert_int_eq(proto_outbuf_push(&out, "123456", 6, true), 0);
	ck_assert_int_eq(proto_outbuf_push(&out, "12345", 5, true), -ENOBUFS);
	ck_assert_uint_eq(proto_outbuf_pending(&out), 6);
	/* Answers are never refused, and do not count against the bound. */
	ck_assert_int_eq(proto_outbuf_push(&out, big, 100000, false), 0);
	ck_assert_int_eq(proto_outbuf_push(&out, "1234", 4, true), 0);
	ck_assert_int_eq(proto_outbuf_push(&out, "1", 1, true), -ENOBUFS);
	ck_assert_uint_eq(proto_outbuf_bounded(&out), 10);
	proto_outbuf_consume(&out, 6);
	ck_assert_uint_eq(proto_outbuf_bounded(&out), 4);
	ck_assert_int_eq(proto_outbuf_push(&out, "123456", 6, true), 0);
	/* A single event larger than the bound never fits. */
	ck_assert_int_eq(proto_outbuf_push(&out, big, 11, true), -ENOBUFS);
	ck_assert_uint_eq(proto_outbuf_pending(&out), 100000 + 10);
	proto_outbuf_free(&out);
	ck_assert_uint_eq(proto_outbuf_pending(&out), 0);
	free(big);
}
END_TEST

START_TEST(test_outbuf_owned_and_empty)
{
	struct proto_outbuf out;
	struct iovec iov[2];
	char *owned = strdup("owned\n");
	char got[32];

	ck_assert_ptr_nonnull(owned);
	proto_outbuf_init(&out, 4);
	ck_assert_int_eq(proto_outbuf_iov(&out, iov, 2), 0);
	ck_assert_int_eq(proto_outbuf_push(&out, "x", 0, true), 0);
	ck_assert_int_eq(proto_outbuf_push_owned(&out, owned, 6, false), 0);
	ck_assert_int_eq(proto_outbuf_push(&out, "ev\n", 3, true), 0);
	/* Refused owned data is freed (checked by ASan/valgrind runs). */
	ck_assert_int_eq(proto_outbuf_push_owned(&out, strdup("long\n"), 5, true), -ENOBUFS);
	ck_assert_int_eq(proto_outbuf_iov(&out, iov, 1), 1);
	ck_assert_uint_eq(iov[0].iov_len, 6);
	ck_assert_uint_eq(outbuf_collect(&out, got, sizeof(got), 16), 9);
	ck_assert_mem_eq(got, "owned\nev\n", 9);
	/* Consuming more than pending is clamped. */
	proto_outbuf_consume(&out, 1000);
	ck_assert_uint_eq(proto_outbuf_pending(&out), 0);
	ck_assert_uint_eq(proto_outbuf_bounded(&out), 0);
	ck_assert_int_eq(proto_outbuf_iov(&out, iov, 2), 0);
	/* Usable again after draining. */
	ck_assert_int_eq(proto_outbuf_push(&out, "ev\n", 3, true), 0);
	ck_assert_uint_eq(outbuf_collect(&out, got, sizeof(got), 16), 3);
	proto_outbuf_free(&out);
}
END_TEST

/* Through a non-blocking pipe: writev() takes part of the queue, the
 * reader drains, and the bytes arrive complete and in order. */
START_TEST(test_outbuf_pipe_partial_writes)
{
	enum { LINES = 2000 };
	struct proto_outbuf out;
	int fds[2];
	size_t sent = 0, got = 0, expect_total = 0;
	char *expect, *recv_buf;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ne(fcntl(fds[1], F_SETFL, O_NONBLOCK), -1);
	expect = malloc(LINES * 64);
	recv_buf = malloc(LINES * 64);
	ck_assert_ptr_nonnull(expect);
	ck_assert_ptr_nonnull(recv_buf);
	proto_outbuf_init(&out, 1 << 20);
	for (int i = 0; i < LINES; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "{\"seq\":%d,\"pad\":\"%0*d\"}\n", i, i % 20,
				 0);

		ck_assert_int_eq(proto_outbuf_push(&out, line, (size_t)n, i % 2 == 0), 0);
		memcpy(expect + expect_total, line, (size_t)n);
		expect_total += (size_t)n;
	}
	while (proto_outbuf_pending(&out) > 0) {
		struct iovec iov[8];
		int n = proto_outbuf_iov(&out, iov, 8);
		ssize_t w = writev(fds[1], iov, n);

		if (w < 0) {
			ck_assert_int_eq(errno, EAGAIN);
		} else {
			proto_outbuf_consume(&out, (size_t)w);
			sent += (size_t)w;
		}
		/* Read a little at a time so that writes stay partial. */
		{
			ssize_t r = read(fds[0], recv_buf + got, 1000);

			ck_assert_int_ge(r, 0);
			got += (size_t)r;
		}
	}
	ck_assert_int_eq(close(fds[1]), 0);
	for (;;) {
		ssize_t r = read(fds[0], recv_buf + got, 4096);

		ck_assert_int_ge(r, 0);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	ck_assert_uint_eq(sent, expect_total);
	ck_assert_uint_eq(got, expect_total);
	ck_assert_mem_eq(recv_buf, expect, expect_total);
	ck_assert_uint_eq(proto_outbuf_bounded(&out), 0);
	ck_assert_int_eq(close(fds[0]), 0);
	proto_outbuf_free(&out);
	free(expect);
	free(recv_buf);
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("proto-frame");
	TCase *in = tcase_create("inbuf");
	TCase *out = tcase_create("outbuf");

	tcase_add_test(in, test_init_rejects_zero);
	tcase_add_test(in, test_single_line);
	tcase_add_test(in, test_split_every_position);
	tcase_add_test(in, test_split_two_positions);
	tcase_add_test(in, test_byte_at_a_time);
	tcase_add_test(in, test_many_lines_one_read);
	tcase_add_test(in, test_exact_limit);
	tcase_add_test(in, test_oversized_every_split);
	tcase_add_test(in, test_oversized_is_not_buffered);
	tcase_add_test(in, test_embedded_nul);
	tcase_add_test(in, test_interleaved_feed_and_next);
	tcase_set_timeout(in, 60);
	suite_add_tcase(s, in);
	tcase_add_test(out, test_outbuf_partial_every_position);
	tcase_add_test(out, test_outbuf_bound);
	tcase_add_test(out, test_outbuf_owned_and_empty);
	tcase_add_test(out, test_outbuf_pipe_partial_writes);
	tcase_set_timeout(out, 60);
	suite_add_tcase(s, out);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
