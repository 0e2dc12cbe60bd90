/*
 * server-park.c - requests that wait for a settled graph's tree.
 *
 * A settled graph keeps no tree in memory (docs/durability.md); reading
 * it back took the loop a second or more for 100,000 nodes (issue 15).
 * method_graph() now asks the store's reader thread for it
 * (store_graph_hydrate_async) and the request is parked: its line is
 * kept, the connection reads and dispatches nothing more meanwhile (its
 * answers stay in order), and every other connection carries on.  When
 * the tree is in, each parked line is dispatched again, exactly as it
 * came, and finds the tree (the graph is pinned until then); if it could
 * not be read, the request gets -32603 naming the graph.  Several
 * requests for the same graph share one read.  A graph removed meanwhile
 * answers its parked requests like any unknown graph.
 *
 * A handler may park its request the same way on a read of its own
 * (call->park_read: a rerun's document read and parsed, method-rerun.c):
 * the read is queued on the reader thread, and when it is done the line
 * runs again with the read as c->park_done for the handler to take.  A
 * connection closed meanwhile leaves the read behind (its free runs when
 * it is done).  A connection has at most one such read (it reads nothing
 * more), so what they hold is bounded as a parsed line is (server-parse.c).
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "server-internal.h"
#include "store-db.h"
#include "store-state.h"

/* Keeps a copy of the parked request's line, to dispatch again (it may
 * hold NUL bytes: the length is kept, not a string's end). */
static int park_keep_line(struct conn *c, const char *line, size_t len)
{
	c->park_line = malloc(len + 1);
	if (!c->park_line)
		return -ENOMEM;
	memcpy(c->park_line, line, len);
	c->park_line[len] = '\0';
	c->park_len = len;
	return 0;
}

static void park_forget_line(struct conn *c)
{
	free(c->park_line);
	c->park_line = NULL;
}

int conn_park(struct conn *c, struct graph *g, const char *line, size_t len, struct json_object *id,
	      bool has_id, enum proto_method m)
{
	int r;

	if (park_keep_line(c, line, len) < 0)
		return -ENOMEM;
	r = store_graph_hydrate_async(c->d->store, g, c->uid, server_graph_hydrated);
	if (r < 0) {
		park_forget_line(c);
		return r;
	}
	c->park_g = g;
	c->park_id = id ? json_object_get(id) : NULL;
	c->park_method = m;
	c->park_has_id = has_id;
	c->park_prev = NULL;
	c->park_next = g->parked;
	if (g->parked)
		g->parked->park_prev = c;
	g->parked = c;
	return 0;
}

/* The read the handler did not take (its request ended otherwise: the
 * graph was removed meanwhile) goes, unless the request waits again. */
static void park_done_drop(struct conn *c)
{
	struct park_read *pr = c->park_done;

	if (!pr || conn_parked(c))
		return;
	c->park_done = NULL;
	pr->free(pr);
}

/* Loop thread: c's read is done (or r -ESHUTDOWN: never run). */
static void park_read_done(struct store_read *job, int r)
{
	struct park_read *pr = (struct park_read *)job;
	struct conn *c = pr->c;
	char *line;
	size_t len;

	(void)r; /* job->r: the handler reads it */
	if (!c) {
		pr->free(pr);
		return;
	}
	pr->c = NULL;
	c->park_read = NULL;
	line = c->park_line;
	len = c->park_len;
	c->park_line = NULL;
	if (c->park_done)
		c->park_done->free(c->park_done);
	c->park_done = pr;
	dispatch_line(c, line, len);
	free(line);
	park_done_drop(c);
	conn_resume(c);
}

int conn_park_read(struct conn *c, struct park_read *pr, const char *line, size_t len)
{
	int r;

	if (park_keep_line(c, line, len) < 0)
		return -ENOMEM;
	pr->read.done = park_read_done;
	pr->read.uid = c->uid;
	pr->c = c;
	r = store_read_queue(c->d->store, &pr->read);
	if (r < 0) {
		pr->c = NULL;
		park_forget_line(c);
		return r;
	}
	c->park_read = pr;
	return 0;
}

void conn_unpark(struct conn *c)
{
	struct graph *g = c->park_g;

	if (c->park_read) {
		/* Closing: the read finishes on its own and is freed then. */
		c->park_read->c = NULL;
		c->park_read = NULL;
		park_forget_line(c);
	}
	if (c->park_done) {
		c->park_done->free(c->park_done);
		c->park_done = NULL;
	}
	if (!g)
		return;
	if (c->park_prev)
		c->park_prev->park_next = c->park_next;
	else
		g->parked = c->park_next;
	if (c->park_next)
		c->park_next->park_prev = c->park_prev;
	c->park_g = NULL;
	c->park_prev = c->park_next = NULL;
	park_forget_line(c);
	if (c->park_id)
		json_object_put(c->park_id);
	c->park_id = NULL;
}

void server_graph_hydrated(struct coopd *d, struct graph *g, int r)
{
	struct conn *c;

	while ((c = g->parked)) {
		char *line = c->park_line;
		size_t len = c->park_len;
		struct json_object *id = c->park_id ? json_object_get(c->park_id) : NULL;
		enum proto_method m = c->park_method;
		bool has_id = c->park_has_id;
		struct park_read *done = c->park_done; /* kept for the handler */

		c->park_line = NULL;
		c->park_done = NULL;
		conn_unpark(c);
		c->park_done = done;
		/* A graph removed meanwhile: run again, it is unknown now. */
		if (r < 0 && !g->forgotten) {
			struct proto_error err;

			proto_error_set(&err, PROTO_ERR_INTERNAL, NULL,
					"cannot read graph %s from the state database: %s", g->id,
					store_db_strerror(r));
			dispatch_count(d, m, err.code);
			if (has_id)
				conn_answer_error(c, id, &err);
		} else {
			dispatch_line(c, line, len);
		}
		free(line);
		if (id)
			json_object_put(id);
		park_done_drop(c);
		conn_resume(c);
	}
}
