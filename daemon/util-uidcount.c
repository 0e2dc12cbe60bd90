/*
 * util-uidcount.c - counters keyed by uid (see util-uidcount.h): the
 * bookkeeping behind the per-user shares of docs/security.md.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "util-uidcount.h"

static struct uidcount_entry *uidcount_find(const struct uidcount *t, uid_t uid)
{
	for (size_t i = 0; i < t->len; i++)
		if (t->v[i].uid == uid)
			return &t->v[i];
	return NULL;
}

size_t uidcount_get(const struct uidcount *t, uid_t uid)
{
	struct uidcount_entry *e = uidcount_find(t, uid);

	return e ? e->n : 0;
}

int uidcount_add(struct uidcount *t, uid_t uid, size_t n)
{
	struct uidcount_entry *e;

	if (n == 0)
		return 0;
	e = uidcount_find(t, uid);
	if (!e) {
		if (t->len == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 8;
			struct uidcount_entry *v = realloc(t->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			t->v = v;
			t->cap = cap;
		}
		e = &t->v[t->len++];
		e->uid = uid;
		e->n = 0;
	}
	e->n += n;
	return 0;
}

void uidcount_sub(struct uidcount *t, uid_t uid, size_t n)
{
	struct uidcount_entry *e = uidcount_find(t, uid);

	if (!e)
		return;
	e->n = e->n > n ? e->n - n : 0;
	if (e->n == 0)
		*e = t->v[--t->len];
}

void uidcount_free(struct uidcount *t)
{
	free(t->v);
	t->v = NULL;
	t->len = t->cap = 0;
}
