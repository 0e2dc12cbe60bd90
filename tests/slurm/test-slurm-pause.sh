#!/bin/sh
# pause/resume of Slurm nodes (docs/protocol.md, `pause`): a Slurm node of a
# paused graph is not submitted to Slurm while the graph is paused (no job
# id, `pending`, `paused`), and is submitted and runs once resumed; a held
# Slurm node cancelled (itself: an `always` node is shielded from the
# graph's cancel) never reaches Slurm.
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
coopd_stop
coopd_pass
