/*
 * store-db.h - coopd's SQLite database (STATE/coopd.db): the schema, its
 * forward migrations, and the few statements the daemon runs on it.  One
 * struct store_db is one connection; it is used by one thread at a time
 * (the writer thread owns the write connection, the loop thread has its
 * own for reads).  No daemon types appear here: rows come and go as plain
 * structs, so that the schema can be tested and read without a daemon.
 * The format is documented in docs/durability.md.
 */
#ifndef COOPD_STORE_DB_H
#define COOPD_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The schema version this coopd writes (PRAGMA user_version). */
#define STORE_DB_VERSION 5
#define STORE_DB_FILE "coopd.db"

struct store_db;

/* One node's reported state: a row of the nodes table. */
struct store_rec {
	uint32_t idx; /* pre-order index in the graph, root 0 */
	uint8_t state;
	int8_t cancel_reason; /* -1 none */
	bool has_value;
	int64_t started, finished, cancel_requested, cancel_ack; /* unix ms, -1 null */
	uint64_t polls, forced_yields;
	int64_t value;
	int exit_code, term_signal, pgid; /* -1, 0, 0: none */
	uint64_t pg_start;
	uint32_t leftovers;
	uint64_t log_dropped[2];
	uint64_t slurm_job_id;     /* placement slurm: 0 before the submission */
	char slurm_state[32];      /* Slurm's last reported job state, "" none */
	char *error, *cancel_note; /* owned (store_rec_clear frees them) */
	char *attempts;            /* retries: JSON text (store-state.c); owned; NULL none */
	bool reused;               /* rerun failed_only: not run, results kept */
};

/* One row of the graphs table. */
struct store_graph_row {
	int64_t seq; /* rowid: insertion order */
	const char *id, *name;
	uid_t uid;
	gid_t gid;
	int64_t created, finished; /* finished -1: not settled */
	int state;                 /* enum proto_state of the root */
	uint64_t nodes_total, nodes_done;
	const char *doc; /* the validated graph document as submitted */
	size_t doc_len;
	uint64_t bytes; /* on disk for retention (read; set by store_db_set_graph_bytes) */
};

void store_rec_clear(struct store_rec *r);

/* Opens (creating it 0600 if missing, never through a symlink) the
 * database at path, applies the pending migrations and prepares the
 * statements.  Returns 0, -EBADMSG if the file is not a database or is
 * damaged, -EPROTO if it was made by a newer coopd, or another negative
 * errno.  readonly: a reading connection (no migration). */
int store_db_open(const char *path, bool readonly, struct store_db **ret);
/* store_db_open for writing, then checks what start-up will read (the
 * graphs table, the node rows of graphs not settled): -EBADMSG if the file
 * is not a database or is damaged there, with SQLite's message (or
 * quick_check's first line) in why.  A database it refuses is left as it
 * was (no checkpoint into it). */
int store_db_open_checked(const char *path, char *why, size_t why_size, struct store_db **ret);
/* Not an errno: a store call failed without a system error SQLite
 * reported (an SQLITE_IOERR no failed I/O call of this call explains, or a
 * code that is not about the disk); -STORE_DB_EUNNAMED is returned rather
 * than a guess (store_db_errno). */
#define STORE_DB_EUNNAMED 4095
/* The reason of a failed store call for a client's answer: -EBADMSG
 * (SQLITE_CORRUPT, SQLITE_NOTADB) says the database is damaged. */
const char *store_db_strerror(int r);
/* The reason of a failed store call for the log: strerror(-r), or what
 * -STORE_DB_EUNNAMED means. */
const char *store_db_errtext(int r);
void store_db_close(struct store_db *db);
/* Text of the last error, for logs. */
const char *store_db_errmsg(struct store_db *db);

/* synchronous = FULL when durable (every commit fdatasyncs the WAL),
 * NORMAL otherwise, OFF when sync is off altogether (benchmarks). */
int store_db_begin(struct store_db *db, bool durable, bool sync);
int store_db_commit(struct store_db *db);
void store_db_rollback(struct store_db *db);

/* Inserts a graph row (state pending) and returns its seq. */
int store_db_put_graph(struct store_db *db, const struct store_graph_row *row, int64_t *seq);
/* Inserts or replaces a node row of graph seq. */
int store_db_put_node(struct store_db *db, int64_t seq, const struct store_rec *r);
/* Sets what the graph keeps on disk (its document and its logs' bytes),
 * for retention_bytes. */
int store_db_set_graph_bytes(struct store_db *db, int64_t seq, uint64_t bytes);
/* Sets the graph's state and times (a settled graph, or an interrupted one). */
int store_db_set_graph_state(struct store_db *db, int64_t seq, int state, int64_t finished,
			     uint64_t nodes_done);
/* Both of the above in one statement: a graph that settled. */
int store_db_settle_graph(struct store_db *db, int64_t seq, int state, int64_t finished,
			  uint64_t nodes_done, uint64_t bytes);
/* Deletes a graph row and its nodes. */
int store_db_delete_graph(struct store_db *db, int64_t seq);
/* Whether a graph with this id is stored (import: already done). */
int store_db_has_graph(struct store_db *db, const char *id);

typedef int (*store_db_graph_fn)(void *ctx, const struct store_graph_row *row);
typedef int (*store_db_node_fn)(void *ctx, const struct store_rec *r);

/* Calls fn for every graph (with_doc: the document too), in seq order;
 * stops at fn's first non-zero return and returns it. */
int store_db_each_graph(struct store_db *db, bool with_doc, store_db_graph_fn fn, void *ctx);
/* Calls fn for every node row of graph seq. */
int store_db_each_node(struct store_db *db, int64_t seq, store_db_node_fn fn, void *ctx);
/* Counts the node rows of graph seq with 1 <= idx <= max_idx per state
 * (counts[state], n_states entries; rows whose state is not a state are not
 * counted, as store_db_each_node skips them).  0 or a negative errno. */
int store_db_count_states(struct store_db *db, int64_t seq, uint64_t max_idx, uint64_t *counts,
			  int n_states);
/* The stored document of graph id (malloc'ed, NUL-terminated); -ENOENT if
 * there is none. */
int store_db_read_doc(struct store_db *db, const char *id, char **doc, size_t *len);

/* Checkpoints the WAL into the database (truncate: and empties the WAL
 * file).  0 or a negative errno. */
int store_db_checkpoint(struct store_db *db, bool truncate);

/* The meta table: small facts about the database (store-import.c). */
int store_db_meta_get(struct store_db *db, const char *key, int64_t *value);
int store_db_meta_set(struct store_db *db, const char *key, int64_t value);

/* Maps the result of the SQLite call just made to a negative errno:
 * ENOSPC for a full disk, the errno of the I/O call that failed
 * (store-vfs.c), EROFS, EBADMSG for damage, -STORE_DB_EUNNAMED if SQLite
 * reported no system error. */
int store_db_errno(int rc);

#endif
