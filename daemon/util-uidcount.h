/*
 * util-uidcount.h - a small table of counters keyed by uid, for the
 * per-user shares of docs/security.md ("Fair share": connections, bytes of
 * unfinished input, submits not yet answered).
 *
 * The table holds one entry per uid whose counter is not zero (entries
 * that drop to zero are removed), so its size is bounded by what the
 * counters count.  Lookups are linear: the number of distinct users with
 * something in flight is small (bounded by max_connections).  Loop thread
 * only.
 */
#ifndef COOPD_UTIL_UIDCOUNT_H
#define COOPD_UTIL_UIDCOUNT_H

#include <stddef.h>
#include <sys/types.h>

struct uidcount_entry {
	uid_t uid;
	size_t n;
};

struct uidcount {
	struct uidcount_entry *v;
	size_t len, cap;
};

/* The counter of uid (0 when absent). */
size_t uidcount_get(const struct uidcount *t, uid_t uid);
/* Adds n to uid's counter.  Returns 0, or -ENOMEM (nothing changed). */
int uidcount_add(struct uidcount *t, uid_t uid, size_t n);
/* Subtracts n (clamped at zero; the entry goes when it reaches zero). */
void uidcount_sub(struct uidcount *t, uid_t uid, size_t n);
void uidcount_free(struct uidcount *t);

#endif
