#!/bin/sh
# `rerun` of a big graph does not hold the loop (issue 15 item 2,
# daemon/method-rerun.c): reading the stored document, parsing it and
# building the new graph run on the store's reader thread.  User A
# submits a graph of 24 exec nodes each with a 1,000,000-byte env value
# (a 24 MB document), waits until it has settled, then sends 8 reruns at
# once on 8 connections (4 of them failed_only, which read the old tree
# back first) while user B pings every few milliseconds.  Every rerun is
# answered with a new graph that settles; every rerun was read off the
# loop (coopd_reruns_read_off_loop_total and stats
# daemon.reruns_read_off_loop count 8: with the read on the loop they are
# absent); all of B's pings are answered (p50/max and the loop's longest
# iteration are printed: no timed assertion, hang guards only).  Three
# reruns pipelined on one connection are answered in order (a connection
# has one read at most: it reads nothing more meanwhile); a client gone
# while its rerun is read, and a graph removed while a rerun of it waits
# for the reader, leave coopd healthy.  Real users.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
max_active_per_user = 100
max_request_bytes = 67108864
max_input_bytes_per_user = 134217728
max_input_bytes = 268435456
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group

fair_py <<'PY' || fail "reruns off the loop"

N = 24
BIG = "x" * 1000000
FINAL = ("succeeded", "failed", "cancelled")

def big_graph(name):
    return {"name": name,
            "nodes": [{"id": "n%02d" % i, "kind": "exec", "argv": ["true"],
                       "env": {"BIG": BIG}} for i in range(N)]}

def settle(conn, gid):
    st = conn.result("wait", {"id": gid, "timeout_ms": 600000 * SLOW, "summary": True})
    expect(st["state"] in FINAL, "graph %s settles" % gid, st)
    return st

def off_loop():
    st = as_user(FAIR_A).result("stats")["daemon"]["reruns_read_off_loop"]
    m = call("metrics")["result"]["text"]
    rows = [l for l in m.splitlines() if l.startswith("coopd_reruns_read_off_loop_total ")]
    expect(len(rows) == 1 and int(rows[0].split()[1]) == st,
           "the counter is in metrics and stats alike", rows, st)
    return st

a = as_user(FAIR_A)
gid = a.result("submit", {"graph": big_graph("big")})["id"]
settle(a, gid)
gid2 = a.result("submit", {"graph": big_graph("big2")})["id"]
settle(a, gid2)
base = off_loop()
busy_before = float([l for l in call("metrics")["result"]["text"].splitlines()
                     if l.startswith("coopd_loop_busy_max_seconds ")][0].split()[1])
def hist():
    m = call("metrics")["result"]["text"]
    return [l for l in m.splitlines() if l.startswith("coopd_loop_iteration_seconds_bucket") or l.startswith("coopd_loop_busy_max")]
print("BEFORE", hist())

pinger = Pinger(FAIR_B).start()

K = 8
conns = [as_user(FAIR_A) for _ in range(K)]
for k, c in enumerate(conns):
    c.send("rerun", {"id": gid, "failed_only": k % 2 == 1}, id=k + 1)
new = []
for k, c in enumerate(conns):
    m = c.answer(k + 1)
    expect("result" in m and m["result"]["id"] not in (gid, gid2), "rerun %d gets a new graph" % k, m)
    new.append(m["result"]["id"])
expect(len(set(new)) == K, "8 distinct graphs", new)
for g in new:
    st = settle(a, g)
    expect(st["name"] == "big" and sum(st["counts"].values()) == N, "the rerun is the same graph",
           st)
print("AFTER", hist())
rtts = pinger.finish()
m = call("metrics")["result"]["text"]
busy = [l for l in m.splitlines() if l.startswith("coopd_loop_busy_max_seconds ")]
expect(len(busy) == 1, "the loop-hold gauge is there", busy)
print("B's pings during 8 reruns of a %d MB graph: %d, p50 %.1f ms, max %.1f ms; "
      "longest loop iteration since start: %.1f ms (%.1f ms before the reruns)"
      % (N, len(rtts), pctl(rtts, 50) * 1000, max(rtts) * 1000, float(busy[0].split()[1]) * 1000,
         busy_before * 1000))
expect(off_loop() - base == K, "the 8 reruns were read and built off the loop", off_loop(), base)

# Pipelined on one connection: answered in order, one read at a time.
p = as_user(FAIR_A)
for i in (101, 102, 103):
    p.send("rerun", {"id": gid2, "failed_only": i == 102}, id=i)
order = []
while len(order) < 3:
    msg = p.read_msg()
    order.append(msg["id"])
    expect("result" in msg, "a pipelined rerun is accepted", msg)
    settle(a, msg["result"]["id"])
expect(order == [101, 102, 103], "answered in the order sent", order)

# A client gone while its rerun is being read.
for _ in range(3):
    gone = as_user(FAIR_A)
    gone.send("rerun", {"id": gid2}, id=1)
    gone.close()
# A graph removed while a rerun of it waits for the reader (queued behind
# two other reads): the rerun answers whichever it met, a new graph or
# -32001 like any unknown graph.
busy1, busy2, late = as_user(FAIR_A), as_user(FAIR_A), as_user(FAIR_A)
busy1.send("rerun", {"id": gid}, id=1)
busy2.send("rerun", {"id": gid}, id=1)
late.send("rerun", {"id": gid2}, id=7)
expect(a.result("remove", {"id": gid2}) is not None, "the graph is removed")
m = late.answer(7)
if "error" in m:
    expect(m["error"]["code"] == -32001, "a removed graph is unknown", m)
    print("the rerun of the removed graph answered -32001")
else:
    settle(a, m["result"]["id"])
    print("the rerun of the removed graph was built before the remove")
for c in (busy1, busy2):
    settle(a, c.answer(1)["result"]["id"])

# coopd is healthy afterwards.
b = as_user(FAIR_B)
expect(b.result("ping") is not None, "coopd still answers")
g = b.result("submit", {"graph": {"nodes": [{"id": "n", "kind": "task", "fn": "noop"}]}})["id"]
st = b.result("wait", {"id": g, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "B's graph completes afterwards", st)
PY
coopd_stop
coopd_pass
