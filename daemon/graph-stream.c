/*
 * graph-stream.c - a resumable renderer of the status answer.
 *
 * The status of a 100,000-node graph is some 20 MB of JSON; rendered
 * whole it held the loop for seconds and, for a client that pipelines
 * requests without reading, sat in memory once per request (issue 15).
 * Here the answer is made in pieces: a pre-order walk of the node tree
 * with an explicit stack (one entry per open scope: which child comes
 * next), so the connection (server-stream.c) asks for the next ~64 KiB
 * only when its unsent output has drained.  The text is byte for byte
 * that of graph_render_status().
 *
 * The graph is pinned meanwhile (graph-model.h): its tree is not released
 * when it settles or its `wait`s are answered, and `remove` or retention
 * leave the freeing to the stream.  A graph that is still running is
 * rendered as it is when each piece is made (its shape never changes);
 * the polls and forced yields of its nodes are those of one snapshot taken
 * at the start (graph_stats_snapshot), so that a scope's figures are the
 * sums of its children's in the same answer.
 */
#include "config.h"

#include <stdlib.h>

#include "graph-model.h"
#include "graph-stream.h"

struct frame {
	const struct rnode *n; /* an open scope */
	size_t next;           /* its child to render next */
};

struct graph_stream {
	struct graph *g;
	uint64_t *snap; /* live stats of an active graph, taken at the start */
	struct frame *stack;
	size_t depth, cap;
	bool started, done;
};

struct graph_stream *graph_stream_new(struct graph *g)
{
	struct graph_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->g = g;
	st->snap = graph_stats_snapshot(g);
	g->pins++;
	return st;
}

/* Renders n; a scope stays open on the stack.  False: out of memory. */
static bool stream_open(struct graph_stream *st, const struct rnode *n, struct strbuf *sb)
{
	graph_render_node_open(n, st->snap, sb);
	if (n->def->kind != PROTO_NODE_SCOPE)
		return true;
	if (st->depth == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct frame *s = realloc(st->stack, cap * sizeof(*s));

		if (!s)
			return false;
		st->stack = s;
		st->cap = cap;
	}
	st->stack[st->depth++] = (struct frame){.n = n, .next = 0};
	return true;
}

bool graph_stream_next(struct graph_stream *st, struct strbuf *sb, size_t budget)
{
	if (st->done)
		return true;
	if (!st->started) {
		st->started = true;
		graph_render_status_head(st->g, sb);
		if (!stream_open(st, st->g->root, sb))
			sb->oom = true;
	}
	while (st->depth > 0 && sb->len < budget && !sb->oom) {
		struct frame *f = &st->stack[st->depth - 1];

		if (f->next < f->n->def->n_children) {
			if (f->next)
				sb_putc(sb, ',');
			if (!stream_open(st, &f->n->kids[f->next++], sb))
				sb->oom = true;
		} else {
			sb_puts(sb, "]}");
			st->depth--;
		}
	}
	if (st->depth == 0 && !sb->oom) {
		sb_putc(sb, '}');
		st->done = true;
	}
	return st->done;
}

void graph_stream_free(struct graph_stream *st)
{
	struct graph *g;

	if (!st)
		return;
	g = st->g;
	free(st->stack);
	free(st->snap);
	free(st);
	graph_unpin(g);
}
