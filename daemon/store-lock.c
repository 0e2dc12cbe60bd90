/*
 * store-lock.c - one owner for the state directory (docs/security.md,
 * "The state directory: one owner, no redirection").
 *
 * coopd runs as root and writes below its state directory on behalf of
 * every user, so before it reads or changes anything there (before crash
 * recovery, before the store opens) it makes sure of two things:
 *
 *  1. The directory is coopd's own.  The path is resolved once (symbolic
 *     links of the existing part are followed by realpath()), then every
 *     directory from / down is opened relative to its parent with
 *     O_NOFOLLOW (and O_PATH: a parent such as a 0711 home needs only
 *     search permission) and checked on the open fd: it must belong to coopd's
 *     user or root, and nobody else may write to it.  A parent that others
 *     may write to is accepted only with the sticky bit (/tmp): others can
 *     then neither remove nor rename what is in it, so the checked path
 *     cannot be swapped under coopd.  The state directory itself must not
 *     be writable by others at all, sticky or not (they could plant files
 *     in it).  Missing directories are created 0700 on the way.  Since no
 *     other user can change any directory on the path afterwards, every
 *     later open below it (which also uses O_NOFOLLOW, see job-logfile.c)
 *     reaches what coopd put there.
 *
 *  2. No other coopd uses it.  An exclusive flock() on STATE/coopd.lock,
 *     taken without waiting and held by the open fd until coopd exits
 *     (the kernel drops it when the process dies, kill -9 included, so a
 *     crash never leaves a stale lock).  The holder's pid is written in
 *     the file for the message a second coopd prints before it exits 1.
 *     The fd is O_CLOEXEC: jobs never inherit the lock.  A child that was
 *     between fork and exec when coopd was killed still holds it for that
 *     moment, so a coopd that finds the lock held by a dead pid waits for it
 *     (a few seconds at most) instead of refusing to start.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-lock.h"
#include "util-log.h"

/* "name (uid N)" of a file owner, for messages. */
static const char *owner_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s (uid %u)", pw->pw_name, (unsigned)uid);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
	return buf;
}

/* Whether users other than coopd's and root may write to a directory with
 * this mode and group: the group bits count unless the group is root's. */
static bool writable_by_others(const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		return true;
	return (st->st_mode & S_IWGRP) && st->st_gid != 0 && st->st_gid != getegid();
}

/* Checks one directory of the path (open as fd). */
static int check_dir(const char *dir, const char *path, int fd, bool last)
{
	struct stat st;
	char who[256];

	if (fstat(fd, &st) < 0)
		return log_errno(LOG_ERR, -errno, "state directory %s: cannot stat %s", dir, path);
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		log_err("state directory %s: %s is owned by %s, not by coopd's user or root; "
			"refusing to use it",
			dir, path, owner_name(st.st_uid, who, sizeof(who)));
		return -EPERM;
	}
	if (writable_by_others(&st) && (last || !(st.st_mode & S_ISVTX))) {
		log_err("state directory %s: %s (owner %s, mode %04o) is writable by other "
			"users; refusing to use it",
			dir, path, owner_name(st.st_uid, who, sizeof(who)),
			(unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* The canonical form of dir: realpath() of its longest existing prefix,
 * followed by the missing components as given (no "." or ".." among
 * them: they would walk back up through directories not yet checked). */
static int resolve(const char *dir, char *buf, size_t size)
{
	char full[PATH_MAX], prefix[PATH_MAX], *canon;
	const char *rest;
	size_t end;
	int n;

	if (dir[0] == '/') {
		n = snprintf(full, sizeof(full), "%s", dir);
	} else {
		if (!getcwd(prefix, sizeof(prefix)))
			return -errno;
		n = snprintf(full, sizeof(full), "%s/%s", prefix, dir);
	}
	if (n < 0 || (size_t)n >= sizeof(full))
		return -ENAMETOOLONG;
	end = (size_t)n;
	for (;;) {
		memcpy(prefix, full, end);
		prefix[end] = '\0';
		canon = realpath(end ? prefix : "/", NULL);
		if (canon)
			break;
		if (errno != ENOENT)
			return -errno;
		while (end > 0 && full[end - 1] == '/')
			end--;
		while (end > 0 && full[end - 1] != '/')
			end--;
	}
	rest = full + end + strspn(full + end, "/");
	for (const char *p = rest; *p;) {
		size_t len = strcspn(p, "/");

		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
			free(canon);
			return -EINVAL;
		}
		p += len;
		p += strspn(p, "/");
	}
	n = snprintf(buf, size, "%s%s%s", canon, *rest && strcmp(canon, "/") != 0 ? "/" : "", rest);
	free(canon);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Opens and checks every directory of dir from / down; returns the fd of
 * the last one. */
static int open_checked(const char *dir, int *ret_fd)
{
	char path[PATH_MAX];
	char *p, *next;
	int fd, r;

	r = resolve(dir, path, sizeof(path));
	if (r < 0)
		return log_errno(LOG_ERR, r, "state directory %s: cannot resolve the path", dir);
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(LOG_ERR, -errno, "cannot open /");
	p = path + strspn(path, "/");
	r = check_dir(dir, "/", fd, *p == '\0');
	for (; r == 0 && *p; p = next) {
		int nfd;
		size_t n = strcspn(p, "/");
		bool last;

		next = p + n + strspn(p + n, "/");
		last = *next == '\0';
		p[n] = '\0';
		nfd = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT) {
			if (mkdirat(fd, p, 0700) < 0 && errno != EEXIST)
				r = log_errno(LOG_ERR, -errno, "cannot create state directory %s",
					      path);
			else
				nfd = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (r == 0 && nfd < 0)
			r = log_errno(LOG_ERR, -errno,
				      errno == ELOOP || errno == ENOTDIR
					      ? "state directory %s: %s is not a directory"
					      : "state directory %s: cannot open %s",
				      dir, path);
		if (r == 0)
			r = check_dir(dir, path, nfd, last);
		if (!last)
			p[n] = '/';
		close(fd);
		fd = nfd;
	}
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* The pid the lock's holder wrote in the file, or 0. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * The lock is held but the coopd that took it is gone (kill -9): one of its
 * children still has the lock's file open because it was between fork and
 * exec when coopd died (joining its cgroup, dropping privileges), and the
 * kernel drops the lock when that child execs or exits.  Waits for that,
 * blocked in flock() and woken by an alarm after LOCK_STRAY_WAIT_S at the
 * latest.  0 once locked, -EWOULDBLOCK if still held.
 */
#define LOCK_STRAY_WAIT_S 10
static int wait_for_stray_holder(int fd)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	sigset_t set, oldset;
	int r;

	/* No SA_RESTART: the alarm must end the blocked flock() with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	if (sigaction(SIGALRM, &sa, &old) < 0)
		return -errno;
	(void)pthread_sigmask(SIG_UNBLOCK, &set, &oldset);
	alarm(LOCK_STRAY_WAIT_S);
	r = flock(fd, LOCK_EX) < 0 ? -errno : 0;
	alarm(0);
	(void)pthread_sigmask(SIG_SETMASK, &oldset, NULL);
	(void)sigaction(SIGALRM, &old, NULL);
	return r == -EINTR ? -EWOULDBLOCK : r;
}

/* Reports the holder of the lock: the pid it wrote, if readable. */
static int report_busy(const char *dir, int fd)
{
	long pid = holder_pid(fd);

	if (pid > 0)
		log_err("state directory %s is in use by coopd (pid %ld)", dir, pid);
	else
		log_err("state directory %s is in use by coopd (pid unknown: it is starting)", dir);
	return -EBUSY;
}

int store_lock_take(const char *dir, int *ret_dir_fd, int *ret_lock_fd)
{
	char pid[32];
	struct stat st;
	int dfd = -1, fd, r, n;

	r = open_checked(dir, &dfd);
	if (r < 0)
		return r;
	fd = openat(dfd, STORE_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = log_errno(LOG_ERR, -errno, "cannot open %s/%s", dir, STORE_LOCK_FILE);
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		log_err("%s/%s is not a regular file of coopd's user; refusing to use it", dir,
			STORE_LOCK_FILE);
		r = -EPERM;
		goto fail;
	}
	r = flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
	if (r == -EWOULDBLOCK) {
		long holder = holder_pid(fd);

		if (holder > 0 && kill((pid_t)holder, 0) < 0 && errno == ESRCH) {
			log_notice("state directory %s: coopd (pid %ld) is gone but its lock is "
				   "still held by a process it was starting; waiting for it",
				   dir, holder);
			r = wait_for_stray_holder(fd);
		}
	}
	if (r < 0) {
		r = r == -EWOULDBLOCK
			    ? report_busy(dir, fd)
			    : log_errno(LOG_ERR, r, "cannot lock %s/%s", dir, STORE_LOCK_FILE);
		goto fail;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_errno(LOG_WARNING, -errno, "cannot write the pid into %s/%s", dir,
			  STORE_LOCK_FILE);
	*ret_dir_fd = dfd;
	*ret_lock_fd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

void store_lock_release(int dir_fd, int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd);
	if (dir_fd >= 0)
		close(dir_fd);
}
