/*
 * job-exec-recover.h - crash recovery of exec jobs (job-exec-recover.c):
 * what a crashed coopd's jobs left running is killed at start-up.
 */
#ifndef COOPD_JOB_EXEC_RECOVER_H
#define COOPD_JOB_EXEC_RECOVER_H

struct coopd;
struct rnode;

/* After a crash, for each unfinished exec node of an interrupted graph:
 * remember how to find its processes (its group from the spawn record,
 * its job marker); exec_recover_sweep() then kills them all in one pass
 * over /proc and waits (bounded) until they are gone. */
void exec_recover_note(struct coopd *d, const struct rnode *n);
void exec_recover_sweep(struct coopd *d);
/* Frees what was noted and not swept (a start-up that failed before). */
void exec_recover_free(struct coopd *d);

#endif
