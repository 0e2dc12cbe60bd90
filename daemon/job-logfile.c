/*
 * job-logfile.c - where exec jobs' output goes: STATE/graphs/GRAPHID/N.out
 * and N.err (docs/security.md, "The state directory"); N.A.out and N.A.err
 * for attempt A > 1 of a node with retries (coopd.graph(5), RETRIES).
 *
 * Every file is reached from the state directory's fd that store-lock.c
 * checked at start-up, one component at a time, with O_NOFOLLOW: no
 * symbolic link (planted by whoever could once write there) redirects
 * coopd's writes onto another file or its reads out of another file.  A
 * log is created with O_EXCL after removing whatever had its name
 * (unlinkat removes a link itself, not what it points to), so a job's
 * output only ever lands in a new file of coopd's; a log is read only if
 * it is a regular file owned by coopd's user (O_NONBLOCK so that a FIFO
 * put in its place cannot block the loop before the check).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopd.h"
#include "job-logfile.h"

#define LOGFILE_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* The graph's log directory (created when create is set). */
static int logfile_dir(struct coopd *d, const char *gid, bool create)
{
	int gfd, fd;

	if (d->state_fd < 0)
		return -EBADF;
	if (create && mkdirat(d->state_fd, "graphs", 0700) < 0 && errno != EEXIST)
		return -errno;
	gfd = openat(d->state_fd, "graphs", LOGFILE_DIR_FLAGS);
	if (gfd < 0)
		return -errno;
	if (create && mkdirat(gfd, gid, 0700) < 0 && errno != EEXIST) {
		fd = -errno;
		close(gfd);
		return fd;
	}
	fd = openat(gfd, gid, LOGFILE_DIR_FLAGS);
	if (fd < 0)
		fd = -errno;
	close(gfd);
	return fd;
}

/* N.out, or N.A.out for attempt A > 1 of a node with retries. */
static void logfile_name(uint32_t idx, unsigned attempt, int stream, char *buf, size_t size)
{
	if (attempt > 1)
		snprintf(buf, size, "%u.%u.%s", idx, attempt, stream ? "err" : "out");
	else
		snprintf(buf, size, "%u.%s", idx, stream ? "err" : "out");
}

int logfile_create(struct coopd *d, const char *gid, uint32_t idx, int stream)
{
	return logfile_create_attempt(d, gid, idx, 1, stream);
}

int logfile_open_read(struct coopd *d, const char *gid, uint32_t idx, int stream)
{
	return logfile_open_read_attempt(d, gid, idx, 1, stream);
}

int logfile_create_attempt(struct coopd *d, const char *gid, uint32_t idx, unsigned attempt,
			   int stream)
{
	char name[32];
	int dfd = logfile_dir(d, gid, true), fd;

	if (dfd < 0)
		return dfd;
	logfile_name(idx, attempt, stream, name, sizeof(name));
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		fd = -errno;
		close(dfd);
		return fd;
	}
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = -errno;
	close(dfd);
	return fd;
}

int logfile_open_read_attempt(struct coopd *d, const char *gid, uint32_t idx, unsigned attempt,
			      int stream)
{
	char name[32];
	struct stat st;
	int dfd = logfile_dir(d, gid, false), fd;

	if (dfd < 0)
		return dfd;
	logfile_name(idx, attempt, stream, name, sizeof(name));
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(dfd);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int logfile_link(struct coopd *d, const char *from_gid, const char *to_gid, uint32_t idx,
		 unsigned attempt, int stream)
{
	char name[32];
	int from = logfile_dir(d, from_gid, false), to, r = 0;

	if (from < 0)
		return from;
	to = logfile_dir(d, to_gid, true);
	if (to < 0) {
		close(from);
		return to;
	}
	logfile_name(idx, attempt, stream, name, sizeof(name));
	/* No AT_SYMLINK_FOLLOW: a symbolic link planted there is linked as
	 * itself, and logfile_open_read() refuses to read it. */
	if (linkat(from, name, to, name, 0) < 0)
		r = -errno;
	close(from);
	close(to);
	return r;
}
