/*
 * reactor-timer.h - libcoop's timer driver (coop_timer_driver) on the
 * daemon's libev loop.
 *
 * libcoop arms and disarms timers from any thread (workers polling a task's
 * sleep, the scope code arming a deadline or a job timeout); libev may only
 * be touched from the loop's thread.  So arm() and disarm() only change a
 * table under a mutex and poke an ev_async; the loop thread starts and stops
 * the ev_timer watchers and calls fire() when one expires.
 */
#ifndef COOPD_REACTOR_TIMER_H
#define COOPD_REACTOR_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "coop.h"

struct reactor_timers;

/* Creates the driver on loop (called on the loop's thread). */
int reactor_timers_new(struct ev_loop *loop, struct reactor_timers **ret);
/* The driver to hand to coop_rt_options.timer_driver; valid while *rt lives. */
const coop_timer_driver *reactor_timers_driver(struct reactor_timers *rt);
/* Timers armed and not yet fired or disarmed (a gauge). */
uint64_t reactor_timers_armed(struct reactor_timers *rt);
/* Stops every watcher and frees; only after the coop runtime is gone. */
void reactor_timers_free(struct reactor_timers *rt);

#endif
