/*
 * reactor-inbox.h - how libcoop's threads talk to the reactor.
 *
 * Workers and blocking threads never touch daemon state.  They post "mail"
 * bits on a node (MAIL_* in graph-model.h): the node is linked into a list
 * under one mutex the first time a bit is set, and an ev_async wakes the
 * loop, which takes the list and hands each node with its bits to
 * graph-run.c.  A node is on the list at most once, so posting never
 * allocates and cannot fail (a lost "done" would hang a graph).
 *
 * The data that goes with a bit (start time, reason) is written in the
 * node's mail_* fields under the same lock.  An ended node's outcome is not
 * copied into the node (56 bytes a node): the loop reads it from libcoop,
 * where it is final before the end's waker posts it (job_watch_end).
 */
#ifndef COOPD_REACTOR_INBOX_H
#define COOPD_REACTOR_INBOX_H

#include <ev.h>

#include "coop.h"

struct rnode;
struct coopd;
struct reactor_inbox;

int reactor_inbox_new(struct coopd *d, struct reactor_inbox **ret);
void reactor_inbox_free(struct reactor_inbox *ib);

/* Any thread. */
void inbox_post_started(struct reactor_inbox *ib, struct rnode *n, uint64_t mono_ns);
/* The same without waking the loop: for a poster that wakes it soon
 * anyway (inbox_wake, or a MAIL_DONE that follows), so that a task done
 * in its first poll costs the loop one wake-up, not two. */
void inbox_post_started_quiet(struct reactor_inbox *ib, struct rnode *n, uint64_t mono_ns);
void inbox_wake(struct reactor_inbox *ib);
/* n's task, blocking job or scope has ended (its outcome is final in libcoop). */
void inbox_post_done(struct reactor_inbox *ib, struct rnode *n);
/* A task with retries: `started` attempts have begun, `done` have ended
 * (their records in n->attempts are written). */
void inbox_post_attempt(struct reactor_inbox *ib, struct rnode *n, unsigned started, unsigned done);
void inbox_post_exec(struct reactor_inbox *ib, struct rnode *n, unsigned bit, coop_reason reason);

/* Handles everything posted so far (loop thread); also run by the async. */
void inbox_drain(struct reactor_inbox *ib);

#endif
