/*
 * suite-proto-jtree.c - Check suite for the compact JSON tree
 * (proto-jtree.h) and the `submit` path that uses it
 * (PROTO_REQ_COMPACT_GRAPH).
 *
 * The promise under test: reading a graph through the compact tree gives
 * exactly what reading it through json-c gives, the same tree or the same
 * error (code, path, reason), for every document of the good and bad
 * corpora, whether it comes as text, as a json-c document or inside a
 * submit request; and whatever the compact parser refuses falls back to
 * json-c with json-c's verdict.
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
#include "proto-jtree.h"
#include "proto-rpc.h"
#include "test-proto.h"

/* All *.json of the corpora, as "dir/name.json" paths. */
static char *files[512];
static size_t n_files;

static void list_dir(const char *sub)
{
	char dir[1024];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", srcdir(), sub);
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "cannot open %s\n", dir);
		exit(EXIT_FAILURE);
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[2048];

		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n_files == 512 || !(files[n_files] = strdup(path))) {
			fprintf(stderr, "too many files\n");
			exit(EXIT_FAILURE);
		}
		n_files++;
	}
	closedir(d);
}

/* The outcome of one way of reading a graph. */
struct verdict {
	int r;
	struct proto_error err;
	struct json_object *canon; /* canonical encoding when accepted */
};

static void verdict_of(struct verdict *v, int r, struct proto_graph *g,
		       const struct proto_error *err)
{
	v->r = r;
	v->err = *err;
	v->canon = NULL;
	if (r == 0) {
		ck_assert_int_eq(proto_graph_encode(g, &v->canon), 0);
		proto_graph_free(g);
	}
}

static void verdict_same(const struct verdict *a, const struct verdict *b, const char *what,
			 const char *file)
{
	ck_assert_msg(a->r == b->r, "%s: %s: r %d vs %d", file, what, a->r, b->r);
	if (a->r == 0) {
		ck_assert_msg(json_object_equal(a->canon, b->canon), "%s: %s: trees differ", file,
			      what);
		return;
	}
	ck_assert_msg(a->err.code == b->err.code, "%s: %s: code %d vs %d", file, what, a->err.code,
		      b->err.code);
	ck_assert_msg(strcmp(a->err.path, b->err.path) == 0, "%s: %s: path '%s' vs '%s'", file,
		      what, a->err.path, b->err.path);
	ck_assert_msg(strcmp(a->err.reason, b->err.reason) == 0, "%s: %s: reason '%s' vs '%s'",
		      file, what, a->err.reason, b->err.reason);
}

/* json-c as proto__parse() configures it: strict, UTF-8 checked. */
static struct json_object *strict_parse(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(1000);
	struct json_object *o;

	ck_assert_ptr_nonnull(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* A submit request line carrying text as its graph. */
static char *submit_line(const char *text, size_t len, size_t *ret_len)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"submit\","
				   "\"params\":{\"graph\":";
	char *line = malloc(sizeof(head) + len + 8);

	ck_assert_ptr_nonnull(line);
	memcpy(line, head, sizeof(head) - 1);
	memcpy(line + sizeof(head) - 1, text, len);
	memcpy(line + sizeof(head) - 1 + len, "}}", 3);
	*ret_len = sizeof(head) - 1 + len + 2;
	return line;
}

/* Every corpus document: text (compact tree first), json-c document, and a
 * compact submit request all agree. */
START_TEST(test_corpus_same_verdicts)
{
	const char *file = files[_i];
	struct verdict text_v, dom_v, req_v;
	struct proto_graph *g = NULL;
	struct proto_error err;
	struct json_object *doc;
	struct proto_request req;
	struct proto_submit_params sp;
	size_t len, llen;
	char *text = read_file(file, &len), *line;
	int r;

	r = proto_graph_parse_text(text, len, NULL, &g, &err);
	verdict_of(&text_v, r, g, &err);
	doc = strict_parse(text, len);
	if (!doc || !json_object_is_type(doc, json_type_object)) {
		/* Not JSON (or not an object): only the text path applies. */
		ck_assert_int_lt(text_v.r, 0);
		json_object_put(doc);
		free(text);
		return;
	}
	g = NULL;
	r = proto_graph_parse(doc, NULL, &g, &err);
	verdict_of(&dom_v, r, g, &err);
	verdict_same(&text_v, &dom_v, "text vs json-c document", file);

	line = submit_line(text, len, &llen);
	ck_assert_int_eq(
		proto_request_parse_ex(line, llen, NULL, PROTO_REQ_COMPACT_GRAPH, &req, &err), 0);
	ck_assert_int_eq(req.method_id, PROTO_M_SUBMIT);
	ck_assert_int_eq(proto_submit_params_decode(req.params, &sp, &err), 0);
	g = NULL;
	r = proto_graph_parse(sp.graph, NULL, &g, &err);
	verdict_of(&req_v, r, g, &err);
	verdict_same(&text_v, &req_v, "text vs compact request", file);

	/* The stand-in serialises as the document (what the store writes). */
	{
		size_t blen;
		const char *btext =
			json_object_to_json_string_length(sp.graph, JSON_C_TO_STRING_PLAIN, &blen);
		struct json_object *back = strict_parse(btext, blen);

		ck_assert_msg(json_object_equal(back, doc), "%s: serialised graph differs", file);
		json_object_put(back);
	}
	proto_request_free(&req);
	json_object_put(text_v.canon);
	json_object_put(dom_v.canon);
	json_object_put(req_v.canon);
	json_object_put(doc);
	free(line);
	free(text);
}
END_TEST

/* Repeated keys: json-c's rule (last value, first place), same errors. */
START_TEST(test_repeated_keys)
{
	const char *text =
		"{\"b\":1,\"a\":\"x\",\"b\":[true,null,-5,1.5e3,\"\\u00e9\\ud83d\\ude00\"]}";
	struct jtree_doc *d = NULL;
	struct json_object *mine, *ref;

	ck_assert_int_eq(jtree_parse(text, strlen(text), 16, &d), 0);
	ck_assert_uint_eq(jtree_root(d)->len, 2);
	ck_assert_str_eq(jtree_root(d)->u.members[0].key, "b");
	ck_assert_int_eq(jtree_get(jtree_root(d), "b")->type, JTREE_ARRAY);
	mine = jtree_to_json(jtree_root(d));
	ref = json_tokener_parse(text);
	ck_assert(json_object_equal(mine, ref));
	ck_assert_str_eq(json_object_to_json_string_ext(mine, JSON_C_TO_STRING_PLAIN),
			 json_object_to_json_string_ext(ref, JSON_C_TO_STRING_PLAIN));
	json_object_put(mine);
	json_object_put(ref);
	jtree_doc_free(d);
}
END_TEST

static int collect(void *ctx, const char *p, size_t len)
{
	strncat(ctx, p, len);
	return 0;
}

/* The writer gives JSON that reads back to the same values. */
START_TEST(test_write_round_trip)
{
	const char *text =
		" { \"s\" : \"q\\\"b\\\\c\\n\\u0001\\u0000z\", \"n\":[18446744073709551615,"
		"-9223372036854775808, 0, -0, 2.50E-3], \"o\":{}, \"a\":[] } ";
	char out[512] = "";
	struct jtree_doc *d = NULL, *d2 = NULL;
	struct json_object *a, *b;

	ck_assert_int_eq(jtree_parse(text, strlen(text), 16, &d), 0);
	ck_assert_uint_eq(jtree_get(jtree_root(d), "s")->len, 9);
	ck_assert_int_eq(jtree_write(jtree_root(d), collect, out), 0);
	ck_assert_int_eq(jtree_parse(out, strlen(out), 16, &d2), 0);
	a = jtree_to_json(jtree_root(d));
	b = json_tokener_parse(text);
	ck_assert(json_object_equal(a, b));
	json_object_put(a);
	a = jtree_to_json(jtree_root(d2));
	ck_assert(json_object_equal(a, b));
	json_object_put(a);
	json_object_put(b);
	jtree_doc_free(d);
	jtree_doc_free(d2);
}
END_TEST

/* What the compact parser refuses (json-c then decides). */
START_TEST(test_refusals)
{
	static const char *const bad[] = {
		"",
		"{",
		"{\"a\":1,}",
		"[1 2]",
		"{\"a\":01}",
		"{\"a\":1.}",
		"{\"a\":\"\\ud800\"}", /* lone surrogate */
		"{\"a\":\"\\x\"}",
		"{\"a\":\"\xc0\xaf\"}",         /* overlong UTF-8 */
		"{\"a\":\"\t\"}",               /* raw control character */
		"{\"a\\u0000b\":1}",            /* NUL in a key */
		"{\"a\":18446744073709551616}", /* beyond uint64 */
		"{\"a\":-9223372036854775809}",
		"[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]", /* deeper than 16 */
		"{} x",
		"nul",
	};
	struct jtree_doc *d = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(jtree_parse(bad[i], strlen(bad[i]), 16, &d) == -EINVAL, "accepted %s",
			      bad[i]);
	ck_assert_ptr_null(d);
}
END_TEST

/* A request the compact parser refuses still works, through json-c. */
START_TEST(test_fallback_request)
{
	const char *line =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"submit\",\"params\":{\"graph\":"
		"{\"name\":\"\\udfff\",\"nodes\":[]}}}";
	struct proto_request req;
	struct proto_submit_params sp;
	struct proto_graph *g = NULL;
	struct proto_error err;

	ck_assert_int_eq(proto_request_parse_ex(line, strlen(line), NULL, PROTO_REQ_COMPACT_GRAPH,
						&req, &err),
			 0);
	ck_assert_int_eq(proto_submit_params_decode(req.params, &sp, &err), 0);
	ck_assert_ptr_null(jtree_of_json(sp.graph));
	ck_assert_int_eq(json_object_object_length(sp.graph), 2);
	ck_assert_int_eq(proto_graph_parse(sp.graph, NULL, &g, &err), 0);
	proto_graph_free(g);
	proto_request_free(&req);
}
END_TEST

/* A wide graph through the compact request: the stand-in holds no json-c
 * members, the tree is complete, and the envelope is intact. */
START_TEST(test_wide_submit)
{
	size_t n = 20000, cap = 64 * n + 256, o = 0;
	char *text = malloc(cap), *line;
	struct proto_request req;
	struct proto_submit_params sp;
	struct proto_graph *g = NULL;
	struct proto_error err;
	size_t llen;

	ck_assert_ptr_nonnull(text);
	o += (size_t)snprintf(text, cap, "{\"name\":\"wide\",\"nodes\":[");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "%s{\"id\":\"n%zu\",\"kind\":\"task\",\"fn\":\"noop\"}",
				      i ? "," : "", i);
	o += (size_t)snprintf(text + o, cap - o, "]}");
	line = submit_line(text, o, &llen);
	ck_assert_int_eq(
		proto_request_parse_ex(line, llen, NULL, PROTO_REQ_COMPACT_GRAPH, &req, &err), 0);
	ck_assert(req.has_id);
	ck_assert_int_eq(json_object_get_int(req.id), 7);
	ck_assert_int_eq(proto_submit_params_decode(req.params, &sp, &err), 0);
	ck_assert_ptr_nonnull(jtree_of_json(sp.graph));
	ck_assert_int_eq(json_object_object_length(sp.graph), 0);
	ck_assert_int_eq(proto_graph_parse(sp.graph, NULL, &g, &err), 0);
	ck_assert_uint_eq(g->n_nodes, n);
	ck_assert_str_eq(g->name, "wide");
	ck_assert_str_eq(g->root.children[n - 1].path, "n19999");
	ck_assert_str_eq(g->root.children[n - 1].fn_name, "noop");
	proto_graph_free(g);
	proto_request_free(&req);
	free(line);
	free(text);
}
END_TEST

/* Mutated corpus documents (fixed seed): whatever the compact parser
 * accepts, strict json-c accepts too, with the same values; it never
 * crashes (this suite also runs under ASan). */
START_TEST(test_mutations_never_more_permissive)
{
	static const char alphabet[] = "{}[]\",:0123456789.eE+-tfnul \\\x80\xc3\xa9\x00";
	size_t len;
	char *text = read_file(files[_i], &len), *m = malloc(len + 8);
	uint32_t seed = 2166136261u ^ (uint32_t)_i;

	ck_assert_ptr_nonnull(m);
	for (int round = 0; round < 300; round++) {
		struct jtree_doc *d = NULL;
		size_t mlen = len;

		memcpy(m, text, len);
		for (int k = 0; k < 1 + round % 3 && mlen > 0; k++) {
			size_t at;

			seed = seed * 1664525u + 1013904223u;
			at = (seed >> 8) % mlen;
			seed = seed * 1664525u + 1013904223u;
			switch (seed % 3) {
			case 0: /* replace */
				m[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* delete */
				memmove(m + at, m + at + 1, mlen - at - 1);
				mlen--;
				break;
			default: /* insert */
				memmove(m + at + 1, m + at, mlen - at);
				m[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
				mlen++;
				break;
			}
		}
		if (jtree_parse(m, mlen, 1000, &d) == 0) {
			struct json_object *mine = jtree_to_json(jtree_root(d));
			struct json_object *ref =
				memchr(m, '\0', mlen) ? NULL : strict_parse(m, mlen);

			ck_assert_msg(ref != NULL || jtree_root(d)->type == JTREE_NULL,
				      "%s round %d: accepted what json-c refuses", files[_i],
				      round);
			ck_assert_msg(json_object_equal(mine, ref), "%s round %d: values differ",
				      files[_i], round);
			json_object_put(mine);
			json_object_put(ref);
			jtree_doc_free(d);
		}
	}
	free(m);
	free(text);
}
END_TEST

static Suite *jtree_suite(void)
{
	Suite *s = suite_create("proto-jtree");
	TCase *corpus = tcase_create("corpus");
	TCase *unit = tcase_create("unit");

	tcase_add_loop_test(corpus, test_corpus_same_verdicts, 0, (int)n_files);
	tcase_add_loop_test(corpus, test_mutations_never_more_permissive, 0, (int)n_files);
	suite_add_tcase(s, corpus);
	tcase_add_test(unit, test_repeated_keys);
	tcase_add_test(unit, test_write_round_trip);
	tcase_add_test(unit, test_refusals);
	tcase_add_test(unit, test_fallback_request);
	tcase_add_test(unit, test_wide_submit);
	suite_add_tcase(s, unit);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	list_dir("tests/data/graphs-bad");
	list_dir("tests/data/graphs-good");
	list_dir("examples/graphs");
	qsort(files, n_files, sizeof(char *), cmp_str);
	if (n_files < 30) {
		fprintf(stderr, "corpus too small: %zu files\n", n_files);
		return EXIT_FAILURE;
	}
	sr = srunner_create(jtree_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < n_files; i++)
		free(files[i]);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
