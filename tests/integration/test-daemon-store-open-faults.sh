#!/bin/sh
# An I/O error is not damage (docs/durability.md, "Damage": "What is not
# damage moves nothing"): with tests/fault-shim.c preloaded into coopd, the
# state database cannot be opened or read when coopd starts:
#   - every open of coopd.db fails with EIO, or with EROFS;
#   - only SQLite's open of it fails (EIO), after coopd's own open made it;
#   - the open of its WAL fails (EIO);
#   - every read of it fails (EIO);
# each time coopd exits 1 with one error line naming the database and the
# errno's text, calls nothing damaged, leaves the file's bytes as they were
# and moves nothing to damaged/; once the fault is gone coopd starts over
# the same file with its graphs.  Over a state directory without a
# database, EROFS makes no database file either.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_fault_shim
DB=$COOPD_STATE/coopd.db

# A database with history (a graceful stop checkpoints it: no WAL).
coopd_start
coopd_py <<'PY' || fail "fill"
ids = []
for i in range(3):
    g = run({"name": "fill%d" % i, "nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
    expect(g["state"] == "succeeded", "fill graph", g)
    ids.append(g["id"])
open(os.path.join(os.environ["COOPD_TMP"], "ids"), "w").write(" ".join(ids))
PY
coopd_stop
[ -f "$DB" ] || fail "no database after the fill"

# coopd over $1 (a state directory) with the fault $2 must exit 1 with
# one error line naming $DB and the text $3, and change nothing.
expect_refused() {
	state=$1 mode=$2 text=$3
	db=$state/coopd.db
	sum=$({ cksum <"$db"; } 2>/dev/null || echo none)
	printf '%s' "$mode" >"$COOPD_FAULT_FILE"
	rc=0
	LD_PRELOAD=$COOPD_TMP/fault-shim.so ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		timeout 120 $(_coopd_cmd) --foreground --socket "$COOPD_TMP/refused.sock" \
		--state-dir "$state" >"$COOPD_TMP/refused.log" 2>&1 || rc=$?
	: >"$COOPD_FAULT_FILE"
	out=$(cat "$COOPD_TMP/refused.log")
	[ "$rc" = 1 ] || fail "$mode: exit $rc, want 1: $out"
	n=$(grep -c '^<[0-3]>' "$COOPD_TMP/refused.log")
	[ "$n" = 1 ] || fail "$mode: $n error lines, want 1: $out"
	line=$(grep '^<[0-3]>' "$COOPD_TMP/refused.log")
	[ "$line" = "<3>cannot open the state database $db: $text" ] \
		|| fail "$mode: the line is not the one wanted: $line"
	grep -qi "damaged" "$COOPD_TMP/refused.log" && fail "$mode: called damage: $out"
	[ ! -e "$state/damaged" ] || fail "$mode: something was moved to $state/damaged"
	[ "$({ cksum <"$db"; } 2>/dev/null || echo none)" = "$sum" ] || fail "$mode: $db was changed"
	[ ! -e "$COOPD_TMP/refused.sock" ] || fail "$mode: the socket was left behind"
}

expect_refused "$COOPD_STATE" open-eio "Input/output error"
expect_refused "$COOPD_STATE" open-rofs "Read-only file system"
expect_refused "$COOPD_STATE" sqlite-eio "Input/output error"
expect_refused "$COOPD_STATE" wal-eio "Input/output error"
expect_refused "$COOPD_STATE" read-eio "Input/output error"

# The fault gone, the same database serves its history.
coopd_start
coopd_py <<'PY' || fail "after the faults"
ids = open(os.path.join(os.environ["COOPD_TMP"], "ids")).read().split()
gs = rpc("list", {"all": True})["graphs"]
expect(sorted(g["id"] for g in gs) == sorted(ids), "the history is there", gs)
for i in ids:
    expect(rpc("status", {"id": i})["state"] == "succeeded", "readable", i)
PY
coopd_stop
[ ! -e "$COOPD_STATE/damaged" ] || fail "something was moved aside"

# A new state directory on a read-only file system: no database is made.
mkdir -m 0700 "$COOPD_TMP/fresh"
expect_refused "$COOPD_TMP/fresh" open-rofs "Read-only file system"
[ ! -e "$COOPD_TMP/fresh/coopd.db" ] || fail "a database was made"
coopd_pass
