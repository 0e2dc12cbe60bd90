/*
 * method-ping.c - `ping` -> {}: the cheapest round trip (health checks,
 * tests waiting for the daemon, the latency benchmark).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "coopd.h"
#include "method.h"

static int ping_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_empty_params_decode(params, err);
}

static enum method_ret ping_handle(struct method_call *call, void *params)
{
	call->result = strdup("{}");
	if (!call->result)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	call->result_len = 2;
	return METHOD_OK;
}

const struct method method_ping = {
	.id = PROTO_M_PING,
	.params_size = 0,
	.decode = ping_decode,
	.handler = ping_handle,
};
