#!/bin/sh
# Crash loop (docs/durability.md): several clients submit graphs
# continuously while coopd is killed with SIGKILL at random moments and
# restarted on the same state directory.  After every restart:
#   - every submit that was acknowledged (an id came back) is present and
#     final (`interrupted` for what was running);
#   - no exec job process started before the kill is alive: every job
#     carries a marker naming its daemon incarnation in its argv and its
#     environment, which its children inherit, so /proc is searched for
#     processes by content, never by a pid that may have been reused;
#   - the state directory loads: nothing but expected "moved aside"
#     messages at error level in the log.
# `make check`: 10 kills (COOPD_CRASH_KILLS); `make soak` (COOPD_SOAK=1):
# 200 kills.  The seed is printed (COOPD_CRASH_SEED reproduces a run's
# schedule of kills and graphs, not the exact interleaving).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
retention_graphs = 1000000
CONF
COOPD_CMD=$(_coopd_cmd) COOPD_BIN="$COOPD_BIN" coopd_py <<'PY' || fail "crash loop"
import random, shlex, signal, subprocess, threading

soak = os.environ.get("COOPD_SOAK", "0") == "1"
KILLS = int(os.environ.get("COOPD_CRASH_KILLS", "200" if soak else "10"))
seed = int(os.environ.get("COOPD_CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))
print("seed %d, %d kills" % (seed, KILLS), flush=True)
rnd = random.Random(seed)
TMP = os.environ["COOPD_TMP"]
RUN = "coopt-crash-%d-%d" % (os.getpid(), seed)
CMD = shlex.split(os.environ["COOPD_CMD"]) + [
    "--foreground", "--socket", SOCK, "--state-dir", os.environ["COOPD_STATE"],
    "--workers", "2", "--config", os.path.join(TMP, "coopd.conf")]

def start(k):
    log = open(os.path.join(TMP, "coopd.log" if k == 0 else "coopd.log.%d" % k), "wb")
    p = subprocess.Popen(CMD, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + 60 * SLOW
    while time.monotonic() < deadline:
        expect(p.poll() is None, "coopd exited on start %d (see coopd.log.%d)" % (k, k))
        try:
            ping_ok()
            return p
        except (OSError, EOFError):
            time.sleep(0.02)
    raise AssertionError("coopd did not answer after restart %d" % k)

def marked(before):
    """Live processes whose argv or environment carries the marker of an
    incarnation < before."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                data = f.read()
            with open("/proc/%s/environ" % pid, "rb") as f:
                data += b"\0" + f.read()
        except OSError:
            continue
        for part in data.split(b"\0"):
            part = part.decode(errors="replace")
            i = part.find(RUN + "-")
            if i >= 0:
                inc = int(part[i + len(RUN) + 1:].split("-")[0])
                if inc < before:
                    out.append((int(pid), part, data.replace(b"\0", b" ")[:200].decode(errors="replace")))
                break
    return out

def graph(r, inc, n):
    mark = "%s-%d-%d" % (RUN, inc, n)
    env = {"COOPT_CRASH": mark}
    pick = r.random()
    nodes = [
        {"id": "long", "kind": "exec", "env": env, "grace_ms": 200,
         "argv": ["sh", "-c", "sleep 60 & sleep 60; wait", mark]},
        {"id": "short", "kind": "exec", "env": env, "argv": ["sh", "-c", "echo $0", mark]},
        {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": r.randint(0, 300)}},
        {"id": "b", "kind": "blocking", "fn": "sleep", "args": {"ms": r.randint(0, 100)}},
        {"id": "sc", "kind": "scope", "nodes": [
            {"id": "e", "kind": "exec", "env": env, "argv": ["sh", "-c", "sleep 0.$$", mark]},
            {"id": "n", "kind": "task", "fn": "noop", "after": ["e"]}]},
    ]
    if pick < 0.3:
        nodes = nodes[1:]          # settles by itself
    elif pick < 0.5:
        nodes = nodes[:1]          # runs until killed
    return {"name": "crash", "nodes": nodes}

acked = []          # (incarnation, id)
errors = []         # submits refused (there must be none)
lock = threading.Lock()

def client(inc, cid, stop):
    r = random.Random(seed * 7919 + inc * 131 + cid)
    n = 0
    try:
        c = Conn(timeout=30)
    except OSError:
        return
    try:
        while not stop.is_set():
            n += 1
            m = c.call("submit", {"graph": graph(r, inc, cid * 100000 + n)})
            if "error" in m:
                with lock:
                    errors.append(m)
                return
            with lock:
                acked.append((inc, m["result"]["id"]))
            if r.random() < 0.2:
                c.call("cancel", {"id": m["result"]["id"], "grace_ms": 0})
    except (OSError, EOFError, ValueError):
        pass            # coopd was killed under us
    finally:
        c.close()

def check(inc):
    # 1. no job process of an earlier incarnation is alive
    left = marked(inc)
    expect(not left, "job processes from before the kill are gone (restart %d)" % inc, left)
    # 2. every acknowledged graph is there, final
    with lock:
        ids = list(acked)
    recent = [g for i, g in ids if i == inc - 1]
    older = [g for i, g in ids if i < inc - 1]
    sample = recent + rnd.sample(older, min(len(older), 200))
    c = Conn()
    try:
        for gid in sample:
            m = c.call("status", {"id": gid, "summary": True})
            expect("result" in m, "acknowledged graph %s present after restart %d" % (gid, inc), m)
            expect(m["result"]["state"] in FINAL, "graph %s final after restart %d" % (gid, inc), m)
    finally:
        c.close()
    # 3. the state directory loaded: nothing at error level but "moved aside"
    logname = os.path.join(TMP, "coopd.log.%d" % inc)
    for line in open(logname, errors="replace"):
        if line[:3] in ("<0>", "<1>", "<2>", "<3>") and "moved aside" not in line:
            raise AssertionError("error in %s: %s" % (logname, line.strip()))
    return len(recent)

p = start(0)
def stop_daemon():
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(60 * SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
import atexit
atexit.register(stop_daemon)
total = 0
for inc in range(1, KILLS + 1):
    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(inc - 1, i, stop)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(rnd.uniform(0.05, 1.0) * SLOW)
    p.send_signal(signal.SIGKILL)
    p.wait()
    stop.set()
    for t in threads:
        t.join()
    expect(not errors, "no submit refused", errors[:3])
    p = start(inc)
    total += check(inc)
print("%d kills, %d acknowledged submits checked, %d graphs in all"
      % (KILLS, total, len(rpc("list", {"all": True})["graphs"])))
p.send_signal(signal.SIGTERM)
expect(p.wait() == 0, "coopd exits 0 after SIGTERM at the end")
expect(not marked(KILLS + 1), "no job process left at the end", marked(KILLS + 1))
PY
coopd_pass
