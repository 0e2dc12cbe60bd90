#!/bin/sh
# Fairness under one user's hammering (issue 15, docs/security.md "Fair
# share"), as real users: while user A hammers coopd in the ways of issue
# 15 at once --
#   1. holding its share of connections with half messages, reopening each
#      one the timeouts close;
#   2. pipelining `status` of a 20,000-node graph on several connections
#      without reading the answers;
#   3. 70 ignore_cancel blocking sleeps;
#   4. pipelining submits past max_active_per_user;
#   5. holding idle connections to the metrics listener --
# user B keeps pinging and running small graphs (a task and a blocking
# node).  Every one of B's graphs must complete (60 s hang guards); the
# round trips are measured and printed (ping p50/p99/max, graph p99), never
# asserted against a speed.  `make check` runs it for 10 s; `make soak`
# (COOPD_SOAK=1) for COOPD_SOAK_SECONDS (120).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
if [ "${COOPD_SOAK:-0}" = 1 ]; then SECONDS_RUN=${COOPD_SOAK_SECONDS:-120}; else SECONDS_RUN=10; fi
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SECONDS_RUN MPORT
cat >"$COOPD_TMP/coopd.conf" <<CONF
message_timeout_ms = 3000
idle_timeout_ms = 5000
max_active_per_user = 20
ignore_cancel_max_ms = 2000
answer_backlog_bytes = 8388608
shutdown_timeout_ms = 60000
CONF
coopd_start --config "$COOPD_TMP/coopd.conf" --metrics-listen "127.0.0.1:$MPORT"
fair_socket_group
export COOPD_PID

fair_py <<'PY' || fail "fairness under hammering"
import threading

RUN = int(os.environ["SECONDS_RUN"])
MPORT = int(os.environ["MPORT"])
stop = threading.Event()
errors = []

def guarded(f):
    def run():
        try:
            f()
        except BaseException as e:  # an attacker failing is not the test
            errors.append("%s: %r" % (f.__name__, e))
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t

def hold_connections():
    socks = []
    while not stop.is_set():
        socks = [s for s in socks if s.fileno() >= 0]
        try:
            socks += many_as(FAIR_A, 70 - len(socks), b'{"jsonrpc":"2.0","id":1,"met')
        except OSError:
            pass
        r, _, _ = select.select(socks, [], [], 0.5) if socks else ([], [], [])
        for s in r:
            try:
                s.recv(4096)
            except OSError:
                pass
            s.close()
    for s in socks:
        s.close()

big = {"name": "big", "nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"}
                                 for i in range(20000)]}

def status_flood():
    a = as_user(FAIR_A)
    gid = a.result("submit", {"graph": big})["id"]
    a.result("wait", {"id": gid, "timeout_ms": 120000})
    a.close()
    socks = many_as(FAIR_A, 4)
    line = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "status",
                        "params": {"id": gid}}) + "\n").encode()
    for s in socks:
        s.setblocking(False)
    while not stop.is_set():
        for s in socks:
            try:
                s.send(line * 10)
            except OSError:
                pass
        stop.wait(0.2)
    for s in socks:
        s.close()

def blocking_hog():
    a = as_user(FAIR_A)
    a.result("submit", {"graph": {"nodes": [
        {"id": "s%d" % i, "kind": "blocking", "fn": "sleep",
         "args": {"ms": 3600000, "ignore_cancel": True}} for i in range(70)]}})
    stop.wait()
    a.close()

def submit_flood():
    a = as_user(FAIR_A)
    g = {"nodes": [{"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}
    while not stop.is_set():
        ids = [a.send("submit", {"graph": g}) for _ in range(100)]
        for i in ids:
            a.answer(i)
        stop.wait(0.5)
    a.close()

def metrics_hold():
    socks = []
    while not stop.is_set():
        while len(socks) < 40:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", MPORT))
            socks.append(s)
        r, _, _ = select.select(socks, [], [], 0.2)
        for s in r:
            socks.remove(s)
            s.close()
    for s in socks:
        s.close()

# The metrics holder runs as A too (any local user can do it).
def as_a(f):
    def run():
        pid = os.fork()
        if pid == 0:
            try:
                uid, gid, groups = ids_of(FAIR_A)
                os.setgroups(groups); os.setgid(gid); os.setuid(uid)
                deadline = time.monotonic() + RUN + 5
                threading.Thread(target=lambda: (time.sleep(max(0, deadline - time.monotonic())),
                                                 stop.set()), daemon=True).start()
                f()
            finally:
                os._exit(0)
        return pid
    run.__name__ = f.__name__
    return run

# The graphs first (max_active_per_user then stops the submit flood), the
# connection holder last (it takes the rest of A's connection share).
threads = [guarded(f) for f in (blocking_hog, status_flood)]
time.sleep(1)
threads += [guarded(f) for f in (submit_flood, hold_connections)]
mpid = as_a(metrics_hold)()
time.sleep(2)  # let the hammering start

b = as_user(FAIR_B)
pings, graphs = [], []
small = {"nodes": [{"id": "t", "kind": "task", "fn": "noop"},
                   {"id": "k", "kind": "blocking", "fn": "noop", "after": ["t"]}]}
end = time.monotonic() + RUN
while time.monotonic() < end:
    rtt, res = timed(lambda: b.result("ping"))
    expect(res == {}, "B's ping answered")
    pings.append(rtt)
    t0 = time.monotonic()
    gid = b.result("submit", {"graph": small})["id"]
    st = b.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
    expect(st["state"] == "succeeded", "B's graph completed", st)
    graphs.append(time.monotonic() - t0)
stop.set()
os.waitpid(mpid, 0)
for t in threads:
    t.join(30)
ms = lambda x: x * 1000
print("fairness run %d s: B pings %d, p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
      (RUN, len(pings), ms(pctl(pings, 50)), ms(pctl(pings, 99)), ms(max(pings))))
print("B graphs completed %d, round trip p50 %.2f ms, p99 %.2f ms, max %.2f ms" %
      (len(graphs), ms(pctl(graphs, 50)), ms(pctl(graphs, 99)), ms(max(graphs))))
print("coopd RSS %d kB" % proc_rss_kb(int(os.environ["COOPD_PID"])))
for e in errors:
    print("attacker note:", e)
expect(len(graphs) > 0, "B ran graphs")
PY
coopd_stop
coopd_pass
