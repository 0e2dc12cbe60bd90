/*
 * suite-daemon-graph.c - Check suite for the daemon's core without a
 * socket or a store: it links daemon/libcoopd.la, starts libcoop and the
 * loop's two cross-thread channels (reactor-timer.c, reactor-inbox.c) as
 * coopd does, registers graphs (graph-registry.c) and runs them with the
 * runner (graph-run.c).  The only subscriber of graph events
 * (graph-registry.h) is a fake observer that records what it is told, so
 * the tests see exactly what the store, `watch` and the lifecycle would
 * see: the start, the order of node state changes, the end, the hold of
 * an ended graph, its settling and what follows it (graph_gone).
 *
 * The graphs use task builtins (noop, fail) chained by `after`, so their
 * order is fixed by the graph, not by the scheduler; nothing is timed (a
 * graph that never settles is caught by Check's timeout, a hang guard).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-run.h"
#include "proto-graph.h"
#include "reactor-inbox.h"
#include "reactor-timer.h"

#define MAX_EVENTS 64

enum ev_kind { EV_NODE, EV_RECORD, EV_ENDED, EV_SETTLED, EV_STARTED, EV_GONE };

struct event {
	enum ev_kind kind;
	char path[64];
	int state;
};

static struct coopd d;
/* The inbox and timer watchers do not keep the loop running (coopd's
 * socket does): this one does, until an observer ends ev_run(). */
static ev_async keep_alive;
static struct event events[MAX_EVENTS];
static size_t n_events;
static bool hold_ended;    /* the fake observer holds an ended graph */
static struct graph *held; /* ...this one, not yet released */

static void record(enum ev_kind kind, const char *path, int state)
{
	ck_assert_uint_lt(n_events, MAX_EVENTS);
	events[n_events].kind = kind;
	snprintf(events[n_events].path, sizeof(events[n_events].path), "%s", path);
	events[n_events].state = state;
	n_events++;
}

static void fake_node(struct coopd *dd, struct rnode *n, bool visible, void *arg)
{
	ck_assert_ptr_eq(dd, &d);
	ck_assert_ptr_eq(arg, &d);
	record(visible ? EV_NODE : EV_RECORD, n->def->path, n->state);
}

static void fake_ended(struct coopd *dd, struct graph *g, void *arg)
{
	record(EV_ENDED, "/", g->root->state);
	/* Every node is final when a graph ends. */
	for (size_t i = 0; i <= g->n_nodes; i++)
		ck_assert(proto_state_is_final((enum proto_state)g->by_idx[i]->state));
	ck_assert(!g->active);
	if (hold_ended) {
		graph_registry_hold(g);
		held = g;
		ev_break(d.loop, EVBREAK_ALL);
	}
}

static void fake_settled(struct coopd *dd, struct graph *g, void *arg)
{
	record(EV_SETTLED, "/", g->root->state);
	ev_break(d.loop, EVBREAK_ALL);
}

static void keep_alive_cb(struct ev_loop *loop, ev_async *w, int revents)
{
}

static void setup(void)
{
	struct graph_observer o = {.node_changed = fake_node,
				   .graph_ended = fake_ended,
				   .graph_settled = fake_settled,
				   .arg = &d};

	memset(&d, 0, sizeof(d));
	n_events = 0;
	hold_ended = false;
	held = NULL;
	d.state_fd = d.state_lock_fd = -1;
	config_init(&d.cfg);
	d.cfg.workers = 2;
	d.loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(d.loop);
	ck_assert_int_eq(graph_registry_init(&d), 0);
	ck_assert_int_eq(reactor_timers_new(d.loop, &d.timers), 0);
	ck_assert_int_eq(reactor_inbox_new(&d, &d.inbox), 0);
	ck_assert_int_eq(coopd_start_runtime(&d), 0);
	ck_assert_int_eq(graph_registry_subscribe(&d, &o), 0);
	ev_async_init(&keep_alive, keep_alive_cb);
	ev_async_start(d.loop, &keep_alive);
}

static void teardown(void)
{
	ev_async_stop(d.loop, &keep_alive);
	/* Every graph has settled: every node's end has been posted. */
	coop_rt_free(d.rt);
	inbox_drain(d.inbox);
	graph_registry_free_all(&d);
	graph_registry_fini(&d);
	reactor_inbox_free(d.inbox);
	reactor_timers_free(d.timers);
	ev_loop_destroy(d.loop);
	config_free(&d.cfg);
}

/* Parses doc and registers it as graph id, owned by this process. */
static struct graph *graph_of(const char *doc, const char *id, int64_t created)
{
	struct proto_graph *def = NULL;
	struct proto_error err;
	struct graph *g = NULL;

	ck_assert_msg(proto_graph_parse_text(doc, strlen(doc), &d.cfg.limits, &def, &err) == 0,
		      "graph does not parse: %s", err.reason);
	ck_assert_int_eq(graph_new(def, id, getuid(), getgid(), created, &g), 0);
	g->d = &d;
	ck_assert_int_eq(graph_registry_add(&d, g), 0);
	return g;
}

static const char *state_name(int st)
{
	return proto_state_name((enum proto_state)st);
}

/* The events seen so far must be exactly want[] (kind, path, state). */
static void assert_events(const struct event *want, size_t n)
{
	for (size_t i = 0; i < n && i < n_events; i++)
		ck_assert_msg(events[i].kind == want[i].kind &&
				      strcmp(events[i].path, want[i].path) == 0 &&
				      events[i].state == want[i].state,
			      "event %zu: got kind %d %s %s, want kind %d %s %s", i, events[i].kind,
			      events[i].path, state_name(events[i].state), want[i].kind,
			      want[i].path, state_name(want[i].state));
	ck_assert_uint_eq(n_events, n);
}

/* a -> bad (fails) -> c (skipped: its dependency failed) -> fin (always:
 * runs whatever happened).  all_settled: the failure cancels nothing, the
 * graph fails once all have settled. */
static const char chain_doc[] =
	"{\"name\": \"chain\", \"policy\": \"all_settled\", \"nodes\": ["
	"{\"id\": \"a\", \"kind\": \"task\", \"fn\": \"noop\"},"
	"{\"id\": \"bad\", \"kind\": \"task\", \"fn\": \"fail\", \"args\": {\"message\": "
	"\"boom\"}, \"after\": [\"a\"]},"
	"{\"id\": \"c\", \"kind\": \"task\", \"fn\": \"noop\", \"after\": [\"bad\"]},"
	"{\"id\": \"fin\", \"kind\": \"task\", \"fn\": \"noop\", \"after\": [\"c\"], "
	"\"always\": true}]}";

static const struct event chain_events[] = {
	{EV_NODE, "/", PROTO_STATE_RUNNING},   {EV_NODE, "a", PROTO_STATE_RUNNING},
	{EV_NODE, "a", PROTO_STATE_SUCCEEDED}, {EV_NODE, "bad", PROTO_STATE_RUNNING},
	{EV_NODE, "bad", PROTO_STATE_FAILED},  {EV_NODE, "c", PROTO_STATE_SKIPPED},
	{EV_NODE, "fin", PROTO_STATE_RUNNING}, {EV_NODE, "fin", PROTO_STATE_SUCCEEDED},
	{EV_NODE, "/", PROTO_STATE_FAILED},    {EV_ENDED, "/", PROTO_STATE_FAILED},
	{EV_SETTLED, "/", PROTO_STATE_FAILED},
};

/* The strbuf's integers print what %llu / %lld print (status answers
 * use them for every number of every node). */
START_TEST(test_strbuf_integers)
{
	static const int64_t iv[] = {
		0, 1, -1, 9, 10, -10, 99, 100, 12345678901234, INT64_MAX, INT64_MIN, INT64_MIN + 1};
	static const uint64_t uv[] = {0, 1, 9, 10, 1000000, UINT64_MAX, UINT64_MAX - 1};
	struct strbuf sb;
	char ref[512];
	size_t len = 0;
	char *text;

	sb_init(&sb);
	ref[0] = '\0';
	for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		sb_put_i64(&sb, iv[i]);
		sb_putc(&sb, ' ');
		len += (size_t)snprintf(ref + len, sizeof(ref) - len, "%lld ", (long long)iv[i]);
	}
	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		sb_put_u64(&sb, uv[i]);
		sb_putc(&sb, ' ');
		len += (size_t)snprintf(ref + len, sizeof(ref) - len, "%llu ",
					(unsigned long long)uv[i]);
	}
	text = sb_steal(&sb, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, ref);
	free(text);
}
END_TEST

START_TEST(test_chain_events_and_states)
{
	struct graph *g = graph_of(chain_doc, "00000000000000a1", 1);

	graph_run_start(&d, g);
	ck_assert(g->active);
	ck_assert_uint_eq(graph_registry_active(&d), 1);
	ck_assert_uint_eq(graph_registry_active_of(&d, getuid()), 1);
	ev_run(d.loop, 0);

	assert_events(chain_events, sizeof(chain_events) / sizeof(chain_events[0]));
	ck_assert_str_eq(state_name(graph_find(g, "a")->state), "succeeded");
	ck_assert_str_eq(state_name(graph_find(g, "bad")->state), "failed");
	ck_assert_str_eq(graph_find(g, "bad")->error, "boom");
	ck_assert_str_eq(state_name(graph_find(g, "c")->state), "skipped");
	ck_assert_int_lt(graph_find(g, "c")->started_ms, 0); /* never ran */
	ck_assert_str_eq(state_name(graph_find(g, "fin")->state), "succeeded");
	ck_assert_str_eq(state_name(g->root->state), "failed");
	/* The counts kept by graph_node_set_state agree with the nodes. */
	ck_assert_uint_eq(g->counts[PROTO_STATE_SUCCEEDED], 2);
	ck_assert_uint_eq(g->counts[PROTO_STATE_FAILED], 1);
	ck_assert_uint_eq(g->counts[PROTO_STATE_SKIPPED], 1);
	ck_assert_uint_eq(g->counts[PROTO_STATE_PENDING], 0);
	ck_assert_uint_eq(g->counts[PROTO_STATE_RUNNING], 0);
	ck_assert_uint_eq(g->n_done, 4);
	ck_assert(!g->active);
	ck_assert_uint_eq(graph_registry_active(&d), 0);
	ck_assert_uint_eq(graph_registry_active_of(&d, getuid()), 0);
	ck_assert_uint_eq(d.counters.graphs_finished[PROTO_STATE_FAILED], 1);
	ck_assert_uint_eq(d.counters.jobs_finished[JOB_TASK][PROTO_STATE_SUCCEEDED], 2);
	ck_assert_uint_eq(d.counters.jobs_finished[JOB_TASK][PROTO_STATE_FAILED], 1);
}
END_TEST

/* fail_fast (the default): the same failure fails the graph, and an
 * `always` node after it still runs. */
START_TEST(test_fail_fast_always_runs)
{
	static const char doc[] =
		"{\"name\": \"ff\", \"nodes\": ["
		"{\"id\": \"bad\", \"kind\": \"task\", \"fn\": \"fail\"},"
		"{\"id\": \"after_bad\", \"kind\": \"task\", \"fn\": \"noop\", \"after\": "
		"[\"bad\"]},"
		"{\"id\": \"cleanup\", \"kind\": \"task\", \"fn\": \"noop\", \"after\": "
		"[\"bad\"], \"always\": true}]}";
	struct graph *g = graph_of(doc, "00000000000000b2", 2);

	graph_run_start(&d, g);
	ev_run(d.loop, 0);

	ck_assert_str_eq(state_name(graph_find(g, "bad")->state), "failed");
	ck_assert_str_eq(state_name(graph_find(g, "after_bad")->state), "skipped");
	ck_assert_str_eq(state_name(graph_find(g, "cleanup")->state), "succeeded");
	ck_assert_str_eq(state_name(g->root->state), "failed");
	/* The end is told once, the root's last change before it. */
	ck_assert_uint_ge(n_events, 3);
	ck_assert_int_eq(events[n_events - 1].kind, EV_SETTLED);
	ck_assert_int_eq(events[n_events - 2].kind, EV_ENDED);
	ck_assert_int_eq(events[n_events - 3].kind, EV_NODE);
	ck_assert_str_eq(events[n_events - 3].path, "/");
	for (size_t i = 0; i + 2 < n_events; i++)
		ck_assert_int_eq(events[i].kind, EV_NODE);
}
END_TEST

/* An observer that holds an ended graph (as the store does until the
 * final state is durable) keeps it from settling until it releases it. */
START_TEST(test_hold_delays_settled)
{
	static const char doc[] = "{\"name\": \"one\", \"nodes\": ["
				  "{\"id\": \"x\", \"kind\": \"task\", \"fn\": \"noop\"}]}";
	struct graph *g = graph_of(doc, "00000000000000c3", 3);

	hold_ended = true;
	graph_run_start(&d, g);
	ev_run(d.loop, 0);
	ck_assert_ptr_eq(held, g);
	ck_assert_int_eq(events[n_events - 1].kind, EV_ENDED);
	ck_assert_str_eq(state_name(g->root->state), "succeeded");
	/* Held: not settled, however long the loop runs. */
	ev_run(d.loop, EVRUN_NOWAIT);
	ck_assert_int_eq(events[n_events - 1].kind, EV_ENDED);
	graph_registry_release(&d, g);
	ck_assert_int_eq(events[n_events - 1].kind, EV_SETTLED);
	/* A release without a hold does not settle it twice. */
	graph_registry_release(&d, g);
	ck_assert_int_eq(events[n_events - 1].kind, EV_SETTLED);
	ck_assert_int_eq(events[n_events - 2].kind, EV_ENDED);
}
END_TEST

/* The registry: find, order by creation time, remove. */
START_TEST(test_registry_find_order_remove)
{
	static const char doc[] = "{\"name\": \"r\", \"nodes\": []}";
	struct graph *late = graph_of(doc, "00000000000000d2", 20);
	struct graph *early = graph_of(doc, "00000000000000d1", 10);
	struct graph *g;

	ck_assert_ptr_eq(graph_registry_find(&d, "00000000000000d1"), early);
	ck_assert_ptr_eq(graph_registry_find(&d, "00000000000000d2"), late);
	ck_assert_ptr_null(graph_registry_find(&d, "00000000000000d3"));
	ck_assert_ptr_null(graph_registry_find(&d, NULL));
	/* Listed by creation time, whatever the order they came in. */
	g = graph_registry_first(&d);
	ck_assert_ptr_eq(g, early);
	ck_assert_ptr_eq(g->next, late);
	ck_assert_ptr_null(late->next);
	graph_registry_remove(&d, early);
	ck_assert_ptr_null(graph_registry_find(&d, "00000000000000d1"));
	ck_assert_ptr_eq(graph_registry_first(&d), late);
	ck_assert_ptr_null(late->prev);
	graph_free(early);
}
END_TEST

/* An empty graph settles at once, through the same events. */
START_TEST(test_empty_graph_settles)
{
	static const struct event want[] = {
		{EV_NODE, "/", PROTO_STATE_RUNNING},
		{EV_NODE, "/", PROTO_STATE_SUCCEEDED},
		{EV_ENDED, "/", PROTO_STATE_SUCCEEDED},
		{EV_SETTLED, "/", PROTO_STATE_SUCCEEDED},
	};
	struct graph *g = graph_of("{\"name\": \"e\", \"nodes\": []}", "00000000000000e1", 4);

	graph_run_start(&d, g);
	ev_run(d.loop, 0);
	assert_events(want, sizeof(want) / sizeof(want[0]));
	ck_assert_uint_eq(g->n_done, 0);
}
END_TEST

/* Subscribers beyond the table are refused, not written past it. */
START_TEST(test_subscribe_bounded)
{
	struct graph_observer o = {0};
	size_t room = GRAPH_OBSERVERS_MAX - d.n_observers;

	for (size_t i = 0; i < room; i++)
		ck_assert_int_eq(graph_registry_subscribe(&d, &o), 0);
	ck_assert_int_eq(graph_registry_subscribe(&d, &o), -ENOSPC);
	ck_assert_uint_eq(d.n_observers, GRAPH_OBSERVERS_MAX);
}
END_TEST

/* A second subscriber, told after the fake one: the start, the settling
 * (it frees the graph, as `wait` does for a `remove` that waited: it is
 * the last graph_settled observer) and graph_gone with the owner only. */
static uid_t gone_uid;

static void second_started(struct coopd *dd, struct graph *g, void *arg)
{
	/* Told once the graph counts as active. */
	ck_assert(g->active);
	ck_assert_uint_eq(graph_registry_active(&d), 1);
	record(EV_STARTED, "/", g->root->state);
}

static void second_settled(struct coopd *dd, struct graph *g, void *arg)
{
	record(EV_SETTLED, "/", g->root->state);
	graph_registry_remove(&d, g);
	graph_free(g);
}

static void second_gone(struct coopd *dd, uid_t uid, void *arg)
{
	record(EV_GONE, "/", -1);
	gone_uid = uid;
}

START_TEST(test_started_settled_gone)
{
	static const struct event want[] = {
		{EV_STARTED, "/", PROTO_STATE_PENDING},
		{EV_NODE, "/", PROTO_STATE_RUNNING},
		{EV_NODE, "x", PROTO_STATE_RUNNING},
		{EV_NODE, "x", PROTO_STATE_SUCCEEDED},
		{EV_NODE, "/", PROTO_STATE_SUCCEEDED},
		{EV_ENDED, "/", PROTO_STATE_SUCCEEDED},
		{EV_SETTLED, "/", PROTO_STATE_SUCCEEDED}, /* the fake observer */
		{EV_SETTLED, "/", PROTO_STATE_SUCCEEDED}, /* the second: frees g */
		{EV_GONE, "/", -1},
	};
	struct graph_observer o = {.graph_started = second_started,
				   .graph_settled = second_settled,
				   .graph_gone = second_gone};
	struct graph *g = graph_of("{\"name\": \"gone\", \"nodes\": ["
				   "{\"id\": \"x\", \"kind\": \"task\", \"fn\": \"noop\"}]}",
				   "00000000000000f9", 5);

	gone_uid = (uid_t)-1;
	ck_assert_int_eq(graph_registry_subscribe(&d, &o), 0);
	graph_run_start(&d, g);
	ev_run(d.loop, 0);
	assert_events(want, sizeof(want) / sizeof(want[0]));
	ck_assert_uint_eq(gone_uid, getuid());
	ck_assert_ptr_null(graph_registry_find(&d, "00000000000000f9"));
	ck_assert_uint_eq(graph_registry_active(&d), 0);
}
END_TEST

static Suite *graph_suite(void)
{
	Suite *s = suite_create("daemon-graph");
	TCase *tc = tcase_create("runner");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_strbuf_integers);
	tcase_add_test(tc, test_chain_events_and_states);
	tcase_add_test(tc, test_fail_fast_always_runs);
	tcase_add_test(tc, test_hold_delays_settled);
	tcase_add_test(tc, test_empty_graph_settles);
	tcase_add_test(tc, test_started_settled_gone);
	suite_add_tcase(s, tc);
	tc = tcase_create("registry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_registry_find_order_remove);
	tcase_add_test(tc, test_subscribe_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(graph_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
