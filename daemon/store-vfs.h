/*
 * store-vfs.h - the SQLite VFS of coopd's connections: the default VFS
 * with each file wrapped, so that the errno of a failed I/O call is taken
 * when the call returns (store-vfs.c says why sqlite3_system_errno() is
 * not enough).  docs/durability.md, "When it is synced".
 */
#ifndef COOPD_STORE_VFS_H
#define COOPD_STORE_VFS_H

/* The name to give sqlite3_open_v2 (the VFS is registered at the first
 * call, never as the default), or NULL to use the default VFS if it could
 * not be registered (store_vfs_errno then never knows an errno). */
const char *store_vfs_name(void);

/* Forgets the errno this thread's connections last noted: called before
 * each SQLite call whose failure store-db.c maps to an errno. */
void store_vfs_clear(void);

/* The errno of the first I/O call of this thread that failed since
 * store_vfs_clear (a write, a sync, a read, an open... of coopd.db, its
 * WAL or its -shm), 0 if none failed with a system error. */
int store_vfs_errno(void);

#endif
