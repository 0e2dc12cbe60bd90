/*
 * suite-daemon-jobs.c - Check suite for how coopd finds an exec job's
 * processes again: /proc parsing (job-proc.c), the attribution of adopted
 * processes to the job that left them (job-orphans.c, subreaper mode) and
 * job cgroup names (job-cgroup.c); and the `limits` a job cgroup gets
 * (job-cgroup.c), against a plain directory standing in for a cgroup with
 * the cpu, memory and pids controllers: the machines CI runs on give
 * coopd's cgroup none of them, so what the kernel does with the files is
 * not tested here (docs/limits.md says which part is proved where).
 *
 * The attribution is fed synthetic /proc snapshots.  Their pids lie above
 * any pid_max, so that no real /proc entry (and no real environment) is
 * ever read for them, except for the children this suite spawns to check
 * the environment marker.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job-cgroup.h"
#include "job-orphans.h"
#include "job-proc.h"

#define FAKE (1 << 30) /* above PID_MAX_LIMIT (2^22): never a real pid */
#define SELF (FAKE + 1)
#define LEADER (FAKE + 2)

struct ctx {
	pid_t leaders[4];
	size_t n_leaders;
	const char *active_marker; /* the other active job's marker */
};

static bool is_leader(void *p, pid_t pid)
{
	struct ctx *c = p;

	for (size_t i = 0; i < c->n_leaders; i++)
		if (c->leaders[i] == pid)
			return true;
	return false;
}

static bool marker_active(void *p, const char *marker)
{
	struct ctx *c = p;

	return c->active_marker && strcmp(marker, c->active_marker) == 0;
}

static struct proc_info proc(pid_t pid, pid_t ppid, uint64_t start, char state)
{
	struct proc_info p = {
		.pid = pid, .ppid = ppid, .pgrp = pid, .sid = pid, .start = start, .state = state};

	return p;
}

/* Fake pids from FOREIGN on run as another user (uid 4242); real ones
 * (test_orphans_by_marker) as reported by /proc. */
#define FOREIGN (FAKE + 1000)
static int uid_of(void *p, pid_t pid, uid_t *ret)
{
	if (pid >= FOREIGN) {
		*ret = 4242;
		return 0;
	}
	if (pid >= FAKE && pid < FOREIGN) {
		*ret = getuid();
		return 0;
	}
	return proc_real_uid(pid, ret);
}

static struct orphan_query query(struct ctx *c, uint64_t others_oldest)
{
	struct orphan_query q = {.self = SELF,
				 .marker = "g/1",
				 .leader_start = 100,
				 .uid = getuid(),
				 .others_oldest = others_oldest,
				 .uid_of = uid_of,
				 .is_leader = is_leader,
				 .marker_active = marker_active,
				 .ctx = c};

	return q;
}

static bool has(const struct proc_info *v, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return true;
	return false;
}

/* Without a readable marker: started no earlier than the leader and before
 * any other active job -> ours, with its descendants; zombies and leaders
 * are not leftovers; older or ambiguous processes are not ours. */
START_TEST(test_orphans_by_start_time)
{
	struct ctx c = {.leaders = {LEADER}, .n_leaders = 1};
	struct proc_info procs[] = {
		proc(SELF, 1, 10, 'S'),
		proc(LEADER, SELF, 100, 'S'),         /* a live job leader */
		proc(FAKE + 10, SELF, 120, 'S'),      /* adopted, after our leader */
		proc(FAKE + 11, FAKE + 10, 130, 'S'), /* its child */
		proc(FAKE + 12, FAKE + 11, 140, 'R'), /* and grandchild */
		proc(FAKE + 13, FAKE + 10, 135, 'Z'), /* an exited child */
		proc(FAKE + 20, SELF, 90, 'S'),       /* adopted, older than our leader */
		proc(FAKE + 21, SELF, 160, 'S'),      /* adopted, but another job is as old */
		proc(FAKE + 30, 1, 150, 'S'),         /* not ours at all */
		proc(FAKE + 31, FAKE + 30, 151, 'S'),
		proc(FOREIGN, SELF, 125, 'S'),        /* adopted, fits, another user's */
		proc(FOREIGN + 1, FOREIGN, 126, 'S'), /* and its child */
	};
	size_t n = sizeof(procs) / sizeof(procs[0]);
	struct proc_info out[16];
	struct orphan_query q = query(&c, 160);
	size_t found = orphans_of_job(procs, n, &q, out, 16);

	ck_assert_uint_eq(found, 3);
	ck_assert(has(out, found, FAKE + 10) && has(out, found, FAKE + 11) &&
		  has(out, found, FAKE + 12));
	/* Once no other job is active, the later one is ours as well. */
	q = query(&c, UINT64_MAX);
	found = orphans_of_job(procs, n, &q, out, 16);
	ck_assert_uint_eq(found, 4);
	ck_assert(has(out, found, FAKE + 21) && !has(out, found, FAKE + 20));
	ck_assert(!has(out, found, FOREIGN) && !has(out, found, FOREIGN + 1));
	/* The total is returned even when out is too small. */
	ck_assert_uint_eq(orphans_of_job(procs, n, &q, out, 1), 4);
}
END_TEST

START_TEST(test_orphans_none)
{
	struct ctx c = {.leaders = {LEADER}, .n_leaders = 1};
	struct proc_info procs[] = {proc(SELF, 1, 10, 'S'), proc(LEADER, SELF, 100, 'S')};
	struct proc_info out[4];
	struct orphan_query q = query(&c, UINT64_MAX);

	ck_assert_uint_eq(orphans_of_job(procs, 2, &q, out, 4), 0);
	ck_assert_uint_eq(orphans_of_job(procs, 0, &q, out, 4), 0);
}
END_TEST

/* A real child running sleep with only the environment marker `value`,
 * as uid (root only; (uid_t)-1: as the test). */
static pid_t spawn_marked_as(const char *value, uid_t uid);

static pid_t spawn_marked(const char *value)
{
	return spawn_marked_as(value, (uid_t)-1);
}

static pid_t spawn_marked_as(const char *value, uid_t uid)
{
	char env[64];
	char *envp[] = {env, NULL};
	char *argv[] = {"sleep", "60", NULL};
	pid_t pid;

	snprintf(env, sizeof(env), "%s=%s", PROC_JOB_MARKER, value);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (uid != (uid_t)-1 && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(126);
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	/* Wait until it runs sleep (its environ is then the new one). */
	for (int i = 0; i < 5000; i++) {
		char buf[64];

		if (proc_job_marker(pid, buf, sizeof(buf)) == 0)
			break;
		usleep(1000);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

/* The marker decides over start times: our marker is ours even when
 * another active job is older; another active job's marker never is; the
 * marker of a job that is no longer active is ours to end. */
START_TEST(test_orphans_by_marker)
{
	pid_t mine = spawn_marked("g/1"), other = spawn_marked("h/2"), gone = spawn_marked("x/9");
	struct ctx c = {.leaders = {LEADER}, .n_leaders = 1, .active_marker = "h/2"};
	struct proc_info procs[] = {
		proc(SELF, 1, 10, 'S'),
		proc(mine, SELF, 50, 'S'),
		proc(other, SELF, 150, 'S'),
		proc(gone, SELF, 150, 'S'),
	};
	struct proc_info out[8];
	struct orphan_query q = query(&c, 40); /* an older job is active */
	size_t found = orphans_of_job(procs, 4, &q, out, 8);
	char buf[64];

	ck_assert_int_eq(proc_job_marker(mine, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "g/1");
	ck_assert_uint_eq(found, 2);
	ck_assert(has(out, found, mine) && has(out, found, gone) && !has(out, found, other));
	reap(mine);
	reap(other);
	reap(gone);
}
END_TEST

/* Another user's process is never the job's, even with the job's own
 * marker (a marker can be copied) and a start time that fits. */
START_TEST(test_orphans_never_another_user)
{
	struct ctx c = {.leaders = {LEADER}, .n_leaders = 1};
	struct proc_info out[8];
	struct orphan_query q = query(&c, UINT64_MAX);
	pid_t forged;
	char buf[64];

	if (getuid() != 0)
		return; /* needs root to start a process as another user */
	forged = spawn_marked_as("g/1", 4243);
	ck_assert_int_eq(proc_job_marker(forged, buf, sizeof(buf)), 0);
	{
		struct proc_info procs[] = {proc(SELF, 1, 10, 'S'), proc(forged, SELF, 150, 'S')};

		ck_assert_uint_eq(orphans_of_job(procs, 2, &q, out, 8), 0);
		q.uid = 4243; /* the same process is the job's if the job runs as 4243 */
		ck_assert_uint_eq(orphans_of_job(procs, 2, &q, out, 8), 1);
	}
	reap(forged);
}
END_TEST

START_TEST(test_proc_read_self)
{
	struct proc_info pi;
	char buf[64];

	ck_assert_int_eq(proc_read(getpid(), &pi), 0);
	ck_assert_int_eq(pi.pid, getpid());
	ck_assert_int_eq(pi.ppid, getppid());
	ck_assert_int_eq(pi.pgrp, getpgrp());
	ck_assert_int_eq(pi.sid, getsid(0));
	ck_assert(pi.state == 'R' || pi.state == 'S');
	ck_assert_uint_gt(pi.start, 0);
	ck_assert_uint_eq(proc_start_time(getpid()), pi.start);
	ck_assert_int_eq(proc_read(FAKE, &pi), -ENOENT);
	ck_assert_uint_eq(proc_start_time(FAKE), 0);
	ck_assert_int_eq(proc_job_marker(FAKE, buf, sizeof(buf)), -ENOENT);
	ck_assert_int_gt(proc_last_pid(), 0);
	ck_assert_int_ge(proc_pid_max(), proc_last_pid());
}
END_TEST

/* A whole listing and a listing by pid range agree on a live child. */
START_TEST(test_proc_lists)
{
	pid_t child = spawn_marked("g/1");
	struct proc_info *all = NULL, *range = NULL;
	size_t n_all = 0, n_range = 0;

	ck_assert_int_eq(proc_list(&all, &n_all), 0);
	ck_assert(has(all, n_all, child) && has(all, n_all, getpid()));
	ck_assert_int_eq(proc_list_range(child, child, &range, &n_range), 0);
	ck_assert_uint_eq(n_range, 1);
	ck_assert_int_eq(range[0].pid, child);
	ck_assert_int_eq(range[0].ppid, getpid());
	free(all);
	free(range);
	reap(child);
}
END_TEST

START_TEST(test_cgroup_job_name)
{
	char buf[CGROUP_JOB_NAME_MAX], small[8];

	ck_assert_int_eq(cgroup_job_name("0123456789abcdef", 4294967295u, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "job-0123456789abcdef-4294967295");
	ck_assert_int_eq(cgroup_job_name("0123456789abcdef", 1, small, sizeof(small)),
			 -ENAMETOOLONG);
}
END_TEST

/* A directory standing in for a job cgroup: the files given exist (empty),
 * as the kernel makes them for the controllers a cgroup has. */
static int standin(char *dir, const char *const *files)
{
	int dfd;

	strcpy(dir, "/tmp/coopd-cg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	for (size_t i = 0; files[i]; i++) {
		int fd = openat(dfd, files[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	return dfd;
}

static void standin_put(int dfd, const char *file, const char *text)
{
	int fd = openat(dfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void standin_check(int dfd, const char *file, const char *want)
{
	char buf[256];
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

static void standin_free(char *dir, int dfd)
{
	char cmd[64];

	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_cgroup_limits_written)
{
	static const char *const files[] = {"memory.max", "memory.swap.max", "cpu.max", "pids.max",
					    NULL};
	struct cgroup_limits l = {.memory_max = 1073741824, .pids_max = 64, .cpu_max = 1.5};
	const char *file = NULL;
	char dir[32];
	int dfd = standin(dir, files);

	ck_assert_int_eq(cgroup_limits_write(dfd, &l, &file), 0);
	standin_check(dfd, "memory.max", "1073741824\n");
	standin_check(dfd, "memory.swap.max", "0\n");
	standin_check(dfd, "cpu.max", "150000 100000\n");
	standin_check(dfd, "pids.max", "64\n");
	/* The kernel's smallest quota; unset limits leave their files alone. */
	standin_put(dfd, "memory.max", "max\n");
	l = (struct cgroup_limits){.cpu_max = 0.001};
	ck_assert_int_eq(cgroup_limits_write(dfd, &l, &file), 0);
	standin_check(dfd, "cpu.max", "1000 100000\n");
	standin_check(dfd, "memory.max", "max\n");
	standin_check(dfd, "pids.max", "64\n");
	standin_free(dir, dfd);
}
END_TEST

START_TEST(test_cgroup_limits_missing_controller)
{
	static const char *const files[] = {"cpu.max", NULL};
	struct cgroup_limits l = {.memory_max = 4096, .cpu_max = 2};
	const char *file = NULL;
	char dir[32];
	int dfd = standin(dir, files);

	/* No memory controller: its file is not there, and the caller is
	 * told which one (no swap accounting alone is not an error). */
	ck_assert_int_eq(cgroup_limits_write(dfd, &l, &file), -ENOENT);
	ck_assert_str_eq(file, "memory.max");
	l.memory_max = 0;
	l.pids_max = 5;
	ck_assert_int_eq(cgroup_limits_write(dfd, &l, &file), -ENOENT);
	ck_assert_str_eq(file, "pids.max");
	standin_check(dfd, "cpu.max", "200000 100000\n");
	standin_free(dir, dfd);
}
END_TEST

START_TEST(test_cgroup_memory_events)
{
	static const char *const none[] = {NULL};
	char dir[32], text[160];
	int dfd = standin(dir, none);

	ck_assert_int_lt(cgroup_oom_kills(dfd), 0);
	ck_assert_int_lt(cgroup_memory_error(dfd, 1000, text, sizeof(text)), 0);
	standin_put(dfd, "memory.events",
		    "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n"
		    "oom_group_kill 2\n");
	ck_assert_int_eq(cgroup_oom_kills(dfd), 0);
	ck_assert_int_eq(cgroup_memory_error(dfd, 1000, text, sizeof(text)), 0);
	standin_put(dfd, "memory.events",
		    "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n"
		    "oom_group_kill 0\n");
	ck_assert_int_eq(cgroup_oom_kills(dfd), 1);
	ck_assert_int_eq(cgroup_memory_error(dfd, 1048576, text, sizeof(text)), 1);
	ck_assert_str_eq(text, "memory_max exceeded (1048576 bytes): the kernel's OOM killer "
			       "ended 1 process(es)");
	standin_free(dir, dfd);
}
END_TEST

static Suite *jobs_suite(void)
{
	Suite *s = suite_create("daemon-jobs");
	TCase *tc = tcase_create("orphans");

	tcase_add_test(tc, test_orphans_by_start_time);
	tcase_add_test(tc, test_orphans_none);
	tcase_add_test(tc, test_orphans_by_marker);
	tcase_add_test(tc, test_orphans_never_another_user);
	suite_add_tcase(s, tc);
	tc = tcase_create("proc");
	tcase_add_test(tc, test_proc_read_self);
	tcase_add_test(tc, test_proc_lists);
	tcase_add_test(tc, test_cgroup_job_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_test(tc, test_cgroup_limits_written);
	tcase_add_test(tc, test_cgroup_limits_missing_controller);
	tcase_add_test(tc, test_cgroup_memory_events);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jobs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
