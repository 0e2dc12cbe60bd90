/*
 * store-state.c - graphs and nodes to rows and back.
 *
 *   STATE/coopd.db             the database (store-db.c: graphs, nodes),
 *                              with its -wal and -shm files
 *   STATE/graphs/ID/N.out|err  stdout/stderr of exec node N
 *   STATE/damaged/             a database or documents that could not be read
 *
 * A submit becomes a durable job for the writer (store-writer.c): the graph
 * row is committed and synced before `submit` answers.  Node state changes
 * mark the node dirty; every journal_flush_ms the dirty nodes of every
 * graph are written in one job, without a sync (a coopd crash keeps them:
 * the WAL is in the page cache).  When a graph settles, its last changes
 * and its final state are written, synced if a `wait` is waiting for it
 * (a later `wait` asks for a synced transaction first:
 * store_graph_durable); if that fails it is tried again every second, and
 * `wait` keeps waiting.  A settled graph keeps no node tree in memory:
 * store_graph_hydrate reads it back for a request, and a restart loads
 * settled graphs as rows only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "job-slurm-spool.h"
#include "store-damage.h"
#include "store-db.h"
#include "store-import.h"
#include "store-state.h"
#include "store-reader.h"
#include "store-writer.h"
#include "util-log.h"

#define SETTLE_RETRY_S 1.0

struct store {
	struct coopd *d;
	char *dir;
	char *db_path;
	int graphs_fd;           /* STATE/graphs: log directories */
	struct store_writer *w;  /* owns the write connection */
	struct store_db *rdb;    /* the loop's reading connection */
	struct store_reader *rd; /* reads of big trees, off the loop */
	struct graph *queue;     /* graphs with dirty nodes */
	struct graph *retry;     /* settled graphs whose records failed */
	/* Final states of settled graphs nobody waits for, held back until
	 * the next job goes to the writer (a submit: they share its
	 * transaction) or the flush timer fires, whichever comes first, so
	 * that a graph's settle costs no commit and no wake-up of its own. */
	struct sjob *deferred, *deferred_tail;
	size_t n_deferred;
	ev_timer flush_timer, retry_timer;
	bool timer_active;
	struct store_hooks hooks; /* the lifecycle's and wait's (store_set_hooks) */
	bool cgroups;             /* a cgroup per exec job (store_set_cgroups) */
	char *slurm_spool;        /* slurm = on: slurm_spool_dir (store_set_slurm_spool) */
	/* Failed submits, logged at most once a second per errno
	 * (log_create_failure). */
	int create_fail_errno;
	double create_fail_logged;
	unsigned long create_fail_quiet;
};

enum sjob_kind { SJ_CREATE, SJ_NODES, SJ_SETTLE, SJ_DELETE };

/* One job of the store: a row to insert, node rows to write, a graph to
 * settle or delete. */
struct sjob {
	struct store_job job; /* first: the writer hands it back */
	enum sjob_kind kind;
	struct store *s;
	struct graph *g; /* alive until done (CREATE, NODES, SETTLE) */
	int64_t seq;
	char id[GRAPH_ID_LEN + 1];
	/* CREATE */
	struct store_graph_row row;
	char *doc, *name;
	/* NODES, SETTLE */
	struct store_rec *recs;
	size_t n_recs;
	int state;
	int64_t finished;
	uint64_t nodes_done;
	uint64_t disk_bytes; /* SETTLE: for retention_bytes */
	store_done_fn done;
	store_id_done_fn id_done;
	void *arg;
};

const char *store_dir(const struct store *s)
{
	return s->dir;
}

static void sjob_free(struct sjob *j)
{
	for (size_t i = 0; i < j->n_recs; i++)
		store_rec_clear(&j->recs[i]);
	free(j->recs);
	free(j->doc);
	free(j->name);
	free(j);
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
static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents);

static void writer_drained(void *ctx)
{
	struct store *s = ctx;

	if (s->hooks.drained)
		s->hooks.drained(s->d);
}

void store_set_cgroups(struct store *s, bool cgroups)
{
	s->cgroups = cgroups;
}

int store_set_slurm_spool(struct store *s, const char *spool)
{
	char *copy = strdup(spool);

	if (!copy)
		return -ENOMEM;
	free(s->slurm_spool);
	s->slurm_spool = copy;
	return 0;
}

void store_set_hooks(struct store *s, const struct store_hooks *h)
{
	if (h->drained)
		s->hooks.drained = h->drained;
	if (h->loaded_settled)
		s->hooks.loaded_settled = h->loaded_settled;
}

int store_open(struct coopd *d, struct store **ret)
{
	struct store *s = calloc(1, sizeof(*s));
	struct store_db *db = NULL;
	char path[4096], why[256];
	struct stat st;
	int r;

	if (!s)
		return -ENOMEM;
	s->d = d;
	s->graphs_fd = -1;
	s->dir = strdup(d->cfg.state_dir);
	if (!s->dir || asprintf(&s->db_path, "%s/%s", s->dir, STORE_DB_FILE) < 0) {
		s->db_path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	r = mkdir_p(s->dir, 0700);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot create state directory %s", s->dir);
		goto fail;
	}
	if (stat(s->dir, &st) == 0 && (st.st_mode & 077) && st.st_uid == geteuid())
		(void)chmod(s->dir, st.st_mode & ~(mode_t)077);
	snprintf(path, sizeof(path), "%s/graphs", s->dir);
	/* Below the state directory store-lock.c checked (d->state_fd). */
	if (d->state_fd >= 0 ? mkdirat(d->state_fd, "graphs", 0700) < 0 && errno != EEXIST
			     : mkdir(path, 0700) < 0 && errno != EEXIST) {
		r = log_errno(LOG_ERR, -errno, "cannot create %s", path);
		goto fail;
	}
	s->graphs_fd = d->state_fd >= 0
			       ? openat(d->state_fd, "graphs",
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			       : open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->graphs_fd < 0) {
		r = log_errno(LOG_ERR, -errno, "cannot open %s", path);
		goto fail;
	}
	r = store_db_open_checked(s->db_path, why, sizeof(why), &db);
	if (r == -EBADMSG &&
	    (r = store_damage_move_aside(d->state_fd, s->dir, STORE_DB_FILE, why)) == 0)
		r = store_db_open(s->db_path, false, &db);
	if (r == -EPROTO) {
		log_err("state database %s was made by a newer coopd (schema above version %d); "
			"not touching it",
			s->db_path, STORE_DB_VERSION);
		goto fail;
	}
	if (r < 0) {
		log_err("cannot open the state database %s: %s", s->db_path, store_db_errtext(r));
		goto fail;
	}
	r = store_import(db, s->dir, s->graphs_fd, &d->cfg.limits, d->cfg.fsync);
	if (r < 0) {
		store_db_close(db);
		goto fail;
	}
	r = store_db_open(s->db_path, true, &s->rdb);
	if (r < 0) {
		log_err("cannot open the state database %s for reading: %s", s->db_path,
			store_db_errtext(r));
		store_db_close(db);
		goto fail;
	}
	ev_timer_init(&s->flush_timer, flush_cb, 0., 0.);
	s->flush_timer.data = s;
	ev_timer_init(&s->retry_timer, retry_cb, SETTLE_RETRY_S, 0.);
	s->retry_timer.data = s;
	/* Without it, trees are read back on the loop as before. */
	if ((r = store_reader_start(d->loop, s->db_path, &s->rd)) < 0) {
		log_errno(LOG_WARNING, r, "cannot start the state reader thread");
		s->rd = NULL;
	}
	r = store_writer_start(d->loop, db, s->db_path, d->cfg.fsync, writer_drained, s, &s->w);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot start the state writer thread");
		store_db_close(db);
		store_reader_stop(s->rd);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	store_db_close(s->rdb);
	if (s->graphs_fd >= 0)
		close(s->graphs_fd);
	free(s->db_path);
	free(s->dir);
	free(s);
	return r;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	store_flush_all(s);
	store_stop_writer(s);
	if (ev_is_active(&s->retry_timer))
		ev_timer_stop(s->d->loop, &s->retry_timer);
	if (s->graphs_fd >= 0)
		close(s->graphs_fd);
	free(s->db_path);
	free(s->dir);
	free(s->slurm_spool);
	free(s);
}

void store_stop_writer(struct store *s)
{
	if (s && s->w) {
		/* Settles still failing (a full disk, a damaged database) are
		 * not retried past the stop: say which results are lost (the
		 * stored graph still says it runs, so a start marks it
		 * interrupted: docs/durability.md, "When it is synced"). */
		for (const struct graph *g = s->retry; g; g = g->retry_next)
			log_err("graph %s: its final state is lost: it could not be made durable "
				"before the stop",
				g->id);
		/* The reader first: the last connection to close checkpoints
		 * the WAL into coopd.db and removes it, which a read-only one
		 * cannot do. */
		store_reader_stop(s->rd);
		s->rd = NULL;
		store_db_close(s->rdb);
		s->rdb = NULL;
		store_writer_stop(s->w);
		s->w = NULL;
	}
}

size_t store_pending(const struct store *s)
{
	return s ? store_writer_pending(s->w) + s->n_deferred : 0;
}

void store_complete(struct store *s)
{
	if (s->w)
		store_writer_complete(s->w);
}

void store_counts(const struct store *s, unsigned long long *commits, unsigned long long *jobs)
{
	store_writer_counts(s ? s->w : NULL, commits, jobs);
}

/* Settles held back (store_graph_settled_async) before one commit of
 * their own is worth it: a burst of settling graphs still goes out in
 * pieces. */
#define DEFERRED_MAX 1024u

/* Takes the held-back settles off the list: a chain of jobs whose last
 * one's next is NULL (NULL if there are none). */
static struct store_job *take_deferred(struct store *s, struct sjob **tail)
{
	struct sjob *head = s->deferred;

	*tail = s->deferred_tail;
	for (struct sjob *j = head; j; j = (struct sjob *)j->job.next)
		j->g->settle_deferred = false;
	s->deferred = s->deferred_tail = NULL;
	s->n_deferred = 0;
	return head ? &head->job : NULL;
}

/* Queues j for the writer, behind the held-back settles: all go into the
 * same transaction (so a submit's sync covers them too). */
static void sjob_queue(struct store *s, struct sjob *j)
{
	struct sjob *tail;
	struct store_job *head = take_deferred(s, &tail);

	j->job.next = NULL;
	if (head)
		tail->job.next = &j->job;
	else
		head = &j->job;
	store_writer_queue(s->w, head);
}

/* Queues the held-back settles alone (the flush timer, a `wait`). */
static void flush_deferred(struct store *s)
{
	struct sjob *tail;
	struct store_job *head = take_deferred(s, &tail);

	if (head)
		store_writer_queue(s->w, head);
}

static void flush_timer_arm(struct store *s)
{
	if (!s->timer_active) {
		ev_timer_set(&s->flush_timer, s->d->cfg.journal_flush_ms / 1000., 0.);
		ev_timer_start(s->d->loop, &s->flush_timer);
		s->timer_active = true;
	}
}

/* Holds a settle (no sync asked for) back until the next job or the
 * flush timer: see struct store. */
static void sjob_defer(struct store *s, struct sjob *j)
{
	j->job.next = NULL;
	if (s->deferred_tail)
		s->deferred_tail->job.next = &j->job;
	else
		s->deferred = j;
	s->deferred_tail = j;
	j->g->settle_deferred = true;
	if (++s->n_deferred >= DEFERRED_MAX)
		flush_deferred(s);
	else
		flush_timer_arm(s);
}

/* Writer thread: the job's rows. */
static int sjob_apply(struct store_db *db, struct store_job *job)
{
	struct sjob *j = (struct sjob *)job;
	int r = 0;

	switch (j->kind) {
	case SJ_CREATE:
		return store_db_put_graph(db, &j->row, &j->seq);
	case SJ_NODES:
	case SJ_SETTLE:
		for (size_t i = 0; i < j->n_recs && r == 0; i++)
			r = store_db_put_node(db, j->seq, &j->recs[i]);
		if (r == 0 && j->kind == SJ_SETTLE)
			r = store_db_settle_graph(db, j->seq, j->state, j->finished, j->nodes_done,
						  j->disk_bytes);
		return r;
	case SJ_DELETE:
		return store_db_delete_graph(db, j->seq);
	}
	return -EINVAL;
}

/* Removes graphs/ID with the logs in it (everything in it is ours). */
static void remove_log_dir(int graphs_fd, const char *id)
{
	int dfd = openat(graphs_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir;
	struct dirent *de;

	if (dfd >= 0) {
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
	if (unlinkat(graphs_fd, id, AT_REMOVEDIR) < 0 && errno != ENOENT && errno != ENOTDIR)
		log_errno(LOG_WARNING, -errno, "cannot remove the log directory of graph %s", id);
}

/* Writer thread, after the commit: files beside the database. */
static void sjob_committed(struct store_job *job)
{
	struct sjob *j = (struct sjob *)job;

	/* A graph's log directory is made by its first job's first output
	 * byte (job-logfile.c), after its row was committed. */
	if (j->kind != SJ_DELETE)
		return;
	remove_log_dir(j->s->graphs_fd, j->id);
	/* Its Slurm jobs' scripts and output (docs/slurm.md "Turning it on"):
	 * set before the loop ran, so before any delete was queued. */
	if (j->s->slurm_spool)
		(void)slurm_spool_remove(j->s->slurm_spool, j->id);
}

static void retry_later(struct store *s, struct graph *g)
{
	if (!g->settle_retry) {
		g->settle_retry = true;
		g->retry_next = s->retry;
		s->retry = g;
	}
	if (!ev_is_active(&s->retry_timer)) {
		ev_timer_set(&s->retry_timer, SETTLE_RETRY_S, 0.);
		ev_timer_start(s->d->loop, &s->retry_timer);
	}
}

/* A submit that could not be stored.  Its client gets -32603 with the
 * cause, and the writer logs each kind of failure once; here one line a
 * second per errno, with the count of those left out, so that clients
 * retrying against a full or failing disk cannot flood the log. */
static void log_create_failure(struct store *s, const char *id, int r)
{
	double now = ev_now(s->d->loop);

	if (r == s->create_fail_errno && now - s->create_fail_logged < 1.0) {
		s->create_fail_quiet++;
		return;
	}
	if (s->create_fail_quiet)
		log_err("cannot store graph %s in %s (and %lu more since the last line): %s", id,
			s->db_path, s->create_fail_quiet, store_db_errtext(r));
	else
		log_err("cannot store graph %s in %s: %s", id, s->db_path, store_db_errtext(r));
	s->create_fail_errno = r;
	s->create_fail_logged = now;
	s->create_fail_quiet = 0;
}

/* Loop thread: the writer is done with j. */
static void sjob_done(struct store_job *job, int r)
{
	struct sjob *j = (struct sjob *)job;
	struct store *s = j->s;
	struct coopd *d = s->d;

	switch (j->kind) {
	case SJ_CREATE:
		if (r == 0)
			j->g->store_seq = j->seq;
		else
			log_create_failure(s, j->id, r);
		j->done(d, j->g, r, j->arg);
		break;
	case SJ_NODES:
		if (r < 0 && !j->g->store_failed) {
			/* Rewritten whole when it settles. */
			j->g->store_failed = true;
			log_err("graph %s: cannot write its node states (kept in memory, "
				"written again when it settles): %s",
				j->id, store_db_errtext(r));
		}
		if (j->done)
			j->done(d, j->g, r, j->arg);
		break;
	case SJ_SETTLE:
		if (r < 0) {
			/* Once per graph: a full disk must not flood the log. */
			if (!j->g->settle_failed)
				log_err("graph %s: cannot make its final state durable; "
					"retrying every second (wait is answered once it is): %s",
					j->id, store_db_errtext(r));
			j->g->store_failed = true;
			j->g->settle_failed = true;
			/* The callback waits for the retry. */
			j->g->settle_done = j->done;
			j->g->settle_arg = j->arg;
			retry_later(s, j->g);
			break;
		}
		if (j->g->settle_failed)
			log_notice("graph %s: its final state is durable now", j->id);
		j->g->settle_batch = j->job.batch;
		j->g->store_failed = j->g->settle_failed = false;
		j->done(d, j->g, r, j->arg);
		break;
	case SJ_DELETE:
		if (r < 0)
			log_err("cannot delete graph %s from %s: %s", j->id, s->db_path,
				store_db_errtext(r));
		if (j->id_done)
			j->id_done(d, j->id, r, j->arg);
		break;
	}
	sjob_free(j);
}

static struct sjob *sjob_new(struct store *s, enum sjob_kind kind, struct graph *g, bool durable)
{
	struct sjob *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->s = s;
	j->g = g;
	j->seq = g->store_seq;
	snprintf(j->id, sizeof(j->id), "%s", g->id);
	j->job.apply = sjob_apply;
	j->job.committed = sjob_committed;
	j->job.done = sjob_done;
	j->job.durable = durable;
	return j;
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

/* A small document is written once, into a buffer on the stack. */
#define DOC_SMALL 4096

struct small_out {
	char buf[DOC_SMALL];
	size_t len;
};

static int small_out(void *ctx, const char *p, size_t len)
{
	struct small_out *o = ctx;

	if (len > sizeof(o->buf) - o->len)
		return -E2BIG;
	memcpy(o->buf + o->len, p, len);
	o->len += len;
	return 0;
}

int store_doc_text(struct json_object *doc, char **text, size_t *len)
{
	struct small_out small = {.len = 0};
	struct strbuf sb;
	int r;

	/* The document as the client sent it (validated): parsing it again
	 * gives the same tree, and writing it is much cheaper than building a
	 * canonical copy of a 100,000-node graph first.  One exact
	 * allocation: a small document (most submits) is written once on
	 * the stack and copied; a larger one is measured first. */
	r = proto_graph_doc_write(doc, small_out, &small);
	if (r == 0) {
		if (!(*text = malloc(small.len + 1)))
			return -ENOMEM;
		memcpy(*text, small.buf, small.len);
		(*text)[small.len] = '\0';
		*len = small.len;
		return 0;
	}
	if (r != -E2BIG)
		return -ENOMEM;
	*len = 0;
	sb_init(&sb);
	if (proto_graph_doc_write(doc, count_out, len) < 0 || !sb_reserve_exact(&sb, *len + 1) ||
	    proto_graph_doc_write(doc, sb_out, &sb) < 0 || !(*text = sb_steal(&sb, len))) {
		sb_free(&sb);
		return -ENOMEM;
	}
	return 0;
}

int store_graph_create(struct store *s, struct graph *g, struct json_object *doc,
		       store_done_fn done, void *arg)
{
	char *text;
	size_t len;

	if (store_doc_text(doc, &text, &len) < 0)
		return -ENOMEM;
	return store_graph_create_text(s, g, text, len, done, arg);
}

int store_graph_create_text(struct store *s, struct graph *g, char *text, size_t len,
			    store_done_fn done, void *arg)
{
	struct sjob *j = sjob_new(s, SJ_CREATE, g, true);

	if (!j || !(j->name = strdup(g->def->name ? g->def->name : ""))) {
		free(text);
		if (j)
			sjob_free(j);
		return -ENOMEM;
	}
	j->doc = text;
	j->row = (struct store_graph_row){
		.id = j->id,
		.name = j->name,
		.uid = g->uid,
		.gid = g->gid,
		.created = g->created_ms,
		.finished = -1,
		.state = PROTO_STATE_PENDING,
		.nodes_total = g->n_nodes,
		.doc = j->doc,
		.doc_len = len,
	};
	g->disk_bytes = len;
	j->done = done;
	j->arg = arg;
	sjob_queue(s, j);
	return 0;
}

/* The attempts of a node with retries as the nodes.attempts column:
 * {"started": N, "done": N, "at": [{st, ft, x, sg, v, e, to}, ...]}, the
 * current attempt's start only (its result is the node's row). */
static char *attempts_text(const struct rnode *n)
{
	unsigned begun = n->att_started > n->att_done ? n->att_started : n->att_done;
	struct strbuf sb;

	sb_init(&sb);
	sb_printf(&sb, "{\"started\":%u,\"done\":%u,\"at\":[", n->att_started, n->att_done);
	for (unsigned i = 0; i < begun; i++) {
		const struct node_attempt *a = &n->attempts[i];

		sb_printf(&sb, "%s{\"st\":%lld", i ? "," : "", (long long)a->started_ms);
		if (i < n->att_done) {
			sb_printf(&sb, ",\"ft\":%lld,\"x\":%d,\"sg\":%d,\"to\":%d",
				  (long long)a->finished_ms, a->exit_code, a->term_signal,
				  a->timed_out);
			if (a->has_value)
				sb_printf(&sb, ",\"v\":%lld", (long long)a->value);
			if (a->error) {
				sb_puts(&sb, ",\"e\":");
				sb_json_cstr(&sb, a->error);
			}
		}
		sb_putc(&sb, '}');
	}
	sb_puts(&sb, "]}");
	return sb_steal(&sb, NULL);
}

static int64_t att_int(struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

/* Reads attempts_text() back into n (a damaged text is ignored). */
static void attempts_load(struct rnode *n, const char *text)
{
	struct json_object *o = json_tokener_parse(text), *at, *e;
	size_t len;

	if (!o || !json_object_object_get_ex(o, "at", &at) ||
	    !json_object_is_type(at, json_type_array) || graph_attempts_alloc(n) < 0 ||
	    !n->attempts) {
		json_object_put(o);
		return;
	}
	len = json_object_array_length(at);
	if (len > (size_t)n->def->retries + 1)
		len = (size_t)n->def->retries + 1;
	for (size_t i = 0; i < len; i++) {
		struct json_object *x = json_object_array_get_idx(at, i);
		struct node_attempt *a = &n->attempts[i];

		a->started_ms = att_int(x, "st", -1);
		a->finished_ms = att_int(x, "ft", -1);
		a->exit_code = (int)att_int(x, "x", -1);
		a->term_signal = (int)att_int(x, "sg", 0);
		a->timed_out = att_int(x, "to", 0) != 0;
		a->has_value = json_object_object_get_ex(x, "v", NULL);
		a->value = att_int(x, "v", 0);
		free(a->error);
		a->error = json_object_object_get_ex(x, "e", &e) &&
					   json_object_is_type(e, json_type_string)
				   ? strdup(json_object_get_string(e))
				   : NULL;
	}
	n->att_started =
		(uint8_t)(att_int(o, "started", 0) < (int64_t)len ? att_int(o, "started", 0)
								  : (int64_t)len);
	n->att_done = (uint8_t)(att_int(o, "done", 0) < (int64_t)len ? att_int(o, "done", 0)
								     : (int64_t)len);
	json_object_put(o);
}

static int rec_of(struct store_rec *r, const struct rnode *n)
{
	*r = (struct store_rec){
		.idx = n->idx,
		.state = n->state,
		.cancel_reason = n->cancel_reason,
		.has_value = n->has_value,
		.started = n->started_ms,
		.finished = n->finished_ms,
		.cancel_requested = n->cancel_requested_ms,
		.cancel_ack = n->cancel_ack_ms,
		.polls = n->polls,
		.forced_yields = n->forced_yields,
		.value = n->value,
		.exit_code = n->exit_code,
		.term_signal = n->term_signal,
		.pgid = n->pgid,
		.pg_start = n->pg_start,
		.leftovers = n->leftovers,
		.log_dropped = {n->log_dropped[0], n->log_dropped[1]},
		.reused = n->reused,
	};
	if (n->slurm) {
		r->slurm_job_id = n->slurm->job_id;
		snprintf(r->slurm_state, sizeof(r->slurm_state), "%s", n->slurm->state);
	}
	if ((n->error && !(r->error = strdup(n->error))) ||
	    (n->cancel_note && !(r->cancel_note = strdup(n->cancel_note))) ||
	    (n->attempts && !(r->attempts = attempts_text(n)))) {
		store_rec_clear(r);
		return -ENOMEM;
	}
	return 0;
}

/* Takes g's dirty nodes (all of them if all) into j's records. */
static int take_dirty(struct graph *g, struct sjob *j, bool all)
{
	size_t n = all ? g->n_nodes + 1 : g->n_dirty;

	if (n == 0)
		return 0;
	j->recs = calloc(n, sizeof(*j->recs));
	if (!j->recs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct rnode *node = g->by_idx[all ? i : g->dirty[i]];

		if (rec_of(&j->recs[j->n_recs], node) < 0)
			return -ENOMEM;
		j->n_recs++;
	}
	for (size_t i = 0; i < g->n_dirty; i++)
		g->dirty_bits[g->dirty[i] / 64] &= ~(1ull << (g->dirty[i] % 64));
	g->n_dirty = 0;
	return 0;
}

static void flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	store_flush_all(w->data);
}

/* Queues the dirty nodes of g (no sync). */
static void flush_graph(struct store *s, struct graph *g)
{
	struct sjob *j;

	if (g->n_dirty == 0 || g->store_seq == 0)
		return;
	j = sjob_new(s, SJ_NODES, g, false);
	if (!j || take_dirty(g, j, false) < 0) {
		log_err("graph %s: out of memory writing its node states; written when it "
			"settles",
			g->id);
		g->store_failed = true;
		if (j)
			sjob_free(j);
		return;
	}
	sjob_queue(s, j);
}

void store_flush_all(struct store *s)
{
	struct graph *g;

	if (!s)
		return;
	if (s->timer_active) {
		ev_timer_stop(s->d->loop, &s->flush_timer);
		s->timer_active = false;
	}
	while ((g = s->queue)) {
		s->queue = g->dirty_next;
		g->dirty_queued = false;
		if (s->w)
			flush_graph(s, g);
	}
	if (s->w)
		flush_deferred(s);
}

/* Nodes a graph has dirty before they are queued without waiting for the
 * flush timer: a burst (100,000 nodes settling at once) goes out in
 * pieces. */
#define DIRTY_MAX 4096u

/* Marks n dirty; false if out of memory. */
static bool mark_dirty(struct graph *g, const struct rnode *n)
{
	if (!g->dirty_bits) {
		g->dirty_bits = calloc(g->n_nodes / 64 + 1, sizeof(*g->dirty_bits));
		if (!g->dirty_bits)
			return false;
	}
	if (g->dirty_bits[n->idx / 64] & (1ull << (n->idx % 64)))
		return true;
	if (g->n_dirty == g->dirty_cap) {
		size_t cap = g->dirty_cap ? 2 * g->dirty_cap : 16;
		uint32_t *v = realloc(g->dirty, cap * sizeof(*v));

		if (!v)
			return false;
		g->dirty = v;
		g->dirty_cap = cap;
	}
	g->dirty[g->n_dirty++] = n->idx;
	g->dirty_bits[n->idx / 64] |= 1ull << (n->idx % 64);
	return true;
}

void store_journal_node(struct store *s, const struct rnode *n)
{
	struct graph *g = n->g;

	if (!s || !s->w || g->store_seq == 0)
		return;
	if (!mark_dirty(g, n)) {
		g->store_failed = true;
		return;
	}
	/* Where to find a job's processes after a crash must reach the
	 * database (the WAL in the page cache; a coopd crash does not lose
	 * it) soon: spawn records go out at once.  Not needed with a cgroup
	 * per job: the next start kills every job cgroup that a crashed coopd
	 * left (job-cgroup.h). */
	if ((n->pgid > 0 && n->state == PROTO_STATE_RUNNING && !s->cgroups) ||
	    g->n_dirty >= DIRTY_MAX) {
		flush_graph(s, g);
		return;
	}
	if (!g->dirty_queued) {
		g->dirty_queued = true;
		g->dirty_next = s->queue;
		s->queue = g;
	}
	flush_timer_arm(s);
}

int store_node_durable(struct store *s, struct rnode *n, store_done_fn done, void *arg)
{
	struct sjob *j = sjob_new(s, SJ_NODES, n->g, true);

	if (!j)
		return -ENOMEM;
	j->recs = calloc(1, sizeof(*j->recs));
	if (!j->recs || rec_of(&j->recs[0], n) < 0) {
		sjob_free(j);
		return -ENOMEM;
	}
	j->n_recs = 1;
	j->done = done;
	j->arg = arg;
	sjob_queue(s, j);
	return 0;
}

/* Takes g off the flush queue. */
static void dirty_unqueue(struct store *s, struct graph *g)
{
	struct graph **pp;

	if (g->dirty_queued) {
		for (pp = &s->queue; *pp; pp = &(*pp)->dirty_next) {
			if (*pp == g) {
				*pp = g->dirty_next;
				break;
			}
		}
		g->dirty_queued = false;
	}
}

int store_graph_settled_async(struct store *s, struct graph *g, bool durable, store_done_fn done,
			      void *arg)
{
	struct sjob *j;
	size_t done_nodes = 0;

	if (!s->w || g->store_seq == 0)
		return -EINVAL;
	g->settle_durable = durable;
	j = sjob_new(s, SJ_SETTLE, g, durable);
	if (!j)
		return -ENOMEM;
	dirty_unqueue(s, g);
	if (take_dirty(g, j, g->store_failed) < 0) {
		sjob_free(j);
		return -ENOMEM;
	}
	for (int st = 0; st < PROTO_STATE__MAX; st++)
		if (proto_state_is_final((enum proto_state)st))
			done_nodes += g->counts[st];
	j->state = g->root->state;
	j->finished = g->root->finished_ms >= 0 ? g->root->finished_ms : graph_now_ms();
	j->nodes_done = done_nodes;
	j->disk_bytes = g->disk_bytes;
	j->done = done;
	j->arg = arg;
	free(g->dirty);
	free(g->dirty_bits);
	g->dirty = NULL;
	g->dirty_bits = NULL;
	g->n_dirty = g->dirty_cap = 0;
	/* Nobody waits for it: it rides with the next commit (a submit's, a
	 * timer's flush), within journal_flush_ms as node states do.  During
	 * shutdown it goes at once, so that the daemon stops as soon as it
	 * is written. */
	if (!durable && s->d->cfg.journal_flush_ms > 0 && !s->d->shutting_down)
		sjob_defer(s, j);
	else
		sjob_queue(s, j);
	return 0;
}

void store_graph_hurry(struct store *s, struct graph *g)
{
	if (!s || !g->settle_deferred)
		return;
	for (struct sjob *j = s->deferred; j; j = (struct sjob *)j->job.next) {
		if (j->g == g) {
			j->job.durable = true;
			g->settle_durable = true;
			break;
		}
	}
	flush_deferred(s);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct store *s = w->data;
	struct graph *g, *list = s->retry;

	s->retry = NULL;
	while ((g = list)) {
		list = g->retry_next;
		g->settle_retry = false;
		if (store_graph_settled_async(s, g, g->settle_durable, g->settle_done,
					      g->settle_arg) < 0)
			retry_later(s, g);
	}
}

int store_graph_delete(struct store *s, struct graph *g, store_id_done_fn done, void *arg)
{
	struct sjob *j;

	if (!s->w)
		return -ESHUTDOWN;
	j = sjob_new(s, SJ_DELETE, g, true);
	if (!j)
		return -ENOMEM;
	dirty_unqueue(s, g);
	if (g->settle_retry) {
		struct graph **pp;

		for (pp = &s->retry; *pp; pp = &(*pp)->retry_next) {
			if (*pp == g) {
				*pp = g->retry_next;
				break;
			}
		}
		g->settle_retry = false;
	}
	/* Nothing in the job points at g any more. */
	j->g = NULL;
	j->id_done = done;
	j->arg = arg;
	sjob_queue(s, j);
	return 0;
}

bool store_graph_durable(const struct store *s, const struct graph *g)
{
	return g->settle_batch != 0 && g->settle_batch <= store_writer_synced_through(s->w);
}

/* Graph events (graph-registry.h). */
static void store_on_node(struct coopd *d, struct rnode *n, bool visible, void *arg)
{
	store_journal_node(d->store, n);
}

static void store_settle_synced(struct coopd *d, struct graph *g, int r, void *arg)
{
	/* Settled without a sync (nobody was waiting), and a `wait` came
	 * meanwhile: its answer needs the final state on disk. */
	if (g->waiters && !store_graph_durable(d->store, g) &&
	    store_graph_settled_async(d->store, g, true, store_settle_synced, NULL) == 0)
		return;
	g->syncing = false;
	graph_registry_release(d, g);
}

static void store_on_ended(struct coopd *d, struct graph *g, void *arg)
{
	/* `wait` is answered once the final state is on disk: a result a
	 * client has seen survives a crash.  The sync runs on the writer, and
	 * only when someone waits (else a later synced commit covers it, or
	 * a `wait` that comes later asks for one: method-wait.c). */
	graph_registry_hold(g);
	g->syncing = true;
	if (store_graph_settled_async(d->store, g, g->waiters != NULL, store_settle_synced, NULL) <
	    0) {
		log_err("graph %s: out of memory storing its final state; it comes back "
			"interrupted after a restart",
			g->id);
		store_settle_synced(d, g, 0, NULL);
	}
}

int store_subscribe(struct coopd *d)
{
	struct graph_observer o = {.node_changed = store_on_node, .graph_ended = store_on_ended};

	return graph_registry_subscribe(d, &o);
}

int store_read_doc(struct store *s, const char *id, char **doc, size_t *len)
{
	if (!s->rdb)
		return -ESHUTDOWN;
	return store_db_read_doc(s->rdb, id, doc, len);
}

/* Reads graph seq's tree back: its document parsed again, its node rows
 * applied.  Returns the new graph (not registered) or a negative errno. */
static int read_tree(struct store *s, const char *id, int64_t seq, uid_t uid, gid_t gid,
		     int64_t created, struct graph **ret, const char **why);
static int read_tree_db(struct store_db *db, const struct proto_limits *limits, struct coopd *d,
			const char *id, int64_t seq, uid_t uid, gid_t gid, int64_t created,
			struct graph **ret, const char **why);

/* A tree read back on the reader thread: the job owns copies of all it
 * reads (the limits too: a reload may change them meanwhile); g stays on
 * the loop, pinned until the job is done. */
struct hydrate_job {
	struct store_read job; /* first: the reader hands it back */
	struct store *s;
	struct graph *g;
	void (*done)(struct coopd *d, struct graph *g, int r);
	char id[GRAPH_ID_LEN + 1];
	int64_t seq, created;
	uid_t uid;
	gid_t gid;
	struct proto_limits limits;
	struct graph *tree;
	const char *why;
};

static void hydrate_run(struct store_db *db, struct store_read *job)
{
	struct hydrate_job *j = (struct hydrate_job *)job;

	job->r = read_tree_db(db, &j->limits, j->s->d, j->id, j->seq, j->uid, j->gid, j->created,
			      &j->tree, &j->why);
}

static void hydrate_done(struct store_read *job, int r)
{
	struct hydrate_job *j = (struct hydrate_job *)job;
	struct store *s = j->s;
	struct graph *g = j->g;
	void (*done)(struct coopd * d, struct graph * g, int r) = j->done;

	g->hydrating = false;
	if (r < 0) {
		log_err("cannot read graph %s back from %s%s%s: %s", g->id, s->db_path,
			j->why ? ": " : "", j->why ? j->why : "", store_db_errtext(r));
	} else if (g->released && !g->forgotten) {
		graph_adopt_tree(g, j->tree);
	} else {
		graph_free(j->tree);
	}
	free(j);
	/* The requests that waited for it run again, now with the tree. */
	if (done)
		done(s->d, g, r);
	graph_unpin(g);
}

int store_graph_hydrate_async(struct store *s, struct graph *g, uid_t by,
			      void (*done)(struct coopd *d, struct graph *g, int r))
{
	struct hydrate_job *j;

	if (!g->released || g->hydrating)
		return 0;
	if (!s->rd)
		return -ENOTSUP;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->job.run = hydrate_run;
	j->job.done = hydrate_done;
	j->job.uid = by;
	j->s = s;
	j->g = g;
	j->done = done;
	snprintf(j->id, sizeof(j->id), "%s", g->id);
	j->seq = g->store_seq;
	j->created = g->created_ms;
	j->uid = g->uid;
	j->gid = g->gid;
	j->limits = s->d->cfg.limits;
	g->pins++;
	g->hydrating = true;
	store_reader_queue(s->rd, &j->job);
	return 1;
}

bool store_reads_off_loop(const struct store *s)
{
	return s && s->rd;
}

size_t store_reads_pending(const struct store *s)
{
	return s ? store_reader_pending(s->rd) : 0;
}

int store_read_queue(struct store *s, struct store_read *job)
{
	if (!s || !s->rd)
		return -ENOTSUP;
	store_reader_queue(s->rd, job);
	return 0;
}

int store_graph_hydrate(struct store *s, struct graph *g)
{
	struct graph *t;
	const char *why = NULL;
	int r;

	if (!g->released)
		return 0;
	if (!s->rdb)
		return -ESHUTDOWN;
	r = read_tree(s, g->id, g->store_seq, g->uid, g->gid, g->created_ms, &t, &why);
	if (r < 0) {
		log_err("cannot read graph %s back from %s%s%s: %s", g->id, s->db_path,
			why ? ": " : "", why ? why : "", store_db_errtext(r));
		return r;
	}
	graph_adopt_tree(g, t);
	return 0;
}

int store_graph_counts(struct store *s, struct graph *g)
{
	uint64_t rows[PROTO_STATE__MAX], sum = 0;
	int r;

	if (g->counts_known)
		return 0;
	if (!s->rdb)
		return -ESHUTDOWN;
	r = store_db_count_states(s->rdb, g->store_seq, g->n_nodes, rows, PROTO_STATE__MAX);
	if (r < 0) {
		log_err("cannot count the nodes of graph %s in %s: %s", g->id, s->db_path,
			store_db_errtext(r));
		return r;
	}
	for (int st = 0; st < PROTO_STATE__MAX; st++) {
		g->counts[st] = (uint32_t)rows[st];
		sum += rows[st];
	}
	/* Nodes without a row never changed state: graph_new makes them
	 * pending, so does this. */
	g->counts[PROTO_STATE_PENDING] +=
		(uint32_t)(g->n_nodes - (sum < g->n_nodes ? sum : g->n_nodes));
	g->counts_known = true;
	return 0;
}

/* Node rows onto a tree: read back, and loading (store-load.c). */
static int load_node(void *ctx, const struct store_rec *r)
{
	struct graph *g = ctx;
	struct rnode *n;

	if (r->idx > g->n_nodes)
		return 0;
	n = g->by_idx[r->idx];
	graph_node_set_state(n, (enum proto_state)r->state);
	n->started_ms = r->started;
	n->finished_ms = r->finished;
	n->cancel_reason = r->cancel_reason;
	n->cancel_requested_ms = r->cancel_requested;
	n->cancel_ack_ms = r->cancel_ack;
	n->polls = r->polls;
	n->forced_yields = r->forced_yields;
	n->has_value = r->has_value;
	n->value = r->value;
	n->exit_code = r->exit_code;
	n->term_signal = r->term_signal;
	n->pgid = r->pgid;
	n->pg_start = r->pg_start;
	n->leftovers = r->leftovers;
	n->log_dropped[0] = r->log_dropped[0];
	n->log_dropped[1] = r->log_dropped[1];
	free(n->error);
	n->error = r->error ? strdup(r->error) : NULL;
	free(n->cancel_note);
	n->cancel_note = r->cancel_note ? strdup(r->cancel_note) : NULL;
	n->reused = r->reused;
	if (r->attempts)
		attempts_load(n, r->attempts);
	if (r->slurm_job_id && (n->slurm || (n->slurm = calloc(1, sizeof(*n->slurm))))) {
		n->slurm->job_id = r->slurm_job_id;
		snprintf(n->slurm->state, sizeof(n->slurm->state), "%s", r->slurm_state);
	}
	return 0;
}

static int read_tree(struct store *s, const char *id, int64_t seq, uid_t uid, gid_t gid,
		     int64_t created, struct graph **ret, const char **why)
{
	return read_tree_db(s->rdb, &s->d->cfg.limits, s->d, id, seq, uid, gid, created, ret, why);
}

/* Builds graph seq's tree from its document (doc, len) and applies its
 * node rows.  Any thread, with its own connection db: touches nothing but
 * db and the new graph (and reads limits).  -EBADMSG (err says why) if
 * the document does not parse. */
static int tree_of_doc(struct store_db *db, const struct proto_limits *limits, struct coopd *d,
		       const char *id, int64_t seq, uid_t uid, gid_t gid, int64_t created,
		       const char *doc, size_t len, struct graph **ret, struct proto_error *err)
{
	struct proto_limits lim = *limits;
	struct proto_graph *def = NULL;
	struct graph *g = NULL;
	int r;

	/* Accepted once: an env name reserved since then (coopd.graph(5),
	 * COOPD_JOB) does not make a graph of an older coopd damaged. */
	lim.stored = true;
	r = proto_graph_parse_text(doc, len, &lim, &def, err);
	if (r < 0)
		return -EBADMSG;
	if (graph_new(def, id, uid, gid, created, &g) < 0) {
		proto_graph_free(def);
		return -ENOMEM;
	}
	g->d = d;
	g->loaded = true;
	g->store_seq = seq;
	r = store_db_each_node(db, seq, load_node, g);
	if (r < 0) {
		graph_free(g);
		return r;
	}
	*ret = g;
	return 0;
}

/* Any thread, with its own connection db: touches nothing but db and the
 * new graph (and reads limits). */
static int read_tree_db(struct store_db *db, const struct proto_limits *limits, struct coopd *d,
			const char *id, int64_t seq, uid_t uid, gid_t gid, int64_t created,
			struct graph **ret, const char **why)
{
	struct proto_error err;
	char *doc = NULL;
	size_t len = 0;
	int r;

	r = store_db_read_doc(db, id, &doc, &len);
	if (r < 0)
		return r;
	r = tree_of_doc(db, limits, d, id, seq, uid, gid, created, doc, len, ret, &err);
	free(doc);
	if (r == -EBADMSG)
		*why = "its document does not parse";
	return r;
}

/* Loading at start-up (store-load.c): the rows, a tree, the record of an
 * interrupted graph. */
int store_each_graph(struct store *s, store_graph_row_fn fn, void *ctx)
{
	int r = store_db_each_graph(s->rdb, false, fn, ctx);

	if (r < 0)
		log_err("cannot read the state database %s: %s: %s", s->db_path,
			store_db_errmsg(s->rdb), store_db_errtext(r));
	return r;
}

const char *store_db_file(const struct store *s)
{
	return s->db_path;
}

int store_graph_of_row(struct store *s, const struct store_graph_row *row, struct graph **ret,
		       struct proto_error *err)
{
	return tree_of_doc(s->rdb, &s->d->cfg.limits, s->d, row->id, row->seq, row->uid, row->gid,
			   row->created, row->doc, row->doc_len, ret, err);
}

void store_mark_node(const struct rnode *n)
{
	(void)mark_dirty(n->g, n);
}

static void loaded_synced(struct coopd *d, struct graph *g, int r, void *arg)
{
	g->syncing = false;
	if (d->store->hooks.loaded_settled)
		d->store->hooks.loaded_settled(d, g);
}

void store_graph_interrupted(struct store *s, struct graph *g)
{
	g->syncing = true;
	if (store_graph_settled_async(s, g, true, loaded_synced, NULL) < 0)
		g->syncing = false;
}
