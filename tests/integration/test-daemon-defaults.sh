#!/bin/sh
# The default limits agree with each other (issue 18, defect 13): a default
# coopd reads a graph of its default max_nodes nodes whole.
#  1. Arithmetic, from `coopd --help`'s defaults: a compact graph of
#     max_nodes + 1 noop tasks, and the same written by Python's json.dumps
#     (with spaces), fits in max_request_bytes, which fits in
#     max_input_bytes_per_user (a request being read counts against it);
#     max_active_nodes_per_user is at least max_nodes (one graph of
#     max_nodes may run).
#  2. A default coopd (no configuration file) answers a graph of max_nodes
#     + 1 nodes with -32003 naming max_nodes, not -32600 "message too
#     large": it read the request whole (a second or two: the node count is
#     checked before the nodes are parsed).
#  3. With COOPD_SOAK=1 (`make soak`): a graph of exactly max_nodes nodes is
#     accepted and runs to `succeeded` (about 20 s and 700 MB here).
. "$(dirname "$0")/../lib-coopd.sh"

help=$("$COOPD_BIN" --help) || fail "coopd --help"
default_of() {
	printf '%s\n' "$help" | sed -n "s/^ *$1 .*(\(default \)\{0,1\}\([0-9]*\))\$/\2/p"
}
MAX_REQ=$(default_of max_request_bytes)
MAX_NODES=$(default_of max_nodes)
MAX_IN=$(default_of max_input_bytes_per_user)
MAX_ACT_NODES=$(default_of max_active_nodes_per_user)
[ -n "$MAX_REQ" ] && [ -n "$MAX_NODES" ] && [ -n "$MAX_IN" ] && [ -n "$MAX_ACT_NODES" ] ||
	fail "defaults not found in coopd --help: '$MAX_REQ' '$MAX_NODES' '$MAX_IN' '$MAX_ACT_NODES'"
export MAX_REQ MAX_NODES MAX_IN MAX_ACT_NODES

coopd_start
coopd_py <<'PYEOF' || fail "the defaults disagree"
max_req, max_nodes, max_in = (int(os.environ[k]) for k in ("MAX_REQ", "MAX_NODES", "MAX_IN"))

def graph_text(n, sep=","):
    colon = ":" if sep == "," else ": "
    node = '{"id"%s"n%%d"%s"kind"%s"task"%s"fn"%s"noop"}' % ((colon,) + (sep, colon) * 2)
    return '{"name"%s"defaults"%s"nodes"%s[%s]}' % (
        colon, sep, colon, sep.join(node % i for i in range(n)))

envelope = len('{"jsonrpc":"2.0","id":1,"method":"submit","params":{"graph":}}')
# 1. arithmetic
compact = graph_text(max_nodes + 1)
spaced_len = len(graph_text(max_nodes, ", "))
expect(envelope + len(compact) <= max_req,
       "a compact graph of max_nodes + 1 small nodes fits in max_request_bytes",
       (len(compact), max_req))
expect(envelope + spaced_len <= max_req,
       "the same written by json.dumps fits too", (spaced_len, max_req))
expect(max_req <= max_in, "max_request_bytes <= max_input_bytes_per_user", (max_req, max_in))
max_act_nodes = int(os.environ["MAX_ACT_NODES"])
expect(max_nodes <= max_act_nodes, "max_nodes <= max_active_nodes_per_user",
       (max_nodes, max_act_nodes))
print("max_nodes %d: compact %d bytes (%.1f per node), json.dumps %d; max_request_bytes %d"
      % (max_nodes, len(compact), len(compact) / (max_nodes + 1), spaced_len, max_req))

# 2. a default coopd reads max_nodes + 1 nodes whole and refuses them for max_nodes
c = Conn(timeout=600)
c.send_raw('{"jsonrpc":"2.0","id":1,"method":"submit","params":{"graph":%s}}\n' % compact)
m = c.answer(1)
del compact
e = m.get("error", {})
expect(e.get("code") == -32003 and "max_nodes" in e.get("message", ""),
       "max_nodes + 1 nodes: -32003 naming max_nodes", m)
expect(e.get("data", {}).get("path") == "nodes", "at the path nodes", m)

# 3. the large form
if os.environ.get("COOPD_SOAK") == "1":
    c.send_raw('{"jsonrpc":"2.0","id":2,"method":"submit","params":{"graph":%s}}\n'
               % graph_text(max_nodes))
    m = c.answer(2)
    expect("result" in m, "a graph of max_nodes nodes is accepted", m)
    st = c.result("wait", {"id": m["result"]["id"], "summary": True})
    expect(st["state"] == "succeeded" and st["counts"] == {"succeeded": max_nodes},
           "and runs", st)
    print("soak: %d nodes ran" % max_nodes)
c.close()
ping_ok()
PYEOF
coopd_stop
coopd_pass
