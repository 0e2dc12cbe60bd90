#!/bin/sh
# Damage the writer meets while coopd runs (docs/durability.md, "Damage",
# "At run time"), with the real coopd and SQLite: a page of the graphs
# table of the live database is overwritten with garbage through another
# file descriptor while coopd serves, and then:
#   - a submit (its insert meets the damaged page) answers -32603 "cannot
#     store the graph durably: the state database is damaged (coopd's log
#     says where)", is not registered and never runs; a second one fails
#     the same way (the writer carries on); one log line names the
#     database, SQLite's message and the damage;
#   - `remove` of a settled graph answers -32603 the same way;
#   - the daemon stays up: ping, list, status of a running graph answer;
#   - the running graph settles, but its final state cannot be committed:
#     `wait` does not answer a result that is not durable;
#   - the database is not moved aside while coopd runs; a graceful stop
#     exits 0 and logs the graph whose final state is lost;
#   - the next start finds the damage (quick_check of the graphs table),
#     moves the database to damaged/ and starts empty; new graphs work.
# Then a page of the node rows goes bad while a graph runs: a submit (one
# row of the graphs table) is still accepted and runs, but no final state
# can be committed, so `wait` answers no result, for it or the running
# graph; the stop logs both as lost; the next start reads the node rows of
# the graphs that had not settled, finds the damage and moves the
# database aside.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (the command) not found"

DB=$COOPD_STATE/coopd.db
FLAG=$COOPD_TMP/go
MARK=$COOPD_TMP/lost-ran
export DB FLAG MARK

# damage_live TABLE: the root page of TABLE goes bad under coopd.  SQLite's
# page cache of coopd's writer holds the good page until another
# connection changes the WAL index: the WAL is checkpointed into coopd.db
# first (so the page read is the one in the file), the page is
# overwritten, and a second TRUNCATE checkpoint (which restarts the WAL
# index even when there is nothing to copy) makes coopd's connections drop
# their caches, as a disk going bad under a cache too small to hold the
# database would.  If coopd committed meanwhile (the second checkpoint
# then copies the good page back), it is done again.
damage_live() {
	TABLE=$1 python3 - <<'PY' || fail "cannot damage the live database"
import os, random, sqlite3, sys
db = os.environ["DB"]
def checkpoint():
    c = sqlite3.connect(db, timeout=30)
    busy, _, _ = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                     (os.environ["TABLE"],)).fetchone()[0]
    c.close()
    if busy:
        sys.exit("checkpoint busy")
    return root
for attempt in range(20):
    page = checkpoint()
    with open(db, "r+b") as f:
        ps = int.from_bytes(f.read(100)[16:18], "big")
        ps = 65536 if ps == 1 else ps
        garbage = bytes(random.Random(attempt).randrange(256) for _ in range(ps))
        f.seek((page - 1) * ps)
        f.write(garbage)
    checkpoint()
    with open(db, "rb") as f:
        f.seek((page - 1) * ps)
        if f.read(ps) == garbage:
            sys.exit(0)
sys.exit("coopd kept overwriting the damaged page")
PY
}

# fill_and_hold NAME FILLS: runs FILLS one-node graphs (fill0.. or fill), then submits graph
# NAME whose exec job waits for $FLAG; once it runs, its id goes to
# $COOPD_TMP/NAME.
fill_and_hold() {
	HOLD_NAME=$1 FILLS=$2 coopd_py <<'PY'
name, fills = os.environ["HOLD_NAME"], int(os.environ["FILLS"])
for i in range(fills):
    g = run({"name": "fill%d" % i if fills > 1 else "fill",
             "nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
    expect(g["state"] == "succeeded", "fill graph", g)
held = submit({"name": name, "nodes": [{"id": "e", "kind": "exec", "argv": [
    "sh", "-c", "while [ ! -e \"$1\" ]; do sleep 0.02; done", "sh", os.environ["FLAG"]]}]})
for _ in range(1000 * SLOW):
    if node(rpc("status", {"id": held}), "e")["state"] == "running":
        break
    time.sleep(0.01)
expect(node(rpc("status", {"id": held}), "e")["state"] == "running", "the held job runs")
open(os.path.join(os.environ["COOPD_TMP"], name), "w").write(held)
PY
}

# 1. A page of the graphs table goes bad while a graph runs.
coopd_start
fill_and_hold held 3 || fail "fill"

damage_live graphs

coopd_py <<'PY' || fail "damage at run time"
held = open(os.path.join(os.environ["COOPD_TMP"], "held")).read()
damaged = "the state database is damaged (coopd's log says where)"
lost = {"name": "lost", "nodes": [{"id": "t", "kind": "exec",
                                   "argv": ["touch", os.environ["MARK"]]}]}
for _ in range(2):
    e = call("submit", {"graph": lost})
    expect("error" in e and e["error"]["code"] == -32603, "submit fails", e)
    expect(e["error"]["message"] == "cannot store the graph durably: " + damaged,
           "the error says the database is damaged", e)
    ping_ok()
gs = rpc("list", {"all": True})["graphs"]
expect(sorted(g["name"] for g in gs) == ["fill0", "fill1", "fill2", "held"],
       "the failed submits are not registered; the others are listed", gs)
expect(rpc("status", {"id": held})["state"] == "running", "the running graph is served")
fill0 = [g["id"] for g in gs if g["name"] == "fill0"][0]
e = call("remove", {"id": fill0})
expect("error" in e and e["error"]["code"] == -32603, "remove fails", e)
expect(e["error"]["message"] == "cannot delete graph %s durably: %s" % (fill0, damaged),
       "the error says the database is damaged", e)
# Forgotten by the daemon at once (docs/protocol.md, remove), not on disk.
expect(fill0 not in [g["id"] for g in rpc("list", {"all": True})["graphs"]], "forgotten")

# The held graph settles; its final state cannot be committed.
c = Conn()
c.send("wait", {"id": held}, id=7)
open(os.environ["FLAG"], "w").close()
log = os.path.join(os.environ["COOPD_TMP"], "coopd.log")
for _ in range(3000 * SLOW):
    if "graph %s: cannot make its final state durable" % held in open(log).read():
        break
    time.sleep(0.01)
w = call("wait", {"id": held, "timeout_ms": 200})
expect("error" in w and w["error"]["code"] == -32603 and "not yet durable" in w["error"]["message"],
       "wait does not answer a result that is not durable", w)
c.send("ping", {}, id=8)
expect(c.answer(8)["result"] == {}, "the waiting connection is served")
expect(7 not in c.answers, "the first wait is still waiting", c.answers)
c.close()
ping_ok()
expect(not os.path.exists(os.environ["MARK"]), "a graph that was not stored never ran")
PY
[ ! -e "$COOPD_STATE/damaged" ] || fail "the database was moved aside while coopd runs"
n=$(grep -c "state database $DB: .* (the file is damaged); the transaction is rolled back" "$COOPD_LOG")
[ "$n" = 1 ] || fail "$n log lines for the damage, want 1"
grep -q "database disk image is malformed (the file is damaged)" "$COOPD_LOG" \
	|| fail "the log line does not have SQLite's message"
HELD=$(cat "$COOPD_TMP/held")
coopd_stop
grep -q "graph $HELD: its final state is lost: it could not be made durable before the stop" \
	"$COOPD_LOG" || fail "the lost final state is not logged at the stop"
[ ! -e "$COOPD_STATE/damaged" ] || fail "the database was moved aside at the stop"

# The next start finds the damage where start-up reads and moves it aside.
coopd_start
line=$(grep "state database $DB is damaged (quick_check: " "$COOPD_LOG") \
	|| fail "the start did not find the damage"
moved=$(printf '%s\n' "$line" | sed -n 's/.*: moved to \([^ ]*\) (with its -wal and -shm); coopd starts with an empty one$/\1/p')
[ -f "$moved" ] || fail "not moved: $line"
coopd_py <<'PY' || fail "after the move"
expect(rpc("list", {"all": True})["graphs"] == [], "starts empty")
g = run({"name": "after", "nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
expect(g["state"] == "succeeded", "works", g)
PY
coopd_stop
[ ! -e "$MARK" ] || fail "the graph whose submit failed ran"

# 2. The node rows go bad while a graph runs.
COOPD_STATE=$COOPD_TMP/state2
DB=$COOPD_STATE/coopd.db
FLAG=$COOPD_TMP/go2
export COOPD_STATE DB FLAG
coopd_start
fill_and_hold held2 1 || fail "node rows: fill"
damage_live nodes
coopd_py <<'PY' || fail "node rows: damage at run time"
log = os.path.join(os.environ["COOPD_TMP"], "coopd.log")
def settle_failed(gid):
    for _ in range(3000 * SLOW):
        if "graph %s: cannot make its final state durable" % gid in open(log).read():
            return
        time.sleep(0.01)
    raise AssertionError("graph %s: no settle failure logged" % gid)
held = open(os.path.join(os.environ["COOPD_TMP"], "held2")).read()
new = submit({"name": "new", "nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
settle_failed(new)
open(os.environ["FLAG"], "w").close()
settle_failed(held)
for gid in (new, held):
    w = call("wait", {"id": gid, "timeout_ms": 200})
    expect("error" in w and w["error"]["code"] == -32603 and
           "not yet durable" in w["error"]["message"], "no result that is not durable", w)
ping_ok()
gs = sorted(g["name"] for g in rpc("list", {"all": True})["graphs"])
expect(gs == ["fill", "held2", "new"], "listed", gs)
open(os.path.join(os.environ["COOPD_TMP"], "new2"), "w").write(new)
PY
HELD=$(cat "$COOPD_TMP/held2")
NEW=$(cat "$COOPD_TMP/new2")
coopd_stop
for g in "$HELD" "$NEW"; do
	grep -q "graph $g: its final state is lost" "$COOPD_LOG" || fail "graph $g: not logged at the stop"
done
[ ! -e "$COOPD_STATE/damaged" ] || fail "node rows: moved aside before the next start"
coopd_start
grep -q "state database $DB is damaged (.*(node rows of graph \($HELD\|$NEW\))): moved to " \
	"$COOPD_LOG" || fail "node rows: the start did not find the damage: $(cat "$COOPD_LOG")"
coopd_py <<'PY' || fail "node rows: after the move"
expect(rpc("list", {"all": True})["graphs"] == [], "starts empty")
expect(run({"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})["state"] == "succeeded", "works")
PY
coopd_stop
coopd_pass
