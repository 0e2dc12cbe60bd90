/*
 * coop-deque.c -- the per-worker work-stealing deque.
 *
 * Chase and Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005), in the
 * C11 formulation of Lê, Pop, Cohen and Zappa Nardelli, "Correct and
 * Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013).  GHC's
 * rts/WSDeque.c was the model for how the orderings are explained.
 *
 * Who may call what: push and take only from the worker that owns the deque
 * (the "bottom" end); steal from any thread (the "top" end).  Items are
 * non-NULL pointers other than COOP__DEQUE_ABORT.
 *
 * Orderings differ from the paper in one place: the owner's store of bottom
 * in push is a release store (the paper uses a release fence followed by a
 * relaxed store).  On x86 and ARMv8 the cost is the same, and it lets
 * ThreadSanitizer, which does not model fences, see the hand-over of the
 * pushed task to a thief.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "coop-internal.h"

struct coop__deque_array {
	int64_t mask;
	struct coop__deque_array *next_retired;
	_Atomic(void *) slot[];
};

static struct coop__deque_array *deque_array_new(int64_t capacity)
{
	struct coop__deque_array *a =
		malloc(sizeof(*a) + (size_t)capacity * sizeof(_Atomic(void *)));

	if (!a)
		return NULL;
	a->mask = capacity - 1;
	a->next_retired = NULL;
	return a;
}

int coop__deque_init(struct coop__deque *q, size_t capacity)
{
	int64_t cap = 16;

	while ((size_t)cap < capacity)
		cap <<= 1;
	struct coop__deque_array *a = deque_array_new(cap);
	if (!a)
		return -ENOMEM;
	atomic_init(&q->top, 0);
	atomic_init(&q->bottom, 0);
	atomic_init(&q->array, a);
	q->retired = NULL;
	return 0;
}

void coop__deque_destroy(struct coop__deque *q)
{
	struct coop__deque_array *a = atomic_load_explicit(&q->array, memory_order_relaxed);

	free(a);
	while (q->retired) {
		a = q->retired;
		q->retired = a->next_retired;
		free(a);
	}
}

/* Owner only.  Doubles the array; the old one stays readable for thieves
 * that loaded it before the switch, so it is retired, not freed. */
static struct coop__deque_array *deque_grow(struct coop__deque *q, struct coop__deque_array *old,
					    int64_t top, int64_t bottom)
{
	struct coop__deque_array *a = deque_array_new((old->mask + 1) * 2);

	if (!a)
		return NULL;
	for (int64_t i = top; i < bottom; i++)
		atomic_store_explicit(
			&a->slot[i & a->mask],
			atomic_load_explicit(&old->slot[i & old->mask], memory_order_relaxed),
			memory_order_relaxed);
	/* release: a thief that loads the new array (acquire in steal) must see
	 * the slots copied above. */
	atomic_store_explicit(&q->array, a, memory_order_release);
	old->next_retired = q->retired;
	q->retired = old;
	return a;
}

/* Owner only.  Publishes item at index b of array a: the end of a push. */
static inline int deque_publish(struct coop__deque *q, struct coop__deque_array *a, int64_t b,
				void *item)
{
	/* relaxed: the release store of bottom below publishes the slot. */
	atomic_store_explicit(&a->slot[b & a->mask], item, memory_order_relaxed);
	/* release: a thief that reads the new bottom must see the slot and
	 * everything the owner wrote into the task before pushing it. */
	atomic_store_explicit(&q->bottom, b + 1, memory_order_release);
	return 0;
}

/* The rare push that must grow the array first: out of line, so that the
 * common push saves no registers (it had six pushes and pops when the
 * growth was inlined into it). */
static __attribute__((noinline)) int deque_push_grow(struct coop__deque *q,
						     struct coop__deque_array *a, int64_t t,
						     int64_t b, void *item)
{
	a = deque_grow(q, a, t, b);
	if (!a)
		return -ENOMEM;
	return deque_publish(q, a, b, item);
}

int coop__deque_push(struct coop__deque *q, void *item)
{
	/* relaxed: only the owner writes bottom. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
	/* acquire: pairs with the thieves' CAS on top, so that a slot a thief
	 * has finished reading is not overwritten before its read. */
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
	struct coop__deque_array *a = atomic_load_explicit(&q->array, memory_order_relaxed);

	if (b - t > a->mask)
		return deque_push_grow(q, a, t, b, item);
	return deque_publish(q, a, b, item);
}

void *coop__deque_take(struct coop__deque *q)
{
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed) - 1;
	struct coop__deque_array *a = atomic_load_explicit(&q->array, memory_order_relaxed);

	atomic_store_explicit(&q->bottom, b, memory_order_relaxed);
	/* seq_cst fence: the store of bottom above and the load of top below
	 * must not be reordered, or the owner and a thief could both take the
	 * last item (the classic store-load race of Chase-Lev). */
	atomic_thread_fence(memory_order_seq_cst);
	int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
	void *item;

	if (t <= b) {
		item = atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
		if (t == b) {
			/* The last item: race the thieves for it through top.
			 * seq_cst on success orders it with the thieves' CAS. */
			if (!atomic_compare_exchange_strong_explicit(
				    &q->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
				item = COOP__DEQUE_EMPTY;
			atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
		}
	} else {
		item = COOP__DEQUE_EMPTY;
		atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
	}
	return item;
}

void *coop__deque_steal(struct coop__deque *q)
{
	/* acquire: see the slot contents as of the top we read. */
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
	/* seq_cst fence: orders the load of top before the load of bottom,
	 * mirroring the owner's fence in take. */
	atomic_thread_fence(memory_order_seq_cst);
	/* acquire: pairs with the release store of bottom in push. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);

	if (t >= b)
		return COOP__DEQUE_EMPTY;
	/* acquire: pairs with the release store in deque_grow. */
	struct coop__deque_array *a = atomic_load_explicit(&q->array, memory_order_acquire);
	void *item = atomic_load_explicit(&a->slot[t & a->mask], memory_order_relaxed);

	/* seq_cst: the CAS decides between this thief, other thieves and the
	 * owner's take of the last item. */
	if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1, memory_order_seq_cst,
						     memory_order_relaxed))
		return COOP__DEQUE_ABORT;
	return item;
}

/* Approximate (racy by nature); used for queue-depth gauges and the idle
 * re-check, both of which tolerate a stale answer. */
int64_t coop__deque_size(struct coop__deque *q)
{
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);

	return b > t ? b - t : 0;
}
