/*
 * suite-proto-graph.c - Check suite for the job-graph codec.
 *
 * The bad-document corpus lives in tests/data/graphs-bad: each NAME.json
 * has a NAME.expect with three lines, "code N", "path P" and either
 * "reason R" (exact) or "reason-prefix R" (for messages partly made by
 * json-c).  The loop test runs every pair, so adding a case is adding two
 * files.  Good documents (tests/data/graphs-good and examples/graphs) must
 * parse and survive an encode/parse round trip unchanged.  The rest checks
 * the decoded tree, limits, and lookups.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto-graph.h"
#include "test-proto.h"

/* Sorted names of the *.json files of a directory under the source tree. */
struct filelist {
	char dir[1024];
	char *names[256];
	size_t n;
};

/* Runs before the suite exists, so it reports with exit(), not ck_assert. */
static void list_json(struct filelist *fl, const char *sub)
{
	struct dirent *de;
	DIR *d;

	snprintf(fl->dir, sizeof(fl->dir), "%s/%s", srcdir(), sub);
	fl->n = 0;
	d = opendir(fl->dir);
	if (!d) {
		fprintf(stderr, "cannot open %s\n", fl->dir);
		exit(EXIT_FAILURE);
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (fl->n == 256 || !(fl->names[fl->n] = strndup(de->d_name, len - 5))) {
			fprintf(stderr, "%s: too many files\n", fl->dir);
			exit(EXIT_FAILURE);
		}
		fl->n++;
	}
	closedir(d);
	qsort(fl->names, fl->n, sizeof(char *), cmp_str);
}

static void filelist_free(struct filelist *fl)
{
	for (size_t i = 0; i < fl->n; i++)
		free(fl->names[i]);
	fl->n = 0;
}

/* Listed once in main() before the suite is built, so that the loop
 * tests get exact bounds; forked test processes inherit the lists. */
static struct filelist bad, good, examples;

START_TEST(test_corpus_size)
{
	ck_assert_uint_ge(bad.n, 25);
	ck_assert_uint_ge(good.n, 3);
	ck_assert_uint_ge(examples.n, 2);
}
END_TEST

/* Reads "key value" from an .expect line (value may be empty). */
static const char *expect_value(char *line, const char *key)
{
	size_t kl = strlen(key);

	ck_assert_msg(strncmp(line, key, kl) == 0 && (line[kl] == ' ' || line[kl] == '\0'),
		      "expected '%s' in '%s'", key, line);
	return line[kl] ? line + kl + 1 : line + kl;
}

/* Runs one bad document; _i indexes the sorted corpus. */
START_TEST(test_bad_corpus)
{
	char path[1200], *text, *exp, *lines[3], *save = NULL;
	struct proto_graph *g = NULL;
	struct proto_error err;
	const char *reason;
	size_t len, elen;
	bool prefix;
	int r;

	snprintf(path, sizeof(path), "%s/%s.expect", bad.dir, bad.names[_i]);
	exp = read_file(path, &elen);
	lines[0] = strtok_r(exp, "\n", &save);
	lines[1] = strtok_r(NULL, "\n", &save);
	lines[2] = strtok_r(NULL, "\n", &save);
	ck_assert_msg(lines[0] && lines[1] && lines[2], "%s: three lines needed", path);
	prefix = strncmp(lines[2], "reason-prefix", 13) == 0;
	reason = expect_value(lines[2], prefix ? "reason-prefix" : "reason");

	snprintf(path, sizeof(path), "%s/%s.json", bad.dir, bad.names[_i]);
	text = read_file(path, &len);
	r = proto_graph_parse_text(text, len, NULL, &g, &err);
	ck_assert_msg(r < 0, "%s: accepted", bad.names[_i]);
	ck_assert_ptr_null(g);
	ck_assert_msg(err.code == atoi(expect_value(lines[0], "code")), "%s: code %d",
		      bad.names[_i], err.code);
	ck_assert_int_eq(r, err.code == PROTO_ERR_LIMIT ? -E2BIG : -EINVAL);
	ck_assert_msg(strcmp(err.path, expect_value(lines[1], "path")) == 0, "%s: path '%s'",
		      bad.names[_i], err.path);
	ck_assert_msg(err.reason[0] != '\0', "%s: empty reason", bad.names[_i]);
	if (prefix)
		ck_assert_msg(strncmp(err.reason, reason, strlen(reason)) == 0, "%s: reason '%s'",
			      bad.names[_i], err.reason);
	else
		ck_assert_msg(strcmp(err.reason, reason) == 0, "%s: reason '%s'", bad.names[_i],
			      err.reason);
	free(text);
	free(exp);
}
END_TEST

/* Parses, encodes, parses the encoding and encodes again: the two
 * encodings are identical, so the canonical form is a fixed point. */
static void check_roundtrip(const char *dir, const char *name)
{
	char path[1200], *text;
	struct proto_graph *g, *g2;
	struct proto_error err;
	struct json_object *o1, *o2;
	char *s1;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	text = read_file(path, &len);
	ck_assert_msg(proto_graph_parse_text(text, len, NULL, &g, &err) == 0, "%s: %s: %s", name,
		      err.path, err.reason);
	ck_assert_int_eq(proto_graph_encode(g, &o1), 0);
	ck_assert_int_eq(proto_graph_parse(o1, NULL, &g2, &err), 0);
	ck_assert_int_eq(proto_graph_encode(g2, &o2), 0);
	s1 = strdup(json_object_to_json_string_ext(o1, JSON_C_TO_STRING_PLAIN));
	ck_assert_ptr_nonnull(s1);
	ck_assert_str_eq(s1, json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PLAIN));
	ck_assert_uint_eq(g->n_nodes, g2->n_nodes);
	ck_assert_uint_eq(g->max_depth, g2->max_depth);
	free(s1);
	json_object_put(o1);
	json_object_put(o2);
	proto_graph_free(g);
	proto_graph_free(g2);
	free(text);
}

START_TEST(test_good_corpus)
{
	check_roundtrip(good.dir, good.names[_i]);
}
END_TEST

START_TEST(test_examples)
{
	check_roundtrip(examples.dir, examples.names[_i]);
}
END_TEST

static struct proto_graph *parse_file(const char *sub, const char *name)
{
	char path[1200], *text;
	struct proto_graph *g;
	struct proto_error err;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s/%s", srcdir(), sub, name);
	text = read_file(path, &len);
	ck_assert_msg(proto_graph_parse_text(text, len, NULL, &g, &err) == 0, "%s: %s: %s", name,
		      err.path, err.reason);
	free(text);
	return g;
}

static struct proto_graph *parse_string(const char *text, struct proto_error *err)
{
	struct proto_graph *g = NULL;
	struct proto_error local;
	int r = proto_graph_parse_text(text, strlen(text), NULL, &g, err ? err : &local);

	if (!err)
		ck_assert_msg(r == 0, "%s: %s", local.path, local.reason);
	return g;
}

/* proto_graph_find through the sorted index of a big scope and through
 * the scan of a small one give the same nodes: every id of a 1,000-child
 * scope (ids that are prefixes of others among them: n1, n10, n100) and
 * of a small nested scope, and none for ids that are not there, prefixes
 * and extensions of real ids, empty components and a trailing '/'. */
START_TEST(test_find_indexed)
{
	enum { N = 1000 };
	char *text = NULL, id[32];
	size_t len = 0;
	struct proto_graph *g;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	fputs("{\"nodes\":[{\"id\":\"s\",\"kind\":\"scope\",\"nodes\":["
	      "{\"id\":\"x\",\"kind\":\"task\",\"fn\":\"noop\"},"
	      "{\"id\":\"x1\",\"kind\":\"task\",\"fn\":\"noop\"}]}",
	      f);
	/* In an order the index must sort: n999 .. n0. */
	for (int i = N - 1; i >= 0; i--)
		fprintf(f, ",{\"id\":\"n%d\",\"kind\":\"task\",\"fn\":\"noop\"}", i);
	fputs("]}", f);
	ck_assert_int_eq(fclose(f), 0);
	g = parse_string(text, NULL);
	free(text);
	ck_assert_ptr_nonnull(g->root.by_id);
	ck_assert_ptr_null(proto_graph_find(g, "s")->by_id); /* 2 children: a scan */
	for (int i = 0; i < N; i++) {
		const struct proto_node *n;

		snprintf(id, sizeof(id), "n%d", i);
		n = proto_graph_find(g, id);
		ck_assert_ptr_nonnull(n);
		ck_assert_str_eq(n->id, id);
		ck_assert_uint_eq(n->index, (size_t)(N - i)); /* s is at 0 */
		snprintf(id, sizeof(id), "/n%d", i);
		ck_assert_ptr_eq(proto_graph_find(g, id), n);
	}
	ck_assert_str_eq(proto_graph_find(g, "s")->id, "s");
	ck_assert_str_eq(proto_graph_find(g, "s/x")->path, "s/x");
	ck_assert_str_eq(proto_graph_find(g, "s/x1")->path, "s/x1");
	ck_assert_ptr_eq(proto_graph_find(g, ""), &g->root);
	ck_assert_ptr_eq(proto_graph_find(g, "/"), &g->root);
	{
		static const char *const none[] = {"n",    "n1000", "n0000", "n01",  "n-1",   "N1",
						   "n1/",  "n1/x",  "s/",    "s/x2", "s/n1",  "x",
						   "s//x", "//s",   "nn1",   "n99a", "s/x1/", "t"};

		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
			ck_assert_msg(proto_graph_find(g, none[i]) == NULL, "found '%s'", none[i]);
	}
	ck_assert_ptr_null(proto_graph_find(g, NULL));
	proto_graph_free(g);
}
END_TEST

/* The tree of the example of coopd.graph(5) (tests/data/graphs-good/etl-manual.json),
 * field by field. */
START_TEST(test_etl_tree)
{
	struct proto_graph *g = parse_file("tests/data/graphs-good", "etl-manual.json");
	const struct proto_node *r = &g->root, *fetch, *warm, *load, *cleanup;

	ck_assert_str_eq(g->name, "nightly-etl");
	ck_assert_uint_eq(g->n_nodes, 6);
	ck_assert_uint_eq(g->max_depth, 2);
	ck_assert_int_eq(r->kind, PROTO_NODE_SCOPE);
	ck_assert_str_eq(r->path, "/");
	ck_assert_ptr_null(r->parent);
	ck_assert_uint_eq(r->depth, 1);
	ck_assert_int_eq(r->policy, PROTO_POLICY_FAIL_FAST);
	ck_assert_int_eq(r->deadline_ms, 600000);
	ck_assert_uint_eq(r->max_parallel, 4);
	ck_assert_uint_eq(r->budget, 128);
	ck_assert_uint_eq(r->n_children, 4);
	fetch = &r->children[0];
	warm = &r->children[1];
	load = &r->children[2];
	cleanup = &r->children[3];

	ck_assert_int_eq(fetch->kind, PROTO_NODE_EXEC);
	ck_assert_str_eq(fetch->path, "fetch");
	ck_assert_uint_eq(fetch->n_argv, 5);
	ck_assert_str_eq(fetch->argv[0], "curl");
	ck_assert_str_eq(fetch->argv[4], "http://127.0.0.1:8080/x");
	ck_assert_ptr_null(fetch->argv[5]);
	ck_assert_uint_eq(fetch->n_env, 1);
	ck_assert_str_eq(fetch->env[0], "LANG=C");
	ck_assert_ptr_null(fetch->env[1]);
	ck_assert_str_eq(fetch->cwd, "/srv/etl");
	ck_assert_int_eq(fetch->timeout_ms, 30000);
	ck_assert_int_eq(fetch->grace_ms, 2000);
	ck_assert_uint_eq(fetch->n_after, 0);
	ck_assert(!fetch->always);
	ck_assert_ptr_eq(fetch->parent, r);
	ck_assert_uint_eq(fetch->depth, 2);

	ck_assert_int_eq(warm->kind, PROTO_NODE_TASK);
	ck_assert_int_eq(warm->fn, PROTO_FN_SPIN);
	ck_assert_str_eq(warm->fn_name, "spin");
	ck_assert_int_eq(warm->args.spin.units, 100000);
	ck_assert_ptr_nonnull(warm->args_json);
	ck_assert_int_eq(warm->timeout_ms, -1);

	ck_assert_int_eq(load->kind, PROTO_NODE_SCOPE);
	ck_assert_int_eq(load->policy, PROTO_POLICY_RACE);
	ck_assert_uint_eq(load->budget, 128);
	ck_assert_int_eq(load->deadline_ms, -1);
	ck_assert_uint_eq(load->max_parallel, 0);
	ck_assert_uint_eq(load->n_after, 2);
	ck_assert_uint_eq(load->after[0], 0);
	ck_assert_uint_eq(load->after[1], 1);
	ck_assert_uint_eq(load->n_children, 2);
	ck_assert_str_eq(load->children[0].path, "load/primary");
	ck_assert_str_eq(load->children[1].path, "load/replica");
	ck_assert_uint_eq(load->children[1].index, 1);
	ck_assert_uint_eq(load->children[1].depth, 3);
	ck_assert_int_eq(load->children[0].grace_ms, PROTO_DEFAULT_GRACE_MS);
	ck_assert_ptr_null(load->children[0].cwd);
	ck_assert_uint_eq(load->children[0].n_env, 0);
	ck_assert_ptr_null(load->children[0].env[0]);

	ck_assert(cleanup->always);
	ck_assert_uint_eq(cleanup->n_after, 1);
	ck_assert_uint_eq(cleanup->after[0], 2);

	/* The topological order puts every node after its dependencies. */
	{
		size_t pos[4];

		for (size_t i = 0; i < 4; i++)
			pos[r->topo[i]] = i;
		for (size_t i = 0; i < 4; i++)
			for (size_t k = 0; k < r->children[i].n_after; k++)
				ck_assert_uint_lt(pos[r->children[i].after[k]], pos[i]);
	}
	proto_graph_free(g);
}
END_TEST

START_TEST(test_all_fields_tree)
{
	struct proto_graph *g = parse_file("tests/data/graphs-good", "all-fields.json");
	const struct proto_node *r = &g->root;
	const struct proto_node *s = proto_graph_find(g, "s");

	ck_assert_int_eq(r->policy, PROTO_POLICY_ALL_SETTLED);
	ck_assert_int_eq(r->deadline_ms, 0);
	ck_assert_uint_eq(r->budget, 2147483647u);
	ck_assert_str_eq(proto_graph_find(g, "t-fail")->args.fail.message, "on purpose");
	ck_assert_str_eq(proto_graph_find(g, "t-fail-default")->args.fail.message, "failed");
	ck_assert_ptr_null(proto_graph_find(g, "t-fail-default")->args_json);
	ck_assert(proto_graph_find(g, "b-sleep")->args.sleep.ignore_cancel);
	ck_assert_int_eq(proto_graph_find(g, "b-sleep")->args.sleep.ms, 50);
	ck_assert_int_eq(proto_graph_find(g, "t_spin")->args.spin.units, INT64_MAX);
	ck_assert_int_eq(proto_graph_find(g, "e")->timeout_ms, 1000000000000LL);
	ck_assert_int_eq(proto_graph_find(g, "e")->grace_ms, 0);
	ck_assert_str_eq(proto_graph_find(g, "e")->argv[3], "");
	ck_assert_uint_eq(proto_graph_find(g, "e")->n_env, 3);
	/* Repeated dependencies count once. */
	ck_assert_uint_eq(s->n_after, 2);
	ck_assert(s->always);
	/* Nested scopes inherit the budget. */
	ck_assert_uint_eq(s->budget, 2147483647u);
	ck_assert_uint_eq(proto_graph_find(g, "s/inner")->budget, 2147483647u);
	ck_assert_uint_eq(proto_graph_find(g, "s/inner")->n_children, 0);
	ck_assert_str_eq(proto_graph_find(g, "..")->path, "..");
	proto_graph_free(g);
}
END_TEST

/* retries default and decoded; limits merged key by key down the tree
 * (the root's, a scope's, the node's own), absent ones stay unset. */
START_TEST(test_retries_limits_tree)
{
	struct proto_graph *g = parse_file("tests/data/graphs-good", "retries-limits.json");
	const struct proto_node *f = proto_graph_find(g, "flaky"), *t = proto_graph_find(g, "t");
	const struct proto_node *a = proto_graph_find(g, "capped/a");
	const struct proto_node *b = proto_graph_find(g, "capped/b");
	struct proto_error err;
	static const char cg[] =
		"{\"limits\":{\"pids_max\":64},\"nodes\":[{\"id\":\"s\",\"kind\":\"scope\","
		"\"limits\":{\"memory_max\":1073741824,\"cpu_max\":1.5},\"nodes\":["
		"{\"id\":\"e\",\"kind\":\"exec\",\"argv\":[\"x\"],\"limits\":{\"cpu_max\":2}}]}]}";

	ck_assert_uint_eq(f->retries, 3);
	ck_assert_int_eq(f->retry_delay_ms, 500);
	ck_assert(f->retry_backoff == 1.5);
	ck_assert_int_eq(f->timeout_ms, 1000);
	ck_assert_uint_eq(t->retries, 1);
	ck_assert_int_eq(t->retry_delay_ms, PROTO_DEFAULT_RETRY_DELAY_MS);
	ck_assert(t->retry_backoff == 2.0);
	ck_assert_uint_eq(a->retries, 0);
	ck_assert(a->retry_backoff == 1.0);
	/* flaky: only the root's nofile. */
	ck_assert_ptr_nonnull(f->limits);
	ck_assert_int_eq(f->limits->nofile, 1024);
	ck_assert_int_eq(f->limits->memory_max, -1);
	ck_assert_int_eq(f->limits->cpu_seconds, -1);
	ck_assert(f->limits->cpu_max == 0.0);
	/* a: the scope's, over the root's. */
	ck_assert_int_eq(a->limits->nofile, 512);
	ck_assert_int_eq(a->limits->cpu_seconds, 100);
	/* b: its own keys over the scope's. */
	ck_assert_int_eq(b->limits->nofile, 256);
	ck_assert_int_eq(b->limits->cpu_seconds, 100);
	ck_assert_ptr_null(t->limits);
	proto_graph_free(g);

	/* The cgroup keys (a good corpus graph cannot have them: coopd on a
	 * machine without the controllers refuses them). */
	ck_assert_int_eq(proto_graph_parse_text(cg, sizeof(cg) - 1, NULL, &g, &err), 0);
	b = proto_graph_find(g, "s/e");
	ck_assert_int_eq(b->limits->memory_max, 1073741824);
	ck_assert(b->limits->cpu_max == 2.0);
	ck_assert_int_eq(b->limits->pids_max, 64);
	ck_assert(proto_graph_find(g, "s")->limits->cpu_max == 1.5);
	proto_graph_free(g);
}
END_TEST

/* Placement and Slurm options: a scope's are the defaults of the exec
 * nodes below it, option by option; a node's own win; the encoding keeps
 * only what each node gave itself. */
START_TEST(test_slurm_placement_tree)
{
	struct proto_graph *g = parse_file("tests/data/graphs-good", "slurm-placement.json");
	const struct proto_node *prep = proto_graph_find(g, "prep");
	const struct proto_node *a = proto_graph_find(g, "sims/a");
	const struct proto_node *b = proto_graph_find(g, "sims/b");
	const struct proto_node *c = proto_graph_find(g, "sims/c");
	const struct proto_node *report = proto_graph_find(g, "report");
	struct json_object *o, *node, *so;

	ck_assert_int_eq(g->root.placement, PROTO_PLACEMENT_LOCAL);
	ck_assert_int_eq(prep->placement, PROTO_PLACEMENT_LOCAL);
	ck_assert_ptr_null(prep->slurm);
	ck_assert_int_eq(a->placement, PROTO_PLACEMENT_SLURM);
	ck_assert(!a->placement_own);
	ck_assert_str_eq(a->slurm->partition, "debug");
	ck_assert_str_eq(a->slurm->account, "lab"); /* from the root */
	ck_assert_str_eq(a->slurm->time, "0-00:10:00");
	ck_assert_str_eq(a->slurm->mem, "512M");
	ck_assert_uint_eq(a->slurm->own, 0);
	ck_assert_str_eq(a->argv[3], "x\ny");
	ck_assert_str_eq(b->slurm->time, "30"); /* its own wins */
	ck_assert_str_eq(b->slurm->partition, "debug");
	ck_assert_int_eq(b->slurm->cpus_per_task, 2);
	ck_assert_int_eq(b->slurm->nodes, 1);
	ck_assert_str_eq(b->slurm->gres, "gpu:1");
	ck_assert_str_eq(b->slurm->constraint, "avx2");
	ck_assert_str_eq(b->slurm->qos, "high");
	ck_assert_uint_eq(b->slurm->own, PROTO_SLURM_TIME | PROTO_SLURM_CPUS_PER_TASK |
						 PROTO_SLURM_QOS | PROTO_SLURM_GRES |
						 PROTO_SLURM_CONSTRAINT | PROTO_SLURM_NODES);
	ck_assert_int_eq(c->placement, PROTO_PLACEMENT_LOCAL);
	ck_assert(c->placement_own);
	ck_assert_int_eq(report->placement, PROTO_PLACEMENT_SLURM);
	ck_assert_str_eq(report->slurm->time, "UNLIMITED");
	ck_assert_ptr_null(report->slurm->partition);
	ck_assert_str_eq(report->slurm->account, "lab");
	ck_assert_str_eq(proto_placement_name(PROTO_PLACEMENT_SLURM), "slurm");
	ck_assert_str_eq(proto_placement_name(PROTO_PLACEMENT_LOCAL), "local");

	ck_assert_int_eq(proto_graph_encode(g, &o), 0);
	node = json_object_array_get_idx(json_object_object_get(o, "nodes"), 1);
	node = json_object_array_get_idx(json_object_object_get(node, "nodes"), 0);
	/* sims/a: nothing of its own. */
	ck_assert(!json_object_object_get_ex(node, "placement", NULL));
	ck_assert(!json_object_object_get_ex(node, "slurm", NULL));
	so = json_object_object_get(o, "slurm");
	ck_assert_str_eq(json_object_to_json_string_ext(so, JSON_C_TO_STRING_PLAIN),
			 "{\"account\":\"lab\"}");
	json_object_put(o);
	proto_graph_free(g);
}
END_TEST

START_TEST(test_find_and_walk)
{
	struct proto_graph *g = parse_file("tests/data/graphs-good", "etl-manual.json");
	ck_assert_ptr_eq(proto_graph_find(g, "/"), &g->root);
	ck_assert_ptr_eq(proto_graph_find(g, ""), &g->root);
	ck_assert_str_eq(proto_graph_find(g, "load/replica")->id, "replica");
	ck_assert_str_eq(proto_graph_find(g, "/load/primary")->id, "primary");
	ck_assert_ptr_null(proto_graph_find(g, "load/"));
	ck_assert_ptr_null(proto_graph_find(g, "load/nope"));
	ck_assert_ptr_null(proto_graph_find(g, "fetch/x"));
	ck_assert_ptr_null(proto_graph_find(g, "loa"));
	ck_assert_ptr_null(proto_graph_find(g, NULL));
	proto_graph_free(g);
}
END_TEST

static int count_nodes(const struct proto_node *n, void *u)
{
	size_t *count = u;

	(void)n;
	(*count)++;
	return 0;
}

static int stop_at_load(const struct proto_node *n, void *u)
{
	const char **seen = u;

	*seen = n->path;
	return strcmp(n->id, "load") == 0 ? 42 : 0;
}

START_TEST(test_walk)
{
	struct proto_graph *g = parse_file("tests/data/graphs-good", "etl-manual.json");
	const char *seen = NULL;
	size_t count = 0;

	ck_assert_int_eq(proto_graph_walk(g, count_nodes, &count), 0);
	ck_assert_uint_eq(count, g->n_nodes + 1);
	ck_assert_int_eq(proto_graph_walk(g, stop_at_load, &seen), 42);
	ck_assert_str_eq(seen, "load");
	proto_graph_free(g);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(proto_node_kind_name(PROTO_NODE_BLOCKING), "blocking");
	ck_assert_str_eq(proto_policy_name(PROTO_POLICY_ALL_SETTLED), "all_settled");
	ck_assert_str_eq(proto_fn_name(PROTO_FN_SPIN), "spin");
}
END_TEST

START_TEST(test_canonical_encoding)
{
	struct proto_graph *g = parse_string(
		"{\"nodes\":[{\"id\":\"a\",\"kind\":\"exec\",\"argv\":[\"x\"]},"
		"{\"id\":\"b\",\"kind\":\"blocking\",\"fn\":\"sleep\",\"args\":{\"ms\":3},"
		"\"after\":[\"a\",\"a\"]}]}",
		NULL);
	struct json_object *o;

	ck_assert_int_eq(proto_graph_encode(g, &o), 0);
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			 "{\"policy\":\"fail_fast\",\"budget\":128,\"nodes\":["
			 "{\"id\":\"a\",\"kind\":\"exec\",\"argv\":[\"x\"],\"grace_ms\":5000},"
			 "{\"id\":\"b\",\"kind\":\"blocking\",\"after\":[\"a\"],\"fn\":\"sleep\","
			 "\"args\":{\"ms\":3}}]}");
	json_object_put(o);
	proto_graph_free(g);
}
END_TEST

/* Limits come from struct proto_limits; the error is -32003 at the place
 * where the limit was crossed. */
START_TEST(test_node_limit)
{
	const char *doc = "{\"nodes\":[{\"id\":\"a\",\"kind\":\"task\",\"fn\":\"noop\"},"
			  "{\"id\":\"s\",\"kind\":\"scope\",\"nodes\":["
			  "{\"id\":\"b\",\"kind\":\"task\",\"fn\":\"noop\"},"
			  "{\"id\":\"c\",\"kind\":\"task\",\"fn\":\"noop\"}]}]}";
	struct proto_limits lim;
	struct proto_graph *g = NULL;
	struct proto_error err;

	proto_limits_default(&lim);
	lim.max_nodes = 3;
	ck_assert_int_eq(proto_graph_parse_text(doc, strlen(doc), &lim, &g, &err), -E2BIG);
	ck_assert_int_eq(err.code, PROTO_ERR_LIMIT);
	ck_assert_str_eq(err.path, "nodes[1].nodes");
	ck_assert_str_eq(err.reason, "graph has more than 3 nodes (max_nodes)");
	ck_assert_ptr_null(g);
	lim.max_nodes = 4;
	ck_assert_int_eq(proto_graph_parse_text(doc, strlen(doc), &lim, &g, &err), 0);
	ck_assert_uint_eq(g->n_nodes, 4);
	proto_graph_free(g);
}
END_TEST

START_TEST(test_depth_limit)
{
	const char *doc = "{\"nodes\":[{\"id\":\"s\",\"kind\":\"scope\",\"nodes\":["
			  "{\"id\":\"t\",\"kind\":\"scope\",\"nodes\":[]}]}]}";
	struct proto_limits lim;
	struct proto_graph *g = NULL;
	struct proto_error err;

	proto_limits_default(&lim);
	lim.max_scope_depth = 2;
	ck_assert_int_eq(proto_graph_parse_text(doc, strlen(doc), &lim, &g, &err), -E2BIG);
	ck_assert_str_eq(err.path, "nodes[0].nodes[0]");
	ck_assert_str_eq(err.reason, "scopes nested deeper than 2 levels (max_scope_depth)");
	lim.max_scope_depth = 3;
	ck_assert_int_eq(proto_graph_parse_text(doc, strlen(doc), &lim, &g, &err), 0);
	ck_assert_uint_eq(g->max_depth, 3);
	proto_graph_free(g);
}
END_TEST

/* The largest allowed nesting parses with the default JSON depth too. */
START_TEST(test_depth_64_default)
{
	struct proto_graph *g = parse_file("tests/data/graphs-good", "depth-64.json");

	ck_assert_uint_eq(g->max_depth, 64);
	ck_assert_uint_eq(g->n_nodes, 64);
	proto_graph_free(g);
}
END_TEST

/* Inside a submit request (three more JSON levels), the deepest allowed
 * graph still passes the tokener, and one level more gets the graph's own
 * -32003 error rather than a generic nesting error. */
static int submit_nested(unsigned levels, struct proto_error *err)
{
	struct proto_request req;
	struct proto_submit_params sp;
	struct proto_graph *g = NULL;
	char *line = malloc(64 * levels + 256);
	size_t o = 0;
	int r;

	ck_assert_ptr_nonnull(line);
	o += (size_t)sprintf(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit\","
				   "\"params\":{\"graph\":{\"nodes\":[");
	for (unsigned i = 0; i < levels; i++)
		o += (size_t)sprintf(line + o, "{\"id\":\"s\",\"kind\":\"scope\",\"nodes\":[");
	o += (size_t)sprintf(line + o, "{\"id\":\"l\",\"kind\":\"exec\",\"argv\":[\"x\"],"
				       "\"env\":{\"A\":\"b\"}}");
	for (unsigned i = 0; i < levels; i++)
		o += (size_t)sprintf(line + o, "]}");
	o += (size_t)sprintf(line + o, "]}}}");
	ck_assert_int_eq(proto_request_parse(line, o, NULL, &req, err), 0);
	ck_assert_int_eq(proto_submit_params_decode(req.params, &sp, err), 0);
	r = proto_graph_parse(sp.graph, NULL, &g, err);
	if (r == 0) {
		ck_assert_uint_eq(g->max_depth, levels + 1);
		proto_graph_free(g);
	}
	proto_request_free(&req);
	free(line);
	return r;
}

START_TEST(test_depth_limit_in_request)
{
	struct proto_error err;

	ck_assert_int_eq(submit_nested(PROTO_DEFAULT_MAX_SCOPE_DEPTH - 1, &err), 0);
	ck_assert_int_eq(submit_nested(PROTO_DEFAULT_MAX_SCOPE_DEPTH, &err), -E2BIG);
	ck_assert_int_eq(err.code, PROTO_ERR_LIMIT);
	ck_assert_str_eq(err.reason, "scopes nested deeper than 64 levels (max_scope_depth)");
}
END_TEST

/* JSON nested past the tokener's limit is refused before any recursion. */
START_TEST(test_json_too_deep)
{
	size_t depth = 50000, o = 0;
	char *doc = malloc(2 * depth + 32);
	struct proto_graph *g = NULL;
	struct proto_error err;

	ck_assert_ptr_nonnull(doc);
	o += (size_t)sprintf(doc, "{\"nodes\":");
	for (size_t i = 0; i < depth; i++)
		doc[o++] = '[';
	for (size_t i = 0; i < depth; i++)
		doc[o++] = ']';
	doc[o++] = '}';
	ck_assert_int_eq(proto_graph_parse_text(doc, o, NULL, &g, &err), -EINVAL);
	ck_assert_int_eq(err.code, PROTO_ERR_INVALID_REQUEST);
	ck_assert_ptr_null(g);
	free(doc);
}
END_TEST

/* A wide graph: many siblings, a long dependency chain declared backwards
 * and a fan-in; then the same with one back edge closing a long cycle. */
START_TEST(test_wide_graph)
{
	enum { N = 20000 };
	struct json_object *doc = json_object_new_object(), *nodes = json_object_new_array();
	struct proto_graph *g;
	struct proto_error err;

	for (int i = N - 1; i >= 0; i--) {
		struct json_object *n = json_object_new_object(), *after = json_object_new_array();
		char id[32], dep[32];

		snprintf(id, sizeof(id), "n%d", i);
		json_object_object_add(n, "id", json_object_new_string(id));
		json_object_object_add(n, "kind", json_object_new_string("task"));
		json_object_object_add(n, "fn", json_object_new_string("noop"));
		if (i > 0) {
			snprintf(dep, sizeof(dep), "n%d", i - 1);
			json_object_array_add(after, json_object_new_string(dep));
			json_object_array_add(after, json_object_new_string("n0"));
		}
		json_object_object_add(n, "after", after);
		json_object_array_add(nodes, n);
	}
	json_object_object_add(doc, "nodes", nodes);
	ck_assert_int_eq(proto_graph_parse(doc, NULL, &g, &err), 0);
	ck_assert_uint_eq(g->n_nodes, N);
	ck_assert_uint_eq(g->root.topo[0], N - 1); /* n0 is declared last */
	ck_assert_uint_eq(g->root.topo[N - 1], 0);
	proto_graph_free(g);

	/* n0 after n(N-1): the chain becomes one cycle through every node. */
	json_object_object_add(json_object_array_get_idx(nodes, N - 1), "after",
			       json_object_new_string("n19999"));
	ck_assert_int_eq(proto_graph_parse(doc, NULL, &g, &err), -EINVAL);
	ck_assert_str_eq(err.path, "nodes[19999].after");
	ck_assert_str_eq(err.reason, "expected an array");
	{
		struct json_object *a = json_object_new_array();

		json_object_array_add(a, json_object_new_string("n19999"));
		json_object_object_add(json_object_array_get_idx(nodes, N - 1), "after", a);
	}
	ck_assert_int_eq(proto_graph_parse(doc, NULL, &g, &err), -EINVAL);
	/* The cycle starts at the first member in the document, n19999. */
	ck_assert_str_eq(err.path, "nodes[0].after[0]");
	ck_assert_int_eq(strncmp(err.reason, "cycle n19999 -> n19998 -> n19997 -> ", 36), 0);
	ck_assert_str_eq(err.reason + strlen(err.reason) - 4, " ...");
	json_object_put(doc);
}
END_TEST

START_TEST(test_parse_api_misuse)
{
	struct proto_graph *g = NULL;
	struct proto_error err;

	ck_assert_int_eq(proto_graph_parse(NULL, NULL, &g, &err), -EINVAL);
	ck_assert_str_eq(err.reason, "expected an object");
	ck_assert_int_eq(proto_graph_parse_text("null", 4, NULL, &g, &err), -EINVAL);
	ck_assert_int_eq(proto_graph_parse_text("", 0, NULL, &g, &err), -EINVAL);
	ck_assert_int_eq(err.code, PROTO_ERR_PARSE);
	/* Errors need no error record. */
	ck_assert_int_eq(proto_graph_parse_text("{\"nodes\":1}", 11, NULL, &g, NULL), -EINVAL);
	ck_assert_ptr_null(g);
	proto_graph_free(NULL);
}
END_TEST

/* A submit request end to end: envelope, params, graph. */
START_TEST(test_submit_request)
{
	const char *line =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit\",\"params\":{\"graph\":"
		"{\"nodes\":[{\"id\":\"a\",\"kind\":\"exec\",\"argv\":[\"/bin/echo\"]},"
		"{\"id\":\"b\",\"kind\":\"exec\",\"argv\":[\"x\"],\"after\":[\"c\"]}]}}}";
	struct proto_request req;
	struct proto_submit_params sp;
	struct proto_graph *g = NULL;
	struct proto_error err;
	char *out;
	size_t len;

	ck_assert_int_eq(proto_request_parse(line, strlen(line), NULL, &req, &err), 0);
	ck_assert_int_eq(req.method_id, PROTO_M_SUBMIT);
	ck_assert_int_eq(proto_submit_params_decode(req.params, &sp, &err), 0);
	ck_assert_int_eq(proto_graph_parse(sp.graph, NULL, &g, &err), -EINVAL);
	ck_assert_int_eq(proto_error_line(req.id, &err, &out, &len), 0);
	ck_assert_str_eq(out,
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32602,\"message\":"
			 "\"unknown sibling 'c'\",\"data\":{\"path\":\"nodes[1].after[0]\","
			 "\"reason\":\"unknown sibling 'c'\"}}}\n");
	free(out);
	proto_request_free(&req);
}
END_TEST

/* Untrusted text quoted in reasons is escaped and bounded. */
START_TEST(test_reason_escaping)
{
	struct proto_error err;
	struct proto_graph *g;

	g = parse_string("{\"nodes\":[{\"id\":\"a'\\n\\u00e9\",\"kind\":\"exec\",\"argv\":["
			 "\"x\"]}]}",
			 &err);
	ck_assert_ptr_null(g);
	ck_assert_str_eq(err.reason,
			 "invalid id 'a\\x27\\x0a\\xc3\\xa9' (expected [A-Za-z0-9_.-]{1,64})");
}
END_TEST

/* COOPD_JOB is coopd's marker of a job's processes (the crash-recovery
 * sweep finds them by it): a node's env may not set it, in either parser
 * (the compact tree and json-c's), at any depth, whatever the other keys;
 * names merely like it, and the rest of the minimal environment, may be
 * set. */
static void check_marker_refused(const char *text, const char *path)
{
	const char *reason = "COOPD_JOB is reserved: coopd sets it to the job's marker "
			     "(GRAPH/NODE), by which it finds the job's processes";
	struct json_object *doc = json_tokener_parse(text);
	struct proto_graph *g = NULL;
	struct proto_error err;

	ck_assert_int_eq(proto_graph_parse_text(text, strlen(text), NULL, &g, &err), -EINVAL);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(err.code, PROTO_ERR_INVALID_PARAMS);
	ck_assert_str_eq(err.path, path);
	ck_assert_str_eq(err.reason, reason);

	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(proto_graph_parse(doc, NULL, &g, &err), -EINVAL);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(err.code, PROTO_ERR_INVALID_PARAMS);
	ck_assert_str_eq(err.path, path);
	ck_assert_str_eq(err.reason, reason);
	json_object_put(doc);
}

START_TEST(test_env_marker_reserved)
{
	struct proto_graph *g;
	struct proto_error err;

	check_marker_refused("{\"nodes\":[{\"id\":\"a\",\"kind\":\"exec\",\"argv\":[\"x\"],"
			     "\"env\":{\"COOPD_JOB\":\"deadbeefdeadbeef/1\"}}]}",
			     "nodes[0].env.COOPD_JOB");
	/* After other keys, an empty value, in a nested scope. */
	check_marker_refused("{\"nodes\":[{\"id\":\"t\",\"kind\":\"task\",\"fn\":\"noop\"},"
			     "{\"id\":\"s\",\"kind\":\"scope\",\"nodes\":[{\"id\":\"a\","
			     "\"kind\":\"exec\",\"argv\":[\"x\"],\"env\":{\"PATH\":\"/bin\","
			     "\"COOPD_JOB\":\"\"}}]}]}",
			     "nodes[1].nodes[0].env.COOPD_JOB");

	/* A name that would end at a NUL is refused too, never shortened
	 * to the marker's name. */
	g = parse_string("{\"nodes\":[{\"id\":\"a\",\"kind\":\"exec\",\"argv\":[\"x\"],"
			 "\"env\":{\"COOPD_JOB\\u0000x\":\"1\"}}]}",
			 &err);
	ck_assert_ptr_null(g);
	ck_assert_int_ne(err.code, 0);

	/* Like it but not it; and the minimal environment's other names. */
	g = parse_string("{\"nodes\":[{\"id\":\"a\",\"kind\":\"exec\",\"argv\":[\"x\"],"
			 "\"env\":{\"COOPD_JOBS\":\"1\",\"coopd_job\":\"2\",\"COOPD_JO\":\"3\","
			 "\"COOPD_SOCKET\":\"4\",\"PATH\":\"/opt\",\"HOME\":\"/h\",\"USER\":\"u\","
			 "\"LOGNAME\":\"u\",\"LANG\":\"C\"}}]}",
			 NULL);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(proto_graph_find(g, "a")->n_env, 9);
	ck_assert_str_eq(proto_graph_find(g, "a")->env[0], "COOPD_JOBS=1");
	proto_graph_free(g);
}
END_TEST

/* A document read back from the state store (proto_limits.stored) was
 * accepted when it was stored, perhaps by a coopd that did not reserve
 * COOPD_JOB yet: it stays readable (its settled graph's status, its
 * reload after a restart).  The default limits are not that. */
START_TEST(test_env_marker_stored)
{
	static const char text[] = "{\"nodes\":[{\"id\":\"a\",\"kind\":\"exec\",\"argv\":"
				   "[\"x\"],\"env\":{\"COOPD_JOB\":\"deadbeefdeadbeef/1\"}}]}";
	struct proto_limits lim;
	struct proto_graph *g = NULL;
	struct proto_error err;

	proto_limits_default(&lim);
	ck_assert(!lim.stored);
	ck_assert_int_eq(proto_graph_parse_text(text, strlen(text), &lim, &g, &err), -EINVAL);
	ck_assert_str_eq(err.path, "nodes[0].env.COOPD_JOB");
	lim.stored = true;
	ck_assert_int_eq(proto_graph_parse_text(text, strlen(text), &lim, &g, &err), 0);
	ck_assert_str_eq(proto_graph_find(g, "a")->env[0], "COOPD_JOB=deadbeefdeadbeef/1");
	proto_graph_free(g);
}
END_TEST

static Suite *graph_suite(void)
{
	Suite *s = suite_create("proto-graph");
	TCase *corpus = tcase_create("corpus");
	TCase *tree = tcase_create("tree");
	TCase *limits = tcase_create("limits");

	tcase_add_test(corpus, test_corpus_size);
	tcase_add_loop_test(corpus, test_bad_corpus, 0, (int)bad.n);
	tcase_add_loop_test(corpus, test_good_corpus, 0, (int)good.n);
	tcase_add_loop_test(corpus, test_examples, 0, (int)examples.n);
	suite_add_tcase(s, corpus);

	tcase_add_test(tree, test_etl_tree);
	tcase_add_test(tree, test_find_indexed);
	tcase_add_test(tree, test_all_fields_tree);
	tcase_add_test(tree, test_retries_limits_tree);
	tcase_add_test(tree, test_slurm_placement_tree);
	tcase_add_test(tree, test_find_and_walk);
	tcase_add_test(tree, test_walk);
	tcase_add_test(tree, test_names);
	tcase_add_test(tree, test_canonical_encoding);
	tcase_add_test(tree, test_submit_request);
	tcase_add_test(tree, test_reason_escaping);
	tcase_add_test(tree, test_env_marker_reserved);
	tcase_add_test(tree, test_env_marker_stored);
	suite_add_tcase(s, tree);

	tcase_add_test(limits, test_node_limit);
	tcase_add_test(limits, test_depth_limit);
	tcase_add_test(limits, test_depth_64_default);
	tcase_add_test(limits, test_depth_limit_in_request);
	tcase_add_test(limits, test_json_too_deep);
	tcase_add_test(limits, test_wide_graph);
	tcase_add_test(limits, test_parse_api_misuse);
	tcase_set_timeout(limits, 120);
	suite_add_tcase(s, limits);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	list_json(&bad, "tests/data/graphs-bad");
	list_json(&good, "tests/data/graphs-good");
	list_json(&examples, "examples/graphs");
	sr = srunner_create(graph_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	filelist_free(&bad);
	filelist_free(&good);
	filelist_free(&examples);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
