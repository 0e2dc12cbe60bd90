#!/bin/sh
# Races decided precisely (issue 15 items 11-14, docs/security.md "Races
# and small answers decided precisely"), each made deterministic:
#   - cancel vs a job that exits 0 on SIGTERM: the cancel reached the
#     running job, so it ends `cancelled` (graph too), never `succeeded`;
#   - cancel vs a job that had already ended (its main process exited 0,
#     coopd stopped with SIGSTOP so that the cancel request and the
#     SIGCHLD wait in the same loop iteration): "completed anyway", the
#     node keeps `succeeded`;
#   - SIGSTOP/SIGCONT of coopd past both a 500 ms sleep and its scope's
#     3 s deadline: the sleep, due first, succeeds; it is not cancelled by
#     the later deadline;
#   - a failing node with no sibling left to cancel counts no
#     `sibling_failed` cancellation in `stats` (one with a running sibling
#     counts one);
#   - SIGHUP when the config path has become a directory: refused like any
#     unreadable config (previous settings kept, nothing "reloaded"), and a
#     directory as config at start-up: exit 1;
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
export COOPD_PID

coopd_py <<'PY' || fail "cancel races"
import signal
tmp = os.environ["COOPD_TMP"]
pid = int(os.environ["COOPD_PID"])

def wait_file(p):
    for _ in range(3000 * SLOW):
        if os.path.exists(p) and os.path.getsize(p) > 0:
            return open(p).read().strip()
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + p)

# 1. A job that exits 0 on SIGTERM, cancelled by a client while it runs.
ready = os.path.join(tmp, "term0.pid")
gid = submit({"nodes": [{"id": "t", "kind": "exec", "argv": ["sh", "-c",
    "trap 'exit 0' TERM; echo $$ > %s; while :; do sleep 0.02; done" % ready]}]})
wait_file(ready)
c = rpc("cancel", {"id": gid})
expect(c["requested"] is True and c["state"] == "running", "cancel reached a running graph", c)
st = wait(gid)
n = node(st, "t")
expect(n["exit_code"] == 0, "the job exited 0 on SIGTERM", n)
expect(n["state"] == "cancelled", "a job signalled while running is cancelled", n)
expect(st["state"] == "cancelled", "a graph cancelled by a client ends cancelled", st)

# 2. A job that had ended before the request reached it: coopd is stopped,
# the job exits 0 (a zombie: nobody reaps it), the cancel request is
# queued, coopd continues and sees both at once.
ready = os.path.join(tmp, "done0.pid")
go = os.path.join(tmp, "done0.go")
gid = submit({"nodes": [{"id": "d", "kind": "exec", "argv": ["sh", "-c",
    "echo $$ > %s; while [ ! -e %s ]; do sleep 0.02; done; exit 0" % (ready, go)]}]})
jpid = int(wait_file(ready))
os.kill(pid, signal.SIGSTOP)
try:
    open(go, "w").close()
    for _ in range(3000 * SLOW):
        with open("/proc/%d/stat" % jpid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)
    else:
        raise AssertionError("the job did not exit")
    conn = Conn()
    cid = conn.send("cancel", {"id": gid})
finally:
    os.kill(pid, signal.SIGCONT)
c = conn.answer(cid)
conn.close()
expect("result" in c, "cancel answered", c)
st = wait(gid)
n = node(st, "d")
expect(n["state"] == "succeeded" and n["exit_code"] == 0,
       "a job that had ended before the cancel completed anyway", n, c)

# 3. Timers after SIGSTOP/SIGCONT: when coopd continues, both the sleep
# (500 ms) and the scope's deadline (3 s) are overdue; the sleep is due
# first and must succeed.  (Stopped for 3.5 s after the sleep started, so
# both are due whatever the machine's speed.)
gid = submit({"deadline_ms": 3000,
              "nodes": [{"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 500}}]})
for _ in range(3000 * SLOW):
    if node(rpc("status", {"id": gid}), "s")["state"] != "pending":
        break
    time.sleep(0.005)
os.kill(pid, signal.SIGSTOP)
try:
    time.sleep(3.5)
finally:
    os.kill(pid, signal.SIGCONT)
st = wait(gid)
expect(node(st, "s")["state"] == "succeeded", "the overdue sleep succeeded", st)
ping_ok()
PY

coopd_py <<'PY' || fail "sibling_failed counted only with a sibling"
def sf():
    return rpc("stats")["cancellation"]["requests"]["sibling_failed"]

fail = {"id": "f", "kind": "task", "fn": "fail"}
base = sf()
for g in ({"nodes": [fail]},
          {"nodes": [{"id": "a", "kind": "task", "fn": "noop"}, dict(fail, after=["a"])]},
          {"nodes": [{"id": "s", "kind": "scope", "nodes": [fail]}]}):
    st = run(g)
    expect(st["state"] == "failed", "the graph failed", st)
    expect(sf() == base, "no sibling, no sibling_failed cancellation", g, sf(), base)
st = run({"nodes": [fail, {"id": "z", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
expect(node(st, "z")["state"] == "cancelled", "the running sibling was cancelled", st)
expect(sf() == base + 1, "one sibling_failed cancellation", sf(), base)
PY

# 4. The config path becomes a directory, then SIGHUP.
CONF=$COOPD_TMP/coopd.conf
printf 'max_nodes = 3\n' >"$CONF"
coopd_restart --config "$CONF"
rm "$CONF" && mkdir "$CONF" || fail "mkdir conf"
_before=$(grep -c "keeping the previous settings" "$COOPD_LOG")
kill -HUP "$COOPD_PID" || fail "coopd not running"
_i=0
while [ "$(grep -c "keeping the previous settings" "$COOPD_LOG")" -le "$_before" ]; do
	_i=$((_i + 1))
	[ "$_i" -gt 3000 ] && fail "SIGHUP with a directory as config was not refused: $(cat "$COOPD_LOG")"
	kill -0 "$COOPD_PID" 2>/dev/null || fail "coopd died on SIGHUP"
	sleep 0.01
done
grep -q "configuration reloaded" "$COOPD_LOG" && fail "a directory was 'reloaded'"
grep -q "$CONF.*Is a directory" "$COOPD_LOG" || fail "the refusal does not say why"
coopd_py <<'PY' || fail "settings kept after the refused reload"
g = {"nodes": [{"id": "t%d" % i, "kind": "task", "fn": "noop"} for i in range(4)]}
expect(error_code("submit", {"graph": g}) == -32003, "max_nodes = 3 still applies")
PY
coopd_stop
rc=0
timeout 60 "$COOPD_BIN" --foreground --config "$CONF" --socket "$COOPD_TMP/c.sock" \
	--state-dir "$COOPD_STATE" >"$COOPD_TMP/coopd.log.confdir" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "a directory as config at start: exit $rc, want 1"
grep -q "Is a directory" "$COOPD_TMP/coopd.log.confdir" || fail "start-up refusal does not say why"
coopd_pass
