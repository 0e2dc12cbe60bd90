/*
 * suite-daemon-slurm.c - Check suite for what coopd writes for Slurm and
 * reads back from it (daemon/job-slurm-parse.c), without a cluster: the
 * batch script (run through /bin/sh here, with awkward argv and env),
 * sbatch's options, `sbatch --parsable`, `squeue --json` of Slurm 22.05
 * and of 23.02+ shapes and odd answers, `scontrol -o show job`, and the
 * state mapping of docs/slurm.md "States".
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job-slurm-parse.h"

/* Runs script with /bin/sh, returns its stdout (malloc'd). */
static char *run_sh(const char *script, int *status)
{
	char path[] = "/tmp/suite-slurm-XXXXXX";
	int fd = mkstemp(path);
	char cmd[128], *buf = calloc(1, 65536);
	size_t len = 0;
	FILE *p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, script, strlen(script)), (ssize_t)strlen(script));
	close(fd);
	snprintf(cmd, sizeof(cmd), "/bin/sh %s", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	len = fread(buf, 1, 65535, p);
	buf[len] = '\0';
	*status = pclose(p);
	unlink(path);
	return buf;
}

START_TEST(test_script_exact_argv)
{
	char *argv[] = {
		"/bin/sh",     "-c",    "printf '<%s>' \"$@\"; printf '[%s]' \"$E1\" \"$E2\"",
		"zero",        "a b",   "it's",
		"\"dq\"",      "$HOME", "l1\nl2",
		"*",           "",      "`id`",
		"back\\slash", NULL};
	char *envp[] = {"E1=$(id) 'x'", "E2=multi\nline", "PATH=/usr/bin:/bin", NULL};
	struct strbuf sb;
	char *out;
	int status;

	sb_init(&sb);
	ck_assert_int_eq(slurm_script_build(&sb, envp, argv, NULL), 0);
	sb_putc(&sb, '\0');
	ck_assert(strncmp(sb.buf, "#!/bin/sh\n", 10) == 0);
	out = run_sh(sb.buf, &status);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_str_eq(out, "<a b><it's><\"dq\"><$HOME><l1\nl2><*><><`id`><back\\slash>"
			      "[$(id) 'x'][multi\nline]");
	free(out);
	sb_free(&sb);
}
END_TEST

START_TEST(test_script_bad_env_key)
{
	char *argv[] = {"true", NULL};
	char *envp[] = {"OK=1", "BAD-KEY=2", NULL};
	struct strbuf sb;
	size_t bad = 99;

	sb_init(&sb);
	ck_assert_int_eq(slurm_script_build(&sb, envp, argv, &bad), -EINVAL);
	ck_assert_uint_eq(bad, 1);
	sb_free(&sb);
}
END_TEST

START_TEST(test_sbatch_options)
{
	struct proto_slurm o = {.partition = "p",
				.account = "a",
				.qos = "q",
				.time = "1-00:00:00",
				.mem = "4G",
				.gres = "gpu:2",
				.constraint = "avx2&big",
				.cpus_per_task = 8,
				.nodes = 2};
	char *argv[16] = {NULL};
	size_t n = 0;
	const char *want[] = {"--partition=p",         "--account=a",       "--qos=q",
			      "--time=1-00:00:00",     "--mem=4G",          "--gres=gpu:2",
			      "--constraint=avx2&big", "--cpus-per-task=8", "--nodes=2"};

	ck_assert_int_eq(slurm_sbatch_options(&o, argv, &n), 0);
	ck_assert_uint_eq(n, 9);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(argv[i], want[i]);
		free(argv[i]);
	}
	n = 0;
	ck_assert_int_eq(slurm_sbatch_options(NULL, argv, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_parse_sbatch)
{
	uint64_t id = 0;

	ck_assert_int_eq(slurm_parse_sbatch("1234\n", &id), 0);
	ck_assert_uint_eq(id, 1234);
	ck_assert_int_eq(slurm_parse_sbatch("77;cluster1\n", &id), 0);
	ck_assert_uint_eq(id, 77);
	ck_assert_int_eq(slurm_parse_sbatch("", &id), -EINVAL);
	ck_assert_int_eq(slurm_parse_sbatch("Submitted batch job 5\n", &id), -EINVAL);
	ck_assert_int_eq(slurm_parse_sbatch("0\n", &id), -EINVAL);
	ck_assert_int_eq(slurm_parse_sbatch("12x\n", &id), -EINVAL);
	ck_assert_int_eq(slurm_parse_sbatch("99999999999999999999999\n", &id), -EINVAL);
}
END_TEST

struct seen {
	struct slurm_job_info j[8];
	int n;
};

static void collect(const struct slurm_job_info *job, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->j[s->n++] = *job;
}

/* squeue --noheader SLURM_SQUEUE_FORMAT as Slurm 22.05 prints it:
 * exit_code a wait status (768: exit 3; 9: SIGKILL). */
START_TEST(test_squeue_lines)
{
	const char *text = "1|FAILED|768|65534|\n"
			   "2|RUNNING|0|0|\n"
			   "3|FAILED|9|0|\n"
			   "4|COMPLETED|0|1000|\n"
			   "5|CANCELLED|15|0|\n"
			   "6|PENDING|0|4294967294|\n"
			   "18446744073709551615|NODE_FAIL|256|0|\n";
	struct slurm_parse_error err = {0};
	struct seen s = {0};

	ck_assert_int_eq(slurm_parse_squeue(text, strlen(text), collect, &s, &err), 7);
	ck_assert_int_eq(s.n, 7);
	ck_assert_uint_eq(s.j[0].job_id, 1);
	ck_assert_str_eq(s.j[0].state, "FAILED");
	ck_assert_int_eq(s.j[0].exit_code, 3);
	ck_assert_int_eq(s.j[0].term_signal, 0);
	ck_assert_uint_eq(s.j[0].uid, 65534);
	ck_assert_int_eq(s.j[1].exit_code, -1); /* not ended: no exit code */
	ck_assert_uint_eq(s.j[1].uid, 0);
	ck_assert_int_eq(s.j[2].term_signal, 9);
	ck_assert_int_eq(s.j[2].exit_code, -1);
	ck_assert_int_eq(s.j[3].exit_code, 0);
	ck_assert_uint_eq(s.j[3].uid, 1000);
	ck_assert_int_eq(s.j[4].term_signal, 15);
	ck_assert_int_eq(s.j[5].exit_code, -1);
	ck_assert_uint_eq(s.j[5].uid, 4294967294u);
	ck_assert_uint_eq(s.j[6].job_id, UINT64_MAX);
	ck_assert_int_eq(s.j[6].exit_code, 1);
	/* An unknown state counts as a failure. */
	ck_assert_int_eq(slurm_state_class(s.j[6].state), SLURM_CLASS_FAILED);
	/* No job at all: an empty answer. */
	ck_assert_int_eq(slurm_parse_squeue("", 0, collect, &s, &err), 0);
	ck_assert_int_eq(slurm_parse_squeue(text, strlen(text), NULL, NULL, NULL), 7);
}
END_TEST

START_TEST(test_squeue_odd_answers)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *reason;
	} bad[] = {
		{"not squeue\n", 1, "no job id"},
		{"{\"jobs\":[]}", 1, "no job id"},
		{"\n", 1, "no job id"},
		{"0|RUNNING|0|0|\n", 1, "no job id"},
		{"-1|RUNNING|0|0|\n", 1, "no job id"},
		{"18446744073709551616|RUNNING|0|0|\n", 1, "no job id"},
		{"12_3|RUNNING|0|0|\n", 1, "no '|' after the job id"},
		{"1 |RUNNING|0|0|\n", 1, "no '|' after the job id"},
		{"1||0|0|\n", 1, "no job state (A-Z and _)"},
		{"1|running|0|0|\n", 1, "no job state (A-Z and _)"},
		{"1|WEIRD STATE!|0|0|\n", 1, "no '|' after the job state"},
		{"1|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA|0|0|\n", 1, "job state too long"},
		{"1|FAILED||0|\n", 1, "no exit code (a wait status, 0-65535)"},
		{"1|FAILED|65536|0|\n", 1, "no exit code (a wait status, 0-65535)"},
		{"1|FAILED|-1|0|\n", 1, "no exit code (a wait status, 0-65535)"},
		{"1|FAILED|0 |0|\n", 1, "no '|' after the exit code"},
		{"1|FAILED|0|root|\n", 1, "no user id"},
		{"1|FAILED|0|4294967295|\n", 1, "no user id"},
		{"1|FAILED|0|0\n", 1, "no '|' and end of line after the user id"},
		{"1|FAILED|0|0|", 1, "no '|' and end of line after the user id"},
		{"1|FAILED|0|0|x\n", 1, "no '|' and end of line after the user id"},
		{"1|FAILED|0|0|wrap|\n", 1, "no '|' and end of line after the user id"},
		/* A good line does not make a later bad one pass, nor is it
		 * applied: the answer is refused whole. */
		{"1|RUNNING|0|0|\n2|RUNNING|0|0|\n3|RUNN", 3, "no '|' after the job state"},
		{"1|RUNNING|0|0|\n\n", 2, "no job id"},
	};
	struct seen s = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct slurm_parse_error err = {0};

		ck_assert_msg(slurm_parse_squeue(bad[i].text, strlen(bad[i].text), collect, &s,
						 &err) == -EINVAL,
			      "accepted '%s'", bad[i].text);
		ck_assert_msg(err.line == bad[i].line, "'%s': line %u", bad[i].text, err.line);
		ck_assert_msg(err.reason && strcmp(err.reason, bad[i].reason) == 0,
			      "'%s': reason '%s'", bad[i].text, err.reason);
	}
	/* A NUL inside the answer is not the end of it. */
	ck_assert_int_eq(slurm_parse_squeue("1|RUNNING|0|0|\n\0", 16, collect, &s, NULL), -EINVAL);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(test_scontrol)
{
	struct slurm_job_info j;
	const char *done = "JobId=42 JobName=coopd-a-1 UserId=nobody(65534) GroupId=nogroup(65534) "
			   "JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15 RunTime=00:01:02\n";
	const char *ok = "JobId=43 JobName=x UserId=root(0) JobState=COMPLETED ExitCode=2:0";
	const char *run = "JobId=44 JobState=RUNNING ExitCode=0:0";

	ck_assert_int_eq(slurm_parse_scontrol(done, &j), 0);
	ck_assert_uint_eq(j.job_id, 42);
	ck_assert_str_eq(j.state, "TIMEOUT");
	ck_assert_int_eq(j.term_signal, 15);
	ck_assert_uint_eq(j.uid, 65534);
	ck_assert_str_eq(j.name, "coopd-a-1");
	ck_assert_int_eq(slurm_parse_scontrol(ok, &j), 0);
	ck_assert_int_eq(j.exit_code, 2);
	ck_assert_uint_eq(j.uid, 0);
	ck_assert_int_eq(slurm_parse_scontrol(run, &j), 0);
	ck_assert_int_eq(j.exit_code, -1);
	ck_assert_int_eq(
		slurm_parse_scontrol("slurm_load_jobs error: Invalid job id specified", &j),
		-EINVAL);
	ck_assert_int_eq(slurm_parse_scontrol("JobId=5", &j), -EINVAL);
	ck_assert_int_eq(slurm_parse_scontrol("XJobId=5 JobState=RUNNING", &j), -EINVAL);
}
END_TEST

START_TEST(test_state_classes)
{
	ck_assert_int_eq(slurm_state_class("PENDING"), SLURM_CLASS_PENDING);
	ck_assert_int_eq(slurm_state_class("CONFIGURING"), SLURM_CLASS_PENDING);
	ck_assert_int_eq(slurm_state_class("REQUEUED"), SLURM_CLASS_PENDING);
	ck_assert_int_eq(slurm_state_class("RUNNING"), SLURM_CLASS_RUNNING);
	ck_assert_int_eq(slurm_state_class("COMPLETING"), SLURM_CLASS_RUNNING);
	ck_assert_int_eq(slurm_state_class("SUSPENDED"), SLURM_CLASS_RUNNING);
	ck_assert_int_eq(slurm_state_class("COMPLETED"), SLURM_CLASS_COMPLETED);
	ck_assert_int_eq(slurm_state_class("CANCELLED"), SLURM_CLASS_CANCELLED);
	const char *fails[] = {"FAILED",    "TIMEOUT",   "OUT_OF_MEMORY", "NODE_FAIL",
			       "BOOT_FAIL", "PREEMPTED", "DEADLINE",      ""};
	for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++)
		ck_assert_int_eq(slurm_state_class(fails[i]), SLURM_CLASS_FAILED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-slurm");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_script_exact_argv);
	tcase_add_test(tc, test_script_bad_env_key);
	tcase_add_test(tc, test_sbatch_options);
	tcase_add_test(tc, test_parse_sbatch);
	tcase_add_test(tc, test_squeue_lines);
	tcase_add_test(tc, test_squeue_odd_answers);
	tcase_add_test(tc, test_scontrol);
	tcase_add_test(tc, test_state_classes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
