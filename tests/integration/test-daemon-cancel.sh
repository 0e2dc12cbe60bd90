#!/bin/sh
# Cancellation: a job that started a tree of background processes leaves
# none alive (checked in /proc); TERM is escalated to KILL after the grace;
# subtrees, pending nodes and run-to-completion jobs are reported honestly.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
coopd_py <<'PY' || fail "cancel"
def wait_running(gid, path, n_procs=0, token=None):
    """Polls status until the node runs (and token has n_procs processes)."""
    for _ in range(500 * SLOW):
        st = rpc("status", {"id": gid})
        if node(st, path)["state"] == "running" and (not token or len(marked(token)) >= n_procs):
            return st
        time.sleep(0.01)
    raise AssertionError("node %s never ran: %s" % (path, json.dumps(st)[:2000]))

TREE = "sleep 1000 & sleep 1000 & (sleep 1000 & sleep 1000 & wait) & (sh -c 'sleep 1000' &) ; wait"

# 1. a tree of background processes, cancelled: none left
tok = "coopd-test-%d-tree" % os.getpid()
gid = submit({"nodes": [{"id": "tree", "kind": "exec", "argv": ["sh", "-c", TREE],
                         "env": {"COOPD_MARK": tok}, "grace_ms": 2000}]})
wait_running(gid, "tree", 6, tok)
expect(len(marked(tok)) >= 6, "the tree runs", marked(tok))
rpc("cancel", {"id": gid})
st = wait(gid)
t = node(st, "tree")
expect(st["state"] == "cancelled" and t["state"] == "cancelled", "tree cancelled", st)
expect(t["cancel"]["reason"] == "client" and t["cancel"]["acknowledged"], "reason", t)
expect(marked(tok) == [], "no process of the tree is alive", marked(tok))

# 2. a tree that ignores SIGTERM: SIGKILL after the grace given to cancel
tok2 = "coopd-test-%d-stubborn" % os.getpid()
gid = submit({"nodes": [{"id": "stub", "kind": "exec",
                         "argv": ["sh", "-c", "trap '' TERM; " + TREE],
                         "env": {"COOPD_MARK": tok2}, "grace_ms": 600000}]})
wait_running(gid, "stub", 6, tok2)
rpc("cancel", {"id": gid, "grace_ms": 200})
st = rpc("status", {"id": gid})
expect(node(st, "stub")["state"] == "cancelling", "cancelling during the grace", st)
st = wait(gid)
s = node(st, "stub")
expect(s["state"] == "cancelled" and s["signal"] == 9, "killed after grace", s)
expect(marked(tok2) == [], "no stubborn process alive", marked(tok2))

# 3. cancelling one subtree leaves the rest running
gid = submit({"policy": "all_settled", "nodes": [
    {"id": "keep", "kind": "task", "fn": "sleep", "args": {"ms": 300}},
    {"id": "s", "kind": "scope", "nodes": [
        {"id": "a", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
        {"id": "b", "kind": "exec", "argv": ["sleep", "600"]}]}]})
wait_running(gid, "s/b")
rpc("cancel", {"id": gid, "node": "s"})
st = wait(gid)
expect(node(st, "keep")["state"] == "succeeded", "sibling untouched", st)
for k in ("s", "s/a", "s/b"):
    expect(node(st, k)["state"] == "cancelled" and node(st, k)["cancel"]["reason"] == "client",
           "subtree cancelled " + k, st)

# 4. a pending node cancelled before it started: cancelled, started null
gid = submit({"policy": "all_settled", "nodes": [
    {"id": "first", "kind": "task", "fn": "sleep", "args": {"ms": 1000}},
    {"id": "later", "kind": "exec", "argv": ["true"], "after": ["first"]}]})
rpc("cancel", {"id": gid, "node": "later"})
st = wait(gid)
l = node(st, "later")
expect(node(st, "first")["state"] == "succeeded", "first ran", st)
expect(l["state"] == "cancelled" and l["started"] is None and l["cancel"]["reason"] == "client",
       "pending node cancelled", l)

# 5. run-to-completion: a blocking job that ignores cancellation is
# reported as completed, with the request recorded and no acknowledgement
gid = submit({"nodes": [
    {"id": "rtc", "kind": "blocking", "fn": "sleep", "args": {"ms": 1500, "ignore_cancel": True}},
    {"id": "coop", "kind": "blocking", "fn": "sleep", "args": {"ms": 600000}}]})
wait_running(gid, "rtc")
wait_running(gid, "coop")
rpc("cancel", {"id": gid})
st = wait(gid)
r = node(st, "rtc")
expect(r["state"] == "succeeded" and r["cancel"]["reason"] == "client" and
       r["cancel"]["requested"] and r["cancel"]["acknowledged"] is None, "run to completion", r)
c = node(st, "coop")
expect(c["state"] == "cancelled" and c["cancel"]["acknowledged"], "cooperative blocking", c)

# 6. a spinning task notices cancellation at its next unit
gid = submit({"nodes": [{"id": "spin", "kind": "task", "fn": "spin",
                         "args": {"units": 9223372036854775807}}]})
wait_running(gid, "spin")
rpc("cancel", {"id": gid})
st = wait(gid)
expect(node(st, "spin")["state"] == "cancelled", "spin cancelled", st)

# 7. unknown node
expect(error_code("cancel", {"id": gid, "node": "nope"}) == -32602, "unknown node")
ping_ok()
PY
coopd_stop
coopd_pass
