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
