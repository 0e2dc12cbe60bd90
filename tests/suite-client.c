/*
 * suite-client.c - unit tests of coopctl's pure parts: argument parsing,
 * durations, socket path resolution, exit-code mapping, the connection's
 * reply matching (over a socketpair, with canned daemon lines), and the
 * rendering of canned daemon answers (status tree, list, events, stats,
 * progress bar).  Nothing here needs a daemon; tests/integration/
 * test-coopctl-*.sh drive the real coopd.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client-conn.h"
#include "client-dot.h"
#include "client-output.h"
#include "coopctl.h"
#include "proto-rpc.h"
#include "protocol.h"

/* A throwaway stream for parse error messages. */
static FILE *devnull(void)
{
	FILE *f = fopen("/dev/null", "we");
	ck_assert_ptr_nonnull(f);
	return f;
}

/* Renders through fn into a string (caller frees). */
struct membuf {
	char *buf;
	size_t len;
	FILE *f;
};

static void mem_open(struct membuf *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	ck_assert_ptr_nonnull(m->f);
}

static char *mem_close(struct membuf *m)
{
	ck_assert_int_eq(fclose(m->f), 0);
	return m->buf;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	ck_assert_msg(o != NULL, "bad canned JSON: %s", text);
	return o;
}

static int count_open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/*
 * Durations.
 */

START_TEST(duration_parse_valid)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} cases[] = {
		{"500ms", 500},   {"5s", 5000},     {"2m", 120000},    {"1h", 3600000},
		{"1.5s", 1500},   {"0", 0},         {"7", 7000},       {"1h30m", 5400000},
		{"1m30s", 90000}, {"0.001s", 1},    {"2.0009s", 2000}, {"1d", 86400000},
		{"250ms", 250},   {"3min", 180000}, {"10sec", 10000},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		ck_assert_msg(output_duration_parse(cases[i].text, &ms) == 0, "rejected %s",
			      cases[i].text);
		ck_assert_msg(ms == cases[i].ms, "%s: got %llu, want %llu", cases[i].text,
			      (unsigned long long)ms, (unsigned long long)cases[i].ms);
	}
}
END_TEST

START_TEST(duration_parse_invalid)
{
	static const char *bad[] = {"",    "s",      "5x",  "-5s", "5 s",   "1.s5", "ms",
				    "5s3", "1.2.3s", "abc", "5S",  "1h 2m", ".",    " 5s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ms = 42;
		ck_assert_msg(output_duration_parse(bad[i], &ms) == -EINVAL, "accepted '%s'",
			      bad[i]);
		ck_assert_msg(ms == 42, "'%s' wrote its output on failure", bad[i]);
	}
	uint64_t ms = 0;
	ck_assert_int_eq(output_duration_parse("99999999999999999999h", &ms), -ERANGE);
	ck_assert_int_eq(output_duration_parse("9223372036854775807ms", &ms), 0);
	ck_assert(ms == 9223372036854775807ull);
	ck_assert_int_eq(output_duration_parse("9223372036854775807ms1ms", &ms), -ERANGE);
	ck_assert_int_eq(output_duration_parse(NULL, &ms), -EINVAL);
}
END_TEST

START_TEST(duration_format)
{
	static const struct {
		int64_t ms;
		const char *text;
	} cases[] = {
		{0, "0ms"},         {450, "450ms"},      {999, "999ms"},       {1000, "1.00s"},
		{2314, "2.31s"},    {9999, "9.99s"},     {10000, "10.0s"},     {59949, "59.9s"},
		{60000, "1m00s"},   {125000, "2m05s"},   {3599999, "59m59s"},  {3600000, "1h00m"},
		{3720000, "1h02m"}, {86400000, "1d00h"}, {273600000, "3d04h"}, {-1, "-"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[OUTPUT_DURATION_BUF];
		ck_assert_str_eq(output_duration_format(cases[i].ms, buf, sizeof(buf)),
				 cases[i].text);
	}
}
END_TEST

/*
 * Socket resolution.
 */

static const char *fake_existing;

static bool fake_exists(const char *path)
{
	return fake_existing && strcmp(path, fake_existing) == 0;
}

START_TEST(socket_option_wins)
{
	struct client_sockets s;

	fake_existing = "/run/user/1000/coopd.sock";
	ck_assert_int_eq(client_sockets_resolve("/tmp/a.sock", "/tmp/env.sock", "/run/user/1000",
						1000, fake_exists, &s),
			 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.paths[0], "/tmp/a.sock");
	ck_assert_int_eq(s.errs[0], 0);
	client_sockets_free(&s);

	ck_assert_int_eq(client_sockets_resolve(NULL, "/tmp/env.sock", "/run/user/1000", 1000,
						fake_exists, &s),
			 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.paths[0], "/tmp/env.sock");
	client_sockets_free(&s);

	/* An empty COOPD_SOCKET is as good as unset. */
	ck_assert_int_eq(client_sockets_resolve(NULL, "", "/run/user/1000", 1000, fake_exists, &s),
			 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.paths[0], "/run/user/1000/coopd.sock");
	client_sockets_free(&s);
}
END_TEST

START_TEST(socket_root_uses_system)
{
	struct client_sockets s;

	fake_existing = "/run/user/0/coopd.sock";
	ck_assert_int_eq(client_sockets_resolve(NULL, NULL, "/run/user/0", 0, fake_exists, &s), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.paths[0], PROTO_SYSTEM_SOCKET);
	ck_assert_int_eq(s.errs[0], 0);
	client_sockets_free(&s);
}
END_TEST

START_TEST(socket_user_existing)
{
	struct client_sockets s;

	fake_existing = "/run/user/1000/coopd.sock";
	ck_assert_int_eq(
		client_sockets_resolve(NULL, NULL, "/run/user/1000/", 1000, fake_exists, &s), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.paths[0], "/run/user/1000/coopd.sock");
	client_sockets_free(&s);
}
END_TEST

START_TEST(socket_user_missing_falls_back)
{
	struct client_sockets s;
	char msg[512];

	fake_existing = NULL;
	ck_assert_int_eq(
		client_sockets_resolve(NULL, NULL, "/run/user/1000", 1000, fake_exists, &s), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_str_eq(s.paths[0], "/run/user/1000/coopd.sock");
	ck_assert_int_eq(s.errs[0], ENOENT);
	ck_assert_str_eq(s.paths[1], PROTO_SYSTEM_SOCKET);
	ck_assert_int_eq(s.errs[1], 0);
	/* The message names both paths. */
	s.errs[1] = ECONNREFUSED;
	client_sockets_describe(&s, msg, sizeof(msg));
	ck_assert_ptr_nonnull(strstr(msg, "/run/user/1000/coopd.sock: "));
	ck_assert_ptr_nonnull(strstr(msg, PROTO_SYSTEM_SOCKET ": "));
	ck_assert_ptr_nonnull(strstr(msg, strerror(ECONNREFUSED)));
	client_sockets_free(&s);

	/* No XDG_RUNTIME_DIR at all: the system socket only. */
	ck_assert_int_eq(client_sockets_resolve(NULL, NULL, NULL, 1000, fake_exists, &s), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.paths[0], PROTO_SYSTEM_SOCKET);
	client_sockets_free(&s);
}
END_TEST

START_TEST(socket_open_records_every_failure)
{
	struct client_sockets s;
	struct client_conn *conn = NULL;
	char dir[] = "/tmp/coopctl-test.XXXXXX", path[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.sock", dir);
	ck_assert_int_eq(client_sockets_resolve(path, NULL, NULL, 1000, fake_exists, &s), 0);
	ck_assert_int_eq(client_conn_open(&s, &conn), -ENOENT);
	ck_assert_ptr_null(conn);
	ck_assert_int_eq(s.errs[0], ENOENT);
	client_sockets_free(&s);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/*
 * Exit codes.
 */

START_TEST(exit_code_mapping)
{
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_INVALID_PARAMS), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_PARSE), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_INVALID_REQUEST), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_METHOD_NOT_FOUND), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_NO_SUCH_GRAPH), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_PERMISSION), COOPCTL_EXIT_FAILED);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_LIMIT), COOPCTL_EXIT_FAILED);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_INTERNAL), COOPCTL_EXIT_FAILED);
	ck_assert_int_eq(client_exit_for_error(PROTO_ERR_SHUTTING_DOWN), COOPCTL_EXIT_UNREACHABLE);
	ck_assert_int_eq(client_exit_for_error(-1), COOPCTL_EXIT_FAILED);

	ck_assert_int_eq(output_exit_for_state("succeeded"), 0);
	ck_assert_int_eq(output_exit_for_state("failed"), 1);
	ck_assert_int_eq(output_exit_for_state("cancelled"), 1);
	ck_assert_int_eq(output_exit_for_state("interrupted"), 1);
	ck_assert_int_eq(output_exit_for_state("skipped"), 1);
	ck_assert_int_eq(output_exit_for_state("running"), 1);
	ck_assert_int_eq(output_exit_for_state(NULL), 1);
	ck_assert(output_state_is_final("skipped"));
	ck_assert(!output_state_is_final("cancelling"));
	ck_assert(!output_state_is_final("bogus"));
	ck_assert(!output_state_is_final(NULL));
}
END_TEST

/* coopctl_main() end to end for what needs no daemon. */
START_TEST(main_exit_codes)
{
	char *nodaemon[] = {"coopctl", "--socket", "/nonexistent/coopd.sock", "list", NULL};
	char *unknown[] = {"coopctl", "frobnicate", NULL};
	char *badopt[] = {"coopctl", "--bogus", "list", NULL};
	char *badsub[] = {"coopctl", "--socket", "/nonexistent/x", "wait", NULL};
	char *baddur[] = {"coopctl", "--socket", "/nonexistent/x", "run", "--timeout",
			  "5x",      "--",       "true",           NULL};
	char *none[] = {"coopctl", NULL};
	char *help[] = {"coopctl", "--help", NULL};
	char *subhelp[] = {"coopctl", "status", "--help", NULL};
	char *badfile[] = {"coopctl", "--socket",          "/nonexistent/x",
			   "submit",  "/nonexistent.json", NULL};
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC), out = dup(1), err = dup(2);

	/* Keep the messages out of the test log. */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 1), 1);
	ck_assert_int_eq(dup2(fd, 2), 2);
	ck_assert_int_eq(coopctl_main(4, nodaemon), COOPCTL_EXIT_UNREACHABLE);
	ck_assert_int_eq(coopctl_main(2, unknown), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(coopctl_main(3, badopt), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(coopctl_main(4, badsub), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(coopctl_main(8, baddur), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(coopctl_main(1, none), COOPCTL_EXIT_USAGE);
	ck_assert_int_eq(coopctl_main(2, help), COOPCTL_EXIT_OK);
	ck_assert_int_eq(coopctl_main(3, subhelp), COOPCTL_EXIT_OK);
	ck_assert_int_eq(coopctl_main(5, badfile), COOPCTL_EXIT_USAGE);
	fflush(stdout);
	ck_assert_int_eq(dup2(out, 1), 1);
	ck_assert_int_eq(dup2(err, 2), 2);
	close(fd);
	close(out);
	close(err);
}
END_TEST

/*
 * Argument parsing.
 */

START_TEST(parse_global)
{
	char *argv[] = {"coopctl", "--socket",  "/tmp/s", "--json",
			"status",  "--summary", "g1",     NULL};
	char *argv2[] = {"coopctl", "-s", "/x", "-j", "list", NULL};
	char *argv3[] = {"coopctl", "--socket", NULL};
	char *argv4[] = {"coopctl", "--nope", "list", NULL};
	char *argv5[] = {"coopctl", "--socket=", "list", NULL};
	struct coopctl_args a;
	FILE *err = devnull();

	ck_assert_int_eq(coopctl_parse_args(7, argv, &a, err), 0);
	ck_assert_str_eq(a.socket, "/tmp/s");
	ck_assert(a.json);
	ck_assert_int_eq(a.cmd_index, 4);
	ck_assert_ptr_eq(cmd_find(argv[a.cmd_index]), &cmd_status_entry);

	ck_assert_int_eq(coopctl_parse_args(5, argv2, &a, err), 0);
	ck_assert_str_eq(a.socket, "/x");
	ck_assert(a.json);
	ck_assert_int_eq(a.cmd_index, 4);

	ck_assert_int_eq(coopctl_parse_args(2, argv3, &a, err), -EINVAL);
	ck_assert_int_eq(coopctl_parse_args(3, argv4, &a, err), -EINVAL);
	ck_assert_int_eq(coopctl_parse_args(3, argv5, &a, err), -EINVAL);
	fclose(err);

	for (size_t i = 0; cmd_table[i]; i++) {
		ck_assert_ptr_eq(cmd_find(cmd_table[i]->name), cmd_table[i]);
		ck_assert_ptr_nonnull(cmd_table[i]->exec);
		ck_assert_ptr_nonnull(cmd_table[i]->usage);
	}
	ck_assert_ptr_null(cmd_find("sub"));
}
END_TEST

START_TEST(parse_late_globals)
{
	char *argv[] = {"coopctl", "status", "g1", "--json", "-s", "/tmp/x", NULL};
	char *argv2[] = {"coopctl", "run", "--", "echo", "--json", NULL};
	char *argv3[] = {"coopctl", "logs", "g1", "--", "--json", NULL};
	char *argv4[] = {"coopctl", "list", "--socket", NULL};
	char *argv5[] = {"coopctl", "list", "--socket=/s", NULL};
	char *argv6[] = {"coopctl", "cancel", "g1", "--reason", "-j", "--json", NULL};
	struct coopctl_args a = {.cmd_index = 1};
	int n;

	n = coopctl_take_late_globals(&cmd_status_entry, 6, argv, 1, &a);
	ck_assert_int_eq(n, 3);
	ck_assert(a.json);
	ck_assert_str_eq(a.socket, "/tmp/x");
	ck_assert_str_eq(argv[2], "g1");
	ck_assert_ptr_null(argv[3]);

	memset(&a, 0, sizeof(a));
	n = coopctl_take_late_globals(&cmd_run_entry, 5, argv2, 1, &a);
	ck_assert_int_eq(n, 5);
	ck_assert(!a.json);

	n = coopctl_take_late_globals(&cmd_logs_entry, 5, argv3, 1, &a);
	ck_assert_int_eq(n, 5);
	ck_assert(!a.json);
	ck_assert_str_eq(argv3[4], "--json");

	{
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC), err = dup(2);
		ck_assert_int_eq(dup2(fd, 2), 2);
		n = coopctl_take_late_globals(&cmd_list_entry, 3, argv4, 1, &a);
		ck_assert_int_eq(dup2(err, 2), 2);
		close(fd);
		close(err);
	}
	ck_assert_int_eq(n, -1);
	n = coopctl_take_late_globals(&cmd_list_entry, 3, argv5, 1, &a);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(a.socket, "/s");

	memset(&a, 0, sizeof(a));
	n = coopctl_take_late_globals(&cmd_cancel_entry, 6, argv6, 1, &a);
	ck_assert_int_eq(n, 5);
	ck_assert(a.json);
	ck_assert_str_eq(argv6[4], "-j");
}
END_TEST

START_TEST(parse_submit)
{
	char *a1[] = {"submit", "g.json", "--wait", NULL};
	char *a2[] = {"submit", "-", "--follow", NULL};
	char *a3[] = {"submit", NULL};
	char *a4[] = {"submit", "a", "b", NULL};
	char *a5[] = {"submit", "--bogus", "a", NULL};
	char *a6[] = {"submit", "--help", NULL};
	struct cmd_submit_args a;
	FILE *err = devnull();

	ck_assert_int_eq(cmd_submit_parse(3, a1, &a, err), 0);
	ck_assert_str_eq(a.file, "g.json");
	ck_assert(a.wait && !a.follow);
	ck_assert_int_eq(cmd_submit_parse(3, a2, &a, err), 0);
	ck_assert_str_eq(a.file, "-");
	ck_assert(a.follow && !a.wait);
	ck_assert_int_eq(cmd_submit_parse(1, a3, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_submit_parse(3, a4, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_submit_parse(3, a5, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_submit_parse(2, a6, &a, err), 1);
	fclose(err);
}
END_TEST

START_TEST(parse_run)
{
	char *a1[] = {"run", "--timeout", "5s", "--name", "hi", "--", "sh", "-c", "echo hi", NULL};
	char *a2[] = {"run", "ls", "-l", "--color", NULL};
	char *a3[] = {"run", "--", NULL};
	char *a4[] = {"run", "--timeout", "soon", "--", "true", NULL};
	char *a5[] = {"run", "-e", "A=1", "--env", "B=x=y", "--", "env", NULL};
	char *a6[] = {"run", "--env", "=1", "--", "env", NULL};
	char *a7[] = {"run", "--name", "", "--", "true", NULL};
	struct cmd_run_args a;
	FILE *err = devnull();

	ck_assert_int_eq(cmd_run_parse(9, a1, &a, err), 0);
	ck_assert(a.timeout_ms == 5000);
	ck_assert_str_eq(a.name, "hi");
	ck_assert_int_eq(a.argc, 3);
	ck_assert_str_eq(a.argv[0], "sh");
	ck_assert_str_eq(a.argv[2], "echo hi");
	cmd_run_args_free(&a);

	/* Options after the command belong to it. */
	ck_assert_int_eq(cmd_run_parse(4, a2, &a, err), 0);
	ck_assert_int_eq(a.argc, 3);
	ck_assert_str_eq(a.argv[2], "--color");
	ck_assert(a.timeout_ms == 0);
	ck_assert_ptr_null(a.name);
	cmd_run_args_free(&a);

	ck_assert_int_eq(cmd_run_parse(2, a3, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_run_parse(5, a4, &a, err), -EINVAL);

	ck_assert_int_eq(cmd_run_parse(7, a5, &a, err), 0);
	ck_assert_int_eq(a.n_env, 2);
	ck_assert_str_eq(a.env[0], "A=1");
	ck_assert_str_eq(a.env[1], "B=x=y");
	ck_assert_ptr_null(a.env[2]);
	cmd_run_args_free(&a);

	ck_assert_int_eq(cmd_run_parse(5, a6, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_run_parse(5, a7, &a, err), -EINVAL);
	fclose(err);
}
END_TEST

START_TEST(parse_cancel)
{
	char *a1[] = {"cancel", "g1", "load/primary", "--grace", "500ms", "--reason", "oops", NULL};
	char *a2[] = {"cancel", "g1", "--wait", NULL};
	char *a3[] = {"cancel", NULL};
	char *a4[] = {"cancel", "g1", "n", "extra", NULL};
	char *a5[] = {"cancel", "g1", "--grace", "-1s", NULL};
	char *a6[] = {"cancel", "g1", "--reason", NULL};
	struct cmd_cancel_args a;
	FILE *err = devnull();

	ck_assert_int_eq(cmd_cancel_parse(7, a1, &a, err), 0);
	ck_assert_str_eq(a.id, "g1");
	ck_assert_str_eq(a.node, "load/primary");
	ck_assert(a.has_grace && a.grace_ms == 500);
	ck_assert_str_eq(a.reason, "oops");
	ck_assert(!a.wait);
	ck_assert_int_eq(cmd_cancel_parse(3, a2, &a, err), 0);
	ck_assert_ptr_null(a.node);
	ck_assert(!a.has_grace && a.wait);
	ck_assert_ptr_null(a.reason);
	ck_assert_int_eq(cmd_cancel_parse(1, a3, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_cancel_parse(4, a4, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_cancel_parse(4, a5, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_cancel_parse(3, a6, &a, err), -EINVAL);
	fclose(err);
}
END_TEST

START_TEST(parse_others)
{
	char *l1[] = {"logs", "g1", "run", "--stderr", "-f", NULL};
	char *l2[] = {"logs", "g1", NULL};
	char *w1[] = {"wait", "g1", "--timeout", "2m", NULL};
	char *w2[] = {"wait", NULL};
	char *s1[] = {"status", NULL};
	char *s2[] = {"status", "g1", "--summary", NULL};
	char *s3[] = {"status", "g1", "g2", NULL};
	char *li1[] = {"list", "--all", NULL};
	char *li2[] = {"list", "x", NULL};
	char *wa1[] = {"watch", NULL};
	char *wa2[] = {"watch", "g1", NULL};
	char *n1[] = {"stats", NULL};
	char *n2[] = {"metrics", "x", NULL};
	struct cmd_logs_args la;
	struct cmd_wait_args wa;
	struct cmd_status_args sa;
	struct cmd_list_args lia;
	struct cmd_watch_args waa;
	FILE *err = devnull();

	ck_assert_int_eq(cmd_logs_parse(5, l1, &la, err), 0);
	ck_assert_str_eq(la.id, "g1");
	ck_assert_str_eq(la.node, "run");
	ck_assert(la.stderr_stream && la.follow);
	ck_assert_int_eq(cmd_logs_parse(2, l2, &la, err), -EINVAL);

	ck_assert_int_eq(cmd_wait_parse(4, w1, &wa, err), 0);
	ck_assert_str_eq(wa.id, "g1");
	ck_assert(wa.timeout_ms == 120000);
	ck_assert_int_eq(cmd_wait_parse(1, w2, &wa, err), -EINVAL);

	ck_assert_int_eq(cmd_status_parse(1, s1, &sa, err), 0);
	ck_assert_ptr_null(sa.id);
	ck_assert_int_eq(cmd_status_parse(3, s2, &sa, err), 0);
	ck_assert_str_eq(sa.id, "g1");
	ck_assert(sa.summary);
	ck_assert_int_eq(cmd_status_parse(3, s3, &sa, err), -EINVAL);

	ck_assert_int_eq(cmd_list_parse(2, li1, &lia, err), 0);
	ck_assert(lia.all);
	ck_assert_int_eq(cmd_list_parse(2, li2, &lia, err), -EINVAL);

	ck_assert_int_eq(cmd_watch_parse(1, wa1, &waa, err), 0);
	ck_assert_ptr_null(waa.id);
	ck_assert_int_eq(cmd_watch_parse(2, wa2, &waa, err), 0);
	ck_assert_str_eq(waa.id, "g1");

	ck_assert_int_eq(cmd_noargs_parse(1, n1, err), 0);
	ck_assert_int_eq(cmd_noargs_parse(2, n2, err), -EINVAL);
	fclose(err);
}
END_TEST

/* What each command says when its operands are too few or too many
 * (cmd_operands(), shared by all of them): the missing operand named, or
 * the first extra one quoted. */
START_TEST(parse_operand_messages)
{
	char *c0[] = {"cancel", NULL}, *c3[] = {"cancel", "g1", "n", "x3", NULL};
	char *r0[] = {"rerun", NULL}, *r2[] = {"rerun", "g1", "x2", NULL};
	char *p3[] = {"pause", "g1", "n", "x3", NULL};
	char *s0[] = {"submit", NULL};
	char *l1[] = {"logs", "g1", NULL}, *l3[] = {"logs", "g1", "n", "x3", NULL};
	char *st2[] = {"status", "g1", "x2", NULL}, *li1[] = {"list", "x1", NULL};
	char *n1[] = {"metrics", "x1", NULL};
	struct cmd_cancel_args ca;
	struct cmd_rerun_args ra;
	struct cmd_pause_args pa;
	struct cmd_submit_args sa;
	struct cmd_logs_args la;
	struct cmd_status_args sta;
	struct cmd_list_args lia;
	struct membuf m;
	char *out;

	mem_open(&m);
	ck_assert_int_eq(cmd_cancel_parse(1, c0, &ca, m.f), -EINVAL);
	ck_assert_int_eq(cmd_cancel_parse(4, c3, &ca, m.f), -EINVAL);
	ck_assert_int_eq(cmd_rerun_parse(1, r0, &ra, m.f), -EINVAL);
	ck_assert_int_eq(cmd_rerun_parse(3, r2, &ra, m.f), -EINVAL);
	ck_assert_int_eq(cmd_pause_parse("resume", 4, p3, &pa, m.f), -EINVAL);
	ck_assert_int_eq(cmd_submit_parse(1, s0, &sa, m.f), -EINVAL);
	ck_assert_int_eq(cmd_logs_parse(2, l1, &la, m.f), -EINVAL);
	ck_assert_int_eq(cmd_logs_parse(4, l3, &la, m.f), -EINVAL);
	ck_assert_int_eq(cmd_status_parse(3, st2, &sta, m.f), -EINVAL);
	ck_assert_int_eq(cmd_list_parse(2, li1, &lia, m.f), -EINVAL);
	ck_assert_int_eq(cmd_noargs_parse(2, n1, m.f), -EINVAL);
	out = mem_close(&m);
	ck_assert_str_eq(out, "coopctl cancel: a graph id is needed\n"
			      "coopctl cancel: unexpected argument 'x3'\n"
			      "coopctl rerun: a graph id is needed\n"
			      "coopctl rerun: unexpected argument 'x2'\n"
			      "coopctl resume: unexpected argument 'x3'\n"
			      "coopctl submit: a graph file (or - for standard input) is needed\n"
			      "coopctl logs: a graph id and a node path are needed\n"
			      "coopctl logs: unexpected argument 'x3'\n"
			      "coopctl status: unexpected argument 'x2'\n"
			      "coopctl list: unexpected argument 'x1'\n"
			      "coopctl metrics: unexpected argument 'x1'\n");
	free(out);
}
END_TEST

/*
 * The connection: canned daemon lines over a socketpair.
 */

struct events_seen {
	int n;
	char last_state[32];
};

static void on_event(const char *method, struct json_object *params, void *userdata)
{
	struct events_seen *e = userdata;
	struct json_object *st = NULL;

	ck_assert_str_eq(method, "event");
	e->n++;
	if (json_object_object_get_ex(params, "state", &st))
		snprintf(e->last_state, sizeof(e->last_state), "%s", json_object_get_string(st));
}

static void put_lines(int fd, const char *text)
{
	size_t len = strlen(text);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
}

START_TEST(conn_matches_ids_and_events)
{
	int sv[2], fds_before = count_open_fds();
	struct client_conn *conn = NULL;
	struct client_reply rep = {0};
	struct events_seen ev = {0};
	int64_t id1, id2;
	char req[512];
	ssize_t n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(client_conn_from_fd(sv[0], &conn), 0);
	client_conn_set_event_cb(conn, on_event, &ev);

	ck_assert_int_eq(client_conn_send(conn, "ping", NULL, &id1), 0);
	ck_assert_int_eq(client_conn_send(conn, "version", NULL, &id2), 0);
	ck_assert(id1 != id2);
	n = read(sv[1], req, sizeof(req) - 1);
	ck_assert_int_gt(n, 0);
	req[n] = '\0';
	ck_assert_ptr_nonnull(strstr(req, "\"method\":\"ping\""));
	ck_assert_ptr_nonnull(strstr(req, "\"jsonrpc\":\"2.0\""));

	/* An event, the second answer first, then the first split over two
	 * writes. */
	put_lines(sv[1], "{\"jsonrpc\":\"2.0\",\"method\":\"event\",\"params\":{\"graph\":\"g\","
			 "\"node\":\"a\",\"state\":\"running\",\"ts\":null}}\n");
	snprintf(req, sizeof(req),
		 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"version\":\"9\",\"protocol\":1}}\n"
		 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"res",
		 (long long)id2, (long long)id1);
	put_lines(sv[1], req);
	put_lines(sv[1], "ult\":{}}\n");

	ck_assert_int_eq(client_conn_wait_reply(conn, id1, 5000, &rep), 0);
	ck_assert_int_eq(rep.id, id1);
	ck_assert_ptr_nonnull(rep.result);
	ck_assert_int_eq(json_object_object_length(rep.result), 0);
	ck_assert_int_eq(ev.n, 1);
	ck_assert_str_eq(ev.last_state, "running");
	client_reply_clear(&rep);

	/* An error answer with data. */
	ck_assert_int_eq(client_conn_send(conn, "submit", NULL, &id1), 0);
	snprintf(req, sizeof(req),
		 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32602,\"message\":"
		 "\"Invalid params\",\"data\":{\"path\":\"nodes[2].after[0]\",\"reason\":"
		 "\"unknown sibling 'lod'\"}}}\n",
		 (long long)id1);
	put_lines(sv[1], req);
	ck_assert_int_eq(client_conn_wait_reply(conn, id1, 5000, &rep), 0);
	ck_assert_ptr_null(rep.result);
	ck_assert_int_eq(rep.err_code, -32602);
	ck_assert_str_eq(rep.err_message, "Invalid params");
	ck_assert_ptr_nonnull(rep.err_data);
	client_reply_clear(&rep);

	/* Nothing comes: a timeout, the request still pending. */
	ck_assert_int_eq(client_conn_wait_reply(conn, 99, 10, &rep), -ETIMEDOUT);

	/* Garbage from the daemon is a protocol error, not a crash. */
	ck_assert_int_eq(client_conn_send(conn, "ping", NULL, &id1), 0);
	put_lines(sv[1], "this is not json\n");
	ck_assert_int_eq(client_conn_wait_reply(conn, id1, 5000, &rep), -EPROTO);

	/* The daemon goes away. */
	close(sv[1]);
	ck_assert_int_eq(client_conn_wait_reply(conn, id1, 5000, &rep), -ECONNRESET);
	client_conn_free(conn);
	ck_assert_int_eq(count_open_fds(), fds_before);
}
END_TEST

START_TEST(conn_send_text_is_one_line)
{
	int sv[2];
	struct client_conn *conn = NULL;
	const char doc[] = "{\"graph\":{\n  \"nodes\": [\r\n]\n}}";
	char buf[512];
	int64_t id;
	ssize_t n;
	struct json_object *o;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(client_conn_from_fd(sv[0], &conn), 0);
	ck_assert_int_eq(client_conn_send_text(conn, "submit", doc, strlen(doc), &id), 0);
	n = read(sv[1], buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	ck_assert_ptr_null(strchr(buf, '\r'));
	o = parse(buf);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "method")), "submit");
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "id")), id);
	ck_assert(json_object_is_type(
		json_object_object_get(
			json_object_object_get(json_object_object_get(o, "params"), "graph"),
			"nodes"),
		json_type_array));
	json_object_put(o);
	client_conn_free(conn);
	close(sv[1]);
}
END_TEST

/*
 * Rendering canned answers.
 */

static const char *canned_status =
	"{\"id\":\"g42\",\"name\":\"nightly-etl\",\"state\":\"failed\",\"owner_uid\":1000,"
	"\"created\":\"2024-05-01T12:00:00.000Z\",\"started\":\"2024-05-01T12:00:00.010Z\","
	"\"finished\":\"2024-05-01T12:00:02.320Z\","
	"\"root\":{\"id\":\"\",\"path\":\"/\",\"kind\":\"scope\",\"state\":\"failed\","
	"\"started\":\"2024-05-01T12:00:00.010Z\",\"finished\":\"2024-05-01T12:00:02.320Z\","
	"\"cancel\":null,\"stats\":{\"polls\":12,\"forced_yields\":3},\"nodes\":["
	"{\"id\":\"fetch\",\"path\":\"fetch\",\"kind\":\"exec\",\"state\":\"succeeded\","
	"\"started\":\"2024-05-01T12:00:00.010Z\",\"finished\":\"2024-05-01T12:00:01.210Z\","
	"\"exit_code\":0,\"cancel\":null,\"stats\":{\"polls\":0,\"forced_yields\":0},\"nodes\":[]},"
	"{\"id\":\"warm\",\"path\":\"warm\",\"kind\":\"task\",\"state\":\"succeeded\","
	"\"started\":\"2024-05-01T12:00:00.010Z\",\"finished\":\"2024-05-01T12:00:00.810Z\","
	"\"value\":null,\"cancel\":null,\"stats\":{\"polls\":12,\"forced_yields\":3}},"
	"{\"id\":\"load\",\"path\":\"load\",\"kind\":\"scope\",\"state\":\"failed\","
	"\"started\":\"2024-05-01T12:00:01.210Z\",\"finished\":\"2024-05-01T12:00:01.510Z\","
	"\"cancel\":null,\"stats\":{\"polls\":0,\"forced_yields\":0},\"nodes\":["
	"{\"id\":\"primary\",\"path\":\"load/primary\",\"kind\":\"exec\",\"state\":\"failed\","
	"\"started\":\"2024-05-01T12:00:01.210Z\",\"finished\":\"2024-05-01T12:00:01.510Z\","
	"\"exit_code\":1,\"cancel\":null},"
	"{\"id\":\"replica\",\"path\":\"load/replica\",\"kind\":\"exec\",\"state\":\"cancelled\","
	"\"started\":\"2024-05-01T12:00:01.210Z\",\"finished\":\"2024-05-01T12:00:01.522Z\","
	"\"signal\":15,\"cancel\":{\"reason\":\"sibling_failed\","
	"\"requested\":\"2024-05-01T12:00:01.510Z\",\"acknowledged\":\"2024-05-01T12:00:01.522Z\"}}"
	","
	"{\"id\":\"slow\",\"path\":\"load/slow\",\"kind\":\"blocking\",\"state\":\"succeeded\","
	"\"started\":\"2024-05-01T12:00:01.210Z\",\"finished\":\"2024-05-01T12:00:01.500Z\","
	"\"cancel\":{\"reason\":\"sibling_failed\",\"requested\":\"2024-05-01T12:00:01.490Z\","
	"\"acknowledged\":null}}]},"
	"{\"id\":\"cleanup\",\"path\":\"cleanup\",\"kind\":\"exec\",\"state\":\"skipped\","
	"\"after\":[\"fetch\",\"load\"],\"started\":null,\"finished\":null,\"cancel\":null},"
	"{\"id\":\"oops\",\"path\":\"oops\",\"kind\":\"task\",\"state\":\"failed\","
	"\"started\":\"2024-05-01T12:00:00.010Z\",\"finished\":\"2024-05-01T12:00:00.020Z\","
	"\"error\":\"bad\\nthing\",\"cancel\":null}]}}";

START_TEST(render_status_tree)
{
	struct json_object *st = parse(canned_status);
	struct output_opts o = {.color = false, .utf8 = false, .now_ms = 0};
	struct membuf m;
	char *text;
	const char *want =
		"Graph g42 (nightly-etl): failed\n"
		"  Created:  2024-05-01 12:00:00.000 UTC\n"
		"  Started:  2024-05-01 12:00:00.010 UTC\n"
		"  Finished: 2024-05-01 12:00:02.320 UTC (ran 2.31s)\n"
		"  Owner:    uid 1000\n"
		"\n"
		"NODE           KIND      STATE       START   TIME  DETAILS\n"
		"/              scope     failed       +0ms  2.31s  12 polls, 3 forced yields\n"
		"|- fetch       exec      succeeded    +0ms  1.20s  exit 0\n"
		"|- warm        task      succeeded    +0ms  800ms  12 polls, 3 forced yields\n"
		"|- load        scope     failed     +1.20s  300ms\n"
		"|  |- primary  exec      failed     +1.20s  300ms  exit 1\n"
		"|  |- replica  exec      cancelled  +1.20s  312ms  killed by SIGTERM, cancel: "
		"sibling_failed, acknowledged in 12ms\n"
		"|  `- slow     blocking  succeeded  +1.20s  290ms  completed anyway (cancel: "
		"sibling_failed)\n"
		"|- cleanup     exec      skipped         -      -  skipped: after load (failed)\n"
		"`- oops        task      failed       +0ms   10ms  error: bad?thing\n";

	setenv("TZ", "UTC", 1);
	tzset();
	mem_open(&m);
	ck_assert_int_eq(output_status_tree(m.f, st, &o), 0);
	text = mem_close(&m);
	ck_assert_str_eq(text, want);
	free(text);

	/* UTF-8 glyphs and colour on a terminal. */
	o.utf8 = true;
	o.color = true;
	mem_open(&m);
	ck_assert_int_eq(output_status_tree(m.f, st, &o), 0);
	text = mem_close(&m);
	ck_assert_ptr_nonnull(strstr(text, "├─ fetch"));
	ck_assert_ptr_nonnull(strstr(text, "│  └─ slow"));
	ck_assert_ptr_nonnull(strstr(text, "\033[32msucceeded\033[0m"));
	ck_assert_ptr_nonnull(strstr(text, "\033[1;31mfailed\033[0m"));
	free(text);

	/* Not a status. */
	json_object_put(st);
	st = parse("{\"id\":\"x\"}");
	mem_open(&m);
	ck_assert_int_eq(output_status_tree(m.f, st, &o), -EINVAL);
	free(mem_close(&m));
	json_object_put(st);
}
END_TEST

START_TEST(render_running_and_summary)
{
	struct json_object *st = parse(
		"{\"id\":\"g1\",\"name\":\"\",\"state\":\"running\",\"created\":null,"
		"\"started\":\"2024-05-01T12:00:00.000Z\",\"finished\":null,\"root\":{\"id\":\"\","
		"\"path\":\"/\",\"kind\":\"scope\",\"state\":\"cancelling\","
		"\"started\":\"2024-05-01T12:00:00.000Z\",\"finished\":null,"
		"\"cancel\":{\"reason\":\"client\",\"requested\":\"2024-05-01T12:00:01.000Z\","
		"\"acknowledged\":null},\"nodes\":[{\"id\":\"s\",\"kind\":\"task\",\"state\":"
		"\"pending\",\"started\":null}]}}");
	struct json_object *sum = parse("{\"id\":\"g1\",\"name\":\"n\",\"state\":\"running\","
					"\"counts\":{\"pending\":3,\"running\":2,\"succeeded\":5,"
					"\"failed\":0}}");
	struct output_opts o = {.now_ms = 1714564803500ll}; /* 12:00:03.500Z */
	struct output_counts c;
	struct membuf m;
	char *text;

	setenv("TZ", "UTC", 1);
	tzset();
	mem_open(&m);
	ck_assert_int_eq(output_status_tree(m.f, st, &o), 0);
	text = mem_close(&m);
	ck_assert_ptr_nonnull(strstr(text, "Graph g1: running\n"));
	ck_assert_ptr_nonnull(strstr(text, "  Running:  3.50s\n"));
	ck_assert_msg(strstr(text, "/     scope  cancelling   +0ms  3.50s  cancel: client, "
				   "waiting 2.50s\n") != NULL,
		      "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "`- s  task   pending         -      -\n"));
	free(text);

	mem_open(&m);
	ck_assert_int_eq(output_status_summary(m.f, sum, &o), 0);
	text = mem_close(&m);
	ck_assert_str_eq(text, "Graph g1 (n): running\n"
			       "  Nodes:    3 pending, 2 running, 5 succeeded\n");
	free(text);

	output_counts_from_summary(sum, &c);
	ck_assert_int_eq(c.total, 10);
	ck_assert_int_eq(c.done, 5);
	ck_assert_int_eq(c.running, 2);
	ck_assert_int_eq(c.failed, 0);

	mem_open(&m);
	output_outcome_line(m.f, sum, &o);
	text = mem_close(&m);
	ck_assert_str_eq(text, "g1 (n) running: 3 pending, 2 running, 5 succeeded\n");
	free(text);
	json_object_put(st);
	json_object_put(sum);

	/* The outcome of a whole status counts nodes below the root. */
	st = parse(canned_status);
	mem_open(&m);
	output_outcome_line(m.f, st, &o);
	text = mem_close(&m);
	ck_assert_str_eq(text, "g42 (nightly-etl) failed in 2.31s: 3 succeeded, 3 failed, "
			       "1 cancelled, 1 skipped\n");
	free(text);
	json_object_put(st);
}
END_TEST

START_TEST(render_list)
{
	struct json_object *l = parse(
		"{\"graphs\":[{\"id\":\"a1\",\"name\":\"nightly\",\"state\":\"running\","
		"\"created\":\"2024-05-01T12:00:00.000Z\",\"nodes_total\":10,\"nodes_done\":3},"
		"{\"id\":\"b22\",\"name\":\"x\",\"state\":\"succeeded\",\"created\":null}]}");
	struct json_object *empty = parse("{\"graphs\":[]}");
	struct output_opts o = {0};
	struct membuf m;
	char *text;

	setenv("TZ", "UTC", 1);
	tzset();
	mem_open(&m);
	ck_assert_int_eq(output_list(m.f, l, &o), 0);
	text = mem_close(&m);
	ck_assert_str_eq(text, "ID   NAME     STATE      CREATED              NODES\n"
			       "a1   nightly  running    2024-05-01 12:00:00  3/10\n"
			       "b22  x        succeeded  -                    -\n");
	free(text);
	mem_open(&m);
	ck_assert_int_eq(output_list(m.f, empty, &o), 0);
	text = mem_close(&m);
	ck_assert_str_eq(text, "No graphs.\n");
	free(text);
	json_object_put(l);
	json_object_put(empty);
}
END_TEST

START_TEST(render_event_and_progress)
{
	struct json_object *ev =
		parse("{\"graph\":\"g1\",\"node\":\"load/primary\",\"state\":"
		      "\"failed\",\"ts\":\"2024-05-01T12:00:01.234Z\",\"kind\":\"exec\","
		      "\"exit_code\":2,\"error\":null,\"attempt\":1}");
	struct output_counts c = {.total = 10, .done = 5, .running = 2, .failed = 1};
	struct output_opts o = {.width = 60};
	struct membuf m;
	char *text;

	setenv("TZ", "UTC", 1);
	tzset();
	mem_open(&m);
	output_event_line(m.f, ev, &o);
	text = mem_close(&m);
	ck_assert_str_eq(text, "12:00:01.234 g1 load/primary exec failed exit 2 attempt=1\n");
	free(text);
	json_object_put(ev);

	mem_open(&m);
	output_progress_bar(m.f, "g1", &c, 2310, &o);
	text = mem_close(&m);
	ck_assert_str_eq(text,
			 "\rg1 [#######........] 5/10 nodes, 2 running, 1 failed, 2.31s\033[K");
	free(text);
}
END_TEST

START_TEST(render_stats)
{
	struct json_object *s = parse(
		"{\"executor\":{\"workers\":2,\"tasks_spawned\":10,\"polls\":1000,"
		"\"forced_yields\":25,\"short_circuits\":7,\"run_queue_depth\":0,\"new_thing\":5},"
		"\"budget\":{\"default\":128,\"forced_yields\":25,\"short_circuits\":7},"
		"\"cancellation\":{\"requests\":{\"client\":3,\"deadline\":1},\"latency_count\":4,"
		"\"latency_sum_seconds\":0.004},"
		"\"jobs\":{\"task\":{\"spawned\":5,\"succeeded\":4,\"failed\":1},"
		"\"exec\":{\"spawned\":2,\"succeeded\":2,\"failed\":0}},"
		"\"daemon\":{\"graphs_submitted\":1234567,\"uptime_seconds\":125.5},"
		"\"future\":{\"widgets\":3},\"deep\":{\"x\":{\"y\":1},\"zz\":2,\"e\":{}}}");
	const char *metrics = "# TYPE coopd_cancel_latency_seconds histogram\n"
			      "coopd_cancel_latency_seconds_bucket{le=\"0.001\"} 2\n"
			      "coopd_cancel_latency_seconds_bucket{le=\"0.01\"} 4\n"
			      "coopd_cancel_latency_seconds_bucket{le=\"+Inf\"} 4\n"
			      "coopd_cancel_latency_seconds_sum 0.004\n"
			      "coopd_cancel_latency_seconds_count 4\n";
	struct output_histogram h;
	struct output_opts o = {0};
	struct membuf m;
	char *text;

	ck_assert_int_eq(output_histogram_parse(metrics, "coopd_cancel_latency_seconds", &h), 0);
	ck_assert_uint_eq(h.n, 3);
	ck_assert(h.le[2] < 0);
	/* p50: rank 2 of 4, the top of the first bucket. */
	ck_assert_double_eq_tol(output_histogram_quantile(&h, 0.5), 0.001, 1e-12);
	/* p75: rank 3, halfway through the second bucket. */
	ck_assert_double_eq_tol(output_histogram_quantile(&h, 0.75), 0.0055, 1e-12);
	ck_assert_int_eq(output_histogram_parse("x 1\n", "coopd_cancel_latency_seconds", &h),
			 -ENOENT);
	ck_assert_int_eq(output_histogram_parse(metrics, "coopd_cancel_latency_seconds", &h), 0);

	mem_open(&m);
	ck_assert_int_eq(output_stats(m.f, s, &h, &o), 0);
	text = mem_close(&m);
	ck_assert_msg(strstr(text, "Executor\n  Workers:               2\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  New thing:             5\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  Polls ending in yield: 2.50%\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "  Requests by reason:    client 3, deadline 1  (total 4)\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "  Acknowledged:          4, mean 1.0ms\n"), "%s", text);
	ck_assert_msg(strstr(text, "  Latency:               p50 1.0ms  p90 8.2ms  p99 9.8ms"),
		      "%s", text);
	ck_assert_msg(strstr(text, "                spawned  succeeded     failed\n"
				   "  task                5          4          1\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "  Graphs submitted:      1,234,567\n"), "%s", text);
	ck_assert_msg(strstr(text, "  Uptime:                2m05s\n"), "%s", text);
	ck_assert_msg(strstr(text, "Future: widgets 3\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nDeep:\n  X: y 1\n  Zz: 2\n  E: none\n"), "%s", text);
	free(text);
	json_object_put(s);
}
END_TEST

/* Issue 18, defects 1 and 2: a cancelled or skipped node says in words what
 * happened, also when the daemon's cancel.reason is null, and the text of
 * `cancel --reason` shows on the node it was given for. */
START_TEST(render_cancel_words)
{
	struct json_object *st = parse(
		"{\"id\":\"g7\",\"name\":\"t\",\"state\":\"cancelled\",\"root\":{"
		"\"id\":\"\",\"path\":\"/\",\"kind\":\"scope\",\"state\":\"cancelled\","
		"\"started\":\"2024-05-01T12:00:00.000Z\",\"finished\":\"2024-05-01T12:00:01."
		"000Z\","
		"\"cancel\":{\"reason\":\"client\",\"requested\":\"2024-05-01T12:00:00.900Z\","
		"\"acknowledged\":\"2024-05-01T12:00:00.905Z\",\"note\":\"deploy \\\"v2\\\" "
		"aborted\"},"
		"\"nodes\":["
		"{\"id\":\"a\",\"path\":\"a\",\"kind\":\"task\",\"state\":\"cancelled\","
		"\"started\":\"2024-05-01T12:00:00.000Z\",\"finished\":\"2024-05-01T12:00:01."
		"000Z\","
		"\"cancel\":{\"reason\":\"client\",\"requested\":\"2024-05-01T12:00:00.900Z\","
		"\"acknowledged\":\"2024-05-01T12:00:00.901Z\"}},"
		"{\"id\":\"b\",\"path\":\"b\",\"kind\":\"exec\",\"state\":\"skipped\","
		"\"after\":[\"a\"],\"started\":null,\"finished\":\"2024-05-01T12:00:01.000Z\","
		"\"cancel\":{\"reason\":null,\"requested\":\"2024-05-01T12:00:00.900Z\","
		"\"acknowledged\":null}},"
		"{\"id\":\"c\",\"path\":\"c\",\"kind\":\"exec\",\"state\":\"cancelled\","
		"\"started\":null,\"finished\":\"2024-05-01T12:00:01.000Z\","
		"\"cancel\":{\"reason\":null,\"requested\":\"2024-05-01T12:00:00.900Z\","
		"\"acknowledged\":null}},"
		"{\"id\":\"d\",\"path\":\"d\",\"kind\":\"scope\",\"state\":\"skipped\","
		"\"after\":[\"a\"],\"started\":null,\"finished\":null,\"cancel\":null,\"nodes\":["
		"{\"id\":\"e\",\"path\":\"d/e\",\"kind\":\"task\",\"state\":\"skipped\","
		"\"started\":null,\"finished\":null,\"cancel\":null}]},"
		"{\"id\":\"f\",\"path\":\"f\",\"kind\":\"task\",\"state\":\"cancelled\","
		"\"started\":null,\"finished\":\"2024-05-01T12:00:01.000Z\","
		"\"cancel\":{\"reason\":\"client\",\"requested\":\"2024-05-01T12:00:00.900Z\","
		"\"acknowledged\":\"2024-05-01T12:00:00.900Z\"}}]}}");
	struct output_opts o = {.color = false, .utf8 = false, .now_ms = 0};
	struct membuf m;
	char *text;

	mem_open(&m);
	ck_assert_int_eq(output_status_tree(m.f, st, &o), 0);
	text = mem_close(&m);
	ck_assert_msg(strstr(text, "?") == NULL, "a '?' in:\n%s", text);
	ck_assert_msg(strstr(text, "cancel: client \"deploy \"v2\" aborted\", acknowledged in 5ms"),
		      "%s", text);
	ck_assert_msg(strstr(text, "skipped: after a (cancelled)\n"), "%s", text);
	ck_assert_msg(strstr(text, "cancelled before it started\n"), "%s", text);
	ck_assert_msg(strstr(text, "skipped: its scope was skipped\n"), "%s", text);
	ck_assert_msg(strstr(text, "cancel: client, before it started, acknowledged in 0ms\n"),
		      "%s", text);
	/* The note is on the node it was given for only. */
	ck_assert_ptr_null(strstr(strstr(text, "deploy") + 1, "deploy"));
	free(text);
	json_object_put(st);
}
END_TEST

/* Issue 18, defect 7: `run` exits 127 for a command not found and 126 for
 * one that cannot be executed, from the daemon's error text. */
START_TEST(run_spawn_status)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "nosuchcmd: %s", strerror(ENOENT));
	ck_assert_int_eq(cmd_run_spawn_status("nosuchcmd", buf), 127);
	snprintf(buf, sizeof(buf), "/tmp/x: %s", strerror(EACCES));
	ck_assert_int_eq(cmd_run_spawn_status("/tmp/x", buf), 126);
	snprintf(buf, sizeof(buf), "/tmp: %s", strerror(EISDIR));
	ck_assert_int_eq(cmd_run_spawn_status("/tmp", buf), 126);
	snprintf(buf, sizeof(buf), "exec ./s.sh (cwd /w): %s", strerror(ENOEXEC));
	ck_assert_int_eq(cmd_run_spawn_status("./s.sh", buf), 126);
	/* Not about the command: the working directory, another program. */
	snprintf(buf, sizeof(buf), "cwd /gone: %s", strerror(ENOENT));
	ck_assert_int_eq(cmd_run_spawn_status("ls", buf), 1);
	snprintf(buf, sizeof(buf), "lsx: %s", strerror(ENOENT));
	ck_assert_int_eq(cmd_run_spawn_status("ls", buf), 1);
	ck_assert_int_eq(cmd_run_spawn_status("ls", "ls: out of memory"), 1);
	ck_assert_int_eq(cmd_run_spawn_status("ls", NULL), 1);
}
END_TEST

/* status --format dot: ids are paths, `after` edges (clipped at a scope's
 * cluster), scopes as clusters, text from users escaped. */
START_TEST(render_dot)
{
	struct json_object *st = parse(canned_status);
	struct membuf m;
	char *text;

	mem_open(&m);
	ck_assert_int_eq(client_dot_status(m.f, st), 0);
	text = mem_close(&m);
	ck_assert_msg(strncmp(text, "digraph \"g42\" {\n", 16) == 0, "%s", text);
	ck_assert_msg(strstr(text, "subgraph \"cluster_load\" {\n"), "%s", text);
	ck_assert_msg(strstr(text,
			     "    \"load/primary\" [label=\"primary\\nexec · failed (exit 1)\", "
			     "fillcolor=\"#ff9b9b\"];\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "  \"load\" -> \"cleanup\" [ltail=\"cluster_load\"];\n"), "%s",
		      text);
	ck_assert_msg(strstr(text, "  \"fetch\" -> \"cleanup\";\n"), "%s", text);
	/* Control characters in an error never reach the label. */
	ck_assert_ptr_null(strchr(text, '\r'));
	ck_assert_msg(strstr(text, "\"legend:skipped\""), "%s", text);
	free(text);
	json_object_put(st);

	st = parse("{\"id\":\"g\",\"name\":\"a \\\"q\\\" \\\\ b\",\"state\":\"running\","
		   "\"root\":{\"id\":\"\",\"path\":\"/\",\"kind\":\"scope\",\"nodes\":[]}}");
	mem_open(&m);
	ck_assert_int_eq(client_dot_status(m.f, st), 0);
	text = mem_close(&m);
	ck_assert_msg(strstr(text, "label=\"g (a \\\"q\\\" \\\\ b): running\""), "%s", text);
	free(text);
	json_object_put(st);

	st = parse("{\"id\":\"x\"}");
	mem_open(&m);
	ck_assert_int_eq(client_dot_status(m.f, st), -EINVAL);
	free(mem_close(&m));
	json_object_put(st);
}
END_TEST

/* "Did you mean": a unique prefix, else the nearest command when close and
 * unambiguous; nothing for what is not near any command. */
START_TEST(suggest_command)
{
	ck_assert_str_eq(cmd_suggest("stauts")->name, "status");
	ck_assert_str_eq(cmd_suggest("statu")->name, "status");
	ck_assert_str_eq(cmd_suggest("sumbit")->name, "submit");
	ck_assert_str_eq(cmd_suggest("lsit")->name, "list");
	ck_assert_str_eq(cmd_suggest("canel")->name, "cancel");
	ck_assert_str_eq(cmd_suggest("metric")->name, "metrics");
	ck_assert_str_eq(cmd_suggest("WAIT") ? "x" : "none", "none");
	ck_assert_ptr_null(cmd_suggest("qqqq"));
	ck_assert_ptr_null(cmd_suggest("x"));
	ck_assert_ptr_null(cmd_suggest("xy"));
	ck_assert_ptr_null(cmd_suggest(""));
	ck_assert_ptr_null(cmd_suggest("a-very-long-name-that-is-longer-than-any-buffer-we-keep"));
}
END_TEST

/* map: placeholders, stdin splitting, parsing and the graph it builds. */
START_TEST(map_parts)
{
	static const char *const cases[][3] = {
		{"{}", "dir/sub/a.tar.gz", "dir/sub/a.tar.gz"},
		{"{.}", "dir/sub/a.tar.gz", "dir/sub/a.tar"},
		{"{/}", "dir/sub/a.tar.gz", "a.tar.gz"},
		{"{//}", "dir/sub/a.tar.gz", "dir/sub"},
		{"{/.}", "dir/sub/a.tar.gz", "a.tar"},
		{"{.}", "dir.d/file", "dir.d/file"},
		{"{.}", ".bashrc", ".bashrc"},
		{"{//}", "plain", "."},
		{"{//}", "/top", "/"},
		{"x={}-{/}", "a b/c \"d\"", "x=a b/c \"d\"-c \"d\""},
		{"no placeholder", "item", "no placeholder"},
		{"{", "item", "{"},
		{"{}{}", "", ""},
	};
	char **items = NULL;
	size_t n = 0;
	char text[] = "one\n\ntwo words\n";
	char zero[] = "a\nb\0c";
	char bad[] = "a\0b\n";
	char *argv_ph[] = {"echo", "{/}"}, *argv_none[] = {"echo", "{x}"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = cmd_map_substitute(cases[i][0], cases[i][1]);
		ck_assert_ptr_nonnull(got);
		ck_assert_msg(strcmp(got, cases[i][2]) == 0, "%s with %s: %s", cases[i][0],
			      cases[i][1], got);
		free(got);
	}
	ck_assert_int_eq(cmd_map_has_placeholder(argv_ph, 2), 1);
	ck_assert_int_eq(cmd_map_has_placeholder(argv_none, 2), 0);

	ck_assert_int_eq(cmd_map_split(text, strlen(text), '\n', &items, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(items[0], "one");
	ck_assert_str_eq(items[1], "");
	ck_assert_str_eq(items[2], "two words");
	free(items);
	ck_assert_int_eq(cmd_map_split(zero, sizeof(zero) - 1, '\0', &items, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(items[0], "a\nb");
	ck_assert_str_eq(items[1], "c");
	free(items);
	ck_assert_int_eq(cmd_map_split(bad, sizeof(bad) - 1, '\n', &items, &n), -EINVAL);
}
END_TEST

START_TEST(map_parse_and_graph)
{
	FILE *err = devnull();
	struct cmd_map_args a;
	struct json_object *g = NULL, *nodes, *node, *v;
	char *ok[] = {"map", "-j", "4",   "--name", "zip", "--", "gzip",
		      "-9",  "{}", ":::", "a b",    "c",   NULL};
	char *stdin_form[] = {"map", "echo", "-n", NULL};
	char *no_cmd[] = {"map", "--", ":::", "x", NULL};
	char *bad_j[] = {"map", "-j", "0", "--", "echo", NULL};
	char *null_items[] = {"map", "-0", "--", "echo", ":::", "x", NULL};
	const char *items[] = {"a b", "c"};

	ck_assert_int_eq(cmd_map_parse(12, ok, &a, err), 0);
	ck_assert_int_eq(a.jobs, 4);
	ck_assert_str_eq(a.name, "zip");
	ck_assert_int_eq(a.argc, 3);
	ck_assert_str_eq(a.argv[0], "gzip");
	ck_assert(a.has_items);
	ck_assert_int_eq(a.n_items, 2);
	ck_assert_str_eq(a.items[0], "a b");
	/* The command's own options stay the command's. */
	ck_assert_int_eq(cmd_map_parse(3, stdin_form, &a, err), 0);
	ck_assert(!a.has_items);
	ck_assert_int_eq(a.argc, 2);
	ck_assert_str_eq(a.argv[1], "-n");
	ck_assert_int_eq(cmd_map_parse(4, no_cmd, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_map_parse(5, bad_j, &a, err), -EINVAL);
	ck_assert_int_eq(cmd_map_parse(6, null_items, &a, err), -EINVAL);

	ck_assert_int_eq(cmd_map_parse(12, ok, &a, err), 0);
	ck_assert_int_eq(cmd_map_graph(&a, items, 2, "/w", &g), 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(g, "policy")),
			 "all_settled");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(g, "max_parallel")), 4);
	nodes = json_object_object_get(g, "nodes");
	ck_assert_uint_eq(json_object_array_length(nodes), 2);
	node = json_object_array_get_idx(nodes, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(node, "id")), "1");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(node, "cwd")), "/w");
	v = json_object_object_get(node, "argv");
	ck_assert_uint_eq(json_object_array_length(v), 3);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 2)), "a b");
	json_object_put(g);
	/* No placeholder: the item is appended. */
	ck_assert_int_eq(cmd_map_parse(3, stdin_form, &a, err), 0);
	a.jobs = 1;
	ck_assert_int_eq(cmd_map_graph(&a, items, 2, NULL, &g), 0);
	v = json_object_object_get(json_object_array_get_idx(json_object_object_get(g, "nodes"), 1),
				   "argv");
	ck_assert_uint_eq(json_object_array_length(v), 3);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 2)), "c");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(g, "name")), "map echo");
	json_object_put(g);
	fclose(err);
}
END_TEST

/* top: one screen from canned answers fits any terminal size. */
START_TEST(top_render_fits)
{
	static const int sizes[][2] = {{80, 24}, {50, 12}, {20, 5}, {200, 60}};
	struct top_view v = {0};
	char *text;
	struct membuf m;

	v.stats = parse("{\"executor\":{\"workers\":2,\"polls\":1000,\"run_queue_depth\":1},"
			"\"budget\":{\"forced_yields\":500},\"cancellation\":{\"requests\":"
			"{\"client\":2,\"timeout\":1},\"latency_count\":3,\"latency_buckets\":["
			"{\"le\":0.001,\"count\":2},{\"le\":0.01,\"count\":3},{\"le\":null,"
			"\"count\":3}]}}");
	v.prev_stats = parse("{\"executor\":{\"polls\":0},\"budget\":{\"forced_yields\":0},"
			     "\"cancellation\":{\"requests\":{\"client\":1}}}");
	v.dt_s = 2;
	v.list = parse(
		"{\"graphs\":[{\"id\":\"0123456789abcdef\",\"name\":\"a very long name "
		"\\u001b[31m indeed\",\"state\":\"running\",\"nodes_total\":4,\"nodes_done\":2}]}");
	v.statuses[0] = parse(
		"{\"id\":\"0123456789abcdef\",\"root\":{\"kind\":\"scope\",\"state\":\"running\","
		"\"nodes\":[{\"path\":\"spin\",\"kind\":\"task\",\"state\":\"running\","
		"\"started\":\"2024-05-01T12:00:00.000Z\"},{\"path\":\"s\",\"kind\":\"scope\","
		"\"state\":\"running\",\"started\":\"2024-05-01T12:00:00.000Z\",\"nodes\":[{"
		"\"path\":"
		"\"s/nap\",\"kind\":\"exec\",\"state\":\"cancelling\",\"started\":"
		"\"2024-05-01T12:00:01.000Z\"},{\"path\":\"s/far\",\"kind\":\"exec\","
		"\"state\":\"running\",\"started\":\"2024-05-01T12:00:02.000Z\","
		"\"slurm\":{\"job_id\":4321,\"state\":\"RUNNING\"}}]}]}}");
	v.n_statuses = 1;
	v.where = "/run/coopd/coopd.sock";
	ck_assert_int_eq(proto_time_parse("2024-05-01T12:00:05.000Z", &v.now_ms), 0);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int lines = 0;

		v.cols = sizes[k][0];
		v.rows = sizes[k][1];
		v.tty = false;
		mem_open(&m);
		cmd_top_render(m.f, &v);
		text = mem_close(&m);
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			ck_assert_msg((int)strlen(line) <= v.cols, "%dx%d: '%s'", v.cols, v.rows,
				      line);
			ck_assert_msg(!strchr(line, '\033'), "an escape in '%s'", line);
			lines++;
		}
		ck_assert_msg(lines <= v.rows, "%d lines at %dx%d", lines, v.cols, v.rows);
		free(text);
	}
	v.cols = 80;
	v.rows = 24;
	mem_open(&m);
	cmd_top_render(m.f, &v);
	text = mem_close(&m);
	ck_assert_msg(strstr(text, "polls/s 500  forced yields/s 250"), "%s", text);
	ck_assert_msg(strstr(text, "Cancel requests 3 (1/s)"), "%s", text);
	ck_assert_msg(strstr(text, "0123456789abcdef  spin "), "%s", text);
	ck_assert_msg(strstr(text, "5.00s\n"), "%s", text);
	ck_assert_msg(strstr(text, "0123456789abcdef  s/nap "), "%s", text);
	ck_assert_msg(strstr(text, "2/4"), "%s", text);
	/* Longest-running first. */
	ck_assert_ptr_nonnull(strstr(strstr(text, " spin "), " s/nap "));
	/* A Slurm node shows its job, and the heading counts it. */
	ck_assert_msg(strstr(text, "0123456789abcdef  s/far [slurm 4321] "), "%s", text);
	ck_assert_msg(strstr(text, "3 running nodes, 1 on Slurm"), "%s", text);
	free(text);
	mem_open(&m);
	cmd_top_plain_line(m.f, &v);
	text = mem_close(&m);
	ck_assert_msg(strstr(text, "graphs 1, running nodes 3 (on Slurm 1), workers 2"), "%s",
		      text);
	ck_assert_int_eq(strchr(text, '\n') - text + 1, (long)strlen(text));
	free(text);
	json_object_put(v.stats);
	json_object_put(v.prev_stats);
	json_object_put(v.list);
	json_object_put(v.statuses[0]);
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *t;

	t = tcase_create("durations");
	tcase_add_test(t, duration_parse_valid);
	tcase_add_test(t, duration_parse_invalid);
	tcase_add_test(t, duration_format);
	suite_add_tcase(s, t);

	t = tcase_create("sockets");
	tcase_add_test(t, socket_option_wins);
	tcase_add_test(t, socket_root_uses_system);
	tcase_add_test(t, socket_user_existing);
	tcase_add_test(t, socket_user_missing_falls_back);
	tcase_add_test(t, socket_open_records_every_failure);
	suite_add_tcase(s, t);

	t = tcase_create("exit");
	tcase_add_test(t, exit_code_mapping);
	tcase_add_test(t, main_exit_codes);
	tcase_add_test(t, suggest_command);
	suite_add_tcase(s, t);

	t = tcase_create("args");
	tcase_add_test(t, parse_global);
	tcase_add_test(t, parse_late_globals);
	tcase_add_test(t, parse_submit);
	tcase_add_test(t, parse_run);
	tcase_add_test(t, parse_cancel);
	tcase_add_test(t, parse_others);
	tcase_add_test(t, parse_operand_messages);
	suite_add_tcase(s, t);

	t = tcase_create("conn");
	tcase_add_test(t, conn_matches_ids_and_events);
	tcase_add_test(t, conn_send_text_is_one_line);
	suite_add_tcase(s, t);

	t = tcase_create("render");
	tcase_add_test(t, render_status_tree);
	tcase_add_test(t, render_running_and_summary);
	tcase_add_test(t, render_list);
	tcase_add_test(t, render_event_and_progress);
	tcase_add_test(t, render_stats);
	tcase_add_test(t, render_cancel_words);
	tcase_add_test(t, run_spawn_status);
	tcase_add_test(t, render_dot);
	tcase_add_test(t, map_parts);
	tcase_add_test(t, map_parse_and_graph);
	tcase_add_test(t, top_render_fits);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
