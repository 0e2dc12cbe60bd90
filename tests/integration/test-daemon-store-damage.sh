#!/bin/sh
# A damaged state database (docs/durability.md, "Damage"), with the real
# coopd and SQLite:
#   - a garbage file, a database truncated in the middle, a page of the
#     graphs table overwritten with garbage, a page of the node rows of a
#     graph that was running when coopd was killed: each is moved to
#     damaged/coopd.db.TIME with one error line naming both paths and
#     SQLite's message; the moved file keeps its bytes, an earlier one is
#     never overwritten; coopd starts empty, serves, and a new submit
#     survives a restart;
#   - damage found at run time (a page of a settled graph's node rows) does
#     not crash coopd: status of that graph answers -32603 saying the
#     database is damaged, others are served;
#   - what is not damage moves nothing: a newer schema (exit 1, untouched)
#     and a database coopd may not write (exit 1, untouched).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (the command) not found"

DB=$COOPD_STATE/coopd.db

# coopd runs some graphs (one with output), stops; the database is left
# without a WAL (a graceful stop checkpoints it).
fill() {
	coopd_start
	coopd_py <<'PY' || fail "fill"
for i in range(5):
    g = run({"name": "fill%d" % i, "nodes": [
        {"id": "a", "kind": "task", "fn": "noop"},
        {"id": "e", "kind": "exec", "argv": ["/bin/sh", "-c", "echo out%d" % i]}]})
    expect(g["state"] == "succeeded", "fill graph", g)
PY
	coopd_stop
	[ ! -e "$DB-wal" ] || fail "a WAL after a graceful stop"
}

# Overwrites page N (1-based) of the database with bytes that are no page.
smash_page() {
	python3 - "$DB" "$1" <<'PY'
import sys, random
path, page = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    hdr = f.read(100)
    ps = int.from_bytes(hdr[16:18], "big")
    ps = 65536 if ps == 1 else ps
    rnd = random.Random(page)
    f.seek((page - 1) * ps)
    f.write(bytes(rnd.randrange(256) for _ in range(ps)))
PY
}

root_page() {
	sqlite3 -readonly "$DB" "SELECT rootpage FROM sqlite_master WHERE name = '$1'"
}

moved_count() {
	ls "$COOPD_STATE"/damaged/ 2>/dev/null | grep -c '^coopd\.db\.[0-9]\{8\}T[0-9]\{6\}Z\(\.[0-9]*\)\?$'
}

# Starts coopd over the damaged $DB and checks the move: one more moved
# database, with the bytes $DB had, one log line naming both paths and the
# reason (SQLite's message matching $1), an empty coopd that works and
# keeps a new graph over a restart.
expect_moved() {
	want=$1
	before=$(moved_count)
	sum=$(cksum <"$DB")
	# Earlier moved databases, to check that none is overwritten.
	old_sums=$(cd "$COOPD_STATE" && for f in damaged/coopd.db.*; do
		[ -f "$f" ] && echo "$f $(cksum <"$f")"; done)
	coopd_start
	after=$(moved_count)
	[ "$after" = $((before + 1)) ] || fail "$want: $before moved databases before, $after after"
	line=$(grep "state database $DB is damaged" "$COOPD_LOG") \
		|| fail "$want: no log line about the damaged database"
	[ "$(printf '%s\n' "$line" | wc -l)" = 1 ] || fail "$want: more than one line: $line"
	case $line in "<3>"*) ;; *) fail "$want: not at error level (<3>): $line" ;; esac
	printf '%s\n' "$line" | grep -q "($want" || fail "$want: the reason is not SQLite's: $line"
	moved=$(printf '%s\n' "$line" | sed -n 's/.*: moved to \([^ ]*\) (with its -wal and -shm); coopd starts with an empty one$/\1/p')
	[ -n "$moved" ] || fail "$want: the line does not name where it moved: $line"
	case $moved in
	"$COOPD_STATE"/damaged/coopd.db.*) ;;
	*) fail "$want: moved to $moved" ;;
	esac
	[ -f "$moved" ] || fail "$want: $moved does not exist"
	[ "$(cksum <"$moved")" = "$sum" ] || fail "$want: the moved database's bytes changed"
	printf '%s\n' "$old_sums" | while read -r f s; do
		[ -n "$f" ] || continue
		[ "$(cksum <"$COOPD_STATE/$f")" = "$s" ] || fail "$want: $f was overwritten"
	done || exit 1
	coopd_py <<'PY' || fail "$want: after the move"
expect(rpc("list", {"all": True})["graphs"] == [], "starts empty")
g = run({"name": "after", "nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
expect(g["state"] == "succeeded", "works", g)
open(os.path.join(os.environ["COOPD_TMP"], "gid"), "w").write(g["id"])
PY
	coopd_restart
	grep -q "is damaged" "$COOPD_LOG" && fail "$want: the new database was moved aside too"
	coopd_py <<'PY' || fail "$want: the new graph after a restart"
gid = open(os.path.join(os.environ["COOPD_TMP"], "gid")).read()
expect(rpc("status", {"id": gid})["state"] == "succeeded", "kept")
expect(len(rpc("list", {"all": True})["graphs"]) == 1, "only the new graph")
PY
	coopd_stop
}

# coopd must exit 1 over $DB and leave it (and damaged/) as it was.
expect_refused() {
	want=$1
	shift
	sum=$(cksum <"$DB")
	before=$(moved_count)
	rc=0
	"$@" >"$COOPD_TMP/refused.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "$want: exit $rc, want 1: $(cat "$COOPD_TMP/refused.log")"
	grep -q "is damaged" "$COOPD_TMP/refused.log" && fail "$want: called damage"
	[ "$(cksum <"$DB")" = "$sum" ] || fail "$want: the database was changed"
	[ "$(moved_count)" = "$before" ] || fail "$want: something was moved aside"
}

# 1. Garbage: not a database.
fill
head -c 65536 /dev/urandom >"$DB"
expect_moved "file is not a database"

# 2. Truncated in the middle (a torn copy): the header counts more pages
# than the file has.
fill
size=$(wc -c <"$DB")
[ "$size" -ge 16384 ] || fail "database too small to cut ($size bytes)"
truncate -s $((size / 2 + 100)) "$DB"
expect_moved "database disk image is malformed"

# 3. A page of the graphs table overwritten: start-up's quick_check of the
# graphs table finds it.
fill
page=$(root_page graphs) || fail "no graphs table"
smash_page "$page"
expect_moved "quick_check"

# 4. A page of the node rows of a graph that was running when coopd was
# killed: start-up reads them (to mark the graph interrupted), so they are
# checked before anything is loaded.
fill
coopd_start
TOKEN=damage-$$
export TOKEN
coopd_py <<'PY' || fail "a running graph"
import time
gid = submit({"name": "running", "nodes": [
    {"id": "s", "kind": "exec", "argv": ["/bin/sh", "-c", "sleep 600"],
     "env": {"COOPD_MARK": os.environ["TOKEN"] + "-job"}}]})
for _ in range(600):
    if rpc("status", {"id": gid})["state"] == "running" and marked(os.environ["TOKEN"] + "-job"):
        break
    time.sleep(0.1)
expect(marked(os.environ["TOKEN"] + "-job"), "the job runs")
PY
coopd_kill9
# The moved database's job is no one's to recover: end it here (only the
# processes marked with this test's token).
coopd_py <<'PY' || fail "cannot end the job"
import signal
for p in marked(os.environ["TOKEN"] + "-job"):
    os.kill(p, signal.SIGKILL)
PY
# Its rows into coopd.db itself (a checkpoint; the WAL goes away with the
# last connection), so that the page edited is the one SQLite reads.
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' "$DB" \
	|| fail "cannot checkpoint"
[ ! -s "$DB-wal" ] || fail "the WAL is still there"
[ "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM graphs WHERE finished IS NULL")" = 1 ] \
	|| fail "the running graph is not in the database"
page=$(root_page nodes) || fail "no nodes table"
smash_page "$page"
expect_moved "database disk image is malformed"

# 5. Damage at run time: a page of settled graphs' node rows is read only
# when asked for.  coopd starts, the damaged graph answers -32603 naming
# the damage, the daemon stays up and serves the rest.
fill
page=$(root_page nodes) || fail "no nodes table"
smash_page "$page"
before=$(moved_count)
coopd_start
[ "$(moved_count)" = "$before" ] || fail "settled graphs' node rows moved the database aside"
coopd_py <<'PY' || fail "damage at run time"
gs = rpc("list", {"all": True})["graphs"]
expect(len([g for g in gs if g["name"].startswith("fill")]) == 5, "the history is listed", gs)
for g in gs:
    m = call("status", {"id": g["id"]})
    expect("error" in m and m["error"]["code"] == -32603, "status of a damaged graph", m)
    expect("damaged" in m["error"]["message"] and g["id"] in m["error"]["message"],
           "the reason names the graph and the damage", m)
    m = call("logs", {"id": g["id"], "node": "e", "stream": "stdout"})
    expect("error" in m and m["error"]["code"] == -32603, "logs of a damaged graph", m)
ping_ok()
PY
grep -q "cannot read graph .* back from $DB" "$COOPD_LOG" || fail "no log line for the failed read"
coopd_stop
rm -f "$DB" "$DB-wal" "$DB-shm"

# 6. A database of a newer coopd: refused, untouched, not moved.
fill
sqlite3 "$DB" "PRAGMA user_version = 99" || fail "cannot set user_version"
expect_refused "a newer schema" timeout 120 "$COOPD_BIN" --foreground --socket "$COOPD_SOCK" \
	--state-dir "$COOPD_STATE"
grep -q "made by a newer coopd" "$COOPD_TMP/refused.log" || fail "no message: $(cat "$COOPD_TMP/refused.log")"
rm -f "$DB" "$DB-wal" "$DB-shm"

# 7. A database coopd may not write (read-only, permission denied): the
# operator's to fix.  As a user of its own (root may write anything).
fill
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null 2>&1 || skip "setpriv not found"
	nob=$(id -u nobody 2>/dev/null) || skip "no user nobody"
	nog=$(id -g nobody)
	chmod 0711 "$COOPD_TMP"
	mkdir "$COOPD_TMP/ro"
	cp -p "$DB" "$COOPD_TMP/ro/coopd.db"
	chown -R "$nob:$nog" "$COOPD_TMP/ro"
	chmod 0700 "$COOPD_TMP/ro"
	as_user="setpriv --reuid=$nob --regid=$nog --clear-groups"
	ro_state=$COOPD_TMP/ro
else
	as_user=
	ro_state=$COOPD_STATE
fi
DB=$ro_state/coopd.db
chmod 0400 "$DB"
# shellcheck disable=SC2086
expect_refused "a read-only database" timeout 120 $as_user "$COOPD_BIN" --foreground \
	--socket "$ro_state/s.sock" --state-dir "$ro_state"
grep -q "$DB" "$COOPD_TMP/refused.log" || fail "the message does not name $DB: $(cat "$COOPD_TMP/refused.log")"
grep -qi "permission denied\|read-only" "$COOPD_TMP/refused.log" \
	|| fail "the message does not say why: $(cat "$COOPD_TMP/refused.log")"

coopd_pass
