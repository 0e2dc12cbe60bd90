/*
 * store-import.h - the upgrade from the state format before the database
 * (one directory per graph: graphs/ID/graph.json and an append-only
 * journal) into coopd.db, on the first start over such a directory.
 */
#ifndef COOPD_STORE_IMPORT_H
#define COOPD_STORE_IMPORT_H

#include <stdbool.h>

struct store_db;
struct proto_limits;

/* Imports every graphs/ID/graph.json (with its journal) under dir into db
 * in one transaction; once it has committed, moves the old files aside to
 * dir/imported/ (the logs stay where they are: graphs/ID/N.out|err is
 * also the new format's place).  Directories that cannot be read are
 * moved to dir/damaged/.  Done once: a meta row records it.  Returns 0 or
 * a negative errno (the old files are then untouched). */
int store_import(struct store_db *db, const char *dir, int graphs_fd,
		 const struct proto_limits *limits, bool sync);

#endif
