#!/bin/sh
# Durability: an acknowledged graph is on disk; after kill -9 and a restart
# finished graphs keep their states, results and logs, running ones are
# `interrupted` and none of their processes is left; SIGTERM cancels with
# reason `shutdown` and exits 0; damaged state is moved aside.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

TOKEN="coopd-test-$$-durable"
export TOKEN
coopd_start
coopd_py <<'PY' || fail "before the crash"
done = run({"name": "done", "nodes": [
    {"id": "e", "kind": "exec", "argv": ["sh", "-c", "echo kept; exit 4"]},
    {"id": "t", "kind": "task", "fn": "spin", "args": {"units": 500}}]})
expect(done["state"] == "failed", "finished graph", done)
import sqlite3
db = sqlite3.connect("file:%s/coopd.db?mode=ro" % os.environ["COOPD_STATE"], uri=True)
row = db.execute("SELECT state, doc FROM graphs WHERE id = ?", (done["id"],)).fetchone()
expect(row is not None and json.loads(row[1])["name"] == "done", "graph on disk", row)
db.close()
mode = os.stat(os.environ["COOPD_STATE"]).st_mode & 0o777
expect(mode == 0o700, "state dir 0700", oct(mode))
run_id = submit({"name": "running", "nodes": [
    {"id": "sleepy", "kind": "exec", "argv": ["sh", "-c", "sleep 1000 & sleep 1000; wait"],
     "env": {"COOPD_MARK": os.environ["TOKEN"] + "-job"}},
    {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
    {"id": "later", "kind": "task", "fn": "noop", "after": ["t"]}]})
for _ in range(1000 * SLOW):
    if node(rpc("status", {"id": run_id}), "sleepy")["state"] == "running":
        break
    time.sleep(0.01)
open(os.path.join(os.environ["COOPD_TMP"], "ids"), "w").write(done["id"] + " " + run_id)
json.dump(done, open(os.path.join(os.environ["COOPD_TMP"], "done.json"), "w"))
PY
coopd_kill9
coopd_start
coopd_py <<'PY' || fail "after the crash"
done_id, run_id = open(os.path.join(os.environ["COOPD_TMP"], "ids")).read().split()
before = json.load(open(os.path.join(os.environ["COOPD_TMP"], "done.json")))
after = rpc("status", {"id": done_id})
expect(after == before, "finished graph unchanged by the crash", before, after)
expect(rpc("logs", {"id": done_id, "node": "e", "stream": "stdout"})["data"] == "kept\n",
       "logs survive")
st = rpc("status", {"id": run_id})
expect(st["state"] == "interrupted", "running graph interrupted", st)
expect(node(st, "sleepy")["state"] == "interrupted" and node(st, "t")["state"] == "interrupted",
       "running nodes interrupted", st)
expect(node(st, "later")["state"] == "interrupted" and node(st, "later")["started"] is None,
       "pending node interrupted, never started", st)
expect(wait(run_id)["state"] == "interrupted", "wait answers at once")
ids = [g["id"] for g in rpc("list", {"all": True})["graphs"]]
expect(done_id in ids and run_id in ids, "both listed", ids)
# no process of the interrupted job is left
left = []
for p in os.listdir("/proc"):
    try:
        if p.isdigit() and (os.environ["TOKEN"] + "-job").encode() in open("/proc/%s/environ" % p, "rb").read():
            if open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[0] != "Z":
                left.append(p)
    except OSError:
        pass
expect(left == [], "no process of the interrupted graph is alive", left)

# graceful stop: cancelled with reason shutdown
gid = submit({"name": "stopme", "nodes": [
    {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
    {"id": "e", "kind": "exec", "argv": ["sleep", "600"]}]})
for _ in range(1000 * SLOW):
    if node(rpc("status", {"id": gid}), "e")["state"] == "running":
        break
    time.sleep(0.01)
open(os.path.join(os.environ["COOPD_TMP"], "stopme"), "w").write(gid)
PY
coopd_stop
# damaged state: a stored graph whose document is garbage, and a node row
# whose state is torn
done_id=$(cut -d' ' -f1 "$COOPD_TMP/ids")
DONE_ID=$done_id python3 - <<'PY' || fail "cannot damage the database"
import os, sqlite3
db = sqlite3.connect(os.path.join(os.environ["COOPD_STATE"], "coopd.db"))
db.execute("INSERT INTO graphs (id, owner_uid, owner_gid, name, state, created, nodes_total,"
           " nodes_done, doc) VALUES ('deadbeefdeadbeef', 0, 0, '', 'succeeded', 0, 1, 1,"
           " '{\"format\":1,\"id\":\"deadbe')")
seq = db.execute("SELECT seq FROM graphs WHERE id = ?", (os.environ["DONE_ID"],)).fetchone()[0]
db.execute("INSERT OR REPLACE INTO nodes (graph, idx, state) VALUES (?, 1, 'runn')", (seq,))
db.commit()
db.close()
PY
coopd_start
coopd_py <<'PY' || fail "after the graceful stop"
gid = open(os.path.join(os.environ["COOPD_TMP"], "stopme")).read()
st = rpc("status", {"id": gid})
expect(st["state"] == "cancelled", "stopped graph cancelled", st)
for k in ("t", "e"):
    n = node(st, k)
    expect(n["state"] == "cancelled" and n["cancel"]["reason"] == "shutdown", "shutdown " + k, n)
expect(error_code("status", {"id": "deadbeefdeadbeef"}) == -32001, "damaged graph not loaded")
expect(os.listdir(os.path.join(os.environ["COOPD_STATE"], "damaged")), "damaged moved aside")
done_id = open(os.path.join(os.environ["COOPD_TMP"], "ids")).read().split()[0]
expect(rpc("status", {"id": done_id})["state"] == "failed", "torn journal tolerated")
ping_ok()
PY
grep -q 'damaged' "$COOPD_LOG" || fail "damaged state was not logged"
# SIGINT stops as SIGTERM does: running graphs cancelled with `shutdown`
coopd_py <<'PY' || fail "submit before SIGINT"
gid = submit({"nodes": [{"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
open(os.path.join(os.environ["COOPD_TMP"], "intme"), "w").write(gid)
PY
coopd_stop INT
grep -q 'received Interrupt' "$COOPD_LOG" || fail "SIGINT not seen"
coopd_start
coopd_py <<'PY' || fail "after SIGINT"
gid = open(os.path.join(os.environ["COOPD_TMP"], "intme")).read()
st = rpc("status", {"id": gid})
expect(st["state"] == "cancelled" and node(st, "t")["cancel"]["reason"] == "shutdown",
       "SIGINT cancels with reason shutdown", st)
PY
coopd_stop
coopd_pass
