/*
 * client-interrupt.h - Ctrl-C for the commands that submit a graph and
 * follow it (`run`, `map`; client-interrupt.c).
 */
#ifndef CLIENT_INTERRUPT_H
#define CLIENT_INTERRUPT_H

#include <signal.h>

struct coopctl;

/* How many of SIGINT, SIGTERM and SIGHUP arrived since
 * client_interrupt_install(). */
extern volatile sig_atomic_t client_interrupts;

/* Installs the handler for SIGINT, SIGTERM and SIGHUP (without SA_RESTART:
 * it also sets client_conn_interrupted, so a wait for the daemon returns
 * -EINTR) with the three signals blocked; *ret_old gets the mask to give
 * client_interrupt_unblock().  Call it before sending the submit and
 * unblock once the graph's id is known: a signal in between stays pending,
 * so it can neither kill coopctl while its graph is being accepted nor be
 * lost, and cancels the graph as soon as it is delivered. */
void client_interrupt_install(sigset_t *ret_old);

/* Restores the mask saved by client_interrupt_install(); a pending signal
 * is delivered now. */
void client_interrupt_unblock(const sigset_t *old);

/* Cancels graph id (reason "client") after an interrupt, saying so on
 * stderr, and clears client_conn_interrupted so the cancel can be sent
 * and waited for. */
void client_interrupt_cancel(struct coopctl *c, const char *id);

#endif /* CLIENT_INTERRUPT_H */
