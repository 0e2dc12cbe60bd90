#!/bin/sh
# Exec nodes on the test cluster (docs/slurm.md): exit codes and states,
# the exact argv (spaces, quotes, $, a newline), env and cwd, logs through
# `logs` and `coopctl logs`, the slurm {job_id, state} of status, watch
# and `coopctl status`, sbatch's options, a job Slurm refuses (its
# message), a non-root owner seen by squeue, the refusal of a Slurm node
# by a coopd with slurm = off, and one squeue per poll for all jobs.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require

# Without slurm = on a Slurm node is refused at submit, with the path of
# the placement that put it there.
coopd_start
coopd_py <<'PY' || fail "slurm = off"
m = call("submit", {"graph": {"nodes": [{"id": "s", "kind": "scope", "placement": "slurm",
    "nodes": [{"id": "a", "kind": "exec", "argv": ["true"]}]}]}})
expect(m.get("error", {}).get("code") == -32602, "not refused", m)
expect(m["error"]["data"]["path"] == "nodes[0].placement", "path", m)
expect("slurm = off" in m["error"]["data"]["reason"], "reason", m)
m = call("submit", {"graph": {"nodes": [{"id": "a", "kind": "exec", "argv": ["true"],
    "placement": "slurm", "slurm": {"partition": "debug", "bogus": 1}}]}})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "nodes[0].slurm.bogus",
       "unknown option", m)
PY
coopd_stop

# Wrappers that log each Slurm command line, then run the real one: they
# show what coopd asked (one squeue for all jobs).
mkdir -p "$COOPD_TMP/bin"
for c in sbatch squeue scontrol scancel; do
	real=$(command -v $c) || fail "$c not found"
	cat >"$COOPD_TMP/bin/$c" <<SH
#!/bin/sh
printf '%s\n' "$c \$*" >>"$COOPD_TMP/commands.log"
exec $real "\$@"
SH
	chmod 755 "$COOPD_TMP/bin/$c"
done
touch "$COOPD_TMP/commands.log"
chmod 666 "$COOPD_TMP/commands.log"
coopd_start -c "$(slurm_config "slurm_bin_dir=$COOPD_TMP/bin")"
mkdir -p "$COOPD_TMP/work dir"
coopd_py <<'PY' || fail "exec on Slurm"
import os, subprocess
tmp = os.environ["COOPD_TMP"]
awkward = ["a b", "it's", '"dq"', "$HOME", "line1\nline2", "*", "", "back\\slash"]
g = {"name": "slurm-basic", "placement": "slurm", "policy": "all_settled", "nodes": [
    {"id": "ok", "kind": "exec", "argv": ["/bin/sh", "-c",
        'printf "%s|" "$@"; echo; echo "FOO=$FOO"; echo "pwd=$(pwd)"; echo "job=$COOPD_JOB"; echo to-stderr >&2',
        "argv0"] + awkward,
     "env": {"FOO": "x y $z"}, "cwd": tmp + "/work dir"},
    {"id": "three", "kind": "exec", "argv": ["sh", "-c", "exit 3"]},
    {"id": "sig", "kind": "exec", "argv": ["sh", "-c", "kill -USR1 $$"]},
    {"id": "opts", "kind": "exec", "argv": ["sh", "-c", 'echo "part=$SLURM_JOB_PARTITION cpus=$SLURM_CPUS_PER_TASK"'],
     "slurm": {"partition": "other", "cpus_per_task": 2, "time": "5", "mem": "64M", "nodes": 1}},
    {"id": "nocwd", "kind": "exec", "argv": ["true"], "cwd": tmp + "/does-not-exist"},
    {"id": "refused", "kind": "exec", "argv": ["true"], "slurm": {"partition": "nosuchpart"}},
    {"id": "missing", "kind": "exec", "argv": ["no-such-program-here"]},
]}
c = Conn()
c.result("watch", {})
gid = submit(g)
st = wait(gid)
n = {p: node(st, p) for p in ("ok", "three", "sig", "opts", "nocwd", "refused", "missing")}
expect(n["ok"]["state"] == "succeeded" and n["ok"]["exit_code"] == 0, "ok", n["ok"])
expect(isinstance(n["ok"]["slurm"]["job_id"], int) and n["ok"]["slurm"]["state"] == "COMPLETED",
       "slurm field", n["ok"])
expect(n["ok"]["started"] is not None, "started", n["ok"])
out = log_text(gid, "ok")
lines = out.split("\n")
expect(out.startswith("|".join(awkward) + "|\n"), "argv not exact: %r" % out)
expect("FOO=x y $z" in out, "env", out)
expect("pwd=" + tmp + "/work dir" in out, "cwd", out)
expect("job=%s/1" % gid in out, "job marker", out)
expect(log_text(gid, "ok", "stderr") == "to-stderr\n", "stderr", log_text(gid, "ok", "stderr"))
expect(n["three"]["state"] == "failed" and n["three"]["exit_code"] == 3, "exit 3", n["three"])
expect("FAILED" in n["three"]["error"], "error names the Slurm state", n["three"])
expect(n["sig"]["state"] == "failed" and n["sig"]["signal"] == 10, "signal", n["sig"])
expect(n["opts"]["state"] == "succeeded", "options", n["opts"])
expect(log_text(gid, "opts") == "part=other cpus=2\n", "sbatch options", log_text(gid, "opts"))
jid = n["opts"]["slurm"]["job_id"]
sc = subprocess.run(["scontrol", "-o", "show", "job", str(jid)], capture_output=True, text=True).stdout
expect("Partition=other" in sc and "TimeLimit=00:05:00" in sc and "MinMemoryNode=64M" in sc,
       "scontrol sees the options", sc)
expect(n["nocwd"]["state"] == "failed" and n["nocwd"]["exit_code"] == 126, "bad cwd", n["nocwd"])
expect("does-not-exist" in log_text(gid, "nocwd", "stderr"), "bad cwd message",
       log_text(gid, "nocwd", "stderr"))
expect(n["refused"]["state"] == "failed" and "Slurm refused the job" in n["refused"]["error"]
       and "partition" in n["refused"]["error"].lower(), "sbatch's message", n["refused"])
expect(n["refused"]["started"] is None and "slurm" not in n["refused"], "never ran", n["refused"])
expect(n["missing"]["state"] == "failed" and n["missing"]["exit_code"] == 127, "exec failure", n["missing"])
# The watch stream carried the job id while the node was pending.
seen = {}
while True:
    ev = c.event()["params"]
    if ev["graph"] != gid:
        continue
    seen.setdefault(ev["node"], []).append(ev)
    if ev["node"] == "" or ev["node"] == "/":
        if ev["state"] in FINAL:
            break
ok_ev = seen["ok"]
expect(any(e["state"] == "pending" and "slurm" in e for e in ok_ev), "pending event with slurm", ok_ev)
expect(ok_ev[-1]["state"] == "succeeded" and ok_ev[-1]["slurm"]["state"] == "COMPLETED",
       "final event", ok_ev)
open(tmp + "/gid", "w").write(gid)
PY
gid=$(cat "$COOPD_TMP/gid")
coopd_ctl status "$gid" >"$COOPD_TMP/st.txt" || fail "coopctl status"
grep -Eq '^.*ok +exec +succeeded .*Slurm job [0-9]+ COMPLETED' "$COOPD_TMP/st.txt" ||
	{ cat "$COOPD_TMP/st.txt"; fail "coopctl status shows no Slurm job"; }
coopd_ctl logs "$gid" ok >"$COOPD_TMP/ok.out" || fail "coopctl logs"
grep -q '^FOO=x y \$z$' "$COOPD_TMP/ok.out" || fail "coopctl logs: $(cat "$COOPD_TMP/ok.out")"

# Retries as for local jobs: each attempt is a Slurm job of its own, with
# its own output; a timed-out attempt is retried too (timeout_ms counts
# from the submission, Slurm's queue included: 15 s is far more than
# this one-node cluster takes to start a job).
coopd_py <<'PY' || fail "retries"
import os
tmp = os.environ["COOPD_TMP"]
gid = submit({"placement": "slurm", "policy": "all_settled", "nodes": [
    {"id": "flaky", "kind": "exec", "retries": 2, "retry_delay_ms": 0,
     "argv": ["sh", "-c", "echo try; [ -f %s/flaky ] && exit 0; touch %s/flaky; exit 9" % (tmp, tmp)]},
    {"id": "slow", "kind": "exec", "retries": 1, "retry_delay_ms": 0, "timeout_ms": 15000,
     "grace_ms": 0, "argv": ["sh", "-c", "[ -f %s/slow ] && exit 0; touch %s/slow; exec sleep 300" % (tmp, tmp)]}]})
st = wait(gid)
f, sl = node(st, "flaky"), node(st, "slow")
expect(f["state"] == "succeeded" and [a["exit_code"] for a in f["attempts"]] == [9, 0],
       "flaky: two attempts", f)
expect(f["attempts"][0]["error"] and "FAILED" in f["attempts"][0]["error"], "attempt 1's error", f)
r1 = rpc("logs", {"id": gid, "node": "flaky", "stream": "stdout", "attempt": 1})["data"]
r2 = rpc("logs", {"id": gid, "node": "flaky", "stream": "stdout", "attempt": 2})["data"]
expect(r1 == "try\n" and r2 == "try\n", "logs per attempt", r1, r2)
expect(sl["state"] == "succeeded" and sl["attempts"][0]["timed_out"] is True, "slow: retried after its timeout", sl)
PY

# The example graph of the README runs on the cluster.
coopd_ctl --json submit --wait "$top_srcdir/examples/graphs/slurm.json" >"$COOPD_TMP/ex.json" ||
	fail "examples/graphs/slurm.json: $(cat "$COOPD_TMP/ex.json")"
grep -q '"succeeded"' "$COOPD_TMP/ex.json" || fail "example: $(cat "$COOPD_TMP/ex.json")"

# A non-root owner: Slurm sees that user (squeue while it runs).  The
# socket is opened to everyone in this private directory for it.
chmod 666 "$COOPD_SOCK"
coopd_py <<'PY' || fail "non-root owner"
import pwd, subprocess, time
nb = pwd.getpwnam("nobody")
c = connect_as(nb.pw_uid, nb.pw_gid, [])
gid = c.result("submit", {"graph": {"nodes": [{"id": "n", "kind": "exec", "placement": "slurm",
    "argv": ["sh", "-c", "id -un; sleep 3"]}]}})["id"]
users = ""
for _ in range(600):
    st = c.result("status", {"id": gid})
    s = node(st, "n").get("slurm")
    if s:
        users = subprocess.run(["squeue", "-h", "-j", str(s["job_id"]), "-o", "%u"],
                               capture_output=True, text=True).stdout.strip()
        if users:
            break
    time.sleep(0.05)
expect(users == "nobody", "squeue shows %r" % users)
st = c.result("wait", {"id": gid, "timeout_ms": 60000})
expect(node(st, "n")["state"] == "succeeded", "nobody's job", st)
out = c.result("logs", {"id": gid, "node": "n", "stream": "stdout", "offset": 0})["data"]
expect(out == "nobody\n", "ran as %r" % out)
PY

# One squeue per poll for every job at once: 12 jobs; the command log
# shows each squeue naming all of them, and squeue runs == polls.
coopd_py <<'PY' || fail "one squeue per poll"
import os, re
log = os.environ["COOPD_TMP"] + "/commands.log"
def metric(name):
    text = rpc("metrics", {})["text"]
    m = re.search(r"^%s (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else 0
start = len(open(log).read().splitlines())
polls0 = metric("coopd_slurm_polls_total")
gid = submit({"placement": "slurm", "nodes": [
    {"id": "j%d" % i, "kind": "exec", "argv": ["sleep", "2"]} for i in range(12)]})
st = wait(gid)
expect(st["state"] == "succeeded", "12 jobs", st)
ids = {node(st, "j%d" % i)["slurm"]["job_id"] for i in range(12)}
lines = open(log).read().splitlines()[start:]
sq = [l for l in lines if l.startswith("squeue ")]
sb = [l for l in lines if l.startswith("sbatch ")]
expect(len(sb) == 12, "%d sbatch for 12 jobs" % len(sb))
polls = metric("coopd_slurm_polls_total") - polls0
expect(len(sq) == polls and polls >= 1, "squeue runs %d, polls %d" % (len(sq), polls))
widest = max(len(re.search(r"--jobs=(\S+)", l).group(1).split(",")) for l in sq)
expect(widest == 12, "no squeue asked about all 12 jobs at once (at most %d)" % widest)
expect(all("--noheader --Format=JobID:0|,State:0|,exit_code:0|,UserID:0| " in l
           and "--json" not in l for l in sq), "squeue not asked for the text form", sq)
PY
coopd_stop
coopd_pass
