/*
 * job-proc.c - reading /proc/PID/stat and /proc/PID/environ (job-proc.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job-proc.h"

#define ENVIRON_MAX (256u * 1024) /* read no more of an environment */

int proc_read(pid_t pid, struct proc_info *ret)
{
	char path[64], buf[1024], *p;
	unsigned long long v[20] = {0};
	int fd, field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command name may hold spaces and ')': skip to the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	ret->pid = pid;
	ret->state = p[2];
	p += 3;
	/* Fields 4 (ppid) .. 22 (starttime). */
	for (field = 4; field <= 22; field++) {
		char *end;

		while (*p == ' ')
			p++;
		v[field - 4 < 20 ? field - 4 : 19] = strtoull(p, &end, 10);
		if (end == p)
			return -EIO;
		p = end;
	}
	ret->ppid = (pid_t)v[0];
	ret->pgrp = (pid_t)v[1];
	ret->sid = (pid_t)v[2];
	ret->start = v[18];
	return 0;
}

uint64_t proc_start_time(pid_t pid)
{
	struct proc_info pi;

	return pid > 0 && proc_read(pid, &pi) == 0 ? pi.start : 0;
}

int proc_list(struct proc_info **ret, size_t *ret_n)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	struct proc_info *v = NULL;
	size_t n = 0, cap = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (n == cap) {
			struct proc_info *nv = realloc(v, (cap ? cap * 2 : 256) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 256;
		}
		if (proc_read((pid_t)pid, &v[n]) == 0)
			n++;
	}
	closedir(dir);
	*ret = v;
	*ret_n = n;
	return 0;
}

int proc_list_range(pid_t lo, pid_t hi, struct proc_info **ret, size_t *ret_n)
{
	struct proc_info *v = NULL;
	size_t n = 0, cap = 0;

	for (pid_t pid = lo; pid > 0 && pid <= hi; pid++) {
		struct proc_info pi;

		if (proc_read(pid, &pi) < 0)
			continue;
		if (n == cap) {
			struct proc_info *nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[n++] = pi;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The first number after `skip` spaces in the file at path; 0 if none. */
static long read_number_field(const char *path, int skip)
{
	char buf[256], *p = buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (; skip > 0 && p; skip--) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtol(p, NULL, 10) : 0;
}

pid_t proc_last_pid(void)
{
	/* "0.00 0.01 0.05 1/123 4567": the last field. */
	return (pid_t)read_number_field("/proc/loadavg", 4);
}

pid_t proc_pid_max(void)
{
	return (pid_t)read_number_field("/proc/sys/kernel/pid_max", 0);
}

int proc_job_marker(pid_t pid, char *buf, size_t size)
{
	static const char key[] = PROC_JOB_MARKER "=";
	char path[64], *env, *p;
	size_t len = 0;
	ssize_t n;
	int fd, r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	env = malloc(ENVIRON_MAX + 1);
	if (!env) {
		close(fd);
		return -ENOMEM;
	}
	while (len < ENVIRON_MAX && (n = read(fd, env + len, ENVIRON_MAX - len)) > 0)
		len += (size_t)n;
	if (n < 0 && len == 0)
		r = -errno;
	close(fd);
	env[len] = '\0';
	for (p = env; p < env + len; p += strlen(p) + 1) {
		if (strncmp(p, key, sizeof(key) - 1) == 0) {
			size_t vl = strlen(p + sizeof(key) - 1);

			if (vl >= size) {
				r = -ENAMETOOLONG;
				break;
			}
			memcpy(buf, p + sizeof(key) - 1, vl + 1);
			r = 0;
			break;
		}
	}
	free(env);
	return r;
}

int proc_real_uid(pid_t pid, uid_t *ret)
{
	char path[64], buf[4096];
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	p = strstr(buf, "\nUid:");
	if (!p)
		return -EIO;
	*ret = (uid_t)strtoul(p + 5, NULL, 10);
	return 0;
}
