#!/bin/sh
# Restarts re-attach (docs/slurm.md "Restarts"): kill -9 of coopd while
# one Slurm job runs, one is held in the queue and one ends while coopd is
# down; the next coopd re-attaches to the same Slurm jobs (no new sbatch
# for them), the one that ended gets its real final state (its exit code),
# the graph goes on (a local node after them runs) to its normal end, not
# `interrupted`.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require

conf=$(slurm_config)
coopd_start -c "$conf"
coopd_py <<'PY' || fail "before the crash"
import os, subprocess, time
tmp = os.environ["COOPD_TMP"]
def until(cond, what):
    for _ in range(2400):
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
gid = submit({"policy": "all_settled", "nodes": [
    {"id": "done", "kind": "exec", "argv": ["true"]},
    {"id": "sl", "kind": "scope", "placement": "slurm", "policy": "all_settled",
     "after": ["done"], "nodes": [
        {"id": "run", "kind": "exec",
         "argv": ["sh", "-c", "echo up > %s/run.up; while [ ! -f %s/go ]; do sleep 0.1; done; echo ran" % (tmp, tmp)]},
        {"id": "held", "kind": "exec", "argv": ["sh", "-c", "echo held-ran"]},
        {"id": "ends", "kind": "exec",
         "argv": ["sh", "-c", "while [ ! -f %s/end ]; do sleep 0.1; done; exit 4" % tmp]}]},
    {"id": "after", "kind": "exec", "after": ["sl"], "always": True, "argv": ["echo", "after ran"]}]})
def slurm_of(n):
    return node(rpc("status", {"id": gid}), n).get("slurm")
until(lambda: all(slurm_of("sl/" + n) for n in ("run", "held", "ends")), "all submitted")
held = slurm_of("sl/held")["job_id"]
subprocess.run(["scontrol", "hold", str(held)], check=True)
until(lambda: os.path.exists(tmp + "/run.up"), "run to start")
until(lambda: node(rpc("status", {"id": gid}), "sl/run")["state"] == "running", "run reported")
open(tmp + "/ids", "w").write("%s %d %d %d\n" % (gid, slurm_of("sl/run")["job_id"], held,
                                                  slurm_of("sl/ends")["job_id"]))
PY
coopd_kill9
read -r gid run_id held_id ends_id <"$COOPD_TMP/ids"
# While coopd is down: "ends" ends (exit 4), the held job is released.
touch "$COOPD_TMP/end"
slurm_wait_gone "$ends_id" || fail "ends did not end"
scontrol release "$held_id" || fail "release"
coopd_start -c "$conf"
GID=$gid RUN=$run_id HELD=$held_id ENDS=$ends_id coopd_py <<'PY' || fail "after the restart"
import os, re, time
tmp, gid = os.environ["COOPD_TMP"], os.environ["GID"]
st = rpc("status", {"id": gid})
expect(st["state"] == "running", "the graph goes on after the restart", st)
open(tmp + "/go", "w").close()
st = wait(gid)
expect(st["state"] == "failed", "ends failed, so all_settled fails", st)
run, held, ends = (node(st, "sl/" + n) for n in ("run", "held", "ends"))
expect(run["state"] == "succeeded" and run["slurm"]["job_id"] == int(os.environ["RUN"]),
       "run re-attached", run)
expect(held["state"] == "succeeded" and held["slurm"]["job_id"] == int(os.environ["HELD"]),
       "held re-attached", held)
expect(ends["state"] == "failed" and ends["exit_code"] == 4 and
       ends["slurm"]["job_id"] == int(os.environ["ENDS"]), "ends: its real end", ends)
expect(node(st, "after")["state"] == "succeeded", "the local node after them ran", st)
expect(log_text(gid, "sl/run") == "ran\n", "run's output", log_text(gid, "sl/run"))
text = rpc("metrics", {})["text"]
m = re.search(r'^coopd_slurm_command_seconds_count\{command="sbatch"\} (\d+)', text, re.M)
expect(m and int(m.group(1)) == 0, "jobs were submitted again after the restart", text[-2000:])
PY
coopd_stop
coopd_pass
