/*
 * suite-daemon-load.c - Check suite for the daemon's start over its state
 * database (store-load.c), without a socket: it links daemon/libcoopd.la,
 * writes graphs through the store itself (store-state.c and its writer
 * thread, into a private state directory) as a coopd that then crashed
 * would have left them, opens the store again and loads it into the
 * registry.  A fake observer of graph events (graph-registry.h) and a fake
 * lifecycle (the store's loaded_settled hook) record what loading tells
 * them.
 *
 * What it shows: a settled graph comes back as its row only (no tree, its
 * counts read from the node rows on demand), an unfinished one is marked
 * interrupted (a node that had succeeded stays so, every other node is
 * interrupted) and recorded so, durably, before the lifecycle is told; a
 * graph whose stored document does not parse goes to damaged/ and its rows
 * are deleted; loading runs nothing (no graph event); and the next start
 * agrees with the first.  Nothing is timed: the loop runs until the
 * writer's completions arrive (Check's timeout is the hang guard).
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "proto-graph.h"
#include "store-load.h"
#include "store-retention.h"
#include "store-state.h"

#define ID_SETTLED "00000000000000f1"
#define ID_RUNNING "00000000000000f2"
#define ID_DAMAGED "00000000000000f3"

static struct coopd d;
static char dir[64];
/* The writer's completions do not keep the loop running (coopd's socket
 * does): this one does, until a callback ends ev_run(). */
static ev_async keep_alive;
static size_t n_done;   /* store callbacks run */
static size_t n_events; /* graph events told (loading must tell none) */
static size_t n_loaded; /* loaded_settled hooks run */
static struct graph *loaded_g;

static void keep_alive_cb(struct ev_loop *loop, ev_async *w, int revents)
{
}

static void fake_node(struct coopd *dd, struct rnode *n, bool state, void *arg)
{
	n_events++;
}

static void fake_graph(struct coopd *dd, struct graph *g, void *arg)
{
	n_events++;
}

/* The lifecycle's part: the interrupted graph is durably recorded. */
static void fake_loaded_settled(struct coopd *dd, struct graph *g)
{
	ck_assert_ptr_eq(dd, &d);
	ck_assert(!g->syncing);
	ck_assert(store_graph_durable(d.store, g));
	n_loaded++;
	loaded_g = g;
	graph_maybe_release(g);
	ev_break(d.loop, EVBREAK_ALL);
}

static void done_cb(struct coopd *dd, struct graph *g, int r, void *arg)
{
	ck_assert_int_eq(r, 0);
	n_done++;
	ev_break(d.loop, EVBREAK_ALL);
}

/* Runs the loop until n store callbacks in all have run. */
static void wait_done(size_t n)
{
	while (n_done < n)
		ev_run(d.loop, 0);
}

/* Every queued write has completed (the store's drained hook). */
static void drained_cb(struct coopd *dd)
{
	if (store_pending(d.store) == 0)
		ev_break(d.loop, EVBREAK_ALL);
}

static void wait_drained(void)
{
	while (store_pending(d.store) > 0)
		ev_run(d.loop, 0);
}

/* Opens the store of dir as coopd does at start, with the fakes. */
static void open_store(void)
{
	struct graph_observer o = {
		.node_changed = fake_node, .graph_ended = fake_graph, .graph_settled = fake_graph};
	struct store_hooks h = {.drained = drained_cb, .loaded_settled = fake_loaded_settled};

	memset(&d, 0, sizeof(d));
	d.state_fd = d.state_lock_fd = -1;
	config_init(&d.cfg);
	free(d.cfg.state_dir);
	d.cfg.state_dir = strdup(dir);
	ck_assert_ptr_nonnull(d.cfg.state_dir);
	d.loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(d.loop);
	ck_assert_int_eq(graph_registry_init(&d), 0);
	ck_assert_int_eq(store_open(&d, &d.store), 0);
	store_set_hooks(d.store, &h);
	ck_assert_int_eq(graph_registry_subscribe(&d, &o), 0);
	ev_async_init(&keep_alive, keep_alive_cb);
	ev_async_start(d.loop, &keep_alive);
	n_done = n_events = n_loaded = 0;
	loaded_g = NULL;
}

/* The stop: the writer finishes its queue, then everything is freed. */
static void close_store(void)
{
	ev_async_stop(d.loop, &keep_alive);
	store_stop_writer(d.store);
	graph_registry_free_all(&d);
	store_free(d.store);
	retention_stop(&d);
	graph_registry_fini(&d);
	ev_loop_destroy(d.loop);
	config_free(&d.cfg);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/suite-daemon-load.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A graph of doc, not registered (what the first coopd ran), stored. */
static struct graph *stored_graph(const char *doc, const char *stored_doc, const char *id,
				  int64_t created)
{
	struct proto_graph *def = NULL;
	struct proto_error err;
	struct json_object *j = json_tokener_parse(stored_doc ? stored_doc : doc);
	struct graph *g = NULL;
	size_t want = n_done + 1;

	ck_assert_ptr_nonnull(j);
	ck_assert_msg(proto_graph_parse_text(doc, strlen(doc), &d.cfg.limits, &def, &err) == 0,
		      "graph does not parse: %s", err.reason);
	ck_assert_int_eq(graph_new(def, id, getuid(), getgid(), created, &g), 0);
	g->d = &d;
	ck_assert_int_eq(store_graph_create(d.store, g, j, done_cb, NULL), 0);
	json_object_put(j);
	wait_done(want);
	ck_assert_int_gt(g->store_seq, 0);
	return g;
}

/* n's state changes to st (started and finished as the runner would set
 * them), durably: its row is on disk before this returns. */
static void set_durably(struct rnode *n, enum proto_state st)
{
	size_t want = n_done + 1;

	if (n->started_ms < 0)
		n->started_ms = graph_now_ms();
	if (proto_state_is_final(st))
		n->finished_ms = graph_now_ms();
	graph_node_set_state(n, st);
	ck_assert_int_eq(store_node_durable(d.store, n, done_cb, NULL), 0);
	wait_done(want);
}

static size_t files_in(const char *sub)
{
	char path[128];
	DIR *dp;
	struct dirent *e;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	dp = opendir(path);
	if (!dp)
		return 0;
	while ((e = readdir(dp)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

static const char settled_doc[] =
	"{\"name\": \"settled\", \"policy\": \"all_settled\", \"nodes\": ["
	"{\"id\": \"x\", \"kind\": \"task\", \"fn\": \"noop\"},"
	"{\"id\": \"y\", \"kind\": \"task\", \"fn\": \"fail\"}]}";
static const char running_doc[] =
	"{\"name\": \"running\", \"nodes\": ["
	"{\"id\": \"a\", \"kind\": \"task\", \"fn\": \"noop\"},"
	"{\"id\": \"b\", \"kind\": \"task\", \"fn\": \"noop\", \"after\": [\"a\"]},"
	"{\"id\": \"c\", \"kind\": \"task\", \"fn\": \"noop\", \"after\": [\"b\"]}]}";
/* Stored in place of a graph's document: JSON, but no graph (a kind that
 * does not exist), as a damaged or foreign database could hold. */
static const char damaged_doc[] =
	"{\"name\": \"damaged\", \"nodes\": [{\"id\": \"q\", \"kind\": \"nonsense\"}]}";

/* The state a crashed coopd leaves: one graph settled (failed: x
 * succeeded, y failed), one running (a succeeded, b running, c not yet
 * started), one whose document is damaged. */
static void write_crashed_state(void)
{
	struct graph *s, *r, *bad;
	size_t want;

	open_store();
	s = stored_graph(settled_doc, NULL, ID_SETTLED, 100);
	r = stored_graph(running_doc, NULL, ID_RUNNING, 200);
	bad = stored_graph(running_doc, damaged_doc, ID_DAMAGED, 300);

	graph_node_set_state(s->root, PROTO_STATE_RUNNING);
	graph_node_set_state(graph_find(s, "x"), PROTO_STATE_SUCCEEDED);
	graph_node_set_state(graph_find(s, "y"), PROTO_STATE_FAILED);
	graph_node_set_state(s->root, PROTO_STATE_FAILED);
	s->root->finished_ms = graph_now_ms();
	store_journal_node(d.store, graph_find(s, "x"));
	store_journal_node(d.store, graph_find(s, "y"));
	store_journal_node(d.store, s->root);
	want = n_done + 1;
	ck_assert_int_eq(store_graph_settled_async(d.store, s, true, done_cb, NULL), 0);
	wait_done(want);

	set_durably(r->root, PROTO_STATE_RUNNING);
	set_durably(graph_find(r, "a"), PROTO_STATE_RUNNING);
	set_durably(graph_find(r, "a"), PROTO_STATE_SUCCEEDED);
	set_durably(graph_find(r, "b"), PROTO_STATE_RUNNING);
	wait_drained();
	/* The crash: nothing more is written. */
	store_stop_writer(d.store);
	graph_free(s);
	graph_free(r);
	graph_free(bad);
	close_store();
}

START_TEST(test_load_after_crash)
{
	struct graph *s, *r;

	write_crashed_state();
	open_store();
	ck_assert_int_eq(store_load(&d), 0);

	/* Loading runs nothing: no graph event, no active graph. */
	ck_assert_uint_eq(n_events, 0);
	ck_assert_uint_eq(graph_registry_active(&d), 0);
	/* Two graphs, in submission order; the damaged one is not shown. */
	s = graph_registry_first(&d);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->id, ID_SETTLED);
	r = s->next;
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->id, ID_RUNNING);
	ck_assert_ptr_null(r->next);
	ck_assert_ptr_null(graph_registry_find(&d, ID_DAMAGED));
	ck_assert_uint_eq(files_in("damaged"), 1);
	ck_assert_uint_eq(d.graphs_finished_kept, 2); /* both joined the history */

	/* The settled graph: its row only, no tree in memory. */
	ck_assert(s->released);
	ck_assert_ptr_null(s->root);
	ck_assert_int_eq(s->final_state, PROTO_STATE_FAILED);
	ck_assert_uint_eq(s->n_nodes, 2);
	ck_assert(!s->counts_known);
	ck_assert_int_eq(store_graph_counts(d.store, s), 0);
	ck_assert_uint_eq(s->counts[PROTO_STATE_SUCCEEDED], 1);
	ck_assert_uint_eq(s->counts[PROTO_STATE_FAILED], 1);
	ck_assert_uint_eq(s->counts[PROTO_STATE_PENDING], 0);

	/* The running graph: interrupted, a's success kept. */
	ck_assert_ptr_nonnull(r->root);
	ck_assert_int_eq(r->root->state, PROTO_STATE_INTERRUPTED);
	ck_assert_int_ge(r->root->finished_ms, 0);
	ck_assert_int_eq(graph_find(r, "a")->state, PROTO_STATE_SUCCEEDED);
	ck_assert_int_eq(graph_find(r, "b")->state, PROTO_STATE_INTERRUPTED);
	ck_assert_int_ge(graph_find(r, "b")->finished_ms, 0); /* it had started */
	ck_assert_int_eq(graph_find(r, "c")->state, PROTO_STATE_INTERRUPTED);
	ck_assert_int_lt(graph_find(r, "c")->finished_ms, 0); /* it never started */
	ck_assert_uint_eq(r->counts[PROTO_STATE_SUCCEEDED], 1);
	ck_assert_uint_eq(r->counts[PROTO_STATE_INTERRUPTED], 2);
	ck_assert_uint_eq(r->counts[PROTO_STATE_RUNNING], 0);
	ck_assert_uint_eq(r->counts[PROTO_STATE_PENDING], 0);
	/* Its record is being written: the lifecycle is told once it is on
	 * disk, and then its tree is not kept either. */
	ck_assert(r->syncing);
	ck_assert_uint_eq(n_loaded, 0);
	while (n_loaded == 0)
		ev_run(d.loop, 0);
	ck_assert_uint_eq(n_loaded, 1);
	ck_assert_ptr_eq(loaded_g, r);
	ck_assert(r->released);
	ck_assert_ptr_null(r->root);
	wait_drained();
	close_store();

	/* The next start agrees: both graphs settled, as rows only, the
	 * interrupted one counted from its rows; nothing to record again;
	 * the damaged graph's rows are gone (no second copy in damaged/). */
	open_store();
	ck_assert_int_eq(store_load(&d), 0);
	ck_assert_uint_eq(n_events, 0);
	r = graph_registry_find(&d, ID_RUNNING);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->released);
	ck_assert_ptr_null(r->root);
	ck_assert(!r->syncing);
	ck_assert_int_eq(r->final_state, PROTO_STATE_INTERRUPTED);
	ck_assert_int_eq(store_graph_counts(d.store, r), 0);
	ck_assert_uint_eq(r->counts[PROTO_STATE_SUCCEEDED], 1);
	ck_assert_uint_eq(r->counts[PROTO_STATE_INTERRUPTED], 2);
	ck_assert_uint_eq(r->counts[PROTO_STATE_PENDING], 0);
	ck_assert_uint_eq(r->n_done, 3);
	ck_assert_ptr_nonnull(graph_registry_find(&d, ID_SETTLED));
	ck_assert_ptr_null(graph_registry_find(&d, ID_DAMAGED));
	ck_assert_uint_eq(files_in("damaged"), 1);
	ev_run(d.loop, EVRUN_NOWAIT);
	ck_assert_uint_eq(n_loaded, 0);
	ck_assert_uint_eq(store_pending(d.store), 0);
	close_store();
}
END_TEST

/* An empty state directory loads nothing and creates the database. */
START_TEST(test_load_empty)
{
	open_store();
	ck_assert_int_eq(store_load(&d), 0);
	ck_assert_ptr_null(graph_registry_first(&d));
	ck_assert_uint_eq(n_events, 0);
	ck_assert_uint_eq(files_in("damaged"), 0);
	close_store();
}
END_TEST

static Suite *load_suite(void)
{
	Suite *s = suite_create("daemon-load");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_load_after_crash);
	tcase_add_test(tc, test_load_empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(load_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
