/*
 * job-slurm-spool.c - removing a deleted graph's Slurm spool directory.
 *
 * With slurm = on every graph that ran a node on Slurm has a directory
 * slurm_spool_dir/GRAPHID (job-slurm.c submit) holding its jobs' batch
 * scripts and output.  When the graph is deleted (`remove`, retention:
 * docs/durability.md "Retention") the state writer calls this after the
 * delete commits, off the loop, so that one user's Slurm graphs do not
 * fill the spool without bound.
 *
 * The directory belongs to the graph's owner, whose jobs can put anything
 * there: symbolic links, FIFOs, subdirectories, any number of files.  So
 * the spool and the graph's directory are opened with O_NOFOLLOW (a
 * symbolic link in place of either is not entered), only the names coopd
 * makes are unlinked (unlinkat removes a link, never its target, and
 * opens nothing, so a FIFO cannot block it; a directory under such a name
 * is refused by unlinkat, never entered), at most SLURM_SPOOL_SCAN_MAX
 * entries are read, and a directory with anything else left in it stays
 * where it is, logged once with its path (docs/slurm.md).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "job-slurm-spool.h"
#include "util-log.h"

/* Skips the decimal digits at *p (1 to 10 of them); 0 if there are none. */
static int skip_digits(const char **p)
{
	const char *s = *p;

	while (*s >= '0' && *s <= '9' && s - *p < 10)
		s++;
	if (s == *p || (*s >= '0' && *s <= '9'))
		return 0;
	*p = s;
	return 1;
}

/* IDX.sh, IDX.out, IDX.err, IDX.aN.out, IDX.aN.err (job-slurm.c
 * slurm_log_path and submit). */
int slurm_spool_name_ours(const char *name)
{
	const char *p = name;

	if (!skip_digits(&p) || *p++ != '.')
		return 0;
	if (strcmp(p, "sh") == 0)
		return 1;
	if (*p == 'a') {
		p++;
		if (!skip_digits(&p) || *p++ != '.')
			return 0;
	}
	return strcmp(p, "out") == 0 || strcmp(p, "err") == 0;
}

/* Unlinks coopd's names in the open directory dfd (which it closes).
 * Returns 1 if the scan stopped at SLURM_SPOOL_SCAN_MAX entries. */
static int unlink_ours(int dfd)
{
	DIR *dir = fdopendir(dfd);
	struct dirent *de;
	unsigned long seen = 0;
	int capped = 0;

	if (!dir) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(dir))) {
		if (++seen > SLURM_SPOOL_SCAN_MAX) {
			capped = 1;
			break;
		}
		if (slurm_spool_name_ours(de->d_name))
			(void)unlinkat(dirfd(dir), de->d_name, 0);
	}
	closedir(dir);
	return capped;
}

int slurm_spool_remove(const char *spool, const char *gid)
{
	int sfd, dfd, capped, r = 0;

	/* A graph id is a plain name; anything else is not looked up. */
	if (!gid[0] || gid[0] == '.' || strchr(gid, '/'))
		return -EINVAL;
	sfd = open(spool, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) {
		if (errno == ENOENT)
			return 0;
		return log_errno(LOG_WARNING, -errno, "slurm_spool_dir %s: cannot remove %s in it",
				 spool, gid);
	}
	/* O_NONBLOCK: whatever is there, the open does not wait. */
	dfd = openat(sfd, gid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (dfd < 0) {
		r = errno == ENOENT ? 0 : -errno;
		if (r < 0)
			log_errno(LOG_WARNING, r,
				  "Slurm spool directory %s/%s of a deleted graph: not a directory "
				  "coopd can open; left in place",
				  spool, gid);
		close(sfd);
		return r;
	}
	capped = unlink_ours(dfd);
	if (unlinkat(sfd, gid, AT_REMOVEDIR) < 0) {
		r = -errno;
		if (r == -ENOENT)
			r = 0;
		else if (r == -ENOTEMPTY || r == -EEXIST) {
			r = -ENOTEMPTY;
			log_notice("Slurm spool directory %s/%s of a deleted graph left in place: "
				   "it holds files coopd did not make%s",
				   spool, gid,
				   capped ? " (more entries than coopd reads: not all of its own "
					    "were removed)"
					  : "");
		} else {
			log_errno(
				LOG_WARNING, r,
				"cannot remove the Slurm spool directory %s/%s of a deleted graph",
				spool, gid);
		}
	}
	close(sfd);
	return r;
}
