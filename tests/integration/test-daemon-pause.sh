#!/bin/sh
# pause/resume through the socket, with a cgroup per job (cgroup.freeze)
# and with cgroups = off (SIGSTOP/SIGCONT of the job's process group):
#  - a paused busy job's CPU time (/proc/PID/stat utime+stime) stops
#    growing, and grows again after resume;
#  - nothing new starts in a paused graph or subtree (an `always`
#    dependant of a node cancelled on its own stays pending with
#    paused: true; a sibling outside a paused subtree runs);
#  - cancelling a paused job thaws it: it sees SIGTERM (its trap runs)
#    and its grace, and the node ends cancelled;
#  - pause of a settled graph, resume of a graph not paused, an unknown
#    node, another user's graph: errors that say so.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/pause.py" <<'PY'
def cpu_ticks(pids):
    t = 0
    for p in pids:
        try:
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        t += int(f[11]) + int(f[12])
    return t

def until(cond, what):
    for _ in range(3000 * SLOW):
        v = cond()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError("never: " + what)

def stable_ticks(pids):
    """CPU ticks once they have stopped moving (a freeze is asynchronous):
    the same value read 30 times in a row, 20 ms apart."""
    last, same = cpu_ticks(pids), 0
    for _ in range(3000 * SLOW):
        time.sleep(0.02)
        t = cpu_ticks(pids)
        same = same + 1 if t == last else 0
        last = t
        if same >= 30:
            return t
    raise AssertionError("CPU time kept growing while paused")

tok = "coopd-pause-%d-%s" % (os.getpid(), MODE)
gid = submit({"nodes": [
    {"id": "busy", "kind": "exec", "env": {"COOPD_MARK": tok}, "grace_ms": 5000,
     "argv": ["sh", "-c", "trap 'echo got TERM; exit 3' TERM; while :; do :; done"]},
    {"id": "next", "kind": "exec", "argv": ["true"], "after": ["first"], "always": True},
    {"id": "first", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
pids = until(lambda: marked(tok) and node(rpc("status", {"id": gid}), "busy")["state"] == "running"
             and marked(tok), "busy runs")
until(lambda: cpu_ticks(pids) > 0, "busy uses CPU")
expect(rpc("pause", {"id": gid}) == {}, "pause answers {}")
st = rpc("status", {"id": gid})
expect(node(st, "busy").get("paused") is True and node(st, "next").get("paused") is True,
       "nodes show paused", st)
frozen = stable_ticks(pids)
# Held: 'first' ends (cancelled on its own: a cancel resumes only what it
# reaches), and 'next' (always) must not start while the graph is paused.
rpc("cancel", {"id": gid, "node": "first"})
until(lambda: node(rpc("status", {"id": gid}), "first")["state"] == "cancelled", "first ends")
time.sleep(0.3)
st = rpc("status", {"id": gid})
expect(node(st, "next")["state"] == "pending" and node(st, "next")["paused"], "next held", st)
expect(cpu_ticks(pids) == frozen, "CPU time did not grow while paused")
expect(rpc("pause", {"id": gid}) == {}, "pausing again changes nothing")
expect(rpc("resume", {"id": gid}) == {}, "resume answers {}")
until(lambda: cpu_ticks(pids) > frozen, "CPU time grows again after resume")
until(lambda: node(rpc("status", {"id": gid}), "next")["state"] == "succeeded", "next ran after resume")
st = rpc("status", {"id": gid})
expect("paused" not in node(st, "busy"), "no longer paused", st)
m = call("resume", {"id": gid})
expect(m["error"]["code"] == -32602 and "not paused" in m["error"]["data"]["reason"] and
       m["error"]["data"]["path"] == "params.id", "resume of a graph not paused", m)

# Cancel of a paused job: thawed, it sees SIGTERM and exits through its trap.
rpc("pause", {"id": gid, "node": "busy"})
stable_ticks(pids)
rpc("cancel", {"id": gid})
st = wait(gid)
b = node(st, "busy")
expect(b["state"] == "cancelled" and b["exit_code"] == 3, "the trap ran: exit 3", b)
expect(log_text(gid, "busy") == "got TERM\n", "it got SIGTERM", log_text(gid, "busy"))
expect(marked(tok) == [], "nothing left", marked(tok))

# A subtree: its sibling runs, the subtree holds; a held node cancelled never starts.
gid = submit({"policy": "all_settled", "nodes": [
    {"id": "gate", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
    {"id": "s", "kind": "scope", "after": ["gate"], "always": True, "nodes": [
        {"id": "x", "kind": "exec", "argv": ["true"]}]},
    {"id": "o", "kind": "exec", "after": ["gate"], "always": True, "argv": ["true"]}]})
rpc("pause", {"id": gid, "node": "s"})
rpc("cancel", {"id": gid, "node": "gate"})
until(lambda: node(rpc("status", {"id": gid}), "o")["state"] == "succeeded", "o runs")
st = rpc("status", {"id": gid})
expect(node(st, "s")["state"] == "pending" and node(st, "s/x")["state"] == "pending"
       and node(st, "s")["paused"], "the paused subtree holds", st)
m = call("resume", {"id": gid, "node": "o"})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "params.node", "o not paused", m)
rpc("cancel", {"id": gid, "node": "s"})
st = wait(gid)
expect(node(st, "s/x")["state"] == "cancelled" and node(st, "s/x")["started"] is None,
       "a held node cancelled never started", st)

# Errors.
m = call("pause", {"id": gid})
expect(m["error"]["code"] == -32602 and "has settled" in m["error"]["data"]["reason"], "settled", m)
m = call("pause", {"id": gid, "node": "nope"})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "params.node", "unknown node", m)
expect(error_code("pause", {"id": "0123456789abcdef"}) == -32001, "unknown graph")
expect(error_code("resume", {"id": "0123456789abcdef"}) == -32001, "unknown graph")
m = call("pause", {"id": gid, "extra": 1})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "params.extra", "unknown field", m)
g2 = submit({"nodes": [{"id": "l", "kind": "exec", "argv": ["sleep", "600"]}]})
c = connect_as(65534, 65534, [])
m = c.call("pause", {"id": g2})
c.close()
expect(m["error"]["code"] == -32001, "another user's graph", m)
rpc("cancel", {"id": g2})
wait(g2)
PY

coopd_start
chmod 0711 "$COOPD_TMP"
chmod 0666 "$COOPD_SOCK"
if grep -q "own cgroup under" "$COOPD_LOG"; then
	(echo 'MODE = "cgroup"'; cat "$COOPD_TMP/pause.py") | coopd_py || fail "pause with cgroup.freeze"
fi
coopd_stop
echo "cgroups = off" >"$COOPD_TMP/off.conf"
coopd_start --config "$COOPD_TMP/off.conf"
chmod 0666 "$COOPD_SOCK"
(echo 'MODE = "sigstop"'; cat "$COOPD_TMP/pause.py") | coopd_py || fail "pause with SIGSTOP"
coopd_stop
coopd_pass
