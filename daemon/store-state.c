/*
 * store-state.c - the state directory.
 *
 *   STATE/graphs/ID/graph.json   {"format":1,"id","uid","gid","created",
 *                                 "graph": the validated document as sent}
 *   STATE/graphs/ID/journal      one JSON record per line:
 *                                 {"i": node index, "s": state, times,
 *                                  cancel, stats, result}; the last record
 *                                 of a node wins
 *   STATE/graphs/ID/N.out|N.err  stdout/stderr of exec node N
 *   STATE/damaged/               directories that could not be loaded
 *
 * graph.json is written to a temporary name, fsynced, renamed, and the
 * graph's directory and graphs/ are fsynced before `submit` answers.
 * Journal records are buffered per graph and written (no sync) every
 * journal_flush_ms; when a graph settles its journal is written and
 * fdatasynced before any `wait` is answered.  A torn last journal line is
 * ignored on load.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "job-exec.h"
#include "store-state.h"
#include "util-log.h"

#define GRAPH_FILE_MAX (1ull << 31)

/* One durable write, queued for the writer thread: a submit's graph
 * directory (CREATE) or a settled graph's last journal records and sync
 * (SETTLE). */
struct store_job {
	struct store_job *next;
	struct graph *g;
	enum { STORE_CREATE, STORE_SETTLE } kind;
	char *text; /* CREATE: the whole graph.json; SETTLE: records */
	size_t len;
	int fd; /* SETTLE: the journal, closed by the writer */
	int r;  /* result, set by the writer */
	store_done_fn done;
	void *arg;
};

struct store {
	struct coopd *d;
	char *dir;
	int graphs_fd; /* STATE/graphs, for fsync and *at() calls */
	/* The writer thread and its queues (lock protects todo, done, stop). */
	pthread_t writer;
	bool writer_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct store_job *todo, *todo_tail, *done, *done_tail;
	bool stop;
	size_t pending; /* jobs queued and not yet completed (loop) */
	ev_async async;
	struct graph *queue; /* graphs with journal records to write */
	ev_timer flush_timer;
	bool timer_active;
};

const char *store_dir(const struct store *s)
{
	return s->dir;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void flush_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void store_async_cb(struct ev_loop *loop, ev_async *w, int revents);
static void *writer_main(void *arg);

int store_open(struct coopd *d, struct store **ret)
{
	struct store *s = calloc(1, sizeof(*s));
	char path[4096];
	struct stat st;
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->graphs_fd = -1;
	s->dir = strdup(d->cfg.state_dir);
	if (!s->dir) {
		free(s);
		return -ENOMEM;
	}
	r = mkdir_p(s->dir, 0700);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot create state directory %s", s->dir);
		goto fail;
	}
	if (stat(s->dir, &st) == 0 && (st.st_mode & 077) && st.st_uid == geteuid())
		(void)chmod(s->dir, st.st_mode & ~(mode_t)077);
	snprintf(path, sizeof(path), "%s/graphs", s->dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		r = log_errno(LOG_ERR, -errno, "cannot create %s", path);
		goto fail;
	}
	s->graphs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->graphs_fd < 0) {
		r = log_errno(LOG_ERR, -errno, "cannot open %s", path);
		goto fail;
	}
	ev_timer_init(&s->flush_timer, flush_cb, 0., 0.);
	s->flush_timer.data = s;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	ev_async_init(&s->async, store_async_cb);
	s->async.data = s;
	ev_async_start(d->loop, &s->async);
	ev_unref(d->loop);
	{
		sigset_t all, old;

		/* The writer takes no signals (libev's handlers run on the loop). */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		r = -pthread_create(&s->writer, NULL, writer_main, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot start the state writer thread");
		ev_ref(d->loop);
		ev_async_stop(d->loop, &s->async);
		close(s->graphs_fd);
		goto fail;
	}
	s->writer_started = true;
	*ret = s;
	return 0;
fail:
	free(s->dir);
	free(s);
	return r;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	store_stop_writer(s);
	store_flush_all(s);
	if (s->graphs_fd >= 0)
		close(s->graphs_fd);
	free(s->dir);
	free(s);
}

void store_stop_writer(struct store *s)
{
	if (s && s->writer_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->writer, NULL);
		/* Submits still in flight now are failed: their graphs are
		 * removed again (nobody got an id for them).  Settled graphs'
		 * journals are on disk: report them as they are. */
		for (struct store_job *job = s->done, *next; job; job = next) {
			next = job->next;
			s->pending--;
			if (job->kind == STORE_CREATE && job->r == 0)
				store_remove_graph_files(s, job->g);
			job->done(s->d, job->g, job->kind == STORE_CREATE ? -ESHUTDOWN : job->r,
				  job->arg);
			free(job->text);
			free(job);
		}
		s->done = NULL;
		ev_ref(s->d->loop);
		ev_async_stop(s->d->loop, &s->async);
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		s->writer_started = false;
	}
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int sync_fd(struct store *s, int fd)
{
	if (!s->d->cfg.fsync)
		return 0;
	return fsync(fd) < 0 ? -errno : 0;
}

/* Writer thread: makes graphs/ID with graph.json and an empty journal,
 * each synced; graphs/ itself is synced once per batch by the caller.
 * Leaves nothing behind on failure. */
static int write_graph_files(struct store *s, struct store_job *job)
{
	struct graph *g = job->g;
	int dfd = -1, fd = -1, r;
	bool made_dir = false;

	if (mkdirat(s->graphs_fd, g->id, 0700) < 0) {
		r = -errno;
		goto fail;
	}
	made_dir = true;
	dfd = openat(s->graphs_fd, g->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		goto fail;
	}
	fd = openat(dfd, "graph.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = write_all(fd, job->text, job->len)) < 0 || (r = sync_fd(s, fd)) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (renameat(dfd, "graph.json.tmp", dfd, "graph.json") < 0) {
		r = -errno;
		goto fail;
	}
	g->journal_fd = openat(dfd, "journal", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (g->journal_fd < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = sync_fd(s, dfd)) < 0)
		goto fail;
	close(dfd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	store_remove_graph_files(s, g);
	(void)made_dir;
	return r;
}

void store_remove_graph_files(struct store *s, struct graph *g)
{
	int dfd = openat(s->graphs_fd, g->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir;
	struct dirent *de;

	if (g->journal_fd >= 0) {
		close(g->journal_fd);
		g->journal_fd = -1;
	}
	if (dfd >= 0) {
		/* Everything in it is ours: definition, journal, logs. */
		dir = fdopendir(dfd);
		if (dir) {
			while ((de = readdir(dir)))
				if (de->d_name[0] != '.')
					(void)unlinkat(dirfd(dir), de->d_name, 0);
			closedir(dir);
		} else {
			close(dfd);
		}
	}
	if (unlinkat(s->graphs_fd, g->id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		log_errno(LOG_WARNING, -errno, "cannot remove %s/graphs/%s", s->dir, g->id);
}

/* The writer thread: takes every queued job, writes them, syncs graphs/
 * once for the batch (group commit), hands them back to the loop. */
static void *writer_main(void *arg)
{
	struct store *s = arg;

	for (;;) {
		struct store_job *batch, *job;
		bool any_ok = false;
		int r;

		pthread_mutex_lock(&s->lock);
		while (!s->todo && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		batch = s->todo;
		s->todo = s->todo_tail = NULL;
		if (!batch && s->stop) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		pthread_mutex_unlock(&s->lock);

		for (job = batch; job; job = job->next) {
			if (job->kind == STORE_SETTLE) {
				job->r = write_all(job->fd, job->text, job->len);
				if (job->r == 0 && s->d->cfg.fsync && fdatasync(job->fd) < 0)
					job->r = -errno;
				close(job->fd);
			} else {
				job->r = write_graph_files(s, job);
				any_ok |= job->r == 0;
			}
			/* Written: a big graph's text (4 MB for 100,000 nodes)
			 * must not stay until the loop gets round to the job. */
			free(job->text);
			job->text = NULL;
		}
		if (any_ok && (r = sync_fd(s, s->graphs_fd)) < 0) {
			for (job = batch; job; job = job->next) {
				if (job->kind == STORE_CREATE && job->r == 0) {
					job->r = r;
					store_remove_graph_files(s, job->g);
				}
			}
		}

		pthread_mutex_lock(&s->lock);
		for (job = batch; job; job = batch) {
			batch = job->next;
			job->next = NULL;
			if (s->done_tail)
				s->done_tail->next = job;
			else
				s->done = job;
			s->done_tail = job;
		}
		pthread_mutex_unlock(&s->lock);
		ev_async_send(s->d->loop, &s->async);
	}
}

/* Loop thread: completions of the writer. */
static void store_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	store_complete(w->data);
}

void store_complete(struct store *s)
{
	struct store_job *job, *next;

	pthread_mutex_lock(&s->lock);
	job = s->done;
	s->done = s->done_tail = NULL;
	pthread_mutex_unlock(&s->lock);
	for (; job; job = next) {
		next = job->next;
		s->pending--;
		if (job->r < 0)
			log_errno(LOG_ERR, job->r, "cannot %s graph %s in %s",
				  job->kind == STORE_SETTLE ? "sync the journal of" : "store",
				  job->g->id, s->dir);
		job->done(s->d, job->g, job->r, job->arg);
		free(job->text);
		free(job);
	}
	coopd_maybe_stopped(s->d);
}

size_t store_pending(const struct store *s)
{
	return s->pending;
}

static void store_queue(struct store *s, struct store_job *job)
{
	pthread_mutex_lock(&s->lock);
	if (s->todo_tail)
		s->todo_tail->next = job;
	else
		s->todo = job;
	s->todo_tail = job;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	s->pending++;
}

static int count_out(void *ctx, const char *p, size_t len)
{
	(void)p;
	*(size_t *)ctx += len;
	return 0;
}

static int sb_out(void *ctx, const char *p, size_t len)
{
	sb_put(ctx, p, len);
	return ((struct strbuf *)ctx)->oom ? -ENOMEM : 0;
}

int store_graph_create(struct store *s, struct graph *g, struct json_object *doc,
		       store_done_fn done, void *arg)
{
	struct store_job *job = calloc(1, sizeof(*job));
	struct strbuf sb;
	size_t len = 0;

	if (!job)
		return -ENOMEM;
	/* The document as the client sent it (validated): re-parsing it gives
	 * the same tree, and writing it is much cheaper than building a
	 * canonical copy of a 100,000-node graph first.  Written here: the
	 * document belongs to this thread.  Measured first, so that the text
	 * is one exact allocation (not up to twice its size by doubling). */
	sb_init(&sb);
	if (proto_graph_doc_write(doc, count_out, &len) < 0 || !sb_reserve_exact(&sb, len + 160)) {
		free(job);
		return -ENOMEM;
	}
	sb_printf(&sb,
		  "{\"format\":1,\"id\":\"%s\",\"uid\":%lu,\"gid\":%lu,\"created\":%lld,"
		  "\"graph\":",
		  g->id, (unsigned long)g->uid, (unsigned long)g->gid, (long long)g->created_ms);
	(void)proto_graph_doc_write(doc, sb_out, &sb);
	sb_puts(&sb, "}\n");
	job->text = sb_steal(&sb, &job->len);
	if (!job->text) {
		free(job);
		return -ENOMEM;
	}
	job->kind = STORE_CREATE;
	job->fd = -1;
	job->g = g;
	job->done = done;
	job->arg = arg;
	store_queue(s, job);
	return 0;
}

static void journal_write(struct store *s, struct graph *g)
{
	int r;

	if (g->journal.len == 0)
		return;
	if (g->journal_fd >= 0 && !g->journal.oom) {
		r = write_all(g->journal_fd, g->journal.buf, g->journal.len);
		/* Logged once per graph: a full disk must not flood the log. */
		if (r < 0 && !g->journal_failed) {
			g->journal_failed = true;
			log_errno(LOG_ERR, r,
				  "graph %s: cannot write its journal (state changes "
				  "are lost until it works again)",
				  g->id);
		}
	} else if (g->journal.oom) {
		log_err("graph %s: out of memory buffering its journal; records lost", g->id);
	}
	sb_reset(&g->journal);
}

static void flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	store_flush_all(w->data);
}

void store_flush_all(struct store *s)
{
	struct graph *g;

	if (s->timer_active) {
		ev_timer_stop(s->d->loop, &s->flush_timer);
		s->timer_active = false;
	}
	while ((g = s->queue)) {
		s->queue = g->journal_next;
		g->journal_queued = false;
		journal_write(s, g);
	}
}

/* Journal bytes a graph buffers before they are written without waiting
 * for the flush timer. */
#define JOURNAL_BUF_MAX (64u * 1024u)

static void record_time(struct strbuf *sb, const char *key, int64_t ms)
{
	if (ms >= 0)
		sb_printf(sb, ",\"%s\":%lld", key, (long long)ms);
}

void store_journal_node(struct store *s, const struct rnode *n)
{
	struct graph *g = n->g;
	struct strbuf *sb = &g->journal;

	if (!s || g->journal_fd < 0)
		return;
	sb_printf(sb, "{\"i\":%u,\"s\":\"%s\"", n->idx,
		  proto_state_name((enum proto_state)n->state));
	record_time(sb, "st", n->started_ms);
	record_time(sb, "ft", n->finished_ms);
	if (n->cancel_reason >= 0)
		sb_printf(sb, ",\"cr\":%d", n->cancel_reason);
	record_time(sb, "cq", n->cancel_requested_ms);
	record_time(sb, "ca", n->cancel_ack_ms);
	if (n->polls || n->forced_yields)
		sb_printf(sb, ",\"p\":%llu,\"y\":%llu", (unsigned long long)n->polls,
			  (unsigned long long)n->forced_yields);
	if (n->has_value)
		sb_printf(sb, ",\"v\":%lld", (long long)n->value);
	if (n->exit_code >= 0)
		sb_printf(sb, ",\"x\":%d", n->exit_code);
	if (n->term_signal > 0)
		sb_printf(sb, ",\"sg\":%d", n->term_signal);
	if (n->error) {
		sb_puts(sb, ",\"e\":");
		sb_json_cstr(sb, n->error);
	}
	if (n->cancel_note) {
		sb_puts(sb, ",\"n\":");
		sb_json_cstr(sb, n->cancel_note);
	}
	if (n->pgid > 0)
		sb_printf(sb, ",\"pg\":%d,\"pt\":%llu", n->pgid, (unsigned long long)n->pg_start);
	if (n->leftovers)
		sb_printf(sb, ",\"lo\":%u", n->leftovers);
	if (n->log_dropped[0] || n->log_dropped[1])
		sb_printf(sb, ",\"ld\":[%llu,%llu]", (unsigned long long)n->log_dropped[0],
			  (unsigned long long)n->log_dropped[1]);
	sb_puts(sb, "}\n");
	/* Where to find a job's processes after a crash must reach the file
	 * (page cache; a coopd crash does not lose it) soon: write spawn
	 * records at once.  Not needed with a cgroup per job: the next start
	 * kills every job cgroup that a crashed coopd left (job-cgroup.h);
	 * without, the group recorded here backs up the job marker. */
	if (n->pgid > 0 && n->state == PROTO_STATE_RUNNING && !exec_cgroups_active(s->d)) {
		journal_write(s, g);
		return;
	}
	/* A burst (100,000 nodes settling at once) goes out in pieces of
	 * JOURNAL_BUF_MAX instead of being buffered whole until the timer. */
	if (sb->len >= JOURNAL_BUF_MAX)
		journal_write(s, g);
	if (!g->journal_queued) {
		g->journal_queued = true;
		g->journal_next = s->queue;
		s->queue = g;
	}
	if (!s->timer_active) {
		ev_timer_set(&s->flush_timer, s->d->cfg.journal_flush_ms / 1000., 0.);
		ev_timer_start(s->d->loop, &s->flush_timer);
		s->timer_active = true;
	}
}

/* Takes g off the flush queue. */
static void journal_unqueue(struct store *s, struct graph *g)
{
	struct graph **pp;

	if (g->journal_queued) {
		for (pp = &s->queue; *pp; pp = &(*pp)->journal_next) {
			if (*pp == g) {
				*pp = g->journal_next;
				break;
			}
		}
		g->journal_queued = false;
	}
}

int store_graph_settled_async(struct store *s, struct graph *g, store_done_fn done, void *arg)
{
	struct store_job *job;

	if (g->journal_fd < 0 || g->journal.oom)
		return -EINVAL;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	journal_unqueue(s, g);
	job->kind = STORE_SETTLE;
	job->g = g;
	job->fd = g->journal_fd;
	job->text = sb_steal(&g->journal, &job->len);
	job->done = done;
	job->arg = arg;
	g->journal_fd = -1;
	sb_free(&g->journal);
	store_queue(s, job);
	return 0;
}

void store_graph_settled(struct store *s, struct graph *g)
{
	int r;

	journal_unqueue(s, g);
	journal_write(s, g);
	sb_free(&g->journal);
	if (g->journal_fd >= 0) {
		if (s->d->cfg.fsync && fdatasync(g->journal_fd) < 0) {
			r = -errno;
			log_errno(LOG_ERR, r, "graph %s: cannot sync its journal", g->id);
		}
		close(g->journal_fd);
		g->journal_fd = -1;
	}
}

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer. */
static int read_file_at(int dfd, const char *name, size_t max, char **ret, size_t *ret_len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t len = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max) {
		r = fstat(fd, &st) < 0 ? -errno : -EFBIG;
		close(fd);
		return r;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int64_t jint(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Applies one journal record; false if it does not make sense. */
static bool journal_apply(struct graph *g, struct json_object *rec)
{
	int64_t i = jint(rec, "i", -1);
	const char *st = jstr(rec, "s"), *e, *note;
	int state = st ? proto_state_from_name(st) : -1;
	struct rnode *n;

	if (i < 0 || (uint64_t)i > g->n_nodes || state < 0)
		return false;
	n = g->by_idx[i];
	if (n != g->root) {
		g->counts[n->state]--;
		g->counts[state]++;
	}
	n->state = (uint8_t)state;
	n->started_ms = jint(rec, "st", -1);
	n->finished_ms = jint(rec, "ft", -1);
	n->cancel_reason = (int8_t)jint(rec, "cr", -1);
	n->cancel_requested_ms = jint(rec, "cq", -1);
	n->cancel_ack_ms = jint(rec, "ca", -1);
	n->polls = (uint64_t)jint(rec, "p", 0);
	n->forced_yields = (uint64_t)jint(rec, "y", 0);
	n->has_value = json_object_object_get_ex(rec, "v", NULL);
	n->value = jint(rec, "v", 0);
	n->exit_code = (int)jint(rec, "x", -1);
	n->term_signal = (int)jint(rec, "sg", 0);
	n->pgid = (int)jint(rec, "pg", 0);
	{
		struct json_object *ld;

		if (json_object_object_get_ex(rec, "ld", &ld) &&
		    json_object_is_type(ld, json_type_array) && json_object_array_length(ld) == 2)
			for (int k = 0; k < 2; k++)
				n->log_dropped[k] = (uint64_t)json_object_get_int64(
					json_object_array_get_idx(ld, k));
	}
	n->pg_start = (uint64_t)jint(rec, "pt", 0);
	n->leftovers = (uint32_t)jint(rec, "lo", 0);
	if ((e = jstr(rec, "e"))) {
		free(n->error);
		n->error = strdup(e);
	}
	if ((note = jstr(rec, "n"))) {
		free(n->cancel_note);
		n->cancel_note = strdup(note);
	}
	return true;
}

static void journal_replay(struct graph *g, int dfd)
{
	char *buf = NULL, *p, *nl;
	size_t len;
	unsigned bad = 0;

	if (read_file_at(dfd, "journal", GRAPH_FILE_MAX, &buf, &len) < 0)
		return;
	for (p = buf; p < buf + len; p = nl + 1) {
		struct json_object *rec;

		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl) {
			bad++; /* a torn last record: the write never completed */
			break;
		}
		*nl = '\0';
		rec = json_tokener_parse(p);
		if (!rec || !journal_apply(g, rec))
			bad++;
		json_object_put(rec);
	}
	if (bad)
		log_warn("graph %s: %u damaged journal record(s) ignored", g->id, bad);
	free(buf);
}

static void move_aside(struct store *s, const char *name, const char *why)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/graphs/%s", s->dir, name);
	snprintf(to, sizeof(to), "%s/damaged", s->dir);
	(void)mkdir(to, 0700);
	snprintf(to, sizeof(to), "%s/damaged/%s.%lld", s->dir, name, (long long)graph_now_ms());
	log_err("state of graph %s is damaged (%s); moved to %s", name, why, to);
	if (rename(from, to) < 0)
		log_errno(LOG_ERR, -errno, "cannot move %s aside", from);
}

/* Loads one graph directory; returns the graph or NULL (moved aside). */
static struct graph *load_one(struct coopd *d, const char *name)
{
	struct store *s = d->store;
	struct proto_graph *def = NULL;
	struct proto_error err;
	struct json_tokener *tok = NULL;
	struct json_object *wrap = NULL, *gdoc;
	struct graph *g = NULL;
	char *text = NULL;
	size_t len;
	int dfd, r;
	const char *id;

	dfd = openat(s->graphs_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	r = read_file_at(dfd, "graph.json", GRAPH_FILE_MAX, &text, &len);
	if (r == -ENOENT) {
		/* Created but never acknowledged (crash inside submit). */
		(void)unlinkat(dfd, "graph.json.tmp", 0);
		(void)unlinkat(dfd, "journal", 0);
		close(dfd);
		(void)unlinkat(s->graphs_fd, name, AT_REMOVEDIR);
		return NULL;
	}
	if (r < 0) {
		move_aside(s, name, strerror(-r));
		goto out;
	}
	tok = json_tokener_new_ex((int)d->cfg.limits.max_json_depth + 8);
	if (!tok)
		goto out;
	wrap = json_tokener_parse_ex(tok, text, (int)len);
	if (!wrap || !json_object_is_type(wrap, json_type_object) ||
	    !json_object_object_get_ex(wrap, "graph", &gdoc) || !(id = jstr(wrap, "id")) ||
	    strcmp(id, name) != 0) {
		move_aside(s, name, "graph.json unreadable");
		goto out;
	}
	if (proto_graph_parse(gdoc, &d->cfg.limits, &def, &err) < 0) {
		move_aside(s, name, err.reason);
		goto out;
	}
	if (graph_new(def, name, (uid_t)jint(wrap, "uid", 0), (gid_t)jint(wrap, "gid", 0),
		      jint(wrap, "created", -1), &g) < 0) {
		proto_graph_free(def);
		goto out;
	}
	g->d = d;
	g->loaded = true;
	journal_replay(g, dfd);
	if (!proto_state_is_final((enum proto_state)g->root->state)) {
		int64_t now = graph_now_ms();

		/* coopd stopped while it ran: interrupted, every unfinished
		 * node with it.  Recorded so that the next start agrees. */
		g->journal_fd =
			openat(dfd, "journal", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		for (size_t i = 0; i <= g->n_nodes; i++) {
			struct rnode *n = g->by_idx[i];

			if (proto_state_is_final((enum proto_state)n->state))
				continue;
			if (n->started_ms >= 0)
				n->finished_ms = now;
			/* Its processes are looked for (and killed) once every
			 * graph is loaded: exec_recover_sweep(). */
			exec_recover_note(d, n);
			if (n != g->root) {
				g->counts[n->state]--;
				g->counts[PROTO_STATE_INTERRUPTED]++;
			}
			n->state = PROTO_STATE_INTERRUPTED;
			store_journal_node(s, n);
		}
		store_graph_settled(s, g);
		log_notice("graph %s was running when coopd stopped: interrupted", g->id);
	}
	g->n_done = 0;
	for (int st = 0; st < PROTO_STATE__MAX; st++)
		if (proto_state_is_final((enum proto_state)st))
			g->n_done += g->counts[st];
out:
	if (tok)
		json_tokener_free(tok);
	json_object_put(wrap);
	free(text);
	close(dfd);
	return g;
}

int store_load(struct coopd *d)
{
	struct store *s = d->store;
	struct dirent *de;
	DIR *dir;
	int fd;
	size_t n = 0;

	fd = fcntl(s->graphs_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return log_errno(LOG_ERR, -errno, "cannot read %s/graphs", s->dir);
	}
	rewinddir(dir);
	while ((de = readdir(dir))) {
		struct graph *g;

		if (de->d_name[0] == '.' || !proto_id_valid(de->d_name, strlen(de->d_name)))
			continue;
		g = load_one(d, de->d_name);
		if (g) {
			coopd_register_loaded(d, g);
			n++;
		}
	}
	closedir(dir);
	if (n)
		log_info("loaded %zu graph(s) from %s", n, s->dir);
	exec_recover_sweep(d);
	return 0;
}
