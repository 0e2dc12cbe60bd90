#!/bin/sh
# max_active_per_user counts submits not yet answered (issue 15 item 4,
# docs/security.md): a user who pipelines 300 submits on one connection,
# without waiting for any answer, gets exactly max_active_per_user graphs
# accepted and -32003 naming the key for the rest, however many of them
# are still waiting for the disk writer.  Meanwhile another user's graphs
# run and complete (round trip printed, hang guard only).  Real users.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
max_active_per_user = 5
max_pending_requests = 1000
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group

fair_py <<'PY' || fail "pipelined submits"
LONG = {"nodes": [{"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}
a = as_user(FAIR_A)
ids = [a.send("submit", {"graph": LONG}) for _ in range(300)]
answers = [a.answer(i) for i in ids]
ok = [m for m in answers if "result" in m]
refused = [m for m in answers if "error" in m]
expect(len(ok) == 5, "exactly max_active_per_user submits accepted", len(ok))
for m in refused:
    expect(m["error"]["code"] == -32003 and "max_active_per_user" in m["error"]["message"],
           "the others are refused naming the key", m)
active = [g for g in a.result("list")["graphs"] if g["state"] not in FINAL]
expect(len(active) == 5, "A has 5 active graphs", len(active))

# B is not held to A's count: B's graphs run and complete meanwhile.
b = as_user(FAIR_B)
rtts = []
for _ in range(5):
    rtt, res = timed(lambda: b.result("ping"))
    rtts.append(rtt)
    gid = b.result("submit", {"graph": {"nodes": [{"id": "n", "kind": "task", "fn": "noop"}]}})["id"]
    st = b.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
    expect(st["state"] == "succeeded", "B's graph completes", st)
print("victim ping round trip, max of 5: %.1f ms" % (max(rtts) * 1000))

# Once A's graphs settle, A may submit again (the count went down).
for m in ok:
    a.result("cancel", {"id": m["result"]["id"]})
for m in ok:
    a.result("wait", {"id": m["result"]["id"], "timeout_ms": 60000 * SLOW})
m = a.call("submit", {"graph": {"nodes": [{"id": "n", "kind": "task", "fn": "noop"}]}})
expect("result" in m, "A submits again once its graphs settled", m)
PY
coopd_stop
coopd_pass
