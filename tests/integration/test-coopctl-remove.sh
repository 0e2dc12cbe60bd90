#!/bin/sh
# `coopctl remove ID...`: several ids at once; a bad id among them is
# reported and the others still go (the exit code is the worst met); an
# active graph is refused with the daemon's reason (exit 1) and keeps
# running; --json prints one answer per id; usage errors exit 2.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
T=$COOPD_TMP

coopd_start
echo '{"nodes":[{"id":"a","kind":"exec","argv":["sh","-c","echo x"]}]}' >"$T/g.json"
A=$(coopd_ctl submit "$T/g.json") || fail "submit A"
B=$(coopd_ctl submit "$T/g.json") || fail "submit B"
C=$(coopd_ctl submit "$T/g.json") || fail "submit C"
for g in "$A" "$B" "$C"; do coopd_ctl wait "$g" >/dev/null || fail "wait $g"; done

# Two at once.
coopd_ctl remove "$A" "$B" >"$T/out" 2>&1 || fail "remove A B: $(cat "$T/out")"
grep -qx "Removed $A." "$T/out" && grep -qx "Removed $B." "$T/out" || fail "remove output: $(cat "$T/out")"
for g in "$A" "$B"; do
	rc=0; coopd_ctl status "$g" >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "status of removed $g: exit $rc, expected 2 (no such graph)"
done

# An unknown id first: reported, C still removed, exit 2.
rc=0; coopd_ctl remove 0123456789abcdef "$C" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 2 ] || fail "remove with an unknown id: exit $rc"
grep -q "no such graph" "$T/err" || fail "unknown id not reported: $(cat "$T/err")"
grep -qx "Removed $C." "$T/out" || fail "C not removed after a bad id: $(cat "$T/out")"

# An active graph: refused, with the reason, and it keeps running.
D=$(echo '{"nodes":[{"id":"s","kind":"exec","argv":["sleep","600"]}]}' | coopd_ctl submit -) || fail "submit D"
rc=0; coopd_ctl remove "$D" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "remove of an active graph: exit $rc"
grep -q "still" "$T/err" && grep -q -- "-32005" "$T/err" || fail "active: $(cat "$T/err")"
coopd_ctl --json status "$D" | python3 -c 'import json,sys; assert json.load(sys.stdin)["state"] == "running"' \
	|| fail "D no longer running after a refused remove"
coopd_ctl cancel "$D" --wait >/dev/null 2>&1
# --json: one line per id, naming it.
coopd_ctl --json remove "$D" >"$T/out" || fail "remove --json"
python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).read())
assert d == {"removed": True, "id": sys.argv[2]}, d' "$T/out" "$D" || fail "--json: $(cat "$T/out")"

# Usage.
rc=0; coopd_ctl remove >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "graph id" "$T/err" || fail "remove without ids: exit $rc $(cat "$T/err")"
rc=0; coopd_ctl remove --bogus x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "remove --bogus: exit $rc"
coopd_ctl remove --help | grep -q "remove ID" || fail "remove --help"
coopd_stop
coopd_pass
