/*
 * client-dot.c - a graph's status as Graphviz source (`coopctl status ID
 * --format dot`).
 *
 * Every node of the graph becomes one Graphviz node whose id is its path
 * ("load/primary"), so the picture and `coopctl status` name things alike.
 * A scope is drawn as a cluster holding its children, plus one small node of
 * its own (id: its path) that stands for the scope as a whole: an `after`
 * edge to or from a scope ends on that node, clipped at the cluster's border
 * (compound=true with lhead/ltail), and an empty scope still shows.  The
 * root scope is the graph itself (its label, not a cluster).  Fill colours
 * follow the node's state, as in coopctl's coloured output; a legend lists
 * the states that occur.  Input is the daemon's status answer
 * (docs/protocol.md), read defensively like client-output.c does.
 */
#include "config.h"

#include "client-dot.h"

#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "client-output.h"
#include "proto-rpc.h"

/* Fill colours by state (light, so that black text stays readable). */
static const char *client_dot_fill(const char *state)
{
	static const struct {
		const char *state;
		const char *fill;
	} colors[] = {
		{"pending", "#ffffff"},   {"running", "#9ecbff"},     {"cancelling", "#ffe08a"},
		{"succeeded", "#a8e6a1"}, {"failed", "#ff9b9b"},      {"cancelled", "#ffc178"},
		{"skipped", "#d9d9d9"},   {"interrupted", "#d9a3ff"},
	};

	for (size_t i = 0; state && i < sizeof(colors) / sizeof(colors[0]); i++)
		if (strcmp(colors[i].state, state) == 0)
			return colors[i].fill;
	return "#ffffff";
}

static struct json_object *client_dot_kids(struct json_object *node)
{
	struct json_object *v = output_get(node, "nodes");

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

/* Writes s inside a DOT double-quoted string: quotes and backslashes
 * escaped, control characters shown as '?' (ids are plain ASCII, but names
 * and error texts come from users). */
static void client_dot_put(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fputc('\\', out);
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, out);
	}
}

/* The path of a child: the parent's path (empty for the root) / id. */
static void client_dot_id(FILE *out, const char *parent, const char *id)
{
	fputc('"', out);
	if (parent && *parent) {
		client_dot_put(out, parent);
		fputc('/', out);
	}
	client_dot_put(out, id);
	fputc('"', out);
}

/* The second label line: kind, state and what is worth a glance. */
static void client_dot_detail(FILE *out, struct json_object *node)
{
	const char *kind = output_str(node, "kind"), *state = output_str(node, "state");
	struct json_object *v;

	fprintf(out, "\\n%s", kind ? kind : "?");
	fputs(" · ", out);
	client_dot_put(out, state ? state : "?");
	if ((v = output_get(node, "exit_code")) && json_object_is_type(v, json_type_int))
		fprintf(out, " (exit %d)", (int)json_object_get_int64(v));
	else if ((v = output_get(node, "signal")) && json_object_is_type(v, json_type_int))
		fprintf(out, " (signal %d)", (int)json_object_get_int64(v));
	if ((v = output_get(output_get(node, "cancel"), "reason")) &&
	    json_object_is_type(v, json_type_string)) {
		fputs("\\ncancel: ", out);
		client_dot_put(out, json_object_get_string(v));
	}
}

static void client_dot_indent(FILE *out, int depth)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", out);
}

static void client_dot_nodes(FILE *out, struct json_object *scope, const char *path, int depth);

/* One node: a box, or for a scope a cluster with its anchor and children. */
static void client_dot_node(FILE *out, struct json_object *node, const char *parent, int depth)
{
	const char *id = output_str(node, "id"), *kind = output_str(node, "kind"),
		   *state = output_str(node, "state"), *path = output_str(node, "path");
	bool scope = kind && strcmp(kind, "scope") == 0;
	char fallback[1024];

	if (!id || !*id)
		return;
	if (!path) {
		/* An answer without paths: build them as the daemon does. */
		snprintf(fallback, sizeof(fallback), "%s%s%s", parent && *parent ? parent : "",
			 parent && *parent ? "/" : "", id);
		path = fallback;
	}
	if (scope) {
		client_dot_indent(out, depth);
		fputs("subgraph \"cluster_", out);
		client_dot_put(out, path);
		fputs("\" {\n", out);
		client_dot_indent(out, depth + 1);
		fputs("label=\"", out);
		client_dot_put(out, id);
		fputs("\"; style=\"rounded,filled\"; ", out);
		fprintf(out, "fillcolor=\"%s40\"; color=\"%s\";\n", client_dot_fill(state),
			strcmp(client_dot_fill(state), "#ffffff") == 0 ? "#888888"
								       : client_dot_fill(state));
	}
	client_dot_indent(out, depth + (scope ? 1 : 0));
	client_dot_id(out, NULL, path);
	fputs(" [label=\"", out);
	client_dot_put(out, id);
	client_dot_detail(out, node);
	fprintf(out, "\", fillcolor=\"%s\"%s];\n", client_dot_fill(state),
		scope ? ", shape=ellipse" : "");
	if (scope) {
		client_dot_nodes(out, node, path, depth + 1);
		client_dot_indent(out, depth);
		fputs("}\n", out);
	}
}

static void client_dot_nodes(FILE *out, struct json_object *scope, const char *path, int depth)
{
	struct json_object *kids = client_dot_kids(scope);

	for (size_t i = 0; kids && i < json_object_array_length(kids); i++)
		client_dot_node(out, json_object_array_get_idx(kids, i), path, depth);
}

static bool client_dot_is_scope(struct json_object *node)
{
	const char *kind = output_str(node, "kind");

	return kind && strcmp(kind, "scope") == 0;
}

/* The `after` edges of the children of scope, then of their children. */
static void client_dot_edges(FILE *out, struct json_object *scope, const char *path)
{
	struct json_object *kids = client_dot_kids(scope);
	size_t n = kids ? json_object_array_length(kids) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *kid = json_object_array_get_idx(kids, i);
		struct json_object *after = output_get(kid, "after");
		const char *id = output_str(kid, "id");

		if (!id)
			continue;
		for (size_t j = 0; after && json_object_is_type(after, json_type_array) &&
				   j < json_object_array_length(after);
		     j++) {
			struct json_object *dep = json_object_array_get_idx(after, j), *from = NULL;
			const char *dep_id = json_object_is_type(dep, json_type_string)
						     ? json_object_get_string(dep)
						     : NULL;

			for (size_t k = 0; dep_id && k < n; k++) {
				const char *sid =
					output_str(json_object_array_get_idx(kids, k), "id");
				if (sid && strcmp(sid, dep_id) == 0)
					from = json_object_array_get_idx(kids, k);
			}
			if (!from)
				continue;
			fputs("  ", out);
			client_dot_id(out, path, dep_id);
			fputs(" -> ", out);
			client_dot_id(out, path, id);
			/* A scope's edges stop at its cluster's border. */
			if (client_dot_is_scope(from) || client_dot_is_scope(kid)) {
				const char *sep = "";

				fputs(" [", out);
				if (client_dot_is_scope(from)) {
					fputs("ltail=\"cluster_", out);
					if (path && *path) {
						client_dot_put(out, path);
						fputc('/', out);
					}
					client_dot_put(out, dep_id);
					fputc('"', out);
					sep = ", ";
				}
				if (client_dot_is_scope(kid)) {
					fprintf(out, "%slhead=\"cluster_", sep);
					if (path && *path) {
						client_dot_put(out, path);
						fputc('/', out);
					}
					client_dot_put(out, id);
					fputc('"', out);
				}
				fputc(']', out);
			}
			fputs(";\n", out);
		}
		if (client_dot_is_scope(kid)) {
			char sub[4096];

			snprintf(sub, sizeof(sub), "%s%s%s", path && *path ? path : "",
				 path && *path ? "/" : "", id);
			client_dot_edges(out, kid, sub);
		}
	}
}

/* Which states occur, for the legend. */
static void client_dot_states(struct json_object *node, bool seen[PROTO_STATE__MAX])
{
	struct json_object *kids = client_dot_kids(node);
	const char *state = output_str(node, "state");
	int s = state ? proto_state_from_name(state) : -1;

	if (s >= 0 && s < PROTO_STATE__MAX)
		seen[s] = true;
	for (size_t i = 0; kids && i < json_object_array_length(kids); i++)
		client_dot_states(json_object_array_get_idx(kids, i), seen);
}

int client_dot_status(FILE *out, struct json_object *status)
{
	struct json_object *root = output_get(status, "root");
	const char *id = output_str(status, "id"), *name = output_str(status, "name"),
		   *state = output_str(status, "state");
	bool seen[PROTO_STATE__MAX] = {false};

	if (!root || !json_object_is_type(root, json_type_object))
		return -EINVAL;
	fputs("digraph \"", out);
	client_dot_put(out, id ? id : "graph");
	fputs("\" {\n", out);
	fputs("  label=\"", out);
	client_dot_put(out, id ? id : "?");
	if (name && *name) {
		fputs(" (", out);
		client_dot_put(out, name);
		fputc(')', out);
	}
	fputs(": ", out);
	client_dot_put(out, state ? state : "?");
	fputs("\"; labelloc=t; compound=true; rankdir=LR; fontname=\"Helvetica\";\n", out);
	fputs("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
	      "fontsize=10];\n",
	      out);
	fputs("  edge [color=\"#555555\"];\n", out);
	client_dot_nodes(out, root, "", 1);
	client_dot_edges(out, root, "");
	/* A legend of the states that occur, apart from the graph. */
	client_dot_states(root, seen);
	fputs("  subgraph \"cluster_legend\" {\n    label=\"states\"; style=dashed; "
	      "color=\"#aaaaaa\";\n",
	      out);
	for (int s = 0; s < PROTO_STATE__MAX; s++) {
		const char *sn = proto_state_name((enum proto_state)s);

		if (!seen[s] || !sn)
			continue;
		fprintf(out, "    \"legend:%s\" [label=\"%s\", fillcolor=\"%s\", shape=box];\n", sn,
			sn, client_dot_fill(sn));
	}
	fputs("  }\n}\n", out);
	return 0;
}
