/*
 * method-version.c - `version` -> {version, protocol}.
 */
#include "config.h"

#include "coopd.h"
#include "method.h"

static int version_decode(struct json_object *params, void *ret, struct proto_error *err)
{
	return proto_empty_params_decode(params, err);
}

static enum method_ret version_handle(struct method_call *call, void *params)
{
	struct proto_version_result r = {.version = PACKAGE_VERSION, .protocol = PROTO_VERSION};
	struct json_object *obj;

	if (proto_version_result_encode(&r, &obj) < 0)
		return method_fail(call, PROTO_ERR_INTERNAL, NULL, "out of memory");
	return method_ok_json(call, obj);
}

const struct method method_version = {
	.id = PROTO_M_VERSION,
	.params_size = 0,
	.decode = version_decode,
	.handler = version_handle,
};
