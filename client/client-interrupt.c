/*
 * client-interrupt.c - Ctrl-C (SIGINT), SIGTERM and SIGHUP for `coopctl
 * run` and `coopctl map`.
 *
 * Both submit a graph and follow it; an interrupt must never leave a graph
 * running that nobody follows.  So the handler goes in, with the signals
 * blocked, before the submit is sent, and they stay blocked until the
 * answer gives the graph's id: a signal before the handler kills coopctl
 * before anything is submitted; one after it waits (pending) for the id
 * and then cancels that graph.  The commands count the interrupts: the
 * first cancels the graph and keeps following it to its end, a second
 * gives up waiting (coopctl(1)).
 */
#include "config.h"

#include <json-c/json.h>

#include "client-conn.h"
#include "client-interrupt.h"
#include "coopctl.h"
#include "proto-rpc.h"

volatile sig_atomic_t client_interrupts;

static void client_interrupt_on_signal(int sig)
{
	(void)sig;
	client_interrupts++;
	client_conn_interrupted = 1;
}

void client_interrupt_install(sigset_t *ret_old)
{
	struct sigaction sa = {.sa_handler = client_interrupt_on_signal};
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	(void)sigaddset(&block, SIGINT);
	(void)sigaddset(&block, SIGTERM);
	(void)sigaddset(&block, SIGHUP); /* the terminal went away */
	(void)sigprocmask(SIG_BLOCK, &block, ret_old);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
}

void client_interrupt_unblock(const sigset_t *old)
{
	(void)sigprocmask(SIG_SETMASK, old, NULL);
}

void client_interrupt_cancel(struct coopctl *c, const char *id)
{
	struct proto_cancel_params p = {.id = id, .reason = "client"};
	struct json_object *params = NULL, *result = NULL;

	client_conn_interrupted = 0;
	coopctl_err(c, "interrupted: cancelling %s (again to stop waiting)", id);
	if (proto_cancel_params_encode(&p, &params) == 0 &&
	    coopctl_call(c, "cancel", params, &result) == 0)
		json_object_put(result);
}
