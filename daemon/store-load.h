/*
 * store-load.h - the daemon's start over its state database: every stored
 * graph into the registry, an unfinished one interrupted (or resumed) and
 * its jobs recovered (store-load.c).
 */
#ifndef COOPD_STORE_LOAD_H
#define COOPD_STORE_LOAD_H

struct coopd;

/* Loads the graphs of the database: finished ones as they were (a row
 * only, no tree), unfinished ones marked `interrupted` (their exec jobs'
 * processes are ended, exec_recover_sweep; their Slurm jobs cancelled) or,
 * if they can go on following their Slurm jobs, started again.  A graph
 * whose document cannot be read is written to damaged/ID.json, logged and
 * deleted.  Registers each graph and joins its owner's history
 * (retention_note).  0 or a negative errno (logged). */
int store_load(struct coopd *d);

#endif
