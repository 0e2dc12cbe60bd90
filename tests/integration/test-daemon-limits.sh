#!/bin/sh
# Limits and back-pressure (docs/protocol.md, section 6; test-daemon-bad-requests.sh covers the
# malformed requests and a small connection flood).  Each limit key answers
# -32003 or -32600 with a message that names it; a `watch` client that never
# reads is dropped once its bounded event queue fills, while other clients
# are still answered and coopd's memory stays bounded; a client that
# pipelines requests without reading their answers is not read further
# (nothing lost, memory bounded); a flood of connections over
# max_connections is refused cleanly and coopd serves again afterwards.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
max_request_bytes = 1048576
max_nodes = 100
max_scope_depth = 8
max_connections = 20
max_active_per_user = 5
max_pending_requests = 4
event_queue_bytes = 65536
answer_backlog_bytes = 262144
retention_graphs = 4
fsync = no
CONF
# ASan keeps freed memory in quarantine (256 MB by default), which would
# hide what this test measures: coopd's memory staying bounded.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
# valgrind's memcheck likewise holds 20 MB of freed blocks by default.
VALGRIND_OPTS="${VALGRIND_OPTS:+$VALGRIND_OPTS }--freelist-vol=1000000"
export ASAN_OPTIONS VALGRIND_OPTS
coopd_start --config "$COOPD_TMP/coopd.conf"
COOPD_REAL_PID=$COOPD_PID coopd_py <<'PY' || fail "limits"
pid = int(os.environ["COOPD_REAL_PID"])
T = {"kind": "task", "fn": "noop"}

def rss_kb():
    return proc_rss_kb(pid)

def limit_error(m, code, words, what):
    expect("error" in m, "%s: refused" % what, m)
    e = m["error"]
    expect(e["code"] == code, "%s: code %d" % (what, code), e)
    text = e["message"] + " " + json.dumps(e.get("data", {}))
    for w in words:
        expect(w in text, "%s: the message names the limit (%r)" % (what, w), e)

c = Conn()
# --- request size: -32600 naming max_request_bytes; the connection goes on
c.send_raw('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + "y" * (1 << 21) + '"}}\n')
limit_error(c.read_msg(), -32600, ["max_request_bytes", "1048576"], "request size")
expect(c.result("ping") == {}, "the connection is usable after an oversized request")

# --- nodes per graph and scope nesting: -32003 naming the limit and its value
limit_error(c.call("submit", {"graph": {"nodes": [dict(T, id="n%d" % i) for i in range(101)]}}),
            -32003, ["max_nodes", "100"], "nodes per graph")
nested = [dict(T, id="n%d" % i) for i in range(60)] + [
    {"id": "s", "kind": "scope", "nodes": [dict(T, id="k%d" % i) for i in range(41)]}]
limit_error(c.call("submit", {"graph": {"nodes": nested}}), -32003, ["max_nodes", "100"],
            "nodes per graph, counted across scopes")
expect(wait(submit({"nodes": [dict(T, id="n%d" % i) for i in range(99)]}))["state"] == "succeeded",
       "a graph of exactly max_nodes nodes (root included) runs")
deep = dict(T, id="leaf")
for i in range(8):
    deep = {"id": "d%d" % i, "kind": "scope", "nodes": [deep]}
limit_error(c.call("submit", {"graph": {"nodes": [deep]}}), -32003, ["max_scope_depth", "8"], "scope depth")
deep = dict(T, id="leaf")
for i in range(7):
    deep = {"id": "d%d" % i, "kind": "scope", "nodes": [deep]}
expect(wait(submit({"nodes": [deep]}))["state"] == "succeeded", "depth max_scope_depth runs")

# --- active graphs per user: -32003 naming max_active_per_user; freed on settle
SLEEP = {"nodes": [{"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}
act = [submit(SLEEP) for _ in range(5)]
limit_error(c.call("submit", {"graph": SLEEP}), -32003, ["max_active_per_user", "5"],
            "active graphs per user")
rpc("cancel", {"id": act[0]})
expect(wait(act[0])["state"] == "cancelled", "cancelled")
act[0] = submit(SLEEP)

# --- requests waiting for an answer per connection (wait)
w = Conn()
ids = [w.send("wait", {"id": act[1]}) for _ in range(4)]
limit_error(w.call("wait", {"id": act[1]}), -32003, ["max_pending_requests", "4"],
            "pending waits per connection")
expect(w.result("ping") == {}, "the connection still works")
for gid in act:
    rpc("cancel", {"id": gid, "grace_ms": 0})
for i in ids:
    expect(w.answer(i)["result"]["state"] == "cancelled", "the waits are answered")
w.close()
# (retention_graphs = 4 may already have pruned some: wait via `list`)
for _ in range(600 * SLOW):
    if not rpc("list")["graphs"]:
        break
    time.sleep(0.05)
expect(rpc("list")["graphs"] == [], "no graph left active")

# --- a watcher that never reads is dropped; others are still served and
# coopd's memory stays bounded.  Each graph makes ~380 KB of events (failed
# nodes carry a 4000-byte error); retention keeps only 4 finished graphs.
MSG = "m" * 4000
BIG = {"policy": "all_settled",
       "nodes": [{"id": "f%d" % i, "kind": "task", "fn": "fail", "args": {"message": MSG}}
                 for i in range(90)]}
def flood(n):
    made = 0
    for _ in range(n):
        st = wait(submit(BIG), summary=True)
        expect(st["state"] == "failed", "big graph settled", st)
        expect(c.result("ping") == {}, "another client is answered during the flood")
        made += 90 * (len(MSG) + 300)
    return made
flood(8)                           # warm up: allocator arenas, retention
dropped0 = rpc("stats")["daemon"]["clients_dropped"]
rss0 = rss_kb()
quiet = Conn()
quiet.result("watch")              # ...and never read again
quiet.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
made = flood(60)
rss1 = rss_kb()
st = rpc("stats")["daemon"]
expect(st["clients_dropped"] == dropped0 + 1, "the watcher that never read was dropped", st)
got = 0
try:
    while True:
        b = quiet.s.recv(1 << 20)
        if not b:
            break
        got += len(b)
except (ConnectionResetError, socket.timeout):
    pass
expect(got < made // 4, "the dropped watcher got a bounded part of the events", got, made)
print("events made %d KB, delivered to the silent watcher %d KB; VmRSS %d -> %d KB"
      % (made // 1024, got // 1024, rss0, rss1))
expect(rss1 - rss0 < made // 1024 // 2, "coopd's memory stayed bounded (VmRSS kB)", rss0, rss1, made)
quiet.close()

# --- answers to pipelined requests that are not read: the connection is
# not read further past answer_backlog_bytes; nothing is lost.
gid = submit(BIG)
wait(gid)
p = Conn()
n = 60
rss0 = rss_kb()
p.send_raw("".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "status", "params": {"id": gid}}) + "\n"
                   for i in range(n)))
expect(c.result("ping") == {}, "others served while one client does not read")
time.sleep(0.2 * SLOW)  # let coopd write what it can (not a timed assertion)
rss1 = rss_kb()
size = 0
for i in range(n):
    m = p.answer(i)
    expect(m["result"]["id"] == gid, "answer %d" % i, m)
    size += len(json.dumps(m))
print("pipelined answers %d KB; VmRSS %d -> %d KB" % (size // 1024, rss0, rss1))
expect(rss1 - rss0 < size // 1024 // 2, "answers were not buffered without bound", rss0, rss1, size)
p.close()
c.close()

# --- a flood of connections over max_connections: refused cleanly with one
# -32003 line naming the limit; coopd serves again once it ends
held, refused = [], 0
for i in range(100):
    x = Conn()
    held.append(x)
for x in held:
    try:
        x.send("ping")
    except (BrokenPipeError, ConnectionResetError):
        pass
ok = 0
for x in held:
    try:
        m = x.read_msg()
    except (EOFError, ConnectionResetError):
        refused += 1
        continue
    if "result" in m:
        ok += 1
    else:
        limit_error(m, -32003, ["max_connections"], "connections")
        refused += 1
expect(ok <= 20 and ok + refused == 100, "at most max_connections served at once", ok, refused)
expect(ok >= 15, "the connections under the limit were served", ok)
for x in held:
    x.close()
for _ in range(200 * SLOW):
    try:
        ping_ok()
        break
    except (EOFError, OSError, KeyError, TypeError):
        time.sleep(0.02)
ping_ok()
st = rpc("stats")["daemon"]
expect(st["connections_refused"] >= refused, "refusals counted", st)
expect(wait(submit({"nodes": [dict(T, id="a")]}))["state"] == "succeeded", "serving again")
PY
grep -q '^<[0-3]>' "$COOPD_LOG" && { cat "$COOPD_LOG"; fail "client errors were logged as daemon errors"; }
coopd_stop
coopd_pass
