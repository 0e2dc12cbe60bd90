/*
 * coopd-main.c - main(): the start-up order and the end.  Everything else
 * of the daemon is in daemon/libcoopd.la (daemon/local.mk), so that unit
 * suites link it without this file; coopd-lifecycle.c has the watchers,
 * the signals and the graceful stop.
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
 * READY=1.  The stop: coopd-lifecycle.c.
 */
#include "config.h"

#include <errno.h>
#include <json-c/linkhash.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-registry.h"
#include "graph-run.h"
#include "job-exec-recover.h"
#include "job-exec.h"
#include "job-slurm.h"
#include "method-wait.h"
#include "metrics-http.h"
#include "reactor-inbox.h"
#include "reactor-timer.h"
#include "server-watch.h"
#include "server.h"
#include "store-load.h"
#include "store-lock.h"
#include "store-state.h"
#include "util-log.h"

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
	coopd_raise_fd_limit();

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
	loopstat_attach(d.loop, &d.loopstat);
	d.exec_pids = lh_kptr_table_new(64, NULL);
	if (graph_registry_init(&d) < 0 || !d.exec_pids) {
		log_err("out of memory");
		goto out;
	}
	if (store_open(&d, &d.store) < 0)
		goto out;
	store_set_cgroups(d.store, exec_cgroups_active(&d));
	/* Who follows the graphs, in this order: the journal before watch
	 * events, the lifecycle, and `wait` last: it may free a graph
	 * (graph-registry.h). */
	if (store_subscribe(&d) < 0 || watch_subscribe(&d) < 0 || coopd_subscribe(&d) < 0 ||
	    wait_subscribe(&d) < 0) {
		log_err("too many subscribers of graph events (GRAPH_OBSERVERS_MAX)");
		goto out;
	}
	if (slurm_setup(&d) < 0)
		goto out;
	if (reactor_timers_new(d.loop, &d.timers) < 0 || reactor_inbox_new(&d, &d.inbox) < 0) {
		log_err("out of memory");
		goto out;
	}
	if (coopd_start_runtime(&d) < 0)
		goto out;
	if (store_load(&d) < 0)
		goto out;
	if (server_new(&d, &d.server) < 0)
		goto out;
	if (d.cfg.metrics_listen && metrics_http_start(&d, &d.metrics_http) < 0)
		goto out;

	coopd_watchers_start(&d);
	log_info("coopd %s ready: socket %s, state %s, %u worker(s)", PACKAGE_VERSION,
		 d.cfg.socket_path, d.cfg.state_dir, coop_rt_workers(d.rt));
	(void)sd_notifyf(0, "READY=1\nSTATUS=serving on %s", d.cfg.socket_path);

	ev_run(d.loop, 0);

	coopd_watchers_stop(&d);
	ret = EXIT_SUCCESS;
out:
	clean = graph_registry_active(&d) == 0;
	if (d.store)
		store_flush_all(d.store);
	server_free(d.server);
	metrics_http_stop(d.metrics_http);
	if (d.rt && clean) {
		/* Every graph has settled: no task is left and every
		 * node's end has been posted. */
		coop_rt_free(d.rt);
		if (d.inbox)
			inbox_drain(d.inbox);
	}
	if (clean || !d.rt) {
		/* With a runtime still running (forced stop), tasks may point
		 * into the graphs: leave them to the process exit.  The writer
		 * finishes its queue first: its jobs point into graphs too. */
		store_stop_writer(d.store);
		graph_run_backlog_free(&d);
		graph_registry_free_all(&d);
		reactor_inbox_free(d.inbox);
		reactor_timers_free(d.timers);
	}
	store_free(d.store);
	uidcount_free(&d.submits_pending);
	uidcount_free(&d.submit_nodes_pending);
	uidcount_free(&d.submit_bytes_pending);
	graph_registry_fini(&d);
	if (d.exec_pids)
		lh_table_free(d.exec_pids);
	slurm_teardown(&d);
	exec_recover_free(&d);
	exec_teardown(&d);
	if (ret == EXIT_SUCCESS)
		log_info("stopped");
	config_free(&d.cfg);
	store_lock_release(d.state_fd, d.state_lock_fd);
	if (d.loop && clean)
		ev_loop_destroy(d.loop);
	return ret;
}
