/*
 * util-strbuf.h - a growable byte buffer for building JSON text and file
 * records by hand (status trees of 100,000 nodes are too big to build as
 * json-c objects first).  An allocation failure sets `oom` and makes every
 * later call a no-op, so callers check once at the end.
 */
#ifndef COOPD_UTIL_STRBUF_H
#define COOPD_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool oom;
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
bool sb_reserve(struct strbuf *sb, size_t extra);
/* Room for extra more bytes in one allocation of exactly that size (for a
 * text whose size is known: no slack from doubling). */
bool sb_reserve_exact(struct strbuf *sb, size_t extra);
void sb_put(struct strbuf *sb, const void *data, size_t len);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A decimal integer, as %llu / %lld print it, without printf (a status of
 * 200,000 nodes writes about a million numbers). */
void sb_put_u64(struct strbuf *sb, uint64_t v);
void sb_put_i64(struct strbuf *sb, int64_t v);
/* A JSON string literal (quotes included).  Invalid UTF-8 bytes are written
 * as U+FFFD, control characters escaped, so the output is always valid. */
void sb_json_str(struct strbuf *sb, const char *s, size_t len);
static inline void sb_json_cstr(struct strbuf *sb, const char *s)
{
	sb_json_str(sb, s, strlen(s));
}
/* An RFC 3339 UTC time with milliseconds as a JSON string, or null for ms < 0. */
void sb_json_time(struct strbuf *sb, int64_t unix_ms);
/* Takes the buffer (NUL-terminated; NULL after oom), leaving sb empty. */
char *sb_steal(struct strbuf *sb, size_t *ret_len);

#endif
