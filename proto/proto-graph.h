/*
 * proto-graph.h - the job-graph codec (the format of coopd.graph(5)).
 *
 * proto_graph_parse() validates a whole graph document before anything
 * runs and turns it into a plain tree the daemon maps onto libcoop scopes
 * and jobs; proto_graph_encode() writes the tree back as a canonical
 * document (the daemon persists accepted graphs that way).  The codec knows
 * nothing of the executor: a node is data, not a task.
 *
 * Validation covers types, required and unknown fields, id syntax
 * ([A-Za-z0-9_.-]{1,64}), duplicate sibling ids, unknown or self `after`
 * targets, cycles among siblings, argv/env/cwd contents, builtin function
 * names and their args, number ranges (budget 1..2^31-1, times >= 0) and
 * the node-count and scope-depth limits.  The first error found is
 * reported with a path relative to the graph document, in the form the
 * daemon sends back as JSON-RPC error data: "nodes[2].after[0]",
 * "nodes[3].nodes[0].argv", "" for the document itself, and a reason such
 * as "unknown sibling 'lod'" or "cycle a -> b -> a".  Limit errors use code
 * PROTO_ERR_LIMIT, all others PROTO_ERR_INVALID_PARAMS.
 *
 * Task and blocking functions.  The builtins of coopd.graph(5) are decoded
 * into `fn` and the `args` union below, with their args checked strictly
 * (unknown keys, types, ranges).  The args object itself is kept too
 * (`args_json`, a reference; NULL when absent) so later plugin functions
 * can read theirs; for builtins the decoded values are authoritative.
 *
 * Ownership: the tree and all its strings belong to the struct proto_graph
 * and go with proto_graph_free(); nodes never outlive it.  Node ids and
 * paths are packed in a few large blocks rather than allocated one by
 * one, and a child of the root shares one string for both (its path is
 * its id): never free or change them.  A parsed graph
 * is read-only and may be read from several threads at once.
 */
#ifndef COOPD_PROTO_GRAPH_H
#define COOPD_PROTO_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto-rpc.h"

struct json_object;

enum proto_node_kind {
	PROTO_NODE_EXEC,
	PROTO_NODE_TASK,
	PROTO_NODE_BLOCKING,
	PROTO_NODE_SCOPE,
};

enum proto_policy {
	PROTO_POLICY_FAIL_FAST,
	PROTO_POLICY_ALL_SETTLED,
	PROTO_POLICY_RACE,
};

/* Builtin functions of task and blocking nodes. */
enum proto_fn {
	PROTO_FN_NOOP,  /* task, blocking: {} */
	PROTO_FN_SLEEP, /* task: {ms}; blocking: {ms, ignore_cancel?} */
	PROTO_FN_SPIN,  /* task: {units} */
	PROTO_FN_FAIL,  /* task: {message?} */
};

/* Resource limits of an exec job (coopd.graph(5), `limits`): resolved at
 * parse time key by key down the tree, a node's own keys over its
 * scope's, the scope's over the scopes above it (the root included).  A field not set is -1
 * (cpu_max: 0).  memory_max, cpu_max and pids_max go to the job's cgroup; nofile and cpu_seconds
 * are rlimits. */
struct proto_job_limits {
	int64_t memory_max;  /* bytes */
	int64_t pids_max;    /* processes */
	int64_t nofile;      /* RLIMIT_NOFILE */
	int64_t cpu_seconds; /* RLIMIT_CPU */
	double cpu_max;      /* CPUs (1.5: one and a half) */
};

/* Most retries a node may ask for, and the bounds of retry_backoff. */
#define PROTO_MAX_RETRIES 100
#define PROTO_DEFAULT_RETRY_DELAY_MS 1000
#define PROTO_MAX_RETRY_BACKOFF 10.0
/* Where an exec node runs (coopd.graph(5) "Placement", docs/slurm.md). */
enum proto_placement {
	PROTO_PLACEMENT_LOCAL,
	PROTO_PLACEMENT_SLURM,
};

/* Bits of struct proto_slurm.own: the options given on a node itself. */
enum {
	PROTO_SLURM_PARTITION = 1u << 0,
	PROTO_SLURM_ACCOUNT = 1u << 1,
	PROTO_SLURM_QOS = 1u << 2,
	PROTO_SLURM_TIME = 1u << 3,
	PROTO_SLURM_CPUS_PER_TASK = 1u << 4,
	PROTO_SLURM_MEM = 1u << 5,
	PROTO_SLURM_GRES = 1u << 6,
	PROTO_SLURM_CONSTRAINT = 1u << 7,
	PROTO_SLURM_NODES = 1u << 8,
};

#define PROTO_SLURM_OPT_MAX 256u /* bytes of one string option */

/* Per-job Slurm options, named after sbatch's long options.  A string is
 * NULL and a number 0 when not given.  A node's options are its own merged
 * over those of its scopes (the nearest scope's value wins); `own` says
 * which were the node's own (the encoder writes only those). */
struct proto_slurm {
	char *partition, *account, *qos, *time, *mem, *gres, *constraint;
	int64_t cpus_per_task, nodes;
	unsigned own;
};

/* Fields are ordered by size (no padding holes): a flat graph has one of
 * these per node. */
struct proto_node {
	char *id;                  /* "" for the root scope */
	char *path;                /* "load/primary"; "/" for the root scope */
	struct proto_node *parent; /* NULL for the root scope */
	size_t index;              /* position among its siblings */

	/* Dependencies: indexes into parent->children, in document order,
	 * without duplicates (a repeated id is accepted once). */
	size_t *after;
	size_t n_after;

	int64_t timeout_ms; /* exec, task, blocking; -1: none (each attempt's) */
	/* Retries (exec, task): up to `retries` more attempts after a failed
	 * or timed-out one, the first after retry_delay_ms, each later one
	 * after the previous delay times retry_backoff. */
	int64_t retry_delay_ms; /* default PROTO_DEFAULT_RETRY_DELAY_MS */
	double retry_backoff;   /* 1 .. PROTO_MAX_RETRY_BACKOFF, default 1 */
	/* exec: resolved limits, NULL none; scope: its own `limits` (the
	 * default of the exec nodes below), NULL none.  Owned. */
	struct proto_job_limits *limits;

	/* exec */
	char **argv; /* n_argv >= 1 items plus a NULL */
	size_t n_argv;
	char **env; /* "KEY=VALUE" items plus a NULL; n_env may be 0 */
	size_t n_env;
	char *cwd;        /* NULL: the daemon's choice */
	int64_t grace_ms; /* default PROTO_DEFAULT_GRACE_MS */

	/* task, blocking */
	char *fn_name;
	struct json_object *args_json; /* reference, NULL when absent */
	union {
		struct {
			int64_t ms;
			bool ignore_cancel; /* blocking only */
		} sleep;
		struct {
			int64_t units; /* 0 .. 2^63-1 */
		} spin;
		struct {
			char *message; /* never NULL */
		} fail;
	} args;

	/* scope (the root scope included) */
	int64_t deadline_ms;         /* -1: none */
	struct proto_node *children; /* array of n_children nodes */
	size_t n_children;
	/* Children in an order where every node comes after its `after`
	 * targets (indexes into children). */
	size_t *topo;
	/* Indexes into children sorted by id, for proto_graph_find in a
	 * scope of PROTO_FIND_INDEX_MIN children or more (NULL below);
	 * 32 bits: max_nodes is at most 10^8. */
	uint32_t *by_id;

	/* exec: resolved Slurm options (placement slurm; NULL: none at all);
	 * scope: the options it gives the exec nodes below it, NULL none. */
	struct proto_slurm *slurm;

	enum proto_node_kind kind;
	unsigned depth;           /* root 1, a child one more than its parent */
	enum proto_fn fn;         /* task, blocking */
	enum proto_policy policy; /* scope: default fail_fast */
	uint32_t max_parallel;    /* scope: 0: unlimited */
	uint32_t budget;          /* scope: resolved: own, else the parent's, else 128 */
	uint8_t retries;          /* exec, task: 0 .. PROTO_MAX_RETRIES */
	bool always;              /* runs whatever its dependencies did; shielded */
	uint8_t placement;        /* enum proto_placement: exec: where it runs; scope: the
				     default below it (own, else the parent's) */
	bool placement_own;       /* "placement" given on this node itself */
};

struct proto_graph {
	char *name;                    /* "" when absent */
	struct proto_node root;        /* kind PROTO_NODE_SCOPE */
	size_t n_nodes;                /* all nodes but the root */
	unsigned max_depth;            /* depth of the deepest scope node, root = 1 */
	struct proto_strings *strings; /* private: where ids and paths live */
};

/* Validates doc (borrowed; a JSON object) and builds the tree into *ret.
 * lim may be NULL for the defaults (max_nodes, max_scope_depth are used).
 * Returns 0, or -EINVAL / -E2BIG with err filled (path relative to doc),
 * or -ENOMEM (err code PROTO_ERR_INTERNAL).  Nothing is left allocated on
 * failure. */
int proto_graph_parse(struct json_object *doc, const struct proto_limits *lim,
		      struct proto_graph **ret, struct proto_error *err);

/* The same from text (a file read by coopctl or the daemon's state).  JSON
 * syntax errors are PROTO_ERR_PARSE with the byte offset in the reason. */
int proto_graph_parse_text(const char *text, size_t len, const struct proto_limits *lim,
			   struct proto_graph **ret, struct proto_error *err);

void proto_graph_free(struct proto_graph *g);

/* Writes doc (a graph document as proto_graph_parse() takes it, a compact
 * stand-in included) as compact JSON through out(), in pieces; stops at
 * and returns out()'s first negative value, else 0 (-ENOMEM if json-c
 * cannot serialise). */
int proto_graph_doc_write(struct json_object *doc, int (*out)(void *ctx, const char *p, size_t len),
			  void *ctx);

/* Writes the canonical document: every default made explicit (policy,
 * budget, grace_ms), absent optionals left out.  Parsing the result gives
 * an equal tree.  *ret owned.  Returns 0 or -ENOMEM. */
int proto_graph_encode(const struct proto_graph *g, struct json_object **ret);

/* Finds a node by path ("/" or "" for the root, "load/primary", a leading
 * '/' allowed).  Returns NULL when there is none. */
#define PROTO_FIND_INDEX_MIN 16
const struct proto_node *proto_graph_find(const struct proto_graph *g, const char *path);

/* Calls fn for every node, parents before children, the root first; stops
 * and returns fn's value when it is non-zero. */
int proto_graph_walk(const struct proto_graph *g,
		     int (*fn)(const struct proto_node *node, void *userdata), void *userdata);

const char *proto_node_kind_name(enum proto_node_kind k);
const char *proto_policy_name(enum proto_policy p);
const char *proto_fn_name(enum proto_fn f);
const char *proto_placement_name(enum proto_placement p);

#endif /* COOPD_PROTO_GRAPH_H */
