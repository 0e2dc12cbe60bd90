#!/bin/sh
# pause/resume of Slurm nodes (docs/protocol.md, `pause`): a Slurm node of a
# paused graph is not submitted to Slurm while the graph is paused (no job
# id, `pending`, `paused`), and is submitted and runs once resumed; a held
# Slurm node cancelled (itself: an `always` node is shielded from the
# graph's cancel) never reaches Slurm.  A node already submitted but not yet
# started by Slurm (its partition is down) is held in Slurm's queue while
# paused (`scontrol hold`: it does not start when the partition comes back)
# and released by resume (`scontrol release`), then runs.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require

coopd_start -c "$(slurm_config)"
coopd_py <<'PY' || fail "pause"
def until(cond, what):
    for _ in range(1200):
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
G = {"nodes": [{"id": "gate", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
               {"id": "s", "kind": "exec", "placement": "slurm", "after": ["gate"], "always": True,
                "argv": ["sh", "-c", "echo on slurm"]}]}
gid = submit(G)
rpc("pause", {"id": gid})
rpc("cancel", {"id": gid, "node": "gate"})
until(lambda: node(rpc("status", {"id": gid}), "gate")["state"] == "cancelled", "gate ends")
time.sleep(1)
s = node(rpc("status", {"id": gid}), "s")
expect(s["state"] == "pending" and s.get("paused") is True and not s.get("slurm"),
       "held, never submitted", s)
rpc("resume", {"id": gid})
st = wait(gid, timeout_ms=120000)
s = node(st, "s")
expect(s["state"] == "succeeded" and log_text(gid, "s") == "on slurm\n", "ran after resume", s)

gid = submit(G)
rpc("pause", {"id": gid})
rpc("cancel", {"id": gid, "node": "gate"})
until(lambda: node(rpc("status", {"id": gid}), "gate")["state"] == "cancelled", "gate ends")
time.sleep(1)
rpc("cancel", {"id": gid, "node": "s"})
s = node(wait(gid, timeout_ms=120000), "s")
expect(s["state"] == "cancelled" and s["started"] is None and not s.get("slurm"),
       "a held Slurm node cancelled never reached Slurm", s)
PY

# A submitted, still queued job: held while paused, released by resume.
PART=$(sinfo -h -o %P | tr -d '*' | head -n 1)
[ -n "$PART" ] || fail "no partition"
scontrol update PartitionName="$PART" State=DOWN || fail "partition down"
PART=$PART coopd_py <<'PY'
import subprocess
part = os.environ["PART"]
def until(cond, what):
    for _ in range(1200):
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
def show(jid):
    return subprocess.run(["scontrol", "-o", "show", "job", str(jid)],
                          capture_output=True, text=True).stdout
def field(text, key):
    for w in text.split():
        if w.startswith(key + "="):
            return w[len(key) + 1:]
    return ""
try:
    gid = submit({"nodes": [{"id": "q", "kind": "exec", "placement": "slurm",
                             "argv": ["sh", "-c", "echo released"]}]})
    until(lambda: (node(rpc("status", {"id": gid}), "q").get("slurm") or {}).get("job_id"),
          "a Slurm job id")
    jid = node(rpc("status", {"id": gid}), "q")["slurm"]["job_id"]
    expect(field(show(jid), "JobState") == "PENDING", "queued while the partition is down",
           show(jid))
    rpc("pause", {"id": gid})
    until(lambda: field(show(jid), "Reason").startswith("JobHeld"), "the job held in Slurm")
    subprocess.run(["scontrol", "update", "PartitionName=" + part, "State=UP"], check=True)
    # Up again: an unheld job would be scheduled now; a held one stays queued.
    for _ in range(3):
        subprocess.run(["scontrol", "reconfigure"], capture_output=True)
        time.sleep(1)
    text = show(jid)
    expect(field(text, "JobState") == "PENDING" and field(text, "Reason").startswith("JobHeld"),
           "still held with its partition up", text)
    q = node(rpc("status", {"id": gid}), "q")
    expect(q["state"] == "pending" and q.get("paused") is True, "pending and paused", q)
    rpc("resume", {"id": gid})
    st = wait(gid, timeout_ms=120000)
    q = node(st, "q")
    expect(q["state"] == "succeeded" and log_text(gid, "q") == "released\n",
           "released by resume, then ran", q)
finally:
    subprocess.run(["scontrol", "update", "PartitionName=" + part, "State=UP"])
PY
rc=$?
scontrol update PartitionName="$PART" State=UP
[ "$rc" -eq 0 ] || fail "hold of a queued Slurm job"
coopd_stop
coopd_pass
