/*
 * store-vfs.c - the errno of a failed I/O call of the state database,
 * taken when the call fails (docs/durability.md, "When it is synced").
 *
 * Why not sqlite3_system_errno(): SQLite sets it (sqlite3SystemError, from
 * the unix VFS's xGetLastError, which returns the thread's errno) only on
 * some of its error paths, at the time the error reaches them.  A COMMIT
 * whose write of the WAL or whose fdatasync fails does not set it with
 * Debian's SQLite 3.40: the connection keeps the errno of its previous
 * failure.  The writer, after a failed transaction, opens its connection
 * again and checkpoints; with the disk still failing, that checkpoint's
 * error sets the new connection's errno, and the next failed COMMIT was
 * named with it: a read-only file system reported as an I/O error after
 * a failing fsync, and the other way round (tests/integration/test-daemon-
 * store-faults.sh, both orders).  Nor is SQLITE_FCNTL_LAST_ERRNO enough:
 * the unix VFS keeps a lastErrno per file but never clears it, it is the
 * main database file's (the WAL is a file of its own), and which file
 * failed last is not known.
 *
 * So every file of coopd's connections is wrapped: this VFS is the default
 * one with xOpen replaced, and each method of a file calls the default
 * file's method, then notes errno if it failed with a system error.  The
 * note is per thread (each connection is used by one thread at a time,
 * and SQLite calls the VFS on the thread that called it); store-db.c
 * clears it before each call and reads it when the call fails.  The first
 * failure since the clear is kept: SQLite stops at the first failure it
 * does not ignore, and what it calls afterwards is cleanup (a rollback,
 * unlocks) whose failures would hide the cause.  File controls are not
 * noted: they are hints and queries (a size hint whose failure SQLite
 * ignores), not the I/O a transaction depends on.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>

#include "store-vfs.h"

#define STORE_VFS_NAME "coopd"

/* One file of ours: the default VFS's file follows it in the same
 * allocation (szOsFile below), aligned for any type. */
struct vfs_file {
	sqlite3_file base; /* pMethods: one of io_methods[] */
	sqlite3_file *real;
};

#define REAL_OFFSET                                                                    \
	((sizeof(struct vfs_file) + alignof(max_align_t) - 1) / alignof(max_align_t) * \
	 alignof(max_align_t))

static sqlite3_vfs *real_vfs;
static sqlite3_vfs vfs;
static bool registered;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static _Thread_local int noted;

/* errno as a failed call left it, if that call failed with a system error:
 * not a short read (SQLite's own "no more bytes", errno untouched) or no
 * memory, nor SQLITE_FULL (a full disk, ENOSPC in store-db.c) or
 * SQLITE_BUSY (another connection's lock).  A read failing with EIO is
 * SQLITE_IOERR_CORRUPTFS, which SQLite may turn into SQLITE_CORRUPT: it is
 * noted, so that store-db.c names the EIO rather than damage.  errno was
 * set to 0 before the call, so a value is the call's own. */
static int note(int rc)
{
	int e = errno;

	if (noted || e <= 0)
		return rc;
	if (((rc & 0xff) == SQLITE_IOERR && rc != SQLITE_IOERR_SHORT_READ &&
	     rc != SQLITE_IOERR_NOMEM) ||
	    (rc & 0xff) == SQLITE_CANTOPEN)
		noted = e;
	return rc;
}

static inline sqlite3_file *real(sqlite3_file *f)
{
	return ((struct vfs_file *)f)->real;
}

/* The file is closed whatever the result; a failed close (its fd already
 * gone) is no cause of a failed transaction. */
static int vfs_close(sqlite3_file *f)
{
	return real(f)->pMethods->xClose(real(f));
}

static int vfs_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	errno = 0;
	return note(real(f)->pMethods->xRead(real(f), buf, n, off));
}

static int vfs_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	errno = 0;
	return note(real(f)->pMethods->xWrite(real(f), buf, n, off));
}

static int vfs_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	errno = 0;
	return note(real(f)->pMethods->xTruncate(real(f), size));
}

static int vfs_sync(sqlite3_file *f, int flags)
{
	errno = 0;
	return note(real(f)->pMethods->xSync(real(f), flags));
}

static int vfs_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	errno = 0;
	return note(real(f)->pMethods->xFileSize(real(f), size));
}

static int vfs_lock(sqlite3_file *f, int level)
{
	errno = 0;
	return note(real(f)->pMethods->xLock(real(f), level));
}

static int vfs_unlock(sqlite3_file *f, int level)
{
	errno = 0;
	return note(real(f)->pMethods->xUnlock(real(f), level));
}

static int vfs_check_reserved_lock(sqlite3_file *f, int *out)
{
	errno = 0;
	return note(real(f)->pMethods->xCheckReservedLock(real(f), out));
}

static int vfs_file_control(sqlite3_file *f, int op, void *arg)
{
	return real(f)->pMethods->xFileControl(real(f), op, arg);
}

static int vfs_sector_size(sqlite3_file *f)
{
	return real(f)->pMethods->xSectorSize(real(f));
}

static int vfs_device_characteristics(sqlite3_file *f)
{
	return real(f)->pMethods->xDeviceCharacteristics(real(f));
}

static int vfs_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp)
{
	errno = 0;
	return note(real(f)->pMethods->xShmMap(real(f), region, size, extend, pp));
}

static int vfs_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	errno = 0;
	return note(real(f)->pMethods->xShmLock(real(f), offset, n, flags));
}

static void vfs_shm_barrier(sqlite3_file *f)
{
	real(f)->pMethods->xShmBarrier(real(f));
}

static int vfs_shm_unmap(sqlite3_file *f, int delete_flag)
{
	errno = 0;
	return note(real(f)->pMethods->xShmUnmap(real(f), delete_flag));
}

static int vfs_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	errno = 0;
	return note(real(f)->pMethods->xFetch(real(f), off, n, pp));
}

static int vfs_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	errno = 0;
	return note(real(f)->pMethods->xUnfetch(real(f), off, p));
}

/* Our methods in the version of the default file's (io_methods[v - 1]):
 * SQLite decides from the version and the pointers whether a file can
 * share memory (WAL) or be mapped, so ours claim no more than it can. */
#define VFS_METHODS(v)                                                                            \
	{                                                                                         \
		.iVersion = (v), .xClose = vfs_close, .xRead = vfs_read, .xWrite = vfs_write,     \
		.xTruncate = vfs_truncate, .xSync = vfs_sync, .xFileSize = vfs_file_size,         \
		.xLock = vfs_lock, .xUnlock = vfs_unlock,                                         \
		.xCheckReservedLock = vfs_check_reserved_lock, .xFileControl = vfs_file_control,  \
		.xSectorSize = vfs_sector_size,                                                   \
		.xDeviceCharacteristics = vfs_device_characteristics,                             \
		.xShmMap = (v) >= 2 ? vfs_shm_map : NULL,                                         \
		.xShmLock = (v) >= 2 ? vfs_shm_lock : NULL,                                       \
		.xShmBarrier = (v) >= 2 ? vfs_shm_barrier : NULL,                                 \
		.xShmUnmap = (v) >= 2 ? vfs_shm_unmap : NULL,                                     \
		.xFetch = (v) >= 3 ? vfs_fetch : NULL, .xUnfetch = (v) >= 3 ? vfs_unfetch : NULL, \
	}

static const sqlite3_io_methods io_methods[3] = {VFS_METHODS(1), VFS_METHODS(2), VFS_METHODS(3)};

static int vfs_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags,
		    int *out_flags)
{
	struct vfs_file *p = (struct vfs_file *)f;
	const sqlite3_io_methods *m;
	int rc;

	(void)v;
	p->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	p->real->pMethods = NULL;
	errno = 0;
	rc = note(real_vfs->xOpen(real_vfs, name, p->real, flags, out_flags));
	/* SQLite calls xClose of a file whose pMethods is set, even after a
	 * failed open: ours only if the default file has methods. */
	m = p->real->pMethods;
	if (!m)
		p->base.pMethods = NULL;
	else
		p->base.pMethods = &io_methods[m->iVersion >= 3 ? 2 : m->iVersion >= 2 ? 1 : 0];
	return rc;
}

/* The default VFS copied whole (its other methods ignore the VFS they are
 * given or read only its pAppData and mxPathname, which the copy keeps),
 * with our files in place of its. */
static void vfs_register(void)
{
	sqlite3_vfs *dflt = sqlite3_vfs_find(NULL);

	if (!dflt)
		return;
	real_vfs = dflt;
	vfs = *dflt;
	vfs.pNext = NULL;
	vfs.zName = STORE_VFS_NAME;
	vfs.szOsFile = (int)(REAL_OFFSET + (size_t)dflt->szOsFile);
	vfs.xOpen = vfs_open;
	registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

const char *store_vfs_name(void)
{
	(void)pthread_once(&register_once, vfs_register);
	return registered ? STORE_VFS_NAME : NULL;
}

void store_vfs_clear(void)
{
	noted = 0;
}

int store_vfs_errno(void)
{
	return noted;
}
