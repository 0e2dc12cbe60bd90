/*
 * server-parse.c - big request lines parsed and validated off the loop.
 *
 * Parsing a 13 MB `submit` line and validating its graph held the loop
 * more than a second (issue 15, item 2): every other client waited.  A
 * line of at least parse_thread_bytes (coopd.conf(5)) is now handed, with
 * a copy of the parse limits (a reload may change them meanwhile), to one
 * parse thread owned by the server, which does what the loop did up to
 * and including graph validation (proto_request_parse_ex with the compact
 * graph, and for a `submit` its params and proto_graph_parse), and for a
 * valid submit also builds the run-time graph (graph_new) and the text
 * the store keeps (store_doc_text), then drops the document tree; the
 * result comes back through an ev_async and the request goes on on the
 * loop exactly as a small one does (server-dispatch.c, method-submit.c:
 * the same checks in the same order, the same errors and ids; the active
 * limit, the graph id, the store and the answer are the loop's).
 * Meanwhile its connection reads and dispatches nothing more (its answers
 * stay in order, as for a parked request: server-park.c) and every other
 * connection is served.  A connection closed meanwhile leaves its job
 * behind; the completion frees it.  Dispatched jobs come back here to be
 * freed (a refused 200,000-node graph takes tens of ms to free).
 *
 * One thread, not libcoop's blocking pool: that pool runs users' blocking
 * jobs and has its own share rules (docs/architecture.md); parsing must
 * neither wait behind those jobs nor take their threads, and one thread
 * bounds what big submits cost to one core, leaving the other to the loop
 * on a small machine.  At most one parse runs at a time; queued jobs are
 * taken in turn by user (the next job taken is the oldest of a user other
 * than the last one served, when there is one), so one user's stream of
 * big submits delays another user's big submit by one parse at most.  A
 * connection has at most one job (it reads nothing more), so the copies
 * are bounded by the connections (docs/security.md) times
 * max_request_bytes.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "graph-model.h"
#include "proto-graph.h"
#include "server-internal.h"
#include "store-state.h"
#include "util-log.h"

struct parse_job {
	struct parse_job *next;
	struct conn *c; /* loop only; NULL once the connection has closed */
	uid_t uid;
	gid_t gid;
	char *line;
	size_t len;
	struct proto_limits lim;
	/* Set by the parse thread. */
	struct server_parsed res;
};

struct server_parser {
	struct ev_loop *loop;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock. */
	struct parse_job *todo, *done, *done_tail;
	struct parse_job *trash; /* dispatched: freed here, not on the loop */
	uid_t last_uid;
	bool served_any;
	bool stop;
	ev_async async;
};

/* Parse thread: what dispatch_line() would do up to the handler. */
static void parse_run(struct parse_job *job)
{
	struct server_parsed *res = &job->res;
	struct proto_submit_params sp;

	proto_error_clear(&res->err);
	proto_error_clear(&res->graph_err);
	res->r = proto_request_parse_ex(job->line, job->len, &job->lim, PROTO_REQ_COMPACT_GRAPH,
					&res->req, &res->err);
	if (res->r < 0 || res->req.method_id != PROTO_M_SUBMIT)
		return;
	memset(&sp, 0, sizeof(sp));
	/* A bad params object is answered by the loop's own decode. */
	if (proto_submit_params_decode(res->req.params, &sp, &res->graph_err) < 0) {
		proto_error_clear(&res->graph_err);
		return;
	}
	res->graph_parsed = true;
	res->graph_r = proto_graph_parse(sp.graph, &job->lim, &res->def, &res->graph_err);
	if (res->graph_r < 0)
		return;
	/* What the loop would do next with a valid graph but for the checks
	 * that need the daemon (method-submit.c): its run-time tree and the
	 * text the store keeps.  Then the document tree can go, here rather
	 * than on the loop: the store has its text and res->def its own copy
	 * (its args hold their own references).  Any failure leaves that work
	 * to the loop, as for a small submit. */
	if (graph_new(res->def, "", job->uid, job->gid, 0, &res->g) < 0)
		return;
	res->def = NULL; /* res->g->def */
	if (store_doc_text(sp.graph, &res->doc, &res->doc_len) < 0) {
		res->def = res->g->def;
		res->g->def = NULL;
		graph_free(res->g);
		res->g = NULL;
		return;
	}
	{
		struct json_object *empty = json_object_new_object();

		if (empty && json_object_object_add(res->req.params, "graph", empty) < 0)
			json_object_put(empty);
	}
}

/* Under lock: the next job, in turn by user. */
static struct parse_job *take(struct server_parser *p)
{
	struct parse_job **pp, **pick = &p->todo, *job;

	if (p->served_any) {
		for (pp = &p->todo; *pp; pp = &(*pp)->next) {
			if ((*pp)->uid != p->last_uid) {
				pick = pp;
				break;
			}
		}
	}
	job = *pick;
	*pick = job->next;
	job->next = NULL;
	p->last_uid = job->uid;
	p->served_any = true;
	return job;
}

static void job_free(struct parse_job *job)
{
	proto_request_free(&job->res.req);
	if (job->res.def)
		proto_graph_free(job->res.def);
	graph_free(job->res.g);
	free(job->res.doc);
	free(job->line);
	free(job);
}

static void jobs_free(struct parse_job *list)
{
	struct parse_job *job;

	while ((job = list)) {
		list = job->next;
		job_free(job);
	}
}

static void *parse_main(void *arg)
{
	struct server_parser *p = arg;

	for (;;) {
		struct parse_job *job;

		pthread_mutex_lock(&p->lock);
		while (!p->todo && !p->trash && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		if (p->trash) {
			/* What a big submit leaves (its line, the rest of its
			 * request, a graph refused by the loop's checks) is
			 * freed here: 200,000 nodes take tens of ms. */
			job = p->trash;
			p->trash = NULL;
			pthread_mutex_unlock(&p->lock);
			jobs_free(job);
			continue;
		}
		job = take(p);
		pthread_mutex_unlock(&p->lock);

		parse_run(job);

		pthread_mutex_lock(&p->lock);
		if (p->done_tail)
			p->done_tail->next = job;
		else
			p->done = job;
		p->done_tail = job;
		pthread_mutex_unlock(&p->lock);
		ev_async_send(p->loop, &p->async);
	}
}

/* Loop thread: the requests parsed so far go on. */
static void parse_complete(struct server_parser *p)
{
	struct parse_job *list, *job;

	pthread_mutex_lock(&p->lock);
	list = p->done;
	p->done = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	for (job = list; job; job = job->next) {
		struct conn *c = job->c;

		if (c) {
			c->parsing = NULL;
			dispatch_parsed(c, job->line, job->len, &job->res);
			conn_resume(c);
		}
	}
	if (!list)
		return;
	pthread_mutex_lock(&p->lock);
	for (job = list; job->next; job = job->next)
		;
	job->next = p->trash;
	p->trash = list;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	parse_complete(a->data);
}

int server_parser_start(struct ev_loop *loop, struct server_parser **ret)
{
	struct server_parser *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int r;

	if (!p)
		return -ENOMEM;
	p->loop = loop;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	ev_async_init(&p->async, async_cb);
	p->async.data = p;
	ev_async_start(loop, &p->async);
	/* The loop's signals are handled on the loop thread only. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&p->thread, NULL, parse_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		ev_async_stop(loop, &p->async);
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int server_parse_queue(struct conn *c, const char *line, size_t len)
{
	struct server_parser *p = c->d->server->parser;
	struct parse_job *job, **pp;

	if (!p)
		return -ENOSYS;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->line = malloc(len + 1);
	if (!job->line) {
		free(job);
		return -ENOMEM;
	}
	memcpy(job->line, line, len);
	job->line[len] = '\0';
	job->len = len;
	job->c = c;
	job->uid = c->uid;
	job->gid = c->gid;
	job->lim = c->d->cfg.limits;
	c->parsing = job;
	c->d->counters.lines_parsed_off_loop++;
	pthread_mutex_lock(&p->lock);
	for (pp = &p->todo; *pp; pp = &(*pp)->next)
		;
	*pp = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

size_t server_parse_held(const struct conn *c)
{
	return c->parsing ? c->parsing->len + 1 : 0;
}

void server_parse_forget(struct conn *c)
{
	if (c->parsing) {
		c->parsing->c = NULL;
		c->parsing = NULL;
	}
}

void server_parser_stop(struct server_parser *p)
{
	struct parse_job *job;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	/* Every connection has closed (server_free): the jobs left only go. */
	parse_complete(p);
	jobs_free(p->trash);
	p->trash = NULL;
	while ((job = p->todo)) {
		p->todo = job->next;
		if (job->c)
			job->c->parsing = NULL;
		job_free(job);
	}
	ev_async_stop(p->loop, &p->async);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
