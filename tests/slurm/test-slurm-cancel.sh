#!/bin/sh
# Cancellation and the graph semantics across Slurm and local nodes
# (docs/slurm.md "Cancellation"): a cancelled Slurm job sees SIGTERM first
# (its trap writes a marker), one that ignores it gets SIGKILL after
# grace_ms; timeout_ms; Slurm's own time limit (TIMEOUT); a job cancelled
# by scancel outside coopd; a cancel while Slurm still queues the job;
# after between local and Slurm nodes; fail_fast and race across them.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require

coopd_start -c "$(slurm_config)"
cat >"$COOPD_TMP/trap.sh" <<'SH'
#!/bin/sh
# $1: marker file.  Reports TERM; $2 = ignore: keeps running after it.
trap 'echo term >> "$1"; [ "$2" = ignore ] || exit 7' TERM
echo started > "$1.started"
while :; do sleep 0.1; done
SH
chmod 755 "$COOPD_TMP/trap.sh"

coopd_py <<'PY' || fail "cancel"
import os, subprocess, time
tmp = os.environ["COOPD_TMP"]
def until(cond, what):
    for _ in range(1200):
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
def sstate(jid):
    out = subprocess.run(["scontrol", "-o", "show", "job", str(jid)], capture_output=True,
                         text=True).stdout
    return out.split("JobState=")[1].split()[0] if "JobState=" in out else ""

# 1. TERM first, the job exits on it: cancelled, the marker says term.
gid = submit({"nodes": [{"id": "t", "kind": "exec", "placement": "slurm", "grace_ms": 60000,
    "argv": [tmp + "/trap.sh", tmp + "/m1"]}]})
until(lambda: os.path.exists(tmp + "/m1.started"), "the job to start")
# coopd learns it from squeue, polled every slurm_poll_ms: a moment after
# the job's first line.
until(lambda: node(rpc("status", {"id": gid}), "t")["state"] == "running",
      "running while Slurm runs it")
rpc("cancel", {"id": gid})
st = wait(gid)
t = node(st, "t")
expect(t["state"] == "cancelled" and t["cancel"]["reason"] == "client", "cancelled", t)
expect(open(tmp + "/m1").read() == "term\n", "TERM not seen first")
expect(t["cancel"]["acknowledged"] is not None, "acknowledged", t)
expect(sstate(t["slurm"]["job_id"]) not in ("RUNNING", "PENDING", "COMPLETING"), "Slurm says ended")

# 2. TERM ignored: SIGKILL after grace_ms (the job never exits on its own).
gid = submit({"nodes": [{"id": "k", "kind": "exec", "placement": "slurm", "grace_ms": 1500,
    "argv": [tmp + "/trap.sh", tmp + "/m2", "ignore"]}]})
until(lambda: os.path.exists(tmp + "/m2.started"), "the job to start")
rpc("cancel", {"id": gid})
st = wait(gid)
k = node(st, "k")
expect(k["state"] == "cancelled", "killed job cancelled", k)
expect(open(tmp + "/m2").read().startswith("term\n"), "TERM before KILL")
jid = k["slurm"]["job_id"]
expect(sstate(jid) not in ("RUNNING", "COMPLETING"), "the job is gone from Slurm")
# The job ignores TERM and never exits on its own, so its end is the KILL;
# that KILL came only once the grace had passed (a lower bound, not a speed).
from datetime import datetime
def ms(t):
    return datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
held = ms(k["cancel"]["acknowledged"]) - ms(k["cancel"]["requested"])
expect(held >= 1500 - 5, "KILL only after grace_ms (acknowledged %.0f ms after the request)"
       % held, k)

# 3. timeout_ms: libcoop's timeout cancels the Slurm job the same way.
gid = submit({"nodes": [{"id": "to", "kind": "exec", "placement": "slurm", "timeout_ms": 3000,
    "grace_ms": 100, "argv": ["sleep", "300"]}]})
st = wait(gid)
to = node(st, "to")
expect(to["state"] == "cancelled" and to["cancel"]["reason"] == "timeout", "timeout_ms", to)

# 4. Slurm's own time limit is a failure naming TIMEOUT.  Its smallest
#    limit is a minute, and slurmctld checks limits every 30 s or so.
gid = submit({"nodes": [{"id": "lim", "kind": "exec", "placement": "slurm",
    "slurm": {"time": "1"}, "argv": ["sleep", "600"]}]})
st = Conn(timeout=400).result("wait", {"id": gid, "timeout_ms": 300000})
lim = node(st, "lim")
expect(lim["state"] == "failed" and "TIMEOUT" in (lim["error"] or ""), "Slurm TIMEOUT", lim)

# 5. scancel from outside coopd: failed, the error says so.
gid = submit({"nodes": [{"id": "x", "kind": "exec", "placement": "slurm", "argv": ["sleep", "300"]}]})
until(lambda: node(rpc("status", {"id": gid}), "x")["state"] == "running", "x to run")
jid = node(rpc("status", {"id": gid}), "x")["slurm"]["job_id"]
subprocess.run(["scancel", str(jid)], check=True)
st = wait(gid)
x = node(st, "x")
expect(x["state"] == "failed" and "CANCELLED (not by coopd)" in x["error"], "external scancel", x)

# 6. Cancelled while Slurm still queues it (held): cancelled, never started.
gid = submit({"nodes": [{"id": "q", "kind": "exec", "placement": "slurm",
    "slurm": {"nodes": 1, "constraint": "nosuchfeature"}, "argv": ["true"]}]})
st = wait(gid)
q = node(st, "q")
expect(q["state"] == "failed", "an impossible constraint is refused", q)
gid = submit({"nodes": [{"id": "q", "kind": "exec", "placement": "slurm",
    "slurm": {"time": "1", "cpus_per_task": 2}, "argv": ["sleep", "300"]},
    {"id": "q2", "kind": "exec", "placement": "slurm", "after": ["q"], "argv": ["true"]}]})
until(lambda: "slurm" in node(rpc("status", {"id": gid}), "q"), "q to be submitted")
jid = node(rpc("status", {"id": gid}), "q")["slurm"]["job_id"]
subprocess.run(["scontrol", "hold", str(jid)], check=True)
st = rpc("status", {"id": gid})
rpc("cancel", {"id": gid})
st = wait(gid)
q = node(st, "q")
expect(q["state"] == "cancelled", "held job cancelled", q)
expect(q["started"] is None or q["slurm"]["state"] != "PENDING", "pending job: never started", q)
expect(node(st, "q2")["state"] in ("skipped", "cancelled"), "dependent", st)
expect(sstate(jid) == "CANCELLED", "Slurm cancelled the queued job: " + sstate(jid))

# 7. after across placements, fail_fast and race across them.
gid = submit({"policy": "all_settled", "nodes": [
    {"id": "local1", "kind": "exec", "argv": ["sh", "-c", "echo one > " + tmp + "/chain"]},
    {"id": "remote", "kind": "exec", "placement": "slurm", "after": ["local1"],
     "argv": ["sh", "-c", "cat " + tmp + "/chain; echo two >> " + tmp + "/chain"]},
    {"id": "local2", "kind": "exec", "after": ["remote"], "argv": ["cat", tmp + "/chain"]}]})
st = wait(gid)
expect(st["state"] == "succeeded", "chain", st)
expect(log_text(gid, "local2") == "one\ntwo\n", "order", log_text(gid, "local2"))
expect(node(st, "remote")["started"] >= node(st, "local1")["finished"], "after", st)

gid = submit({"policy": "fail_fast", "nodes": [
    {"id": "bad", "kind": "exec", "placement": "slurm", "argv": ["sh", "-c", "sleep 1; exit 5"]},
    {"id": "loc", "kind": "exec", "argv": ["sleep", "300"]}]})
st = wait(gid)
expect(node(st, "bad")["state"] == "failed", "bad", st)
expect(node(st, "loc")["state"] == "cancelled" and
       node(st, "loc")["cancel"]["reason"] == "sibling_failed", "local sibling cancelled", st)

gid = submit({"policy": "fail_fast", "nodes": [
    {"id": "bad", "kind": "exec", "argv": ["sh", "-c", "sleep 1; exit 5"]},
    {"id": "rem", "kind": "exec", "placement": "slurm", "argv": ["sleep", "300"]}]})
st = wait(gid)
expect(node(st, "rem")["state"] == "cancelled" and
       node(st, "rem")["cancel"]["reason"] == "sibling_failed", "Slurm sibling cancelled", st)
expect(sstate(node(st, "rem")["slurm"]["job_id"]) not in ("RUNNING", "PENDING"), "gone from Slurm")

gid = submit({"policy": "race", "nodes": [
    {"id": "fast", "kind": "exec", "placement": "slurm", "argv": ["true"]},
    {"id": "slow", "kind": "exec", "argv": ["sleep", "300"]}]})
st = wait(gid)
expect(st["state"] == "succeeded" and node(st, "fast")["state"] == "succeeded", "race won", st)
expect(node(st, "slow")["cancel"]["reason"] == "race_lost", "local loser", st)
gid = submit({"policy": "race", "nodes": [
    {"id": "fast", "kind": "exec", "argv": ["sh", "-c", "sleep 2"]},
    {"id": "slow", "kind": "exec", "placement": "slurm", "argv": ["sleep", "300"]}]})
st = wait(gid)
expect(node(st, "slow")["state"] == "cancelled" and
       node(st, "slow")["cancel"]["reason"] == "race_lost", "Slurm loser", st)

# 8. max_parallel holds Slurm jobs back like local ones: 1 at a time.
gid = submit({"max_parallel": 1, "placement": "slurm", "nodes": [
    {"id": "p%d" % i, "kind": "exec", "argv": ["sh", "-c", "sleep 1"]} for i in range(3)]})
st = wait(gid)
ps = sorted((node(st, "p%d" % i) for i in range(3)), key=lambda n: n["started"])
for a, b in zip(ps, ps[1:]):
    expect(b["started"] >= a["finished"], "max_parallel 1 overlapped", a, b)
PY
coopd_stop
coopd_pass
