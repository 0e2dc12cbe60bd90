# lib-fairshare.sh -- what the fair-share tests (issue 15: "no user can deny
# the service to another", docs/security.md) share: sourced after
# tests/lib-coopd.sh by a test that runs as root.
#
# fair_users_setup creates, with names unique to this run (removed at exit):
#   FAIR_A  the attacker, FAIR_B  the victim, both in group FAIR_G, which
#   may use the socket (call fair_socket_group after coopd_start).
# FAIR_PYLIB is Python prepended (after COOPD_PYLIB) by fair_py:
#   as_user(name)             a Conn connected as that user
#   many_as(name, n, data)    n raw sockets connected as that user (data, if
#                             any, sent on each by the connecting child;
#                             socks_as of tests/lib-coopd.sh)
#   refusals(socks, quiet)    waits until no socket has said anything for
#                             quiet seconds; returns {index: first line}
#                             of the sockets that got a line
#   timed(f)                  (seconds, f()) -- for the victim's round trip
#   pctl(xs, p)               the p-th percentile of xs
#   Pinger(user)              a thread pinging as that user every 3 ms
#                             from start() until finish(), which checks
#                             that every ping was answered and returns
#                             the round trips (seconds)

coopd_need_users

FAIR_SUF=$$
FAIR_A=coopf-a$FAIR_SUF
FAIR_B=coopf-b$FAIR_SUF
FAIR_G=coopf-g$FAIR_SUF
export FAIR_A FAIR_B FAIR_G

fair_users_setup() {
	coopd_add_group "$FAIR_G"
	chmod 0711 "$COOPD_TMP"
	coopd_add_user "$FAIR_A" -d / -G "$FAIR_G"
	coopd_add_user "$FAIR_B" -d / -G "$FAIR_G"
}

fair_socket_group() {
	chgrp "$FAIR_G" "$COOPD_SOCK" || fail "chgrp socket"
}

FAIR_PYLIB=$(cat <<'PYEOF'
import array, pwd, select, threading

def ids_of(user):
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid, os.getgrouplist(user, pw.pw_gid)

def as_user(user):
    return connect_as(*ids_of(user))

def many_as(user, n, data=None):
    return socks_as(*ids_of(user), n, data)

def refusals(socks, quiet=1.0):
    got = {}
    bufs = {}
    while True:
        live = [s for i, s in enumerate(socks) if i not in got]
        r, _, _ = select.select(live, [], [], quiet) if live else ([], [], [])
        if not r:
            return got
        for s in r:
            i = socks.index(s)
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            bufs[i] = bufs.get(i, b"") + d
            if b"\n" in bufs[i] or not d:
                got[i] = bufs[i].split(b"\n")[0]

def hold_reads(on):
    """The fault shim's "hold" (coopd_fault_shim): while on, every read of
    coopd.db or its WAL waits."""
    open(os.environ["COOPD_FAULT_FILE"], "w").write("hold" if on else "")

def settled_noops(who, name, n):
    """who (a connection) submits a graph of n noop tasks named name and
    waits for it; its id once it has succeeded."""
    gid = who.result("submit", {"graph": {"name": name, "nodes": [
        {"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(n)]}})["id"]
    st = who.result("wait", {"id": gid, "timeout_ms": 120000 * SLOW, "summary": True})
    expect(st["state"] == "succeeded", "ran", st)
    return gid

def read_answers(socks, per_conn, check):
    """Reads per_conn answer lines from each socket (pipelined requests
    sent before), calling check(k, n, message) for the n-th answer of
    socket k in the order it comes; nothing may follow the last one."""
    bufs, got = [b""] * len(socks), [0] * len(socks)
    deadline = time.monotonic() + 600 * SLOW
    while sum(got) < len(socks) * per_conn:
        expect(time.monotonic() < deadline, "every answer comes (hang guard)", got)
        r, _, _ = select.select([s for k, s in enumerate(socks) if got[k] < per_conn], [], [],
                                60 * SLOW)
        for s in r:
            k = socks.index(s)
            d = s.recv(1 << 20)
            expect(d, "connection %d open" % k)
            bufs[k] += d
            *lines, bufs[k] = bufs[k].split(b"\n")
            for line in lines:
                check(k, got[k], json.loads(line))
                got[k] += 1
    expect(all(b == b"" for b in bufs), "nothing after the last answer")

def timed(f):
    t = time.monotonic()
    v = f()
    return time.monotonic() - t, v

def pctl(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100.0))]

class Pinger:
    def __init__(self, user):
        self.user, self.rtts, self.failed = user, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        c = as_user(self.user)
        while not self.stop.is_set():
            try:
                rtt, _ = timed(lambda: c.result("ping"))
            except Exception as e:
                self.failed.append(repr(e))
                return
            self.rtts.append(rtt)
            time.sleep(0.003)

    def start(self):
        self.thread.start()
        return self

    def finish(self):
        self.stop.set()
        self.thread.join(600 * SLOW)
        expect(not self.thread.is_alive(), "the pinger ends (hang guard)")
        expect(not self.failed, "every ping of B is answered", self.failed)
        expect(len(self.rtts) > 0, "B pinged meanwhile", len(self.rtts))
        return self.rtts

FAIR_A, FAIR_B = os.environ["FAIR_A"], os.environ["FAIR_B"]
PYEOF
)

fair_py() {
	_prog=$(cat)
	python3 -c "$COOPD_PYLIB
$FAIR_PYLIB
$_prog"
}
