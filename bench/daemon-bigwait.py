#!/usr/bin/env python3
"""daemon-bigwait.py - another client's ping while several clients each
submit a big graph and wait for its full result (bench/README.md, "Big
submits and the loop").

    python3 bench/daemon-bigwait.py [--runs 2] [--clients 4] [--nodes 200000]
        COOPD [COOPD...]

Each run starts the given coopd on a private socket and state directory
(max_request_bytes raised for the graphs); --clients connections each
submit one graph of --nodes `noop` tasks and `wait` for its full status,
while a victim in another process (a Python thread beside the submitters
would measure its own waits for the GIL) pings every 2 ms.  Printed per
run: coopd's loop_busy_max_seconds (stats) after the waits, and the
victim's p50, p99 and max round trip.  The coopds given run in turn, run
after run.  Nothing asserts on time.
"""
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, threading, time

PINGER = r'''
import signal, socket, sys, time
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rb")
rtts = []
while not stop:
    t = time.monotonic()
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n'); f.readline()
    rtts.append(time.monotonic() - t); time.sleep(0.002)
r = sorted(rtts)
print("%d %.3f %.3f %.1f" % (len(r), r[len(r) // 2] * 1e3, r[int(len(r) * .99)] * 1e3, r[-1] * 1e3))
'''


def rpc(s, method, params, i=1):
    s.sendall((json.dumps({"jsonrpc": "2.0", "id": i, "method": method,
                           "params": params}) + "\n").encode())
    parts = []
    while True:
        c = s.recv(1 << 22)
        if not c:
            raise EOFError("coopd closed the connection")
        parts.append(c)
        if c.endswith(b"\n"):
            return json.loads(b"".join(parts))


def connect(path):
    deadline = time.monotonic() + 30
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def one_run(coopd, clients, doc):
    tmp = tempfile.mkdtemp(prefix="coopd-bigwait.")
    sock = os.path.join(tmp, "s")
    with open(os.path.join(tmp, "coopd.conf"), "w") as f:
        f.write("max_request_bytes = %d\n" % (len(json.dumps(doc)) * 2 + (1 << 20)))
    log = open(os.path.join(tmp, "coopd.log"), "w")
    d = subprocess.Popen([coopd, "--socket", sock, "--state-dir", os.path.join(tmp, "state"),
                          "--config", os.path.join(tmp, "coopd.conf"), "--foreground"],
                         stdout=log, stderr=log)
    try:
        rpc(connect(sock), "ping", {})
        victim = subprocess.Popen([sys.executable, "-c", PINGER, sock], stdout=subprocess.PIPE,
                                  text=True)
        errors = []

        def client():
            try:
                s = connect(sock)
                gid = rpc(s, "submit", {"graph": doc})["result"]["id"]
                rpc(s, "wait", {"id": gid}, 2)
            except Exception as e:  # reported below
                errors.append(e)

        ts = [threading.Thread(target=client) for _ in range(clients)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        busy = rpc(connect(sock), "stats", {})["result"]["daemon"]["loop_busy_max_seconds"]
        victim.terminate()
        out = victim.communicate(timeout=60)[0]
        if errors:
            raise errors[0]
        return busy, out.split()
    finally:
        d.terminate()
        d.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--nodes", type=int, default=200000)
    ap.add_argument("coopd", nargs="+")
    a = ap.parse_args()
    doc = {"name": "big", "nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"}
                                    for i in range(a.nodes)]}
    print("# %d clients x %d noop nodes, each waiting for the full result" % (a.clients, a.nodes))
    for r in range(a.runs):
        for c in a.coopd:
            busy, v = one_run(c, a.clients, doc)
            print("%s run %d: loop_busy_max %.1f ms; victim %s pings p50 %s ms p99 %s ms max %s ms"
                  % (c, r + 1, busy * 1e3, *v))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
