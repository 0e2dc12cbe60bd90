#!/bin/sh
# The upgrade from the directory format (docs/durability.md): a state
# directory written by coopd of commit b92587f (tests/data/store-v0-*,
# made by store-v0-make.py) is imported on the first start:
#   - finished graphs answer `status` exactly as before (states, times,
#     results, cancel reasons), their logs are served with eof;
#   - the graph that was running is `interrupted`;
#   - graph.json and journal go to imported/ only after the import has
#     committed, the logs stay in graphs/ID; the next start does not import
#     again;
#   - a crash after the commit and before the files went aside (simulated)
#     imports nothing twice;
#   - an import that cannot commit (a failing fsync, with the LD_PRELOAD
#     shim of tests/fault-shim.c when cc is there) leaves the old files
#     where they were and coopd exits 1.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

DATA=$top_srcdir/tests/data
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (the command) not found"
tar -xzf "$DATA/store-v0-state.tar.gz" -C "$COOPD_TMP" || fail "cannot unpack the fixture"
cp -R "$COOPD_STATE" "$COOPD_TMP/state-copy" || fail "cannot copy the fixture"
export DATA

# An import that cannot commit leaves the old format alone.
CC_BIN=$(command -v cc || command -v gcc || true)
if [ -n "$CC_BIN" ] && "$CC_BIN" -shared -fPIC -o "$COOPD_TMP/fault-shim.so" \
	"$top_srcdir/tests/fault-shim.c" -ldl 2>"$COOPD_TMP/cc.log"; then
	# A database of the current schema, so that only the import's commit
	# syncs (made by coopd itself, its import marker removed).
	"$COOPD_BIN" --foreground --socket "$COOPD_TMP/empty.sock" \
		--state-dir "$COOPD_TMP/empty-state" >"$COOPD_TMP/empty.log" 2>&1 &
	empty_pid=$!
	# Ready means answering: the socket file exists before coopd handles
	# SIGTERM (under ASan that moment is long enough to be hit).
	_sock=$COOPD_SOCK _pid=$COOPD_PID
	COOPD_SOCK=$COOPD_TMP/empty.sock COOPD_PID=$empty_pid
	coopd_wait_ready || fail "the coopd that makes an empty database did not answer"
	COOPD_SOCK=$_sock COOPD_PID=$_pid
	kill -TERM "$empty_pid"
	wait "$empty_pid" || fail "the coopd that made an empty database failed"
	cp "$COOPD_TMP/empty-state/coopd.db" "$COOPD_STATE/coopd.db" || fail "no empty database"
	sqlite3 "$COOPD_STATE/coopd.db" "DELETE FROM meta" || fail "sqlite3"
	echo eio >"$COOPD_TMP/fault"
	rc=0
	env LD_PRELOAD="$COOPD_TMP/fault-shim.so" COOPD_FAULT_FILE="$COOPD_TMP/fault" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$COOPD_BIN" --foreground --socket "$COOPD_SOCK" --state-dir "$COOPD_STATE" \
		>"$COOPD_TMP/failed-import.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "an import that cannot commit: exit $rc, want 1"
	grep -q "cannot import" "$COOPD_TMP/failed-import.log" \
		|| fail "no message: $(cat "$COOPD_TMP/failed-import.log")"
	(cd "$COOPD_TMP/state-copy" && find graphs -type f | sort) >"$COOPD_TMP/before"
	(cd "$COOPD_STATE" && find graphs -type f | sort) >"$COOPD_TMP/after"
	cmp -s "$COOPD_TMP/before" "$COOPD_TMP/after" || fail "old files moved by a failed import"
	[ ! -e "$COOPD_STATE/imported" ] || fail "imported/ exists after a failed import"
	rm -f "$COOPD_STATE"/coopd.db*
else
	echo "failed import: skipped (no C compiler for the fault shim)"
fi

coopd_start
grep -q "imported 4 graph(s) of the directory format" "$COOPD_LOG" || fail "no import logged"
coopd_py <<'PY' || fail "imported graphs"
exp = json.load(open(os.path.join(os.environ["DATA"], "store-v0-expected.json")))
ids, before = exp["ids"], exp["status"]
def same(old, new):
    # Every member the fixture's answer had, unchanged (later versions
    # may add members, such as a node's "after").
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and same(v, new[k]) for k, v in old.items())
    if isinstance(old, list):
        return isinstance(new, list) and len(old) == len(new) and all(map(same, old, new))
    return old == new
for name in ("ok", "failed", "cancelled"):
    after = rpc("status", {"id": ids[name]})
    expect(same(before[name], after), "imported %s graph unchanged" % name, before[name], after)
    expect(wait(ids[name])["state"] == before[name]["state"], "wait answers at once", name)
st = rpc("status", {"id": ids["running"]})
expect(st["state"] == "interrupted", "the running graph is interrupted", st)
expect(node(st, "e")["state"] == "interrupted" and node(st, "later")["state"] == "interrupted"
       and node(st, "later")["started"] is None, "its nodes interrupted", st)
for name, n, stream, text in (("ok", "hello", "stdout", "hello out\n"),
                              ("ok", "hello", "stderr", "hello err\n"),
                              ("failed", "bad", "stdout", "oops\n")):
    a = rpc("logs", {"id": ids[name], "node": n, "stream": stream})
    expect(a["data"] == text, "log imported", name, stream, a)
    b = rpc("logs", {"id": ids[name], "node": n, "stream": stream, "offset": a["next_offset"]})
    expect(b["eof"] is True, "eof", b)
listed = sorted(g["id"] for g in rpc("list", {"all": True})["graphs"])
expect(listed == sorted(ids.values()), "all four listed", listed)
state = os.environ["COOPD_STATE"]
for i in ids.values():
    expect(not os.path.exists(os.path.join(state, "graphs", i, "graph.json")), "graph.json moved", i)
    expect(os.path.isfile(os.path.join(state, "imported", i + ".graph.json")), "kept aside", i)
    expect(os.path.isfile(os.path.join(state, "imported", i + ".journal")), "journal kept aside", i)
expect(os.path.isfile(os.path.join(state, "graphs", ids["ok"], "1.out")), "logs stay in graphs/ID")
g = run({"nodes": [{"id": "a", "kind": "exec", "argv": ["echo", "new"]}]})
expect(g["state"] == "succeeded" and log_text(g["id"], "a") == "new\n", "new graphs run", g)
PY
coopd_restart
grep -q "imported" "$COOPD_LOG" && fail "imported again on the second start"
coopd_py <<'PY' || fail "after a restart"
exp = json.load(open(os.path.join(os.environ["DATA"], "store-v0-expected.json")))
for name in ("ok", "failed", "cancelled"):
    expect(rpc("status", {"id": exp["ids"][name]})["state"] == exp["status"][name]["state"], "still", name)
expect(len(rpc("list", {"all": True})["graphs"]) == 5, "five graphs")
PY
coopd_stop

# A crash after the commit, before the old files went aside: they are
# back in graphs/ID and the meta row is not there.
for f in "$COOPD_STATE"/imported/*.graph.json; do
	id=$(basename "$f" .graph.json)
	cp "$f" "$COOPD_STATE/graphs/$id/graph.json"
	cp "$COOPD_STATE/imported/$id.journal" "$COOPD_STATE/graphs/$id/journal"
done
sqlite3 "$COOPD_STATE/coopd.db" "DELETE FROM meta WHERE key = 'old_format_imported'" \
	|| fail "cannot remove the meta row"
coopd_start
coopd_py <<'PY' || fail "import repeated after a crash"
exp = json.load(open(os.path.join(os.environ["DATA"], "store-v0-expected.json")))
listed = [g["id"] for g in rpc("list", {"all": True})["graphs"]]
expect(len(listed) == 5 and len(set(listed)) == 5, "nothing imported twice", listed)
for name in ("ok", "failed", "cancelled"):
    expect(rpc("status", {"id": exp["ids"][name]})["state"] == exp["status"][name]["state"], "unchanged", name)
for i in exp["ids"].values():
    expect(not os.path.exists(os.path.join(os.environ["COOPD_STATE"], "graphs", i, "graph.json")),
           "moved aside again", i)
PY
n=$(sqlite3 "$COOPD_STATE/coopd.db" "SELECT count(*) FROM graphs") || fail "sqlite3"
[ "$n" = 5 ] || fail "$n graph rows, want 5"
coopd_stop
coopd_pass
