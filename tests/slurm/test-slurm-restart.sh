#!/bin/sh
# Restarts (docs/slurm.md "Restarts"): the Slurm
# job id is in the database before the node is reported running; after
# kill -9 of coopd while one Slurm job runs, another queues and a local job
# runs (so the graph cannot go on), the next coopd reports the graph
# interrupted and cancels both Slurm jobs: no job is left running that
# coopd cannot account for.  A graceful stop
# cancels running Slurm jobs like local ones (SIGTERM first).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require

conf=$(slurm_config)
coopd_start -c "$conf"
coopd_py <<'PY' || fail "before the crash"
import os, subprocess, time
tmp, state = os.environ["COOPD_TMP"], os.environ["COOPD_STATE"]
def until(cond, what):
    for _ in range(2400):
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
# A local job runs too: its processes die with coopd, so the graph cannot
# go on after the restart (test-slurm-reattach.sh is the graph that can).
gid = submit({"policy": "all_settled", "placement": "slurm", "nodes": [
    {"id": "run", "kind": "exec", "argv": ["sh", "-c", "echo up > " + tmp + "/run.up; exec sleep 600"]},
    {"id": "queued", "kind": "exec", "argv": ["sleep", "600"]},
    {"id": "loc", "kind": "exec", "placement": "local", "argv": ["sleep", "600"]}]})
until(lambda: all("slurm" in node(rpc("status", {"id": gid}), n) for n in ("run", "queued")),
      "both jobs submitted")
q = node(rpc("status", {"id": gid}), "queued")["slurm"]["job_id"]
subprocess.run(["scontrol", "hold", str(q)], check=True)
until(lambda: node(rpc("status", {"id": gid}), "run")["state"] == "running", "run to run")
r = node(rpc("status", {"id": gid}), "run")["slurm"]["job_id"]
# Durable before running: the database holds both ids already.
import sqlite3
db = sqlite3.connect("file:%s/coopd.db?mode=ro" % state, uri=True)
ids = {row[0] for row in db.execute(
    "SELECT slurm_job_id FROM nodes JOIN graphs ON nodes.graph = graphs.seq"
    " WHERE graphs.id = ? AND slurm_job_id IS NOT NULL", (gid,))}
db.close()
expect({r, q} <= ids, "ids not in the database: %r" % ids)
open(tmp + "/ids", "w").write("%s %d %d\n" % (gid, r, q))
PY
coopd_kill9
read -r gid run_id queued_id <"$COOPD_TMP/ids"
[ "$(slurm_job_state "$run_id")" = RUNNING ] || fail "job $run_id should still run without coopd"
coopd_start -c "$conf"
slurm_wait_gone "$run_id" || fail "job $run_id left running after the restart"
slurm_wait_gone "$queued_id" || fail "job $queued_id left queued after the restart"
[ "$(slurm_job_state "$run_id")" = CANCELLED ] || fail "run: $(slurm_job_state "$run_id")"
[ "$(slurm_job_state "$queued_id")" = CANCELLED ] || fail "queued: $(slurm_job_state "$queued_id")"
GID=$gid coopd_py <<'PY' || fail "after the restart"
st = rpc("status", {"id": os.environ["GID"]})
expect(st["state"] == "interrupted", "graph", st)
expect(node(st, "run")["slurm"]["job_id"] > 0, "the id survived the restart", st)
PY
grep -q "cancelling Slurm job $run_id" "$COOPD_LOG" || fail "no log of the cancel"

# A graceful stop: the running job gets TERM (its trap writes a marker).
cat >"$COOPD_TMP/trap.sh" <<'SH'
#!/bin/sh
trap 'echo term > "$1"; exit 0' TERM
echo up > "$1.up"
while :; do sleep 0.1; done
SH
chmod 755 "$COOPD_TMP/trap.sh"
coopd_py <<'PY' || fail "graceful stop"
import os, time
tmp = os.environ["COOPD_TMP"]
gid = submit({"nodes": [{"id": "t", "kind": "exec", "placement": "slurm",
    "argv": [tmp + "/trap.sh", tmp + "/stop.marker"]}]})
for _ in range(2400):
    if os.path.exists(tmp + "/stop.marker.up"):
        break
    time.sleep(0.05)
PY
coopd_stop
[ "$(cat "$COOPD_TMP/stop.marker" 2>/dev/null)" = term ] || fail "the job did not see TERM at the stop"
coopd_pass
