#!/bin/sh
# watch: an event for every state change; a client that stops reading its
# events is dropped and nobody else notices.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
event_queue_bytes = 4096
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
coopd_py <<'PY' || fail "watch"
w = Conn()
expect(w.result("watch") == {}, "watch all")
gid = submit({"nodes": [
    {"id": "a", "kind": "task", "fn": "noop"},
    {"id": "b", "kind": "exec", "argv": ["sh", "-c", "exit 2"], "after": ["a"]},
    {"id": "c", "kind": "task", "fn": "noop", "after": ["b"]},
    {"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
seen = {}
while True:
    ev = w.event()
    expect(ev["method"] == "event" and "id" not in ev, "notification shape", ev)
    p = ev["params"]
    expect(p["graph"] == gid and p["ts"].endswith("Z"), "event fields", ev)
    seen.setdefault(p["node"], []).append(p["state"])
    if p["node"] == "/" and p["state"] in FINAL:
        break
expect(seen["/"] == ["running", "failed"], "root events", seen)
expect(seen["a"] == ["running", "succeeded"], "a events", seen)
expect(seen["b"] == ["running", "failed"], "b events", seen)
expect(seen["c"] == ["skipped"], "c events", seen)
expect(seen["s"] == ["running", "cancelled"], "s events", seen)

# watch one graph: events of other graphs do not arrive
w2 = Conn()
gid2 = submit({"nodes": [{"id": "x", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
expect(w2.result("watch", {"id": gid2}) == {}, "watch one")
other = submit({"nodes": [{"id": "y", "kind": "task", "fn": "noop"}]})
wait(other)
rpc("cancel", {"id": gid2})
got = []
while True:
    p = w2.event()["params"]
    expect(p["graph"] == gid2, "only the watched graph", p)
    got.append((p["node"], p["state"]))
    if p["node"] == "/" and p["state"] in FINAL:
        break
expect(("x", "cancelling") in got and ("x", "cancelled") in got, "cancel events", got)
expect(error_code("watch", {"id": "0123456789abcdef"}) == -32001, "watch unknown graph")

# a client that never reads its events is dropped; others carry on
slow = Conn()
slow.result("watch")
slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
big = submit({"nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(3000)]})
expect(wait(big)["state"] == "succeeded", "big graph done")
ping_ok()
expect(rpc("stats")["daemon"]["clients_dropped"] >= 1, "slow client dropped", rpc("stats"))
# the dropped client sees the end of its stream
try:
    while slow.read_msg():
        pass
except EOFError:
    pass
w.close()
w2.close()
ping_ok()
PY
coopd_stop
coopd_pass
