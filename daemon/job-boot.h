/*
 * job-boot.h - which boot the process records of a state directory belong
 * to (see job-boot.c).
 */
#ifndef COOPD_JOB_BOOT_H
#define COOPD_JOB_BOOT_H

#include <stdbool.h>

/* Name of the file, in the state directory, that holds the boot id. */
#define JOB_BOOT_FILE "coopd.boot"

/* Start-up, before crash recovery: whether the previous coopd on this
 * state directory ran in this same boot (the file holds this boot's id),
 * then records this boot's id for the next start.  False when the file is
 * missing, unreadable or names another boot, or the boot id is unknown:
 * then no pid or start time recorded before can name a live process. */
bool job_boot_same_and_record(int state_fd);

#endif
