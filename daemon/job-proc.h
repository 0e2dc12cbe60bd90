/*
 * job-proc.h - what /proc says about processes, for finding a job's
 * processes again: a pid alone can be reused, so every identity here is a
 * pid plus its start time (/proc/PID/stat field 22, clock ticks since
 * boot), and a job's processes also carry COOPD_JOB=GRAPH/NODEIDX in
 * their initial environment (/proc/PID/environ), set by coopd at spawn.
 */
#ifndef COOPD_JOB_PROC_H
#define COOPD_JOB_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"

/* Name of the environment variable that marks a job's processes (a
 * graph's env may not set it: proto-graph.c refuses it). */
#define PROC_JOB_MARKER PROTO_JOB_MARKER_ENV

struct proc_info {
	pid_t pid, ppid, pgrp, sid;
	uint64_t start; /* field 22 */
	char state;     /* 'R', 'S', ..., 'Z' */
};

/* Reads /proc/PID/stat.  0 or a negative errno (-ENOENT: no such pid). */
int proc_read(pid_t pid, struct proc_info *ret);

/* Start time of pid, 0 if it does not exist. */
uint64_t proc_start_time(pid_t pid);

/* Every process in /proc (pids of this pid namespace), allocated into
 * *ret.  0 or a negative errno. */
int proc_list(struct proc_info **ret, size_t *ret_n);

/* The processes whose pid is in [lo, hi], like proc_list(): for a scan
 * of only the pids allocated since some moment (proc_last_pid()). */
int proc_list_range(pid_t lo, pid_t hi, struct proc_info **ret, size_t *ret_n);

/* The last pid allocated in our pid namespace (/proc/loadavg), and the
 * largest pid (/proc/sys/kernel/pid_max); 0 if unknown. */
pid_t proc_last_pid(void);
pid_t proc_pid_max(void);

/* The job marker (value of COOPD_JOB) of pid's initial environment into
 * buf.  0, -ENOENT without one, or a negative errno (-EACCES: not ours
 * to read). */
int proc_job_marker(pid_t pid, char *buf, size_t size);

/* The real uid of pid (/proc/PID/status "Uid:", first field): who the
 * process is, whatever setuid programs it runs.  0 or a negative errno. */
int proc_real_uid(pid_t pid, uid_t *ret);

#endif
