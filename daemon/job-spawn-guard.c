/*
 * job-spawn-guard.c - the guard thread that kills a job's process stopped
 * before its exec (job-spawn-guard.h).
 *
 * One thread, started at the first guarded spawn, with every signal
 * blocked.  It sleeps until a spawn begins, then polls every
 * SPAWN_GUARD_POLL_MS while spawns are in progress, and for a while after
 * the last one (a burst of spawns costs one wake-up of it, not one per
 * spawn), then sleeps again.  A child is killed only if /proc says it is
 * stopped ('T', or 't' traced) and its executable is still coopd's own
 * (same device and inode as /proc/self/exe): before its exec the child
 * shares coopd's memory and program; after it, it is the job's, which its
 * owner may stop as it likes.  The pid cannot be another process's: the
 * child is not reaped before its parent, the loop, returns from vfork and
 * ends the guard.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "job-spawn-guard.h"
#include "util-log.h"

/* Polls with nothing to watch before the thread sleeps again: 200 ms. */
#define IDLE_POLLS (200 / SPAWN_GUARD_POLL_MS)

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t guard_cond;
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;
static bool guard_running;               /* the thread was started */
static bool guard_sleeping;              /* (lock) it waits without a timeout */
static struct spawn_guard *guard_active; /* (lock) */
static struct stat self_exe;
static _Atomic unsigned long long guard_kills;

/* Whether pid is stopped and still runs coopd's program (no exec yet). */
static bool stopped_before_exec(pid_t pid)
{
	char path[64], buf[512], *p;
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, the state follows the
	 * last ')'. */
	p = strrchr(buf, ')');
	if (!p || (p[1] != ' ') || (p[2] != 'T' && p[2] != 't'))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	return stat(path, &st) == 0 && st.st_dev == self_exe.st_dev && st.st_ino == self_exe.st_ino;
}

static void *guard_main(void *arg)
{
	unsigned idle = 0;

	(void)arg;
	pthread_mutex_lock(&guard_lock);
	for (;;) {
		struct timespec ts;

		if (!guard_active && idle >= IDLE_POLLS) {
			guard_sleeping = true;
			while (!guard_active)
				pthread_cond_wait(&guard_cond, &guard_lock);
			guard_sleeping = false;
			idle = 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SPAWN_GUARD_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (pthread_cond_timedwait(&guard_cond, &guard_lock, &ts) == 0)
			; /* only the time matters */
		idle = guard_active ? 0 : idle + 1;
		for (struct spawn_guard *g = guard_active; g; g = g->next) {
			/* relaxed: the value alone is used, and a pid not yet
			 * stored is looked at on the next poll. */
			pid_t pid = atomic_load_explicit(&g->pid, memory_order_relaxed);

			if (pid > 0 && !g->killed && stopped_before_exec(pid) &&
			    kill(pid, SIGKILL) == 0) {
				g->killed = true;
				atomic_fetch_add_explicit(&guard_kills, 1, memory_order_relaxed);
			}
		}
	}
	return NULL;
}

static void guard_start(void)
{
	pthread_condattr_t ca;
	pthread_t t;
	sigset_t all, old;
	int r;

	if (stat("/proc/self/exe", &self_exe) < 0) {
		log_errno(LOG_WARNING, -errno,
			  "cannot stat /proc/self/exe: spawns as another user are not guarded");
		return;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&guard_cond, &ca);
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&t, NULL, guard_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		log_errno(LOG_WARNING, -r,
			  "cannot start the spawn guard: spawns as another user are not guarded");
		return;
	}
	pthread_detach(t);
	guard_running = true;
}

bool spawn_guard_begin(struct spawn_guard *g)
{
	pthread_once(&guard_once, guard_start);
	if (!guard_running)
		return false;
	atomic_store_explicit(&g->pid, 0, memory_order_relaxed);
	g->killed = false;
	pthread_mutex_lock(&guard_lock);
	g->next = guard_active;
	guard_active = g;
	if (guard_sleeping)
		pthread_cond_signal(&guard_cond);
	pthread_mutex_unlock(&guard_lock);
	return true;
}

void spawn_guard_child(struct spawn_guard *g)
{
	/* relaxed: the guard needs the value only (see guard_main). */
	atomic_store_explicit(&g->pid, (pid_t)syscall(SYS_getpid), memory_order_relaxed);
}

bool spawn_guard_end(struct spawn_guard *g)
{
	bool killed;

	pthread_mutex_lock(&guard_lock);
	for (struct spawn_guard **pp = &guard_active; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	killed = g->killed;
	pthread_mutex_unlock(&guard_lock);
	return killed;
}

unsigned long long spawn_guard_kills(void)
{
	return atomic_load_explicit(&guard_kills, memory_order_relaxed);
}
