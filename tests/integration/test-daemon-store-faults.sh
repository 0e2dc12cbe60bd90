#!/bin/sh
# Faults of the state store (docs/durability.md), with tests/fault-shim.c
# preloaded into coopd (built here with cc; skipped without one):
#   - slow syncs: 16 concurrent clients share commits (group commit);
#   - fsync/fdatasync fail with EIO: `submit` answers -32603 naming the
#     cause, nothing is acknowledged, the daemon stays up; a graph that
#     settles meanwhile is not reported to `wait` as a result until its
#     final state is durable; once syncs work again everything recovers and
#     the result survives kill -9;
#   - the database cannot be written (EROFS): the same;
#   - each failure is named with its own errno (EIO, EROFS, EIO, then
#     EROFS after a commit that worked): the client's error, the failed
#     submit's log line and the writer's line;
#   - after a restart, a read back of a settled graph failing with EIO is
#     named EIO, not damage;
#   - 200 failed submits log one "cannot store graph" line a second at
#     most;
#   - a full file system (a small tmpfs, root only): output an exec job
#     could not write to its log is counted in log_dropped.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (the command) not found"
coopd_fault_shim

coopd_start_shimmed
coopd_py <<'PY' || fail "faults"
import threading, subprocess
FAULT = os.environ["COOPD_FAULT_FILE"]
DB = os.path.join(os.environ["COOPD_STATE"], "coopd.db")
def fault(mode):
    open(FAULT, "w").write(mode)
def rows():
    return int(subprocess.run(["sqlite3", "-readonly", DB, "SELECT count(*) FROM graphs"],
                              check=True, capture_output=True, text=True).stdout)
noop = {"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]}

# Group commit: every sync takes 20 ms; 16 clients submitting at once
# must share them.
fault("slow")
ids, errs = [], []
def client():
    try:
        c = Conn()
        for _ in range(10):
            ids.append(c.result("submit", {"graph": noop})["id"])
        c.close()
    except Exception as e:
        errs.append(e)
before = rpc("stats")["store"]
ts = [threading.Thread(target=client) for _ in range(16)]
for t in ts: t.start()
for t in ts: t.join()
expect(not errs and len(ids) == 160, "160 submits", errs)
for i in ids:
    wait(i)
after = rpc("stats")["store"]
commits, writes = after["commits"] - before["commits"], after["writes"] - before["writes"]
expect(writes >= 320, "a write per submit and per settled graph", before, after)
expect(2 * commits < writes, "concurrent writes share commits", commits, writes)
fault("")

# A graph that will settle while syncs fail.
flag = os.path.join(os.environ["COOPD_TMP"], "go")
held = submit({"name": "held", "nodes": [{"id": "e", "kind": "exec", "argv": [
    "sh", "-c", "while [ ! -e \"$1\" ]; do sleep 0.02; done", "sh", flag]}]})
for _ in range(1000 * SLOW):
    if node(rpc("status", {"id": held}), "e")["state"] == "running":
        break
    time.sleep(0.01)
n0 = rows()

# Each failure is named with its own errno: in the client's error, in the
# log line of the failed submit and in the writer's line, eio after rofs
# and rofs after eio, and after a commit that worked again.  (SQLite's
# sqlite3_system_errno() is not set by a failed COMMIT: it named each
# failure with the previous one's errno; daemon/store-vfs.c.)
log = os.path.join(os.environ["COOPD_TMP"], "coopd.log")
def lines_with(what):
    return [l for l in open(log).read().splitlines() if what in l]
def fails_with(mode, text):
    fault(mode)
    stored0 = len(lines_with("cannot store graph"))
    e = call("submit", {"graph": noop})
    expect("error" in e and e["error"]["code"] == -32603, "submit fails: " + mode, e)
    expect(e["error"]["message"] == "cannot store the graph durably: " + text,
           "the error names the cause of this failure: " + mode, e)
    # Logged before the answer (the loop logs, then answers): each failure
    # here has another errno than the one before, so none is held back by
    # the one-line-a-second limit.
    stored = lines_with("cannot store graph")
    expect(len(stored) == stored0 + 1 and stored[-1].endswith(": " + text),
           "the failed submit's log line names the cause: " + mode, stored[stored0:])
    writer = lines_with("the transaction is rolled back")
    expect(writer and "(%s)" % text in writer[-1], "the writer's line names the cause: " + mode,
           writer[-1:])
    ping_ok()
    expect(rows() == n0, "nothing stored", mode)
for mode, text in (("eio", "Input/output error"), ("rofs", "Read-only file system"),
                   ("eio", "Input/output error")):
    fails_with(mode, text)
fault("")
ok = submit(noop)
expect(wait(ok)["state"] == "succeeded", "submits work again between the faults")
n0 = rows()
fails_with("rofs", "Read-only file system")

# Clients retrying against a failing disk do not flood the log: 200
# failed submits, one "cannot store graph" line a second at most.
# The failures above logged lines of their own, the last one an EROFS,
# so the first failure below (an EIO) is logged anyway; the wait out of
# the one-second window keeps it so whatever the failures above were.
log = os.path.join(os.environ["COOPD_TMP"], "coopd.log")
time.sleep(1.2)
lines0 = open(log).read().count("cannot store graph")
fault("eio")
t0 = time.monotonic()
for _ in range(200):
    e = call("submit", {"graph": noop})
    expect("error" in e and e["error"]["code"] == -32603, "submit fails", e)
elapsed = time.monotonic() - t0
fault("")
ping_ok()
lines = open(log).read().count("cannot store graph") - lines0
expect(1 <= lines <= int(elapsed) + 2, "%d lines for 200 failed submits in %.1f s" % (lines, elapsed))

# Syncs fail (EIO) while the held graph settles, with a client waiting
# for it: no result for wait.
c = Conn()
c.send("wait", {"id": held}, id=77)
c.send("ping", {}, id=78)
c.answer(78)  # same connection, in order: the wait is registered
fault("eio")
open(flag, "w").close()
log = os.path.join(os.environ["COOPD_TMP"], "coopd.log")
for _ in range(3000 * SLOW):
    if "cannot make its final state durable" in open(log).read():
        break
    time.sleep(0.01)
expect(rpc("status", {"id": held})["state"] == "succeeded", "settled (status may show it)")
w = call("wait", {"id": held, "timeout_ms": 300})
expect("error" in w and w["error"]["code"] == -32603 and "not yet durable" in w["error"]["message"],
       "wait does not answer a result that is not durable", w)
w = call("wait", {"id": held, "timeout_ms": 0})
expect("error" in w and w["error"]["code"] == -32603, "nor at once", w)
# The wait without timeout is answered once the store recovers.
fault("")
m = c.answer(77)
expect(m.get("result", {}).get("state") == "succeeded", "wait answers once durable", m)
ok = submit(noop)
expect(wait(ok)["state"] == "succeeded", "submits work again")
open(os.path.join(os.environ["COOPD_TMP"], "held"), "w").write(held + " " + ok)
PY
grep -q "cannot make its final state durable" "$COOPD_LOG" || fail "settle failure not logged"
# Retried every second while failing, logged once per kind of failure:
# eio, rofs, eio, rofs (after a commit), eio (the 200 submits), and eio
# again if a commit worked before the settle failed: 6 lines at most.
n=$(grep -c "the transaction is rolled back" "$COOPD_LOG")
[ "$n" -le 6 ] || fail "$n failure lines: the retries flood the log"
grep -q "transactions commit again" "$COOPD_LOG" || fail "recovery not logged"
coopd_kill9
coopd_start_shimmed
coopd_py <<'PY' || fail "after kill -9"
held, ok = open(os.path.join(os.environ["COOPD_TMP"], "held")).read().split()
# A read that fails with EIO (settled graphs are read back from the file:
# their node rows, which start-up did not read) is an I/O error, not
# damage: SQLite calls it corruption (SQLITE_IOERR_CORRUPTFS), coopd names
# the read's errno.
FAULT = os.environ["COOPD_FAULT_FILE"]
open(FAULT, "w").write("read-eio")
e = call("status", {"id": held})
open(FAULT, "w").write("")
expect("error" in e and e["error"]["code"] == -32603 and
       e["error"]["message"] == "cannot read graph %s from the state database: "
       "Input/output error" % held, "a failed read is named EIO, not damage", e)
log = open(os.path.join(os.environ["COOPD_TMP"], "coopd.log")).read()
expect("cannot read graph %s back from" % held in log and
       "Input/output error" in log.split("cannot read graph %s back from" % held)[1].split("\n")[0],
       "its log line names the read's errno")
expect(rpc("status", {"id": held})["state"] == "succeeded", "the held graph's result is durable")
expect(rpc("status", {"id": ok})["state"] == "succeeded", "the later submit is durable")
PY
coopd_stop

# A full file system: failed log writes are counted in log_dropped.
if [ "$(id -u)" != 0 ]; then
	echo "full tmpfs: skipped (needs root)"
	coopd_pass
fi
TMPFS=$COOPD_TMP/small
mkdir -p "$TMPFS"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$TMPFS" 2>/dev/null || { echo "full tmpfs: skipped (cannot mount)"; coopd_pass; }
trap '_rc=$?; [ -n "$COOPD_PID" ] && kill -TERM "$COOPD_PID" 2>/dev/null && wait "$COOPD_PID"; COOPD_PID=; umount "$TMPFS" 2>/dev/null; (exit $_rc); _coopd_cleanup' EXIT
COOPD_STATE=$TMPFS/state
coopd_start
coopd_py <<'PY' || fail "log_dropped on a full disk"
tmpfs = os.path.dirname(os.environ["COOPD_STATE"])
flag = os.path.join(os.environ["COOPD_TMP"], "go2")
gid = submit({"nodes": [{"id": "e", "kind": "exec", "argv": [
    "sh", "-c", "while [ ! -e \"$1\" ]; do sleep 0.02; done; head -c 200000 /dev/zero", "sh",
    flag]}]})
for _ in range(1000 * SLOW):
    if node(rpc("status", {"id": gid}), "e")["state"] == "running":
        break
    time.sleep(0.01)
filler = os.path.join(tmpfs, "filler")
with open(filler, "wb", buffering=0) as f:
    try:
        while True:
            f.write(b"x" * 4096)
    except OSError:
        pass
open(flag, "w").close()
for _ in range(3000 * SLOW):
    st = rpc("status", {"id": gid})
    if st["state"] not in ("pending", "running"):
        break
    time.sleep(0.01)
e = node(st, "e")
expect(e["state"] == "succeeded", "the job ran", st)
dropped = e.get("log_dropped", {}).get("stdout", 0)
got = len(rpc("logs", {"id": gid, "node": "e", "stream": "stdout"})["data"])
expect(dropped > 0 and dropped + got == 200000, "unwritten output counted", e, got)
ping_ok()
os.unlink(filler)
expect(wait(gid)["state"] == "succeeded", "settles durably once there is room")
PY
coopd_stop
coopd_pass
