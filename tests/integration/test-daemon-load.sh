#!/bin/sh
# Load: 64 clients at once submit mixed graphs (exec, task, blocking, nested
# scopes, dependencies, every policy) and cancel some of them, whole or one
# subtree.  Afterwards every accepted graph has a final state, no child
# process of coopd is left, its fd count is back where it started and its
# memory (VmRSS) is back near where it was after a first warm-up round.
#
# COOPD_SOAK=1 (`make soak`) runs many more rounds (COOPD_SOAK_ROUNDS,
# default 30); the short version is what `make check` runs.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

# Finished graphs kept: more than one round makes (64 x 8 in the soak), few
# enough that memory has a steady state (the soak's warm-up reaches it).
# The short version skips the fsyncs (durability has its own tests; on a
# busy 2-core CI machine they are most of the time); the soak keeps them.
if [ "${COOPD_SOAK:-0}" = 1 ]; then sync=yes; else sync=no; fi
cat >"$COOPD_TMP/coopd.conf" <<CONF
retention_graphs = 700
fsync = $sync
CONF
# ASan's quarantine (256 MB by default) would hide memory going back.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
# valgrind's memcheck likewise holds 20 MB of freed blocks by default.
VALGRIND_OPTS="${VALGRIND_OPTS:+$VALGRIND_OPTS }--freelist-vol=1000000"
export ASAN_OPTIONS VALGRIND_OPTS
coopd_start --config "$COOPD_TMP/coopd.conf"
# The real daemon's pid (under valgrind or libtool, $COOPD_PID may be a
# wrapper that exec'd it: the same pid).
COOPD_REAL_PID=$COOPD_PID coopd_py <<'PY' || fail "load"
import random, threading
pid = int(os.environ["COOPD_REAL_PID"])
soak = os.environ.get("COOPD_SOAK", "0") == "1"
ROUNDS = int(os.environ.get("COOPD_SOAK_ROUNDS", "30")) if soak else 1
CLIENTS, PER_CLIENT = 64, (8 if soak else 4)

def fds():
    return proc_fds(pid)
def rss_kb():
    return proc_rss_kb(pid)
def children():
    return proc_children(pid)

def leaf(r, id):
    kinds = [
        {"kind": "task", "fn": "noop"},
        {"kind": "task", "fn": "sleep", "args": {"ms": r.randint(0, 200)}},
        {"kind": "task", "fn": "spin", "args": {"units": r.randint(0, 5000)}},
        {"kind": "task", "fn": "fail", "args": {"message": "f"}},
        {"kind": "blocking", "fn": "sleep", "args": {"ms": r.randint(0, 100)}},
        {"kind": "blocking", "fn": "sleep", "args": {"ms": 50, "ignore_cancel": True}},
        {"kind": "blocking", "fn": "noop"},
        {"kind": "exec", "argv": ["sh", "-c", "sleep 0.%d; echo x" % r.randint(0, 3)]},
        {"kind": "exec", "argv": ["sh", "-c", "sleep 2 & sleep 2; wait"], "grace_ms": 100},
        {"kind": "exec", "argv": ["false"]},
    ]
    return dict(r.choice(kinds), id=id)

def nodes(r, depth, prefix):
    out = []
    for i in range(r.randint(1, 6)):
        id = "%s%d" % (prefix, i)
        if depth < 3 and r.random() < 0.2:
            n = {"id": id, "kind": "scope", "policy": r.choice(["fail_fast", "race", "all_settled"]),
                 "nodes": nodes(r, depth + 1, "k")}
            if r.random() < 0.3:
                n["max_parallel"] = r.randint(1, 2)
            if r.random() < 0.2:
                n["deadline_ms"] = r.randint(50, 500)
        else:
            n = leaf(r, id)
        if i and r.random() < 0.4:
            n["after"] = ["%s%d" % (prefix, r.randrange(i))]
            if r.random() < 0.3:
                n["always"] = True
        out.append(n)
    return out

def graph(r):
    g = {"policy": r.choice(["fail_fast", "all_settled", "race"]), "nodes": nodes(r, 1, "n")}
    if r.random() < 0.5:
        g["max_parallel"] = r.randint(1, 3)
    return g

def some_path(st, r):
    paths = list(states(st))
    return r.choice(paths) if paths else None

accepted, errors = [], []
lock = threading.Lock()

def client(seed, per_client):
    r = random.Random(seed)
    c = Conn()
    try:
        for _ in range(per_client):
            m = c.call("submit", {"graph": graph(r)})
            if "error" in m:
                with lock:
                    errors.append(m)
                continue
            gid = m["result"]["id"]
            with lock:
                accepted.append(gid)
            x = r.random()
            if x < 0.5:
                time.sleep(r.random() * 0.1)
                p = {"id": gid}
                if r.random() < 0.3:
                    p["node"] = some_path(c.result("status", {"id": gid}), r) or "n0"
                if r.random() < 0.3:
                    p["grace_ms"] = r.randint(0, 200)
                m = c.call("cancel", p)
                if "error" in m:
                    with lock:
                        errors.append(m)
            elif x < 0.6:
                c.result("wait", {"id": gid, "timeout_ms": r.randint(0, 50), "summary": True})
            elif x < 0.7:
                c.result("list")
    finally:
        c.close()

def settle_all(ids):
    # Whatever was not cancelled ends by itself; cancel the stragglers.
    for gid in ids:
        st = wait(gid, timeout_ms=10000)
        if st["state"] not in FINAL:
            rpc("cancel", {"id": gid, "grace_ms": 0})
            st = wait(gid)
        expect(st["state"] in FINAL, "final state", st)
        for path, s in states(st).items():
            expect(s in FINAL, "every node final", path, st)

def round_(seed0, per_client=PER_CLIENT):
    del accepted[:]
    threads = [threading.Thread(target=client, args=(seed0 + s, per_client))
               for s in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect(not errors, "every submit and cancel accepted", errors[:3])
    expect(len(accepted) == CLIENTS * per_client, "all submits answered", len(accepted))
    settle_all(list(accepted))

def quiet():
    # Let exited jobs be reaped and closed connections be noticed.
    for _ in range(200 * SLOW):
        if not children() and fds() <= fd0:
            break
        time.sleep(0.05)

ping_ok()
fd0 = fds()
seed = int(os.environ.get("COOPD_LOAD_SEED", "1"))
print("seed %d: a warm-up, then %d round(s) of %d clients x %d graphs"
      % (seed, ROUNDS, CLIENTS, PER_CLIENT))
# warm-up: allocator arenas, thread pools, retention (full in the soak)
round_(seed * 1000, 10 if soak else 2)
quiet()
rss0 = rss_kb()
for k in range(ROUNDS):
    round_(seed * 1000 + (k + 1) * CLIENTS)
ping_ok()
quiet()
rss1 = rss_kb()
print("VmRSS after warm-up %d kB, at the end %d kB; fds %d -> %d" % (rss0, rss1, fd0, fds()))
expect(children() == [], "no child process of coopd left", children())
expect(fds() <= fd0, "fds back to where they started", fd0, fds())
expect(rss1 <= rss0 * 3 // 2 + 16384, "memory back near where it was (VmRSS kB)", rss0, rss1)
PY
coopd_stop
coopd_pass
