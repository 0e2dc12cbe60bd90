#!/bin/sh
# Retries (coopd.graph(5): retries, retry_delay_ms, retry_backoff) through
# the socket: a flaky exec job succeeds on its third attempt with one log
# per attempt and the back-off between attempts; an exhausted one fails
# with every attempt listed; a fail_fast sibling is not cancelled by a
# failed attempt that is retried, and an `after` dependant waits for the
# final attempt; timeout_ms bounds each attempt; a cancel between
# attempts ends the node at once and a cancelled attempt is never retried;
# task nodes retry too; bad documents and bad `logs` attempts are refused
# with a path; coopd_retries_total counts, and every attempt that timed
# out counts in coopd_cancel_requests_total{reason="timeout"};
# attempts survive a restart.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

mkdir "$COOPD_TMP/work"
coopd_start
coopd_py <<'PY' || fail "retries"
import calendar
W = os.path.join(os.environ["COOPD_TMP"], "work")

def ms(t):
    """RFC 3339 with ms -> unix ms."""
    base, frac = t.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(frac)

def log_at(gid, n, k, stream="stdout"):
    """Attempt k's whole stream, read with `logs` to eof."""
    data, off = "", 0
    while True:
        r = rpc("logs", {"id": gid, "node": n, "stream": stream, "offset": off, "attempt": k})
        data += r["data"]
        off = r["next_offset"]
        if r["eof"]:
            return data

# A job that fails until its count file reaches n.
def flaky(name, n):
    return ["sh", "-c", 'c=$(cat %s 2>/dev/null || echo 0); c=$((c+1)); echo $c > %s; '
            'echo "try $c"; echo "err $c" >&2; [ $c -ge %d ]' % (name, name, n)]

# 1. flaky: succeeds at attempt 3 of 4, delays 50 then 100 ms (backoff 2)
gid = submit({"nodes": [{"id": "f", "kind": "exec", "cwd": W, "argv": flaky("c1", 3),
                         "retries": 3, "retry_delay_ms": 50, "retry_backoff": 2}]})
st = wait(gid)
f = node(st, "f")
expect(st["state"] == "succeeded" and f["state"] == "succeeded", "flaky succeeded", st)
expect(f["attempt"] == 3 and f["max_attempts"] == 4 and len(f["attempts"]) == 3, "3 attempts", f)
a = f["attempts"]
expect([x["exit_code"] for x in a] == [1, 1, 0], "exit codes per attempt", a)
expect(f["exit_code"] == 0 and f["error"] is None, "the node's fields are the last attempt's", f)
expect(all(x["started"] and x["finished"] for x in a), "every attempt has times", a)
expect(ms(a[1]["started"]) - ms(a[0]["finished"]) >= 49, "50 ms before the first retry", a)
expect(ms(a[2]["started"]) - ms(a[1]["finished"]) >= 99, "100 ms before the second (backoff)", a)
for k in (1, 2, 3):
    expect(log_at(gid, "f", k) == "try %d\n" % k, "stdout of attempt %d" % k)
    expect(log_at(gid, "f", k, "stderr") == "err %d\n" % k, "stderr of attempt %d" % k)
expect(log_text(gid, "f") == "try 3\n", "logs without attempt: the last")
m = call("logs", {"id": gid, "node": "f", "stream": "stdout", "attempt": 4})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "params.attempt" and
       "3 attempt" in m["error"]["data"]["reason"], "attempt 4 never ran", m)
m = call("logs", {"id": gid, "node": "f", "stream": "stdout", "attempt": 0})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "params.attempt", "attempt 0", m)
open(os.path.join(os.environ["COOPD_TMP"], "flaky-gid"), "w").write(gid)

# 2. exhausted: 3 attempts, all failed, the graph fails
gid = submit({"nodes": [{"id": "x", "kind": "exec", "argv": ["sh", "-c", "exit 7"],
                         "retries": 2, "retry_delay_ms": 0}]})
st = wait(gid)
x = node(st, "x")
expect(st["state"] == "failed" and x["state"] == "failed" and x["exit_code"] == 7, "exhausted", x)
expect([y["exit_code"] for y in x["attempts"]] == [7, 7, 7] and x["attempt"] == 3, "3 x exit 7", x)

# 3. fail_fast: a retried failure cancels no sibling; `after` waits for the last attempt
gid = submit({"policy": "fail_fast", "nodes": [
    {"id": "f", "kind": "exec", "cwd": W, "argv": flaky("c3", 2), "retries": 2, "retry_delay_ms": 300},
    {"id": "sib", "kind": "exec", "argv": ["sleep", "1"]},
    {"id": "dep", "kind": "exec", "argv": ["true"], "after": ["f"]}]})
st = wait(gid)
expect(states(st) == {"f": "succeeded", "sib": "succeeded", "dep": "succeeded"}, "all succeeded", st)
expect(ms(node(st, "dep")["started"]) >= ms(node(st, "f")["finished"]), "dep after the last attempt", st)
expect(node(st, "sib")["cancel"] is None, "sibling untouched", st)

def timeouts():
    """coopd_cancel_requests_total{reason="timeout"} now."""
    m = rpc("metrics")["text"]
    return int(m.split('coopd_cancel_requests_total{reason="timeout"} ')[1].split()[0])

# 4. timeout_ms bounds each attempt: 2 attempts, both timed out; the node is cancelled (timeout)
t0 = timeouts()
gid = submit({"nodes": [{"id": "t", "kind": "exec", "argv": ["sleep", "30"], "timeout_ms": 200,
                         "grace_ms": 100, "retries": 1, "retry_delay_ms": 0}]})
st = wait(gid)
t = node(st, "t")
expect(t["state"] == "cancelled" and t["cancel"]["reason"] == "timeout", "timed out", t)
expect(len(t["attempts"]) == 2 and all(y["timed_out"] for y in t["attempts"]), "both timed out", t)
expect(t["attempts"][0]["signal"] == 15 and "timed out" in t["attempts"][0]["error"], "first: SIGTERM", t)
d0 = ms(t["attempts"][0]["finished"]) - ms(t["attempts"][0]["started"])
expect(d0 >= 199, "an attempt ran its own timeout_ms (not shared)", t)
expect(timeouts() - t0 == 2, "each exec attempt's timeout is one timeout request: %d" % (timeouts() - t0))

# 5. cancel while waiting for the next attempt: cancelled at once, no more attempts
gid = submit({"nodes": [{"id": "w", "kind": "exec", "argv": ["false"], "retries": 5,
                         "retry_delay_ms": 600000}]})
for _ in range(1000 * SLOW):
    w = node(rpc("status", {"id": gid}), "w")
    if w["attempts"] and w["attempts"][0]["finished"]:
        break
    time.sleep(0.01)
expect(w["state"] == "running" and w["attempt"] == 1 and w["exit_code"] == 1,
       "running while it waits, showing the failed attempt", w)
rpc("cancel", {"id": gid})
st = wait(gid, timeout_ms=20000)
w = node(st, "w")
expect(st["state"] == "cancelled" and w["state"] == "cancelled", "cancelled between attempts", st)
expect(w["cancel"]["reason"] == "client" and len(w["attempts"]) == 1, "never retried", w)

# 6. a cancelled attempt is not retried
gid = submit({"nodes": [{"id": "c", "kind": "exec", "argv": ["sleep", "30"], "retries": 3,
                         "retry_delay_ms": 0}]})
for _ in range(1000 * SLOW):
    if node(rpc("status", {"id": gid}), "c")["state"] == "running":
        break
    time.sleep(0.01)
time.sleep(0.1)
rpc("cancel", {"id": gid})
c = node(wait(gid), "c")
expect(c["state"] == "cancelled" and len(c["attempts"]) == 1, "cancel is never retried", c)

# 7. task nodes: fail x3; a sleep whose attempts time out; noop retried 0 times
t0 = timeouts()
gid = submit({"policy": "all_settled", "nodes": [
    {"id": "tf", "kind": "task", "fn": "fail", "args": {"message": "nope"}, "retries": 2,
     "retry_delay_ms": 10},
    {"id": "ts", "kind": "task", "fn": "sleep", "args": {"ms": 60000}, "timeout_ms": 100,
     "retries": 1, "retry_delay_ms": 0},
    {"id": "tn", "kind": "task", "fn": "noop", "retries": 4}]})
st = wait(gid)
tf, ts, tn = node(st, "tf"), node(st, "ts"), node(st, "tn")
expect(tf["state"] == "failed" and tf["error"] == "nope" and len(tf["attempts"]) == 3, "task fail x3", tf)
expect([y["error"] for y in tf["attempts"]] == ["nope"] * 3, "each attempt's error", tf)
expect(ts["state"] == "cancelled" and ts["cancel"]["reason"] == "timeout", "task timeout", ts)
expect(len(ts["attempts"]) == 2 and all(y["timed_out"] for y in ts["attempts"]), "task attempts timed out", ts)
expect(tn["state"] == "succeeded" and len(tn["attempts"]) == 1 and tn["attempt"] == 1, "noop once", tn)
expect(timeouts() - t0 == 2, "each task attempt's timeout is one timeout request: %d" % (timeouts() - t0))

# 8. bad documents
def bad(n, path, reason):
    m = call("submit", {"graph": {"nodes": [n]}})
    expect("error" in m and m["error"]["code"] == -32602, "refused %r" % (n,), m)
    expect(m["error"]["data"]["path"] == path and reason in m["error"]["data"]["reason"],
           "path and reason for %r" % (n,), m)
E = {"id": "e", "kind": "exec", "argv": ["true"]}
bad(dict(E, retries=-1), "nodes[0].retries", "between 0 and 100")
bad(dict(E, retries=101), "nodes[0].retries", "between 0 and 100")
bad(dict(E, retries="3"), "nodes[0].retries", "expected an integer")
bad(dict(E, retries=1.5), "nodes[0].retries", "expected an integer")
bad(dict(E, retry_backoff=0), "nodes[0].retry_backoff", "between 1 and 10")
bad(dict(E, retry_backoff=10.5), "nodes[0].retry_backoff", "between 1 and 10")
bad(dict(E, retry_backoff="2"), "nodes[0].retry_backoff", "expected a number")
bad(dict(E, retry_delay_ms=-5), "nodes[0].retry_delay_ms", "between 0")
bad({"id": "b", "kind": "blocking", "fn": "noop", "retries": 1}, "nodes[0].retries", "not allowed")
bad({"id": "s", "kind": "scope", "nodes": [], "retries": 1}, "nodes[0].retries", "not allowed")

# 9. the metric
m = rpc("metrics")["text"]
expect('coopd_retries_total{kind="exec"} ' in m and 'coopd_retries_total{kind="task"} ' in m, "metric", m)
ex = int(m.split('coopd_retries_total{kind="exec"} ')[1].split()[0])
tk = int(m.split('coopd_retries_total{kind="task"} ')[1].split()[0])
# exec: 2 (flaky) + 2 (exhausted) + 1 (f in fail_fast) + 1 (timeout) + 1 (before the cancel)
expect(ex == 7 and tk == 3, "retries counted: exec %d task %d" % (ex, tk), m)
PY
coopd_restart
coopd_py <<'PY' || fail "after restart"
gid = open(os.path.join(os.environ["COOPD_TMP"], "flaky-gid")).read()
f = node(rpc("status", {"id": gid}), "f")
expect(f["attempt"] == 3 and [x["exit_code"] for x in f["attempts"]] == [1, 1, 0], "attempts reloaded", f)
r = rpc("logs", {"id": gid, "node": "f", "stream": "stdout", "attempt": 2})
expect(r["data"] == "try 2\n", "logs of attempt 2 after a restart", r)
PY
coopd_stop
# A database of schema version 1 (before retries and Slurm) is migrated
# to the current one: the columns are added, its graphs kept.
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$COOPD_STATE/coopd.db" "ALTER TABLE nodes DROP COLUMN slurm_state;
		ALTER TABLE nodes DROP COLUMN slurm_job_id; ALTER TABLE nodes DROP COLUMN attempts;
		ALTER TABLE nodes DROP COLUMN reused; ALTER TABLE graphs DROP COLUMN bytes;
		CREATE INDEX graphs_by_owner ON graphs(owner_uid, finished);
		PRAGMA user_version = 1;" \
		|| fail "cannot make a version 1 database"
	coopd_start
	[ "$(sqlite3 -readonly "$COOPD_STATE/coopd.db" "PRAGMA user_version")" = 5 ] \
		|| fail "not migrated to version 5"
	# 4 -> 5: the index of version 1 is gone.
	[ "$(sqlite3 -readonly "$COOPD_STATE/coopd.db" "SELECT count(*) FROM sqlite_master
		WHERE name = 'graphs_by_owner'")" = 0 ] || fail "graphs_by_owner not dropped"
	# 3 -> 4: the graphs settled before count their document's bytes.
	[ "$(sqlite3 -readonly "$COOPD_STATE/coopd.db" "SELECT count(*) FROM graphs
		WHERE bytes != length(CAST(doc AS BLOB)) OR bytes = 0")" = 0 ] \
		|| fail "graphs.bytes not set by the migration"
	coopd_py <<'PY' || fail "after the migration"
gid = open(os.path.join(os.environ["COOPD_TMP"], "flaky-gid")).read()
f = node(rpc("status", {"id": gid}), "f")
expect(f["state"] == "succeeded" and f["exit_code"] == 0 and "attempts" not in f,
       "a graph from version 1 loads (version 1 kept no attempts)", f)
g = run({"nodes": [{"id": "r", "kind": "exec", "argv": ["false"], "retries": 1, "retry_delay_ms": 0}]})
expect(len(node(g, "r")["attempts"]) == 2, "retries work on the migrated database", g)
PY
	coopd_stop
fi
coopd_pass
