#!/bin/sh
# One owner (docs/security.md, "The state directory"): a coopd
# holds an exclusive lock on its state directory for its lifetime.  With a
# graph running in a first coopd, a second coopd
#   - on the same state directory and the same socket,
#   - on the same state directory and another socket,
# exits 1 with "state directory DIR is in use by coopd (pid N)" before it
# reads or changes anything, and
#   - on another state directory and the same socket
# exits 1 because a daemon answers there, before any crash recovery.  In
# all three cases the first daemon's job keeps running (same processes),
# its graph succeeds, and its state directory holds exactly what it held
# before (no `interrupted` record, no file touched), also after a restart.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

command -v timeout >/dev/null 2>&1 || skip "timeout not found"

coopd_start
GO=$COOPD_TMP/go
TOK=coopd-one-owner-$$
export GO TOK

coopd_py <<'PY' >"$COOPD_TMP/gid" || fail "start the long job"
tok = os.environ["TOK"]
script = "echo started; while [ ! -e \"$GO\" ]; do sleep 0.05; done; echo finished"
gid = submit({"nodes": [{"id": "long", "kind": "exec", "argv": ["sh", "-c", script],
                         "env": {"GO": os.environ["GO"], "COOPD_MARK": tok}}]})
for _ in range(2000 * SLOW):
    st = rpc("status", {"id": gid})
    if node(st, "long")["state"] == "running" and marked(tok):
        break
    time.sleep(0.01)
else:
    raise AssertionError("the job did not start: %r" % (st,))
# A graph that settles makes every queued record durable before `wait`
# answers: after it, the state directory changes only if someone else
# writes to it.
assert wait(submit({"nodes": [{"id": "n", "kind": "task", "fn": "noop"}]}))["state"] == "succeeded"
print(gid)
PY
GID=$(cat "$COOPD_TMP/gid")

# Every file below the state directory: path, size, content hash.
snapshot() {
	python3 - "$COOPD_STATE" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
for d, dirs, files in sorted(os.walk(root)):
    dirs.sort()
    for f in sorted(files):
        p = os.path.join(d, f)
        with open(p, "rb") as fh:
            data = fh.read()
        print(os.path.relpath(p, root), len(data), hashlib.sha256(data).hexdigest())
PY
}
snapshot >"$COOPD_TMP/before" || fail "snapshot"
# The job's shell: the marked `sh` whose parent is not marked.  Its
# short-lived `sleep`s come and go, and one that has been forked but has not
# yet exec'd is an `sh` too, whose parent is the job's shell.
job_shells() {
	TOK=$TOK coopd_py <<'PY'
def comm_ppid(p):
    try:
        stat = open("/proc/%d/stat" % p).read()
        return stat[stat.index("(") + 1:stat.rindex(")")], int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return "", 0  # a `sleep` that has just ended
mine = marked(os.environ["TOK"])
info = {p: comm_ppid(p) for p in mine}
print(sorted(p for p in mine if info[p][0] == "sh" and info[p][1] not in mine))
PY
}
PIDS_BEFORE=$(job_shells)

# second NAME ARG...: runs a second coopd (generous hang guard); it must
# exit 1 and say why in its log.
second() {
	_name=$1
	shift
	rc=0
	timeout 60 "$COOPD_BIN" --foreground --workers 2 "$@" >"$COOPD_TMP/coopd.log.$_name" 2>&1 ||
		rc=$?
	[ "$rc" -eq 1 ] || fail "second coopd ($_name) exited $rc, want 1: $(cat "$COOPD_TMP/coopd.log.$_name")"
}

second same-socket --socket "$COOPD_SOCK" --state-dir "$COOPD_STATE"
grep -qF "state directory $COOPD_STATE is in use by coopd (pid $COOPD_PID)" \
	"$COOPD_TMP/coopd.log.same-socket" || fail "same socket: no 'in use' message"

second other-socket --socket "$COOPD_TMP/other.sock" --state-dir "$COOPD_STATE"
grep -qF "state directory $COOPD_STATE is in use by coopd (pid $COOPD_PID)" \
	"$COOPD_TMP/coopd.log.other-socket" || fail "other socket: no 'in use' message"
[ ! -e "$COOPD_TMP/other.sock" ] || fail "the refused coopd bound its socket"

second other-state --socket "$COOPD_SOCK" --state-dir "$COOPD_TMP/state2"
grep -qF "another coopd is already listening on $COOPD_SOCK" \
	"$COOPD_TMP/coopd.log.other-state" || fail "other state dir: no 'listening' message"
grep -q "killed\|interrupted\|recover" "$COOPD_TMP/coopd.log.other-state" &&
	fail "the refused coopd recovered something: $(cat "$COOPD_TMP/coopd.log.other-state")"

# A lock file that is a symbolic link is not followed.
mkdir "$COOPD_TMP/state3" && chmod 700 "$COOPD_TMP/state3" || fail "mkdir state3"
echo keep >"$COOPD_TMP/target"
ln -s "$COOPD_TMP/target" "$COOPD_TMP/state3/coopd.lock" || fail "ln"
second symlink --socket "$COOPD_TMP/s3.sock" --state-dir "$COOPD_TMP/state3"
grep -q "coopd.lock" "$COOPD_TMP/coopd.log.symlink" || fail "symlinked lock: no message"
[ "$(cat "$COOPD_TMP/target")" = keep ] || fail "the symlinked lock's target was written"

snapshot >"$COOPD_TMP/after" || fail "snapshot"
cmp -s "$COOPD_TMP/before" "$COOPD_TMP/after" ||
	fail "the state directory changed: $(diff "$COOPD_TMP/before" "$COOPD_TMP/after")"

# The job is still polling for $GO, in the same shell.
PIDS_AFTER=$(job_shells)
[ "$PIDS_BEFORE" != "[]" ] && [ "$PIDS_AFTER" = "$PIDS_BEFORE" ] ||
	fail "the job's shell changed: $PIDS_BEFORE -> $PIDS_AFTER"
touch "$GO"
GID=$GID coopd_py <<'PY' || fail "the first daemon's graph"
gid = os.environ["GID"]
st = wait(gid)
expect(st["state"] == "succeeded", "the graph succeeded", st)
expect(log_text(gid, "long") == "started\nfinished\n", "the job ran to its end", st)
ping_ok()
PY

coopd_restart
GID=$GID coopd_py <<'PY' || fail "after a restart"
st = rpc("status", {"id": os.environ["GID"]})
expect(st["state"] == "succeeded" and node(st, "long")["state"] == "succeeded",
       "still succeeded after a restart", st)
PY
# The first daemon's pid is in the lock file while it runs.
[ "$(cat "$COOPD_STATE/coopd.lock")" = "$COOPD_PID" ] || fail "lock file does not hold the pid"
coopd_stop

# A coopd killed while a child of it was between fork and exec leaves the
# lock held by that child for a moment, with the dead coopd's pid in the
# file: the next coopd waits for it instead of refusing to start.  The
# child is played by a process that holds the lock for a second.
python3 - "$COOPD_STATE/coopd.lock" "$COOPD_TMP/stray-locked" <<'PY' &
import fcntl, os, subprocess, sys, time
p = subprocess.Popen(["true"]); p.wait()          # a pid that is gone
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0); os.pwrite(fd, b"%d\n" % p.pid, 0)
open(sys.argv[2], "w").close()
time.sleep(1.5)                                    # the child's last moment
os.close(fd)
PY
STRAY=$!
i=0
while [ ! -e "$COOPD_TMP/stray-locked" ]; do
	i=$((i + 1)); [ "$i" -lt 600 ] || fail "the stray holder never took the lock"; sleep 0.05
done
coopd_start
wait "$STRAY" || fail "the stray holder failed"
grep -q "is gone but its lock is still held" "$COOPD_LOG" ||
	fail "no message about the stray holder: $(cat "$COOPD_LOG")"
[ "$(cat "$COOPD_STATE/coopd.lock")" = "$COOPD_PID" ] || fail "lock file does not hold the new pid"
coopd_stop
coopd_pass
