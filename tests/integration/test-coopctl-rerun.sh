#!/bin/sh
# `coopctl rerun ID [--failed] [--wait]`: prints the new id; --failed runs
# only what did not succeed (status shows the rest as reused); --wait
# follows the new graph and exits as `wait` does; an active graph is
# refused (exit 1), an unknown id exit 2, bad usage exit 2.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
T=$COOPD_TMP

coopd_start
cat >"$T/g.json" <<JSON
{"nodes": [{"id": "a", "kind": "exec", "argv": ["sh", "-c", "echo a >> $T/ran"]},
           {"id": "b", "kind": "exec", "after": ["a"], "argv": ["sh", "-c", "echo b >> $T/ran; test -e $T/ok"]}]}
JSON
id=$(coopd_ctl submit "$T/g.json") || fail "submit"
rc=0; coopd_ctl wait "$id" >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "the first run should fail (exit $rc)"
touch "$T/ok"
: >"$T/ran"
new=$(coopd_ctl rerun "$id" --failed) || fail "rerun --failed"
case $new in *' '* | '') fail "rerun printed more than an id: $new" ;; esac
coopd_ctl wait "$new" >/dev/null || fail "the rerun failed"
[ "$(cat "$T/ran")" = b ] || fail "rerun --failed ran: $(cat "$T/ran")"
coopd_ctl --json status "$new" | python3 -c 'import json,sys
st = json.load(sys.stdin)
a, b = st["root"]["nodes"]
assert a["reused"] is True and "reused" not in b and st["state"] == "succeeded", st' \
	|| fail "status of the rerun: $(coopd_ctl --json status "$new")"
: >"$T/ran"
coopd_ctl rerun "$new" --wait >"$T/out" || fail "rerun --wait: exit $? $(cat "$T/out")"
[ "$(sort "$T/ran" | tr '\n' ' ')" = "a b " ] || fail "rerun ran: $(cat "$T/ran")"
grep -q succeeded "$T/out" || fail "rerun --wait output: $(cat "$T/out")"

# Refusals.
busy=$(echo '{"nodes":[{"id":"s","kind":"exec","argv":["sleep","600"]}]}' | coopd_ctl submit -) || fail "submit busy"
rc=0; coopd_ctl rerun "$busy" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "still running" "$T/err" || fail "rerun of an active graph: exit $rc $(cat "$T/err")"
coopd_ctl cancel "$busy" --wait >/dev/null 2>&1
rc=0; coopd_ctl rerun 0123456789abcdef >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "no such graph" "$T/err" || fail "unknown id: exit $rc $(cat "$T/err")"
rc=0; coopd_ctl rerun >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "rerun without an id: exit $rc"
rc=0; coopd_ctl rerun "$id" extra >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "rerun with two ids: exit $rc"
coopd_stop
coopd_pass
