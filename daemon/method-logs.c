/*
 * method-logs.c - `logs {id, node, stream, offset?}` -> {data, next_offset,
 * eof}.
 *
 * Reads at most one chunk (64 KiB) of the job's log file from the state
 * directory (job-logfile.c: never through a symbolic link; a Slurm job's
 * from slurm_spool_dir, job-slurm.c), so logs of finished graphs survive
 * restarts.  `eof` is true once the job has settled (every node of a graph
 * that is no longer active has) and offset has
 * reached the end.  Bytes that
 * are not valid UTF-8 come out as U+FFFD (JSON strings are UTF-8);
 * next_offset always counts file bytes.  A node with retries has logs per
 * attempt; `attempt` (from 1) picks one, the default is the last begun.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "coopd.h"
#include "graph-model.h"
#include "job-logfile.h"
#include "job-slurm.h"
#include "method.h"

static int logs_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_logs_params_decode(params, ret, err);
}

static enum method_ret logs_handle(struct method_call *call, void *params)
{
	struct proto_logs_params *p = params;
	struct graph *g = method_graph(call, p->id);
	struct rnode *n;
	char buf[PROTO_DEFAULT_LOG_CHUNK];
	ssize_t got = 0;
	struct strbuf sb;
	unsigned begun, attempt;
	bool over;
	int fd;

	if (!g)
		return METHOD_ERROR;
	n = graph_find(g, p->node);
	if (!n)
		return method_fail(call, PROTO_ERR_INVALID_PARAMS, "params.node",
				   "no node '%.256s' in graph %s", p->node, g->id);
	if (n->def->kind != PROTO_NODE_EXEC)
		return method_fail(call, PROTO_ERR_INVALID_PARAMS, "params.node",
				   "node '%.256s' is not an exec job: it has no logs",
				   n->def->path);
	begun = n->att_started > n->att_done ? n->att_started : n->att_done;
	if (begun == 0)
		begun = 1;
	attempt = p->attempt > 0 ? (unsigned)p->attempt : begun;
	if (attempt > begun)
		return method_fail(call, PROTO_ERR_INVALID_PARAMS, "params.attempt",
				   "node '%.256s' has had %u attempt(s) so far (of %u)",
				   n->def->path, begun, n->def->retries + 1u);
	/* An attempt before the last begun one has ended for good. */
	over = n->settled || !g->active || attempt < begun || attempt <= n->att_done;
	if (n->def->placement == PROTO_PLACEMENT_SLURM)
		fd = slurm_log_open(call->d, g, n->idx, attempt, p->stream == PROTO_STREAM_STDERR);
	else
		fd = logfile_open_read_attempt(call->d, g->id, n->idx, attempt,
					       p->stream == PROTO_STREAM_STDERR);
	if (fd >= 0) {
		got = pread(fd, buf, sizeof(buf), (off_t)p->offset);
		close(fd);
		if (got < 0)
			return method_fail(call, PROTO_ERR_INTERNAL, NULL,
					   "cannot read the log: %s", strerror(errno));
	} else if (fd != -ENOENT) {
		/* A log that is not coopd's own file is never read (job-logfile.c). */
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "cannot open the log: %s",
				   strerror(-fd));
	}
	sb_init(&sb);
	sb_puts(&sb, "{\"data\":");
	sb_json_str(&sb, buf, (size_t)got);
	sb_printf(&sb, ",\"next_offset\":%lld,\"eof\":%s}", (long long)(p->offset + got),
		  got == 0 && over ? "true" : "false");
	return method_ok_sb(call, &sb);
}

const struct method method_logs = {
	.id = PROTO_M_LOGS,
	.params_size = sizeof(struct proto_logs_params),
	.decode = logs_decode,
	.handler = logs_handle,
};
