#!/bin/sh
# `rerun` through the socket: a chain of 50 exec nodes that failed at node
# 40 reruns 11 nodes with failed_only (the 39 before are `succeeded` at
# once, `reused`, with their old results and their logs readable from the
# new graph, also after the old graph is removed and after a restart),
# and all 50 without; a succeeded scope is reused whole; a rerun of an
# active graph answers -32005, of an unknown or another user's -32001;
# bad params -32602.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

mkdir "$COOPD_TMP/work"
coopd_start
chmod 0711 "$COOPD_TMP"
chmod 0666 "$COOPD_SOCK"
coopd_py <<'PY' || fail "rerun"
W = os.path.join(os.environ["COOPD_TMP"], "work")
RAN = os.path.join(W, "ran")
FLAG = os.path.join(W, "fail-40")

def ran():
    try:
        return open(RAN).read().split()
    except FileNotFoundError:
        return []

def exec_spawned():
    m = rpc("metrics")["text"]
    return int(m.split('coopd_tasks_spawned_total{kind="exec"} ')[1].split()[0])

# Node i appends its number to RAN; node 40 fails while FLAG exists.
nodes = []
for i in range(1, 51):
    script = "echo %d >> %s; echo out-%d" % (i, RAN, i)
    if i == 40:
        script += "; test ! -e %s" % FLAG
    n = {"id": "n%02d" % i, "kind": "exec", "argv": ["sh", "-c", script]}
    if i > 1:
        n["after"] = ["n%02d" % (i - 1)]
    nodes.append(n)
open(FLAG, "w").close()
gid = submit({"name": "chain", "nodes": nodes})
st = wait(gid)
expect(st["state"] == "failed" and node(st, "n40")["state"] == "failed", "failed at 40", st)
expect(node(st, "n41")["state"] == "skipped" and len(ran()) == 40, "41..50 skipped", ran())

# Rerun of what failed: 11 nodes run, 39 reused.
os.unlink(FLAG)
open(RAN, "w").close()
before = exec_spawned()
new = rpc("rerun", {"id": gid, "failed_only": True})["id"]
expect(new != gid, "a new graph id", new)
st2 = wait(new)
expect(st2["state"] == "succeeded" and st2["name"] == "chain", "the rerun succeeded", st2)
expect(ran() == [str(i) for i in range(40, 51)], "only 40..50 ran", ran())
expect(exec_spawned() - before == 11, "11 exec jobs spawned, not 50", exec_spawned() - before)
for i in range(1, 40):
    n, o = node(st2, "n%02d" % i), node(st, "n%02d" % i)
    expect(n["state"] == "succeeded" and n.get("reused") is True, "n%02d reused" % i, n)
    expect(n["started"] == o["started"] and n["finished"] == o["finished"] and n["exit_code"] == 0,
           "old results kept", n, o)
for i in range(40, 51):
    expect("reused" not in node(st2, "n%02d" % i), "n%02d ran" % i, node(st2, "n%02d" % i))
expect(log_text(new, "n07") == "out-7\n", "a reused node's log from the new graph")
expect(log_text(new, "n45") == "out-45\n", "a rerun node's own log")
expect(rpc("status", {"id": gid})["state"] == "failed", "the old graph is untouched")

# The old graph removed: the reused logs stay (hard links).
expect(rpc("remove", {"id": gid}) == {"removed": True}, "old removed")
expect(log_text(new, "n07") == "out-7\n", "a reused log outlives the old graph")
open(os.path.join(os.environ["COOPD_TMP"], "rerun-gid"), "w").write(new)

# Without failed_only: every node runs again.
open(RAN, "w").close()
third = rpc("rerun", {"id": new})["id"]
st3 = wait(third)
expect(st3["state"] == "succeeded" and len(ran()) == 50, "all 50 ran", ran())
expect(all("reused" not in node(st3, "n%02d" % i) for i in range(1, 51)), "nothing reused", st3)

# A succeeded scope is reused whole, a failed sibling reruns; a retried
# node's attempts come along.
g = submit({"policy": "all_settled", "nodes": [
    {"id": "s", "kind": "scope", "nodes": [
        {"id": "a", "kind": "task", "fn": "noop"},
        {"id": "b", "kind": "exec", "argv": ["sh", "-c", "echo b"]}]},
    {"id": "r", "kind": "task", "fn": "fail", "retries": 1, "retry_delay_ms": 0},
    {"id": "f", "kind": "exec", "argv": ["sh", "-c", "test -e %s/ok" % W]}]})
wait(g)
open(os.path.join(W, "ok"), "w").close()
st = wait(rpc("rerun", {"id": g, "failed_only": True})["id"])
expect(node(st, "s")["reused"] and node(st, "s/a")["reused"] and node(st, "s/b")["reused"],
       "the scope and its children reused", st)
expect(node(st, "f")["state"] == "succeeded" and "reused" not in node(st, "f"), "f reran", st)
expect(node(st, "r")["state"] == "failed" and len(node(st, "r")["attempts"]) == 2, "r reran", st)
expect(log_text(st["id"], "s/b") == "b\n", "log of a node in a reused scope")

# Bad cases.
long = submit({"nodes": [{"id": "z", "kind": "exec", "argv": ["sleep", "600"]}]})
m = call("rerun", {"id": long})
expect(m["error"]["code"] == -32005 and m["error"]["data"]["path"] == "params.id" and
       "still running" in m["error"]["data"]["reason"], "rerun of an active graph", m)
rpc("cancel", {"id": long})
wait(long)
expect(error_code("rerun", {"id": "0123456789abcdef"}) == -32001, "unknown graph")
for p, path in (({}, "params.id"), ({"id": long, "failed_only": "yes"}, "params.failed_only"),
                ({"id": long, "failed": True}, "params.failed")):
    m = call("rerun", p)
    expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == path, "bad %r" % (p,), m)
c = connect_as(65534, 65534, [])
m = c.call("rerun", {"id": third})
c.close()
expect(m["error"]["code"] == -32001, "another user's graph cannot be rerun", m)
PY
coopd_restart
coopd_py <<'PY' || fail "after restart"
new = open(os.path.join(os.environ["COOPD_TMP"], "rerun-gid")).read()
st = rpc("status", {"id": new})
expect(node(st, "n07")["reused"] is True and "reused" not in node(st, "n45"), "reused kept", st)
expect(log_text(new, "n07") == "out-7\n", "reused log after a restart")
PY
coopd_stop
coopd_pass
