/*
 * job-logfile.h - the log files of exec jobs below the state directory,
 * opened without following any symbolic link (see job-logfile.c).
 */
#ifndef COOPD_JOB_LOGFILE_H
#define COOPD_JOB_LOGFILE_H

#include <stdbool.h>
#include <stdint.h>

struct coopd;

/* Creates the log file of stream 0 (stdout) or 1 (stderr) of node idx of
 * graph gid, empty, write-only, mode 0600 (a file already there is
 * replaced, never written through).  Returns the fd or a negative errno. */
int logfile_create(struct coopd *d, const char *gid, uint32_t idx, int stream);

/* Opens that log file for reading.  Returns the fd, -ENOENT when the job
 * wrote nothing on that stream (or the file is gone), -ELOOP or -EPERM
 * for anything that is not a regular file of coopd's, another negative
 * errno on failure. */
int logfile_open_read(struct coopd *d, const char *gid, uint32_t idx, int stream);

/* The same for attempt (from 1) of a node with retries: attempt 1 is the
 * files above, attempt A > 1 is N.A.out and N.A.err. */
int logfile_create_attempt(struct coopd *d, const char *gid, uint32_t idx, unsigned attempt,
			   int stream);
int logfile_open_read_attempt(struct coopd *d, const char *gid, uint32_t idx, unsigned attempt,
			      int stream);

/* Makes the log file of stream `stream`, attempt `attempt` of node idx of
 * graph from_gid also that of graph to_gid (a hard link; to_gid's
 * directory is created if needed).  0, -ENOENT when there is no such log,
 * or another negative errno. */
int logfile_link(struct coopd *d, const char *from_gid, const char *to_gid, uint32_t idx,
		 unsigned attempt, int stream);

#endif
