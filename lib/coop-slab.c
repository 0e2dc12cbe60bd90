/*
 * coop-slab.c -- where task blocks come from.
 *
 * Task blocks of up to 512 bytes are carved from 64 KiB chunks of malloc's
 * heap (a size below its mmap threshold: no mapping per chunk, and no page
 * of RSS lost to alignment, as aligned_alloc of 64 KiB cost).  Classes
 * are 112 + 16k bytes (the header plus k 16-byte units), so a block wastes
 * nothing: the runtime's overhead per task is the 112-byte header and the
 * rounding of the state to 16 bytes.
 *
 * Each worker keeps a free list per class (COOP__ALLOC_CACHE_MAX blocks at
 * most) and a chunk of its own to carve from; neither is touched by another
 * thread, so its allocations and frees take no lock.  A worker whose list is
 * empty first takes up to SLAB_BATCH spare blocks from the runtime's pool
 * (rt->slab, one mutex), then carves.  A worker whose list is full moves
 * all but its SLAB_BATCH most recently freed blocks to the pool in one
 * splice (each list knows its tail, so the part given is not walked).
 * Threads that are not workers of the task's runtime (the main thread
 * spawning, a blocking job, another runtime's worker freeing a handle)
 * allocate and free under the pool's mutex.  Ownership of a block moves
 * between threads only through that mutex (or, for a task's last
 * reference, through its refs' acq_rel decrement before
 * coop__task_block_free), so no atomics are needed here.
 *
 * Memory goes back to malloc when the runtime is idle: a worker about to
 * park gives the pool all but SLAB_KEEP_IDLE blocks of each of its lists,
 * and the last worker to go to sleep (coop__slab_rt_quiet) frees every
 * chunk whose blocks are all in the pool (slab_trim_locked).
 * A chunk that some thread still carves from is never freed; a chunk counts
 * its blocks only while it is carved, and is "retired" (its count final)
 * under the mutex when its carver moves on to a new one.
 *
 * Under AddressSanitizer a free block is poisoned but for its link word, so a
 * task used after it was freed is still reported (until the block is
 * reused).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "coop-internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define slab_poison(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define slab_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define slab_poison(p, n) ((void)(p), (void)(n))
#define slab_unpoison(p, n) ((void)(p), (void)(n))
#endif

/* 64 KiB with malloc's 16-byte chunk header. */
#define SLAB_CHUNK (64 * 1024 - 16)
#define SLAB_BATCH 256      /* blocks a worker takes from the pool at once */
#define SLAB_KEEP_IDLE 256  /* blocks per class an idle worker keeps */
#define SLAB_QUIET_MIN 1024 /* pool blocks worth a trim when all is idle */

/* The first bytes of a chunk; blocks follow, 16-byte aligned. */
struct slab_chunk {
	struct slab_chunk *next; /* rt->slab.chunks */
	uint32_t carved;         /* blocks carved from it (final once retired) */
	uint32_t seen;           /* slab_trim's count of its blocks in the pool */
	bool retired;            /* no thread carves from it any more */
};
#define SLAB_HDR ((sizeof(struct slab_chunk) + 15) & ~(size_t)15)

/* A spare block: its second word links its list (the first is the task's
 * state word, which stays poisoned under ASan so a freed handle's state
 * read is reported). */
struct slab_block {
	uint64_t state_word;
	struct slab_block *next;
};

/* The chunk a carver's window [bump, end) lies in. */
static inline struct slab_chunk *window_chunk(char *end)
{
	return (struct slab_chunk *)(end - SLAB_CHUNK);
}

static inline size_t class_size(int cls)
{
	return sizeof(struct coop__task) + 16 * (size_t)cls;
}

static inline int alloc_class(size_t size)
{
	if (size > class_size(COOP__ALLOC_CLASSES - 1))
		return -1;
	return size <= sizeof(struct coop__task)
		       ? 0
		       : (int)((size - sizeof(struct coop__task) + 15) / 16);
}

/* A block enters a free list: poison all but its link. */
static inline void block_to_list(struct slab_block *b, int cls)
{
	slab_poison(b, sizeof(b->state_word));
	slab_poison((char *)b + sizeof(*b), class_size(cls) - sizeof(*b));
}

static inline void *block_from_list(struct slab_block *b, int cls)
{
	slab_unpoison(b, class_size(cls));
	return b;
}

int coop__slab_init(coop_rt *rt)
{
	return coop__mutex_init(&rt->slab.lock);
}

/* ---- chunks ---------------------------------------------------------------- */

/* A new chunk for the carver whose window is [*bump, *end); the chunk it
 * carved before is retired.  Called with the slab's mutex held. */
static int chunk_new_locked(coop_rt *rt, char **bump, char **end)
{
	struct slab_chunk *c = malloc(SLAB_CHUNK);

	if (!c)
		return -ENOMEM;
	if (*bump)
		window_chunk(*end)->retired = true;
	c->next = rt->slab.chunks;
	c->carved = 0;
	c->seen = 0;
	c->retired = false;
	rt->slab.chunks = c;
	rt->slab.nchunks++;
	slab_poison((char *)c + SLAB_HDR, SLAB_CHUNK - SLAB_HDR);
	*bump = (char *)c + SLAB_HDR;
	*end = (char *)c + SLAB_CHUNK;
	return 0;
}

/* Carve one block of class cls from [*bump, *end), getting a new chunk when
 * the rest is too small (the rest, smaller than the block, is abandoned).  The
 * caller owns the window; locked says whether it holds the mutex. */
static void *carve(coop_rt *rt, char **bump, char **end, int cls, bool locked)
{
	size_t sz = class_size(cls);

	if (!*bump || (size_t)(*end - *bump) < sz) {
		if (!locked)
			pthread_mutex_lock(&rt->slab.lock);
		int r = chunk_new_locked(rt, bump, end);
		if (!locked)
			pthread_mutex_unlock(&rt->slab.lock);
		if (r < 0)
			return NULL;
	}
	void *b = *bump;
	*bump += sz;
	/* The carver owns the chunk until it is retired, under the mutex. */
	window_chunk(*end)->carved++;
	slab_unpoison(b, sz);
	return b;
}

/* pool_n changes under the mutex; the last worker going to sleep peeks at
 * it without (relaxed: a stale value only skips or wastes one trim), so it
 * is an atomic written with plain relaxed stores. */
static inline void pool_n_add(coop_rt *rt, int64_t d)
{
	atomic_store_explicit(&rt->slab.pool_n,
			      atomic_load_explicit(&rt->slab.pool_n, memory_order_relaxed) +
				      (uint64_t)d,
			      memory_order_relaxed);
	if (d > 0)
		rt->slab.puts++;
}

/* Free every chunk, whatever it holds (coop_rt_free, or the last handle). */
static void slab_release(coop_rt *rt)
{
	struct slab_chunk *c = rt->slab.chunks;

	while (c) {
		struct slab_chunk *next = c->next;
		slab_unpoison(c, SLAB_CHUNK);
		free(c);
		c = next;
	}
	rt->slab.chunks = NULL;
	pthread_mutex_destroy(&rt->slab.lock);
}

static int chunk_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;

	return x < y ? -1 : x > y;
}

/* The chunk that block b was carved from: the last one starting at or
 * before it in sorted[0..n). */
static struct slab_chunk *chunk_find(struct slab_chunk **sorted, size_t n, const void *b)
{
	size_t lo = 0, hi = n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)sorted[mid] <= (uintptr_t)b)
			lo = mid;
		else
			hi = mid;
	}
	return sorted[lo];
}

/*
 * Free the chunks all of whose blocks are spare in the pool: count each
 * chunk's pool blocks (a binary search of the chunks sorted by address:
 * blocks do not record their chunk), drop the blocks of the chunks that
 * are wholly spare from the pool lists, free those chunks.
 * O(pool * log chunks); called at a quiet moment with the mutex held.
 */
static void slab_trim_locked(coop_rt *rt)
{
	struct coop__slab *s = &rt->slab;
	struct slab_chunk **sorted = malloc(s->nchunks * sizeof(*sorted));
	size_t n = 0;

	if (!sorted)
		return; /* no memory to sort with: trim another time */
	for (struct slab_chunk *c = s->chunks; c; c = c->next) {
		c->seen = 0;
		sorted[n++] = c;
	}
	qsort(sorted, n, sizeof(*sorted), chunk_cmp);
	for (int cls = 0; cls < COOP__ALLOC_CLASSES; cls++)
		for (struct slab_block *b = s->pool[cls]; b; b = b->next)
			chunk_find(sorted, n, b)->seen++;

#define WHOLLY_SPARE(c) ((c)->retired && (c)->seen == (c)->carved)
	for (int cls = 0; cls < COOP__ALLOC_CLASSES; cls++) {
		struct slab_block **link = (struct slab_block **)&s->pool[cls];
		while (*link) {
			if (WHOLLY_SPARE(chunk_find(sorted, n, *link))) {
				*link = (*link)->next;
				pool_n_add(rt, -1);
			} else {
				link = &(*link)->next;
			}
		}
	}
	free(sorted);
	for (struct slab_chunk **link = (struct slab_chunk **)&s->chunks; *link;) {
		struct slab_chunk *c = *link;
		if (WHOLLY_SPARE(c)) {
			*link = c->next;
			s->nchunks--;
			slab_unpoison(c, SLAB_CHUNK);
			free(c);
		} else {
			link = &c->next;
		}
	}
#undef WHOLLY_SPARE
	s->puts_at_trim = s->puts;
}

/* ---- the pool ------------------------------------------------------------------- */

/* Splice the list head..last of n blocks of class cls into the pool. */
static void pool_put_locked(coop_rt *rt, int cls, struct slab_block *head, struct slab_block *last,
			    uint32_t n)
{
	last->next = rt->slab.pool[cls];
	rt->slab.pool[cls] = head;
	pool_n_add(rt, n);
}

/* The worker's list for cls is empty: refill it from the pool, or carve. */
static __attribute__((noinline)) void *worker_refill(struct coop__worker *w, int cls)
{
	coop_rt *rt = w->rt;
	struct slab_block *head, *last = NULL;
	uint32_t n = 0;

	pthread_mutex_lock(&rt->slab.lock);
	head = rt->slab.pool[cls];
	for (struct slab_block *b = head; b && n < SLAB_BATCH; b = b->next) {
		last = b;
		n++;
	}
	if (last) {
		rt->slab.pool[cls] = last->next;
		pool_n_add(rt, -(int64_t)n);
		last->next = NULL;
	}
	pthread_mutex_unlock(&rt->slab.lock);
	if (head) {
		w->cache[cls] = head->next;
		w->cache_tail[cls] = last;
		w->cache_len[cls] = n - 1;
		return block_from_list(head, cls);
	}
	return carve(rt, &w->bump, &w->bump_end, cls, false);
}

/* Keep the first keep blocks of the worker's list for cls; the rest go to
 * the pool in one splice, whose end is the list's tail: only the kept part
 * is walked (walking all of a full list of 16,384 cold blocks was a fifth
 * of a cancelled scope's drain).  The caller holds the mutex. */
static void worker_give_locked(struct coop__worker *w, int cls, uint32_t keep)
{
	struct slab_block *head = w->cache[cls], *tail = w->cache_tail[cls], *keep_last = NULL;
	uint32_t n = w->cache_len[cls];

	if (n <= keep)
		return;
	for (uint32_t i = 0; i < keep; i++)
		keep_last = keep_last ? keep_last->next : head;
	struct slab_block *give = keep_last ? keep_last->next : head;
	if (keep_last) {
		keep_last->next = NULL;
		w->cache_tail[cls] = keep_last;
	} else {
		w->cache[cls] = NULL;
	}
	w->cache_len[cls] = keep;
	pool_put_locked(w->rt, cls, give, tail, n - keep);
}

/* A worker has no work: give the pool all but SLAB_KEEP_IDLE blocks of
 * each list, so that they can be trimmed or used by another thread. */
void coop__slab_worker_idle(struct coop__worker *w)
{
	coop_rt *rt = w->rt;
	bool has_extra = false;

	for (int cls = 0; cls < COOP__ALLOC_CLASSES; cls++)
		has_extra |= w->cache_len[cls] > SLAB_KEEP_IDLE;
	if (!has_extra)
		return;
	pthread_mutex_lock(&rt->slab.lock);
	for (int cls = 0; cls < COOP__ALLOC_CLASSES; cls++)
		worker_give_locked(w, cls, SLAB_KEEP_IDLE);
	pthread_mutex_unlock(&rt->slab.lock);
}

/* Every worker is going to sleep (each gave its extra blocks first): the
 * burst is over, so trim if blocks came back since the last trim.  Never
 * while work runs: freeing a chunk may unmap it, and the TLB shootdown of
 * an unmap stalls every CPU that runs a thread of the process. */
void coop__slab_rt_quiet(coop_rt *rt)
{
	if (atomic_load_explicit(&rt->slab.pool_n, memory_order_relaxed) < SLAB_QUIET_MIN)
		return;
	pthread_mutex_lock(&rt->slab.lock);
	if (rt->slab.puts != rt->slab.puts_at_trim)
		slab_trim_locked(rt);
	pthread_mutex_unlock(&rt->slab.lock);
}

/* ---- allocating and freeing task blocks -------------------------------------------- */

/* The slow paths are out of line, so that the fast paths (a worker's own
 * list) need no saved registers: spawning in fib went from 24 to 40
 * instructions per block when they were inlined. */

/* A thread that is not a worker of rt: the pool, under the mutex. */
static __attribute__((noinline)) void *alloc_shared(coop_rt *rt, int cls)
{
	struct slab_block *b;

	pthread_mutex_lock(&rt->slab.lock);
	b = rt->slab.pool[cls];
	if (b) {
		rt->slab.pool[cls] = b->next;
		pool_n_add(rt, -1);
		block_from_list(b, cls);
	} else {
		b = carve(rt, &rt->slab.bump, &rt->slab.bump_end, cls, true);
	}
	if (b)
		rt->slab.live++;
	pthread_mutex_unlock(&rt->slab.lock);
	return b;
}

void *coop__task_alloc(coop_rt *rt, size_t size, uint8_t *ret_cls)
{
	struct coop__worker *w = coop__tls_worker;
	int cls = alloc_class(size);
	struct slab_block *b;

	if (cls < 0) {
		*ret_cls = COOP__ALLOC_MALLOC;
		return malloc(size);
	}
	*ret_cls = (uint8_t)cls;
	if (!w || w->rt != rt)
		return alloc_shared(rt, cls);
	b = w->cache[cls];
	if (b) {
		w->cache[cls] = b->next;
		w->cache_len[cls]--;
		block_from_list(b, cls);
	} else {
		b = worker_refill(w, cls);
		if (!b)
			return NULL;
	}
	w->slab_live++;
	return b;
}

/* The worker's list for cls is full: all but its most recently freed
 * (cache-warm) SLAB_BATCH blocks go to the pool. */
static __attribute__((noinline)) void worker_list_full(struct coop__worker *w, int cls)
{
	pthread_mutex_lock(&w->rt->slab.lock);
	worker_give_locked(w, cls, SLAB_BATCH);
	pthread_mutex_unlock(&w->rt->slab.lock);
}

/* A thread that is not a worker of rt frees: to the pool, under the mutex. */
static __attribute__((noinline)) void free_shared(coop_rt *rt, struct slab_block *b, int cls)
{
	pthread_mutex_lock(&rt->slab.lock);
	b->next = rt->slab.pool[cls];
	block_to_list(b, cls);
	rt->slab.pool[cls] = b;
	pool_n_add(rt, 1);
	bool last = --rt->slab.live == 0 && rt->slab.rt_freed;
	pthread_mutex_unlock(&rt->slab.lock);
	if (last) {
		/* The last handle freed after coop_rt_free (coop.h allows
		 * it): only the slab and rt itself were left. */
		slab_release(rt);
		free(rt);
	}
}

/*
 * The block goes back to the slab of the task's runtime (t->rt: the scope
 * may already be gone).  A worker of that runtime keeps it; a full list
 * sends most of itself to the pool in one splice (worker_list_full).
 */
void coop__task_block_free(struct coop__task *t)
{
	struct coop__worker *w = coop__tls_worker;
	coop_rt *rt = t->rt;
	int cls = t->alloc_cls;
	struct slab_block *b = (struct slab_block *)t;

	if (cls == COOP__ALLOC_MALLOC) {
		free(t);
		return;
	}
	if (!w || w->rt != rt) {
		free_shared(rt, b, cls);
		return;
	}
	w->slab_live--;
	b->next = w->cache[cls];
	if (!b->next)
		w->cache_tail[cls] = b;
	block_to_list(b, cls);
	w->cache[cls] = b;
	if (++w->cache_len[cls] >= COOP__ALLOC_CACHE_MAX)
		worker_list_full(w, cls);
}

bool coop__slab_rt_free(coop_rt *rt)
{
	pthread_mutex_lock(&rt->slab.lock);
	for (unsigned i = 0; i < rt->nworkers; i++)
		rt->slab.live += rt->workers[i].slab_live;
	bool last = rt->slab.live == 0;
	rt->slab.rt_freed = true;
	pthread_mutex_unlock(&rt->slab.lock);
	if (last)
		slab_release(rt);
	return last;
}

uint64_t coop__slab_bytes(coop_rt *rt)
{
	pthread_mutex_lock(&rt->slab.lock);
	uint64_t n = rt->slab.nchunks;
	pthread_mutex_unlock(&rt->slab.lock);
	return n * SLAB_CHUNK;
}
