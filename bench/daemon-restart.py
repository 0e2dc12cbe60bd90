#!/usr/bin/env python3
# daemon-restart.py -- restart and `list` over a long history (issue 14):
# how long a coopd takes from its start to serving (`ping` answered) with
# N retained graphs of M nodes in its state database, how long `list
# {all: true}` of them takes, a `status` of one settled graph (read back
# from the database), and coopd's RSS after the restart.  Beside it the
# same restart with an empty state directory.
#
#   make bench-restart        (BENCH_RESTART_GRAPHS=10000, _NODES=100)
#
# The history is made by coopd itself (`fsync = no` while filling, so that
# it takes seconds, not minutes): N graphs of M `noop` tasks submitted over
# 8 connections, each waited for.  Then the measured restarts use the
# default config (syncs on).  Medians of BENCH_REPS (5) restarts and of 20
# `list` calls per restart.  Nothing asserts on time.
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

COOPD = os.environ.get("COOPD", os.path.join(os.path.dirname(__file__), "..", "coopd"))
N = int(os.environ.get("BENCH_RESTART_GRAPHS", "10000"))
M = int(os.environ.get("BENCH_RESTART_NODES", "100"))
REPS = int(os.environ.get("BENCH_REPS", "5"))
BASE = os.environ.get("BENCH_RESTART_DIR", os.path.dirname(os.path.abspath(__file__)))


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.i = 0

    def call(self, method, params=None):
        self.i += 1
        self.s.sendall((json.dumps({"jsonrpc": "2.0", "id": self.i, "method": method,
                                    "params": params or {}}) + "\n").encode())
        while True:
            m = json.loads(self.f.readline())
            if m.get("id") == self.i:
                if "error" in m:
                    raise RuntimeError(m["error"])
                return m["result"]


def start(sock, state, conf):
    """Starts coopd; returns (process, seconds until ping answers)."""
    t0 = time.monotonic()
    p = subprocess.Popen([COOPD, "--foreground", "--socket", sock, "--state-dir", state,
                          "--config", conf], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(os.path.dirname(state), "coopd.log"), "a"))
    while True:
        try:
            Conn(sock).call("ping")
            return p, time.monotonic() - t0
        except (FileNotFoundError, ConnectionRefusedError):
            if p.poll() is not None:
                sys.exit("coopd exited: see %s" % os.path.dirname(state))
            time.sleep(0.002)


def stop(p):
    p.terminate()
    p.wait()


def rss_kb(pid):
    # coopd may be libtool's wrapper: its exec keeps the pid.
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fill(sock):
    graph = {"name": "history", "nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"}
                                          for i in range(M - 1)]}
    left = [N]
    lock = threading.Lock()
    ids = []

    def worker():
        c = Conn(sock)
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            gid = c.call("submit", {"graph": graph})["id"]
            c.call("wait", {"id": gid})
            ids.append(gid)
    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ids


def main():
    tmp = tempfile.mkdtemp(prefix="restart.", dir=BASE)
    sockdir = tempfile.mkdtemp(prefix="coopd-restart.")
    sock = os.path.join(sockdir, "s")
    try:
        fast = os.path.join(tmp, "fill.conf")
        open(fast, "w").write("fsync = no\n")
        conf = os.path.join(tmp, "coopd.conf")
        open(conf, "w").write("# defaults\n")
        empty = os.path.join(tmp, "empty")
        state = os.path.join(tmp, "state")
        p, _ = start(sock, state, fast)
        t0 = time.monotonic()
        ids = fill(sock)
        print("# filled %d graphs of %d nodes in %.1f s; database %.1f MB" %
              (len(ids), M, time.monotonic() - t0,
               os.path.getsize(os.path.join(state, "coopd.db")) / 1e6), flush=True)
        stop(p)
        res = {"empty": [], "full": [], "list": [], "status": [], "rss": [], "rss_empty": []}
        for rep in range(REPS):
            for kind, st in (("empty", empty), ("full", state)):
                p, t = start(sock, st, conf)
                res[kind].append(t)
                if kind == "full":
                    c = Conn(sock)
                    n = len(c.call("list", {"all": True})["graphs"])
                    assert n == len(ids), (n, len(ids))
                    for _ in range(20):
                        t1 = time.monotonic()
                        c.call("list", {"all": True})
                        res["list"].append(time.monotonic() - t1)
                    for gid in ids[:20]:
                        t1 = time.monotonic()
                        c.call("status", {"id": gid})
                        res["status"].append(time.monotonic() - t1)
                    res["rss"].append(rss_kb(p.pid))
                else:
                    res["rss_empty"].append(rss_kb(p.pid))
                stop(p)
        med = {k: statistics.median(v) for k, v in res.items()}
        print("%-34s %10s" % ("daemon-restart (medians)", "value"))
        print("%-34s %8.1f ms" % ("restart to serving, empty", med["empty"] * 1e3))
        print("%-34s %8.1f ms" % ("restart to serving, %d x %d" % (len(ids), M), med["full"] * 1e3))
        print("%-34s %8.1f ms" % ("list {all} of %d graphs" % len(ids), med["list"] * 1e3))
        print("%-34s %8.2f ms" % ("status of a settled %d-node graph" % M, med["status"] * 1e3))
        print("%-34s %8.1f MB" % ("RSS after restart, empty", med["rss_empty"] / 1024))
        print("%-34s %8.1f MB" % ("RSS after restart, %d graphs" % len(ids), med["rss"] / 1024))
        print("RESULT bench=daemon-restart graphs=%d nodes=%d serve_empty_ms=%.1f serve_ms=%.1f "
              "list_ms=%.1f status_ms=%.2f rss_empty_kb=%d rss_kb=%d" %
              (len(ids), M, med["empty"] * 1e3, med["full"] * 1e3, med["list"] * 1e3,
               med["status"] * 1e3, med["rss_empty"], med["rss"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(sockdir, ignore_errors=True)


if __name__ == "__main__":
    main()
