#!/bin/sh
# sd_notify, read from a real NOTIFY_SOCKET datagram listener: READY=1 once
# coopd serves, STATUS= as work changes (coalesced: at most about one per
# 0.1 s, the last one true), WATCHDOG=1 keep-alives at half of
# WATCHDOG_USEC (only for the process WATCHDOG_PID names), RELOADING=1 then
# READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

[ -x "$COOPD_BIN" ] || fail "coopd not found at $COOPD_BIN"
printf 'max_nodes = 100\n' >"$COOPD_TMP/coopd.conf"
COOPD_CMD=$(_coopd_cmd)
export COOPD_CMD COOPD_LOG

coopd_py <<'PY' || fail "sd_notify messages"
import queue, shlex, signal, statistics, subprocess, threading

tmp = os.environ["COOPD_TMP"]
nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
nsock.bind(os.path.join(tmp, "notify"))
WATCHDOG_USEC = 1000000

# Read the datagrams as they come, as a service manager does: sd_notify's
# send blocks once max_dgram_qlen (10) datagrams wait unread, and coopd's
# loop with it, so a listener that reads only between its requests hung
# the 200 submits below whenever they took over a second.
datagrams = queue.Queue()
def listen():
    while True:
        data = nsock.recv(4096)
        datagrams.put((time.monotonic(), data.decode()))
threading.Thread(target=listen, daemon=True).start()

def start(watchdog_pid_self=True):
    # WATCHDOG_PID is the pid of coopd itself: the shell sets it, then
    # exec()s coopd (libtool's wrapper and valgrind keep the pid).
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(tmp, "notify"),
               WATCHDOG_USEC=str(WATCHDOG_USEC))
    pid_expr = "$$" if watchdog_pid_self else "1"
    cmd = ("WATCHDOG_PID=%s; export WATCHDOG_PID; exec %s --socket %s --state-dir %s "
           "--workers 2 --config %s" % (pid_expr, os.environ["COOPD_CMD"],
                                        shlex.quote(SOCK), shlex.quote(tmp + "/state"),
                                        shlex.quote(tmp + "/coopd.conf")))
    log = open(os.environ["COOPD_LOG"], "ab")
    return subprocess.Popen(["sh", "-c", cmd], env=env, stdout=log, stderr=log)

received = []  # (monotonic time, {key: value}) per datagram

def recv(timeout=60 * SLOW):
    t, data = datagrams.get(timeout=timeout)  # queue.Empty after timeout
    fields = dict(l.split("=", 1) for l in data.split("\n") if l)
    received.append((t, fields))
    return fields

def until(pred, what):
    while True:
        try:
            f = recv()
        except queue.Empty:
            raise AssertionError("no %s; received %r" % (what, [r[1] for r in received]))
        if pred(f):
            return f

p = start()
try:
    f = until(lambda f: "READY" in f, "READY=1")
    expect(f["READY"] == "1", "READY=%s" % f["READY"])
    expect(f.get("STATUS", "").startswith("serving"), "no STATUS with READY=1", f)
    ping_ok()  # READY=1 came once the socket serves

    # STATUS= follows the work: one graph running, then none
    gid = submit({"name": "s", "nodes": [{"id": "z", "kind": "task", "fn": "sleep",
                                          "args": {"ms": 300}}]})
    until(lambda f: "1 active graph" in f.get("STATUS", ""), "STATUS with 1 active graph")
    wait(gid)
    until(lambda f: "0 active graph" in f.get("STATUS", ""), "STATUS with 0 active graphs")

    # STATUS= is coalesced: 200 graphs started and gone (400 changes) are
    # told at most about once per 0.1 s, and the last word is the truth.
    GRAPHS = 200
    n0 = len(received)
    t0 = time.monotonic()
    noop = {"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]}
    last = None
    for _ in range(GRAPHS):
        last = submit(noop)
    wait(last)
    elapsed = time.monotonic() - t0
    f = until(lambda f: "0 active graph" in f.get("STATUS", ""), "STATUS with 0 active graphs")
    time.sleep(0.3)  # a trailing message, if one was due, has come
    try:
        while True:
            recv(timeout=0)
    except queue.Empty:
        pass
    statuses = [f for _, f in received[n0:] if "STATUS" in f and "READY" not in f]
    bound = 2 * (int(elapsed / 0.1) + 1) + 2
    expect(len(statuses) <= bound,
           "%d STATUS= messages for %d graphs in %.2f s (at most %d)"
           % (len(statuses), GRAPHS, elapsed, bound))
    expect("0 active graph" in statuses[-1]["STATUS"], "last STATUS", statuses[-1])

    # WATCHDOG=1 keep-alives, well within WATCHDOG_USEC (at half of it)
    times = []
    while len(times) < 6:
        until(lambda f: f.get("WATCHDOG") == "1", "WATCHDOG=1")
        times.append(received[-1][0])
    gaps = [b - a for a, b in zip(times, times[1:])]
    med = statistics.median(gaps)
    expect(WATCHDOG_USEC / 4e6 < med < WATCHDOG_USEC / 1e6,
           "median keep-alive interval %.3f s for WATCHDOG_USEC=%d" % (med, WATCHDOG_USEC), gaps)

    # SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1
    p.send_signal(signal.SIGHUP)
    f = until(lambda f: "RELOADING" in f, "RELOADING=1")
    expect(f["RELOADING"] == "1" and int(f.get("MONOTONIC_USEC", "0")) > 0,
           "RELOADING=1 without MONOTONIC_USEC", f)
    until(lambda f: f.get("READY") == "1", "READY=1 after RELOADING=1")
    ping_ok()

    # SIGTERM: STOPPING=1, exit 0
    p.send_signal(signal.SIGTERM)
    until(lambda f: f.get("STOPPING") == "1", "STOPPING=1")
    rc = p.wait(60 * SLOW)
    expect(rc == 0, "coopd exited %d after SIGTERM" % rc)
finally:
    if p.poll() is None:
        p.kill()
        p.wait()

# WATCHDOG_PID naming another process: no keep-alives from coopd
received.clear()
p = start(watchdog_pid_self=False)
try:
    until(lambda f: "READY" in f, "READY=1")
    # three whole intervals without a keep-alive
    ping_ok()
    time.sleep(3 * WATCHDOG_USEC / 1e6)
    ping_ok()
    p.send_signal(signal.SIGTERM)
    until(lambda f: f.get("STOPPING") == "1", "STOPPING=1")
    expect(p.wait(60 * SLOW) == 0, "coopd did not exit 0")
    expect(not any("WATCHDOG" in f for _, f in received),
           "WATCHDOG=1 sent although WATCHDOG_PID names another process",
           [f for _, f in received])
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
PY
coopd_pass
