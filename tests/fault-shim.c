/*
 * fault-shim.c - an LD_PRELOAD library for the store's fault tests
 * (coopd_fault_shim of tests/lib-coopd.sh builds it with cc).  It
 * makes fsync and fdatasync fail with EIO, or writes to coopd.db* fail with
 * EROFS, while the file named by $COOPD_FAULT_FILE holds "eio" or "rofs";
 * "slow" makes each sync take 20 ms (so that concurrent submits must share
 * a commit); "hold" makes every read of coopd.db or its WAL wait until the
 * file says something else (test-daemon-fair-readback.sh: a read that
 * never ends must not hold the loop); "stall" makes every fsync and
 * fdatasync wait until the file says something else, first creating
 * $COOPD_FAULT_FILE.stalled so the test knows a sync is held (test-coopctl-
 * run-interrupt.sh: a submit whose answer does not come).  For test-daemon-
 * store-open-faults.sh (an I/O error is not damage): "open-eio" and
 * "open-rofs" make every open of a file named coopd.db fail with EIO or
 * EROFS, "sqlite-eio" only those without O_CREAT (SQLite's, after coopd
 * made the file), "wal-eio" every open of coopd.db-wal, and "read-eio"
 * every read of coopd.db or its WAL fail with EIO.  Anything else, or no
 * file, passes every call through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char fault_mode(void)
{
	const char *path = getenv("COOPD_FAULT_FILE");
	char buf[16] = "";
	int fd, saved = errno;

	if (!path)
		return 0;
	/* Not open(): this library's own open() asks fault_mode(). */
	fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	errno = saved;
	if (strncmp(buf, "eio", 3) == 0)
		return 'e';
	if (strncmp(buf, "rofs", 4) == 0)
		return 'r';
	if (strncmp(buf, "slow", 4) == 0)
		return 's';
	if (strncmp(buf, "hold", 4) == 0)
		return 'h';
	if (strncmp(buf, "stall", 5) == 0)
		return 't';
	if (strncmp(buf, "open-eio", 8) == 0)
		return 'o';
	if (strncmp(buf, "open-rofs", 9) == 0)
		return 'O';
	if (strncmp(buf, "wal-eio", 7) == 0)
		return 'w';
	if (strncmp(buf, "sqlite-eio", 10) == 0)
		return 'q';
	if (strncmp(buf, "read-eio", 8) == 0)
		return 'R';
	return 0;
}

/* "stall": says so in $COOPD_FAULT_FILE.stalled, then waits for the test
 * to write something else (polling the file is how the test lets it go). */
static void sync_stall(void)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s.stalled", getenv("COOPD_FAULT_FILE"));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	while (fault_mode() == 't')
		nanosleep(&ts, NULL);
}

static int sync_fault(void)
{
	char m = fault_mode();

	if (m == 'e') {
		errno = EIO;
		return -1;
	}
	if (m == 't') {
		int saved = errno;

		sync_stall();
		errno = saved;
	}
	if (m == 's') {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	return 0;
}

int fsync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return sync_fault() < 0 ? -1 : real(fd);
}

int fdatasync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return sync_fault() < 0 ? -1 : real(fd);
}

/* Whether fd is the database or its WAL. */
static int is_db(int fd)
{
	char link[64], target[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	return strstr(target, "/coopd.db") != NULL && strstr(target, "-shm") == NULL;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	int saved = errno;

	if (!real)
		real = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite64");
	if (fault_mode() == 'r' && is_db(fd)) {
		errno = EROFS;
		return -1;
	}
	errno = saved;
	return real(fd, buf, len, off);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite64(fd, buf, len, off);
}

ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	static ssize_t (*real)(int, void *, size_t, off_t);
	struct timespec ts = {0, 5 * 1000 * 1000};
	int saved = errno;
	char m;

	if (!real)
		real = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
	/* A test tool: polling the file is how the test lets it go. */
	while ((m = fault_mode()) == 'h' && is_db(fd))
		nanosleep(&ts, NULL);
	if (m == 'R' && is_db(fd)) {
		errno = EIO;
		return -1;
	}
	errno = saved;
	return real(fd, buf, len, off);
}

/* The errno an open of path fails with in the open-* modes, or 0. */
static int open_fault(const char *path, int flags)
{
	const char *base = strrchr(path, '/');
	char m;

	base = base ? base + 1 : path;
	if (strncmp(base, "coopd.db", 8) != 0)
		return 0;
	m = fault_mode();
	if (strcmp(base, "coopd.db") == 0 && (m == 'o' || m == 'O'))
		return m == 'o' ? EIO : EROFS;
	if (strcmp(base, "coopd.db") == 0 && m == 'q' && !(flags & O_CREAT))
		return EIO;
	if (strcmp(base, "coopd.db-wal") == 0 && m == 'w')
		return EIO;
	return 0;
}

static int open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

static int shim_openat(const char *sym, int dfd, const char *path, int flags, int mode)
{
	int (*real)(int, const char *, int, ...);
	int e = open_fault(path, flags);

	if (e) {
		errno = e;
		return -1;
	}
	real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, sym);
	return real(dfd, path, flags, mode);
}

static int shim_open(const char *sym, const char *path, int flags, int mode)
{
	int (*real)(const char *, int, ...);
	int e = open_fault(path, flags);

	if (e) {
		errno = e;
		return -1;
	}
	real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);
	return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return shim_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return shim_open("open64", path, flags, mode);
}

int openat(int dfd, const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return shim_openat("openat", dfd, path, flags, mode);
}

int openat64(int dfd, const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return shim_openat("openat64", dfd, path, flags, mode);
}
