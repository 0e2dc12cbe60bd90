/*
 * suite-store-db.c - Check suite for coopd's state database alone
 * (daemon/store-db.c, no daemon): a new file gets the current schema
 * version and mode 0600 (without graphs_by_owner); a version 4 database
 * is migrated to 5; a graph and its node rows go in and come back
 * field by field (the last row of a node wins); a settled state and a
 * delete; a transaction rolled back leaves nothing; the meta table; a file
 * that is not a database is -EBADMSG, a newer schema -EPROTO (untouched),
 * a symlink at the name is refused; a commit whose write of the WAL fails
 * is named with that write's errno (EFBIG, from RLIMIT_FSIZE), also after
 * the writer's reopen and checkpoint that fail too, and a failure without
 * a failed I/O call names no errno at all.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto-rpc.h"
#include "store-db.h"
#include "store-vfs.h"

static char dir[] = "/tmp/suite-store-db.XXXXXX";
static char path[256];

static void setup(void)
{
	strcpy(dir, "/tmp/suite-store-db.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
}

static void teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int user_version(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Runs sql on path with a connection of its own (no store_db). */
static void raw_sql(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* How many indexes named name the schema has. */
static int index_count(const char *name)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				   " AND name = ?1",
				   -1, &st, NULL),
		SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static const char doc[] =
	"{\"name\":\"g\",\"nodes\":[{\"id\":\"a\",\"kind\":\"task\",\"fn\":\"noop\"}]}";

static int64_t put_one(struct store_db *db, const char *id)
{
	struct store_graph_row row = {
		.id = id,
		.name = "g",
		.uid = 1000,
		.gid = 100,
		.created = 1700000000000,
		.finished = -1,
		.state = PROTO_STATE_PENDING,
		.nodes_total = 1,
		.doc = doc,
		.doc_len = sizeof(doc) - 1,
	};
	int64_t seq = 0;

	ck_assert_int_eq(store_db_put_graph(db, &row, &seq), 0);
	ck_assert_int_gt(seq, 0);
	return seq;
}

START_TEST(test_new_schema)
{
	struct store_db *db;
	struct stat st;

	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	store_db_close(db);
	ck_assert_int_eq(user_version(), STORE_DB_VERSION);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* Version 5: no index that every commit would write and nothing
	 * reads; the id's stays (lookups by id, one graph per id). */
	ck_assert_int_eq(index_count("graphs_by_owner"), 0);
	ck_assert_int_eq(index_count("sqlite_autoindex_graphs_1"), 1);
	/* A reading connection of the same version opens too. */
	ck_assert_int_eq(store_db_open(path, true, &db), 0);
	store_db_close(db);
}
END_TEST

struct seen {
	int graphs, nodes;
	struct store_graph_row row;
	char id[32];
	struct store_rec rec;
	char err[64];
};

static int on_graph(void *ctx, const struct store_graph_row *row)
{
	struct seen *s = ctx;

	s->graphs++;
	s->row = *row;
	snprintf(s->id, sizeof(s->id), "%s", row->id);
	s->row.id = s->id;
	s->row.name = NULL;
	s->row.doc = NULL;
	return 0;
}

static int on_node(void *ctx, const struct store_rec *r)
{
	struct seen *s = ctx;

	s->nodes++;
	s->rec = *r;
	snprintf(s->err, sizeof(s->err), "%s", r->error ? r->error : "");
	s->rec.error = s->rec.cancel_note = s->rec.attempts = NULL;
	return 0;
}

START_TEST(test_graph_round_trip)
{
	struct store_db *db;
	struct store_rec r = {.idx = 1,
			      .state = PROTO_STATE_RUNNING,
			      .cancel_reason = -1,
			      .started = 5,
			      .finished = -1,
			      .cancel_requested = -1,
			      .cancel_ack = -1,
			      .exit_code = -1};
	struct seen s = {0};
	char *text = NULL;
	size_t len = 0;
	int64_t seq;

	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	ck_assert_int_eq(store_db_begin(db, true, true), 0);
	seq = put_one(db, "00112233445566aa");
	ck_assert_int_eq(store_db_put_node(db, seq, &r), 0);
	/* The last row of a node wins. */
	r.state = PROTO_STATE_FAILED;
	r.finished = 9;
	r.exit_code = 3;
	r.polls = 7;
	r.log_dropped[1] = 42;
	r.error = "exit status 3";
	ck_assert_int_eq(store_db_put_node(db, seq, &r), 0);
	ck_assert_int_eq(store_db_set_graph_state(db, seq, PROTO_STATE_FAILED, 9, 1), 0);
	/* retention_bytes: recorded at the settle, read back with the row. */
	ck_assert_int_eq(store_db_set_graph_bytes(db, seq, 123456789012ull), 0);
	ck_assert_int_eq(store_db_commit(db), 0);

	ck_assert_int_eq(store_db_each_graph(db, false, on_graph, &s), 0);
	ck_assert_int_eq(s.graphs, 1);
	ck_assert_uint_eq(s.row.bytes, 123456789012ull);
	ck_assert_str_eq(s.id, "00112233445566aa");
	ck_assert_int_eq(s.row.uid, 1000);
	ck_assert_int_eq(s.row.state, PROTO_STATE_FAILED);
	ck_assert_int_eq(s.row.finished, 9);
	ck_assert_int_eq(s.row.nodes_done, 1);
	ck_assert_int_eq(store_db_each_node(db, seq, on_node, &s), 0);
	ck_assert_int_eq(s.nodes, 1);
	ck_assert_int_eq(s.rec.state, PROTO_STATE_FAILED);
	ck_assert_int_eq(s.rec.started, 5);
	ck_assert_int_eq(s.rec.finished, 9);
	ck_assert_int_eq(s.rec.exit_code, 3);
	ck_assert_int_eq(s.rec.polls, 7);
	ck_assert_int_eq(s.rec.log_dropped[1], 42);
	ck_assert_int_eq(s.rec.cancel_reason, -1);
	ck_assert(!s.rec.has_value);
	ck_assert_str_eq(s.err, "exit status 3");
	ck_assert_int_eq(store_db_read_doc(db, "00112233445566aa", &text, &len), 0);
	ck_assert_str_eq(text, doc);
	ck_assert_uint_eq(len, sizeof(doc) - 1);
	free(text);
	ck_assert_int_eq(store_db_read_doc(db, "ffffffffffffffff", &text, &len), -ENOENT);
	ck_assert_int_eq(store_db_has_graph(db, "00112233445566aa"), 1);

	/* Deleted: the graph and its nodes. */
	ck_assert_int_eq(store_db_begin(db, true, true), 0);
	ck_assert_int_eq(store_db_delete_graph(db, seq), 0);
	ck_assert_int_eq(store_db_commit(db), 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(store_db_each_graph(db, false, on_graph, &s), 0);
	ck_assert_int_eq(store_db_each_node(db, seq, on_node, &s), 0);
	ck_assert_int_eq(s.graphs + s.nodes, 0);
	store_db_close(db);
}
END_TEST

START_TEST(test_rollback_and_meta)
{
	struct store_db *db;
	struct seen s = {0};
	int64_t v = 0;

	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	ck_assert_int_eq(store_db_meta_get(db, "k", &v), -ENOENT);
	ck_assert_int_eq(store_db_begin(db, false, true), 0);
	put_one(db, "0011223344556677");
	ck_assert_int_eq(store_db_meta_set(db, "k", 5), 0);
	store_db_rollback(db);
	ck_assert_int_eq(store_db_each_graph(db, true, on_graph, &s), 0);
	ck_assert_int_eq(s.graphs, 0);
	ck_assert_int_eq(store_db_meta_get(db, "k", &v), -ENOENT);
	ck_assert_int_eq(store_db_begin(db, true, false), 0);
	ck_assert_int_eq(store_db_meta_set(db, "k", 5), 0);
	ck_assert_int_eq(store_db_commit(db), 0);
	ck_assert_int_eq(store_db_meta_get(db, "k", &v), 0);
	ck_assert_int_eq(v, 5);
	/* Two graphs cannot have one id. */
	ck_assert_int_eq(store_db_begin(db, true, true), 0);
	put_one(db, "0011223344556677");
	{
		struct store_graph_row row = {.id = "0011223344556677",
					      .name = "x",
					      .doc = "{}",
					      .doc_len = 2,
					      .finished = -1};
		int64_t seq;

		/* A constraint, not the disk: no errno is named for it. */
		ck_assert_int_eq(store_db_put_graph(db, &row, &seq), -STORE_DB_EUNNAMED);
	}
	store_db_rollback(db);
	store_db_close(db);
}
END_TEST

/* A database of version 4 (with graphs_by_owner) is migrated to 5: the
 * index goes, the graphs stay and can still be settled. */
START_TEST(test_migrate_4_to_5)
{
	struct store_db *db;
	struct seen s = {0};
	int64_t seq;

	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	ck_assert_int_eq(store_db_begin(db, true, true), 0);
	seq = put_one(db, "0123456789abcdef");
	ck_assert_int_eq(store_db_commit(db), 0);
	store_db_close(db);
	/* Version 4's schema: version 5's plus the index. */
	raw_sql("CREATE INDEX graphs_by_owner ON graphs(owner_uid, finished);"
		"PRAGMA user_version = 4;");
	ck_assert_int_eq(index_count("graphs_by_owner"), 1);
	ck_assert_int_eq(user_version(), 4);

	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	ck_assert_int_eq(user_version(), 5);
	ck_assert_int_eq(index_count("graphs_by_owner"), 0);
	ck_assert_int_eq(store_db_begin(db, true, true), 0);
	ck_assert_int_eq(store_db_settle_graph(db, seq, PROTO_STATE_SUCCEEDED, 7, 1, 4321), 0);
	ck_assert_int_eq(store_db_commit(db), 0);
	ck_assert_int_eq(store_db_each_graph(db, false, on_graph, &s), 0);
	ck_assert_int_eq(s.graphs, 1);
	ck_assert_str_eq(s.id, "0123456789abcdef");
	ck_assert_int_eq(s.row.uid, 1000);
	/* store_db_settle_graph: state, finish time, nodes done and bytes. */
	ck_assert_int_eq(s.row.state, PROTO_STATE_SUCCEEDED);
	ck_assert_int_eq(s.row.finished, 7);
	ck_assert_uint_eq(s.row.nodes_done, 1);
	ck_assert_uint_eq(s.row.bytes, 4321);
	ck_assert_int_eq(store_db_has_graph(db, "0123456789abcdef"), 1);
	store_db_close(db);
	/* Opened again: nothing left to migrate. */
	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	store_db_close(db);
	ck_assert_int_eq(user_version(), 5);
}
END_TEST

START_TEST(test_damaged_newer_symlink)
{
	struct store_db *db = NULL;
	char junk[8192];
	char cmd[600];
	int fd;

	/* Not a database. */
	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	ck_assert_int_eq(store_db_open(path, false, &db), -EBADMSG);
	unlink(path);

	/* A newer schema: refused, left as it is. */
	ck_assert_int_eq(store_db_open(path, false, &db), 0);
	store_db_close(db);
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version = 99' 2>/dev/null", path);
	if (system(cmd) == 0) {
		ck_assert_int_eq(store_db_open(path, false, &db), -EPROTO);
		ck_assert_int_eq(user_version(), 99);
	}
	unlink(path);

	/* A symlink planted at the name is never followed. */
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(store_db_open(path, false, &db), -ELOOP);
}
END_TEST

/* One durable transaction putting graph id; the first failure. */
static int put_durably(struct store_db *db, const char *id)
{
	struct store_graph_row row = {.id = id,
				      .name = "g",
				      .created = 1,
				      .finished = -1,
				      .state = PROTO_STATE_PENDING,
				      .nodes_total = 1,
				      .doc = doc,
				      .doc_len = sizeof(doc) - 1};
	int64_t seq;
	int r;

	if ((r = store_db_begin(db, true, true)) < 0 ||
	    (r = store_db_put_graph(db, &row, &seq)) < 0 || (r = store_db_commit(db)) < 0)
		store_db_rollback(db);
	return r;
}

/* Ends the child of test_write_errno with code, saying why on stderr
 * (the file size limit lifted first: stderr may be a file). */
static void child_fail(int code, const char *what, int r, struct rlimit *rl)
{
	rl->rlim_cur = rl->rlim_max;
	(void)setrlimit(RLIMIT_FSIZE, rl);
	fprintf(stderr, "%s: %d (%s)\n", what, r, store_db_errtext(r));
	_exit(code);
}

/* The child of test_write_errno (the file size limit is the process's):
 * exits 0, or with the number of the expectation that failed. */
static void write_errno_child(void)
{
	struct store_db *db, *rdb;
	struct rlimit rl;
	int r;

	/* A reading connection stays open, as coopd's does: the WAL and its
	 * index outlive the writer's connection. */
	if (store_db_open(path, false, &db) < 0 || put_durably(db, "0000000000000001") < 0 ||
	    store_db_open(path, true, &rdb) < 0 || getrlimit(RLIMIT_FSIZE, &rl) < 0)
		_exit(10);
	/* Every write to a file fails with EFBIG (a real failure of the
	 * kernel, no fault shim); SIGXFSZ would end the process instead. */
	signal(SIGXFSZ, SIG_IGN);
	rl.rlim_cur = 0;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		_exit(11);
	/* The thread's errno before the call is not the failure's. */
	errno = EROFS;
	r = put_durably(db, "0000000000000002");
	if (r != -EFBIG)
		child_fail(1, "first failed commit", r, &rl);
	/* What the writer does next (store-writer.c): the connection closed
	 * and opened again, and a checkpoint, which fails too and left its
	 * errno in SQLite's sqlite3_system_errno(). */
	store_db_close(db);
	if ((r = store_db_open(path, false, &db)) < 0)
		child_fail(12, "reopen", r, &rl);
	(void)store_db_checkpoint(db, true);
	r = put_durably(db, "0000000000000003");
	if (r != -EFBIG)
		child_fail(2, "second failed commit", r, &rl);
	/* The limit lifted: the next transaction commits, and the note of
	 * the failures before is gone. */
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		_exit(13);
	r = put_durably(db, "0000000000000004");
	if (r != 0)
		child_fail(3, "commit after the limit", r, &rl);
	if (store_db_errno(SQLITE_IOERR_WRITE) != -STORE_DB_EUNNAMED)
		_exit(4);
	store_db_close(db);
	store_db_close(rdb);
	_exit(0);
}

START_TEST(test_write_errno)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		write_errno_child();
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* Committed: the first graph and the one after the limit. */
	{
		struct store_db *db;
		struct seen s = {0};

		ck_assert_int_eq(store_db_open(path, false, &db), 0);
		ck_assert_int_eq(store_db_each_graph(db, false, on_graph, &s), 0);
		ck_assert_int_eq(s.graphs, 2);
		store_db_close(db);
	}
}
END_TEST

/* Without a failed I/O call, an I/O error names no errno rather than a
 * guess; a full disk is ENOSPC; the texts say so. */
START_TEST(test_unnamed_errno)
{
	store_vfs_clear();
	ck_assert_int_eq(store_db_errno(SQLITE_IOERR_FSYNC), -STORE_DB_EUNNAMED);
	ck_assert_int_eq(store_db_errno(SQLITE_CANTOPEN), -STORE_DB_EUNNAMED);
	ck_assert_int_eq(store_db_errno(SQLITE_FULL), -ENOSPC);
	ck_assert_int_eq(store_db_errno(SQLITE_IOERR_NOMEM), -ENOMEM);
	ck_assert_int_eq(store_db_errno(SQLITE_DONE), 0);
	ck_assert_ptr_nonnull(
		strstr(store_db_strerror(-STORE_DB_EUNNAMED), "SQLite reported no system error"));
	ck_assert_str_eq(store_db_strerror(-EROFS), "Read-only file system");
	ck_assert_ptr_nonnull(strstr(store_db_strerror(-EBADMSG), "damaged"));
}
END_TEST

static Suite *store_db_suite(void)
{
	Suite *s = suite_create("store-db");
	TCase *tc = tcase_create("db");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_schema);
	tcase_add_test(tc, test_graph_round_trip);
	tcase_add_test(tc, test_rollback_and_meta);
	tcase_add_test(tc, test_migrate_4_to_5);
	tcase_add_test(tc, test_damaged_newer_symlink);
	tcase_add_test(tc, test_write_errno);
	tcase_add_test(tc, test_unnamed_errno);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_db_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
