/*
 * server-turns.c - connections take turns at dispatching their request
 * lines (docs/security.md, "Answers and turns").
 *
 * A read of 64 KiB holds about a thousand pipelined lines; they used to be
 * dispatched all in the read callback, so that 8 connections pipelining
 * `list` of 500 graphs held another user's `ping` for a second, 32
 * pipelining `metrics` for 1.5 s.  Now one callback dispatches at most a
 * budget of a connection's lines (TURN_LINES, and none after the first
 * once about TURN_NS of loop time went on them); a connection with lines
 * left goes to the back of the server's queue (counted in
 * daemon.dispatch_yields) and reads nothing more meanwhile (its unread
 * lines count in its user's input share, as before).  An ev_check watcher
 * serves the queue after every poll of the loop: each connection in turn
 * gets up to TURN_LINES lines, the whole round about TURN_NS, so what one
 * iteration spends on lines is bounded whatever the number of
 * connections.  A connection's answers stay in order: its lines are taken
 * in order from its one input buffer, by one callback at a time.
 *
 * The other wait is the user's answer share: while the answers coopd
 * holds unsent for all the connections of one uid (root's too) come to
 * answer_bytes_per_user, none of them dispatches a line (counted in
 * daemon.answer_share_waits); they wait on a second list, in order, and go
 * to the back of the queue once the user's answers drained below it
 * (server_turns_share_drained, from conn_account_output in server-conn.c).
 * 62 connections of one user pipelining `list` without reading used to
 * grow coopd by 4 GB (64 MiB of answer_backlog_bytes each); other users
 * are not concerned by that user's share.
 */
#include "config.h"

#include <coop.h>

#include "coopd.h"
#include "server-internal.h"

/* Lines of one connection per callback or turn, and the loop time after
 * which a callback (or the queue's round) takes no further line. */
#define TURN_LINES 64
#define TURN_NS 1000000u

void turn_budget_init(struct turn_budget *b)
{
	b->lines = TURN_LINES;
	b->taken = 0;
	b->until = 0;
}

bool server_answers_full(const struct server *s, uid_t uid)
{
	return uidcount_get(&s->answers_of, uid) >= s->d->cfg.answer_bytes_per_user;
}

static void turn_unlink(struct server *s, struct conn *c)
{
	struct conn **head = c->turn == CONN_TURN_READY ? &s->ready_head : &s->share_head;
	struct conn **tail = c->turn == CONN_TURN_READY ? &s->ready_tail : &s->share_tail;

	if (c->turn_prev)
		c->turn_prev->turn_next = c->turn_next;
	else
		*head = c->turn_next;
	if (c->turn_next)
		c->turn_next->turn_prev = c->turn_prev;
	else
		*tail = c->turn_prev;
	c->turn_prev = c->turn_next = NULL;
	c->turn = CONN_TURN_NONE;
}

void conn_turn_forget(struct conn *c)
{
	if (c->turn != CONN_TURN_NONE)
		turn_unlink(c->d->server, c);
}

/* Puts c at the back of the queue or of the share's wait. */
static void turn_append(struct server *s, struct conn *c, enum conn_turn where)
{
	struct conn **head = where == CONN_TURN_READY ? &s->ready_head : &s->share_head;
	struct conn **tail = where == CONN_TURN_READY ? &s->ready_tail : &s->share_tail;

	conn_turn_forget(c);
	c->turn = where;
	c->turn_prev = *tail;
	c->turn_next = NULL;
	if (*tail)
		(*tail)->turn_next = c;
	else
		*head = c;
	*tail = c;
	if (where == CONN_TURN_READY && !ev_is_active(&s->turn_check)) {
		ev_check_start(s->d->loop, &s->turn_check);
		ev_idle_start(s->d->loop, &s->turn_idle);
	}
}

bool conn_turn_may_dispatch(struct conn *c, struct turn_budget *b)
{
	struct server *s = c->d->server;

	if (server_answers_full(s, c->uid)) {
		turn_append(s, c, CONN_TURN_SHARE);
		c->d->counters.answer_share_waits++;
		return false;
	}
	/* The first line always: every callback makes progress. */
	if (b->taken == 0) {
		if (b->until == 0)
			b->until = coop_now_ns() + TURN_NS;
		return true;
	}
	if (b->taken < b->lines && coop_now_ns() < b->until)
		return true;
	turn_append(s, c, CONN_TURN_READY);
	c->d->counters.dispatch_yields++;
	return false;
}

void server_turns_share_drained(struct server *s, uid_t uid)
{
	struct conn *c, *next;

	if (!s->share_head || server_answers_full(s, uid))
		return;
	for (c = s->share_head; c; c = next) {
		next = c->turn_next;
		if (c->uid == uid)
			turn_append(s, c, CONN_TURN_READY);
	}
}

void server_limits_changed(struct server *s)
{
	/* Whatever held them back is looked at again on their turn. */
	for (struct conn *c = s->conns; c; c = c->next)
		if (c->has_unread_lines && !c->dead && !c->timed_out && c->turn != CONN_TURN_READY)
			turn_append(s, c, CONN_TURN_READY);
}

/* After every poll: the queue's round, a turn each, about TURN_NS in all.
 * Each turn either takes a line or leaves the queue (the connection waits
 * for something else, or has nothing left), so the round ends. */
static void turns_check_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	struct server *s = w->data;
	uint64_t until = coop_now_ns() + TURN_NS;
	struct conn *c;

	while ((c = s->ready_head)) {
		struct turn_budget b = {.lines = TURN_LINES, .until = until};

		turn_unlink(s, c);
		conn_take_turn(c, &b);
		if (coop_now_ns() >= until)
			break;
	}
	if (!s->ready_head) {
		ev_check_stop(loop, &s->turn_check);
		ev_idle_stop(loop, &s->turn_idle);
	}
}

/* Only keeps the poll from waiting while the queue is not empty. */
static void turns_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
}

void server_turns_init(struct server *s)
{
	ev_check_init(&s->turn_check, turns_check_cb);
	s->turn_check.data = s;
	ev_idle_init(&s->turn_idle, turns_idle_cb);
	s->turn_idle.data = s;
}

void server_turns_stop(struct server *s)
{
	ev_check_stop(s->d->loop, &s->turn_check);
	ev_idle_stop(s->d->loop, &s->turn_idle);
}
