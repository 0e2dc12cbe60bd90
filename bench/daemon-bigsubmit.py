#!/usr/bin/env python3
"""daemon-bigsubmit.py - another client's ping while a 200,000-node graph
is submitted (issue 15 item 2; bench/README.md "Big submits and the loop").

    python3 bench/daemon-bigsubmit.py [--runs 5] [--nodes 200000]
        [--kind noop|exec] COOPD [COOPD...]

Each run starts the given coopd on a private socket and state directory;
a victim connection pings (one at a time, 2 ms apart) while another
submits one graph of N noop tasks (`noop`) or of N `true` exec nodes under
max_parallel 64 (`exec`: cancelled once every node is launched, so a run
does not fork 200,000 processes).  The victim's round trips (p50, p99,
max) are taken from the submit to the graph's end, and coopd's
`loop_busy_max_seconds` (stats) after it.  The coopds given are run in
turn, run after run (interleaved, so that a change of the machine's load
hits them alike); the medians over the runs are printed per coopd.
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time


class Conn:
    def __init__(self, path):
        deadline = time.monotonic() + 30
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.buf, self.n = b"", 0

    def send(self, method, params=None):
        self.n += 1
        d = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            d["params"] = params
        self.s.sendall((json.dumps(d) + "\n").encode())

    def read(self):
        while b"\n" not in self.buf:
            x = self.s.recv(1 << 20)
            if not x:
                raise EOFError("coopd closed the connection")
            self.buf += x
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, method, params=None):
        self.send(method, params)
        m = self.read()
        if "error" in m:
            raise RuntimeError(m["error"])
        return m["result"]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q / 100.0 * len(xs)))]


def one_run(coopd, kind, n):
    if kind == "noop":
        g = {"nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(n)]}
    else:
        g = {"max_parallel": 64,
             "nodes": [{"id": "n%d" % i, "kind": "exec", "argv": ["true"]} for i in range(n)]}
    line = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "submit",
                        "params": {"graph": g}}) + "\n").encode()
    tmp = tempfile.mkdtemp(prefix="coopd-bigsubmit.")
    sock = tmp + "/s"
    # The default max_request_bytes (16 MiB) holds 200,000 nodes; --nodes
    # beyond about 300,000 needs more.
    with open(tmp + "/coopd.conf", "w") as f:
        f.write("max_request_bytes = %d\n" % max(len(line), 16 * 1024 * 1024))
    p = subprocess.Popen([coopd, "--socket", sock, "--state-dir", tmp + "/state",
                          "--config", tmp + "/coopd.conf"],
                         stderr=open(tmp + "/log", "w"))
    try:
        b = Conn(sock)
        b.call("ping")
        stop, rtts = threading.Event(), []

        def pinger():
            while not stop.is_set():
                t = time.monotonic()
                b.call("ping")
                rtts.append(time.monotonic() - t)
                time.sleep(0.002)

        a = Conn(sock)
        t = threading.Thread(target=pinger)
        t.start()
        a.s.sendall(line)
        gid = a.read()["result"]["id"]
        if kind == "exec":
            kinds = lambda: a.call("stats")["jobs"]["exec"]["spawned"]
            while kinds() < n:
                time.sleep(0.05)
            a.call("cancel", {"id": gid})
        a.call("wait", {"id": gid, "timeout_ms": 3600000, "summary": True})
        stop.set()
        t.join()
        busy = a.call("stats")["daemon"]["loop_busy_max_seconds"]
        return pct(rtts, 50), pct(rtts, 99), max(rtts), busy, len(rtts)
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=200000)
    ap.add_argument("--kind", choices=("noop", "exec"), default="noop")
    ap.add_argument("coopd", nargs="+")
    o = ap.parse_args()
    res = {c: [] for c in o.coopd}
    for r in range(o.runs):
        for c in o.coopd:
            x = one_run(c, o.kind, o.nodes)
            res[c].append(x)
            print("run %d %s: p50 %.2f ms p99 %.2f ms max %.1f ms loop_busy_max %.1f ms (%d pings)"
                  % (r + 1, c, x[0] * 1e3, x[1] * 1e3, x[2] * 1e3, x[3] * 1e3, x[4]), flush=True)
    for c in o.coopd:
        med = [statistics.median(v[i] for v in res[c]) * 1e3 for i in range(4)]
        print("median of %d, %s %d nodes, %s: ping p50 %.2f ms, p99 %.2f ms, max %.1f ms; "
              "loop_busy_max %.1f ms" % (o.runs, o.kind, o.nodes, c, *med))


if __name__ == "__main__":
    main()
