/*
 * graph-stream.h - the status answer of a graph rendered a piece at a
 * time (graph-stream.c), so that a big graph's answer is made only as fast
 * as its client reads it.
 */
#ifndef COOPD_GRAPH_STREAM_H
#define COOPD_GRAPH_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "util-strbuf.h"

struct graph;
struct graph_stream;

/* Starts the full status answer of g (its tree must be in memory) and pins
 * g (graph-model.h: pins) until graph_stream_free().  NULL: out of memory. */
struct graph_stream *graph_stream_new(struct graph *g);
/* Appends the next part of the answer to sb, stopping at the first node
 * boundary after sb holds at least budget bytes.  Returns true once the
 * whole answer has been appended. */
bool graph_stream_next(struct graph_stream *st, struct strbuf *sb, size_t budget);
/* Unpins the graph: its tree may go now (graph_maybe_release), and a graph
 * removed meanwhile is freed. */
void graph_stream_free(struct graph_stream *st);

#endif
