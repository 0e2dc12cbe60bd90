#!/bin/sh
# `remove` through the socket: a settled graph is forgotten (status, logs,
# list and its state directory), an active one answers -32005 and keeps
# running, an unknown id -32001, another user's graph -32001 like an
# unknown one, bad params -32602; a removed graph does not come back after
# a restart.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
# Another user must reach the socket for the owner check.
chmod 0711 "$COOPD_TMP"
chmod 0666 "$COOPD_SOCK"
coopd_py <<'PY' || fail "remove"
# 1. a settled graph with logs: removed, then unknown everywhere
gid = submit({"nodes": [{"id": "say", "kind": "exec", "argv": ["sh", "-c", "echo hello"]}]})
st = wait(gid)
expect(st["state"] == "succeeded", "ran", st)
expect(log_text(gid, "say") == "hello\n", "log before remove")
gdir = os.path.join(os.environ["COOPD_STATE"], "graphs", gid)
expect(os.path.isdir(gdir), "state directory exists", gdir)
expect(rpc("remove", {"id": gid}) == {"removed": True}, "remove answers removed: true")
for m, p in (("status", {"id": gid}), ("wait", {"id": gid}), ("remove", {"id": gid}),
             ("logs", {"id": gid, "node": "say", "stream": "stdout"})):
    expect(error_code(m, p) == -32001, "%s after remove: -32001" % m)
expect(gid not in [g["id"] for g in rpc("list", {"all": True})["graphs"]], "not listed")
expect(not os.path.exists(gdir), "state directory gone", gdir)

# 2. an active graph: -32005 with a reason, and it keeps running
gid2 = submit({"nodes": [{"id": "long", "kind": "exec", "argv": ["sleep", "600"]}]})
m = call("remove", {"id": gid2})
expect(m.get("error", {}).get("code") == -32005, "active graph: -32005", m)
expect("still" in m["error"]["data"]["reason"] and m["error"]["data"]["path"] == "params.id",
       "the error says why", m)
expect(rpc("status", {"id": gid2})["state"] == "running", "still running after refused remove")
rpc("cancel", {"id": gid2})
expect(wait(gid2)["state"] == "cancelled", "cancelled")
expect(rpc("remove", {"id": gid2}) == {"removed": True}, "removable once settled")

# 3. bad params and unknown ids
expect(error_code("remove", {"id": "0123456789abcdef"}) == -32001, "unknown id")
for p, path in (({}, "params.id"), ({"id": 5}, "params.id"), ({"id": "bad id!"}, "params.id"),
                ({"id": gid, "node": "x"}, "params.node")):
    m = call("remove", p)
    expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == path,
           "bad params %r" % (p,), m)

# 4. someone else's graph: -32001, exactly as unknown, and it stays
gid3 = submit({"nodes": [{"id": "t", "kind": "task", "fn": "noop"}]})
wait(gid3)
c = connect_as(65534, 65534, [])
m = c.call("remove", {"id": gid3})
c.close()
expect(m["error"]["code"] == -32001 and "no such graph" in m["error"]["data"]["reason"],
       "another user's graph is not theirs to remove", m)
expect(rpc("status", {"id": gid3})["state"] == "succeeded", "still there")
m = rpc("metrics")["text"]
expect('coopd_requests_total{method="remove",code="-32005"} 1' in m, "-32005 counted", m)
open(os.path.join(os.environ["COOPD_TMP"], "kept"), "w").write(gid3 + "\n" + gid + "\n")
PY
# 5. a removed graph stays removed after a restart; the other one is back
coopd_restart
coopd_py <<'PY' || fail "after restart"
kept, removed = open(os.path.join(os.environ["COOPD_TMP"], "kept")).read().split()
expect(rpc("status", {"id": kept})["state"] == "succeeded", "kept graph reloaded")
expect(error_code("status", {"id": removed}) == -32001, "removed graph not reloaded")
PY
coopd_stop
coopd_pass
