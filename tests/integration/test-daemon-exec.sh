#!/bin/sh
# exec jobs: minimal environment plus the node's env, cwd, no shell, stdin
# from /dev/null, output captured (bounded), exit codes and signals,
# spawn errors.  The job's COOPD_JOB is its own marker GRAPH/NODEIDX, and a
# node's env that sets COOPD_JOB is refused at submit (-32602 at
# nodes[i].env.COOPD_JOB, coopd.graph(5)), also a big submit parsed off
# the loop and a nested node; nothing of such a graph runs.  A graph
# stored with COOPD_JOB in its env (by a coopd from before it was
# reserved: made here by editing coopd.db) is not damaged after a crash
# and restart: the settled one's status reads back, the one that was
# running is interrupted (not moved aside); its rerun is refused.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

mkdir -p "$COOPD_TMP/work"
cat >"$COOPD_TMP/coopd.conf" <<CONF
# small log cap to test the bound
log_cap_bytes = 1000
CONF
# a low soft limit on open files (systemd's default is 1024): coopd raises
# it to the hard limit, so 150 jobs at once (600 fds) still run.  (Not
# under valgrind, whose fd table is fixed by the limit it starts with.)
if [ -z "${TEST_COOPD_WRAPPER:-}" ] &&
	{ [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 2048 ]; }; then
	ulimit -Sn 256
fi
coopd_start --config "$COOPD_TMP/coopd.conf"
WORK=$COOPD_TMP/work coopd_py <<'PY' || fail "exec"
work = os.environ["WORK"]

os.environ["COOPD_TEST_LEAK"] = "must-not-leak"
st = run({"nodes": [
    {"id": "env", "kind": "exec", "argv": ["env"], "env": {"FOO": "bar baz", "LANG": "C"}},
    {"id": "pwd", "kind": "exec", "argv": ["pwd"], "cwd": work},
    {"id": "noshell", "kind": "exec", "argv": ["echo", "$HOME", "*", "a;b"]},
    {"id": "stdin", "kind": "exec", "argv": ["cat"]},
    {"id": "pgrp", "kind": "exec", "argv": ["sh", "-c", "ps -o pgid= -p $$; echo $$"]},
    {"id": "big", "kind": "exec", "argv": ["sh", "-c", "yes x | head -c 5000"]}]})
expect(st["state"] == "succeeded", "exec graph", st)
gid = st["id"]
env = dict(l.split("=", 1) for l in log_text(gid, "env").splitlines())
expect(env.get("FOO") == "bar baz" and env.get("LANG") == "C", "node env", env)
expect("PATH" in env and "HOME" in env, "minimal env", env)
expect("COOPD_TEST_LEAK" not in env and "COOPD_SOCK" not in env, "no daemon env", env)
expect(env.get("COOPD_JOB") == gid + "/1", "the job's own marker (graph/node index)", env)
expect(len(env) <= 8, "minimal env is small", env)
expect(log_text(gid, "pwd") == work + "\n", "cwd", log_text(gid, "pwd"))
expect(log_text(gid, "noshell") == "$HOME * a;b\n", "no shell", log_text(gid, "noshell"))
expect(log_text(gid, "stdin") == "", "stdin is /dev/null")
pg, pid = log_text(gid, "pgrp").split()
expect(pg == pid, "own process group", pg, pid)
big = log_text(gid, "big")
expect(len(big) == 1000 and set(big) == {"x", "\n"}, "log capped at log_cap_bytes", len(big))
expect(node(st, "big")["log_dropped"] == {"stdout": 4000, "stderr": 0}, "dropped bytes reported",
       node(st, "big"))
expect("log_dropped" not in node(st, "env"), "nothing dropped, nothing said", node(st, "env"))

# exit codes, signals, spawn errors
st = run({"policy": "all_settled", "nodes": [
    {"id": "e3", "kind": "exec", "argv": ["sh", "-c", "exit 3"]},
    {"id": "sig", "kind": "exec", "argv": ["sh", "-c", "kill -9 $$"]},
    {"id": "nf", "kind": "exec", "argv": ["/nonexistent/cmd"]},
    {"id": "nfp", "kind": "exec", "argv": ["no-such-command-xyz"]},
    {"id": "badcwd", "kind": "exec", "argv": ["true"], "cwd": "/nonexistent-dir"},
    {"id": "bg", "kind": "exec", "argv": ["sh", "-c", "(sleep 0.2; echo late) & echo early"]}]})
expect(node(st, "e3")["exit_code"] == 3 and node(st, "e3")["state"] == "failed", "exit 3", st)
s = node(st, "sig")
expect(s["signal"] == 9 and s["exit_code"] is None and s["state"] == "failed", "signal", s)
for k in ("nf", "nfp", "badcwd"):
    n = node(st, k)
    expect(n["state"] == "failed" and n["error"], "spawn error " + k, n)
expect("No such file" in node(st, "nfp")["error"], "command not found", st)
# the job settles only when its whole group is gone: the background
# child's output is there
expect(log_text(st["id"], "bg") == "early\nlate\n", "waited for the group", log_text(st["id"], "bg"))
expect(node(st, "bg")["state"] == "succeeded", "bg succeeded", st)
# many jobs at once
st = run({"nodes": [{"id": "j%d" % i, "kind": "exec", "argv": ["sleep", "1"]} for i in range(150)]})
expect(st["state"] == "succeeded", "150 exec jobs at once", [n for n in st["root"]["nodes"]
                                                             if n["state"] != "succeeded"][:3])

# COOPD_JOB is coopd's: a job may not set it (it would hide its processes
# from the crash-recovery sweep, or pass them off as another graph's).
REASON = ("COOPD_JOB is reserved: coopd sets it to the job's marker (GRAPH/NODE), "
          "by which it finds the job's processes")
before = len(rpc("list", {"all": True})["graphs"])
def refused(graph, path, what):
    m = call("submit", {"graph": graph})
    e = m.get("error", {})
    expect(e.get("code") == -32602 and e.get("data") == {"path": path, "reason": REASON},
           what, m)
refused({"nodes": [{"id": "e", "kind": "exec", "argv": ["true"],
                    "env": {"COOPD_JOB": "deadbeefdeadbeef/1"}}]},
        "nodes[0].env.COOPD_JOB", "env COOPD_JOB refused")
refused({"nodes": [{"id": "t", "kind": "task", "fn": "noop"},
                   {"id": "s", "kind": "scope", "nodes": [
                       {"id": "e", "kind": "exec", "argv": ["true"],
                        "env": {"LANG": "C", "COOPD_JOB": gid + "/1"}}]}]},
        "nodes[1].nodes[0].env.COOPD_JOB", "a nested node's, naming another graph's job")
# Over parse_thread_bytes (256 KiB): validated on the parse thread.
refused({"nodes": [{"id": "e", "kind": "exec", "argv": ["true"],
                    "env": {"PAD": "x" * 300000, "COOPD_JOB": ""}}]},
        "nodes[0].env.COOPD_JOB", "a big submit's, parsed off the loop")
expect(len(rpc("list", {"all": True})["graphs"]) == before, "no graph was created")
st = run({"nodes": [{"id": "e", "kind": "exec", "argv": ["env"],
                     "env": {"COOPD_JOBS": "a", "coopd_job": "b"}}]})
env = dict(l.split("=", 1) for l in log_text(st["id"], "e").splitlines())
expect(st["state"] == "succeeded" and env.get("COOPD_JOB") == st["id"] + "/1" and
       env.get("COOPD_JOBS") == "a" and env.get("coopd_job") == "b",
       "names merely like it are the job's", st, env)
ping_ok()
PY

# Graphs stored before COOPD_JOB was reserved: COOPD_JOX, then renamed in
# the database while coopd is down (the same length, so bytes still
# match).
IDS=$COOPD_TMP/old-ids coopd_py <<'PY' || fail "graphs to age"
settled = run({"nodes": [{"id": "e", "kind": "exec", "argv": ["true"],
                          "env": {"COOPD_JOX": "deadbeefdeadbeef/1"}}]})
expect(settled["state"] == "succeeded", "the settled one", settled)
running = submit({"nodes": [{"id": "hold", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
                            {"id": "e", "kind": "exec", "argv": ["true"],
                             "env": {"COOPD_JOX": "x"}}]})
with open(os.environ["IDS"], "w") as f:
    f.write("%s %s\n" % (settled["id"], running))
PY
coopd_kill9
python3 - "$COOPD_STATE/coopd.db" $(cat "$COOPD_TMP/old-ids") <<'PY' || fail "edit coopd.db"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE graphs SET doc = replace(doc, 'COOPD_JOX', 'COOPD_JOB') WHERE id IN (?, ?)",
               sys.argv[2:4]).rowcount
db.commit()
assert n == 2, n
PY
coopd_start --config "$COOPD_TMP/coopd.conf"
LOG=$COOPD_LOG IDS=$COOPD_TMP/old-ids coopd_py <<'PY' || fail "graphs stored with COOPD_JOB"
settled, running = open(os.environ["IDS"]).read().split()
st = rpc("status", {"id": settled})
expect(st["state"] == "succeeded" and node(st, "e")["state"] == "succeeded",
       "the settled graph reads back", st)
st = rpc("status", {"id": running})
expect(st["state"] == "interrupted", "the running one was interrupted, not moved aside", st)
expect("damaged" not in open(os.environ["LOG"]).read(), "nothing damaged")
for gid, path in ((settled, "nodes[0].env.COOPD_JOB"), (running, "nodes[1].env.COOPD_JOB")):
    m = call("rerun", {"id": gid})
    e = m.get("error", {})
    expect(e.get("code") == -32602 and e.get("data", {}).get("path") == path,
           "its rerun is refused at the key", m)
PY
coopd_stop
coopd_pass
