#!/bin/sh
# Pipelined request lines are dispatched in turns (docs/security.md "Fair
# share: answers and turns", daemon/server-turns.c), as real users:
#   - 8 connections of user A each send 1000 pipelined lines at once
#     (`ping`, every 10th a `list` of 100 graphs or a `metrics`): one
#     callback no longer dispatches a whole read of them (stats
#     daemon.dispatch_yields grows by at least one per connection: each
#     first read holds more lines than a callback's budget), every answer
#     comes, in order, per connection, and user B's pings are answered
#     meanwhile (hang guard only; p50/p99 printed);
#   - a connection that half-closes after its 1000 lines gets every answer,
#     then end of file;
#   - connections that go away with their lines still queued leave nothing
#     behind (coopd answers, nothing counted: input_bytes, answer_bytes 0).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
coopd_start
fair_socket_group

fair_py <<'PY' || fail "turns"
CONNS, LINES, GRAPHS = 8, 1000, 100
def daemon():
    return rpc("stats")["daemon"]
def until(cond, what):
    return wait_for(what, cond, 6000, daemon)
def line(i):
    if i % 20 == 10:
        return b'{"jsonrpc":"2.0","id":%d,"method":"list","params":{"all":true}}\n' % i
    if i % 20 == 0:
        return b'{"jsonrpc":"2.0","id":%d,"method":"metrics"}\n' % i
    return b'{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' % i
def check(i, m):
    expect(m.get("id") == i, "answers in order", i, m)
    if i % 20 == 10:
        expect(len(m["result"]["graphs"]) == GRAPHS, "a whole list", i)
    elif i % 20 == 0:
        expect("coopd_dispatch_yields_total" in m["result"]["text"], "a metrics text", i)
    else:
        expect(m["result"] == {}, "a ping's answer", i, m)

a = as_user(FAIR_A)
for i in range(GRAPHS):
    a.send("submit", {"graph": {"name": "g%d" % i,
                                "nodes": [{"id": "t", "kind": "task", "fn": "noop"}]}}, id=i)
for i in range(GRAPHS):
    expect("result" in a.answer(i), "submitted", i)
reqs = b"".join(line(i) for i in range(LINES))
expect(len(reqs) < 65536, "one read of coopd's can take every line", len(reqs))

y0 = daemon()["dispatch_yields"]
pinger = Pinger(FAIR_B)
pinger.thread.daemon = True  # a failed expect ends the test
pinger.start()
socks = many_as(FAIR_A, CONNS, reqs)
read_answers(socks, LINES, lambda k, n, m: check(n, m))
rtts = pinger.finish()
print("B's pings while A pipelined %d x %d lines: %d, p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
      (CONNS, LINES, len(rtts), pctl(rtts, 50) * 1000, pctl(rtts, 99) * 1000, max(rtts) * 1000))
st = daemon()
print("dispatch_yields %d -> %d, loop_busy_max_seconds %.3f" %
      (y0, st["dispatch_yields"], st["loop_busy_max_seconds"]))
expect(st["dispatch_yields"] >= y0 + CONNS, "each connection's lines were left for later turns",
       y0, st)
for s in socks:
    s.close()

# Half-closed after its lines: every answer, then end of file.
s = many_as(FAIR_A, 1, reqs)[0]
s.shutdown(socket.SHUT_WR)
s.settimeout(600 * SLOW)
data = b""
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    data += d
lines = data.split(b"\n")
expect(lines[-1] == b"" and len(lines) == LINES + 1, "every answer before end of file",
       len(lines))
for i in range(LINES):
    check(i, json.loads(lines[i]))
s.close()

# Gone with lines still queued: nothing left behind.
st = daemon()
y0, n0 = st["dispatch_yields"], st["connections_active"]
socks = many_as(FAIR_A, CONNS, reqs * 2)
until(lambda: daemon()["dispatch_yields"] > y0, "the lines are being dispatched")
for s in socks:
    s.close()
until(lambda: daemon()["connections_active"] <= n0, "the connections are gone")
st = daemon()
expect(st["input_bytes"] < 1024 and st["answer_bytes"] == 0, "nothing counted", st)
expect(a.result("ping") == {}, "coopd answers")
PY
coopd_stop
coopd_pass
