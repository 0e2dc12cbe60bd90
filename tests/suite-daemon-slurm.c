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

/* Slurm 22.05: job_state a string, exit_code a wait status. */
START_TEST(test_squeue_2205)
{
	const char *text =
		"{\"meta\":{},\"errors\":[],\"jobs\":["
		"{\"job_id\":1,\"job_state\":\"FAILED\",\"exit_code\":768,\"user_id\":65534,"
		"\"name\":\"coopd-x-1\"},"
		"{\"job_id\":2,\"job_state\":\"RUNNING\",\"exit_code\":0},"
		"{\"job_id\":3,\"job_state\":\"FAILED\",\"exit_code\":10},"
		"{\"job_id\":4,\"job_state\":\"COMPLETED\",\"exit_code\":0},"
		"{\"job_id\":\"5\",\"job_state\":\"RUNNING\"},"
		"{\"job_state\":\"RUNNING\"},"
		"{\"job_id\":6},"
		"{\"job_id\":7,\"job_state\":\"WEIRD STATE!\"}]}";
	struct seen s = {0};

	ck_assert_int_eq(slurm_parse_squeue_json(text, strlen(text), collect, &s), 5);
	ck_assert_uint_eq(s.j[0].job_id, 1);
	ck_assert_str_eq(s.j[0].state, "FAILED");
	ck_assert_int_eq(s.j[0].exit_code, 3);
	ck_assert_uint_eq(s.j[0].uid, 65534);
	ck_assert_str_eq(s.j[0].name, "coopd-x-1");
	ck_assert_int_eq(s.j[1].exit_code, -1); /* not ended: no exit code */
	ck_assert_int_eq(s.j[2].term_signal, 10);
	ck_assert_int_eq(s.j[2].exit_code, -1);
	ck_assert_int_eq(s.j[3].exit_code, 0);
	/* Quoted and unknown states are reduced to safe characters; an
	 * unknown state counts as a failure. */
	ck_assert_str_eq(s.j[4].state, "WEIRD?STATE?");
	ck_assert_int_eq(slurm_state_class(s.j[4].state), SLURM_CLASS_FAILED);
}
END_TEST

/* Slurm 23.02+: job_state an array of flags, exit_code an object. */
START_TEST(test_squeue_2302)
{
	const char *text =
		"{\"jobs\":["
		"{\"job_id\":10,\"job_state\":[\"COMPLETED\"],\"exit_code\":{\"status\":["
		"\"SUCCESS\"],"
		"\"return_code\":{\"set\":true,\"infinite\":false,\"number\":0}}},"
		"{\"job_id\":11,\"job_state\":[\"FAILED\"],\"exit_code\":{\"status\":[\"ERROR\"],"
		"\"return_code\":{\"set\":true,\"number\":4},\"signal\":{\"id\":{\"set\":false,"
		"\"number\":0},\"name\":\"\"}}},"
		"{\"job_id\":12,\"job_state\":[\"CANCELLED\"],\"exit_code\":{\"status\":["
		"\"SIGNALED\"],"
		"\"return_code\":{\"number\":0},\"signal\":{\"id\":{\"set\":true,\"number\":15},"
		"\"name\":\"TERM\"}}},"
		"{\"job_id\":13,\"job_state\":[\"PENDING\",\"REQUEUED\"]}]}";
	struct seen s = {0};

	ck_assert_int_eq(slurm_parse_squeue_json(text, strlen(text), collect, &s), 4);
	ck_assert_int_eq(s.j[0].exit_code, 0);
	ck_assert_int_eq(s.j[1].exit_code, 4);
	ck_assert_int_eq(s.j[1].term_signal, 0);
	ck_assert_int_eq(s.j[2].term_signal, 15);
	ck_assert_str_eq(s.j[3].state, "PENDING");
}
END_TEST

START_TEST(test_squeue_odd_answers)
{
	const char *bad[] = {"",
			     "not json",
			     "{}",
			     "{\"jobs\":{}}",
			     "[1,2]",
			     "{\"jobs\":[",
			     "{\"errors\":[{\"error\":\"x\"}]}"};
	struct seen s = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(slurm_parse_squeue_json(bad[i], strlen(bad[i]), collect, &s) < 0,
			      "accepted '%s'", bad[i]);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(slurm_parse_squeue_json("{\"jobs\":[]}", 11, collect, &s), 0);
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
	tcase_add_test(tc, test_squeue_2205);
	tcase_add_test(tc, test_squeue_2302);
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
