#!/bin/sh
# The answers coopd holds unsent are shared per user (answer_bytes_per_user,
# docs/security.md, "Answers and turns", daemon/server-turns.c),
# as real users:
#   - 40 connections of user A each pipeline `list {all:true}` (about 40 KB
#     an answer, more than answer_backlog_bytes in all on each) and never
#     read: coopd stops dispatching A's lines once A's unsent answers reach
#     the share (stats daemon.answer_bytes at most the share plus one
#     answer, daemon.answer_share_waits counts the waits), and its memory
#     (VmHWM) grows by about the share, not by 40 x answer_backlog_bytes
#     (62 such connections grew it by 4 GB);
#   - meanwhile user B's pings are all answered (hang guard only; p50/p99
#     printed) and B's own `list` too, while a new connection of A waits
#     (its ping is counted as waiting, answered later);
#   - SIGHUP raising the share lets A's connections go on up to the new one;
#   - once A's connections read, every answer arrives, whole and in order,
#     and nothing is left counted (daemon.answer_bytes 0);
#   - a bad value of the key is refused at start, naming it.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

coopd_refuses_values answer_bytes_per_user 0 -1 abc 10k 1099511627777 ""

fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
answer_backlog_bytes = 1048576
answer_bytes_per_user = 4194304
CONF
# ASan keeps freed memory in quarantine (256 MB by default), which would
# hide what this test measures: coopd's memory staying bounded.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
# valgrind's memcheck likewise holds 20 MB of freed blocks by default.
VALGRIND_OPTS="${VALGRIND_OPTS:+$VALGRIND_OPTS }--freelist-vol=1000000"
export ASAN_OPTIONS VALGRIND_OPTS
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
export COOPD_PID COOPD_LOG

fair_py <<'PY' || fail "answer share"
PID = int(os.environ["COOPD_PID"])
BACKLOG, SHARE = 1048576, 4194304
CONNS, GRAPHS, LINES = 40, 200, 40
def vm(key):
    for line in open("/proc/%d/status" % PID):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
def daemon():
    return rpc("stats")["daemon"]
def until(cond, what):
    return wait_for(what, cond, 6000, daemon)

a = as_user(FAIR_A)
for i in range(GRAPHS):
    a.send("submit", {"graph": {"name": "g%03d-" % i + "x" * 60,
                                "nodes": [{"id": "t", "kind": "task", "fn": "noop"}]}}, id=i)
gids = []
for i in range(GRAPHS):
    m = a.answer(i)
    expect("result" in m, "submitted", m)
    gids.append(m["result"]["id"])
for i, gid in enumerate(gids):  # settled: the list's size stays
    a.send("wait", {"id": gid, "timeout_ms": 600000 * SLOW, "summary": True}, id="w%d" % i)
for i in range(GRAPHS):
    expect(a.answer("w%d" % i)["result"]["state"] == "succeeded", "settled", i)
one = json.dumps(a.call("list", {"all": True})).encode()
ANSWER = len(one) + 1
print("a list answer: %d bytes; %d connections x %d lines: %d MB asked for" %
      (ANSWER, CONNS, LINES, CONNS * LINES * ANSWER >> 20))
expect(LINES * ANSWER > BACKLOG, "each connection asks more than answer_backlog_bytes")

st0 = daemon()
hwm0 = vm("VmHWM")
reqs = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"list","params":{"all":true}}\n' % i
                for i in range(LINES))
pinger = Pinger(FAIR_B)
pinger.thread.daemon = True  # a failed expect ends the test
pinger.start()
socks = many_as(FAIR_A, CONNS, reqs)
# A's answers pile up to the share, then A's connections wait.
until(lambda: daemon()["answer_bytes"] >= SHARE, "A's unsent answers reach the share")
# Each connection not held by its own backlog waits for the share.
until(lambda: daemon()["answer_share_waits"] >=
      st0["answer_share_waits"] + CONNS - SHARE // BACKLOG - 1,
      "A's connections wait for the share")
# A's new connection waits too: its ping is counted as waiting.
late = as_user(FAIR_A)
waits = daemon()["answer_share_waits"]
late.send("ping", id="late")
until(lambda: daemon()["answer_share_waits"] > waits, "A's new connection waits")
# B is not concerned: its own list is answered at once.
b = as_user(FAIR_B)
expect(b.result("list", {"all": True})["graphs"] == [], "B's list is answered")
st1 = daemon()
hwm1 = vm("VmHWM")
print("A's unsent answers %d bytes (share %d); coopd VmHWM %d -> %d MiB" %
      (st1["answer_bytes"], SHARE, hwm0 >> 20, hwm1 >> 20))
expect(st1["answer_bytes"] <= SHARE + ANSWER + 65536,
       "unsent answers bounded by the share plus one answer", st1)
# 40 connections x answer_backlog_bytes (42 MB) without the share.
expect(hwm1 - hwm0 < SHARE + 12 * BACKLOG, "coopd's memory bounded by the share", hwm0, hwm1)

# A bigger share: A's connections go on up to it.
config_reload("answer_bytes_per_user = %d\n" % (3 * SHARE))
until(lambda: daemon()["answer_bytes"] >= 3 * SHARE, "the raised share is used")
expect(daemon()["answer_bytes"] <= 3 * SHARE + ANSWER + 65536, "and bounded by it")

# A reads: every answer comes, whole, in order, per connection.
def whole_list(k, n, m):
    expect(m["id"] == n, "answers in order", k, m.get("id"), n)
    expect(len(m["result"]["graphs"]) == GRAPHS, "a whole list", k)
read_answers(socks, LINES, whole_list)
m = late.read_msg()
expect(m["id"] == "late" and m["result"] == {}, "A's late ping is answered once A read", m)
rtts = pinger.finish()
print("B's pings meanwhile: %d, p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
      (len(rtts), pctl(rtts, 50) * 1000, pctl(rtts, 99) * 1000, max(rtts) * 1000))
for s in socks:
    s.close()
until(lambda: daemon()["answer_bytes"] == 0, "nothing left counted once read")
PY
coopd_stop
coopd_pass
