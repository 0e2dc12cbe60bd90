/*
 * method-metrics.c - `metrics` -> {text}: the Prometheus exposition text.
 */
#include "config.h"

#include "coopd.h"
#include "method.h"
#include "metrics-text.h"

static int metrics_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_empty_params_decode(params, err);
}

static enum method_ret metrics_handle(struct method_call *call, void *params)
{
	struct strbuf text, sb;

	sb_init(&text);
	metrics_render(call->d, &text);
	sb_init(&sb);
	sb_puts(&sb, "{\"text\":");
	sb_json_str(&sb, text.buf ? text.buf : "", text.len);
	sb_putc(&sb, '}');
	if (text.oom)
		sb.oom = true;
	sb_free(&text);
	return method_ok_sb(call, &sb);
}

const struct method method_metrics = {
	.id = PROTO_M_METRICS,
	.params_size = 0,
	.decode = metrics_decode,
	.handler = metrics_handle,
};
