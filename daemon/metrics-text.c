/*
 * metrics-text.c - the Prometheus text of `metrics`, and `stats` JSON.
 *
 * Sources: coop_rt_stats() for the executor (polls, forced yields,
 * short-circuits, steals, queue depths, cancel requests and the cancel
 * latency histogram), the daemon's counters for jobs by kind (libcoop
 * counts tasks and blocking jobs, not node kinds: an exec node is a task to
 * it), graphs, connections and requests.
 * Every family has HELP and TYPE lines; counters end in _total; label
 * values are fixed strings, so they need no escaping.
 *
 * What the cancellation figures count: coopd_cancel_requests_total one per
 * request (a graph, a subtree or a job cancelled, a deadline or timeout
 * that fired, a failure or race that cancelled siblings), not per
 * descendant it reached; coopd_cancel_latency_seconds one observation per
 * job that stopped as cancelled after it had started (request to that
 * job's acknowledgement), so its _count is the number of started jobs
 * finished `cancelled`.
 *
 * Runs on the daemon's loop thread only (the `metrics`/`stats` methods and
 * metrics-http.c), which owns d->counters; coop_rt_stats() reads libcoop's
 * counters with relaxed atomic loads (holding only the blocking pool's
 * lock, for three loads), so rendering never stalls the executor's
 * workers, and costs the loop a few microseconds (bench/daemon-scrape).
 */
#include "config.h"

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "job-slurm.h"
#include "job-spawn-guard.h"
#include "metrics-text.h"
#include "server.h"
#include "store-state.h"

static const char *const kind_names[JOB__MAX] = {"task", "blocking", "exec"};

static const char *const code_names[REQ_CODE__MAX] = {
	"0",      "-32700", "-32600", "-32601", "-32602", "-32603",
	"-32001", "-32002", "-32003", "-32004", "-32005",
};

static void family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void reason_label(struct strbuf *sb, int r)
{
	sb_puts(sb, coop_reason_name((coop_reason)r));
}

void metrics_render(struct coopd *d, struct strbuf *sb)
{
	const uint64_t *bounds = coop_cancel_latency_bounds_ns();
	coop_stats st;
	int k, s, r, m;

	coop_rt_stats(d->rt, &st);

	family(sb, "coopd_build_info", "gauge", "Build information of the running coopd.");
	sb_printf(sb, "coopd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);

	family(sb, "coopd_tasks_spawned_total", "counter", "Jobs started, by kind.");
	for (k = 0; k < JOB__MAX; k++)
		sb_printf(sb, "coopd_tasks_spawned_total{kind=\"%s\"} %llu\n", kind_names[k],
			  (unsigned long long)d->counters.jobs_spawned[k]);

	family(sb, "coopd_tasks_finished_total", "counter",
	       "Job nodes settled, by kind and final state (skipped ones, and ones "
	       "cancelled before they started, were never spawned).");
	for (k = 0; k < JOB__MAX; k++)
		for (s = 0; s < PROTO_STATE__MAX; s++) {
			if (!proto_state_is_final((enum proto_state)s) ||
			    s == PROTO_STATE_INTERRUPTED)
				continue;
			sb_printf(sb, "coopd_tasks_finished_total{kind=\"%s\",state=\"%s\"} %llu\n",
				  kind_names[k], proto_state_name((enum proto_state)s),
				  (unsigned long long)d->counters.jobs_finished[k][s]);
		}

	family(sb, "coopd_task_polls_total", "counter", "Task polls by the executor.");
	sb_printf(sb, "coopd_task_polls_total %llu\n", (unsigned long long)st.polls);
	family(sb, "coopd_budget_forced_yields_total", "counter",
	       "Polls that ended because the cooperation budget was spent.");
	sb_printf(sb, "coopd_budget_forced_yields_total %llu\n",
		  (unsigned long long)st.forced_yields);
	family(sb, "coopd_preempt_short_circuits_total", "counter",
	       "Children a combinator did not poll because the task was preempted.");
	sb_printf(sb, "coopd_preempt_short_circuits_total %llu\n",
		  (unsigned long long)st.short_circuits);

	family(sb, "coopd_cancel_requests_total", "counter",
	       "Cancellation requests (one per request, not per job reached), by reason.");
	for (r = COOP_REASON_CLIENT; r < COOP_REASON__COUNT; r++) {
		sb_puts(sb, "coopd_cancel_requests_total{reason=\"");
		reason_label(sb, r);
		sb_printf(sb, "\"} %llu\n", (unsigned long long)st.cancel_requests[r]);
	}

	family(sb, "coopd_cancel_latency_seconds", "histogram",
	       "Time from a cancellation request to the acknowledgement of each "
	       "started job it stopped.");
	for (int b = 0; b < COOP_CANCEL_LATENCY_BUCKETS; b++) {
		if (bounds[b] == UINT64_MAX)
			sb_printf(sb, "coopd_cancel_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
				  (unsigned long long)st.cancel_latency_buckets[b]);
		else
			sb_printf(sb, "coopd_cancel_latency_seconds_bucket{le=\"%.9g\"} %llu\n",
				  (double)bounds[b] / 1e9,
				  (unsigned long long)st.cancel_latency_buckets[b]);
	}
	sb_printf(sb, "coopd_cancel_latency_seconds_sum %.9f\n",
		  (double)st.cancel_latency_sum_ns / 1e9);
	/* The +Inf bucket, not st.cancel_latency_count: the two are loaded
	 * apart, and a scraper may rely on _count == le="+Inf". */
	sb_printf(sb, "coopd_cancel_latency_seconds_count %llu\n",
		  (unsigned long long)st.cancel_latency_buckets[COOP_CANCEL_LATENCY_BUCKETS - 1]);

	family(sb, "coopd_workers", "gauge", "Worker threads of the executor.");
	sb_printf(sb, "coopd_workers %u\n", st.workers);
	family(sb, "coopd_blocking_threads", "gauge", "Threads of the blocking pool now.");
	sb_printf(sb, "coopd_blocking_threads %llu\n", (unsigned long long)st.blocking_threads);
	family(sb, "coopd_run_queue_depth", "gauge", "Runnable tasks waiting for a worker.");
	sb_printf(sb, "coopd_run_queue_depth %llu\n", (unsigned long long)st.run_queue_depth);
	family(sb, "coopd_blocking_queue_depth", "gauge", "Blocking jobs waiting for a thread.");
	sb_printf(sb, "coopd_blocking_queue_depth %llu\n",
		  (unsigned long long)st.blocking_queue_depth);
	family(sb, "coopd_steals_total", "counter", "Tasks stolen between workers.");
	sb_printf(sb, "coopd_steals_total %llu\n", (unsigned long long)st.steals);

	family(sb, "coopd_graphs_submitted_total", "counter", "Graphs accepted by submit.");
	sb_printf(sb, "coopd_graphs_submitted_total %llu\n",
		  (unsigned long long)d->counters.graphs_submitted);
	{
		unsigned long long commits, writes;

		store_counts(d->store, &commits, &writes);
		family(sb, "coopd_store_commits_total", "counter",
		       "Transactions the state writer committed (group commit: one for many "
		       "writes).");
		sb_printf(sb, "coopd_store_commits_total %llu\n", commits);
		family(sb, "coopd_store_writes_total", "counter",
		       "Writes (submits, node batches, settled graphs, deletes) committed.");
		sb_printf(sb, "coopd_store_writes_total %llu\n", writes);
	}
	family(sb, "coopd_retries_total", "counter",
	       "Attempts of exec and task nodes that failed or timed out and were retried, "
	       "by kind.");
	for (k = 0; k < JOB__MAX; k++)
		if (k != JOB_BLOCKING)
			sb_printf(sb, "coopd_retries_total{kind=\"%s\"} %llu\n", kind_names[k],
				  (unsigned long long)d->counters.retries[k]);
	family(sb, "coopd_graphs_active", "gauge", "Graphs submitted and not yet settled.");
	sb_printf(sb, "coopd_graphs_active %zu\n", graph_registry_active(d));
	family(sb, "coopd_lines_parsed_off_loop_total", "counter",
	       "Request lines of at least parse_thread_bytes parsed on the parse thread.");
	sb_printf(sb, "coopd_lines_parsed_off_loop_total %llu\n",
		  (unsigned long long)d->counters.lines_parsed_off_loop);
	family(sb, "coopd_reruns_read_off_loop_total", "counter",
	       "Rerun documents read, parsed and built on the state reader thread.");
	sb_printf(sb, "coopd_reruns_read_off_loop_total %llu\n",
		  (unsigned long long)d->counters.reruns_read_off_loop);
	family(sb, "coopd_answer_bytes", "gauge",
	       "Bytes of answers not yet sent to their clients, every connection.");
	sb_printf(sb, "coopd_answer_bytes %zu\n",
		  d->server ? server_answer_bytes(d->server) : (size_t)0);
	family(sb, "coopd_dispatch_yields_total", "counter",
	       "Times a connection's request lines were left for a later turn of the loop.");
	sb_printf(sb, "coopd_dispatch_yields_total %llu\n",
		  (unsigned long long)d->counters.dispatch_yields);
	family(sb, "coopd_answer_share_waits_total", "counter",
	       "Times a connection waited for its user's unsent answers to drain below "
	       "answer_bytes_per_user.");
	sb_printf(sb, "coopd_answer_share_waits_total %llu\n",
		  (unsigned long long)d->counters.answer_share_waits);
	family(sb, "coopd_loop_busy_max_seconds", "gauge",
	       "Longest time the event loop spent on one iteration's callbacks since start.");
	sb_printf(sb, "coopd_loop_busy_max_seconds %.6f\n", (double)d->loopstat.max_ns / 1e9);
	family(sb, "coopd_loop_iteration_seconds", "histogram",
	       "Time the event loop spent on each iteration's callbacks (other clients wait "
	       "meanwhile).");
	{
		uint64_t cum = 0;

		for (size_t b = 0; b < LOOPSTAT_BUCKETS - 1; b++) {
			cum += d->loopstat.buckets[b];
			sb_printf(sb, "coopd_loop_iteration_seconds_bucket{le=\"%g\"} %llu\n",
				  loopstat_bounds[b], (unsigned long long)cum);
		}
		cum += d->loopstat.buckets[LOOPSTAT_BUCKETS - 1];
		sb_printf(sb, "coopd_loop_iteration_seconds_bucket{le=\"+Inf\"} %llu\n",
			  (unsigned long long)cum);
		sb_printf(sb, "coopd_loop_iteration_seconds_sum %.6f\n",
			  (double)d->loopstat.sum_ns / 1e9);
		sb_printf(sb, "coopd_loop_iteration_seconds_count %llu\n", (unsigned long long)cum);
	}
	family(sb, "coopd_connections_active", "gauge", "Client connections open now.");
	sb_printf(sb, "coopd_connections_active %zu\n",
		  d->server ? server_connections(d->server) : (size_t)0);

	family(sb, "coopd_requests_total", "counter",
	       "Requests answered, by method and JSON-RPC code (0: success; "
	       "method \"unknown\": a name coopd does not know).");
	for (m = 0; m <= PROTO_M__MAX; m++) {
		const char *mn =
			m < PROTO_M__MAX ? proto_method_name((enum proto_method)m) : "unknown";

		for (int c = 0; c < REQ_CODE__MAX; c++) {
			uint64_t v = d->counters.requests[m][c];

			/* Successes of every known method always, so that rate()
			 * sees a series from its first request; errors once seen. */
			if (!v && (c != REQ_CODE_OK || m == PROTO_M__MAX))
				continue;
			sb_printf(sb, "coopd_requests_total{method=\"%s\",code=\"%s\"} %llu\n", mn,
				  code_names[c], (unsigned long long)v);
		}
	}
	slurm_metrics(d, sb);
}

void stats_render(struct coopd *d, struct strbuf *sb)
{
	unsigned long long commits, writes;
	size_t trees = 0;
	const uint64_t *bounds = coop_cancel_latency_bounds_ns();
	coop_stats st;
	int k, s, r;

	coop_rt_stats(d->rt, &st);
	sb_printf(sb,
		  "{\"executor\":{\"workers\":%u,\"tasks_spawned\":%llu,\"tasks_live\":%llu,"
		  "\"blocking_spawned\":%llu,\"blocking_threads\":%llu,"
		  "\"blocking_threads_peak\":%llu,\"polls\":%llu,\"forced_yields\":%llu,"
		  "\"short_circuits\":%llu,\"steals\":%llu,\"parks\":%llu,"
		  "\"run_queue_depth\":%llu,\"blocking_queue_depth\":%llu},",
		  st.workers, (unsigned long long)st.tasks_spawned,
		  (unsigned long long)st.tasks_live, (unsigned long long)st.blocking_spawned,
		  (unsigned long long)st.blocking_threads,
		  (unsigned long long)st.blocking_threads_peak, (unsigned long long)st.polls,
		  (unsigned long long)st.forced_yields, (unsigned long long)st.short_circuits,
		  (unsigned long long)st.steals, (unsigned long long)st.parks,
		  (unsigned long long)st.run_queue_depth,
		  (unsigned long long)st.blocking_queue_depth);
	sb_puts(sb, "\"budget\":{");
	sb_printf(sb, "\"default\":%u,\"forced_yields\":%llu,\"short_circuits\":%llu},",
		  PROTO_DEFAULT_BUDGET, (unsigned long long)st.forced_yields,
		  (unsigned long long)st.short_circuits);
	sb_puts(sb, "\"cancellation\":{\"requests\":{");
	for (r = COOP_REASON_CLIENT; r < COOP_REASON__COUNT; r++)
		sb_printf(sb, "%s\"%s\":%llu", r == COOP_REASON_CLIENT ? "" : ",",
			  coop_reason_name((coop_reason)r),
			  (unsigned long long)st.cancel_requests[r]);
	sb_printf(sb, "},\"latency_count\":%llu,\"latency_sum_seconds\":%.9f,",
		  (unsigned long long)st.cancel_latency_buckets[COOP_CANCEL_LATENCY_BUCKETS - 1],
		  (double)st.cancel_latency_sum_ns / 1e9);
	/* The histogram itself (cumulative, as in the Prometheus text), so
	 * that one answer gives both the counts and the percentiles. */
	sb_puts(sb, "\"latency_buckets\":[");
	for (int b = 0; b < COOP_CANCEL_LATENCY_BUCKETS; b++) {
		if (bounds[b] == UINT64_MAX)
			sb_printf(sb, "%s{\"le\":\"+Inf\",", b ? "," : "");
		else
			sb_printf(sb, "%s{\"le\":%.9g,", b ? "," : "", (double)bounds[b] / 1e9);
		sb_printf(sb, "\"count\":%llu}", (unsigned long long)st.cancel_latency_buckets[b]);
	}
	sb_puts(sb, "]},");
	sb_puts(sb, "\"jobs\":{");
	for (k = 0; k < JOB__MAX; k++) {
		sb_printf(sb, "%s\"%s\":{\"spawned\":%llu", k ? "," : "", kind_names[k],
			  (unsigned long long)d->counters.jobs_spawned[k]);
		for (s = 0; s < PROTO_STATE__MAX; s++)
			if (proto_state_is_final((enum proto_state)s) &&
			    s != PROTO_STATE_INTERRUPTED)
				sb_printf(sb, ",\"%s\":%llu", proto_state_name((enum proto_state)s),
					  (unsigned long long)d->counters.jobs_finished[k][s]);
		sb_putc(sb, '}');
	}
	store_counts(d->store, &commits, &writes);
	for (const struct graph *g = graph_registry_first(d); g; g = g->next)
		trees += g->root != NULL;
	sb_printf(sb,
		  "},\"store\":{\"commits\":%llu,\"writes\":%llu,\"trees_in_memory\":%zu,"
		  "\"reads_pending\":%zu",
		  commits, writes, trees, store_reads_pending(d->store));
	sb_printf(sb,
		  "},\"daemon\":{\"graphs_submitted\":%llu,\"graphs_active\":%zu,"
		  "\"connections_active\":%zu,\"connections_accepted\":%llu,"
		  "\"connections_refused\":%llu,\"clients_dropped\":%llu,"
		  "\"connections_timed_out\":%llu,\"metrics_connections_evicted\":%llu,"
		  "\"input_bytes\":%zu,\"answer_bytes\":%zu,\"dispatch_yields\":%llu,"
		  "\"answer_share_waits\":%llu,"
		  "\"loop_busy_max_seconds\":%.6f,\"lines_parsed_off_loop\":%llu,"
		  "\"reruns_read_off_loop\":%llu,\"exec_spawn_failures\":%llu,"
		  "\"exec_spawns_stopped\":%llu,\"orphans_reaped\":%"
		  "llu,\"uptime_seconds\":%.3f}}",
		  (unsigned long long)d->counters.graphs_submitted, graph_registry_active(d),
		  d->server ? server_connections(d->server) : (size_t)0,
		  (unsigned long long)d->counters.connections_accepted,
		  (unsigned long long)d->counters.connections_refused,
		  (unsigned long long)d->counters.clients_dropped,
		  (unsigned long long)d->counters.connections_timed_out,
		  (unsigned long long)d->counters.metrics_conns_evicted,
		  d->server ? server_input_bytes(d->server) : (size_t)0,
		  d->server ? server_answer_bytes(d->server) : (size_t)0,
		  (unsigned long long)d->counters.dispatch_yields,
		  (unsigned long long)d->counters.answer_share_waits,
		  (double)d->loopstat.max_ns / 1e9,
		  (unsigned long long)d->counters.lines_parsed_off_loop,
		  (unsigned long long)d->counters.reruns_read_off_loop,
		  (unsigned long long)d->counters.exec_spawn_failures, spawn_guard_kills(),
		  (unsigned long long)d->counters.orphans_reaped,
		  (double)(coop_now_ns() - d->start_mono_ns) / 1e9);
}
