/*
 * job-exec-recover.c - crash recovery of exec jobs: at start-up, what the
 * exec nodes of graphs interrupted by a crash may have left running is
 * found and killed before anything new starts (docs/security.md).
 *
 * store-load.c calls exec_recover_note() for each unfinished exec node of
 * an interrupted graph while it loads the database, then
 * exec_recover_sweep() once: a pass over /proc matches each process to a
 * noted job (its recorded leader, its process group while that leader
 * lives, or the COOPD_JOB marker in its environment), kills the ones that
 * run as the job's user, and waits (bounded) until they are gone; passes
 * are repeated until one finds nothing (what a job forked meanwhile).  Only
 * at start-up, before the loop runs, so it may block.
 */
#include "config.h"

#include <errno.h>
#include <json-c/linkhash.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "job-exec-recover.h"
#include "job-exec.h"
#include "job-proc.h"
#include "util-log.h"

/* The jobs noted since start-up (d->exec_recover). */
struct exec_recover {
	struct recover_item *recover;
	size_t n_recover, cap_recover;
	int passes; /* over /proc, by exec_recover_sweep() */
};

/* What an interrupted exec node may have left running. */
struct recover_item {
	char marker[GRAPH_ID_LEN + 16];
	pid_t pgid;
	uint64_t pg_start;
	bool leader_alive; /* the recorded leader itself (pid and start) runs */
	uid_t uid;         /* the user the job ran as */
	const char *gid, *path;
	int killed, spared;
};

void exec_recover_note(struct coopd *d, const struct rnode *n)
{
	struct exec_recover *es = d->exec_recover;
	struct recover_item *it;

	/* A Slurm job's processes are Slurm's (job-slurm.c cancels the job),
	 * even when the cluster's node is this machine. */
	if (!d->exec || n->def->kind != PROTO_NODE_EXEC ||
	    n->def->placement == PROTO_PLACEMENT_SLURM)
		return;
	if (!es) {
		es = d->exec_recover = calloc(1, sizeof(*es));
		if (!es) {
			log_err("out of memory: processes of graph %s node %s are not looked for",
				n->g->id, n->def->path);
			return;
		}
	}
	if (es->n_recover == es->cap_recover) {
		size_t cap = es->cap_recover ? es->cap_recover * 2 : 64;
		struct recover_item *v = realloc(es->recover, cap * sizeof(*v));

		if (!v) {
			log_err("out of memory: processes of graph %s node %s are not looked for",
				n->g->id, n->def->path);
			return;
		}
		es->recover = v;
		es->cap_recover = cap;
	}
	it = &es->recover[es->n_recover++];
	snprintf(it->marker, sizeof(it->marker), "%s/%u", n->g->id, n->idx);
	it->pgid = n->pgid;
	it->pg_start = n->pg_start;
	it->leader_alive = false;
	it->uid = exec_run_uid(d, n->g);
	it->gid = n->g->id;
	it->path = n->def->path;
	it->killed = it->spared = 0;
}

/* Which recorded item the process p provably belongs to, or NULL (the
 * records are of this boot: exec_recover_sweep()).  Provably: it is the
 * recorded leader itself (pid and exact start time); or it is in the
 * leader's process group while that very leader still runs (a group id
 * cannot be reused while its leader lives); or its environment holds the
 * job's marker (for processes that left the group, or spawned just before
 * the crash, before the spawn record was written).  A process in a group
 * with the recorded id whose leader is gone is not taken on the id alone:
 * the id may have been reused by anyone since (issue 15 item 6). */
static struct recover_item *recover_match(struct lh_table *by_marker, struct lh_table *by_pgid,
					  const struct proc_info *p)
{
	struct recover_item *it = NULL;
	char marker[96];

	if (lh_table_lookup_ex(by_pgid, (void *)(intptr_t)p->pgrp, (void **)&it) && it &&
	    (p->pid == it->pgid ? p->start == it->pg_start
				: it->leader_alive && p->start >= it->pg_start))
		return it;
	if (proc_job_marker(p->pid, marker, sizeof(marker)) == 0 &&
	    lh_table_lookup_ex(by_marker, marker, (void **)&it))
		return it;
	return NULL;
}

/* One pass over /proc: kills what recover_match() gives, and waits
 * (bounded) until those processes are gone.  The number killed. */
static size_t sweep_pass(struct exec_recover *es, struct lh_table *by_marker,
			 struct lh_table *by_pgid, struct lh_table *done)
{
	struct proc_info *procs = NULL;
	struct pollfd *pfds;
	size_t n = 0, npfd = 0, killed = 0;
	pid_t self = getpid();
	uid_t uid;

	if (proc_list(&procs, &n) < 0) {
		log_err("cannot look for the processes of interrupted jobs");
		return 0;
	}
	/* Again at each pass: the leader may have been killed by the last. */
	for (size_t i = 0; i < es->n_recover; i++) {
		struct recover_item *it = &es->recover[i];

		if (it->pgid > 1 && it->pg_start)
			it->leader_alive = proc_start_time(it->pgid) == it->pg_start;
	}
	pfds = calloc(n + 1, sizeof(*pfds));
	for (size_t i = 0; i < n; i++) {
		struct recover_item *it;
		int pfd;

		void *seen;

		if (procs[i].pid == self || procs[i].pid <= 1 || procs[i].state == 'Z')
			continue;
		/* Killed by an earlier pass and not gone yet (its wait timed
		 * out): not found again. */
		if (lh_table_lookup_ex(done, (void *)(intptr_t)procs[i].pid, &seen) &&
		    (uintptr_t)seen == (uintptr_t)procs[i].start)
			continue;
		it = recover_match(by_marker, by_pgid, &procs[i]);
		if (!it)
			continue;
		/* Never another user's process, whatever it claims (a marker
		 * can be copied by anyone) or whichever group it is in.
		 * Counted once, at the first pass. */
		if (proc_real_uid(procs[i].pid, &uid) < 0 || uid != it->uid) {
			if (es->passes == 0)
				it->spared++;
			continue;
		}
		/* A pidfd, taken before the kill, names this very process and
		 * tells when it has really exited. */
		pfd = (int)syscall(SYS_pidfd_open, procs[i].pid, 0);
		if (proc_start_time(procs[i].pid) != procs[i].start) {
			if (pfd >= 0)
				close(pfd);
			continue;
		}
		if (kill(procs[i].pid, SIGKILL) == 0) {
			it->killed++;
			killed++;
			(void)lh_table_insert(done, (void *)(intptr_t)procs[i].pid,
					      (void *)(uintptr_t)procs[i].start);
		}
		if (pfd >= 0 && pfds) {
			pfds[npfd].fd = pfd;
			pfds[npfd].events = POLLIN;
			npfd++;
		} else if (pfd >= 0) {
			close(pfd);
		}
	}
	/* Start-up only (no loop yet): wait, bounded, until they are gone,
	 * so that "interrupted" also means "no process left". */
	for (size_t i = 0; i < npfd; i++) {
		int r;

		do
			r = poll(&pfds[i], 1, 5000);
		while (r < 0 && errno == EINTR);
		close(pfds[i].fd);
	}
	free(pfds);
	free(procs);
	es->passes++;
	return killed;
}

/* Passes at most: each kills every matching process alive, so only what
 * those forked meanwhile is left for the next (a fork loop needs a few). */
#define SWEEP_PASSES_MAX 32

void exec_recover_sweep(struct coopd *d)
{
	struct exec_recover *es = d->exec_recover;
	struct lh_table *by_marker = NULL, *by_pgid = NULL, *done = NULL;

	if (!es || es->n_recover == 0)
		return;
	if (!exec_same_boot(d)) {
		/* Every process alive now started after the records were made
		 * (or nothing tells): none can be proven to be a job's. */
		log_notice("%zu exec job(s) were interrupted in another boot (or by a coopd that "
			   "kept no boot id): no process of theirs can still run; nothing is "
			   "killed",
			   es->n_recover);
		goto out;
	}
	by_marker = lh_kchar_table_new((int)es->n_recover * 2 + 16, NULL);
	by_pgid = lh_kptr_table_new((int)es->n_recover * 2 + 16, NULL);
	done = lh_kptr_table_new((int)es->n_recover * 4 + 16, NULL);
	if (!by_marker || !by_pgid || !done) {
		log_err("cannot look for the processes of interrupted jobs");
		goto out;
	}
	for (size_t i = 0; i < es->n_recover; i++) {
		struct recover_item *it = &es->recover[i];

		(void)lh_table_insert(by_marker, it->marker, it);
		if (it->pgid > 1 && it->pg_start)
			(void)lh_table_insert(by_pgid, (void *)(intptr_t)it->pgid, it);
	}
	/* Until a pass finds nothing to kill.  The processes of a job that
	 * was starting when coopd died run on meanwhile: one that forks
	 * between a pass's listing of /proc and its kill leaves a child that
	 * pass never saw (a SIGKILL sent before a fork completes makes the
	 * fork fail, so once a pass has killed the parent every such child is
	 * in /proc for the next). */
	while (sweep_pass(es, by_marker, by_pgid, done) > 0) {
		if (es->passes == SWEEP_PASSES_MAX) {
			log_err("processes of interrupted jobs were still being found after %d "
				"passes over /proc; some may be left",
				SWEEP_PASSES_MAX);
			break;
		}
	}
	for (size_t i = 0; i < es->n_recover; i++) {
		if (es->recover[i].killed)
			log_notice("graph %s node %s: killed %d process(es) left from before the "
				   "restart",
				   es->recover[i].gid, es->recover[i].path, es->recover[i].killed);
		if (es->recover[i].spared)
			log_notice("graph %s node %s: left alone %d process(es) of another user "
				   "that matched its records",
				   es->recover[i].gid, es->recover[i].path, es->recover[i].spared);
	}
out:
	if (by_marker)
		lh_table_free(by_marker);
	if (by_pgid)
		lh_table_free(by_pgid);
	if (done)
		lh_table_free(done);
	exec_recover_free(d);
}

void exec_recover_free(struct coopd *d)
{
	if (!d->exec_recover)
		return;
	free(d->exec_recover->recover);
	free(d->exec_recover);
	d->exec_recover = NULL;
}
