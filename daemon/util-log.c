/*
 * util-log.c - stderr logging with sd-daemon priority prefixes.
 *
 * Each message is formatted into one buffer and written with a single
 * write(2), so lines from the reactor and from worker threads (which log
 * rarely) never interleave mid-line.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util-log.h"

/* Changed by a reload on the loop thread, read by every thread: relaxed
 * atomics (a message filtered by the old level during a reload is fine). */
static int log_level = LOG_INFO;

void log_set_level(int level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

static void log_write(int prio, int err, const char *fmt, va_list ap)
{
	char buf[2048];
	int n;
	size_t len;

	if (prio > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
		return;
	n = snprintf(buf, sizeof(buf), "<%d>", prio);
	len = (size_t)n;
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	if (n < 0)
		return;
	len += (size_t)n;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	if (err != 0) {
		n = snprintf(buf + len, sizeof(buf) - len, ": %s", strerror(err < 0 ? -err : err));
		if (n > 0)
			len += (size_t)n;
		if (len > sizeof(buf) - 2)
			len = sizeof(buf) - 2;
	}
	buf[len++] = '\n';
	(void)!write(STDERR_FILENO, buf, len);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(prio, 0, fmt, ap);
	va_end(ap);
}

int log_errno(int prio, int err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_write(prio, err, fmt, ap);
	va_end(ap);
	errno = saved;
	return err;
}
