#!/bin/sh
# Big answers are streamed with back-pressure (issue 15 item 2,
# daemon/server-stream.c), as real users:
#   - the full status of a big settled graph is whole and right when read;
#   - 30 connections of user A each pipeline 10 `status` of that graph
#     without reading: user B's pings are all answered meanwhile (hang
#     guard only; p50/p99 printed), and coopd's memory (VmHWM) grows by
#     less than 4 x answer_backlog_bytes per connection (each used to hold
#     a whole 10-20 MB answer);
#   - once they go, the tree pinned by their streams is released;
#   - 20 `wait`s answered when a big graph settles are streamed too:
#     unread, they grow coopd by the backlog, not by 20 whole answers;
#   - on one connection, answers stay whole lines in order: a `wait`
#     answered while a status streams comes after it, a ping pipelined
#     behind it too;
#   - `remove` while its status is streamed: the reader still gets the
#     whole answer, and the graph is gone.
# 50,000 nodes in `make check`, 100,000 in `make soak` (COOPD_SOAK=1).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

if [ "${COOPD_SOAK:-0}" = 1 ]; then NODES=100000; else NODES=50000; fi
export NODES
fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
answer_backlog_bytes = 1048576
max_request_bytes = 67108864
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
export COOPD_PID

fair_py <<'PY' || fail "streamed answers"
N = int(os.environ["NODES"])
PID = int(os.environ["COOPD_PID"])
BACKLOG = 1048576
def vm(key):
    for line in open("/proc/%d/status" % PID):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(1 << 20)
        if not d:
            raise EOFError("closed after %d bytes" % len(buf))
        buf += d
    return buf

a = as_user(FAIR_A)
gid = a.result("submit", {"graph": {"name": "big", "nodes": [
    {"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(N)]}})["id"]
st = a.result("wait", {"id": gid, "timeout_ms": 600000 * SLOW, "summary": True})
expect(st["counts"] == {"succeeded": N}, "the big graph ran", st)

# Whole and right when read.
st = a.result("status", {"id": gid})
sts = states(st)
expect(len(sts) == N and set(sts.values()) == {"succeeded"} and st["root"]["path"] == "/",
       "the streamed status is whole", len(sts))
expect(node(st, "n%d" % (N - 1))["kind"] == "task", "down to the last node")

# 30 connections pipelining 10 status each, never reading.
hwm0, rss0 = vm("VmHWM"), vm("VmRSS")
line = b"".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "status",
                            "params": {"id": gid}}).encode() + b"\n" for i in range(10))
socks = many_as(FAIR_A, 30, line)
b = as_user(FAIR_B)
# The tree is read back (off the loop), then streamed to all 30.
for _ in range(6000 * SLOW):
    if b.result("stats")["store"]["trees_in_memory"] == 1:
        break
    time.sleep(0.01)
rtts = []
for _ in range(300):
    rtt, res = timed(lambda: b.result("ping"))
    rtts.append(rtt)
hwm1, rss1 = vm("VmHWM"), vm("VmRSS")
print("victim ping while 30 clients do not read %d-node answers: p50 %.2f ms, p99 %.2f ms, "
      "max %.2f ms" % (N, pctl(rtts, 50) * 1000, pctl(rtts, 99) * 1000, max(rtts) * 1000))
print("coopd VmRSS %d -> %d MiB, VmHWM %d -> %d MiB" % (rss0 >> 20, rss1 >> 20, hwm0 >> 20,
                                                       hwm1 >> 20))
expect(hwm1 - hwm0 < 30 * 4 * BACKLOG, "memory bounded by the answer backlog, not the answers",
       hwm0, hwm1)
expect(b.result("stats")["store"]["trees_in_memory"] <= 1, "one tree shared by the streams")
for s in socks:
    s.close()
for _ in range(6000 * SLOW):
    if b.result("ping") is not None and rpc("stats")["store"]["trees_in_memory"] == 0:
        break
    time.sleep(0.01)
expect(rpc("stats")["store"]["trees_in_memory"] == 0, "the tree goes once the streams ended")

# A `wait` answered when a big graph settles is streamed too: 20
# connections wait for a running graph of N nodes and stop reading once
# their waits are in (a ping behind each is answered first); the graph is
# cancelled and settles: coopd's memory grows by the streams' pieces, not
# by 20 whole answers (each 5-10 MB, rendered at once on the loop before).
held = a.result("submit", {"graph": {"name": "held", "nodes": [
    {"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(N)] + [
    {"id": "hold", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}})["id"]
for _ in range(6000 * SLOW):
    if a.result("status", {"id": held, "summary": True})["counts"].get("succeeded") == N:
        break
    time.sleep(0.01)
waiters = []
for k in range(20):
    w = as_user(FAIR_A)
    w.send("wait", {"id": held, "timeout_ms": 600000 * SLOW}, id="w%d" % k)
    w.send("ping", id="p%d" % k)
    m = w.read_msg()
    expect(m["id"] == "p%d" % k, "the ping behind the wait is answered first", m)
    waiters.append(w)
hwm0 = vm("VmHWM")
a.result("cancel", {"id": held})
# The waits are answered together once the final state is durable: the
# first one's answer has begun, so have all.
r, _, _ = select.select([waiters[0].s], [], [], 600 * SLOW)
expect(r, "the waits are answered")
for _ in range(50):
    b.result("ping")
hwm1 = vm("VmHWM")
print("20 unread waits of a %d-node graph: VmHWM %d -> %d MiB" % (N, hwm0 >> 20, hwm1 >> 20))
expect(hwm1 - hwm0 < 20 * 4 * BACKLOG, "late wait answers bounded by the backlog", hwm0, hwm1)
m = waiters[0].read_msg()
expect(m["id"] == "w0" and m["result"]["state"] == "cancelled" and
       len(states(m["result"])) == N + 1, "a late wait's streamed answer is whole",
       m.get("id"), len(states(m.get("result", {}))))
for w in waiters:
    w.close()
expect(a.result("remove", {"id": held}) == {"removed": True}, "removed once read or gone")

# Order on one connection: a wait answered mid-stream comes after it.
c = as_user(FAIR_A)
small = c.result("submit", {"graph": {"nodes": [
    {"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}})["id"]
c.send("wait", {"id": small, "timeout_ms": 600000 * SLOW}, id="w")
c.send("status", {"id": gid}, id="st")
c.send("ping", id="p")
first = c.f.read1(100)  # the status answer has begun
expect(first.startswith(b'{"jsonrpc":"2.0","id":"st","result":{'), "the stream began",
       repr(first))
a.result("cancel", {"id": small})
for _ in range(6000 * SLOW):
    if a.result("status", {"id": small, "summary": True})["state"] == "cancelled":
        break
    time.sleep(0.01)
m = json.loads(first + c.f.readline())
expect(len(states(m["result"])) == N, "the stream is whole")
m = c.read_msg()
expect(m["id"] == "w" and m["result"]["state"] == "cancelled", "then the wait's answer", m)
m = c.read_msg()
expect(m["id"] == "p" and "result" in m, "then the ping's", m)

# remove while its status streams: the reader gets all of it.
r = as_user(FAIR_A)
r.send("status", {"id": gid}, id=1)
first = r.f.read1(100)  # its first piece came: the stream has begun
expect(first.startswith(b'{"jsonrpc":"2.0","id":1,"result":{'), "the stream began", repr(first))
expect(a.result("remove", {"id": gid}) == {"removed": True}, "removed while streamed")
m = json.loads(first + r.f.readline())
expect("result" in m, "an answer", m)
expect(len(states(m["result"])) == N, "the streamed answer is whole after the remove")
m = a.call("status", {"id": gid})
expect(m["error"]["code"] == -32001, "the graph is gone", m)
expect(rpc("stats")["store"]["trees_in_memory"] == 0, "and its tree freed")
PY
coopd_stop
coopd_pass
