/*
 * util-strbuf.c - growable buffer with JSON string escaping.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto-rpc.h"
#include "util-strbuf.h"

void sb_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb_init(sb);
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->oom = false;
}

bool sb_reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->oom)
		return false;
	if (extra > SIZE_MAX - sb->len - 1) {
		sb->oom = true;
		return false;
	}
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(sb->buf, cap);
	if (!p) {
		sb->oom = true;
		return false;
	}
	sb->buf = p;
	sb->cap = cap;
	return true;
}

bool sb_reserve_exact(struct strbuf *sb, size_t extra)
{
	size_t need;
	char *p;

	if (sb->oom)
		return false;
	if (extra > SIZE_MAX - sb->len - 1) {
		sb->oom = true;
		return false;
	}
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	p = realloc(sb->buf, need);
	if (!p) {
		sb->oom = true;
		return false;
	}
	sb->buf = p;
	sb->cap = need;
	return true;
}

void sb_put(struct strbuf *sb, const void *data, size_t len)
{
	if (!sb_reserve(sb, len))
		return;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

void sb_putc(struct strbuf *sb, char c)
{
	sb_put(sb, &c, 1);
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!sb_reserve(sb, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->oom = true;
		return;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		if (!sb_reserve(sb, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

void sb_put_u64(struct strbuf *sb, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_put(sb, buf + i, sizeof(buf) - i);
}

void sb_put_i64(struct strbuf *sb, int64_t v)
{
	if (v < 0) {
		sb_putc(sb, '-');
		/* -(v + 1) + 1: no overflow for INT64_MIN. */
		sb_put_u64(sb, (uint64_t)(-(v + 1)) + 1);
	} else {
		sb_put_u64(sb, (uint64_t)v);
	}
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void sb_json_str(struct strbuf *sb, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run;

	if (!sb_reserve(sb, len + 2))
		return;
	sb_putc(sb, '"');
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		/* Copy runs of plain characters at once. */
		run = i;
		while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		if (run > i) {
			sb_put(sb, s + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			sb_put(sb, esc, 2);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n':
				sb_puts(sb, "\\n");
				break;
			case '\r':
				sb_puts(sb, "\\r");
				break;
			case '\t':
				sb_puts(sb, "\\t");
				break;
			default:
				sb_printf(sb, "\\u%04x", c);
				break;
			}
			i++;
		} else {
			n = utf8_seq(s + i, len - i);
			if (n == 0) {
				sb_puts(sb, "\\ufffd");
				i++;
			} else {
				sb_put(sb, s + i, n);
				i += n;
			}
		}
	}
	sb_putc(sb, '"');
}

void sb_json_time(struct strbuf *sb, int64_t unix_ms)
{
	char buf[PROTO_TIME_BUF];

	if (unix_ms < 0 || proto_time_format(unix_ms, buf, sizeof(buf)) < 0) {
		sb_puts(sb, "null");
		return;
	}
	sb_putc(sb, '"');
	sb_puts(sb, buf);
	sb_putc(sb, '"');
}

char *sb_steal(struct strbuf *sb, size_t *ret_len)
{
	char *p;

	if (sb->oom) {
		sb_free(sb);
		return NULL;
	}
	if (!sb->buf && !sb_reserve(sb, 0))
		return NULL;
	p = sb->buf;
	if (ret_len)
		*ret_len = sb->len;
	sb_init(sb);
	return p;
}
