#!/bin/sh
# Final states held back for the next commit (docs/durability.md, "a graph
# settles"), with journal_flush_ms = 60000 so that no timer flush comes in
# between (nothing here waits for it; the client's 60 s socket timeout is
# only a hang guard):
#   - a graph that settles with nobody waiting costs no commit of its own:
#     its final state goes into the next submit's transaction (`stats`:
#     one more commit, two more writes);
#   - a `wait` for such a graph sends it to the writer at once, synced: it
#     is answered, and the result survives kill -9;
#   - a `remove` of such a graph is answered at once too;
#   - a graceful stop writes what is held back at once: the graph is
#     final after the restart.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
journal_flush_ms = 60000
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"

coopd_py >"$COOPD_TMP/ids" <<'PY' || fail "held-back final states"
noop = {"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]}

def settled(gid):
    # The graph's state, not its node's: the root scope ends after its
    # last node, and may be reported a moment later.
    for _ in range(2000 * SLOW):
        st = rpc("status", {"id": gid})
        if st["state"] == "succeeded" and node(st, "a")["state"] == "succeeded":
            return
        time.sleep(0.01)
    raise AssertionError("graph %s did not settle" % gid)

def store():
    return rpc("stats")["store"]

# The settle of a rides with b's submit.
a = submit(noop)
settled(a)
s0 = store()
b = submit(noop)
settled(b)
s1 = store()
expect(s1["commits"] - s0["commits"] == 1, "one commit for a submit and a settle", s0, s1)
expect(s1["writes"] - s0["writes"] == 2, "a's final state and b's row written", s0, s1)

# wait: b's final state goes now, synced (not after journal_flush_ms).
w = wait(b)
expect(node(w, "a")["state"] == "succeeded", "wait answers b's result", w)
s2 = store()
expect(s2["commits"] - s1["commits"] == 1, "the wait made one commit", s1, s2)

# remove of a graph whose final state is held back.
c = submit(noop)
settled(c)
rpc("remove", {"id": c})
expect(error_code("status", {"id": c}) == -32001, "c removed")

print(a, b)
PY

# a and b went out in synced commits (b's by its wait): they survive a
# crash.
coopd_kill9
coopd_start --config "$COOPD_TMP/coopd.conf"
coopd_py <<'PY' || fail "after kill -9"
a, b = open(os.path.join(os.environ["COOPD_TMP"], "ids")).read().split()
for gid in (a, b):
    st = rpc("status", {"id": gid})
    expect(node(st, "a")["state"] == "succeeded", "succeeded after kill -9", gid, st)

# A graceful stop writes a held-back final state at once.
d = submit({"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
for _ in range(2000 * SLOW):
    if node(rpc("status", {"id": d}), "a")["state"] == "succeeded":
        break
    time.sleep(0.01)
open(os.path.join(os.environ["COOPD_TMP"], "d"), "w").write(d)
PY
coopd_stop
coopd_start --config "$COOPD_TMP/coopd.conf"
coopd_py <<'PY' || fail "a graph held back at the stop"
d = open(os.path.join(os.environ["COOPD_TMP"], "d")).read()
st = rpc("status", {"id": d})
expect(node(st, "a")["state"] == "succeeded", "succeeded after a graceful stop", st)
PY
coopd_pass
