/*
 * proto-rpc.h - JSON-RPC 2.0 messages of the coopd protocol, with json-c.
 *
 * One line in, one decoded message out; one message in, one line out.  The
 * daemon uses proto_request_parse() and the per-method proto_*_params_decode()
 * calls, then builds answers with proto_result_line()/proto_error_line() and
 * events with proto_notification_line().  The client does the mirror image:
 * proto_*_params_encode(), proto_request_line(), proto_response_parse() and
 * the result decoders.  Method names, codes and limits come from protocol.h.
 *
 * Errors.  Every call that can reject input fills a struct proto_error with
 * the JSON-RPC code to answer with, a path into the message ("params.id",
 * "params.graph.nodes[2]" is not used: graph paths are relative to the graph,
 * see proto-graph.h) and a human reason ("expected a string").  Calls return
 * 0 or a negative errno: -EINVAL (input rejected, err filled), -E2BIG (a
 * limit was exceeded, err filled), -ENOMEM (err filled with -32603).  Nothing
 * here prints or logs.
 *
 * Types.  Every field is read through proto_json_get() or one of its typed
 * wrappers, which check the JSON type (and integer ranges) and write the
 * error path, so no caller ever trusts a type.  Unknown params fields are
 * rejected with -32602 and the path of the first unknown key.
 *
 * Ownership.  json-c objects returned through ret_* pointers are owned by
 * the caller (json_object_put()); objects documented as "borrowed" live as
 * long as the message they point into.  Calls whose name says "steals" take
 * over one reference of their argument, even on error.
 */
#ifndef COOPD_PROTO_RPC_H
#define COOPD_PROTO_RPC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

struct json_object;

/* Sizes of the error text buffers; longer text is truncated with "...". */
#define PROTO_ERROR_PATH_MAX 1024
#define PROTO_ERROR_REASON_MAX 512

/* A rejected message or field.  code is a PROTO_ERR_* value (0: no error),
 * path is "" when the whole message is concerned. */
struct proto_error {
	int code;
	char path[PROTO_ERROR_PATH_MAX];
	char reason[PROTO_ERROR_REASON_MAX];
};

/* Limits applied while decoding.  Fill with proto_limits_default() and
 * override what the configuration says. */
struct proto_limits {
	size_t max_request;       /* bytes of one request line */
	size_t max_nodes;         /* nodes per graph, the root scope excluded */
	unsigned max_scope_depth; /* nested scopes, the root scope being 1 */
	unsigned max_json_depth;  /* JSON nesting of one message */
	/* A document read back from the state store (a settled graph's
	 * tree, a restart, an import), not a new one: an env name reserved
	 * since it was accepted (COOPD_JOB) does not make it unreadable.
	 * A rerun parses it as a new document and is refused. */
	bool stored;
};

void proto_limits_default(struct proto_limits *lim);

/* Clears err (code 0, empty path and reason). */
void proto_error_clear(struct proto_error *err);

/* Sets code, path (NULL for "") and a printf-formatted reason.  Returns the
 * errno the caller should return: -E2BIG for PROTO_ERR_LIMIT, -ENOMEM for
 * PROTO_ERR_INTERNAL, else -EINVAL.  err may be NULL. */
int proto_error_set(struct proto_error *err, int code, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int proto_error_setv(struct proto_error *err, int code, const char *path, const char *fmt,
		     va_list ap) __attribute__((format(printf, 4, 0)));

/* The standard message for a code ("Invalid params", "No such graph"...). */
const char *proto_error_message(int code);

/* Names <-> enums for the protocol.h enums; from_name returns -1 if unknown. */
const char *proto_state_name(enum proto_state s);
int proto_state_from_name(const char *name);
bool proto_state_is_final(enum proto_state s);
const char *proto_cancel_reason_name(enum proto_cancel_reason r);
int proto_cancel_reason_from_name(const char *name);

/* Formats unix time in milliseconds as RFC 3339 UTC with milliseconds
 * ("2024-05-01T12:00:00.123Z") into buf (at least PROTO_TIME_BUF bytes).
 * Returns 0 or -EINVAL (negative or out-of-range time, buf too small). */
#define PROTO_TIME_BUF 32
int proto_time_format(int64_t unix_ms, char *buf, size_t size);

/* Parses what proto_time_format() writes (also without the milliseconds).
 * Returns 0 or -EINVAL. */
int proto_time_parse(const char *text, int64_t *ret_unix_ms);

/* Checks an id ([A-Za-z0-9_.-]{1,64}); used for node and graph ids. */
bool proto_id_valid(const char *s, size_t len);

/* Checks a node path as used in params: "/" for the root, or valid ids
 * joined by '/' ("load/primary"), optionally with a leading '/'. */
bool proto_node_path_valid(const char *s, size_t len);

/*
 * Type-checked field access.
 */

/* Expected JSON type of a field, for proto_json_get(). */
enum proto_jtype {
	PROTO_J_ANY,
	PROTO_J_OBJECT,
	PROTO_J_ARRAY,
	PROTO_J_STRING,
	PROTO_J_BOOL,
	PROTO_J_INT, /* an integer (not a double, not 1.0) */
	PROTO_J_NULL,
};

/* Looks up key in obj (a JSON object) and checks its type.  path is obj's
 * path ("params"; "" for the top level); the field's path is path + "." +
 * key, written into err on failure.  Returns 1 and *ret (borrowed) when
 * present with the right type, 0 when absent (and required false; an
 * explicit JSON null counts as absent for optional fields, except when the
 * type asked for is PROTO_J_NULL or PROTO_J_ANY), or -EINVAL with err
 * filled ("missing required field", "expected a string"). */
int proto_json_get(struct json_object *obj, const char *path, const char *key,
		   enum proto_jtype type, bool required, struct json_object **ret,
		   struct proto_error *err);

/* The same for element index of the array arr at path ("nodes[2].argv");
 * the element's path is path + "[index]".  Returns 1, or -EINVAL for a
 * wrong type or an index out of range (an element is never "absent"). */
int proto_json_get_index(struct json_object *arr, const char *path, size_t index,
			 enum proto_jtype type, struct json_object **ret, struct proto_error *err);

/* Adds val (stolen whatever happens; NULL, a failed constructor, gives
 * -ENOMEM) to obj under key, so that building a message is a straight line
 * of calls: json_object_object_add() neither frees val when it fails nor
 * takes NULL.  Returns 0 or -ENOMEM. */
int proto_json_add(struct json_object *obj, const char *key, struct json_object *val);
/* The same for appending val to the array arr. */
int proto_json_append(struct json_object *arr, struct json_object *val);

/* Typed wrappers with the same return convention.  Integers are checked
 * against [min, max]; strings against max_len bytes and embedded NULs
 * (*ret points into obj, borrowed). */
int proto_json_get_string(struct json_object *obj, const char *path, const char *key, bool required,
			  size_t max_len, const char **ret, size_t *ret_len,
			  struct proto_error *err);
int proto_json_get_int(struct json_object *obj, const char *path, const char *key, bool required,
		       int64_t min, int64_t max, int64_t *ret, struct proto_error *err);
int proto_json_get_bool(struct json_object *obj, const char *path, const char *key, bool required,
			bool *ret, struct proto_error *err);

/* Checks that obj has no key outside the NULL-terminated list allowed.
 * Returns 0, or -EINVAL with err (code) at path + "." + the first unknown
 * key and reason "unknown field". */
int proto_json_check_keys(struct json_object *obj, const char *path, const char *const *allowed,
			  int code, struct proto_error *err);

/* Joins a child path: parent + "." + key (or just key when parent is ""),
 * or parent + "[" index "]" for key NULL.  Truncates safely; returns buf. */
char *proto_path_join(char *buf, size_t size, const char *parent, const char *key, size_t index);

/*
 * Requests.
 */

enum proto_method {
	PROTO_M_UNKNOWN = -1,
	PROTO_M_VERSION = 0,
	PROTO_M_PING,
	PROTO_M_SUBMIT,
	PROTO_M_STATUS,
	PROTO_M_LIST,
	PROTO_M_CANCEL,
	PROTO_M_WAIT,
	PROTO_M_LOGS,
	PROTO_M_WATCH,
	PROTO_M_STATS,
	PROTO_M_METRICS,
	PROTO_M_REMOVE,
	PROTO_M_RERUN,
	PROTO_M_PAUSE,
	PROTO_M_RESUME,
	PROTO_M__MAX
};

const char *proto_method_name(enum proto_method m); /* NULL if out of range */
enum proto_method proto_method_from_name(const char *name);

/* One decoded request.  msg owns everything; method, params and id are
 * borrowed from it. */
struct proto_request {
	struct json_object *msg;     /* the whole message (owned) */
	const char *method;          /* as sent */
	enum proto_method method_id; /* PROTO_M_UNKNOWN when not a coopd method */
	struct json_object *params;  /* NULL when absent */
	struct json_object *id;      /* NULL for a notification; number or string */
	bool has_id;                 /* id member present (JSON null counts) */
};

/* Decodes one line (without '\n', len bytes, may contain NUL which is
 * rejected).  Checks: size (max_request, -32600), UTF-8 and syntax
 * (-32700), nesting (max_json_depth, -32600), a single object (arrays,
 * i.e. batches, are rejected with -32600), "jsonrpc" == "2.0", "method" a
 * string, "params" an object if present, "id" a number or string if
 * present (null is accepted as JSON-RPC allows it), no other members.
 * An unknown method is not an error here: method_id is PROTO_M_UNKNOWN and
 * the caller answers -32601.
 * On success *ret is filled and must be released with proto_request_free().
 * On failure, too, *ret is filled as far as decoding got, so that ret->id
 * (if it could be found) can be echoed in the error answer; release it with
 * proto_request_free() in both cases.  lim may be NULL for the defaults.
 * JSON-RPC answers nothing to a valid notification (has_id false); errors
 * found before an id could be read are answered with id null.  The framing
 * (proto-frame.h) should use lim->max_request as its max_line, so that an
 * oversized request is cut off there and answered -32600 "message too
 * large" without being buffered. */
int proto_request_parse(const char *line, size_t len, const struct proto_limits *lim,
			struct proto_request *ret, struct proto_error *err);

/* Options of proto_request_parse_ex(). */
enum {
	/* A well-formed `submit` request is read without a json-c document of
	 * its graph (~1 KiB per node): params.graph is then an opaque json-c
	 * stand-in that only proto_graph_parse() and json-c's serialisation
	 * (json_object_to_json_string*) understand; it has no members to read.
	 * Every other request, and every malformed one, is decoded exactly as
	 * proto_request_parse() does, with the same errors. */
	PROTO_REQ_COMPACT_GRAPH = 1 << 0,
};

/* proto_request_parse() with PROTO_REQ_* flags. */
int proto_request_parse_ex(const char *line, size_t len, const struct proto_limits *lim,
			   unsigned flags, struct proto_request *ret, struct proto_error *err);

void proto_request_free(struct proto_request *req);

/* Builds a request line ("...\n", NUL-terminated, malloc()ed into *ret_line,
 * its length without the NUL in *ret_len).  params (steals; may be NULL for
 * none) is the params object; id >= 0. */
int proto_request_line(const char *method, struct json_object *params, int64_t id, char **ret_line,
		       size_t *ret_len);

/* Answers.  id is borrowed (NULL encodes JSON null); result is stolen (NULL
 * encodes {}).  Lines end in '\n' and are malloc()ed.  Return 0 or -ENOMEM. */
int proto_result_line(struct json_object *id, struct json_object *result, char **ret_line,
		      size_t *ret_len);

/* Error answer: {"code", "message": err->reason or the standard message,
 * "data": {"path", "reason"}}; data is left out when reason is empty and
 * path only when empty. */
int proto_error_line(struct json_object *id, const struct proto_error *err, char **ret_line,
		     size_t *ret_len);

/* Notification line {"jsonrpc","method","params"}; params stolen. */
int proto_notification_line(const char *method, struct json_object *params, char **ret_line,
			    size_t *ret_len);

/* Serialises any object to a line with '\n' (no limit; answers are not
 * limited).  obj borrowed. */
int proto_json_line(struct json_object *obj, char **ret_line, size_t *ret_len);

/*
 * Responses (client side).
 */

enum proto_response_kind {
	PROTO_RESP_RESULT,       /* id + result */
	PROTO_RESP_ERROR,        /* id (maybe NULL) + error */
	PROTO_RESP_NOTIFICATION, /* method + params */
};

struct proto_response {
	struct json_object *msg; /* owned */
	enum proto_response_kind kind;
	bool has_id;
	int64_t id;                 /* when has_id and the id was an integer */
	struct json_object *result; /* borrowed */
	struct proto_error error;   /* code, data.path, data.reason (or message) */
	const char *error_message;  /* borrowed, the "message" member */
	const char *method;         /* notifications */
	struct json_object *params; /* notifications, borrowed */
};

/* Decodes one line from the daemon.  Answers are not size-limited, but the
 * nesting limit of lim (or the default) applies.  Returns 0, or -EINVAL with
 * err describing what is wrong with the line itself.  Release with
 * proto_response_free() in both cases. */
int proto_response_parse(const char *line, size_t len, const struct proto_limits *lim,
			 struct proto_response *ret, struct proto_error *err);

void proto_response_free(struct proto_response *resp);

/*
 * Per-method params.  decode: the daemon checks params (may be NULL for
 * absent) and fills the struct (strings borrowed from params); unknown
 * fields are -32602 at "params.<key>".  encode: the client builds the
 * params object (*ret owned) from the struct.  Optional fields use has_*
 * flags or NULL.
 */

/* version, ping, stats, metrics: no params (absent or {}). */
int proto_empty_params_decode(struct json_object *params, struct proto_error *err);

struct proto_submit_params {
	struct json_object *graph; /* borrowed: hand to proto_graph_parse() */
};
int proto_submit_params_decode(struct json_object *params, struct proto_submit_params *ret,
			       struct proto_error *err);
/* graph is borrowed (a reference is taken). */
int proto_submit_params_encode(const struct proto_submit_params *p, struct json_object **ret);

struct proto_status_params {
	const char *id;
	bool summary;
};
int proto_status_params_decode(struct json_object *params, struct proto_status_params *ret,
			       struct proto_error *err);
int proto_status_params_encode(const struct proto_status_params *p, struct json_object **ret);

struct proto_list_params {
	bool all;
};
int proto_list_params_decode(struct json_object *params, struct proto_list_params *ret,
			     struct proto_error *err);
int proto_list_params_encode(const struct proto_list_params *p, struct json_object **ret);

struct proto_cancel_params {
	const char *id;
	const char *node; /* NULL: the whole graph */
	bool has_grace_ms;
	int64_t grace_ms;   /* >= 0 */
	const char *reason; /* free text, NULL if absent */
};
int proto_cancel_params_decode(struct json_object *params, struct proto_cancel_params *ret,
			       struct proto_error *err);
int proto_cancel_params_encode(const struct proto_cancel_params *p, struct json_object **ret);

struct proto_wait_params {
	const char *id;
	bool has_timeout_ms;
	int64_t timeout_ms; /* >= 0 */
	bool summary;
};
int proto_wait_params_decode(struct json_object *params, struct proto_wait_params *ret,
			     struct proto_error *err);
int proto_wait_params_encode(const struct proto_wait_params *p, struct json_object **ret);

enum proto_stream { PROTO_STREAM_STDOUT, PROTO_STREAM_STDERR };

struct proto_logs_params {
	const char *id;
	const char *node;
	enum proto_stream stream;
	int64_t offset;  /* >= 0; 0 when absent */
	int64_t attempt; /* 1 .. PROTO_MAX_ATTEMPTS; 0 when absent (the last) */
};
int proto_logs_params_decode(struct json_object *params, struct proto_logs_params *ret,
			     struct proto_error *err);
int proto_logs_params_encode(const struct proto_logs_params *p, struct json_object **ret);

struct proto_watch_params {
	const char *id; /* NULL: every graph the caller may see */
};
int proto_watch_params_decode(struct json_object *params, struct proto_watch_params *ret,
			      struct proto_error *err);
int proto_watch_params_encode(const struct proto_watch_params *p, struct json_object **ret);

/* remove {id}; pause and resume {id, node?}; rerun {id, failed_only?}. */
struct proto_graph_node_params {
	const char *id;
	const char *node; /* NULL: the whole graph (pause, resume; never for remove) */
};
int proto_remove_params_decode(struct json_object *params, struct proto_graph_node_params *ret,
			       struct proto_error *err);
int proto_pause_params_decode(struct json_object *params, struct proto_graph_node_params *ret,
			      struct proto_error *err);
int proto_graph_node_params_encode(const struct proto_graph_node_params *p,
				   struct json_object **ret);

struct proto_rerun_params {
	const char *id;
	bool failed_only;
};
int proto_rerun_params_decode(struct json_object *params, struct proto_rerun_params *ret,
			      struct proto_error *err);
int proto_rerun_params_encode(const struct proto_rerun_params *p, struct json_object **ret);

/*
 * Results of the small methods (status, list, stats and watch events are
 * built by the daemon and read by the client as JSON; see docs/protocol.md).
 * encode: daemon side, *ret owned.  decode: client side, strings borrowed
 * from result.  Decoders accept unknown result fields (forward
 * compatibility) but check the types of the known ones.
 */

struct proto_version_result {
	const char *version; /* package version */
	int64_t protocol;    /* PROTO_VERSION of the daemon */
};
int proto_version_result_encode(const struct proto_version_result *r, struct json_object **ret);
int proto_version_result_decode(struct json_object *result, struct proto_version_result *ret,
				struct proto_error *err);

struct proto_submit_result {
	const char *id;
};
int proto_submit_result_encode(const struct proto_submit_result *r, struct json_object **ret);
int proto_submit_result_decode(struct json_object *result, struct proto_submit_result *ret,
			       struct proto_error *err);

/* cancel -> {requested: true} */
int proto_cancel_result_encode(struct json_object **ret);

struct proto_logs_result {
	const char *data; /* bytes (JSON string; may hold NUL when decoded) */
	size_t data_len;
	int64_t next_offset;
	bool eof;
};
int proto_logs_result_encode(const struct proto_logs_result *r, struct json_object **ret);
int proto_logs_result_decode(struct json_object *result, struct proto_logs_result *ret,
			     struct proto_error *err);

struct proto_metrics_result {
	const char *text;
};
int proto_metrics_result_encode(const struct proto_metrics_result *r, struct json_object **ret);
int proto_metrics_result_decode(struct json_object *result, struct proto_metrics_result *ret,
				struct proto_error *err);

#endif /* COOPD_PROTO_RPC_H */
