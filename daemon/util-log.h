/*
 * util-log.h - the daemon's log: one line per message on stderr, prefixed
 * with the sd-daemon priority ("<3>" for errors) so that journald files each
 * line under the right priority when coopd runs under systemd, and a plain
 * terminal still reads well.
 *
 * Errors are logged once, where they surface (STYLE.md); client-caused
 * errors go back to the client and are not logged as daemon failures.
 */
#ifndef COOPD_UTIL_LOG_H
#define COOPD_UTIL_LOG_H

#include <syslog.h>

/* Messages above this priority (numerically) are dropped; LOG_INFO default. */
void log_set_level(int level);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As log_msg with ": strerror(-err)" appended; returns err (negative errno)
 * so that "return log_errno(LOG_ERR, r, ...)" logs and propagates at once. */
int log_errno(int prio, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
