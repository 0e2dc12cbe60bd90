#!/bin/sh
# exec job logs are created at the first output byte (issue 4: creating
# two files per job was most of coopd's loop time for short jobs), and
# what `logs` answers does not change with that:
#   - a job that writes nothing: both streams read as empty, eof, and no
#     log file is left in the state directory;
#   - a job that writes only to stderr (or only to stdout): that stream
#     has the bytes, the other reads as empty;
#   - output that starts late (after a silent while) is all kept;
#   - a running job whose log file does not exist yet reads as empty and
#     not at eof;
#   - many silent and talking jobs in one graph keep their own logs.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
STATE=$COOPD_STATE TMPD=$COOPD_TMP coopd_py <<'PY' || fail "exec logs"
state = os.environ["STATE"]


def log_files(gid):
    return sorted(f for f in os.listdir(os.path.join(state, "graphs", gid))
                  if f.endswith(".out") or f.endswith(".err"))

st = run({"nodes": [
    {"id": "silent", "kind": "exec", "argv": ["true"]},
    {"id": "err", "kind": "exec", "argv": ["sh", "-c", "echo only-err >&2"]},
    {"id": "out", "kind": "exec", "argv": ["sh", "-c", "echo only-out"]},
    {"id": "late", "kind": "exec", "argv": ["sh", "-c", "sleep 0.3; echo late; echo late-err >&2"]},
    {"id": "fail", "kind": "exec", "argv": ["sh", "-c", "exit 4"]}],
    "policy": "all_settled"})
gid = st["id"]
for s in ("stdout", "stderr"):
    expect(log_text(gid, "silent", s) == "", "a silent job's %s is empty" % s)
    expect(log_text(gid, "fail", s) == "", "a silent failing job's %s is empty" % s)
expect(log_text(gid, "err", "stderr") == "only-err\n", "stderr only: stderr", log_text(gid, "err", "stderr"))
expect(log_text(gid, "err", "stdout") == "", "stderr only: stdout is empty")
expect(log_text(gid, "out", "stdout") == "only-out\n", "stdout only: stdout")
expect(log_text(gid, "out", "stderr") == "", "stdout only: stderr is empty")
expect(log_text(gid, "late") == "late\n" and log_text(gid, "late", "stderr") == "late-err\n",
       "late output kept", log_text(gid, "late"), log_text(gid, "late", "stderr"))
# 5 nodes, 4 files: err's .err, out's .out, late's two (no file for silence).
files = log_files(gid)
expect(len(files) == 4, "log files only for streams that had output", files)

# A running job that has not written yet: empty, not at eof.
fifo = os.path.join(os.environ["TMPD"], "fifo")
os.mkfifo(fifo)
g2 = submit({"nodes": [{"id": "wait", "kind": "exec",
                        "argv": ["sh", "-c", "read x < \"$0\"; echo done", fifo]}]})
r = rpc("logs", {"id": g2, "node": "wait", "stream": "stdout", "offset": 0})
expect(r["data"] == "" and r["eof"] is False and r["next_offset"] == 0,
       "running job without output yet", r)
with open(fifo, "w") as f:
    f.write("go\n")
st2 = wait(g2)
expect(st2["state"] == "succeeded", "fifo job", st2)
expect(log_text(g2, "wait") == "done\n", "output after the wait", log_text(g2, "wait"))

# Many jobs, every other one silent, 2 at a time.
nodes = []
for i in range(40):
    argv = ["true"] if i % 2 else ["sh", "-c", "echo o%d; echo e%d >&2" % (i, i)]
    nodes.append({"id": "j%d" % i, "kind": "exec", "argv": argv})
st3 = run({"max_parallel": 2, "nodes": nodes})
expect(st3["state"] == "succeeded", "40 jobs", st3)
for i in range(40):
    want_o = "" if i % 2 else "o%d\n" % i
    want_e = "" if i % 2 else "e%d\n" % i
    expect(log_text(st3["id"], "j%d" % i) == want_o, "j%d stdout" % i, log_text(st3["id"], "j%d" % i))
    expect(log_text(st3["id"], "j%d" % i, "stderr") == want_e, "j%d stderr" % i)
expect(len(log_files(st3["id"])) == 40, "20 talking jobs, 2 files each", log_files(st3["id"]))
PY
coopd_stop
coopd_pass
