/*
 * protocol.h - the one header that owns the coopd wire protocol.
 *
 * Everything both ends of the Unix socket must agree on lives here and only
 * here: the protocol number, the JSON-RPC method names, the error codes, the
 * names of states, kinds, policies and cancellation reasons as they appear in
 * JSON, and the default limits.  coopd (daemon/) and coopctl (client/) both
 * include it through libcoopproto; nothing in it depends on the executor.
 *
 * Bump PROTO_VERSION on every incompatible change to anything below or to
 * the message shapes decoded in proto-rpc.c / proto-graph.c.  Additions that
 * an older peer can ignore (a new optional result field) do not need a bump;
 * a new required field, a renamed method or a changed meaning does.
 */
#ifndef COOPD_PROTOCOL_H
#define COOPD_PROTOCOL_H

/* Protocol number, reported by `version` as `protocol`.  Bump on change. */
#define PROTO_VERSION 1

/* JSON-RPC version string every message must carry. */
#define PROTO_JSONRPC "2.0"

/* Method names (client -> daemon requests). */
#define PROTO_METHOD_VERSION "version"
#define PROTO_METHOD_PING "ping"
#define PROTO_METHOD_SUBMIT "submit"
#define PROTO_METHOD_STATUS "status"
#define PROTO_METHOD_LIST "list"
#define PROTO_METHOD_CANCEL "cancel"
#define PROTO_METHOD_WAIT "wait"
#define PROTO_METHOD_LOGS "logs"
#define PROTO_METHOD_WATCH "watch"
#define PROTO_METHOD_STATS "stats"
#define PROTO_METHOD_METRICS "metrics"
#define PROTO_METHOD_REMOVE "remove"
#define PROTO_METHOD_RERUN "rerun"
#define PROTO_METHOD_PAUSE "pause"
#define PROTO_METHOD_RESUME "resume"

/* Notification names (daemon -> client, no id). */
#define PROTO_NOTIFY_EVENT "event"

/* JSON-RPC error codes.  -327xx/-326xx are JSON-RPC 2.0's own. */
#define PROTO_ERR_PARSE (-32700)            /* not JSON, bad UTF-8 */
#define PROTO_ERR_INVALID_REQUEST (-32600)  /* not a request; also too large/deep */
#define PROTO_ERR_METHOD_NOT_FOUND (-32601) /* unknown method */
#define PROTO_ERR_INVALID_PARAMS (-32602)   /* bad params; graph validation */
#define PROTO_ERR_INTERNAL (-32603)         /* daemon-side failure (ENOMEM, I/O) */
#define PROTO_ERR_NO_SUCH_GRAPH (-32001)    /* unknown graph (or not yours) */
#define PROTO_ERR_PERMISSION (-32002)       /* permission denied */
#define PROTO_ERR_LIMIT (-32003)            /* a limit was exceeded */
#define PROTO_ERR_SHUTTING_DOWN (-32004)    /* daemon is stopping */
#define PROTO_ERR_ACTIVE (-32005)           /* graph still active (remove, rerun) */

/* Default limits.  The daemon may be configured with others; these are what
 * proto_limits_default() (proto-rpc.h) fills in. */
/* 16 MiB per request line, as docs/protocol.md ("Limits") gives it.  Compact
 * JSON takes about 43 bytes per task node with a 7-character id, 49 with
 * json.dumps's spaces: the default holds a graph of about 340,000 small
 * nodes, and a graph near max_nodes needs max_request_bytes raised with it
 * (coopd.conf(5) says by how much; test-daemon-defaults.sh checks both). */
#define PROTO_DEFAULT_MAX_REQUEST (16u * 1024 * 1024) /* bytes per request line */
#define PROTO_DEFAULT_MAX_NODES 1000000u              /* nodes per graph, root excluded */
#define PROTO_DEFAULT_MAX_SCOPE_DEPTH 64u             /* root scope is depth 1 */
/* JSON nesting allowed in one message: every scope level costs two (an
 * object and its "nodes" array), plus room for the envelope, args and env. */
#define PROTO_DEFAULT_MAX_JSON_DEPTH (2u * PROTO_DEFAULT_MAX_SCOPE_DEPTH + 24u)
#define PROTO_ID_MAX_LEN 64u                             /* node id: [A-Za-z0-9_.-]{1,64} */
#define PROTO_GRAPH_ID_MAX_LEN 64u                       /* graph ids use the same syntax */
#define PROTO_NAME_MAX_LEN 256u                          /* graph name, bytes */
#define PROTO_REASON_MAX_LEN 256u                        /* free-text cancel reason, bytes */
#define PROTO_MAX_ARGV 65536u                            /* argv items of one exec node */
#define PROTO_MAX_ENV 4096u                              /* env entries of one exec node */
#define PROTO_MAX_PATH_LEN 4096u                         /* cwd bytes; node path in params */
#define PROTO_DEFAULT_MAX_EVENT_QUEUE (1u * 1024 * 1024) /* queued events per connection */
#define PROTO_DEFAULT_MAX_CONNECTIONS 256u
#define PROTO_DEFAULT_LOG_CAP (1u * 1024 * 1024) /* kept bytes per job stream */
#define PROTO_DEFAULT_LOG_CHUNK (64u * 1024)     /* bytes per `logs` answer */
#define PROTO_DEFAULT_RETENTION_DAYS 7u
#define PROTO_DEFAULT_RETENTION_GRAPHS 10000u
#define PROTO_DEFAULT_MAX_ACTIVE_PER_USER 10000u

/* Defaults of the job-graph format (coopd.graph(5)). */
#define PROTO_DEFAULT_BUDGET 128u
#define PROTO_MAX_BUDGET 2147483647u /* 2^31-1 */
#define PROTO_MAX_PARALLEL 2147483647u
#define PROTO_DEFAULT_GRACE_MS 5000
#define PROTO_MAX_ATTEMPTS 101 /* retries 0..100, plus the first attempt */
/* Largest time in ms a graph or a request may carry (about 31 years):
 * small enough that the executor can turn it into nanoseconds and add it
 * to a monotonic clock reading without overflowing int64. */
#define PROTO_MAX_TIME_MS 1000000000000LL

/* Socket locations (docs/protocol.md, section 1). */
#define PROTO_SYSTEM_SOCKET "/run/coopd/coopd.sock"
#define PROTO_USER_SOCKET_NAME "coopd.sock" /* under $XDG_RUNTIME_DIR */
#define PROTO_SOCKET_ENV "COOPD_SOCKET"
/* The variable coopd sets in every exec job's environment to the job's
 * marker GRAPH/NODEIDX, by which its processes are found again after a
 * crash: a node's env may not set it (coopd.graph(5), env). */
#define PROTO_JOB_MARKER_ENV "COOPD_JOB"

/* Node kinds as spelled in JSON. */
#define PROTO_KIND_EXEC_NAME "exec"
#define PROTO_KIND_TASK_NAME "task"
#define PROTO_KIND_BLOCKING_NAME "blocking"
#define PROTO_KIND_SCOPE_NAME "scope"

/* Scope policies as spelled in JSON. */
#define PROTO_POLICY_FAIL_FAST_NAME "fail_fast"
#define PROTO_POLICY_ALL_SETTLED_NAME "all_settled"
#define PROTO_POLICY_RACE_NAME "race"

/* Node and graph states (coopd.graph(5), STATES).  Order: non-final states first. */
enum proto_state {
	PROTO_STATE_PENDING,
	PROTO_STATE_RUNNING,
	PROTO_STATE_CANCELLING,
	PROTO_STATE_SUCCEEDED,
	PROTO_STATE_FAILED,
	PROTO_STATE_CANCELLED,
	PROTO_STATE_SKIPPED,
	PROTO_STATE_INTERRUPTED,
	PROTO_STATE__MAX
};

/* Cancellation reasons (docs/protocol.md, section 3). */
enum proto_cancel_reason {
	PROTO_CANCEL_CLIENT,
	PROTO_CANCEL_DEADLINE,
	PROTO_CANCEL_TIMEOUT,
	PROTO_CANCEL_SIBLING_FAILED,
	PROTO_CANCEL_RACE_LOST,
	PROTO_CANCEL_SHUTDOWN,
	PROTO_CANCEL__MAX
};

#endif /* COOPD_PROTOCOL_H */
