/*
 * method-stats.c - `stats` -> executor, budget, cancellation, job and
 * daemon counters as JSON (metrics-text.c renders them).
 */
#include "config.h"

#include "coopd.h"
#include "method.h"
#include "metrics-text.h"

static int stats_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_empty_params_decode(params, err);
}

static enum method_ret stats_handle(struct method_call *call, void *params)
{
	struct strbuf sb;

	sb_init(&sb);
	stats_render(call->d, &sb);
	return method_ok_sb(call, &sb);
}

const struct method method_stats = {
	.id = PROTO_M_STATS,
	.params_size = 0,
	.decode = stats_decode,
	.handler = stats_handle,
};
