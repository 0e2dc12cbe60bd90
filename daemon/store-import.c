/*
 * store-import.c - the one-time upgrade of a state directory written before
 * coopd.db existed (docs/durability.md, "Upgrading from the directory
 * format").
 *
 * Then, every graph was a directory graphs/ID holding graph.json
 * ({"format":1, "id", "uid", "gid", "created", "graph": document}), an
 * append-only journal of node records (one JSON object a line, the last
 * record of a node winning, a torn last line possible) and its logs.  All
 * of them go into the database in one transaction; only after it has
 * committed are graph.json and journal moved to imported/ (kept for the
 * operator; coopd never reads them again), the logs staying in graphs/ID,
 * which is where the new format keeps them too.  A crash before the move
 * repeats it on the next start: graphs already in the database are not
 * inserted twice.  A meta row `old_format_imported` ends the walk for good.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto-graph.h"
#include "proto-rpc.h"
#include "store-db.h"
#include "store-import.h"
#include "util-log.h"
#include "util-strbuf.h"

#define OLD_FILE_MAX (1ull << 31)
#define META_IMPORTED "old_format_imported"

/* Reads a whole file below dfd (never through a symlink) into a
 * NUL-terminated buffer. */
static int read_at(int dfd, const char *name, char **ret, size_t *ret_len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t len = 0;
	char *buf;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > OLD_FILE_MAX) {
		r = -EFBIG;
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

/* One old journal record as a node row; false if it makes no sense. */
static bool old_record(struct json_object *o, size_t n_nodes, struct store_rec *r)
{
	int64_t i = jint(o, "i", -1);
	const char *s = jstr(o, "s");
	int state = s ? proto_state_from_name(s) : -1;
	struct json_object *ld;

	if (i < 0 || (uint64_t)i > n_nodes || state < 0)
		return false;
	*r = (struct store_rec){
		.idx = (uint32_t)i,
		.state = (uint8_t)state,
		.started = jint(o, "st", -1),
		.finished = jint(o, "ft", -1),
		.cancel_reason = (int8_t)jint(o, "cr", -1),
		.cancel_requested = jint(o, "cq", -1),
		.cancel_ack = jint(o, "ca", -1),
		.polls = (uint64_t)jint(o, "p", 0),
		.forced_yields = (uint64_t)jint(o, "y", 0),
		.has_value = json_object_object_get_ex(o, "v", NULL),
		.value = jint(o, "v", 0),
		.exit_code = (int)jint(o, "x", -1),
		.term_signal = (int)jint(o, "sg", 0),
		.pgid = (int)jint(o, "pg", 0),
		.pg_start = (uint64_t)jint(o, "pt", 0),
		.leftovers = (uint32_t)jint(o, "lo", 0),
		.error = (char *)jstr(o, "e"),
		.cancel_note = (char *)jstr(o, "n"),
	};
	if (json_object_object_get_ex(o, "ld", &ld) && json_object_is_type(ld, json_type_array) &&
	    json_object_array_length(ld) == 2)
		for (int k = 0; k < 2; k++)
			r->log_dropped[k] =
				(uint64_t)json_object_get_int64(json_object_array_get_idx(ld, k));
	return true;
}

static int sb_out(void *ctx, const char *p, size_t len)
{
	sb_put(ctx, p, len);
	return ((struct strbuf *)ctx)->oom ? -ENOMEM : 0;
}

/* Inserts the journal's records of graph seq; fills the final state. */
static int import_journal(struct store_db *db, int dfd, int64_t seq, size_t n_nodes, const char *id,
			  struct store_graph_row *row)
{
	char *buf = NULL, *p, *nl;
	size_t len;
	unsigned bad = 0;
	uint8_t *state = calloc(n_nodes + 1, 1);
	int r = 0;

	if (!state)
		return -ENOMEM;
	row->state = PROTO_STATE_PENDING;
	row->finished = -1;
	if (read_at(dfd, "journal", &buf, &len) < 0)
		len = 0;
	for (p = buf; r == 0 && p && p < buf + len; p = nl + 1) {
		struct json_object *o;
		struct store_rec rec;

		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl) {
			bad++; /* a torn last record: the write never completed */
			break;
		}
		*nl = '\0';
		o = json_tokener_parse(p);
		if (o && old_record(o, n_nodes, &rec)) {
			/* The last record of a node wins: a replace. */
			r = store_db_put_node(db, seq, &rec);
			state[rec.idx] = rec.state;
			if (rec.idx == 0) {
				row->state = rec.state;
				row->finished = rec.finished;
			}
		} else {
			bad++;
		}
		json_object_put(o);
	}
	if (bad)
		log_warn("importing graph %s: %u damaged journal record(s) ignored", id, bad);
	row->nodes_done = 0;
	for (size_t i = 1; i <= n_nodes; i++)
		if (proto_state_is_final((enum proto_state)state[i]))
			row->nodes_done++;
	/* Not settled: the row stays unfinished, and loading it reports the
	 * graph `interrupted` like any graph that ran when coopd stopped. */
	if (r == 0 && proto_state_is_final((enum proto_state)row->state))
		r = store_db_set_graph_state(db, seq, row->state,
					     row->finished >= 0 ? row->finished : row->created,
					     row->nodes_done);
	free(state);
	free(buf);
	return r;
}

static void move_damaged(const char *dir, const char *name, const char *why)
{
	char from[4096], to[4096];
	long long now = 0;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(from, sizeof(from), "%s/graphs/%s", dir, name);
	snprintf(to, sizeof(to), "%s/damaged", dir);
	(void)mkdir(to, 0700);
	snprintf(to, sizeof(to), "%s/damaged/%s.%lld", dir, name, now);
	log_err("state of graph %s is damaged (%s); moved to %s", name, why, to);
	if (rename(from, to) < 0)
		log_errno(LOG_ERR, -errno, "cannot move %s aside", from);
}

/* Imports graphs/name; 1 if it was imported (or was already), 0 if it is
 * not an old graph directory, or a negative errno (database). */
static int import_one(struct store_db *db, const char *dir, int graphs_fd, const char *name,
		      const struct proto_limits *limits)
{
	struct json_tokener *tok = NULL;
	struct json_object *wrap = NULL, *gdoc;
	struct proto_graph *def = NULL;
	/* An old coopd's graph, accepted then (proto_limits.stored). */
	struct proto_limits stored = *limits;
	struct proto_error err;
	struct store_graph_row row;
	struct strbuf sb;
	char *text = NULL;
	size_t len;
	int64_t seq;
	int dfd, r;
	const char *id;

	stored.stored = true;
	dfd = openat(graphs_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	r = read_at(dfd, "graph.json", &text, &len);
	if (r == -ENOENT) {
		/* A log directory of the new format, or a submit of the old
		 * one that never completed (graph.json.tmp, no answer): the
		 * latter is removed as the old code did. */
		if (faccessat(dfd, "graph.json.tmp", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			(void)unlinkat(dfd, "graph.json.tmp", 0);
			(void)unlinkat(dfd, "journal", 0);
			(void)unlinkat(graphs_fd, name, AT_REMOVEDIR);
		}
		close(dfd);
		return 0;
	}
	r = store_db_has_graph(db, name);
	if (r != 0)
		goto out; /* 1: imported before a crash; < 0: database error */
	if (!text) {
		move_damaged(dir, name, "graph.json unreadable");
		goto out;
	}
	tok = json_tokener_new_ex((int)limits->max_json_depth + 8);
	if (!tok) {
		r = -ENOMEM;
		goto out;
	}
	wrap = json_tokener_parse_ex(tok, text, (int)len);
	if (!wrap || !json_object_is_type(wrap, json_type_object) ||
	    !json_object_object_get_ex(wrap, "graph", &gdoc) || !(id = jstr(wrap, "id")) ||
	    strcmp(id, name) != 0) {
		move_damaged(dir, name, "graph.json unreadable");
		goto out;
	}
	if (proto_graph_parse(gdoc, &stored, &def, &err) < 0) {
		move_damaged(dir, name, err.reason);
		goto out;
	}
	sb_init(&sb);
	if (proto_graph_doc_write(gdoc, sb_out, &sb) < 0 || sb.oom) {
		sb_free(&sb);
		r = -ENOMEM;
		goto out;
	}
	row = (struct store_graph_row){
		.id = name,
		.name = def->name,
		.uid = (uid_t)jint(wrap, "uid", 0),
		.gid = (gid_t)jint(wrap, "gid", 0),
		.created = jint(wrap, "created", 0),
		.finished = -1,
		.state = PROTO_STATE_PENDING,
		.nodes_total = def->n_nodes,
		.doc = sb.buf,
		.doc_len = sb.len,
	};
	r = store_db_put_graph(db, &row, &seq);
	/* For retention_bytes: the document (its logs were not counted as
	 * they were written; docs/durability.md, "Retention"). */
	if (r == 0)
		r = store_db_set_graph_bytes(db, seq, sb.len);
	if (r == 0)
		r = import_journal(db, dfd, seq, def->n_nodes, name, &row);
	sb_free(&sb);
	if (r == 0)
		r = 1;
out:
	proto_graph_free(def);
	json_object_put(wrap);
	if (tok)
		json_tokener_free(tok);
	free(text);
	close(dfd);
	return r;
}

/* After the commit: graph.json and journal of graphs/name to imported/. */
static void put_aside(int state_fd, int graphs_fd, const char *name)
{
	static const char *const files[] = {"graph.json", "journal"};
	char to[256];
	int dfd = openat(graphs_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0)
		return;
	for (int i = 0; i < 2; i++) {
		snprintf(to, sizeof(to), "imported/%s.%s", name, files[i]);
		if (renameat(dfd, files[i], state_fd, to) < 0 && errno != ENOENT)
			log_errno(LOG_WARNING, -errno, "cannot move graphs/%s/%s aside", name,
				  files[i]);
	}
	close(dfd);
}

int store_import(struct store_db *db, const char *dir, int graphs_fd,
		 const struct proto_limits *limits, bool sync)
{
	char **names = NULL;
	size_t n = 0, cap = 0, imported = 0;
	struct dirent *de;
	int64_t done;
	DIR *d;
	int fd, state_fd = -1, r;

	if (store_db_meta_get(db, META_IMPORTED, &done) == 0)
		return 0;
	fd = fcntl(graphs_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return log_errno(LOG_ERR, -errno, "cannot read %s/graphs", dir);
	}
	if ((r = store_db_begin(db, true, sync)) < 0)
		goto out;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !proto_id_valid(de->d_name, strlen(de->d_name)))
			continue;
		r = import_one(db, dir, graphs_fd, de->d_name, limits);
		if (r < 0)
			goto out;
		if (r == 0)
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*v));

			if (!v) {
				r = -ENOMEM;
				goto out;
			}
			names = v;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if ((r = store_db_commit(db)) < 0)
		goto out;
	imported = n;
	/* Committed: now the old files can go aside. */
	if (n) {
		state_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (state_fd >= 0) {
			if (mkdirat(state_fd, "imported", 0700) < 0 && errno != EEXIST)
				log_errno(LOG_WARNING, -errno, "cannot create %s/imported", dir);
			for (size_t i = 0; i < n; i++)
				put_aside(state_fd, graphs_fd, names[i]);
			close(state_fd);
		}
		log_notice("imported %zu graph(s) of the directory format into the database; "
			   "their graph.json and journal files are in %s/imported",
			   imported, dir);
	}
	/* Never walked again. */
	if ((r = store_db_begin(db, true, sync)) < 0 ||
	    (r = store_db_meta_set(db, META_IMPORTED, (int64_t)imported)) < 0 ||
	    (r = store_db_commit(db)) < 0)
		goto out;
out:
	if (r < 0) {
		store_db_rollback(db);
		log_err("cannot import the graphs of %s/graphs into the database: %s: %s", dir,
			store_db_errmsg(db), store_db_errtext(r));
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r < 0 ? r : 0;
}
