/*
 * daemon-spawn.c -- the near-physical limit for coopd's exec benchmark:
 * a bare posix_spawn loop that keeps P children running until N have run.
 *
 *   daemon-spawn N P PROG [bare|isolated]
 *
 * bare      posix_spawn(PROG) with the parent's environment, nothing else.
 * isolated  what coopd does per exec job besides bookkeeping: its own
 *           process group, stdin from /dev/null, stdout and stderr to pipes
 *           that the parent reads to EOF, a minimal environment.  The gap
 *           between `bare` and `isolated` is the cost of the isolation
 *           itself; the gap between `isolated` and coopd is the daemon's.
 *
 * Prints one RESULT line (bench-util.h); nothing asserts on time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"

extern char **environ;

struct slot {
	pid_t pid;
	int out, err; /* read ends (isolated), else -1 */
};

static void drain_close(int fd)
{
	char buf[4096];

	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

static int spawn_one(const char *prog, bool isolated, struct slot *s)
{
	char *argv[] = {(char *)prog, NULL};
	static char *minenv[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	int r;

	s->out = s->err = -1;
	if (!isolated)
		return posix_spawn(&s->pid, prog, NULL, NULL, argv, environ);
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	r = posix_spawn(&s->pid, prog, &fa, &at, argv, minenv);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(po[1]);
	close(pe[1]);
	s->out = po[0];
	s->err = pe[0];
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: daemon-spawn N P PROG [bare|isolated]\n");
		return 2;
	}
	long n = atol(argv[1]);
	int p = atoi(argv[2]);
	const char *prog = argv[3];
	bool isolated = argc > 4 && strcmp(argv[4], "isolated") == 0;
	struct slot *slots = calloc((size_t)p, sizeof(*slots));
	long started = 0, done = 0, failed = 0;
	int running = 0;

	uint64_t t0 = bench_now_ns();
	while (done < n) {
		while (running < p && started < n) {
			int i;
			for (i = 0; i < p && slots[i].pid; i++)
				;
			int r = spawn_one(prog, isolated, &slots[i]);
			if (r != 0) {
				fprintf(stderr, "daemon-spawn: %s: %s\n", prog, strerror(r));
				return 1;
			}
			started++;
			running++;
		}
		int st;
		pid_t pid = waitpid(-1, &st, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			perror("waitpid");
			return 1;
		}
		for (int i = 0; i < p; i++)
			if (slots[i].pid == pid) {
				drain_close(slots[i].out);
				drain_close(slots[i].err);
				slots[i].pid = 0;
			}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
		running--;
		done++;
	}
	double time_s = (double)(bench_now_ns() - t0) / 1e9;
	struct rusage rc;
	getrusage(RUSAGE_CHILDREN, &rc);
	double child_cpu = (double)(rc.ru_utime.tv_sec + rc.ru_stime.tv_sec) +
			   (double)(rc.ru_utime.tv_usec + rc.ru_stime.tv_usec) / 1e6;
	printf("RESULT bench=daemon-exec rt=%s workers=%d time_s=%.4f jobs_per_s=%.0f cpu_s=%.3f "
	       "child_cpu_s=%.3f maxrss_kb=%ld ok=%d\n",
	       isolated ? "spawn-isolated" : "spawn-bare", p, time_s, (double)n / time_s,
	       bench_cpu_s() + child_cpu, child_cpu, bench_maxrss_kb(), failed == 0);
	free(slots);
	return 0;
}
