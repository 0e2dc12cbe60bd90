#!/bin/sh
# A settled graph's tree is read back off the loop (issue 15 item 2,
# daemon/store-reader.c, server-park.c), as real users.  A shim
# (tests/fault-shim.c, "hold") makes every read of coopd.db wait until the
# test lets it go, so a read back that never ends is played without
# timing anything:
#   - while user A's full `status` of a settled graph waits for its tree,
#     user B's pings are answered (hang guard only: this hung before);
#   - A's requests pipelined after it on the same connection wait for it
#     (answers in order); a second connection's status shares the read;
#   - a graph removed while its tree is being read answers its parked
#     status -32001 like any unknown graph, and the remove completes;
#   - once the reads go on, every parked request is answered whole, and no
#     tree stays in memory.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

coopd_fault_shim
fair_users_setup
coopd_start_shimmed
fair_socket_group

fair_py <<'PY' || fail "read back off the loop"
a = as_user(FAIR_A)
g1, g2 = settled_noops(a, "one", 2000), settled_noops(a, "two", 10)
for _ in range(6000 * SLOW):
    if a.result("stats")["store"]["trees_in_memory"] == 0:
        break
    time.sleep(0.01)
expect(a.result("stats")["store"]["trees_in_memory"] == 0, "no tree kept once settled")

hold_reads(True)
c1, c2, c3, c4 = (as_user(FAIR_A) for _ in range(4))
c1.send("status", {"id": g1}, id="st")
c1.send("ping", id="p")
c2.send("status", {"id": g1}, id="st2")
c4.send("status", {"id": g2}, id="st4")
c3.send("remove", {"id": g2}, id="rm")
# B is served while A's reads cannot end (before: the loop was stuck in
# the read, and this ping hung).
b = as_user(FAIR_B)
b.s.settimeout(30 * SLOW)
rtts = []
for _ in range(50):
    rtt, res = timed(lambda: b.result("ping"))
    rtts.append(rtt)
print("victim ping while A's tree reads are held: p50 %.2f ms, p99 %.2f ms" %
      (pctl(rtts, 50) * 1000, pctl(rtts, 99) * 1000))
expect(b.result("list", {"all": True})["graphs"] == [], "B sees none of A's graphs")
hold_reads(False)

m = c1.read_msg()
expect(m["id"] == "st" and len(states(m["result"])) == 2000, "the held status, whole",
       m.get("id"), m.get("error"))
m = c1.read_msg()
expect(m["id"] == "p" and "result" in m, "then the ping pipelined after it", m)
m = c2.read_msg()
expect(m["id"] == "st2" and len(states(m["result"])) == 2000, "the second one shared the read",
       m.get("id"), m.get("error"))
m = c4.read_msg()
expect(m["id"] == "st4" and m["error"]["code"] == -32001, "a graph removed meanwhile is gone",
       m)
m = c3.read_msg()
expect(m == {"jsonrpc": "2.0", "id": "rm", "result": {"removed": True}}, "the remove", m)
for _ in range(6000 * SLOW):
    if a.result("stats")["store"]["trees_in_memory"] == 0:
        break
    time.sleep(0.01)
expect(a.result("stats")["store"]["trees_in_memory"] == 0, "the tree goes again")
st = a.result("status", {"id": g1})
expect(len(states(st)) == 2000, "status again")
PY
coopd_stop
coopd_pass
