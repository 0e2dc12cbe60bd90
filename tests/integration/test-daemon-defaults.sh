#!/bin/sh
# The default limits (docs/protocol.md "Limits", coopd.conf(5)):
#  1. `coopd --help` gives max_request_bytes 16777216 (16 MiB), and the
#     defaults agree where they must: max_request_bytes fits in
#     max_input_bytes_per_user (a request being read counts against it),
#     max_active_nodes_per_user is at least max_nodes (one graph of
#     max_nodes may run), max_active_bytes_per_user at least 3 x
#     max_request_bytes (the stored text of a request is at most 3 times
#     as long: one graph of max_request_bytes may run), answer_bytes_per_user
#     at least 2 x answer_backlog_bytes (one connection's backlog does not
#     fill its user's share of answers); 16 MiB holds a graph of 340,000 small nodes as
#     Python's json.dumps writes it (what coopd.conf(5) says), not one of
#     max_nodes, which 64 MiB holds (what coopd.conf(5) says to set).
#  2. A default coopd (no configuration file), as a real user (root only;
#     else as the test's own user): a request line of 16 MiB + 1 byte is
#     answered -32600 "message too large (max_request_bytes 16777216)" and
#     the connection goes on; a submit of exactly 16 MiB is parsed,
#     accepted as that user's and runs.
#  3. With max_request_bytes = 67108864 (coopd.conf(5)'s advice for graphs
#     of max_nodes), a graph of max_nodes + 1 nodes is read whole and
#     refused with -32003 naming max_nodes, not -32600.
#  4. With COOPD_SOAK=1 (`make soak`): a graph of exactly max_nodes nodes is
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
MAX_ACT_BYTES=$(default_of max_active_bytes_per_user)
[ -n "$MAX_REQ" ] && [ -n "$MAX_NODES" ] && [ -n "$MAX_IN" ] && [ -n "$MAX_ACT_NODES" ] &&
	[ -n "$MAX_ACT_BYTES" ] ||
	fail "defaults not found in coopd --help: '$MAX_REQ' '$MAX_NODES' '$MAX_IN' '$MAX_ACT_NODES' '$MAX_ACT_BYTES'"
[ "$MAX_REQ" = 16777216 ] || fail "max_request_bytes defaults to $MAX_REQ, want 16777216"
# Its help text takes two lines: the default ends the second.
ANSWER_SHARE=$(printf '%s\n' "$help" | tr '\n' ' ' |
	sed -n 's/.* answer_bytes_per_user [^(]*(\([0-9]*\)).*/\1/p')
BACKLOG=$(default_of answer_backlog_bytes)
[ -n "$ANSWER_SHARE" ] && [ -n "$BACKLOG" ] ||
	fail "answer defaults not found in coopd --help: '$ANSWER_SHARE' '$BACKLOG'"
[ "$ANSWER_SHARE" -ge $((2 * BACKLOG)) ] ||
	fail "answer_bytes_per_user $ANSWER_SHARE < 2 x answer_backlog_bytes $BACKLOG"
export MAX_REQ MAX_NODES MAX_IN MAX_ACT_NODES MAX_ACT_BYTES

# A real user of its own, in a group that may use the socket.
USER_NAME=
if [ "$(id -u)" = 0 ] && command -v useradd >/dev/null 2>&1 && command -v groupadd >/dev/null 2>&1; then
	USER_NAME=coopt-d$$
	coopd_add_group "coopt-g$$"
	chmod 0711 "$COOPD_TMP"
	coopd_add_user "$USER_NAME" -d / -G "coopt-g$$"
else
	echo "NOTE: not root (or no useradd): the request size is checked as $(id -un)"
fi
export USER_NAME

GRAPH_PY='
def graph_text(n, sep=","):
    colon = ":" if sep == "," else ": "
    node = "{\"id\"%s\"n%%d\"%s\"kind\"%s\"task\"%s\"fn\"%s\"noop\"}" % ((colon,) + (sep, colon) * 2)
    return "{\"name\"%s\"defaults\"%s\"nodes\"%s[%s]}" % (
        colon, sep, colon, sep.join(node % i for i in range(n)))
def submit_line(id, text):
    return "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"submit\",\"params\":{\"graph\":%s}}" % (id, text)
'
export GRAPH_PY

coopd_start
[ -z "$USER_NAME" ] || chgrp "coopt-g$$" "$COOPD_SOCK" || fail "chgrp socket"
coopd_py <<'PYEOF' || fail "the default request size"
exec(os.environ["GRAPH_PY"])
max_req, max_nodes, max_in = (int(os.environ[k]) for k in ("MAX_REQ", "MAX_NODES", "MAX_IN"))
user = os.environ["USER_NAME"]

# 1. arithmetic
expect(max_req <= max_in, "max_request_bytes <= max_input_bytes_per_user", (max_req, max_in))
max_act_nodes = int(os.environ["MAX_ACT_NODES"])
expect(max_nodes <= max_act_nodes, "max_nodes <= max_active_nodes_per_user",
       (max_nodes, max_act_nodes))
max_act_bytes = int(os.environ["MAX_ACT_BYTES"])
expect(3 * max_req <= max_act_bytes, "3 x max_request_bytes <= max_active_bytes_per_user",
       (max_req, max_act_bytes))
spaced = len(submit_line(1, graph_text(340000, ", ")))
expect(spaced <= max_req, "a json.dumps graph of 340,000 small nodes fits", (spaced, max_req))
compact = len(submit_line(1, graph_text(max_nodes + 1)))
expect(max_req < compact <= 64 * 1024 * 1024,
       "max_nodes + 1 small nodes need more than the default, at most 64 MiB", compact)
print("max_nodes %d: %d bytes compact; 340,000 nodes by json.dumps: %d; max_request_bytes %d"
      % (max_nodes, compact, spaced, max_req))

# 2. as a real user, a default coopd: one byte over is refused, exactly
# the limit is parsed (JSON whitespace pads the line to the byte).
if user:
    import pwd
    pw = pwd.getpwnam(user)
    c = connect_as(pw.pw_uid, pw.pw_gid, os.getgrouplist(user, pw.pw_gid))
else:
    c = Conn()
c.s.settimeout(600 * SLOW)
ping = '{"jsonrpc":"2.0","id":1,"method":"ping"'
c.send_raw(ping + " " * (max_req + 1 - len(ping) - 1) + "}\n")
m = c.read_msg()
expect(m.get("id") is None and m.get("error", {}).get("code") == -32600, "16 MiB + 1: -32600", m)
expect(m["error"]["message"] == "message too large (max_request_bytes 16777216)",
       "the message names the key and the bound", m)
expect(c.call("ping", {})["result"] == {}, "the connection goes on")
head = submit_line(2, graph_text(1000))[:-2]
line = head + " " * (max_req - len(head) - 2) + "}}"
expect(len(line) == max_req, "a line of exactly max_request_bytes", len(line))
c.send_raw(line + "\n")
m = c.answer(2)
expect("result" in m, "exactly 16 MiB: parsed and accepted", m)
gid = m["result"]["id"]
st = c.result("wait", {"id": gid, "summary": True})
expect(st["state"] == "succeeded" and st["counts"] == {"succeeded": 1000}, "and runs", st)
if user:
    mine = [g["id"] for g in c.result("list", {"all": True})["graphs"]]
    expect(mine == [gid], "it is the user's", mine)
# The longest document a line of max_request_bytes can make coopd store
# (each \n of the request is stored as \u000a: three times as long) is
# admitted by the default max_active_bytes_per_user.  (Its job cannot
# start: the kernel refuses so long an environment; it settles failed.)
pre = ('{"jsonrpc":"2.0","id":3,"method":"submit","params":{"graph":{"nodes":[{"id":"e",'
       '"kind":"exec","argv":["true"],"env":{"P":"')
post = '"}}]}}}'
n = (max_req - len(pre) - len(post)) // 2
c.send_raw(pre + "\\n" * n + post + "\n")
m = c.answer(3)
expect("result" in m, "a graph stored as %d bytes is admitted" % (3 * 2 * n), m)
st = c.result("wait", {"id": m["result"]["id"], "summary": True})
expect(st["state"] in FINAL, "and settles", st)
c.close()
ping_ok()
PYEOF
coopd_stop

# 3. max_request_bytes raised as coopd.conf(5) says: max_nodes + 1 nodes are
# read whole and refused for max_nodes.
printf 'max_request_bytes = 67108864\n' >"$COOPD_TMP/big.conf"
coopd_start --config "$COOPD_TMP/big.conf"
coopd_py <<'PYEOF' || fail "max_nodes with max_request_bytes raised"
exec(os.environ["GRAPH_PY"])
max_nodes = int(os.environ["MAX_NODES"])
c = Conn(timeout=600)
c.send_raw(submit_line(1, graph_text(max_nodes + 1)) + "\n")
m = c.answer(1)
e = m.get("error", {})
expect(e.get("code") == -32003 and "max_nodes" in e.get("message", ""),
       "max_nodes + 1 nodes: -32003 naming max_nodes", m)
expect(e.get("data", {}).get("path") == "nodes", "at the path nodes", m)

# 4. the large form
if os.environ.get("COOPD_SOAK") == "1":
    c.send_raw(submit_line(2, graph_text(max_nodes)) + "\n")
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
