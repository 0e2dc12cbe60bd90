/*
 * job-cgroup.c - the cgroup v2 side of exec jobs: where coopd's subtree
 * is, one directory per job, signalling and killing a job's cgroup, and
 * the clean-up of what a crashed instance left behind (see job-cgroup.h).
 *
 * The cgroup2 filesystem is used for tracking with no controller: a cgroup
 * here is a set of processes that nothing can leave (a job runs without
 * write access to the cgroup files, which belong to coopd's user), with
 * cgroup.kill to end them all and cgroup.events to learn when they are
 * gone.  Only a job with `limits` needs controllers (cpu, memory, pids):
 * coopd enables for its job cgroups those its own cgroup was given, and a
 * limit that needs a missing one is refused at submit.  The mount point is read from
 * /proc/self/mountinfo, never assumed: hybrid layouts mount it at /sys/fs/cgroup/unified.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "job-cgroup.h"
#include "job-proc.h"
#include "util-log.h"

#define STALE_WAIT_MS 5000 /* start-up: bound on waiting for a killed cgroup */

struct job_cgroups {
	char *path;           /* the instance directory */
	int fd;               /* O_PATH of path */
	bool delegated;       /* path is coopd's own (systemd) cgroup */
	unsigned controllers; /* CGROUP_CTRL_* the job cgroups have */
};

const char *cgroup_instance_path(const struct job_cgroups *cg)
{
	return cg->path;
}

int cgroup_instance_fd(const struct job_cgroups *cg)
{
	return cg->fd;
}

int cgroup_job_name(const char *gid, unsigned idx, char *buf, size_t size)
{
	int n = snprintf(buf, size, "job-%s-%u", gid, idx);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Undoes the octal escapes (\040 for a space) of a mountinfo field. */
static void unescape_mount_field(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The first cgroup2 mount of /proc/self/mountinfo: its mount point and the
 * hierarchy path it shows (the "root" field, "/" unless bind-mounted). */
static int find_cgroup2_mount(char **ret_mnt, char **ret_root)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint options [optional...] -
		 * fstype source super-options */
		char *fields[5], *dash = strstr(line, " - "), *save = NULL, *p = line;
		int k;

		if (!dash || strncmp(dash + 3, "cgroup2 ", 8) != 0)
			continue;
		*dash = '\0';
		for (k = 0; k < 5; k++) {
			fields[k] = strtok_r(p, " ", &save);
			p = NULL;
			if (!fields[k])
				break;
		}
		if (k < 5)
			continue;
		unescape_mount_field(fields[3]);
		unescape_mount_field(fields[4]);
		*ret_root = strdup(fields[3]);
		*ret_mnt = strdup(fields[4]);
		if (!*ret_root || !*ret_mnt) {
			free(*ret_root);
			free(*ret_mnt);
			r = -ENOMEM;
		} else {
			r = 0;
		}
		break;
	}
	free(line);
	fclose(f);
	return r;
}

/* coopd's cgroup v2 path (the "0::" line of /proc/self/cgroup). */
static int own_cgroup(char **ret)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			*ret = strdup(line + 3);
			r = *ret ? 0 : -ENOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	return r;
}

/* Whether "populated 1" is in the cgroup.events of dir (fd, O_PATH ok). */
static int read_populated(int fd)
{
	char buf[256], *p;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	p = strstr(buf, "populated ");
	if (!p)
		return -EIO;
	return p[10] == '1';
}

/* The directory path under dir (a directory fd), for readdir; NULL if it
 * cannot be opened. */
static DIR *dir_open_at(int dir, const char *path)
{
	int fd = openat(dir, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close(fd);
	return d;
}

static int write_at(int dfd, const char *path, const char *text)
{
	int fd = openat(dfd, path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Signals every pid in dir/cgroup.procs and in its sub-cgroups; appends
 * pids not yet in seen.  Returns how many were signalled. */
static int signal_tree(int dir, int sig, pid_t *seen, size_t *n_seen, size_t seen_cap,
		       pid_t skip_pgid)
{
	int fd = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC), count = 0;
	char buf[8192], part[16];
	size_t plen = 0;
	ssize_t n;
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			pid_t pid;

			if (buf[i] != '\n') {
				if (plen < sizeof(part) - 1)
					part[plen++] = buf[i];
				continue;
			}
			part[plen] = '\0';
			plen = 0;
			pid = (pid_t)atoi(part);
			if (pid <= 1 || (skip_pgid > 0 && getpgid(pid) == skip_pgid))
				continue;
			if (kill(pid, sig) == 0)
				count++;
			if (seen) {
				size_t k;

				for (k = 0; k < *n_seen && seen[k] != pid; k++)
					;
				if (k == *n_seen && *n_seen < seen_cap)
					seen[(*n_seen)++] = pid;
			}
		}
	}
	close(fd);
	/* Sub-cgroups exist only if a job running as root made them. */
	if (!(d = dir_open_at(dir, ".")))
		return count;
	while ((de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0) {
			int k = signal_tree(sub, sig, seen, n_seen, seen_cap, skip_pgid);

			if (k > 0)
				count += k;
			close(sub);
		}
	}
	closedir(d);
	return count;
}

/* Removes the cgroup dir (name under parent) and its sub-cgroups, depth
 * first.  -EBUSY if a process is still in one. */
static int remove_tree(int parent, const char *name)
{
	DIR *d;
	struct dirent *de;

	if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY && errno != ENOTEMPTY)
		return -errno;
	if (!(d = dir_open_at(parent, name)))
		return -EBUSY;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			(void)remove_tree(dirfd(d), de->d_name);
	closedir(d);
	return unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -errno;
}

/* SIGKILLs everything in dir (name under parent). */
static int kill_cgroup(int parent, const char *name)
{
	char path[PATH_MAX];
	int dfd, r;

	snprintf(path, sizeof(path), "%s/cgroup.kill", name);
	r = write_at(parent, path, "1");
	if (r != -ENOENT && r != -EACCES)
		return r;
	/* No cgroup.kill (Linux < 5.14): SIGKILL the pids listed.  A process
	 * forking meanwhile is caught by the caller's next round. */
	dfd = openat(parent, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = signal_tree(dfd, SIGKILL, NULL, NULL, 0, 0);
	close(dfd);
	return r < 0 ? r : 0;
}

/* Start-up only: kills what is in the cgroup name (under parent), waits
 * (bounded) until it is empty and removes it.  Returns the number of
 * processes that were in it, or a negative errno. */
static int kill_stale(int parent, const char *name)
{
	char path[PATH_MAX];
	int fd, dfd, k, r, waited = 0;

	dfd = openat(parent, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	k = signal_tree(dfd, 0, NULL, NULL, 0, 0);
	close(dfd);
	snprintf(path, sizeof(path), "%s/cgroup.events", name);
	fd = openat(parent, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLPRI};

		r = read_populated(fd);
		if (r <= 0)
			break;
		(void)kill_cgroup(parent, name);
		if (waited >= STALE_WAIT_MS) {
			r = -ETIMEDOUT;
			break;
		}
		/* cgroup.events raises POLLPRI when it changes; a short bound
		 * also covers the fallback of kill_cgroup (forks meanwhile). */
		(void)poll(&p, 1, 100);
		waited += 100;
	}
	close(fd);
	if (r == 0)
		r = remove_tree(parent, name);
	return r < 0 ? r : (k > 0 ? k : 0);
}

/* Delegated mode: job-* directories found at start are a crashed run's. */
static void clean_stale_jobs(struct job_cgroups *cg)
{
	DIR *d;
	struct dirent *de;

	if (!(d = dir_open_at(cg->fd, ".")))
		return;
	while ((de = readdir(d))) {
		int k;

		if (de->d_type != DT_DIR || strncmp(de->d_name, "job-", 4) != 0)
			continue;
		k = kill_stale(dirfd(d), de->d_name);
		if (k < 0)
			log_errno(LOG_WARNING, k, "cannot remove the stale cgroup %s/%s", cg->path,
				  de->d_name);
		else
			log_notice("removed the cgroup %s/%s left from before the restart "
				   "(%d process(es) killed)",
				   cg->path, de->d_name, k);
	}
	closedir(d);
}

/* Instances of coopd that are gone left coopd-PID-START under base. */
static void clean_stale_instances(int base, const char *base_path)
{
	DIR *d;
	struct dirent *de;

	if (!(d = dir_open_at(base, ".")))
		return;
	while ((de = readdir(d))) {
		int pid, end = 0, k;
		unsigned long long start;

		if (de->d_type != DT_DIR ||
		    sscanf(de->d_name, "coopd-%d-%llu%n", &pid, &start, &end) != 2 ||
		    de->d_name[end] != '\0')
			continue;
		/* The same pid and start time: that coopd is alive. */
		if (proc_start_time(pid) == (uint64_t)start)
			continue;
		k = kill_stale(dirfd(d), de->d_name);
		if (k == -ENOENT)
			continue; /* another coopd starting at once removed it */
		if (k < 0)
			log_errno(LOG_WARNING, k, "cannot remove the stale cgroup %s/%s", base_path,
				  de->d_name);
		else
			log_notice("removed the cgroup %s/%s of a coopd that is gone "
				   "(%d process(es) killed)",
				   base_path, de->d_name, k);
	}
	closedir(d);
}

/* systemd marks a cgroup it delegated with this extended attribute. */
static bool is_delegated(const char *path)
{
	char v[8];

	return getxattr(path, "trusted.delegate", v, sizeof(v)) > 0 ||
	       getxattr(path, "user.delegate", v, sizeof(v)) > 0;
}

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *p;

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	p = malloc(la + strlen(b) + 2);
	if (p)
		sprintf(p, "%.*s%s%s", (int)la, a, *b ? "/" : "", b);
	return p;
}

/* Delegated: coopd moves itself into OWN/daemon and uses OWN. */
static int open_delegated(struct job_cgroups *cg)
{
	int r;

	if (mkdirat(cg->fd, "daemon", 0755) < 0 && errno != EEXIST)
		return -errno;
	r = write_at(cg->fd, "daemon/cgroup.procs", "0");
	if (r < 0)
		return r;
	cg->delegated = true;
	clean_stale_jobs(cg);
	return 0;
}

/* Otherwise: BASE/coopd-PID-START. */
static int open_instance(struct job_cgroups *cg, const char *base_path)
{
	char name[64];
	char *path;
	int base, fd;

	base = open(base_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (base < 0)
		return -errno;
	if (faccessat(base, "cgroup.procs", F_OK, 0) < 0) {
		close(base);
		return -ENOTDIR; /* not a cgroup2 directory */
	}
	snprintf(name, sizeof(name), "coopd-%d-%llu", (int)getpid(),
		 (unsigned long long)proc_start_time(getpid()));
	if (mkdirat(base, name, 0755) < 0 && errno != EEXIST) {
		int r = -errno;

		close(base);
		return r;
	}
	/* Only once we know we may write here (a user instance may not). */
	clean_stale_instances(base, base_path);
	fd = openat(base, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	close(base);
	path = path_join(base_path, name);
	if (fd < 0 || !path) {
		if (fd >= 0)
			close(fd);
		free(path);
		return -ENOMEM;
	}
	close(cg->fd);
	free(cg->path);
	cg->fd = fd;
	cg->path = path;
	return 0;
}

static void enable_controllers(struct job_cgroups *cg);

int cgroup_open(const char *root, struct job_cgroups **ret, const char **ret_why)
{
	struct job_cgroups *cg;
	char *mnt = NULL, *mroot = NULL, *own = NULL;
	int r;

	*ret = NULL;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return -ENOMEM;
	cg->fd = -1;
	if (root) {
		cg->fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->fd < 0) {
			r = -errno;
			*ret_why = "cannot open cgroup_root";
			goto fail;
		}
		r = open_instance(cg, root);
		if (r < 0)
			*ret_why = r == -ENOTDIR ? "cgroup_root is not a cgroup2 directory"
						 : "cannot create a directory in cgroup_root";
		goto done;
	}
	r = find_cgroup2_mount(&mnt, &mroot);
	if (r < 0) {
		*ret_why = "no cgroup2 file system is mounted";
		goto fail;
	}
	r = own_cgroup(&own);
	if (r < 0) {
		*ret_why = "no cgroup v2 line in /proc/self/cgroup";
		goto fail;
	}
	/* Our own cgroup as seen under this mount (a bind mount shows a
	 * sub-tree: its root is a prefix of our path). */
	if (strcmp(own, "/") != 0 && strncmp(own, mroot, strlen(mroot)) == 0) {
		cg->path = path_join(mnt, own + (strcmp(mroot, "/") == 0 ? 0 : strlen(mroot)));
		if (!cg->path) {
			r = -ENOMEM;
			goto fail;
		}
		if (is_delegated(cg->path) && access(cg->path, W_OK) == 0) {
			cg->fd = open(cg->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (cg->fd < 0) {
				r = -errno;
				*ret_why = "cannot open coopd's own cgroup";
				goto fail;
			}
			r = open_delegated(cg);
			if (r < 0)
				*ret_why = "cannot move coopd into the leaf cgroup 'daemon'";
			goto done;
		}
	}
	r = open_instance(cg, mnt);
	if (r < 0)
		*ret_why = "the cgroup2 mount is not writable";
done:
	if (r < 0)
		goto fail;
	enable_controllers(cg);
	free(mnt);
	free(mroot);
	free(own);
	*ret = cg;
	return 0;
fail:
	free(mnt);
	free(mroot);
	free(own);
	if (cg->fd >= 0)
		close(cg->fd);
	free(cg->path);
	free(cg);
	return r;
}

static const struct {
	const char *name;
	unsigned bit;
} ctrl_names[] = {
	{"cpu", CGROUP_CTRL_CPU},
	{"memory", CGROUP_CTRL_MEMORY},
	{"pids", CGROUP_CTRL_PIDS},
};

/* The CGROUP_CTRL_* bits named in a controller list (cgroup.controllers,
 * cgroup.subtree_control: names separated by spaces). */
static unsigned ctrl_parse(const char *text)
{
	unsigned bits = 0;
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, " \n");

		for (size_t i = 0; i < sizeof(ctrl_names) / sizeof(ctrl_names[0]); i++)
			if (strlen(ctrl_names[i].name) == len &&
			    strncmp(p, ctrl_names[i].name, len) == 0)
				bits |= ctrl_names[i].bit;
		p += len;
		p += strspn(p, " \n");
	}
	return bits;
}

static unsigned ctrl_read(int dfd, const char *file)
{
	char buf[512];
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return ctrl_parse(buf);
}

/* Gives the job cgroups what they can have of cpu, memory and pids: each
 * controller our cgroup has is enabled in its subtree_control on its own
 * (one refused must not keep the others); what is enabled afterwards is
 * what jobs get. */
static void enable_controllers(struct job_cgroups *cg)
{
	unsigned have = ctrl_read(cg->fd, "cgroup.controllers");

	for (size_t i = 0; i < sizeof(ctrl_names) / sizeof(ctrl_names[0]); i++) {
		char text[32];

		if (!(have & ctrl_names[i].bit))
			continue;
		snprintf(text, sizeof(text), "+%s", ctrl_names[i].name);
		if (write_at(cg->fd, "cgroup.subtree_control", text) < 0)
			log_info("cgroup controller %s cannot be enabled for jobs under %s",
				 ctrl_names[i].name, cg->path);
	}
	cg->controllers = ctrl_read(cg->fd, "cgroup.subtree_control");
}

unsigned cgroup_controllers(const struct job_cgroups *cg)
{
	return cg ? cg->controllers : 0;
}

/* A controller file, written as `echo V > FILE` does (O_TRUNC is what a
 * shell passes; cgroupfs ignores it, a stand-in directory needs it). */
static int limit_put(int dfd, const char *file, const char *text)
{
	int fd = openat(dfd, file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		r = -errno;
	close(fd);
	return r;
}

int cgroup_limits_write(int dfd, const struct cgroup_limits *l, const char **ret_file)
{
	char text[64];
	int r;

	if (l->memory_max > 0) {
		snprintf(text, sizeof(text), "%lld\n", (long long)l->memory_max);
		if ((r = limit_put(dfd, "memory.max", text)) < 0) {
			*ret_file = "memory.max";
			return r;
		}
		/* Without this the job swaps instead of being limited, where
		 * swap is accounted; absent file: no swap accounting. */
		r = limit_put(dfd, "memory.swap.max", "0\n");
		if (r < 0 && r != -ENOENT) {
			*ret_file = "memory.swap.max";
			return r;
		}
	}
	if (l->cpu_max > 0) {
		/* The period is the kernel's default; the quota is the share of
		 * it, at least 1000 us (the kernel's minimum). */
		long long quota = (long long)(l->cpu_max * 100000.0 + 0.5);

		snprintf(text, sizeof(text), "%lld 100000\n", quota < 1000 ? 1000 : quota);
		if ((r = limit_put(dfd, "cpu.max", text)) < 0) {
			*ret_file = "cpu.max";
			return r;
		}
	}
	if (l->pids_max > 0) {
		snprintf(text, sizeof(text), "%lld\n", (long long)l->pids_max);
		if ((r = limit_put(dfd, "pids.max", text)) < 0) {
			*ret_file = "pids.max";
			return r;
		}
	}
	return 0;
}

int cgroup_job_set_limits(struct job_cgroups *cg, const char *name, const struct cgroup_limits *l,
			  const char **ret_file)
{
	int dfd = openat(cg->fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0) {
		*ret_file = name;
		return -errno;
	}
	r = cgroup_limits_write(dfd, l, ret_file);
	close(dfd);
	return r;
}

int cgroup_oom_kills(int dfd)
{
	char buf[1024], *p;
	int fd = openat(dfd, "memory.events", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* "oom_kill N" at the start of a line ("oom_group_kill" is another). */
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, "oom_kill ", 9) == 0)
			return atoi(p + 9);
	return 0;
}

int cgroup_memory_error(int dfd, int64_t memory_max, char *buf, size_t size)
{
	int kills = cgroup_oom_kills(dfd);

	if (kills <= 0)
		return kills;
	snprintf(buf, size,
		 "memory_max exceeded (%lld bytes): the kernel's OOM killer ended %d process(es)",
		 (long long)memory_max, kills);
	return 1;
}

int cgroup_job_memory_error(struct job_cgroups *cg, const char *name, int64_t memory_max, char *buf,
			    size_t size)
{
	int dfd = openat(cg->fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0)
		return -errno;
	r = cgroup_memory_error(dfd, memory_max, buf, size);
	close(dfd);
	return r;
}

void cgroup_close(struct job_cgroups *cg)
{
	int parent, r;
	char *slash;

	if (!cg)
		return;
	if (cg->delegated) {
		/* Jobs of a forced stop: nothing outlives coopd. */
		clean_stale_jobs(cg);
	} else if ((slash = strrchr(cg->path, '/'))) {
		*slash = '\0';
		parent = open(*cg->path ? cg->path : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent >= 0) {
			r = kill_stale(parent, slash + 1);
			if (r < 0)
				log_errno(LOG_WARNING, r, "cannot remove the cgroup %s/%s",
					  cg->path, slash + 1);
			close(parent);
		}
		*slash = '/';
	}
	close(cg->fd);
	free(cg->path);
	free(cg);
}

int cgroup_job_create(struct job_cgroups *cg, const char *name)
{
	return mkdirat(cg->fd, name, 0755) < 0 ? -errno : 0;
}

int cgroup_job_remove(struct job_cgroups *cg, const char *name)
{
	char path[CGROUP_JOB_NAME_MAX + 16];
	int fd, r;

	if (unlinkat(cg->fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY && errno != ENOTEMPTY)
		return -errno;
	/* Busy: processes left, or sub-cgroups (made by a root job). */
	snprintf(path, sizeof(path), "%s/cgroup.events", name);
	fd = openat(cg->fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read_populated(fd);
	close(fd);
	if (r != 0)
		return r > 0 ? -EBUSY : r;
	return remove_tree(cg->fd, name);
}

int cgroup_job_signal(struct job_cgroups *cg, const char *name, int sig, pid_t *seen,
		      size_t *n_seen, size_t seen_cap, pid_t skip_pgid)
{
	int dfd = openat(cg->fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0)
		return -errno;
	r = signal_tree(dfd, sig, seen, n_seen, seen_cap, skip_pgid);
	close(dfd);
	return r;
}

int cgroup_job_freeze(struct job_cgroups *cg, const char *name, bool frozen)
{
	char path[CGROUP_JOB_NAME_MAX + 16];

	snprintf(path, sizeof(path), "%s/cgroup.freeze", name);
	return write_at(cg->fd, path, frozen ? "1" : "0");
}

int cgroup_job_kill(struct job_cgroups *cg, const char *name)
{
	return kill_cgroup(cg->fd, name);
}

int cgroup_child_join(int dfd, const char *name)
{
	char path[CGROUP_JOB_NAME_MAX + 16];
	size_t n = strlen(name);
	int fd;

	if (n + sizeof("/cgroup.procs") > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, name, n);
	memcpy(path + n, "/cgroup.procs", sizeof("/cgroup.procs"));
	fd = openat(dfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* "0" is the writing process itself.  The fd is close-on-exec: the
	 * exec that follows closes it. */
	return write(fd, "0", 1) == 1 ? 0 : -errno;
}
