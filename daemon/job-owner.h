/*
 * job-owner.h - what a graph's exec jobs need to know about its owner's
 * account and about the files they run, looked up once per graph rather
 * than once per job: the passwd entry (getpwuid_r reads /etc/passwd or
 * asks NSS: about ten system calls), the supplementary groups (only when
 * jobs run as the owner), whether the home directory (the default cwd)
 * can be entered, the last working directory found to be a directory
 * and the last program found in PATH.
 *
 * An entry belongs to one graph (by id) and lives at most OWNER_TTL_S
 * seconds: the next graph, or a long graph's later jobs, see changes to
 * the account and to the files.  Within that time a job runs the program
 * found for an earlier job of its graph, much as a shell remembers where
 * it found a command; if that file or directory went away, the exec or
 * chdir in the child fails and the job reports that error instead.
 * Loop thread only.
 */
#ifndef COOPD_JOB_OWNER_H
#define COOPD_JOB_OWNER_H

#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define OWNER_TTL_S 10

struct job_owners;
struct job_owner;

/* The cache (a few entries, one per graph with exec jobs running). */
struct job_owners *job_owners_new(void);
void job_owners_free(struct job_owners *c);

/* The entry of graph gid, owned by uid: the cached one, or looked up now
 * if there is none or it is too old.  NULL only when out of memory. */
struct job_owner *job_owner_get(struct job_owners *c, const char *gid, uid_t uid);

/* The owner's passwd entry, NULL if uid has none. */
const struct passwd *job_owner_passwd(const struct job_owner *o);

/* The owner's home if it can be entered, else "/": the default cwd. */
const char *job_owner_home_cwd(const struct job_owner *o);

/* The owner's supplementary groups (getgrouplist; with a passwd entry
 * only).  0 or a negative errno (-E2BIG: too many groups). */
int job_owner_groups(struct job_owner *o, const gid_t **ret_groups, int *ret_n);

/* 0 if cwd is a directory, else a negative errno (-ENOTDIR). */
int job_owner_check_cwd(struct job_owner *o, const char *cwd);

/* The program argv0 as the job will exec it into buf: looked up in path
 * (the job's PATH) unless it holds a '/' (then relative to cwd), a
 * regular file we may execute.  0 or a negative errno (-ENOENT: not
 * found in PATH). */
int job_owner_resolve(struct job_owner *o, const char *argv0, const char *path, const char *cwd,
		      char *buf, size_t size);

#endif
