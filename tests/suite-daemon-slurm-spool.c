/*
 * suite-daemon-slurm-spool.c - Check suite for the removal of a deleted
 * graph's Slurm spool directory (daemon/job-slurm-spool.c), without a
 * cluster: which names are coopd's, a directory of coopd's names only is
 * removed, and what a hostile owner plants (a symbolic link named like a
 * log, a FIFO, a subdirectory named like a log with a file in it, a file
 * of another name, a symbolic link in place of the directory itself) is
 * never followed, opened or entered, and leaves the directory in place.
 * (The cluster test with real users: tests/slurm/test-slurm-spool-clean.sh.)
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job-slurm-spool.h"

static char spool[64];

static void setup(void)
{
	snprintf(spool, sizeof(spool), "/tmp/suite-spool-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(spool));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
	ck_assert_int_eq(system(cmd), 0);
}

static void make_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static int exists(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

START_TEST(test_names)
{
	static const char *const ours[] = {"0.sh",      "1.out",         "1.err",    "12.a2.out",
					   "12.a2.err", "4294967295.sh", "7.a10.out"};
	static const char *const others[] = {"",
					     ".",
					     "..",
					     "1",
					     "1.",
					     "x.out",
					     "1.sh.bak",
					     "1.txt",
					     "a.out",
					     "1.a.out",
					     "1.a2.sh",
					     "1.a2",
					     "-1.out",
					     "1.out/",
					     " 1.out",
					     "1.OUT",
					     "1.a2.outx",
					     "1.b2.out",
					     "1..out",
					     "12345678901.out",
					     "1.a12345678901.err"};

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		ck_assert_msg(slurm_spool_name_ours(ours[i]), "%s is coopd's", ours[i]);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_msg(!slurm_spool_name_ours(others[i]), "'%s' is not coopd's", others[i]);
}
END_TEST

START_TEST(test_removes_ours)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/G1", spool);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	make_file(dir, "1.sh", "#!/bin/sh\n");
	make_file(dir, "1.out", "out\n");
	make_file(dir, "1.err", "");
	make_file(dir, "1.a2.out", "again\n");
	make_file(dir, "1.a2.err", "");
	ck_assert_int_eq(slurm_spool_remove(spool, "G1"), 0);
	ck_assert(!exists(spool, "G1"));
	/* A graph that never ran on Slurm has none; a spool that is gone too. */
	ck_assert_int_eq(slurm_spool_remove(spool, "G2"), 0);
	ck_assert_int_eq(slurm_spool_remove("/nonexistent-spool-dir", "G1"), 0);
	/* Not a plain name: never looked up. */
	ck_assert_int_eq(slurm_spool_remove(spool, ".."), -EINVAL);
	ck_assert_int_eq(slurm_spool_remove(spool, "a/b"), -EINVAL);
	ck_assert_int_eq(slurm_spool_remove(spool, ""), -EINVAL);
}
END_TEST

START_TEST(test_hostile_owner)
{
	char dir[128], outside[128], target[128], sub[128];
	struct stat st;
	char buf[64];
	int fd;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s/G1", spool);
	snprintf(outside, sizeof(outside), "%s/outside", spool);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	make_file(outside, "secret", "keep me\n");
	make_file(outside, "2.out", "not in the graph's directory\n");
	snprintf(target, sizeof(target), "%s/secret", outside);
	make_file(dir, "1.sh", "#!/bin/sh\n");
	/* A link named like a log, to a file outside; a FIFO named like one. */
	ck_assert_int_eq(symlink(target, strcat(strcpy(sub, dir), "/1.out")), 0);
	ck_assert_int_eq(mkfifo(strcat(strcpy(sub, dir), "/1.err"), 0600), 0);
	/* A directory named like a log, with a log-named file in it. */
	snprintf(sub, sizeof(sub), "%s/2.out", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	make_file(sub, "3.out", "inside\n");
	make_file(dir, "notes.txt", "the owner's\n");

	ck_assert_int_eq(slurm_spool_remove(spool, "G1"), -ENOTEMPTY);
	/* Left in place, with what is not coopd's; coopd's names are gone. */
	ck_assert(exists(dir, "notes.txt"));
	ck_assert(!exists(dir, "1.sh") && !exists(dir, "1.out") && !exists(dir, "1.err"));
	ck_assert(exists(dir, "2.out") && exists(sub, "3.out"));
	/* The link's target is untouched. */
	fd = open(target, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(n, 8);
	ck_assert(memcmp(buf, "keep me\n", 8) == 0);
	ck_assert(exists(outside, "2.out"));

	/* A symbolic link in place of the graph's directory is not entered
	 * (nor removed: it is not coopd's). */
	ck_assert_int_eq(symlink(outside, strcat(strcpy(sub, spool), "/G3")), 0);
	ck_assert_int_lt(slurm_spool_remove(spool, "G3"), 0);
	ck_assert(exists(outside, "2.out") && exists(outside, "secret"));
	ck_assert_int_eq(lstat(sub, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	/* Nor a symbolic link in place of the spool. */
	ck_assert_int_eq(symlink(spool, strcat(strcpy(sub, spool), "/spool-link")), 0);
	ck_assert_int_lt(slurm_spool_remove(sub, "outside"), 0);
	ck_assert(exists(outside, "2.out"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-slurm-spool");
	TCase *tc = tcase_create("spool");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_removes_ours);
	tcase_add_test(tc, test_hostile_owner);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
