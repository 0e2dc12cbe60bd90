/*
 * coopd-lifecycle.c - the daemon's life around main(): the libcoop runtime
 * started with the daemon's signals blocked, the signal, child and watchdog
 * watchers on the loop, systemd's STATUS=, the end of a graph as the
 * lifecycle sees it (retention, the stop: graph events, after `wait`'s
 * answers), and the graceful stop.
 *
 * The stop: SIGTERM or SIGINT -> STOPPING=1, stop accepting, cancel active
 * graphs with reason `shutdown`, wait for them within shutdown_timeout_ms
 * (then SIGKILL the remaining process groups and wait two more seconds),
 * persist, write every client its last answers and events (server_drain,
 * within 2 s), and the loop ends (coopd-main.c exits 0).  A second signal
 * forces the stop.  SIGHUP re-reads the config file (RELOADING=1 ...
 * READY=1).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-run.h"
#include "job-exec.h"
#include "job-slurm.h"
#include "metrics-http.h"
#include "reactor-timer.h"
#include "server.h"
#include "store-retention.h"
#include "store-state.h"
#include "util-log.h"

#define SHUTDOWN_KILL_WAIT_S 2.0

/*
 * STATUS= for systemctl status.  Only under a service manager (NOTIFY_SOCKET
 * set; looked up once: without it sd_notifyf would still format the text,
 * twice per graph), and at most about once per STATUS_INTERVAL_S: the first
 * change after a quiet interval is told at once, the changes within the
 * interval once at its end, with the counts of that moment.  A datagram for
 * every graph started or gone cost more than a one-node graph itself at
 * thousands of submits a second.
 */
#define STATUS_INTERVAL_S 0.1

static void status_send(struct coopd *d)
{
	(void)sd_notifyf(0, "STATUS=%s: %zu active graph(s), %zu connection(s)",
			 d->shutting_down ? "stopping" : "serving", graph_registry_active(d),
			 d->server ? server_connections(d->server) : (size_t)0);
	d->status_dirty = false;
	ev_timer_set(&d->status_timer, STATUS_INTERVAL_S, 0.);
	ev_timer_start(d->loop, &d->status_timer);
}

static void status_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct coopd *d = w->data;

	if (d->status_dirty)
		status_send(d);
}

void coopd_notify_status(struct coopd *d)
{
	if (!d->notify)
		return;
	if (ev_is_active(&d->status_timer))
		d->status_dirty = true;
	else
		status_send(d);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)sd_notify(0, "WATCHDOG=1");
}

/* Every graph has settled and been persisted: the connections get their
 * last answers and events (a `wait` for a graph cancelled by the stop, the
 * `watch` events of its end) before they are closed and the loop ends
 * (server_drain), rather than being cut with those still queued. */
static void stop_when_drained(struct coopd *d)
{
	ev_timer_stop(d->loop, &d->shutdown_timer);
	if (d->server)
		server_drain(d->server);
	else
		ev_break(d->loop, EVBREAK_ALL);
}

void coopd_maybe_stopped(struct coopd *d)
{
	if (d->shutting_down && graph_registry_active(d) == 0 && store_pending(d->store) == 0)
		stop_when_drained(d);
}

/* Graph events (graph-registry.h).  A graph started or gone changes the
 * count in STATUS=. */
static void coopd_on_started(struct coopd *d, struct graph *g, void *arg)
{
	coopd_notify_status(d);
}

/* A graph has settled: it joins its owner's history.  `wait`, told after
 * the lifecycle, answers its waiters and releases its tree. */
static void coopd_on_settled(struct coopd *d, struct graph *g, void *arg)
{
	log_debug("graph %s settled: %s", g->id,
		  proto_state_name((enum proto_state)g->root->state));
	retention_note(d, g);
}

/* Once its `wait`s are answered (graph_gone: g may be gone, freed by a
 * `remove` that waited for it): its owner's history is pruned, and a stop
 * waiting for the last graph may end (its last answers are queued). */
static void coopd_on_gone(struct coopd *d, uid_t uid, void *arg)
{
	coopd_notify_status(d);
	if (!d->shutting_down)
		retention_prune_user(d, uid);
	coopd_maybe_stopped(d);
}

int coopd_subscribe(struct coopd *d)
{
	struct graph_observer o = {.graph_started = coopd_on_started,
				   .graph_settled = coopd_on_settled,
				   .graph_gone = coopd_on_gone};
	struct store_hooks h = {.drained = coopd_maybe_stopped};

	store_set_hooks(d->store, &h);
	return graph_registry_subscribe(d, &o);
}

static void shutdown_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct coopd *d = w->data;

	if (!d->shutdown_forced) {
		log_warn("%zu graph(s) still running after %u ms: killing their processes",
			 graph_registry_active(d), d->cfg.shutdown_timeout_ms);
		d->shutdown_forced = true;
		exec_kill_all(d);
		slurm_cancel_all(d);
		ev_timer_set(w, SHUTDOWN_KILL_WAIT_S, 0.);
		ev_timer_start(loop, w);
		return;
	}
	log_warn("%zu graph(s) did not stop; exiting anyway (they will be reported "
		 "interrupted on the next start)",
		 graph_registry_active(d));
	ev_break(loop, EVBREAK_ALL);
}

void coopd_shutdown(struct coopd *d)
{
	if (d->shutting_down) {
		log_notice("second stop signal: stopping now");
		exec_kill_all(d);
		slurm_cancel_all(d);
		d->shutdown_forced = true;
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	d->shutting_down = true;
	(void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	log_info("stopping: %zu active graph(s) to cancel", graph_registry_active(d));
	server_stop_accepting(d->server);
	metrics_http_stop(d->metrics_http);
	d->metrics_http = NULL;
	for (struct graph *g = graph_registry_first(d); g; g = g->next)
		if (g->active)
			graph_run_cancel(d, g, NULL, COOP_REASON_SHUTDOWN, -1, NULL);
	ev_timer_init(&d->shutdown_timer, shutdown_timer_cb, d->cfg.shutdown_timeout_ms / 1000.,
		      0.);
	d->shutdown_timer.data = d;
	ev_timer_start(d->loop, &d->shutdown_timer);
	/* Final states held back for the next commit (store-state.c) go
	 * now: the stop waits for them (store_pending), not for the timer. */
	store_flush_all(d->store);
	coopd_maybe_stopped(d);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct coopd *d = w->data;

	log_info("received %s", strsignal(w->signum));
	coopd_shutdown(d);
}

/* SIGHUP (`systemctl reload coopd`): re-read the config file.  systemd
 * sees RELOADING=1 (with the CLOCK_MONOTONIC time that newer systemd asks
 * for) and then READY=1, also when the file is bad: coopd then keeps its
 * previous settings and says so in the log and in STATUS=. */
static void sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct coopd *d = w->data;
	const char *file = d->cfg.config_file;
	struct timespec ts;
	int r;

	if (d->shutting_down) {
		log_notice("SIGHUP while stopping: not reloading");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
			 (unsigned long long)ts.tv_sec * 1000000ull +
				 (unsigned long long)ts.tv_nsec / 1000);
	if (!file) {
		log_notice("SIGHUP: no config file (--config) to re-read; settings unchanged");
	} else {
		log_info("SIGHUP: reloading %s", file);
		r = config_reload(&d->cfg);
		if (r < 0) {
			log_err("reloading %s failed; keeping the previous settings", file);
		} else {
			log_set_level(d->cfg.log_level);
			atomic_store_explicit(&d->ignore_cancel_max_ms, d->cfg.ignore_cancel_max_ms,
					      memory_order_relaxed);
			log_info("configuration reloaded from %s", file);
			retention_prune(d); /* the bounds may have been lowered */
			if (d->server)
				server_limits_changed(d->server); /* or raised */
		}
	}
	(void)sd_notify(0, "READY=1");
	coopd_notify_status(d);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct coopd *d = w->data;

	if (!(WIFEXITED(w->rstatus) || WIFSIGNALED(w->rstatus)))
		return;
	if (!slurm_child_reaped(d, w->rpid, w->rstatus))
		exec_child_reaped(d, w->rpid, w->rstatus);
}

/* Each running exec job holds four fds (two pipes, two log files) and each
 * client one: take the hard limit as the soft one (libev uses epoll, not
 * select, so large fd numbers are fine).  systemd's default soft limit is
 * 1024. */
void coopd_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_errno(LOG_WARNING, -errno, "cannot raise the open files limit");
}

/* Starts libcoop with the daemon's signals blocked, so its threads never
 * take them (libev's handlers then run on the loop thread). */
int coopd_start_runtime(struct coopd *d)
{
	coop_rt_options o = {0};
	sigset_t block, old;
	int r;

	o.workers = d->cfg.workers;
	o.blocking_max = d->cfg.blocking_threads;
	/* Each user's share of the pool (docs/security.md, "Fair share"). */
	o.blocking_max_per_key = d->cfg.blocking_threads_per_user;
	if (o.blocking_max_per_key == 0)
		o.blocking_max_per_key = ((o.blocking_max ? o.blocking_max : 64) + 1) / 2;
	atomic_store_explicit(&d->ignore_cancel_max_ms, d->cfg.ignore_cancel_max_ms,
			      memory_order_relaxed);
	o.timer_driver = reactor_timers_driver(d->timers);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	r = coop_rt_new(&o, &d->rt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot start the executor");
	return 0;
}

/* The watchers of the running daemon: SIGTERM/SIGINT/SIGHUP, reaped
 * children, the retention timer and systemd's watchdog. */
void coopd_watchers_start(struct coopd *d)
{
	ev_signal_init(&d->sig_term, signal_cb, SIGTERM);
	ev_signal_init(&d->sig_int, signal_cb, SIGINT);
	d->sig_term.data = d->sig_int.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	/* A closed terminal must not kill the daemon without a graceful stop. */
	ev_signal_init(&d->sig_hup, sighup_cb, SIGHUP);
	d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_hup);
	ev_unref(d->loop);
	ev_child_init(&d->child, child_cb, 0, 0);
	d->child.data = d;
	ev_child_start(d->loop, &d->child);
	ev_unref(d->loop); /* the child watcher alone does not keep us running */

	retention_start(d);
	ev_timer_init(&d->status_timer, status_timer_cb, STATUS_INTERVAL_S, 0.);
	d->status_timer.data = d;
	d->notify = getenv("NOTIFY_SOCKET") != NULL;
	{
		uint64_t usec = 0;

		/* WatchdogSec=: keep-alives at half the interval, from the loop,
		 * so a stuck loop is noticed. */
		if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
			ev_timer_init(&d->watchdog, watchdog_cb, usec / 2e6, usec / 2e6);
			ev_timer_start(d->loop, &d->watchdog);
			ev_unref(d->loop);
		}
	}
}

void coopd_watchers_stop(struct coopd *d)
{
	retention_stop(d);
	ev_timer_stop(d->loop, &d->status_timer);
	d->notify = false;
	if (ev_is_active(&d->watchdog)) {
		ev_ref(d->loop);
		ev_timer_stop(d->loop, &d->watchdog);
	}
	ev_ref(d->loop);
	ev_child_stop(d->loop, &d->child);
	ev_signal_stop(d->loop, &d->sig_term);
	ev_signal_stop(d->loop, &d->sig_int);
	ev_ref(d->loop);
	ev_signal_stop(d->loop, &d->sig_hup);
	if (d->shutting_down)
		ev_timer_stop(d->loop, &d->shutdown_timer);
}
