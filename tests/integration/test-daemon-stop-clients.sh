#!/bin/sh
# Clients during a graceful stop (issue 18, defect 4): SIGTERM to coopd
# while `coopctl wait` and `coopctl watch` follow a graph, and a raw client
# has a `wait` in flight and a `watch` on one connection.  The graph is
# cancelled with reason `shutdown`; coopd writes the final `wait` answers
# and the graph's last events before it closes the connections; coopctl
# wait prints the final state and exits 1 (cancelled) without a "closed the
# connection" error, coopctl watch prints the settled root line and exits 0.
#
# No timing: the graph holds an exec job that ignores SIGTERM and ends only
# when the test writes to a FIFO, so coopd cannot finish stopping before
# the test has checked (through the raw connection, which coopd still
# serves while it stops) that every client's requests have been read.
. "$(dirname "$0")/../lib-coopd.sh"

mkfifo "$COOPD_TMP/release" || fail "mkfifo"
export COOPCTL_BIN
coopd_start
export COOPD_PID
coopd_py <<'PYEOF' || fail "clients during the stop"
import signal, subprocess

fifo = os.path.join(os.environ["COOPD_TMP"], "release")
g = {"name": "held", "nodes": [
    {"id": "hold", "kind": "exec", "grace_ms": 600000,
     "argv": ["sh", "-c", 'trap "" TERM; read x < "$1"', "hold", fifo]},
    {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}
gid = submit(g)

def metric(c, method):
    text = c.result("metrics")["text"]
    total = 0
    for line in text.splitlines():
        if line.startswith('coopd_requests_total{method="%s",' % method):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total

# The raw client: a wait in flight and a watch, on one connection; the ping
# after them proves both lines were read.
raw = Conn(timeout=600)
raw.send("wait", {"id": gid}, id=1)
raw.send("watch", {"id": gid}, id=2)
expect(raw.answer(2).get("result") == {}, "watch answered", None)
expect(raw.answer(raw.send("ping")).get("result") == {}, "ping", None)
watch0 = metric(raw, "watch")
wait0 = metric(raw, "wait")

ctl = [os.environ["COOPCTL_BIN"], "--socket", SOCK]
pw = subprocess.Popen(ctl + ["watch", gid], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)
pt = subprocess.Popen(ctl + ["wait", gid], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)
# Both coopctl have subscribed (watch: 1 each; wait follows with a watch
# and answered its first, immediate wait), counted on the raw connection.
deadline = time.time() + 120 * SLOW
while metric(raw, "watch") < watch0 + 2 or metric(raw, "wait") < wait0 + 1:
    expect(time.time() < deadline, "both coopctl subscribed", None)
    expect(pw.poll() is None and pt.poll() is None, "coopctl still running", None)

os.kill(int(os.environ["COOPD_PID"]), signal.SIGTERM)
# coopd is stopping: it cancelled the graph (reason shutdown), but the held
# job keeps it from settling.  The raw connection is still served.
m = raw.event()
while not (m["params"]["node"] == "/" and m["params"]["state"] == "cancelling"):
    m = raw.event()
expect(m["params"].get("reason") == "shutdown", "cancelled for the shutdown", m)
expect(raw.call("ping").get("result") == {}, "an open connection is served while stopping",
       None)
# Release the job: the graph settles, coopd persists it and stops.
with open(fifo, "w") as f:
    f.write("go\n")

# The raw client: the wait answer with its id and the final status, and
# the root's final event, all before the end of the connection.
a = raw.answer(1)
expect(a.get("result", {}).get("state") == "cancelled", "final wait answer", a)
expect(a["result"]["root"]["cancel"]["reason"] == "shutdown", "reason shutdown", a)
last = None
try:
    while True:
        ev = raw.event()
        if ev["params"]["node"] == "/":
            last = ev["params"]["state"]
except EOFError:
    pass
expect(last == "cancelled", "the root's final event came before the close", last)

out, err = pw.communicate(timeout=120 * SLOW)
expect(pw.returncode == 0, "coopctl watch exits 0 once the graph settled",
       (pw.returncode, out, err))
expect("closed the connection" not in err, "watch does not complain", err)
root_lines = [l for l in out.splitlines() if " / " in l]
expect(root_lines and "cancelled" in root_lines[-1], "watch printed the settled root", out)

out, err = pt.communicate(timeout=120 * SLOW)
expect(pt.returncode == 1, "coopctl wait exits 1 (cancelled)", (pt.returncode, out, err))
expect("closed the connection" not in err, "wait does not complain", err)
final = out.splitlines()[-1]
expect(final.startswith(gid) and " cancelled" in final and "done" not in final,
       "wait printed the final state", out)
print(out.splitlines()[-1])
PYEOF
# coopd exits 0 after the stop.
wait "$COOPD_PID" || fail "coopd exited $?"
COOPD_PID=
coopd_pass
