#!/usr/bin/env python3
"""fuzz-live.py - fuzz a running coopd over its socket.

Sends batches of random request sequences, valid and invalid, built from a
grammar of the real methods and graph format and then possibly mutated:
mutated JSON (bytes flipped, inserted, deleted, truncated), bad framing
(invalid UTF-8, NUL bytes, CRLF, blank lines, lines split across writes),
partial lines, lines over the request size limit, pipelined requests, odd
ids, notifications, batches, half-closes and random disconnects, on one to
three connections at once.  Every line coopd sends back must be well-formed
JSON-RPC 2.0 (an answer with a result or an error with a known code, or an
`event` notification).  After every batch a fresh connection must get an
answer to `ping`, and coopd's process must still be there.

Everything random comes from one seed, printed first; the same seed and
batch count give the same sequence of requests (answers and timing may
differ, e.g. graph ids).  Exit status 0, or 1 with the failing batch and
the last requests sent.

    fuzz-live.py --socket PATH [--seed N] [--batches N] [--pid PID]
                 [--max-request BYTES]
"""
import argparse
import json
import os
import random
import socket
import sys
import time

KNOWN_CODES = {-32700, -32600, -32601, -32602, -32603, -32001, -32002, -32003, -32004}
METHODS = ["version", "ping", "submit", "status", "list", "cancel", "wait", "logs",
           "watch", "stats", "metrics"]
SLOW = 10 if os.environ.get("TEST_COOPD_WRAPPER") else 1


class Failure(Exception):
    pass


class Dropped(Failure):
    """coopd closed a connection (allowed only for a watcher: a client that
    does not read its events fast enough is dropped by design)."""


class Fuzzer:
    def __init__(self, args):
        self.a = args
        self.r = random.Random(args.seed)
        self.ids = []            # graph ids coopd gave us
        self.paths = ["n0", "n1", "s", "s/k0", "x", ""]
        self.sent = []           # recent requests, for the failure report
        self.serial = 0
        self.answers = 0
        self.drops = 0
        self.wire = []           # everything the current action sent
        self.last_line = b""

    # ---- values and graphs -------------------------------------------------
    def weird(self):
        r = self.r
        return r.choice([None, True, False, 0, -1, 1, 2 ** 31, 2 ** 63, -2 ** 63, 2 ** 64, 1.5,
                         1e308, "", "x", "\u00e9\u4e2d", "a" * r.randint(60, 300), [], {},
                         [1, "a"], {"a": None}, "../../etc", "0123456789abcdef"])

    def gid(self):
        r = self.r
        if self.ids and r.random() < 0.7:
            return self.ids[r.randrange(len(self.ids))]
        return r.choice(["0123456789abcdef", "", "zz", "g" * 64, "%x" % r.getrandbits(64)])

    def leaf(self, id):
        r = self.r
        k = r.randrange(9)
        if k == 0:
            n = {"kind": "task", "fn": "noop"}
        elif k == 1:
            n = {"kind": "task", "fn": "sleep", "args": {"ms": r.randint(0, 150)}}
        elif k == 2:
            n = {"kind": "task", "fn": "spin", "args": {"units": r.randint(0, 20000)}}
        elif k == 3:
            n = {"kind": "task", "fn": "fail", "args": {"message": r.choice(["f", "\u00e9", ""])}}
        elif k == 4:
            n = {"kind": "blocking", "fn": "sleep",
                 "args": {"ms": r.randint(0, 80), "ignore_cancel": r.random() < 0.2}}
        elif k == 5:
            n = {"kind": "blocking", "fn": "noop"}
        elif k == 6:
            n = {"kind": "exec", "argv": ["true"]}
        elif k == 7:
            n = {"kind": "exec", "argv": ["sh", "-c", r.choice(["echo out; echo err >&2",
                                                                 "exit 3", "kill -9 $$",
                                                                 "sleep 0.1"])],
                 "grace_ms": r.randint(0, 100)}
            if r.random() < 0.3:
                n["env"] = {"A": "b"}
            if r.random() < 0.2:
                n["timeout_ms"] = r.randint(0, 100)
        else:
            n = {"kind": "exec", "argv": ["/nonexistent/prog"]}
        n["id"] = id
        return n

    def nodes(self, depth, prefix):
        r = self.r
        out = []
        for i in range(r.randint(0, 5)):
            id = "%s%d" % (prefix, i)
            if depth < 4 and r.random() < 0.2:
                n = {"id": id, "kind": "scope", "nodes": self.nodes(depth + 1, "k"),
                     "policy": r.choice(["fail_fast", "all_settled", "race"])}
                if r.random() < 0.3:
                    n["max_parallel"] = r.randint(1, 3)
                if r.random() < 0.2:
                    n["deadline_ms"] = r.randint(0, 200)
            else:
                n = self.leaf(id)
            if i and r.random() < 0.3:
                n["after"] = ["%s%d" % (prefix, r.randrange(i))]
                if r.random() < 0.3:
                    n["always"] = True
            out.append(n)
        return out

    def graph(self):
        r = self.r
        g = {"nodes": self.nodes(1, "n")}
        if r.random() < 0.5:
            g["policy"] = r.choice(["fail_fast", "all_settled", "race", "bogus"])
        if r.random() < 0.3:
            g["name"] = r.choice(["fz", "", "\u00e9" * 10, "n" * 300])
        if r.random() < 0.2:
            g["budget"] = r.choice([1, 128, 0, 2 ** 31 - 1, 2 ** 31, -1])
        if r.random() < 0.25:
            self.break_graph(g)
        return g

    def break_graph(self, g):
        """Makes a graph invalid in one of the ways validation must catch."""
        r = self.r
        k = r.randrange(10)
        nodes = g["nodes"] or [self.leaf("n0")]
        g["nodes"] = nodes
        n = r.choice(nodes)
        if k == 0:
            n["after"] = [n["id"]]                         # self cycle
        elif k == 1:
            nodes.append(dict(n))                           # duplicate id
        elif k == 2:
            n["kind"] = self.weird()
        elif k == 3:
            n[r.choice(["id", "kind", "argv", "fn", "args", "nodes", "after"])] = self.weird()
        elif k == 4:
            n["bogus_field"] = 1
        elif k == 5:
            d = self.leaf("leaf")
            for i in range(r.randint(60, 80)):
                d = {"id": "d%d" % i, "kind": "scope", "nodes": [d]}
            nodes.append(d)                                 # too deep
        elif k == 6:
            g["nodes"] = [self.leaf("m%d" % i) for i in range(r.randint(190, 260))]
        elif k == 7:
            n["after"] = ["nope"]
        elif k == 8:
            if len(nodes) > 1:
                nodes[0]["after"] = [nodes[1]["id"]]
                nodes[1]["after"] = [nodes[0]["id"]]        # cycle
        else:
            del g["nodes"]

    def params(self, method):
        r = self.r
        p = None
        if method == "submit":
            p = {"graph": self.graph()}
        elif method in ("status", "wait"):
            p = {"id": self.gid()}
            if r.random() < 0.4:
                p["summary"] = r.random() < 0.8 or self.weird()
            if method == "wait":
                p["timeout_ms"] = r.choice([0, 0, 1, 20, 100, -1, "5"])
        elif method == "list":
            if r.random() < 0.5:
                p = {"all": r.random() < 0.8 or self.weird()}
        elif method == "cancel":
            p = {"id": self.gid()}
            if r.random() < 0.3:
                p["node"] = r.choice(self.paths)
            if r.random() < 0.3:
                p["grace_ms"] = r.choice([0, 50, -5])
            if r.random() < 0.2:
                p["reason"] = r.choice(["why", "", "r" * 1000])
        elif method == "logs":
            p = {"id": self.gid(), "node": r.choice(self.paths + ["n0", "n1", "n2"]),
                 "stream": r.choice(["stdout", "stderr", "stdin"])}
            if r.random() < 0.3:
                p["offset"] = r.choice([0, 3, 1 << 40, -1])
        elif method == "watch":
            if r.random() < 0.5:
                p = {"id": self.gid()}
        if r.random() < 0.1:
            p = p or {}
            p[r.choice(["extra", "id", "graph", "all"])] = self.weird()
        if r.random() < 0.05:
            p = self.weird()
        return p

    def request(self):
        """One request as a line (bytes, with its newline) and whether an
        answer with our id is expected."""
        r = self.r
        if r.random() < 0.1:
            method = r.choice(["frob", "", "PING", "submit ", "rpc.x", "\u00e9"])
        else:
            method = r.choice(METHODS + ["submit", "submit", "status", "wait", "cancel"])
        self.serial += 1
        req = {"jsonrpc": "2.0", "id": self.serial, "method": method}
        p = self.params(method)
        if p is not None or r.random() < 0.1:
            req["params"] = p
        x = r.random()
        if x < 0.04:
            del req["id"]                                   # a notification
        elif x < 0.08:
            req["id"] = self.weird()
        elif x < 0.1:
            req["jsonrpc"] = self.weird()
        elif x < 0.12:
            req = [req]                                     # a batch
        text = json.dumps(req, ensure_ascii=r.random() < 0.5).encode()
        if r.random() < 0.15:
            text = self.mutate(text)
        return text + (b"\r\n" if r.random() < 0.05 else b"\n")

    def mutate(self, b):
        r = self.r
        b = bytearray(b)
        for _ in range(r.randint(1, 4)):
            k = r.randrange(7)
            i = r.randrange(len(b) + 1)
            if k == 0 and b:
                b[min(i, len(b) - 1)] = r.randrange(256)
            elif k == 1:
                b[i:i] = bytes([r.randrange(256)])
            elif k == 2 and b:
                del b[i:i + r.randint(1, 8)]
            elif k == 3:
                b = b[:i]
            elif k == 4:
                b[i:i] = r.choice([b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"{", b"[",
                                   b"\"", b"\\", b"\\u0000", b"\\ud800", b"1e999999"])
            elif k == 5:
                b[i:i] = b"[" * r.randint(100, 3000)
            else:
                b = b.replace(b"\n", b"")
        return bytes(b.replace(b"\n", b" "))

    # ---- the wire ------------------------------------------------------------
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30 * SLOW)
        s.connect(self.a.socket)
        return s

    def check_line(self, line):
        self.last_line = line
        try:
            m = json.loads(line)
        except ValueError:
            raise Failure("coopd sent a line that is not JSON: %r" % line[:300])
        if not isinstance(m, dict) or m.get("jsonrpc") != "2.0":
            raise Failure("not a JSON-RPC 2.0 message: %r" % line[:300])
        if "id" not in m:
            if m.get("method") != "event" or not isinstance(m.get("params"), dict):
                raise Failure("a notification that is not an event: %r" % line[:300])
            return m
        if ("result" in m) == ("error" in m):
            raise Failure("an answer needs exactly one of result and error: %r" % line[:300])
        if "error" in m:
            e = m["error"]
            if not isinstance(e, dict) or e.get("code") not in KNOWN_CODES or \
                    not isinstance(e.get("message"), str) or not e["message"]:
                raise Failure("a malformed error: %r" % line[:300])
        self.answers += 1
        return m

    def read_until(self, s, buf, sentinel):
        """Reads and checks lines until the answer with id sentinel."""
        deadline = time.monotonic() + 30 * SLOW
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                m = self.check_line(line)
                if m.get("id") == sentinel:
                    if m.get("result") != {}:
                        raise Failure("the sentinel ping got %r" % m)
                    return buf
                res = m.get("result")
                if isinstance(res, dict) and isinstance(res.get("id"), str) and \
                        "state" not in res and len(self.ids) < 500:
                    self.ids.append(res["id"])
            if time.monotonic() > deadline:
                raise Failure("no answer to the sentinel ping within %d s" % (30 * SLOW))
            try:
                chunk = s.recv(1 << 16)
            except socket.timeout:
                raise Failure("coopd stopped answering a connection")
            except ConnectionResetError:
                raise Dropped("coopd reset a connection before answering a ping")
            if not chunk:
                raise Dropped("coopd closed a connection before answering a ping (last line "
                              "read: %r)" % self.last_line[:300])
            buf += chunk

    def send_split(self, s, data):
        """Sends data in random pieces (lines split across writes)."""
        r = self.r
        while data:
            n = len(data) if r.random() < 0.7 else r.randint(1, max(1, len(data)))
            s.sendall(data[:n])
            data = data[n:]

    def action(self, s):
        """One random thing on an open connection.  Returns False if the
        connection was given up (closed without expecting answers)."""
        r = self.r
        x = r.random()
        if x < 0.55:
            data = b"".join(self.request() for _ in range(r.choice([1, 1, 1, 2, 5, 20])))
        elif x < 0.63:
            data = b"\n" * r.randint(1, 3) + self.request()
        elif x < 0.7:                                       # over the size limit
            n = self.a.max_request + r.randint(1, 3 * self.a.max_request)
            data = (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' +
                    b"y" * n + b'"}}\n')
        elif x < 0.76:                                      # raw garbage
            data = bytes(r.randrange(256) for _ in range(r.randint(1, 400))) + b"\n"
        elif x < 0.82:                                      # partial line, then the rest
            line = self.request()
            i = r.randrange(len(line))
            self.sent.append(line[:i])
            self.wire.append(line[:i])
            s.sendall(line[:i])
            data = line[i:]
        elif x < 0.88:                                      # partial line, then hang up
            line = self.request()
            s.sendall(line[:r.randrange(len(line))])
            return False
        elif x < 0.93:                                      # requests, then hang up
            s.sendall(b"".join(self.request() for _ in range(r.randint(1, 10))))
            return False
        else:                                               # half-close after requests
            s.sendall(self.request())
            s.shutdown(socket.SHUT_WR)
            return False
        self.sent.append(data[:2000])
        self.wire.append(data)
        self.send_split(s, data)
        return True

    def sync(self, cs):
        """Terminates any partial line and reads up to a sentinel ping.
        Returns False if coopd dropped the (watching) connection."""
        self.serial += 1
        try:
            cs[0].sendall(b'\n{"jsonrpc":"2.0","id":"s%d","method":"ping"}\n' % self.serial)
            cs[1] = self.read_until(cs[0], cs[1], "s%d" % self.serial)
            return True
        except (Dropped, BrokenPipeError, ConnectionResetError) as e:
            if not cs[2]:
                raise Failure("coopd dropped a connection that did not watch: %s; it sent %r"
                              % (e, b"".join(cs[3])[-3000:]))
            self.drops += 1
            cs[0].close()
            cs[0] = None
            return False

    def batch(self, k):
        r = self.r
        conns = []
        for _ in range(r.randint(1, 3)):
            conns.append([self.connect(), b"", False, []])  # socket, unread, watching, sent
        for _ in range(r.randint(1, 8)):
            cs = r.choice(conns)
            if cs[0] is None:
                continue
            del self.sent[:-20]
            n = len(self.sent)
            self.wire = []
            try:
                going = self.action(cs[0])
            except (BrokenPipeError, ConnectionResetError):
                going = cs[2] or self.sync(cs)             # raises unless it watched
            cs[3] += self.sent[n:]
            cs[2] = cs[2] or b"watch" in b"".join(self.wire)
            del self.sent[:-20]
            if not going:
                if cs[0] is not None:
                    cs[0].close()
                cs[0] = None
                continue
            if r.random() < 0.5:
                self.sync(cs)
        for cs in conns:
            if cs[0] is None:
                continue
            if r.random() < 0.3:
                cs[0].close()                               # with answers unread
                continue
            if self.sync(cs):
                cs[0].close()
        self.alive(k)

    def alive(self, k):
        if self.a.pid:
            try:
                os.kill(self.a.pid, 0)
            except ProcessLookupError:
                raise Failure("coopd (pid %d) is gone after batch %d" % (self.a.pid, k))
        s = self.connect()
        try:
            s.sendall(b'{"jsonrpc":"2.0","id":"alive","method":"ping"}\n')
            self.read_until(s, b"", "alive")
        finally:
            s.close()

    def settle(self):
        """Cancels every graph we made and waits until all are final."""
        s = self.connect()
        buf = b""
        try:
            for gid in self.ids:
                self.serial += 1
                s.sendall(json.dumps({"jsonrpc": "2.0", "id": self.serial, "method": "cancel",
                                      "params": {"id": gid, "grace_ms": 0}}).encode() + b"\n")
                self.serial += 1
                s.sendall(json.dumps({"jsonrpc": "2.0", "id": "w%d" % self.serial,
                                      "method": "wait",
                                      "params": {"id": gid, "summary": True,
                                                 "timeout_ms": 30000 * SLOW}}).encode() + b"\n")
                while True:
                    while b"\n" not in buf:
                        chunk = s.recv(1 << 16)
                        if not chunk:
                            raise Failure("coopd closed the settling connection")
                        buf += chunk
                    line, buf = buf.split(b"\n", 1)
                    m = self.check_line(line)
                    if m.get("id") == "w%d" % self.serial:
                        break
                st = m.get("result", {}).get("state")
                if "error" not in m and st not in ("succeeded", "failed", "cancelled",
                                                    "skipped", "interrupted"):
                    raise Failure("graph %s did not settle: %r" % (gid, m))
        finally:
            s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--batches", type=int, default=50)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--max-request", type=int, default=65536,
                    help="coopd's max_request_bytes (lines just over it are sent)")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 32)
    print("fuzz-live: seed %d, %d batches (reproduce: --seed %d --batches %d)"
          % (a.seed, a.batches, a.seed, a.batches), flush=True)
    f = Fuzzer(a)
    k = 0
    try:
        for k in range(a.batches):
            f.batch(k)
        f.settle()
    except (Failure, OSError) as e:
        print("fuzz-live: FAILED in batch %d (seed %d): %s: %s"
              % (k, a.seed, type(e).__name__, e), file=sys.stderr)
        for b in f.sent[-5:]:
            print("  sent: %r" % b[:500], file=sys.stderr)
        try:
            st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            st.settimeout(10 * SLOW)
            st.connect(a.socket)
            st.sendall(b'{"jsonrpc":"2.0","id":1,"method":"stats"}\n')
            print("  coopd's stats now: %s" % st.makefile("rb").readline().decode()[-400:],
                  file=sys.stderr)
            st.close()
        except OSError as e:
            print("  no stats from coopd: %s" % e, file=sys.stderr)
        return 1
    print("fuzz-live: %d batches, %d answers checked, %d graphs submitted, %d watchers dropped"
          % (a.batches, f.answers, len(f.ids), f.drops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
