/*
 * proto-jtree.h - a compact, read-only JSON tree for large documents
 * (internal to proto/; daemon/ and client/ must not include it).
 *
 * Why not json-c: a json-c object carries a 16-slot hash table from its
 * first key, so a three-key job node costs ~1 KiB of heap, and a
 * 100,000-node graph ~100 MB before a single node is built.  Here every
 * value is 16 bytes, an object member 32, all of them in a few large
 * arena blocks, and strings are decoded in place in one copy of the text
 * (NUL-terminated, with their byte length beside).  The job-graph
 * validator (proto-graph.c) reads only this tree.
 *
 * The parser is strict RFC 8259 with UTF-8 validation, iterative (no
 * recursion), and deliberately never more permissive than the json-c
 * tokener that proto__parse() configures: anything unusual (a repeated key
 * in a large object, an integer beyond uint64, a lone surrogate escape, a
 * NUL in a key, depth at the limit) is refused, and callers then take the
 * json-c path, whose verdict and error text stay the reference.  A
 * repeated key in a small object keeps json-c's rule: the last value wins,
 * at the place of the first.
 */
#ifndef COOPD_PROTO_JTREE_H
#define COOPD_PROTO_JTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum jtree_type {
	JTREE_NULL,
	JTREE_BOOL,
	JTREE_INT,    /* int64; JTREE_F_UINT: a value above INT64_MAX in u.u */
	JTREE_DOUBLE, /* u.s: the number's text (len bytes, not terminated) */
	JTREE_STRING, /* u.s: decoded, NUL-terminated; len bytes (may hold NULs) */
	JTREE_ARRAY,  /* u.items[len] */
	JTREE_OBJECT, /* u.members[len], document order, keys unique */
};

#define JTREE_F_UINT 1u

struct jtree_member;

struct jtree {
	uint8_t type; /* enum jtree_type */
	uint8_t flags;
	uint32_t len;
	union {
		int64_t i;
		uint64_t u;
		bool b;
		const char *s;
		const struct jtree *items;
		const struct jtree_member *members;
	} u;
};

struct jtree_member {
	const char *key; /* NUL-terminated, no NUL inside */
	struct jtree val;
};

struct jtree_doc;

/* Parses text (len bytes; a copy is taken) with containers nested at most
 * max_depth - 1 deep.  Returns 0, -EINVAL (syntax, or something refused
 * as described above: take the json-c path) or -ENOMEM. */
int jtree_parse(const char *text, size_t len, unsigned max_depth, struct jtree_doc **ret);
const struct jtree *jtree_root(const struct jtree_doc *doc);
void jtree_doc_free(struct jtree_doc *doc);

/* The member of obj named key, or NULL. */
const struct jtree *jtree_get(const struct jtree *obj, const char *key);

/* A json-c copy of v (for small parts: envelopes, plugin args), or NULL
 * on ENOMEM. */
struct json_object *jtree_to_json(const struct jtree *v);

/* Writes v as compact JSON through out(); stops at and returns out()'s
 * first negative value, else 0. */
int jtree_write(const struct jtree *v, int (*out)(void *ctx, const char *p, size_t len), void *ctx);

/* A json-c object standing for a parsed document (doc, taken over): an
 * empty object to json-c's eyes, which serialises as doc's JSON text and
 * frees doc with its last reference.  proto_graph_parse() sees through it
 * (jtree_of_json).  NULL on ENOMEM (doc freed). */
struct json_object *jtree_wrap_json(struct jtree_doc *doc, const struct jtree *v);
/* The tree wrapped in obj by jtree_wrap_json(), or NULL for any other
 * json-c object. */
const struct jtree *jtree_of_json(struct json_object *obj);

#endif /* COOPD_PROTO_JTREE_H */
