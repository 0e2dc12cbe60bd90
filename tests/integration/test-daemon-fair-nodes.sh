#!/bin/sh
# max_active_nodes_per_user bounds the nodes of one user's active graphs
# (issue 15, docs/security.md "Fair share"): an active node holds about
# 2 KB of coopd's memory, and max_active_per_user x max_nodes let one user
# take it all.  As real users, with the bound at 100 nodes:
#   - A's graphs up to 100 nodes are accepted; one node more is -32003
#     naming the key, A's count and the bound; B still submits (B's own
#     count) and B's graph completes;
#   - the bound frees when A's graph is cancelled and when it settles by
#     itself;
#   - rerun creates a graph and is refused the same way at the bound;
#   - root is held to it too (like max_active_per_user);
#   - 200 submits of 5 nodes pipelined on one connection: exactly 20
#     accepted (submits waiting for the disk writer count);
#   - SIGHUP raises it; a bad value at SIGHUP is refused and the old bound
#     kept; bad values at start are refused naming the key;
#   - after kill -9 and a restart, A's interrupted graphs are not active:
#     A submits 100 nodes again.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

coopd_refuses_values max_active_nodes_per_user 0 -1 abc 10k 1099511627777 ""

fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
max_active_nodes_per_user = 100
max_active_per_user = 1000
max_pending_requests = 1000
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
export COOPD_PID COOPD_LOG

FAIR_NODES_PY=$(cat <<'PYEOF'
def sleeps(n):
    return {"nodes": [{"id": "s%d" % i, "kind": "task", "fn": "sleep",
                       "args": {"ms": 600000}} for i in range(n)]}

def noops(n):
    return {"nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(n)]}

def refused(m, have, bound, what):
    e = m.get("error", {})
    msg = e.get("message", "")
    expect(e.get("code") == -32003 and "max_active_nodes_per_user %d" % bound in msg
           and "%d active" % have in msg, what, m)

def settle(c, gid):
    c.result("cancel", {"id": gid})
    st = c.result("wait", {"id": gid, "summary": True, "timeout_ms": 60000 * SLOW})
    expect(st["state"] in FINAL, "graph %s settles" % gid, st)
PYEOF
)
export FAIR_NODES_PY

fair_py <<'PY' || fail "active nodes per user"
exec(os.environ["FAIR_NODES_PY"])
a = as_user(FAIR_A)
b = as_user(FAIR_B)

# --- at the bound: A refused naming the key, its count and the bound
g60 = a.result("submit", {"graph": sleeps(60)})["id"]
refused(a.call("submit", {"graph": sleeps(41)}), 60, 100, "60 + 41 nodes: refused")
g40 = a.result("submit", {"graph": sleeps(40)})["id"]
refused(a.call("submit", {"graph": noops(1)}), 100, 100, "100 + 1 nodes: refused")
print("A at the bound:", a.call("submit", {"graph": noops(1)})["error"]["message"])

# --- B is not held to A's count
gb = b.result("submit", {"graph": sleeps(100)})["id"]
refused(b.call("submit", {"graph": noops(1)}), 100, 100, "B at its own bound: refused")
settle(b, gb)
gb = b.result("submit", {"graph": noops(100)})["id"]
st = b.result("wait", {"id": gb, "summary": True, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "B's 100-node graph completes while A is at the bound", st)

# --- cancel gives the nodes back
settle(a, g60)
g60 = a.result("submit", {"graph": sleeps(60)})["id"]
refused(a.call("submit", {"graph": noops(1)}), 100, 100, "at the bound again")
settle(a, g60)
settle(a, g40)

# --- a graph that settles by itself gives them back
gdone = a.result("submit", {"graph": noops(100)})["id"]
st = a.result("wait", {"id": gdone, "summary": True, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "A's 100 noops succeed", st)
gs = a.result("submit", {"graph": sleeps(100)})["id"]

# --- rerun creates a graph: refused at the bound, accepted once freed
refused(a.call("rerun", {"id": gdone}), 100, 100, "rerun of 100 nodes at the bound: refused")
settle(a, gs)
gr = a.result("rerun", {"id": gdone})["id"]
st = a.result("wait", {"id": gr, "summary": True, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "the rerun runs once the bound is free", st)

# --- a graph bigger than the bound alone
m = a.call("submit", {"graph": noops(101)})
refused(m, 0, 100, "101 nodes with nothing active: refused")

# --- root is held to it too
r = Conn()
gr1 = r.result("submit", {"graph": sleeps(100)})["id"]
refused(r.call("submit", {"graph": noops(1)}), 100, 100, "root at the bound: refused")
settle(r, gr1)

# --- pipelined on one connection: the submits waiting for the writer count
p = as_user(FAIR_A)
ids = [p.send("submit", {"graph": sleeps(5)}) for _ in range(200)]
answers = [p.answer(i) for i in ids]
ok = [m["result"]["id"] for m in answers if "result" in m]
expect(len(ok) == 20, "exactly 100 / 5 pipelined submits accepted", len(ok))
for m in answers:
    if "error" in m:
        e = m["error"]
        expect(e["code"] == -32003 and "max_active_nodes_per_user 100" in e["message"],
               "the others are refused naming the key", m)
active = [g for g in a.result("list")["graphs"] if g["state"] not in FINAL]
expect(len(active) == 20, "A has 20 active graphs", len(active))

# --- SIGHUP: a bad value keeps the old bound, a good one changes it
config_reload("max_active_nodes_per_user = 0\n", "bad value '0' for 'max_active_nodes_per_user'")
refused(a.call("submit", {"graph": noops(1)}), 100, 100, "a bad reload kept the bound")
with open(os.environ["COOPD_TMP"] + "/coopd.conf") as f:
    conf = f.read().replace("max_active_nodes_per_user = 0\n", "")
with open(os.environ["COOPD_TMP"] + "/coopd.conf", "w") as f:
    f.write(conf)
config_reload("max_active_nodes_per_user = 150\n", "configuration reloaded")
a.result("submit", {"graph": sleeps(50)})
refused(a.call("submit", {"graph": noops(1)}), 150, 150, "the reloaded bound applies")
PY

# --- a crash: the interrupted graphs are not active after the restart
coopd_kill9
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
fair_py <<'PY' || fail "after a restart"
exec(os.environ["FAIR_NODES_PY"])
a = as_user(FAIR_A)
expect(a.result("list")["graphs"] == [], "no graph of A is active after the restart")
states = [g["state"] for g in a.result("list", {"all": True})["graphs"]]
expect(states.count("interrupted") == 21, "A's 21 active graphs were interrupted", states)
g = a.result("submit", {"graph": sleeps(150)})["id"]
refused(a.call("submit", {"graph": noops(1)}), 150, 150, "the bound holds after the restart")
settle(a, g)
PY
coopd_stop
coopd_pass
