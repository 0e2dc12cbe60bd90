# lib-coopd.sh -- shared helpers for the integration tests (sourced, POSIX sh).
#
# Every integration test starts its own coopd on a private socket and state
# directory under a fresh temporary directory, drives it (raw JSON-RPC through
# the python3 helpers below, or the real coopctl), stops it, and keeps the
# daemon's log only when the test failed.
#
# Environment:
#   TEST_COOPD          coopd binary (default: $top_builddir/coopd)
#   TEST_COOPCTL        coopctl binary (default: $top_builddir/coopctl)
#   TEST_COOPD_WRAPPER  command put in front of coopd, e.g.
#                       "valgrind --error-exitcode=99 --leak-check=full"
#                       (run through libtool --mode=execute when coopd is a
#                       libtool wrapper script)
#   TEST_KEEP           1: keep the temporary directory even on success
#   top_builddir, top_srcdir   set by `make check`; guessed otherwise
#
# Functions:
#   coopd_start [ARG...]   start coopd (extra args appended); sets COOPD_PID,
#                          COOPD_SOCK, COOPD_STATE, COOPD_LOG, COOPD_TMP
#   coopd_stop [SIG]       SIGTERM (or SIG, e.g. INT), wait, fail unless it exits 0
#   coopd_kill9            SIGKILL, wait (crash simulation)
#   coopd_restart [ARG...] coopd_stop + coopd_start on the same socket/state
#   coopd_wait_ready       wait until `ping` answers (called by coopd_start)
#   coopd_rpc METHOD [PARAMS_JSON]    one request; prints the response line
#   coopd_raw              sends stdin as is, prints every line received until
#                          the daemon has answered (or 5 s of silence)
#   coopd_py               runs the python3 program on stdin with the helpers
#                          of $COOPD_PYLIB (rpc(), Conn, submit(), wait(), marked(),
#                          proc_children(), proc_fds(), proc_rss_kb(), ...);
#                          a failed assert fails the test
#   coopd_ctl ARG...       runs coopctl --socket "$COOPD_SOCK" ARG...
#   coopd_need_users [TOOL...]   skip unless root, with useradd, userdel,
#                          groupadd, groupdel and each TOOL on PATH
#   coopd_add_group NAME   groupadd NAME (fails the test if it cannot)
#   coopd_add_user NAME [USERADD_ARG...]   useradd -M -s /bin/sh ARG... NAME;
#                          the users, then the groups, are deleted at exit
#   coopd_fault_shim       builds tests/fault-shim.c (skips without a C
#                          compiler); COOPD_FAULT_FILE, exported, empty
#   coopd_start_shimmed [ARG...]   coopd_start with the shim preloaded
#                          (into coopd only)
#   coopd_refuses_values KEY VALUE...   coopd started with `KEY = VALUE` in
#                          its config exits 1 naming both, for each VALUE
#   fail MSG / skip MSG    end the test (exit 1 / 77)
#   coopd_pass             end the test with success

set -u

if [ -z "${top_builddir:-}" ]; then
	top_builddir=$(cd "$(dirname "$0")/../.." && pwd)
fi
if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fi
COOPD_BIN=${TEST_COOPD:-$top_builddir/coopd}
COOPCTL_BIN=${TEST_COOPCTL:-$top_builddir/coopctl}
COOPD_PID=
COOPD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/coopd-test.XXXXXX") || exit 99
COOPD_SOCK=$COOPD_TMP/coopd.sock
COOPD_STATE=$COOPD_TMP/state
COOPD_LOG=$COOPD_TMP/coopd.log
COOPD_TEST_NAME=$(basename "$0")
COOPD_STARTS=0
COOPD_TEST_USERS=
COOPD_TEST_GROUPS=
export COOPD_SOCK COOPD_STATE COOPD_TMP

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }

fail() {
	echo "FAIL: $COOPD_TEST_NAME: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $COOPD_TEST_NAME: $*"
	exit 77
}

coopd_pass() {
	echo "PASS: $COOPD_TEST_NAME"
	exit 0
}

# On exit: stop a daemon still running, delete the test users and groups;
# keep the log (printed) on failure.
_coopd_cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$COOPD_PID" ] && kill -0 "$COOPD_PID" 2>/dev/null; then
		kill -TERM "$COOPD_PID" 2>/dev/null
		wait "$COOPD_PID" 2>/dev/null
	fi
	for _u in $COOPD_TEST_USERS; do
		userdel "$_u" >/dev/null 2>&1
	done
	for _g in $COOPD_TEST_GROUPS; do
		groupdel "$_g" >/dev/null 2>&1
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "---- coopd log(s) of $COOPD_TEST_NAME (kept in $COOPD_TMP) ----" >&2
		for f in "$COOPD_TMP"/coopd.log*; do
			[ -f "$f" ] && { echo "== $f" >&2; tail -n 200 "$f" >&2; }
		done
	elif [ "${TEST_KEEP:-0}" != 1 ]; then
		rm -rf "$COOPD_TMP"
	fi
	exit "$rc"
}
trap _coopd_cleanup EXIT
trap 'exit 1' INT TERM

_coopd_cmd() {
	if [ -n "${TEST_COOPD_WRAPPER:-}" ]; then
		if head -c 256 "$COOPD_BIN" 2>/dev/null | grep -q 'libtool'; then
			echo "$top_builddir/libtool --mode=execute $TEST_COOPD_WRAPPER $COOPD_BIN"
		else
			echo "$TEST_COOPD_WRAPPER $COOPD_BIN"
		fi
	else
		echo "$COOPD_BIN"
	fi
}

coopd_start() {
	[ -x "$COOPD_BIN" ] || fail "coopd not found at $COOPD_BIN (set TEST_COOPD)"
	COOPD_STARTS=$((COOPD_STARTS + 1))
	if [ "$COOPD_STARTS" -gt 1 ]; then
		mv "$COOPD_LOG" "$COOPD_LOG.$((COOPD_STARTS - 1))" 2>/dev/null
	fi
	# shellcheck disable=SC2046
	$(_coopd_cmd) --foreground --socket "$COOPD_SOCK" --state-dir "$COOPD_STATE" \
		--workers 2 "$@" >"$COOPD_LOG" 2>&1 &
	COOPD_PID=$!
	coopd_wait_ready || fail "coopd did not answer ping"
}

coopd_wait_ready() {
	python3 - "$COOPD_SOCK" "$COOPD_PID" <<'PYEOF'
import socket, sys, time, os
path, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + (120 if os.environ.get("TEST_COOPD_WRAPPER") else 20)
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("coopd exited before it answered")
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(path)
        s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
        if b'"result"' in s.makefile("rb").readline():
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit("timed out")
PYEOF
}

coopd_stop() {
	_sig=${1:-TERM}
	[ -n "$COOPD_PID" ] || return 0
	kill -"$_sig" "$COOPD_PID" 2>/dev/null || fail "coopd (pid $COOPD_PID) was not running"
	rc=0
	wait "$COOPD_PID" || rc=$?
	COOPD_PID=
	[ "$rc" -eq 0 ] || fail "coopd exited with status $rc after SIG$_sig"
}

coopd_kill9() {
	[ -n "$COOPD_PID" ] || return 0
	kill -KILL "$COOPD_PID" 2>/dev/null
	wait "$COOPD_PID" 2>/dev/null
	COOPD_PID=
}

coopd_restart() {
	coopd_stop
	coopd_start "$@"
}

coopd_ctl() {
	"$COOPCTL_BIN" --socket "$COOPD_SOCK" "$@"
}

coopd_need_users() {
	[ "$(id -u)" = 0 ] || skip "needs root (creates test users, runs coopd as root)"
	for _t in useradd userdel groupadd groupdel "$@"; do
		command -v "$_t" >/dev/null 2>&1 || skip "$_t not found"
	done
}

# (Recorded before they are made: deleting one that was not made is harmless.)
coopd_add_group() {
	COOPD_TEST_GROUPS="$COOPD_TEST_GROUPS $1"
	groupadd "$1" || fail "groupadd $1"
}

coopd_add_user() {
	_user=$1
	shift
	COOPD_TEST_USERS="$COOPD_TEST_USERS $_user"
	useradd -M -s /bin/sh "$@" "$_user" || fail "useradd $_user"
}

coopd_fault_shim() {
	_cc=$(command -v cc || command -v gcc || true)
	[ -n "$_cc" ] || skip "no C compiler for the fault shim"
	"$_cc" -shared -fPIC -o "$COOPD_TMP/fault-shim.so" "$top_srcdir/tests/fault-shim.c" -ldl \
		|| fail "cannot build the fault shim"
	COOPD_FAULT_FILE=$COOPD_TMP/fault
	export COOPD_FAULT_FILE
	: >"$COOPD_FAULT_FILE"
}

coopd_refuses_values() {
	_key=$1
	shift
	for _bad in "$@"; do
		printf '%s = %s\n' "$_key" "$_bad" >"$COOPD_TMP/bad.conf"
		_rc=0
		timeout 60 "$COOPD_BIN" --foreground --socket "$COOPD_TMP/bad.sock" \
			--state-dir "$COOPD_TMP/bad-state" --config "$COOPD_TMP/bad.conf" \
			>"$COOPD_TMP/bad.log" 2>&1 || _rc=$?
		[ "$_rc" = 1 ] || fail "$_key = '$_bad': exit $_rc, want 1"
		grep -q "bad value '$_bad' for '$_key'" "$COOPD_TMP/bad.log" ||
			fail "$_key = '$_bad': the key is not named: $(cat "$COOPD_TMP/bad.log")"
	done
}

# ASan wants to be first among the libraries; the shim comes first here.
coopd_start_shimmed() {
	LD_PRELOAD=$COOPD_TMP/fault-shim.so
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
	export LD_PRELOAD ASAN_OPTIONS
	coopd_start "$@"
	unset LD_PRELOAD
}

coopd_rpc() {
	python3 - "$COOPD_SOCK" "$1" "${2:-}" <<'PYEOF'
import json, socket, sys
path, method, params = sys.argv[1], sys.argv[2], sys.argv[3]
req = {"jsonrpc": "2.0", "id": 1, "method": method}
if params:
    req["params"] = json.loads(params)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(path)
s.sendall(json.dumps(req).encode() + b"\n")
f = s.makefile("rb")
while True:
    line = f.readline()
    if not line:
        sys.exit("connection closed without an answer")
    msg = json.loads(line)
    if "id" in msg:
        sys.stdout.write(line.decode())
        break
PYEOF
}

coopd_raw() {
	python3 - "$COOPD_SOCK" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        sys.stdout.buffer.write(b)
        sys.stdout.flush()
except socket.timeout:
    pass
PYEOF
}

# The python helpers, prepended to every coopd_py program.
COOPD_PYLIB=$(cat <<'PYEOF'
import json, os, socket, sys, time

SOCK = os.environ["COOPD_SOCK"]
# Hang guards (timeouts of waits and sockets) are multiplied by SLOW: 10
# under a wrapper such as valgrind, COOPD_TEST_SLOW where a test depends on
# something slower than coopd (Slurm's scheduler on a busy host), else 1.
SLOW = 10 if os.environ.get("TEST_COOPD_WRAPPER") else int(os.environ.get("COOPD_TEST_SLOW", "1"))
FINAL = ("succeeded", "failed", "cancelled", "skipped", "interrupted")

class RpcError(Exception):
    def __init__(self, err):
        Exception.__init__(self, "JSON-RPC error %r" % (err,))
        self.code = err.get("code")
        self.err = err

class Conn:
    """One connection; requests may be pipelined, events are kept aside."""
    def __init__(self, path=SOCK, timeout=60):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout * SLOW)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.next_id = 1
        self.events = []
        self.answers = {}
    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)
    def send(self, method, params=None, id=None):
        if id is None:
            id = self.next_id
            self.next_id += 1
        req = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            req["params"] = params
        self.send_raw(json.dumps(req) + "\n")
        return id
    def read_msg(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed by coopd")
        return json.loads(line)
    def answer(self, id):
        while id not in self.answers:
            m = self.read_msg()
            if "id" in m:
                self.answers[m["id"]] = m
            else:
                self.events.append(m)
        return self.answers.pop(id)
    def call(self, method, params=None):
        return self.answer(self.send(method, params))
    def result(self, method, params=None):
        m = self.call(method, params)
        if "error" in m:
            raise RpcError(m["error"])
        return m["result"]
    def event(self):
        if self.events:
            return self.events.pop(0)
        while True:
            m = self.read_msg()
            if "id" in m:
                self.answers[m["id"]] = m
            else:
                return m
    def close(self):
        # The file from makefile() keeps the fd open until it is closed too.
        self.f.close()
        self.s.close()

def call(method, params=None):
    c = Conn()
    try:
        return c.call(method, params)
    finally:
        c.close()

def rpc(method, params=None):
    c = Conn()
    try:
        return c.result(method, params)
    finally:
        c.close()

def error_code(method, params=None):
    m = call(method, params)
    assert "error" in m, "expected an error from %s %r, got %r" % (method, params, m)
    return m["error"]["code"]

def submit(graph):
    return rpc("submit", {"graph": graph})["id"]

def wait(gid, timeout_ms=60000, **kw):
    p = {"id": gid, "timeout_ms": timeout_ms * SLOW}
    p.update(kw)
    st = rpc("wait", p)
    return st

def run(graph, timeout_ms=60000):
    st = wait(submit(graph), timeout_ms)
    assert st["state"] in FINAL, "graph did not settle: %r" % (st,)
    return st

def log_text(gid, n, stream="stdout"):
    """A settled node's whole log stream, read with `logs` to eof."""
    data, off = "", 0
    while True:
        r = rpc("logs", {"id": gid, "node": n, "stream": stream, "offset": off})
        data += r["data"]
        off = r["next_offset"]
        if r["eof"]:
            return data

def node(st, path):
    """The node at path ('a/b') in a status answer."""
    n = st["root"]
    for part in path.split("/"):
        for c in n.get("nodes", []):
            if c["id"] == part:
                n = c
                break
        else:
            raise KeyError("no node %r in %s" % (path, json.dumps(st)[:2000]))
    return n

def states(st):
    """{path: state} for every node below the root."""
    out = {}
    def walk(n):
        for c in n.get("nodes", []):
            out[c["path"]] = c["state"]
            walk(c)
    walk(st["root"])
    return out

def expect(cond, msg, *ctx):
    if not cond:
        raise AssertionError(msg + "".join("\n  " + json.dumps(c)[:3000] for c in ctx))

def ping_ok():
    assert rpc("ping") == {}, "ping did not answer {}"

def wait_for(what, cond, n=3000, context=None):
    """cond()'s first true value, asked every 10 ms (a hang guard of
    n * 10 ms, times SLOW); on timeout the error shows context() too."""
    for _ in range(n * SLOW):
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    expect(False, "timed out waiting for " + what, *([context()] if context else []))

def read_int_file(path):
    """The number a process writes into path, once it is there."""
    def get():
        try:
            return int(open(path).read().strip() or 0)
        except (OSError, ValueError):
            return 0
    return wait_for(path, get)

def marked(token):
    """pids of live (non-zombie) processes whose environment holds token."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                if token.encode() not in f.read():
                    continue
            with open("/proc/%s/stat" % p) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        pids.append(int(p))
    return pids

# As another user (root only): a Conn whose socket a child connected after
# dropping to uid/gid/groups.
class SockConn(Conn):
    """A Conn over an already connected socket."""
    def __init__(self, s):
        self.s = s
        self.s.settimeout(60 * SLOW)
        self.f = self.s.makefile("rb")
        self.next_id = 1
        self.events = []
        self.answers = {}

def socks_as(uid, gid, groups, n=1, data=None):
    """n sockets connected to coopd by a child that dropped to uid/gid/groups
    (data, if any, sent on each by the child), passed back over SCM_RIGHTS
    in batches (the kernel takes at most 253 fds a message).  SO_PEERCRED
    is fixed at connect(), so coopd sees the child's identity on every
    request sent through them."""
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            a.close()
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            socks = []
            for _ in range(n):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(SOCK)
                if data:
                    try:
                        s.sendall(data)
                    except OSError:
                        pass  # refused and closed already: its line waits
                socks.append(s)
            for i in range(0, n, 200):
                socket.send_fds(b, [b"ok"], [s.fileno() for s in socks[i:i + 200]])
            os._exit(0)
        except BaseException as e:
            try:
                b.sendall(("error: %s" % e).encode())
            finally:
                os._exit(1)
    b.close()
    out = []
    try:
        while len(out) < n:
            msg, fds, _, _ = socket.recv_fds(a, 1024, 200)
            if not fds:
                raise PermissionError(msg.decode())
            out += [socket.socket(fileno=fd) for fd in fds]
    finally:
        a.close()
        os.waitpid(pid, 0)
    return out

def connect_as(uid, gid, groups):
    """A Conn connected as uid/gid/groups (socks_as)."""
    return SockConn(socks_as(uid, gid, groups)[0])

def proc_children(pid):
    """pids (strings) of the processes whose parent is pid."""
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

def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))

def proc_rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)

def config_reload(text, marker="configuration reloaded"):
    """Appends text to $COOPD_TMP/coopd.conf, SIGHUPs coopd (COOPD_PID
    exported) and waits until its log has one more line with marker."""
    log = os.environ["COOPD_LOG"]
    before = open(log).read().count(marker)
    with open(os.environ["COOPD_TMP"] + "/coopd.conf", "a") as f:
        f.write(text)
    os.kill(int(os.environ["COOPD_PID"]), 1)
    deadline = time.monotonic() + 30 * SLOW
    while open(log).read().count(marker) == before:
        expect(time.monotonic() < deadline, "coopd handled the SIGHUP (%s)" % marker)
        time.sleep(0.05)
PYEOF
)

coopd_py() {
	_prog=$(cat)
	python3 -c "$COOPD_PYLIB
$_prog"
}
