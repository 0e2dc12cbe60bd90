/*
 * store-db.c - the schema of STATE/coopd.db and the statements coopd runs
 * on it (docs/durability.md, "The database").
 *
 * Version 1 (PRAGMA user_version = 1):
 *
 *   graphs(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, owner_uid, owner_gid,
 *          name, state, created, finished, nodes_total, nodes_done, doc)
 *   nodes(graph = graphs.seq, idx, state, started, finished, exit_code,
 *         signal, value, error, cancel_reason, cancel_requested,
 *         cancel_ack, cancel_note, polls, forced_yields, pgid, pg_start,
 *         leftovers, log_dropped_out, log_dropped_err)
 *         PRIMARY KEY (graph, idx), WITHOUT ROWID
 *   meta(key TEXT PRIMARY KEY, value)
 *
 * Version 2 adds to nodes: attempts (TEXT, JSON: the attempts of a node
 * with retries, NULL for others) and reused (INTEGER, 1 for a node that a
 * `rerun` with failed_only did not run again).
 *
 * Version 3 adds to nodes: slurm_job_id and slurm_state (an exec node
 * placed on Slurm: its job id, made durable before the node runs, and the
 * job state Slurm last reported; docs/slurm.md).
 *
 * Version 4 adds to graphs: bytes, what a settled graph keeps on disk for
 * retention_bytes (its document and the log bytes coopd wrote), written
 * when it settles so that retention never walks the log files
 * (docs/durability.md, "Retention").  Rows of older versions get their
 * document's length.
 *
 * Version 5 drops the index graphs_by_owner(owner_uid, finished) of
 * version 1: no statement of coopd reads it (retention keeps each user's
 * history in memory, store-retention.c; start-up reads graphs in seq
 * order), and it cost every submit two pages of the WAL: the new row's
 * entry (finished NULL) and its move when the graph settled.
 *
 * Times are unix milliseconds, states their protocol names, so that an
 * operator's `sqlite3` query reads like `coopctl status`.  A node row holds
 * the node's latest reported state (the row is replaced, not appended).
 * Migrations only go forward: migrations[v] turns version v into v + 1,
 * each in its own transaction with the new user_version; a database of a
 * newer coopd is refused rather than guessed at.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto-rpc.h"
#include "store-db.h"
#include "store-vfs.h"

static const char *const migrations[STORE_DB_VERSION] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE graphs ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" owner_uid INTEGER NOT NULL,"
	" owner_gid INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" finished INTEGER,"
	" nodes_total INTEGER NOT NULL,"
	" nodes_done INTEGER NOT NULL,"
	" doc TEXT NOT NULL);"
	"CREATE INDEX graphs_by_owner ON graphs(owner_uid, finished);"
	"CREATE TABLE nodes ("
	" graph INTEGER NOT NULL,"
	" idx INTEGER NOT NULL,"
	" state TEXT NOT NULL,"
	" started INTEGER, finished INTEGER,"
	" exit_code INTEGER, signal INTEGER, value INTEGER, error TEXT,"
	" cancel_reason INTEGER, cancel_requested INTEGER, cancel_ack INTEGER,"
	" cancel_note TEXT,"
	" polls INTEGER NOT NULL DEFAULT 0, forced_yields INTEGER NOT NULL DEFAULT 0,"
	" pgid INTEGER, pg_start INTEGER, leftovers INTEGER,"
	" log_dropped_out INTEGER NOT NULL DEFAULT 0,"
	" log_dropped_err INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (graph, idx)) WITHOUT ROWID;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value);",
	/* 1 -> 2: retries and rerun (issue 17). */
	"ALTER TABLE nodes ADD COLUMN attempts TEXT;"
	"ALTER TABLE nodes ADD COLUMN reused INTEGER NOT NULL DEFAULT 0;",
	/* 2 -> 3: Slurm jobs of exec nodes (issue 16). */
	"ALTER TABLE nodes ADD COLUMN slurm_job_id INTEGER;"
	"ALTER TABLE nodes ADD COLUMN slurm_state TEXT;",
	/* 3 -> 4: bytes kept per graph, for retention_bytes (issue 14). */
	"ALTER TABLE graphs ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;"
	"UPDATE graphs SET bytes = length(CAST(doc AS BLOB));",
	/* 4 -> 5: an index nothing reads, written by every commit (above). */
	"DROP INDEX IF EXISTS graphs_by_owner;",
};

enum {
	ST_PUT_GRAPH,
	ST_PUT_NODE,
	ST_SET_STATE,
	ST_SET_BYTES,
	ST_SETTLE,
	ST_DEL_NODES,
	ST_DEL_GRAPH,
	ST_HAS_GRAPH,
	ST_EACH_GRAPH,
	ST_EACH_GRAPH_DOC,
	ST_EACH_NODE,
	ST_READ_DOC,
	ST_COUNT_STATES,
	ST_META_GET,
	ST_META_SET,
	ST_BEGIN,
	ST_COMMIT,
	ST__MAX
};

static const char *const stmt_sql[ST__MAX] = {
	[ST_PUT_GRAPH] = "INSERT INTO graphs (id, owner_uid, owner_gid, name, state, created,"
			 " finished, nodes_total, nodes_done, doc)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, 0, ?8)",
	[ST_PUT_NODE] = "INSERT OR REPLACE INTO nodes VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
			" ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,"
			" ?24)",
	[ST_SET_STATE] = "UPDATE graphs SET state = ?2, finished = ?3, nodes_done = ?4"
			 " WHERE seq = ?1",
	[ST_SET_BYTES] = "UPDATE graphs SET bytes = ?2 WHERE seq = ?1",
	/* A settle's row in one statement: every submit's commit carries
	 * one (store-state.c holds settles back for it). */
	[ST_SETTLE] = "UPDATE graphs SET state = ?2, finished = ?3, nodes_done = ?4, bytes = ?5"
		      " WHERE seq = ?1",
	[ST_DEL_NODES] = "DELETE FROM nodes WHERE graph = ?1",
	[ST_DEL_GRAPH] = "DELETE FROM graphs WHERE seq = ?1",
	[ST_HAS_GRAPH] = "SELECT seq FROM graphs WHERE id = ?1",
	[ST_EACH_GRAPH] = "SELECT seq, id, name, owner_uid, owner_gid, created, finished, state,"
			  " nodes_total, nodes_done, NULL, bytes FROM graphs ORDER BY seq",
	[ST_EACH_GRAPH_DOC] =
		"SELECT seq, id, name, owner_uid, owner_gid, created, finished,"
		" state, nodes_total, nodes_done, doc, bytes FROM graphs ORDER BY seq",
	[ST_EACH_NODE] = "SELECT * FROM nodes WHERE graph = ?1",
	[ST_READ_DOC] = "SELECT doc FROM graphs WHERE id = ?1",
	/* One range scan of the primary key: no row is decoded. */
	[ST_COUNT_STATES] = "SELECT state, count(*) FROM nodes WHERE graph = ?1"
			    " AND idx BETWEEN 1 AND ?2 GROUP BY state",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
	/* Prepared once like the rest: every batch of the writer runs them. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
};

struct store_db {
	sqlite3 *db;
	sqlite3_stmt *st[ST__MAX];
	int sync_level; /* the PRAGMA synchronous in force, -1 unknown */
};

void store_rec_clear(struct store_rec *r)
{
	free(r->error);
	free(r->cancel_note);
	free(r->attempts);
	r->error = r->cancel_note = r->attempts = NULL;
}

int store_db_errno(int rc)
{
	/* The errno of the I/O call that failed, noted by store-vfs.c when it
	 * failed: sqlite3_system_errno() can be an earlier failure's
	 * (store-vfs.c says when).  Without one, the failure is not given a
	 * system error SQLite did not report (STORE_DB_EUNNAMED). */
	int sys = store_vfs_errno();

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_IOERR:
		if (sys > 0)
			return -sys;
		return rc == SQLITE_IOERR_NOMEM ? -ENOMEM : -STORE_DB_EUNNAMED;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CORRUPT:
		/* A read that failed (EIO) is reported as corruption by SQLite
		 * (SQLITE_IOERR_CORRUPTFS): an I/O error, not damage to move
		 * aside (docs/durability.md, "Damage"). */
		return sys > 0 ? -sys : -EBADMSG;
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
	default:
		return sys > 0 ? -sys : -STORE_DB_EUNNAMED;
	}
}

const char *store_db_errmsg(struct store_db *db)
{
	return db && db->db ? sqlite3_errmsg(db->db) : "no database";
}

/* Every call below whose failure store_db_errno maps starts with a
 * clear note of failed I/O (store-vfs.c), so that the errno it reads is
 * the call's own. */
static int db_step(sqlite3_stmt *st)
{
	store_vfs_clear();
	return sqlite3_step(st);
}

static int exec_sql(struct store_db *db, const char *sql)
{
	int rc;

	store_vfs_clear();
	rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_db_errno(rc);
}

static int user_version(struct store_db *db, int *v)
{
	sqlite3_stmt *st;
	int rc;

	store_vfs_clear();
	rc = sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_db_errno(rc);
	rc = db_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_db_errno(rc);
}

static int migrate(struct store_db *db)
{
	int v, r;
	char sql[64];

	if ((r = user_version(db, &v)) < 0)
		return r;
	if (v > STORE_DB_VERSION)
		return -EPROTO;
	for (; v < STORE_DB_VERSION; v++) {
		if ((r = exec_sql(db, "BEGIN IMMEDIATE")) < 0)
			return r;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((r = exec_sql(db, migrations[v])) < 0 || (r = exec_sql(db, sql)) < 0 ||
		    (r = exec_sql(db, "COMMIT")) < 0) {
			store_db_rollback(db);
			return r;
		}
	}
	return 0;
}

/* Keeps SQLite's message of a failed open in why (if not NULL), for the
 * log line that names the damage. */
static void note_why(struct store_db *db, char *why, size_t size)
{
	if (why && size)
		snprintf(why, size, "%s", store_db_errmsg(db));
}

static int db_open(const char *path, bool readonly, char *why, size_t why_size,
		   struct store_db **ret)
{
	struct store_db *db = calloc(1, sizeof(*db));
	int rc, r, fd, v;

	if (!db)
		return -ENOMEM;
	db->sync_level = -1;
	if (!readonly) {
		/* Made here, 0600, so that SQLite (which would make it 0644
		 * less the umask) never creates it; its -wal and -shm files
		 * take this mode.  O_NOFOLLOW: a symlink planted at the name
		 * is refused, never followed. */
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			free(db);
			return -errno;
		}
		close(fd);
	}
	store_vfs_clear();
	rc = sqlite3_open_v2(path, &db->db,
			     (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
				     SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
			     store_vfs_name());
	if (rc != SQLITE_OK) {
		r = store_db_errno(rc);
		goto fail;
	}
	/* Another connection may be checkpointing or recovering the WAL. */
	sqlite3_busy_timeout(db->db, 10000);
	if (!readonly) {
		/* WAL: readers (the loop, an operator's sqlite3) never block the
		 * writer; a commit appends to the WAL and syncs only it. */
		if ((r = exec_sql(db, "PRAGMA journal_mode = WAL")) < 0 ||
		    (r = exec_sql(db, "PRAGMA journal_size_limit = 16777216")) < 0 ||
		    (r = migrate(db)) < 0)
			goto fail;
	} else {
		if ((r = user_version(db, &v)) < 0)
			goto fail;
		if (v != STORE_DB_VERSION) {
			r = -EPROTO;
			goto fail;
		}
	}
	for (int i = 0; i < ST__MAX; i++) {
		store_vfs_clear();
		rc = sqlite3_prepare_v3(db->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&db->st[i], NULL);
		if (rc != SQLITE_OK) {
			r = store_db_errno(rc);
			/* A schema that does not match ("no such table") is
			 * damage too; an I/O error keeps its errno (the
			 * operator's to fix, never a reason to move the file). */
			if ((rc & 0xff) == SQLITE_ERROR)
				r = -EBADMSG;
			goto fail;
		}
	}
	*ret = db;
	return 0;
fail:
	note_why(db, why, why_size);
	/* A database coopd refuses is left as it was: closing this
	 * connection must not checkpoint a WAL into it. */
	if (db->db)
		(void)sqlite3_db_config(db->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	store_db_close(db);
	return r;
}

int store_db_open(const char *path, bool readonly, struct store_db **ret)
{
	return db_open(path, readonly, NULL, 0, ret);
}

/* The first line of PRAGMA quick_check(graphs): "ok" or what is wrong. */
static int check_graphs_table(struct store_db *db, char *why, size_t size)
{
	sqlite3_stmt *st;
	const char *text;
	int rc, r;

	store_vfs_clear();
	rc = sqlite3_prepare_v2(db->db, "PRAGMA quick_check(graphs)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		note_why(db, why, size);
		return store_db_errno(rc);
	}
	rc = db_step(st);
	if (rc != SQLITE_ROW) {
		note_why(db, why, size);
		r = store_db_errno(rc);
	} else if (!(text = (const char *)sqlite3_column_text(st, 0)) || strcmp(text, "ok") != 0) {
		snprintf(why, size, "quick_check: %s", text ? text : "no answer");
		/* Its lines ("*** in database main ***\nPage 5: ...") on
		 * one log line. */
		for (char *p = why; *p; p++)
			if (*p == '\n')
				*p = ' ';
		r = -EBADMSG;
	} else {
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int check_node(void *ctx, const struct store_rec *n)
{
	(void)ctx;
	(void)n;
	return 0;
}

struct check_ctx {
	struct store_db *db;
	char *why;
	size_t why_size;
};

/* The node rows of a graph that start-up loads whole (one not settled):
 * read as loading reads them. */
static int check_row(void *ctx, const struct store_graph_row *row)
{
	struct check_ctx *c = ctx;
	int r;

	if (row->finished >= 0 && row->state >= 0 &&
	    proto_state_is_final((enum proto_state)row->state))
		return 0;
	r = store_db_each_node(c->db, row->seq, check_node, NULL);
	/* SQLite's message now: resetting the outer statement clears it. */
	if (r < 0)
		snprintf(c->why, c->why_size, "%s (node rows of graph %s)", store_db_errmsg(c->db),
			 row->id);
	return r;
}

int store_db_open_checked(const char *path, char *why, size_t why_size, struct store_db **ret)
{
	struct store_db *db;
	struct check_ctx c = {.why = why, .why_size = why_size};
	int r;

	why[0] = '\0';
	if ((r = db_open(path, false, why, why_size, &db)) < 0)
		return r;
	/* What start-up reads, checked before anything is loaded (docs/
	 * durability.md, "Damage"): the graphs table with its indexes and
	 * overflow pages, and the node rows of the graphs that were not
	 * settled.  Not a whole quick_check: the node rows of settled graphs
	 * are most of the file and are read only when asked for. */
	r = check_graphs_table(db, why, why_size);
	if (r == 0) {
		c.db = db;
		r = store_db_each_graph(db, false, check_row, &c);
		if (r < 0 && !why[0])
			note_why(db, why, why_size);
	}
	if (r < 0) {
		(void)sqlite3_db_config(db->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
		store_db_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

const char *store_db_errtext(int r)
{
	return r == -STORE_DB_EUNNAMED ? "the state database failed and SQLite reported no system "
					 "error (coopd's log has SQLite's message)"
				       : strerror(-r);
}

const char *store_db_strerror(int r)
{
	return r == -EBADMSG ? "the state database is damaged (coopd's log says where)"
			     : store_db_errtext(r);
}

void store_db_close(struct store_db *db)
{
	if (!db)
		return;
	for (int i = 0; i < ST__MAX; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->db);
	free(db);
}

static int step_done(struct store_db *db, sqlite3_stmt *st);

int store_db_begin(struct store_db *db, bool durable, bool sync)
{
	int level = !sync ? 0 : durable ? 2 : 1;
	int r;

	/* PRAGMA synchronous cannot change inside a transaction: set it for
	 * the transaction about to start.  NORMAL commits write the WAL
	 * without a sync; the next FULL commit's fdatasync of the WAL covers
	 * them too (it syncs the whole file). */
	if (level != db->sync_level) {
		static const char *const sql[] = {"PRAGMA synchronous = OFF",
						  "PRAGMA synchronous = NORMAL",
						  "PRAGMA synchronous = FULL"};

		if ((r = exec_sql(db, sql[level])) < 0)
			return r;
		db->sync_level = level;
	}
	return step_done(db, db->st[ST_BEGIN]);
}

int store_db_commit(struct store_db *db)
{
	return step_done(db, db->st[ST_COMMIT]);
}

void store_db_rollback(struct store_db *db)
{
	if (!sqlite3_get_autocommit(db->db))
		(void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs a statement that returns no rows and resets it. */
static int step_done(struct store_db *db, sqlite3_stmt *st)
{
	int rc = db_step(st);
	int r = rc == SQLITE_DONE ? 0 : store_db_errno(rc);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static void bind_opt(sqlite3_stmt *st, int i, int64_t v, bool present)
{
	if (present)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

int store_db_put_graph(struct store_db *db, const struct store_graph_row *row, int64_t *seq)
{
	sqlite3_stmt *st = db->st[ST_PUT_GRAPH];
	int r;

	sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row->uid);
	sqlite3_bind_int64(st, 3, row->gid);
	sqlite3_bind_text(st, 4, row->name ? row->name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, proto_state_name((enum proto_state)row->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, row->created);
	sqlite3_bind_int64(st, 7, (int64_t)row->nodes_total);
	sqlite3_bind_text(st, 8, row->doc, (int)row->doc_len, SQLITE_STATIC);
	r = step_done(db, st);
	if (r == 0)
		*seq = sqlite3_last_insert_rowid(db->db);
	return r;
}

int store_db_put_node(struct store_db *db, int64_t seq, const struct store_rec *n)
{
	sqlite3_stmt *st = db->st[ST_PUT_NODE];

	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, n->idx);
	sqlite3_bind_text(st, 3, proto_state_name((enum proto_state)n->state), -1, SQLITE_STATIC);
	bind_opt(st, 4, n->started, n->started >= 0);
	bind_opt(st, 5, n->finished, n->finished >= 0);
	bind_opt(st, 6, n->exit_code, n->exit_code >= 0);
	bind_opt(st, 7, n->term_signal, n->term_signal > 0);
	bind_opt(st, 8, n->value, n->has_value);
	if (n->error)
		sqlite3_bind_text(st, 9, n->error, -1, SQLITE_STATIC);
	bind_opt(st, 10, n->cancel_reason, n->cancel_reason >= 0);
	bind_opt(st, 11, n->cancel_requested, n->cancel_requested >= 0);
	bind_opt(st, 12, n->cancel_ack, n->cancel_ack >= 0);
	if (n->cancel_note)
		sqlite3_bind_text(st, 13, n->cancel_note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, (int64_t)n->polls);
	sqlite3_bind_int64(st, 15, (int64_t)n->forced_yields);
	bind_opt(st, 16, n->pgid, n->pgid > 0);
	bind_opt(st, 17, (int64_t)n->pg_start, n->pgid > 0);
	bind_opt(st, 18, n->leftovers, n->leftovers > 0);
	sqlite3_bind_int64(st, 19, (int64_t)n->log_dropped[0]);
	sqlite3_bind_int64(st, 20, (int64_t)n->log_dropped[1]);
	if (n->attempts)
		sqlite3_bind_text(st, 21, n->attempts, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 21);
	sqlite3_bind_int64(st, 22, n->reused);
	bind_opt(st, 23, (int64_t)n->slurm_job_id, n->slurm_job_id > 0);
	if (n->slurm_job_id > 0)
		sqlite3_bind_text(st, 24, n->slurm_state, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 24);
	return step_done(db, st);
}

int store_db_set_graph_state(struct store_db *db, int64_t seq, int state, int64_t finished,
			     uint64_t nodes_done)
{
	sqlite3_stmt *st = db->st[ST_SET_STATE];

	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, proto_state_name((enum proto_state)state), -1, SQLITE_STATIC);
	bind_opt(st, 3, finished, finished >= 0);
	sqlite3_bind_int64(st, 4, (int64_t)nodes_done);
	return step_done(db, st);
}

int store_db_set_graph_bytes(struct store_db *db, int64_t seq, uint64_t bytes)
{
	sqlite3_stmt *st = db->st[ST_SET_BYTES];

	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)bytes);
	return step_done(db, st);
}

int store_db_settle_graph(struct store_db *db, int64_t seq, int state, int64_t finished,
			  uint64_t nodes_done, uint64_t bytes)
{
	sqlite3_stmt *st = db->st[ST_SETTLE];

	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, proto_state_name((enum proto_state)state), -1, SQLITE_STATIC);
	bind_opt(st, 3, finished, finished >= 0);
	sqlite3_bind_int64(st, 4, (int64_t)nodes_done);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)bytes);
	return step_done(db, st);
}

int store_db_delete_graph(struct store_db *db, int64_t seq)
{
	int r;

	sqlite3_bind_int64(db->st[ST_DEL_NODES], 1, seq);
	if ((r = step_done(db, db->st[ST_DEL_NODES])) < 0)
		return r;
	sqlite3_bind_int64(db->st[ST_DEL_GRAPH], 1, seq);
	return step_done(db, db->st[ST_DEL_GRAPH]);
}

int store_db_has_graph(struct store_db *db, const char *id)
{
	sqlite3_stmt *st = db->st[ST_HAS_GRAPH];
	int rc, r;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = db_step(st);
	r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : store_db_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int64_t col_opt(sqlite3_stmt *st, int i, int64_t dflt)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, i);
}

static int col_state(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? proto_state_from_name(s) : -1;
}

int store_db_each_graph(struct store_db *db, bool with_doc, store_db_graph_fn fn, void *ctx)
{
	sqlite3_stmt *st = db->st[with_doc ? ST_EACH_GRAPH_DOC : ST_EACH_GRAPH];
	int rc, r = 0;

	while ((rc = db_step(st)) == SQLITE_ROW) {
		struct store_graph_row row = {
			.seq = sqlite3_column_int64(st, 0),
			.id = (const char *)sqlite3_column_text(st, 1),
			.name = (const char *)sqlite3_column_text(st, 2),
			.uid = (uid_t)sqlite3_column_int64(st, 3),
			.gid = (gid_t)sqlite3_column_int64(st, 4),
			.created = sqlite3_column_int64(st, 5),
			.finished = col_opt(st, 6, -1),
			.state = col_state(st, 7),
			.nodes_total = (uint64_t)sqlite3_column_int64(st, 8),
			.nodes_done = (uint64_t)sqlite3_column_int64(st, 9),
			.doc = (const char *)sqlite3_column_text(st, 10),
			.bytes = (uint64_t)sqlite3_column_int64(st, 11),
		};

		row.doc_len = (size_t)sqlite3_column_bytes(st, 10);
		if (!row.id)
			continue;
		if ((r = fn(ctx, &row)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_db_errno(rc);
	sqlite3_reset(st);
	return r;
}

int store_db_each_node(struct store_db *db, int64_t seq, store_db_node_fn fn, void *ctx)
{
	sqlite3_stmt *st = db->st[ST_EACH_NODE];
	int rc, r = 0;

	sqlite3_bind_int64(st, 1, seq);
	while ((rc = db_step(st)) == SQLITE_ROW) {
		struct store_rec n = {
			.idx = (uint32_t)sqlite3_column_int64(st, 1),
			.started = col_opt(st, 3, -1),
			.finished = col_opt(st, 4, -1),
			.exit_code = (int)col_opt(st, 5, -1),
			.term_signal = (int)col_opt(st, 6, 0),
			.has_value = sqlite3_column_type(st, 7) != SQLITE_NULL,
			.value = col_opt(st, 7, 0),
			.error = (char *)sqlite3_column_text(st, 8),
			.cancel_reason = (int8_t)col_opt(st, 9, -1),
			.cancel_requested = col_opt(st, 10, -1),
			.cancel_ack = col_opt(st, 11, -1),
			.cancel_note = (char *)sqlite3_column_text(st, 12),
			.polls = (uint64_t)col_opt(st, 13, 0),
			.forced_yields = (uint64_t)col_opt(st, 14, 0),
			.pgid = (int)col_opt(st, 15, 0),
			.pg_start = (uint64_t)col_opt(st, 16, 0),
			.leftovers = (uint32_t)col_opt(st, 17, 0),
			.log_dropped = {(uint64_t)col_opt(st, 18, 0), (uint64_t)col_opt(st, 19, 0)},
			.attempts = (char *)sqlite3_column_text(st, 20),
			.reused = col_opt(st, 21, 0) != 0,
		};
		int state = col_state(st, 2);
		const unsigned char *ss = sqlite3_column_text(st, 23);

		n.slurm_job_id = (uint64_t)col_opt(st, 22, 0);
		if (ss)
			snprintf(n.slurm_state, sizeof(n.slurm_state), "%s", (const char *)ss);
		/* A row whose state is not a state is skipped (fn sees only
		 * rows that make sense); the strings are only lent. */
		if (state < 0)
			continue;
		n.state = (uint8_t)state;
		if ((r = fn(ctx, &n)) != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_db_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_db_count_states(struct store_db *db, int64_t seq, uint64_t max_idx, uint64_t *counts,
			  int n_states)
{
	sqlite3_stmt *st = db->st[ST_COUNT_STATES];
	int rc, r = 0;

	for (int i = 0; i < n_states; i++)
		counts[i] = 0;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max_idx);
	while ((rc = db_step(st)) == SQLITE_ROW) {
		int state = col_state(st, 0);

		/* Skipped like store_db_each_node skips such rows. */
		if (state < 0 || state >= n_states)
			continue;
		counts[state] += (uint64_t)sqlite3_column_int64(st, 1);
	}
	if (rc != SQLITE_DONE)
		r = store_db_errno(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_db_read_doc(struct store_db *db, const char *id, char **doc, size_t *len)
{
	sqlite3_stmt *st = db->st[ST_READ_DOC];
	int rc, r = -ENOENT;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = db_step(st);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_text(st, 0);

		*doc = malloc(n + 1);
		if (!*doc) {
			r = -ENOMEM;
		} else {
			memcpy(*doc, p ? p : "", n);
			(*doc)[n] = '\0';
			*len = n;
			r = 0;
		}
	} else if (rc != SQLITE_DONE) {
		r = store_db_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_db_meta_get(struct store_db *db, const char *key, int64_t *value)
{
	sqlite3_stmt *st = db->st[ST_META_GET];
	int rc, r = -ENOENT;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = db_step(st);
	if (rc == SQLITE_ROW) {
		*value = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = store_db_errno(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_db_meta_set(struct store_db *db, const char *key, int64_t value)
{
	sqlite3_stmt *st = db->st[ST_META_SET];

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return step_done(db, st);
}

int store_db_checkpoint(struct store_db *db, bool truncate)
{
	int rc;

	store_vfs_clear();
	rc = sqlite3_wal_checkpoint_v2(
		db->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
		NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_db_errno(rc);
}
