#!/bin/sh
# Bad input of every kind gets the right JSON-RPC error, and the daemon
# (and every other client) carries on.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
max_request_bytes = 65536
max_nodes = 100
max_connections = 12
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
coopd_py <<'PY' || fail "bad requests"
c = Conn()
def raw(line):
    """Sends one raw line (bytes or str) and returns the answer."""
    if isinstance(line, str):
        line = line.encode()
    c.send_raw(line + b"\n")
    return c.read_msg()

cases = 0
def bad_raw(line, code, what):
    global cases
    m = raw(line)
    expect("error" in m and m["error"]["code"] == code, "%s: expected %d" % (what, code), m)
    expect("id" in m, "error answers carry an id", m)
    cases += 1
    return m["error"]

def bad(method, params, code, what, path=None):
    global cases
    m = c.call(method, params)
    expect("error" in m and m["error"]["code"] == code, "%s: expected %d" % (what, code), m)
    if path is not None:
        expect(m["error"]["data"]["path"] == path, "%s: path %s" % (what, path), m)
    cases += 1
    return m["error"]

# framing and envelope
bad_raw("not json", -32700, "garbage")
bad_raw('{"jsonrpc":"2.0","id":1,"method":"ping"', -32700, "truncated JSON")
bad_raw(b'{"jsonrpc":"2.0","id":1,"method":"p\xff\xfeng"}', -32700, "invalid UTF-8")
bad_raw("[]", -32600, "empty batch")
bad_raw('[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600, "batch")
bad_raw('"a string"', -32600, "not an object")
bad_raw('{"id":1,"method":"ping"}', -32600, "no jsonrpc")
bad_raw('{"jsonrpc":"1.0","id":1,"method":"ping"}', -32600, "wrong jsonrpc")
bad_raw('{"jsonrpc":"2.0","id":1}', -32600, "no method")
bad_raw('{"jsonrpc":"2.0","id":1,"method":42}', -32600, "method not a string")
bad_raw('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', -32600, "id an object")
bad_raw('{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}', -32600, "unknown member")
bad_raw('{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}', -32602, "params an array")
e = bad_raw('{"jsonrpc":"2.0","id":1,"method":"ping","params":' + "[" * 5000 + "]" * 5000 + "}",
            -32600, "deeply nested JSON")
bad_raw(b'{"jsonrpc":"2.0","id":1,"method":"ping\x00"}', -32700, "NUL byte")
e = bad_raw('{"jsonrpc":"2.0","id":7,"method":"submit","params":{"graph":{"name":"' +
            "x" * 70000 + '","nodes":[]}}}', -32600, "oversized message")
m = c.call("ping")
expect(m.get("result") == {}, "connection usable after an oversized line", m)

# methods and params
bad("frobnicate", None, -32601, "unknown method")
bad("ping", {"x": 1}, -32602, "params for ping")
bad("submit", {}, -32602, "submit without graph")
bad("submit", {"graph": 5}, -32602, "graph not an object")
bad("submit", {"graph": {"nodes": []}, "extra": 1}, -32602, "unknown submit param")
bad("status", {"id": 5}, -32602, "status id not a string")
bad("status", {"id": "0123456789abcdef"}, -32001, "unknown graph")
bad("wait", {"id": "0123456789abcdef"}, -32001, "wait unknown graph")
bad("cancel", {"id": "0123456789abcdef"}, -32001, "cancel unknown graph")
bad("logs", {"id": "0123456789abcdef", "node": "a", "stream": "stdout"}, -32001, "logs unknown graph")
gid = submit({"nodes": [{"id": "t", "kind": "task", "fn": "noop"},
                        {"id": "e", "kind": "exec", "argv": ["true"]}]})
wait(gid)
bad("wait", {"id": gid, "timeout_ms": -1}, -32602, "negative timeout")
bad("wait", {"id": gid, "timeout_ms": "1"}, -32602, "timeout a string")
bad("cancel", {"id": gid, "grace_ms": -5}, -32602, "negative grace")
bad("logs", {"id": gid, "node": "e", "stream": "stdin"}, -32602, "bad stream")
bad("logs", {"id": gid, "node": "e", "stream": "stdout", "offset": -1}, -32602, "negative offset")
bad("logs", {"id": gid, "node": "zz", "stream": "stdout"}, -32602, "logs unknown node")
bad("logs", {"id": gid, "node": "t", "stream": "stdout"}, -32602, "logs of a task")
bad("list", {"all": "yes"}, -32602, "all not a bool")
bad("watch", {"id": 3}, -32602, "watch id not a string")

# bad graphs of each kind
def badg(graph, code, what, path=None, reason=None):
    e = bad("submit", {"graph": graph}, code, what, path)
    if reason:
        expect(reason in e["data"]["reason"], "%s: reason mentions %r" % (what, reason), e)
T = {"kind": "task", "fn": "noop"}
badg({"nodes": [{"id": "a", "kind": "magic"}]}, -32602, "unknown kind", "nodes[0].kind")
badg({"nodes": [dict(T, id="a"), dict(T, id="a")]}, -32602, "duplicate id")
badg({"nodes": [dict(T, id="a b")]}, -32602, "bad id syntax")
badg({"nodes": [dict(T, id="x" * 65)]}, -32602, "id too long")
badg({"nodes": [dict(T, id="load"), dict(T, id="b", after=["lod"])]}, -32602,
     "unknown after", "nodes[1].after[0]", "lod")
badg({"nodes": [dict(T, id="a", after=["b"]), dict(T, id="b", after=["a"])]}, -32602,
     "cycle", None, "cycle")
badg({"nodes": [dict(T, id="a", after=["a"])]}, -32602, "self dependency")
badg({"nodes": [{"id": "a", "kind": "exec", "argv": []}]}, -32602, "empty argv")
badg({"nodes": [{"id": "a", "kind": "exec", "argv": ["ls", 3]}]}, -32602, "argv item")
badg({"nodes": [{"id": "a", "kind": "exec"}]}, -32602, "exec without argv")
badg({"nodes": [{"id": "a", "kind": "exec", "argv": ["x"], "env": {"A": 1}}]}, -32602, "env value")
badg({"nodes": [{"id": "a", "kind": "exec", "argv": ["x"], "timeout_ms": -1}]}, -32602, "negative timeout")
badg({"nodes": [{"id": "a", "kind": "task", "fn": "nope"}]}, -32602, "unknown fn")
badg({"nodes": [{"id": "a", "kind": "task", "fn": "spin", "args": {"units": -1}}]}, -32602, "negative units")
badg({"nodes": [{"id": "a", "kind": "task", "fn": "sleep", "args": {"ms": "1"}}]}, -32602, "ms a string")
badg({"budget": 0, "nodes": []}, -32602, "budget 0")
badg({"budget": 2147483648, "nodes": []}, -32602, "budget too large")
badg({"policy": "random", "nodes": []}, -32602, "unknown policy")
badg({"nodes": [dict(T, id="a", color="red")]}, -32602, "unknown node field")
badg({"nodes": [dict(T, id="a")], "owner": 0}, -32602, "unknown graph field")
badg({"nodes": "all"}, -32602, "nodes not an array")
deep = {"id": "d", "kind": "scope", "nodes": []}
for i in range(70):
    deep = {"id": "d%d" % i, "kind": "scope", "nodes": [deep]}
badg({"nodes": [deep]}, -32003, "scope nesting limit")
badg({"nodes": [dict(T, id="n%d" % i) for i in range(101)]}, -32003, "node count limit")
expect(cases >= 30, "at least 30 distinct bad requests", cases)

# a client that sends half a line and stalls while others are served
stall = Conn()
stall.send_raw('{"jsonrpc":"2.0","id":99,"method":"pi')
others = [Conn() for _ in range(5)]
for o in others:
    expect(o.result("ping") == {}, "others served while one stalls")
gid = submit({"nodes": [dict(T, id="a")]})
expect(wait(gid)["state"] == "succeeded", "work goes on while one stalls")
stall.send_raw('ng"}\n')
expect(stall.answer(99)["result"] == {}, "the stalled client's line completes")
stall.send_raw('{"jsonrpc":"2.0","id":100,"method":"pi')
stall.close()
for o in others:
    o.close()
c.close()
ping_ok()

# a flood of connections: those over max_connections get one -32003 line
# and are closed; the daemon serves again once the flood ends
held = []
for i in range(30):
    x = Conn()
    try:
        x.send("ping")
        m = x.read_msg()
    except (EOFError, ConnectionResetError, BrokenPipeError):
        x.close()
        break
    if "error" in m:
        expect(m["error"]["code"] == -32003, "refused with -32003", m)
        x.close()
        break
    held.append(x)
expect(1 <= len(held) <= 12, "connections capped at max_connections", len(held))
x = Conn()
m = x.read_msg()
expect(m["error"]["code"] == -32003 and "max_connections" in m["error"]["message"],
       "a connection over the limit gets one clear line", m)
x.close()
for h in held:
    h.close()
for _ in range(100 * SLOW):
    try:
        ping_ok()
        break
    except (EOFError, OSError, KeyError, TypeError):
        time.sleep(0.02)
ping_ok()
print("%d bad requests answered" % cases)
PY
grep -q '^<[0-3]>' "$COOPD_LOG" && { cat "$COOPD_LOG"; fail "client errors were logged as daemon errors"; }
coopd_stop
coopd_pass
