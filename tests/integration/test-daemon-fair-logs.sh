#!/bin/sh
# Output kept of one user's running graphs is bounded (log_bytes_per_user,
# coopd.conf(5); daemon/graph-registry.c): one user's jobs writing as much
# as they can no longer fill the state directory's file system for every
# user (the hostile review filled a 64 MiB tmpfs in 8 s, and the other
# user's submits failed).  Here (log_bytes_per_user 3 MiB, log_cap_bytes
# 1 MiB), as real users:
#   - A's graph of 6 exec jobs each writing 1 MiB keeps 3 MiB in all, and
#     each node's log_dropped counts what it lost (kept + dropped = 1 MiB
#     per node, the files on disk as long as what is kept);
#   - B's job meanwhile keeps its whole 1 MiB;
#   - once A's graph has settled its bytes leave A's share: A's next job
#     keeps its 1 MiB again; coopd logs the drop once per graph.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

[ "$(id -u)" = 0 ] || skip "needs root (jobs run as real users)"
coopd_refuses_values log_bytes_per_user -1 abc 10k 1125899906842625 ""
fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
log_bytes_per_user = 3145728
log_cap_bytes = 1048576
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
export COOPD_LOG

fair_py <<'PY' || fail "log bytes per user"
MIB = 1 << 20
state = os.environ["COOPD_STATE"]

def writer(i):
    return {"id": "w%d" % i, "kind": "exec", "argv": ["head", "-c", str(MIB), "/dev/zero"]}

def settled(who, graph):
    gid = who.result("submit", {"graph": graph})["id"]
    st = who.result("wait", {"id": gid, "timeout_ms": 120000 * SLOW})
    expect(st["state"] == "succeeded", "ran", st)
    return gid, st

def kept(gid, k):
    # node k of a flat graph writes N.out, N = k + 1 (0 is the root scope)
    path = os.path.join(state, "graphs", gid, "%d.out" % (k + 1))
    return os.path.getsize(path) if os.path.exists(path) else 0

a, b = as_user(FAIR_A), as_user(FAIR_B)
# B's job runs beside A's (its own share).
gb = b.result("submit", {"graph": {"nodes": [
    {"id": "hold", "kind": "task", "fn": "sleep", "args": {"ms": 200}},
    dict(writer(0), after=["hold"])]}})["id"]
ga, st = settled(a, {"nodes": [writer(i) for i in range(6)]})
nodes = st["root"]["nodes"]
total_kept = 0
for k, n in enumerate(nodes):
    dropped = n.get("log_dropped", {}).get("stdout", 0)
    on_disk = kept(ga, k)
    expect(on_disk + dropped == MIB, "kept + dropped is the output", n.get("path"), on_disk, dropped)
    total_kept += on_disk
expect(total_kept == 3 * MIB, "A keeps log_bytes_per_user in all", total_kept)
stb = b.result("wait", {"id": gb, "timeout_ms": 120000 * SLOW})
expect(stb["state"] == "succeeded" and "log_dropped" not in stb["root"]["nodes"][1],
       "B's output is kept whole", stb["root"]["nodes"][1])
expect(kept(gb, 1) == MIB, "B's log is whole", kept(gb, 1))
# A's share is free again once its graph has settled.
ga2, st2 = settled(a, {"nodes": [writer(0)]})
expect("log_dropped" not in st2["root"]["nodes"][0] and kept(ga2, 0) == MIB,
       "A's next job keeps its output", st2["root"]["nodes"][0])
log = open(os.environ["COOPD_LOG"]).read()
expect(log.count("graph %s: its owner's running graphs have" % ga) == 1,
       "the drop is logged once for the graph")
PY
coopd_stop
coopd_pass
