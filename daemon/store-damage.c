/*
 * store-damage.c - moves a damaged state database aside.
 *
 * When coopd.db is not a database or SQLite finds it damaged where
 * start-up reads it (store_db_open_checked), coopd would otherwise not
 * start at all and serve no one until an operator came.  Instead the file
 * and its -wal and -shm go to STATE/damaged/ under a name with the time,
 * the operator gets one error line naming both paths and SQLite's message,
 * and coopd starts with an empty database (docs/durability.md, "Damage").
 * Nothing is deleted: the bytes stay as they were, for `sqlite3 .recover`.
 * Only damage moves a file: an I/O error, a permission, a read-only file
 * system or a newer schema are the operator's to fix and make coopd exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store-damage.h"
#include "util-log.h"

#define DAMAGED_DIR "damaged"

/* rename that never replaces: an earlier damaged database stays. */
static int rename_noreplace(int from_fd, const char *from, int to_fd, const char *to)
{
	if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A file system without RENAME_NOREPLACE: link fails on an
	 * existing name too. */
	if (linkat(from_fd, from, to_fd, to, 0) < 0)
		return -errno;
	return unlinkat(from_fd, from, 0) < 0 ? -errno : 0;
}

static bool name_taken(int dfd, const char *stem)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char name[512];
	struct stat st;

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", stem, suffix[i]);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			return true;
	}
	return false;
}

int store_damage_move_aside(int state_fd, const char *dir, const char *file, const char *why)
{
	char stamp[32], stem[256], from[512], to[512];
	time_t now = time(NULL);
	struct tm tm;
	int own_fd = -1, dfd, r = 0;

	if (state_fd < 0) {
		own_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (own_fd < 0)
			return log_errno(LOG_ERR, -errno, "cannot open %s to move %s aside", dir,
					 file);
		state_fd = own_fd;
	}
	if (mkdirat(state_fd, DAMAGED_DIR, 0700) < 0 && errno != EEXIST) {
		r = log_errno(LOG_ERR, -errno, "cannot create %s/%s", dir, DAMAGED_DIR);
		goto out;
	}
	/* By fd, never through a symlink planted at damaged/. */
	dfd = openat(state_fd, DAMAGED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		r = log_errno(LOG_ERR, -errno, "cannot open %s/%s", dir, DAMAGED_DIR);
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(stem, sizeof(stem), "%s.%s", file, stamp);
	for (int k = 1; name_taken(dfd, stem); k++) {
		if (k > 999) {
			r = log_errno(LOG_ERR, -EEXIST, "cannot move %s/%s aside", dir, file);
			goto out_dfd;
		}
		snprintf(stem, sizeof(stem), "%s.%s.%d", file, stamp, k);
	}
	/* The WAL before the database: a new coopd.db beside the old WAL
	 * would have SQLite replay the damaged database's pages into it. */
	for (int i = 0; i < 2; i++) {
		const char *suffix = i == 0 ? "-wal" : "-shm";

		snprintf(from, sizeof(from), "%s%s", file, suffix);
		snprintf(to, sizeof(to), "%s%s", stem, suffix);
		r = rename_noreplace(state_fd, from, dfd, to);
		if (r < 0 && r != -ENOENT) {
			log_errno(LOG_ERR, r, "cannot move %s/%s aside to %s/%s/%s", dir, from, dir,
				  DAMAGED_DIR, to);
			goto out_dfd;
		}
	}
	r = rename_noreplace(state_fd, file, dfd, stem);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot move %s/%s aside to %s/%s/%s", dir, file, dir,
			  DAMAGED_DIR, stem);
		goto out_dfd;
	}
	(void)fsync(dfd);
	(void)fsync(state_fd);
	log_err("state database %s/%s is damaged (%s): moved to %s/%s/%s (with its -wal and "
		"-shm); coopd starts with an empty one",
		dir, file, why && *why ? why : "no reason given", dir, DAMAGED_DIR, stem);
out_dfd:
	close(dfd);
out:
	if (own_fd >= 0)
		close(own_fd);
	return r;
}
