/*
 * store-load.c - the start over the state database (store_load): every
 * stored graph is registered, a settled one as its row only (no tree: a
 * restart over a long history reads no document), an unfinished one whole,
 * to be marked `interrupted` (its exec jobs' processes killed, its Slurm
 * jobs cancelled) or, if its Slurm jobs can be followed again, started
 * again (docs/slurm.md "Restarts").
 *
 * Why a file of its own: loading calls the runner (graph-run.c), crash
 * recovery (job-exec-recover.c, job-slurm.c) and retention, while the
 * runner's jobs call the store (a Slurm job id made durable).  Here, above
 * both, the store (store-state.c) stays below the runner and calls nothing
 * above it (docs/architecture.md, "The daemon's layout").
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coopd.h"
#include "graph-model.h"
#include "graph-registry.h"
#include "graph-run.h"
#include "job-exec-recover.h"
#include "job-slurm.h"
#include "store-db.h"
#include "store-load.h"
#include "store-retention.h"
#include "store-state.h"
#include "util-log.h"

struct load_ctx {
	struct coopd *d;
	size_t n, damaged;
	struct graph **resume; /* graphs that go on after the restart */
	size_t n_resume;
};

/* A graph loaded settled (or interrupted by recovery) is registered and
 * joins its owner's history (store-retention.c). */
static void register_loaded(struct coopd *d, struct graph *g)
{
	if (graph_registry_add(d, g) < 0) {
		log_err("out of memory registering graph %s; it is not shown", g->id);
		graph_free(g);
		return;
	}
	retention_note(d, g);
}

/* A stored graph that cannot be loaded: its document goes to damaged/ for
 * the operator, its rows are deleted. */
static void load_damaged(struct load_ctx *c, const struct store_graph_row *row, const char *why)
{
	struct store *s = c->d->store;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/damaged", store_dir(s));
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/damaged/%s.%lld.json", store_dir(s), row->id,
		 (long long)graph_now_ms());
	log_err("stored graph %s is damaged (%s): its document is moved to %s", row->id, why, path);
	f = fopen(path, "wxe");
	if (f) {
		if (row->doc)
			fwrite(row->doc, 1, row->doc_len, f);
		fclose(f);
	}
	{
		struct graph tmp = {.store_seq = row->seq};

		snprintf(tmp.id, sizeof(tmp.id), "%s", row->id);
		(void)store_graph_delete(s, &tmp, NULL, NULL);
	}
	c->damaged++;
}

/* An unfinished graph that can go on (it follows its Slurm jobs): started
 * once every graph is loaded.  False if it cannot be kept (no memory). */
static bool load_resume(struct load_ctx *c, struct graph *g)
{
	struct graph **v = realloc(c->resume, (c->n_resume + 1) * sizeof(*v));

	if (!v)
		return false;
	c->resume = v;
	c->resume[c->n_resume++] = g;
	if (graph_registry_add(c->d, g) < 0) {
		c->n_resume--;
		graph_free(g);
		return true;
	}
	log_notice("graph %s was running when coopd stopped: it goes on, following its Slurm jobs",
		   g->id);
	c->n++;
	return true;
}

/* coopd stopped while g ran: interrupted, every unfinished node with it.
 * Recorded so that the next start agrees. */
static void load_interrupt(struct coopd *d, struct graph *g)
{
	int64_t now = graph_now_ms();

	for (size_t i = 0; i <= g->n_nodes; i++) {
		struct rnode *n = g->by_idx[i];

		if (proto_state_is_final((enum proto_state)n->state))
			continue;
		if (n->started_ms >= 0)
			n->finished_ms = now;
		/* Its processes are looked for (and killed) once every graph
		 * is loaded: exec_recover_sweep(). */
		exec_recover_note(d, n);
		slurm_recover_note(d, n);
		graph_node_set_state(n, PROTO_STATE_INTERRUPTED);
		store_mark_node(n);
	}
	if (g->root->finished_ms < 0)
		g->root->finished_ms = now;
	store_graph_interrupted(d->store, g);
	log_notice("graph %s was running when coopd stopped: interrupted", g->id);
}

/* Loads an unfinished graph whole: it goes on, or it is interrupted. */
static int load_unfinished(struct load_ctx *c, const struct store_graph_row *row)
{
	struct coopd *d = c->d;
	struct proto_error err;
	struct graph *g = NULL;
	int r;

	if (!row->doc || !proto_id_valid(row->id, strlen(row->id))) {
		load_damaged(c, row, "no document or a bad id");
		return 0;
	}
	r = store_graph_of_row(d->store, row, &g, &err);
	if (r == -EBADMSG) {
		load_damaged(c, row, err.reason);
		return 0;
	}
	if (r == -ENOMEM) {
		log_err("out of memory loading graph %s", row->id);
		return 0;
	}
	if (r < 0)
		return r;
	/* Its logs' bytes were counted in the memory of the coopd that
	 * stopped: the document is what is known (docs/durability.md,
	 * "Retention"). */
	g->disk_bytes = row->doc_len;
	/* A graph that goes on (Slurm) counts against
	 * max_active_bytes_per_user as when it was submitted. */
	g->doc_bytes = row->doc_len;
	if (graph_run_resumable(d, g) && load_resume(c, g))
		return 0;
	if (!proto_state_is_final((enum proto_state)g->root->state))
		load_interrupt(d, g);
	register_loaded(d, g);
	c->n++;
	return 0;
}

static int load_graph(void *ctx, const struct store_graph_row *row)
{
	struct load_ctx *c = ctx;
	struct coopd *d = c->d;
	struct graph *g = NULL;
	int r;

	/* A settled graph: its row is all that is kept in memory (status
	 * and logs read its tree back when asked: store_graph_hydrate), so
	 * a restart over a long history reads no document. */
	if (row->finished >= 0 && row->state >= 0 &&
	    proto_state_is_final((enum proto_state)row->state) &&
	    proto_id_valid(row->id, strlen(row->id))) {
		if (graph_new_released(row->id, row->name, row->uid, row->gid, row->created,
				       row->finished, row->state, row->nodes_total, row->nodes_done,
				       &g) < 0) {
			log_err("out of memory loading graph %s", row->id);
			return 0;
		}
		g->d = d;
		g->loaded = true;
		g->store_seq = row->seq;
		g->disk_bytes = row->bytes; /* recorded when it settled */
		register_loaded(d, g);
		c->n++;
		return 0;
	}
	{
		char *doc = NULL;
		size_t len = 0;
		struct store_graph_row full = *row;

		/* Unfinished: the whole tree, to mark it interrupted. */
		r = store_read_doc(d->store, row->id, &doc, &len);
		if (r < 0 && r != -ENOENT)
			return r;
		full.doc = doc;
		full.doc_len = len;
		r = load_unfinished(c, &full);
		free(doc);
		return r;
	}
}

int store_load(struct coopd *d)
{
	struct load_ctx c = {.d = d};
	int r;

	r = store_each_graph(d->store, load_graph, &c);
	if (r < 0) {
		free(c.resume);
		return r;
	}
	if (c.n)
		log_info("loaded %zu graph(s) from %s", c.n, store_db_file(d->store));
	exec_recover_sweep(d);
	for (size_t i = 0; i < c.n_resume; i++)
		graph_run_start(d, c.resume[i]);
	free(c.resume);
	return 0;
}
