/*
 * job-boot.c - the boot id beside the process records (docs/security.md,
 * "Subreaper mode: only what is provably the job's").
 *
 * Crash recovery finds an interrupted job's processes by the pid and the
 * start time of its leader recorded at spawn.  A start time counts clock
 * ticks since boot: after a reboot the same pid and start time can name a
 * process that has nothing to do with the job.  So each coopd writes the
 * kernel's boot id (/proc/sys/kernel/random/boot_id, new at every boot)
 * into STATE/coopd.boot when it starts, and the next start trusts the
 * records only if the file names the boot it runs in.  No sync: a coopd
 * that crashed without a reboot leaves the file in the page cache, and a
 * machine that crashed reboots, which makes the records worthless anyway.
 * The file is opened relative to the checked state directory with
 * O_NOFOLLOW (store-lock.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "job-boot.h"
#include "util-log.h"

#define BOOT_ID_LEN 36 /* a UUID */

static int boot_read(int dfd, const char *path, char *buf)
{
	ssize_t n;
	int fd = openat(dfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, BOOT_ID_LEN);
	close(fd);
	if (n != BOOT_ID_LEN)
		return -EINVAL;
	buf[BOOT_ID_LEN] = '\0';
	return 0;
}

bool job_boot_same_and_record(int state_fd)
{
	char now[BOOT_ID_LEN + 1], was[BOOT_ID_LEN + 1];
	bool same;
	int fd;

	if (state_fd < 0 || boot_read(AT_FDCWD, "/proc/sys/kernel/random/boot_id", now) < 0) {
		log_warn(
			"the boot id is unknown: processes of interrupted jobs are not looked for");
		return false;
	}
	same = boot_read(state_fd, JOB_BOOT_FILE, was) == 0 && strcmp(was, now) == 0;
	(void)unlinkat(state_fd, JOB_BOOT_FILE ".new", 0);
	fd = openat(state_fd, JOB_BOOT_FILE ".new",
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, now, BOOT_ID_LEN) != BOOT_ID_LEN ||
	    renameat(state_fd, JOB_BOOT_FILE ".new", state_fd, JOB_BOOT_FILE) < 0)
		log_errno(LOG_WARNING, -errno,
			  "cannot record the boot id in %s: after a crash, the next start will "
			  "not look for this run's processes",
			  JOB_BOOT_FILE);
	if (fd >= 0)
		close(fd);
	return same;
}
