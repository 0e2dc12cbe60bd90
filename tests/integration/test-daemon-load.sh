#!/bin/sh
# A short load: 16 clients at once submit mixed graphs and cancel some of
# them.  Afterwards every accepted graph has a final state, no child
# process of coopd is left, and its fd count is back where it started.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
# The real daemon's pid (under valgrind or libtool, $COOPD_PID may be a
# wrapper that exec'd it: the same pid).
COOPD_REAL_PID=$COOPD_PID coopd_py <<'PY' || fail "load"
import random, threading
pid = int(os.environ["COOPD_REAL_PID"])
def fds():
    return len(os.listdir("/proc/%d/fd" % pid))
def children():
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                st = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(st[1]) == pid:
                out.append(p)
    return out

ping_ok()
fd0 = fds()
accepted, errors = [], []
lock = threading.Lock()

def graph(r):
    kinds = [
        {"kind": "task", "fn": "noop"},
        {"kind": "task", "fn": "sleep", "args": {"ms": r.randint(0, 200)}},
        {"kind": "task", "fn": "spin", "args": {"units": r.randint(0, 5000)}},
        {"kind": "task", "fn": "fail", "args": {"message": "f"}},
        {"kind": "blocking", "fn": "sleep", "args": {"ms": r.randint(0, 100)}},
        {"kind": "blocking", "fn": "sleep", "args": {"ms": 50, "ignore_cancel": True}},
        {"kind": "exec", "argv": ["sh", "-c", "sleep 0.%d; echo x" % r.randint(0, 3)]},
        {"kind": "exec", "argv": ["sh", "-c", "sleep 5 & sleep 5; wait"], "grace_ms": 100},
    ]
    nodes = []
    for i in range(r.randint(1, 8)):
        n = dict(r.choice(kinds), id="n%d" % i)
        if i and r.random() < 0.4:
            n["after"] = ["n%d" % r.randrange(i)]
            if r.random() < 0.3:
                n["always"] = True
        nodes.append(n)
    if r.random() < 0.3:
        nodes.append({"id": "sc", "kind": "scope", "policy": r.choice(["race", "all_settled"]),
                      "nodes": [dict(r.choice(kinds), id="k%d" % j) for j in range(3)]})
    g = {"policy": r.choice(["fail_fast", "all_settled", "race"]), "nodes": nodes}
    if r.random() < 0.5:
        g["max_parallel"] = r.randint(1, 3)
    return g

def client(seed):
    r = random.Random(seed)
    c = Conn()
    try:
        for _ in range(8):
            m = c.call("submit", {"graph": graph(r)})
            if "error" in m:
                with lock:
                    errors.append(m)
                continue
            gid = m["result"]["id"]
            with lock:
                accepted.append(gid)
            if r.random() < 0.5:
                time.sleep(r.random() * 0.1)
                p = {"id": gid}
                if r.random() < 0.3:
                    p["node"] = "n0"
                c.call("cancel", p)
    finally:
        c.close()

threads = [threading.Thread(target=client, args=(s,)) for s in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
expect(not errors, "every submit accepted", errors[:3])
expect(len(accepted) == 16 * 8, "all submits answered", len(accepted))
# whatever was not cancelled ends by itself; cancel the stragglers
for gid in accepted:
    st = wait(gid, timeout_ms=20000)
    if st["state"] not in FINAL:
        rpc("cancel", {"id": gid, "grace_ms": 0})
        st = wait(gid)
    expect(st["state"] in FINAL, "final state", st)
    for path, s in states(st).items():
        expect(s in FINAL, "every node final", path, st)
ping_ok()
for _ in range(200 * SLOW):
    if not children() and fds() <= fd0:
        break
    time.sleep(0.05)
expect(children() == [], "no child process of coopd left", children())
expect(fds() <= fd0, "fds back to where they started", fd0, fds())
PY
coopd_stop
coopd_pass
