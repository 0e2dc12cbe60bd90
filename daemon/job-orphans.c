/*
 * job-orphans.c - attributing adopted processes to the job that left
 * them (subreaper mode; the rules are in job-orphans.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "job-orphans.h"

/* Whether the adopted process p is the job's (rules 1 and 2). */
static bool adopted_is_ours(const struct proc_info *p, const struct orphan_query *q)
{
	char marker[96];
	uid_t uid;
	int r;

	if (q->uid_of(q->ctx, p->pid, &uid) < 0 || uid != q->uid)
		return false;
	r = proc_job_marker(p->pid, marker, sizeof(marker));

	if (r == 0)
		return strcmp(marker, q->marker) == 0 || !q->marker_active(q->ctx, marker);
	return p->start >= q->leader_start && p->start < q->others_oldest;
}

size_t orphans_of_job(const struct proc_info *procs, size_t n, const struct orphan_query *q,
		      struct proc_info *out, size_t cap)
{
	unsigned char *mark; /* 1: a leftover of the job */
	size_t found = 0;
	bool grew = true;

	if (n == 0)
		return 0;
	mark = calloc(n, 1);
	if (!mark)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct proc_info *p = &procs[i];

		if (p->ppid == q->self && p->pid != q->self && p->state != 'Z' &&
		    !q->is_leader(q->ctx, p->pid) && adopted_is_ours(p, q))
			mark[i] = 1;
	}
	/* Descendants: repeat until no parent link adds one (the snapshot
	 * is small and the loop ends after at most its depth). */
	while (grew) {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (mark[i] || procs[i].ppid == q->self)
				continue;
			for (size_t j = 0; j < n; j++) {
				if (mark[j] && procs[j].pid == procs[i].ppid) {
					mark[i] = 1;
					grew = true;
					break;
				}
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!mark[i] || procs[i].state == 'Z')
			continue;
		if (found < cap)
			out[found] = procs[i];
		found++;
	}
	free(mark);
	return found;
}
