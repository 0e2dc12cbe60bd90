#!/bin/sh
# Reads of settled trees are taken in turn by user (daemon/store-reader.c,
# docs/durability.md "Memory"): user A asks for the full status of four
# big settled graphs from four connections, user B for one small graph's;
# the shim (tests/fault-shim.c, "hold") keeps the first read from ending
# until all five are queued (stats store.reads_pending), so the queue's
# order is set without timing anything.  Once the reads go on, B's answer
# comes right after the read that was in progress, not after all of A's
# (before: first come, first served, B's came last).  Every answer is
# whole, and the count of pending reads goes back to 0.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

coopd_fault_shim
fair_users_setup
coopd_start_shimmed
fair_socket_group

fair_py <<'PY' || fail "reads in turn by user"
import threading
a, b = as_user(FAIR_A), as_user(FAIR_B)
BIG = 20000
big = [settled_noops(a, "big%d" % k, BIG) for k in range(4)]
small = settled_noops(b, "small", 3)
def stat(key):
    return rpc("stats")["store"][key]
def until(cond, what):
    return wait_for(what, cond, 6000)
until(lambda: stat("trees_in_memory") == 0, "no tree kept once settled")
expect(stat("reads_pending") == 0, "no read pending")

hold_reads(True)
conns = {}
for k, g in enumerate(big):
    c = as_user(FAIR_A)
    c.send("status", {"id": g}, id="a%d" % k)
    conns["a%d" % k] = c
    # one at a time, so that A's reads are queued in this order
    until(lambda: stat("reads_pending") == k + 1, "A's read %d queued" % k)
cb = as_user(FAIR_B)
cb.send("status", {"id": small}, id="b")
conns["b"] = cb
until(lambda: stat("reads_pending") == 5, "B's read queued behind A's four")
# When each answer's first byte comes, seen by a thread per connection
# (one thread reading a big answer whole would see B's and A's next answer
# as ready together).
first = {}
def first_byte(name, c):
    c.s.recv(1, socket.MSG_PEEK)
    first[name] = time.monotonic()
ts = [threading.Thread(target=first_byte, args=(n, c)) for n, c in conns.items()]
for t in ts:  # all waiting before the reads go on
    t.start()
hold_reads(False)

for t in ts:  # (before reading: a read would take the bytes peeked at)
    t.join()
answers = {name: c.read_msg() for name, c in conns.items()}
order = sorted(first, key=first.get)
print("answers in the order:", order)
expect(order.index("b") <= 1, "B's read comes after the one in progress, not after A's four", order)
for k in range(4):
    st = answers["a%d" % k]["result"]
    expect(st["state"] == "succeeded" and len(states(st)) == BIG, "A's answer %d whole" % k)
st = answers["b"]["result"]
expect(st["state"] == "succeeded" and len(states(st)) == 3, "B's answer whole", st)
until(lambda: stat("reads_pending") == 0, "no read left pending")
PY
coopd_stop
coopd_pass
