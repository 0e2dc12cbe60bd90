/*
 * job-owner.c - the per-graph cache of account and file look-ups for exec
 * jobs (job-owner.h).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "graph-model.h"
#include "job-owner.h"

#define OWNERS_MAX 4            /* graphs with exec jobs running at once, usually */
#define PWBUF_MAX (1024 * 1024) /* getpwuid_r buffer bound */
#define GROUPS_MAX 65536        /* NGROUPS_MAX of Linux */

struct job_owner {
	char gid[GRAPH_ID_LEN + 1]; /* graph id; "" unused */
	uid_t uid;
	uint64_t born_ns;
	bool has_pw, home_ok;
	struct passwd pw; /* strings in pwbuf */
	char *pwbuf;
	bool groups_done;
	int groups_err;
	gid_t *groups;
	int ngroups;
	char *cwd_ok;                                   /* last cwd found to be a directory */
	char *res_argv0, *res_path, *res_cwd, *res_cmd; /* last resolved program */
};

struct job_owners {
	struct job_owner e[OWNERS_MAX];
	unsigned next; /* round-robin victim */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void owner_clear(struct job_owner *o)
{
	free(o->pwbuf);
	free(o->groups);
	free(o->cwd_ok);
	free(o->res_argv0);
	free(o->res_path);
	free(o->res_cwd);
	free(o->res_cmd);
	memset(o, 0, sizeof(*o));
}

struct job_owners *job_owners_new(void)
{
	return calloc(1, sizeof(struct job_owners));
}

void job_owners_free(struct job_owners *c)
{
	if (!c)
		return;
	for (int i = 0; i < OWNERS_MAX; i++)
		owner_clear(&c->e[i]);
	free(c);
}

/* getpwuid_r into o, growing the buffer as it asks.  No entry is not an
 * error here: the caller decides (root cannot run jobs for such a uid). */
static int owner_lookup(struct job_owner *o)
{
	size_t size = 1024;

	for (;;) {
		struct passwd *res = NULL;
		char *buf = realloc(o->pwbuf, size);
		int r;

		if (!buf)
			return -ENOMEM;
		o->pwbuf = buf;
		r = getpwuid_r(o->uid, &o->pw, buf, size, &res);
		if (r == ERANGE && size < PWBUF_MAX) {
			size *= 2;
			continue;
		}
		o->has_pw = r == 0 && res;
		break;
	}
	o->home_ok = o->has_pw && o->pw.pw_dir && access(o->pw.pw_dir, X_OK) == 0;
	return 0;
}

struct job_owner *job_owner_get(struct job_owners *c, const char *gid, uid_t uid)
{
	uint64_t now = mono_ns();
	struct job_owner *o = NULL;

	for (int i = 0; i < OWNERS_MAX; i++)
		if (c->e[i].uid == uid && strcmp(c->e[i].gid, gid) == 0)
			o = &c->e[i];
	if (o && now - o->born_ns < (uint64_t)OWNER_TTL_S * 1000000000u)
		return o;
	if (!o)
		o = &c->e[c->next++ % OWNERS_MAX];
	owner_clear(o);
	snprintf(o->gid, sizeof(o->gid), "%s", gid);
	o->uid = uid;
	o->born_ns = now;
	if (owner_lookup(o) < 0) {
		owner_clear(o);
		return NULL;
	}
	return o;
}

const struct passwd *job_owner_passwd(const struct job_owner *o)
{
	return o->has_pw ? &o->pw : NULL;
}

const char *job_owner_home_cwd(const struct job_owner *o)
{
	return o->home_ok ? o->pw.pw_dir : "/";
}

int job_owner_groups(struct job_owner *o, const gid_t **ret_groups, int *ret_n)
{
	int n = 64;

	if (!o->has_pw)
		return -ENOENT;
	while (!o->groups_done) {
		gid_t *v = realloc(o->groups, (size_t)n * sizeof(gid_t));
		int want = n;

		if (!v)
			return -ENOMEM;
		o->groups = v;
		if (getgrouplist(o->pw.pw_name, o->pw.pw_gid, v, &want) >= 0) {
			o->ngroups = want;
			o->groups_done = true;
		} else if (want > n && want <= GROUPS_MAX) {
			n = want;
		} else {
			o->groups_err = -E2BIG;
			o->groups_done = true;
		}
	}
	if (o->groups_err < 0)
		return o->groups_err;
	*ret_groups = o->groups;
	*ret_n = o->ngroups;
	return 0;
}

int job_owner_check_cwd(struct job_owner *o, const char *cwd)
{
	struct stat st;

	if (o->cwd_ok && strcmp(o->cwd_ok, cwd) == 0)
		return 0;
	if (stat(cwd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	free(o->cwd_ok);
	o->cwd_ok = strdup(cwd); /* out of memory: only not remembered */
	return 0;
}

/* Looks argv0 up in path (relative names with a '/', and relative or
 * empty PATH entries such as ".", are taken from the job's cwd, as the
 * job's own exec would see them, never from coopd's).
 * Checking here, rather than relying on the child's report of a failed
 * exec, gives one clear error in every environment (under valgrind a
 * vfork is a fork and cannot report it). */
static int resolve_cmd(const char *argv0, const char *path, const char *cwd, char *buf, size_t size)
{
	const char *p = path, *colon;
	struct stat st;

	if (strchr(argv0, '/')) {
		int n = argv0[0] == '/' ? snprintf(buf, size, "%s", argv0)
					: snprintf(buf, size, "%s/%s", cwd, argv0);

		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		if (stat(buf, &st) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (access(buf, X_OK) < 0)
			return -errno;
		return 0;
	}
	while (p) {
		size_t len;
		int n;

		colon = strchr(p, ':');
		len = colon ? (size_t)(colon - p) : strlen(p);
		if (len == 0)
			n = snprintf(buf, size, "%s/%s", cwd, argv0);
		else if (p[0] == '/')
			n = snprintf(buf, size, "%.*s/%s", (int)len, p, argv0);
		else
			n = snprintf(buf, size, "%s/%.*s/%s", cwd, (int)len, p, argv0);
		if (n > 0 && n < (int)size && stat(buf, &st) == 0 && !S_ISDIR(st.st_mode) &&
		    access(buf, X_OK) == 0)
			return 0;
		p = colon ? colon + 1 : NULL;
	}
	return -ENOENT;
}

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int job_owner_resolve(struct job_owner *o, const char *argv0, const char *path, const char *cwd,
		      char *buf, size_t size)
{
	size_t n;
	int r;

	if (same(o->res_argv0, argv0) && same(o->res_path, path) && same(o->res_cwd, cwd)) {
		n = strlen(o->res_cmd);
		if (n >= size)
			return -ENAMETOOLONG;
		memcpy(buf, o->res_cmd, n + 1);
		return 0;
	}
	r = resolve_cmd(argv0, path, cwd, buf, size);
	if (r < 0)
		return r;
	free(o->res_argv0);
	free(o->res_path);
	free(o->res_cwd);
	free(o->res_cmd);
	o->res_argv0 = strdup(argv0);
	o->res_path = strdup(path);
	o->res_cwd = strdup(cwd);
	o->res_cmd = strdup(buf);
	if (!o->res_argv0 || !o->res_path || !o->res_cwd || !o->res_cmd) {
		/* Out of memory: not remembered (same() never matches NULL). */
		free(o->res_argv0);
		o->res_argv0 = NULL;
	}
	return 0;
}
