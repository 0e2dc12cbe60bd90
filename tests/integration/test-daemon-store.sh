#!/bin/sh
# The SQLite state store (docs/durability.md):
#   - coopd.db has schema version 5 and an operator can query it with
#     sqlite3 while coopd runs (graphs, nodes, documents as submitted);
#   - concurrent submits share commits (group commit, seen in `stats`),
#     and get distinct random ids;
#   - `logs` answers eof:true for a settled node after a restart, graceful
#     or kill -9;
#   - no settled graph keeps its node tree in memory (stats
#     store.trees_in_memory), status reads it back, a restart loads none;
#   - a damaged database is moved aside with a clear log line and coopd
#     starts empty and works;
#   - a database of a newer schema is refused (exit 1), not touched;
#   - a database of version 4 is migrated to 5 (graphs_by_owner dropped),
#     its graphs kept, and per-user retention still right after it;
#   - retention is per user: one user's graphs never evict another's, and
#     retention_nodes bounds the nodes a user keeps.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (the command) not found"

coopd_start
coopd_py <<'PY' || fail "schema and operator queries"
import subprocess
g = run({"name": "op", "nodes": [
    {"id": "e", "kind": "exec", "argv": ["sh", "-c", "echo out; echo err >&2; exit 3"]},
    {"id": "t", "kind": "task", "fn": "noop"}]})
expect(g["state"] == "failed", "the graph ran", g)
db = os.path.join(os.environ["COOPD_STATE"], "coopd.db")
def q(sql):
    return subprocess.run(["sqlite3", "-readonly", db, sql], check=True,
                          capture_output=True, text=True).stdout.strip()
expect(q("PRAGMA user_version") == "5", "schema version 5")
expect(q("PRAGMA journal_mode") == "wal", "WAL mode")
row = q("SELECT name, state, nodes_total, nodes_done, owner_uid FROM graphs WHERE id = '%s'" % g["id"])
expect(row == "op|failed|2|2|%d" % os.getuid(), "the graph's row", row)
row = q("SELECT n.state, n.exit_code FROM nodes n JOIN graphs g ON n.graph = g.seq"
        " WHERE g.id = '%s' AND n.idx = 1" % g["id"])
expect(row == "failed|3", "the exec node's row", row)
expect(json.loads(q("SELECT doc FROM graphs WHERE id = '%s'" % g["id"]))["name"] == "op",
       "the document as submitted")
# The stored text reads back as the document submitted, whether it is
# written in one pass (under 4 KiB) or measured first (larger).
for n in (3, 200):
    doc = {"name": "doc%d" % n, "nodes": [{"id": "node-%04d" % i, "kind": "task", "fn": "noop",
                                           "after": ["node-%04d" % (i - 1)] if i else []}
                                          for i in range(n)]}
    gid = submit(doc)
    text = q("SELECT doc FROM graphs WHERE id = '%s'" % gid)
    expect(json.loads(text) == doc and (len(text) > 4096) == (n == 200),
           "%d nodes: stored document" % n, len(text))
st = os.stat(db)
expect(st.st_mode & 0o777 == 0o600, "coopd.db is 0600", oct(st.st_mode))

# 16 clients at once: every acknowledged submit has its row, and the
# writer never needs more commits than writes (that they share commits is
# shown with slow syncs in test-daemon-store-faults.sh).
import threading
ids, errs = [], []
def client():
    try:
        c = Conn()
        for _ in range(10):
            ids.append(c.result("submit", {"graph": {"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]}})["id"])
        c.close()
    except Exception as e:
        errs.append(e)
before = rpc("stats")["store"]
ts = [threading.Thread(target=client) for _ in range(16)]
for t in ts: t.start()
for t in ts: t.join()
expect(not errs and len(ids) == 160, "160 submits acknowledged", errs)
# Ids come from a batch of getrandom() values (method-submit.c): 160 ids
# use several batches, every one distinct and 16 hex characters.
import re
expect(len(set(ids)) == 160 and all(re.fullmatch("[0-9a-f]{16}", i) for i in ids),
       "160 distinct ids of 16 hex characters", ids)
for i in ids:
    expect(wait(i)["state"] == "succeeded", "ran", i)
after = rpc("stats")["store"]
expect(after["writes"] - before["writes"] >= 160, "every submit is a write", before, after)
expect(after["commits"] <= after["writes"], "never more commits than writes", after)
# Bounded memory: no settled graph keeps its node tree; status reads it
# back from the database and lets it go again.
expect(rpc("stats")["store"]["trees_in_memory"] == 0, "settled graphs keep no tree",
       rpc("stats")["store"])
st = rpc("status", {"id": g["id"]})
expect(node(st, "e")["exit_code"] == 3 and node(st, "t")["state"] == "succeeded",
       "status of a settled graph read back", st)
expect(rpc("stats")["store"]["trees_in_memory"] == 0, "and let go again")
rows = q("SELECT count(*) FROM graphs WHERE state = 'succeeded'")
expect(int(rows) >= 160, "every acknowledged submit has its row", rows)
open(os.path.join(os.environ["COOPD_TMP"], "gid"), "w").write(g["id"])
PY
out=$(coopd_rpc metrics) || fail "metrics"
echo "$out" | grep -q 'coopd_store_commits_total [1-9]' || fail "no coopd_store_commits_total: $out"

# eof after a graceful restart and after kill -9
for how in stop kill9; do
	if [ "$how" = stop ]; then coopd_stop; else coopd_kill9; fi
	coopd_start
	HOW=$how coopd_py <<'PY' || fail "logs after restart ($HOW)"
gid = open(os.path.join(os.environ["COOPD_TMP"], "gid")).read()
a = rpc("logs", {"id": gid, "node": "e", "stream": "stdout"})
expect(a["data"] == "out\n", "log kept", a)
b = rpc("logs", {"id": gid, "node": "e", "stream": "stdout", "offset": a["next_offset"]})
expect(b["data"] == "" and b["eof"] is True, "eof true after a restart", os.environ["HOW"], b)
c = rpc("logs", {"id": gid, "node": "e", "stream": "stderr", "offset": 4})
expect(c["eof"] is True, "stderr eof too", c)
# A restart reads no settled graph's tree.
expect(len(rpc("list", {"all": True})["graphs"]) == 163, "all listed (the 160 above, op and the two documents)")
expect(rpc("stats")["store"]["trees_in_memory"] == 0, "no tree loaded at start")
PY
done
coopd_stop

# A damaged database: moved aside, coopd starts empty and works.
head -c 65536 /dev/urandom >"$COOPD_STATE/coopd.db"
rm -f "$COOPD_STATE/coopd.db-wal" "$COOPD_STATE/coopd.db-shm"
coopd_start
grep -q "state database .*coopd.db is damaged.*moved to .*damaged/coopd.db" "$COOPD_LOG" \
	|| fail "no clear log line about the damaged database"
ls "$COOPD_STATE"/damaged/coopd.db.* >/dev/null 2>&1 || fail "damaged database not kept aside"
coopd_py <<'PY' || fail "after the damaged database"
expect(rpc("list", {"all": True})["graphs"] == [], "starts empty")
g = run({"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
expect(g["state"] == "succeeded", "works", g)
open(os.path.join(os.environ["COOPD_TMP"], "gid2"), "w").write(g["id"])
PY
coopd_restart
coopd_py <<'PY' || fail "the new database survives a restart"
gid = open(os.path.join(os.environ["COOPD_TMP"], "gid2")).read()
expect(rpc("status", {"id": gid})["state"] == "succeeded", "kept")
PY
coopd_stop

# A database of a newer coopd: refused, untouched.
version=$(sqlite3 "$COOPD_STATE/coopd.db" "PRAGMA user_version") || fail "cannot read user_version"
sqlite3 "$COOPD_STATE/coopd.db" "PRAGMA user_version = 99" || fail "cannot set user_version"
sum=$(cksum <"$COOPD_STATE/coopd.db")
rc=0
"$COOPD_BIN" --foreground --socket "$COOPD_SOCK" --state-dir "$COOPD_STATE" \
	>"$COOPD_TMP/newer.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a newer schema: exit $rc, want 1"
grep -q "made by a newer coopd" "$COOPD_TMP/newer.log" || fail "no message: $(cat "$COOPD_TMP/newer.log")"
[ "$(cksum <"$COOPD_STATE/coopd.db")" = "$sum" ] || fail "the newer database was changed"
sqlite3 "$COOPD_STATE/coopd.db" "PRAGMA user_version = $version" || fail "cannot reset user_version"

# A database of version 4 (version 5 plus the index graphs_by_owner) is
# migrated at start: the index goes, the graphs stay.
make_v4() {
	sqlite3 "$COOPD_STATE/coopd.db" "CREATE INDEX graphs_by_owner ON graphs(owner_uid, finished);
		PRAGMA user_version = 4;" || fail "cannot make a version 4 database"
}
check_v5() {
	[ "$(sqlite3 -readonly "$COOPD_STATE/coopd.db" "PRAGMA user_version")" = 5 ] \
		|| fail "not migrated to version 5"
	[ "$(sqlite3 -readonly "$COOPD_STATE/coopd.db" "SELECT count(*) FROM sqlite_master
		WHERE name = 'graphs_by_owner'")" = 0 ] || fail "graphs_by_owner not dropped"
}
make_v4
coopd_start
check_v5
coopd_py <<'PY' || fail "after the migration from version 4"
gid = open(os.path.join(os.environ["COOPD_TMP"], "gid2")).read()
expect(rpc("status", {"id": gid})["state"] == "succeeded", "a graph of version 4 kept")
g = run({"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
expect(g["state"] == "succeeded", "works after the migration", g)
open(os.path.join(os.environ["COOPD_TMP"], "gid3"), "w").write(g["id"])
PY
coopd_restart
coopd_py <<'PY' || fail "a restart after the migration"
ids = [g["id"] for g in rpc("list", {"all": True})["graphs"]]
for f in ("gid2", "gid3"):
    gid = open(os.path.join(os.environ["COOPD_TMP"], f)).read()
    expect(gid in ids, "kept over the restart", f, ids)
PY
coopd_stop

# Retention per user, with two real users (as test-daemon-users.sh makes
# them); root only.
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null 2>&1; then
	echo "per-user retention: skipped (needs root and useradd)"
	coopd_pass
fi
SUF=$$
UA=coopr-a$SUF
UB=coopr-b$SUF
GS=coopr-s$SUF
users_cleanup() {
	userdel "$UA" >/dev/null 2>&1
	userdel "$UB" >/dev/null 2>&1
	groupdel "$GS" >/dev/null 2>&1
}
trap '_users_rc=$?; users_cleanup; (exit $_users_rc); _coopd_cleanup' EXIT
chmod 0711 "$COOPD_TMP"
groupadd "$GS" || fail "groupadd"
useradd -M -d / -s /bin/sh -G "$GS" "$UA" || fail "useradd $UA"
useradd -M -d / -s /bin/sh -G "$GS" "$UB" || fail "useradd $UB"
cat >"$COOPD_TMP/coopd.conf" <<CONF
retention_graphs = 3
retention_nodes = 100
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
chgrp "$GS" "$COOPD_SOCK" || fail "chgrp socket"
export UA UB
coopd_py <<'PY' || fail "retention per user"
import pwd
def as_user(u):
    pw = pwd.getpwnam(u)
    return connect_as(pw.pw_uid, pw.pw_gid, os.getgrouplist(u, pw.pw_gid))
a, b = as_user(os.environ["UA"]), as_user(os.environ["UB"])
def run_as(c, graph):
    gid = c.result("submit", {"graph": graph})["id"]
    st = c.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
    expect(st["state"] == "succeeded", "ran", st)
    return gid
noop = {"nodes": [{"id": "a", "kind": "task", "fn": "noop"}]}
b_ids = [run_as(b, noop) for _ in range(2)]
a_ids = [run_as(a, noop) for _ in range(10)]
# A's ten graphs leave A three, and never touch B's two.
for i in b_ids:
    expect(b.result("status", {"id": i})["state"] == "succeeded", "B's graph kept", i)
listed = [g["id"] for g in a.result("list", {"all": True})["graphs"]]
expect(listed == a_ids[-3:], "A keeps its 3 newest", listed, a_ids)
listed = [g["id"] for g in b.result("list", {"all": True})["graphs"]]
expect(listed == b_ids, "B keeps both", listed, b_ids)
# retention_nodes: one graph of 60 nodes, then another: 2 x 61 > 100,
# so A's older ones go, the newest stays; B is untouched.
big = {"nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(60)]}
g1 = run_as(a, big)
g2 = run_as(a, big)
listed = [g["id"] for g in a.result("list", {"all": True})["graphs"]]
expect(g2 in listed and g1 not in listed, "retention_nodes prunes A's older big graph", listed)
expect(sum(1 for _ in listed) <= 2, "A within its node bound", listed)
listed = [g["id"] for g in b.result("list", {"all": True})["graphs"]]
expect(listed == b_ids, "B still keeps both", listed, b_ids)
open(os.path.join(os.environ["COOPD_TMP"], "b-ids"), "w").write(" ".join(b_ids))
open(os.path.join(os.environ["COOPD_TMP"], "a-g2"), "w").write(g2)
PY
coopd_stop
# The same histories in a database of version 4: after the migration,
# retention still counts per user (version 4's index was per owner; the
# histories never came from it).
make_v4
coopd_start --config "$COOPD_TMP/coopd.conf"
chgrp "$GS" "$COOPD_SOCK" || fail "chgrp socket"
check_v5
coopd_py <<'PY' || fail "retention per user after the migration"
import pwd
def as_user(u):
    pw = pwd.getpwnam(u)
    return connect_as(pw.pw_uid, pw.pw_gid, os.getgrouplist(u, pw.pw_gid))
a, b = as_user(os.environ["UA"]), as_user(os.environ["UB"])
b_ids = open(os.path.join(os.environ["COOPD_TMP"], "b-ids")).read().split()
g2 = open(os.path.join(os.environ["COOPD_TMP"], "a-g2")).read()
listed = [g["id"] for g in b.result("list", {"all": True})["graphs"]]
expect(listed == b_ids, "B's graphs migrated", listed, b_ids)
expect(g2 in [g["id"] for g in a.result("list", {"all": True})["graphs"]], "A's newest migrated")
big = {"nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(60)]}
gid = a.result("submit", {"graph": big})["id"]
expect(a.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})["state"] == "succeeded", "ran")
listed = [g["id"] for g in a.result("list", {"all": True})["graphs"]]
expect(gid in listed and g2 not in listed, "retention_nodes prunes A's older graph", listed)
listed = [g["id"] for g in b.result("list", {"all": True})["graphs"]]
expect(listed == b_ids, "B untouched by A's pruning", listed, b_ids)
PY
coopd_stop
coopd_pass
