#!/bin/sh
# max_active_bytes_per_user bounds the bytes of the stored documents of one
# user's active graphs (docs/security.md "Fair share"): the node bound let
# 100 graphs of one node with a 15 MiB env value each take 1.5 GiB of
# coopd's memory and of its state directory.  A graph's bytes are its
# document as stored (compact JSON: what Python's json.dumps writes with
# separators (",", ":") for these documents, whatever the request's own
# spacing).  As real users, with the bound at 10,000 bytes and
# parse_thread_bytes at 2048 (so that both the loop and the parse thread
# check submits):
#   - A's graphs up to 10,000 bytes are accepted, exactly at the bound
#     too; one byte more is -32003 naming the key, A's count and the
#     graph's bytes, on the parse thread's path and on the loop's;
#   - B is not held to A's count: B's graph of 10,000 bytes completes
#     while A is at the bound, and B is refused at its own;
#   - the bytes free when A's graph is cancelled and when it settles by
#     itself;
#   - rerun is counted with the stored document's bytes: one byte over
#     refused, exactly at the bound accepted;
#   - a graph bigger than the bound alone is refused with nothing active;
#   - root is held to it too (like max_active_nodes_per_user);
#   - pipelined on one connection, the submits waiting for the disk writer
#     count: 100 graphs of 1,000 bytes, exactly 10 accepted; 20 of 5,000
#     (parsed off the loop), exactly 2;
#   - SIGHUP: a bad value keeps the old bound, a good one applies; bad
#     values at start are refused naming the key;
#   - after kill -9 and a restart, A's interrupted graphs do not count.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

coopd_refuses_values max_active_bytes_per_user 0 -1 abc 10k 1125899906842625 ""

fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
max_active_bytes_per_user = 10000
max_active_per_user = 1000
max_pending_requests = 1000
parse_thread_bytes = 2048
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
export COOPD_PID COOPD_LOG

FAIR_BYTES_PY=$(cat <<'PYEOF'
def size(g):
    return len(json.dumps(g, separators=(",", ":")).encode())

def padded(nodes, n):
    """A graph of exactly n bytes as stored: nodes plus an exec node whose
    env value makes up the rest."""
    g = {"nodes": nodes + [{"id": "pad", "kind": "exec", "argv": ["true"],
                             "env": {"PAD": ""}}]}
    need = n - size(g)
    assert need >= 0, "no graph of %d bytes" % n
    g["nodes"][-1]["env"]["PAD"] = "x" * need
    assert size(g) == n
    return g

def holding(n):
    """n bytes, active until cancelled."""
    return padded([{"id": "hold", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}], n)

def done(n):
    """n bytes, settles by itself."""
    return padded([], n)

def refused(m, have, bound, this, what):
    e = m.get("error", {})
    want = ("too many bytes of active graphs for this user (max_active_bytes_per_user %d: "
            "%d active or being stored, this graph's document has %d)" % (bound, have, this))
    expect(e.get("code") == -32003 and e.get("message") == want, what, m, want)

def settle(c, gid):
    c.result("cancel", {"id": gid})
    st = c.result("wait", {"id": gid, "summary": True, "timeout_ms": 60000 * SLOW})
    expect(st["state"] in FINAL, "graph %s settles" % gid, st)

def off_loop():
    return rpc("stats")["daemon"]["lines_parsed_off_loop"]

def finish(c, gid):
    st = c.result("wait", {"id": gid, "summary": True, "timeout_ms": 60000 * SLOW})
    expect(st["state"] == "succeeded", "graph %s succeeds" % gid, st)
PYEOF
)
export FAIR_BYTES_PY

fair_py <<'PY' || fail "active bytes per user"
exec(os.environ["FAIR_BYTES_PY"])
a = as_user(FAIR_A)
b = as_user(FAIR_B)

# --- at the bound, off the loop (lines over 2048 bytes): one byte over
# is refused naming the key, A's count and the graph's bytes
g6 = a.result("submit", {"graph": holding(6000)})["id"]
before = off_loop()
refused(a.call("submit", {"graph": holding(4001)}), 6000, 10000, 4001, "6000 + 4001: refused")
expect(off_loop() == before + 1, "that submit was parsed off the loop", off_loop(), before)
g4 = a.result("submit", {"graph": holding(4000)})["id"]
small = {"nodes": []}
refused(a.call("submit", {"graph": small}), 10000, 10000, size(small),
        "10000 + the smallest graph: refused")
print("A at the bound:", a.call("submit", {"graph": small})["error"]["message"])

# --- B is not held to A's count
gb = b.result("submit", {"graph": holding(10000)})["id"]
refused(b.call("submit", {"graph": small}), 10000, 10000, size(small), "B at its own bound")
settle(b, gb)
gb = b.result("submit", {"graph": done(10000)})["id"]
finish(b, gb)

# --- cancel gives the bytes back; on the loop's path (short lines) too
settle(a, g6)
g9 = a.result("submit", {"graph": holding(5000)})["id"]
before = off_loop()
refused(a.call("submit", {"graph": holding(1001)}), 9000, 10000, 1001,
        "9000 + 1001 (checked on the loop): refused")
expect(off_loop() == before, "that submit was parsed on the loop", off_loop(), before)
g1 = a.result("submit", {"graph": holding(1000)})["id"]
refused(a.call("submit", {"graph": small}), 10000, 10000, size(small), "at the bound again")
for g in (g4, g9, g1):
    settle(a, g)

# --- a graph that settles by itself gives them back
gdone = a.result("submit", {"graph": done(10000)})["id"]
finish(a, gdone)
gs = a.result("submit", {"graph": holding(10000)})["id"]
refused(a.call("submit", {"graph": small}), 10000, 10000, size(small), "full after a settle")

# --- rerun: counted with the stored document's bytes
refused(a.call("rerun", {"id": gdone}), 10000, 10000, 10000, "rerun of 10000 at the bound")
settle(a, gs)
g4done = a.result("submit", {"graph": done(4000)})["id"]
finish(a, g4done)
gs = a.result("submit", {"graph": holding(6001)})["id"]
refused(a.call("rerun", {"id": g4done}), 6001, 10000, 4000, "rerun one byte over: refused")
refused(a.call("rerun", {"id": g4done, "failed_only": True}), 6001, 10000, 4000,
        "rerun failed_only: the same bytes")
settle(a, gs)
gs = a.result("submit", {"graph": holding(6000)})["id"]
gr = a.result("rerun", {"id": g4done})["id"]
finish(a, gr)
settle(a, gs)
gr = a.result("rerun", {"id": gdone})["id"]
finish(a, gr)

# --- a graph bigger than the bound alone
refused(a.call("submit", {"graph": done(10001)}), 0, 10000, 10001,
        "10001 bytes with nothing active: refused")

# --- root is held to it too
r = Conn()
gr1 = r.result("submit", {"graph": holding(10000)})["id"]
refused(r.call("submit", {"graph": small}), 10000, 10000, size(small), "root at the bound")
settle(r, gr1)

# --- pipelined on one connection: the submits waiting for the writer count
def pipelined(n, each, want):
    p = as_user(FAIR_A)
    ids = [p.send("submit", {"graph": holding(each)}) for _ in range(n)]
    answers = [p.answer(i) for i in ids]
    ok = [m["result"]["id"] for m in answers if "result" in m]
    expect(len(ok) == want, "exactly %d of %d pipelined submits of %d bytes" % (want, n, each),
           len(ok))
    for m in answers:
        if "error" in m:
            e = m["error"]
            expect(e["code"] == -32003 and "(max_active_bytes_per_user 10000: " in e["message"],
                   "the others are refused naming the key", m)
    return p, ok

p, ok = pipelined(20, 5000, 2)
for g in ok:
    settle(p, g)
p, ok = pipelined(100, 1000, 10)
active = [g for g in a.result("list")["graphs"] if g["state"] not in FINAL]
expect(len(active) == 10, "A has 10 active graphs", len(active))

# --- SIGHUP: a bad value keeps the old bound, a good one changes it
config_reload("max_active_bytes_per_user = 0\n", "bad value '0' for 'max_active_bytes_per_user'")
refused(a.call("submit", {"graph": small}), 10000, 10000, size(small), "a bad reload kept the bound")
with open(os.environ["COOPD_TMP"] + "/coopd.conf") as f:
    conf = f.read().replace("max_active_bytes_per_user = 0\n", "")
with open(os.environ["COOPD_TMP"] + "/coopd.conf", "w") as f:
    f.write(conf)
config_reload("max_active_bytes_per_user = 15000\n", "configuration reloaded")
a.result("submit", {"graph": holding(5000)})
refused(a.call("submit", {"graph": small}), 15000, 15000, size(small), "the reloaded bound applies")
PY

# --- a crash: the interrupted graphs are not active after the restart
coopd_kill9
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
fair_py <<'PY' || fail "after a restart"
exec(os.environ["FAIR_BYTES_PY"])
a = as_user(FAIR_A)
expect(a.result("list")["graphs"] == [], "no graph of A is active after the restart")
g = a.result("submit", {"graph": holding(15000)})["id"]
refused(a.call("submit", {"graph": {"nodes": []}}), 15000, 15000, size({"nodes": []}),
        "the bound holds after the restart")
settle(a, g)
PY
coopd_stop
coopd_pass
