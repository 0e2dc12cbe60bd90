/*
 * coopd-main.c - start-up, the main loop, signals and the graceful stop.
 *
 * The main thread runs the libev loop; each iteration handles, in libev's
 * order: accepted connections and client reads/writes (server-conn.c),
 * timers (libcoop's through reactor-timer.c, `wait` timeouts, exec grace
 * and group polling, the journal flush), the inbox of node mail from
 * libcoop's threads (reactor-inbox.c), reaped children (ev_child ->
 * job-exec.c), output pipes of exec jobs, completions of the state writer
 * (submits made durable, settled graphs' journals synced), HTTP /metrics,
 * the retention and watchdog timers, and SIGTERM/SIGINT.  Nothing in a
 * callback waits for the disk (docs/durability.md).
 *
 * Start-up order: options and config -> the state directory checked and
 * locked (store-lock.c: nothing is read or changed before, so a second
 * coopd leaves the first one's work alone) -> no other coopd answers on the
 * socket -> child subreaper -> job tracking
 * (a cgroup per exec job, stale cgroups of a crash removed) -> state
 * directory -> reactor pieces -> libcoop runtime (its threads start with
 * the daemon's signals blocked) -> reload graphs -> listening socket ->
 * READY=1.  SIGHUP re-reads the config file (RELOADING=1 ... READY=1).
 * Stop: SIGTERM or SIGINT -> STOPPING=1, stop accepting, cancel
 * active graphs with reason `shutdown`, wait for them within
 * shutdown_timeout_ms (then SIGKILL the remaining process groups and wait
 * two more seconds), persist, exit 0.  A second signal forces the stop.
 */
#include "config.h"

#include <errno.h>
#include <json-c/linkhash.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-run.h"
#include "job-exec.h"
#include "job-slurm.h"
#include "method-wait.h"
#include "metrics-http.h"
#include "reactor-inbox.h"
#include "reactor-timer.h"
#include "server.h"
#include "store-lock.h"
#include "store-retention.h"
#include "store-state.h"
#include "util-log.h"

#define SHUTDOWN_KILL_WAIT_S 2.0

struct graph *coopd_graph_find(struct coopd *d, const char *id)
{
	struct graph *g = NULL;

	if (!id || !lh_table_lookup_ex(d->graph_index, id, (void **)&g))
		return NULL;
	return g;
}

static void list_insert_sorted(struct coopd *d, struct graph *g)
{
	struct graph *at = d->graphs_tail;

	/* Usually appends; reloaded graphs come in directory order. */
	while (at && at->created_ms > g->created_ms)
		at = at->prev;
	g->prev = at;
	g->next = at ? at->next : d->graphs_head;
	if (g->next)
		g->next->prev = g;
	else
		d->graphs_tail = g;
	if (at)
		at->next = g;
	else
		d->graphs_head = g;
}

int coopd_register(struct coopd *d, struct graph *g)
{
	if (lh_table_insert(d->graph_index, g->id, g) < 0)
		return -ENOMEM;
	list_insert_sorted(d, g);
	return 0;
}

void coopd_register_loaded(struct coopd *d, struct graph *g)
{
	if (coopd_register(d, g) < 0) {
		log_err("out of memory registering graph %s; it is not shown", g->id);
		graph_free(g);
		return;
	}
	retention_note(d, g);
}

/* STATUS= for systemctl status (a no-op without NOTIFY_SOCKET). */
void notify_status(struct coopd *d)
{
	(void)sd_notifyf(0, "STATUS=%s: %zu active graph(s), %zu connection(s)",
			 d->shutting_down ? "stopping" : "serving", d->graphs_active,
			 d->server ? server_connections(d->server) : (size_t)0);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)sd_notify(0, "WATCHDOG=1");
}

void coopd_maybe_stopped(struct coopd *d)
{
	if (d->shutting_down && d->graphs_active == 0 && store_pending(d->store) == 0)
		ev_break(d->loop, EVBREAK_ALL);
}

void coopd_graph_settled(struct coopd *d, struct graph *g)
{
	uid_t uid = g->uid;

	log_debug("graph %s settled: %s", g->id,
		  proto_state_name((enum proto_state)g->root->state));
	retention_note(d, g);
	/* May free g (a `remove` that waited for the sync); else its tree is
	 * not kept (bounded memory: docs/durability.md). */
	if (!wait_graph_settled(d, g))
		graph_maybe_release(g);
	notify_status(d);
	if (!d->shutting_down)
		retention_prune_user(d, uid);
	coopd_maybe_stopped(d);
}

static void shutdown_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct coopd *d = w->data;

	if (!d->shutdown_forced) {
		log_warn("%zu graph(s) still running after %u ms: killing their processes",
			 d->graphs_active, d->cfg.shutdown_timeout_ms);
		d->shutdown_forced = true;
		exec_kill_all(d);
		slurm_cancel_all(d);
		ev_timer_set(w, SHUTDOWN_KILL_WAIT_S, 0.);
		ev_timer_start(loop, w);
		return;
	}
	log_warn("%zu graph(s) did not stop; exiting anyway (they will be reported "
		 "interrupted on the next start)",
		 d->graphs_active);
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
	log_info("stopping: %zu active graph(s) to cancel", d->graphs_active);
	server_stop_accepting(d->server);
	metrics_http_stop(d->metrics_http);
	d->metrics_http = NULL;
	for (struct graph *g = d->graphs_head; g; g = g->next)
		if (g->active)
			graph_run_cancel(d, g, NULL, COOP_REASON_SHUTDOWN, -1, NULL);
	if (d->graphs_active == 0 && store_pending(d->store) == 0) {
		ev_break(d->loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&d->shutdown_timer, shutdown_timer_cb, d->cfg.shutdown_timeout_ms / 1000.,
		      0.);
	d->shutdown_timer.data = d;
	ev_timer_start(d->loop, &d->shutdown_timer);
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
		}
	}
	(void)sd_notify(0, "READY=1");
	notify_status(d);
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
static void raise_fd_limit(void)
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
static int start_runtime(struct coopd *d)
{
	coop_rt_options o = {0};
	coop_scope_opts mo = {.policy = COOP_POLICY_ALL_SETTLED};
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
	r = coop_scope_new(d->rt, NULL, &mo, &d->monitor);
	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot create the monitor scope");
	return 0;
}

static void free_graphs(struct coopd *d)
{
	struct graph *g = d->graphs_head, *next;

	for (; g; g = next) {
		next = g->next;
		graph_free(g);
	}
	d->graphs_head = d->graphs_tail = NULL;
}

int main(int argc, char **argv)
{
	struct coopd d;
	int r, ret = EXIT_FAILURE;
	bool clean;

	memset(&d, 0, sizeof(d));
	d.state_fd = d.state_lock_fd = -1;
	config_init(&d.cfg);
	r = config_parse_args(&d.cfg, argc, argv);
	if (r != 0) {
		config_free(&d.cfg);
		return r > 0 ? EXIT_SUCCESS : 2;
	}
	log_set_level(d.cfg.log_level);
	if (d.cfg.config_file && config_load_file(&d.cfg, d.cfg.config_file) < 0)
		goto out;
	if (config_finish(&d.cfg) < 0)
		goto out;
	/* One owner: before anything below reads or changes the state
	 * directory (crash recovery kills processes and writes records). */
	if (store_lock_take(d.cfg.state_dir, &d.state_fd, &d.state_lock_fd) < 0)
		goto out;
	if (server_listen_check(&d) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	d.start_mono_ns = coop_now_ns();
	raise_fd_limit();

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == 0)
		d.subreaper = true;
	else
		log_errno(LOG_WARNING, -errno, "cannot become a child subreaper");
	if (exec_setup(&d) < 0)
		goto out;

	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (!d.loop) {
		log_err("cannot create the event loop");
		goto out;
	}
	d.graph_index = lh_kchar_table_new(1024, NULL);
	d.exec_pids = lh_kptr_table_new(64, NULL);
	if (!d.graph_index || !d.exec_pids) {
		log_err("out of memory");
		goto out;
	}
	if (store_open(&d, &d.store) < 0)
		goto out;
	if (slurm_setup(&d) < 0)
		goto out;
	if (reactor_timers_new(d.loop, &d.timers) < 0 || reactor_inbox_new(&d, &d.inbox) < 0) {
		log_err("out of memory");
		goto out;
	}
	if (start_runtime(&d) < 0)
		goto out;
	if (store_load(&d) < 0)
		goto out;
	if (server_new(&d, &d.server) < 0)
		goto out;
	if (d.cfg.metrics_listen && metrics_http_start(&d, &d.metrics_http) < 0)
		goto out;

	ev_signal_init(&d.sig_term, signal_cb, SIGTERM);
	ev_signal_init(&d.sig_int, signal_cb, SIGINT);
	d.sig_term.data = d.sig_int.data = &d;
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_start(d.loop, &d.sig_int);
	/* A closed terminal must not kill the daemon without a graceful stop. */
	ev_signal_init(&d.sig_hup, sighup_cb, SIGHUP);
	d.sig_hup.data = &d;
	ev_signal_start(d.loop, &d.sig_hup);
	ev_unref(d.loop);
	ev_child_init(&d.child, child_cb, 0, 0);
	d.child.data = &d;
	ev_child_start(d.loop, &d.child);
	ev_unref(d.loop); /* the child watcher alone does not keep us running */

	retention_start(&d);
	{
		uint64_t usec = 0;

		/* WatchdogSec=: keep-alives at half the interval, from the loop,
		 * so a stuck loop is noticed. */
		if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
			ev_timer_init(&d.watchdog, watchdog_cb, usec / 2e6, usec / 2e6);
			ev_timer_start(d.loop, &d.watchdog);
			ev_unref(d.loop);
		}
	}
	log_info("coopd %s ready: socket %s, state %s, %u worker(s)", PACKAGE_VERSION,
		 d.cfg.socket_path, d.cfg.state_dir, coop_rt_workers(d.rt));
	(void)sd_notifyf(0, "READY=1\nSTATUS=serving on %s", d.cfg.socket_path);

	ev_run(d.loop, 0);

	retention_stop(&d);
	if (ev_is_active(&d.watchdog)) {
		ev_ref(d.loop);
		ev_timer_stop(d.loop, &d.watchdog);
	}
	ev_ref(d.loop);
	ev_child_stop(d.loop, &d.child);
	ev_signal_stop(d.loop, &d.sig_term);
	ev_signal_stop(d.loop, &d.sig_int);
	ev_ref(d.loop);
	ev_signal_stop(d.loop, &d.sig_hup);
	if (d.shutting_down)
		ev_timer_stop(d.loop, &d.shutdown_timer);
	ret = EXIT_SUCCESS;
out:
	clean = d.graphs_active == 0;
	if (d.store)
		store_flush_all(d.store);
	server_free(d.server);
	metrics_http_stop(d.metrics_http);
	if (d.rt && clean) {
		/* Every graph has settled, so every joiner has returned. */
		if (d.monitor) {
			coop_scope_join(d.monitor, NULL);
			coop_scope_free(d.monitor);
		}
		coop_rt_free(d.rt);
		if (d.inbox)
			inbox_drain(d.inbox);
	}
	if (clean || !d.rt) {
		/* With a runtime still running (forced stop), tasks may point
		 * into the graphs: leave them to the process exit.  The writer
		 * finishes its queue first: its jobs point into graphs too. */
		store_stop_writer(d.store);
		free_graphs(&d);
		reactor_inbox_free(d.inbox);
		reactor_timers_free(d.timers);
	}
	store_free(d.store);
	uidcount_free(&d.submits_pending);
	uidcount_free(&d.active_per_user);
	if (d.graph_index)
		lh_table_free(d.graph_index);
	if (d.exec_pids)
		lh_table_free(d.exec_pids);
	slurm_teardown(&d);
	exec_teardown(&d);
	if (ret == EXIT_SUCCESS)
		log_info("stopped");
	config_free(&d.cfg);
	store_lock_release(d.state_fd, d.state_lock_fd);
	if (d.loop && clean)
		ev_loop_destroy(d.loop);
	return ret;
}
