#!/bin/sh
# `coopctl pause ID [NODE]` / `coopctl resume ID [NODE]`: a paused node is
# shown "paused" by `status` and a dependant does not start; resume lets
# it run; pause of a settled graph and resume of one not paused fail with
# the daemon's reason (exit 2); usage errors exit 2.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
T=$COOPD_TMP

coopd_start
G='{"nodes":[{"id":"a","kind":"task","fn":"sleep","args":{"ms":600000}},
  {"id":"b","kind":"exec","argv":["true"],"after":["a"],"always":true}]}'
# The whole graph.
id=$(echo "$G" | coopd_ctl submit -) || fail "submit"
coopd_ctl pause "$id" >"$T/out" || fail "pause: $(cat "$T/out")"
grep -qx "Paused $id." "$T/out" || fail "pause output: $(cat "$T/out")"
# a ends (cancelled on its own); b (always) must stay held.
coopd_ctl cancel "$id" a >/dev/null || fail "cancel a"
coopd_ctl status "$id" >"$T/st" || fail "status"
grep -q "b .*pending.*paused" "$T/st" || fail "status does not show b paused: $(cat "$T/st")"
rc=0; coopd_ctl wait "$id" --timeout 1s >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the paused graph finished"
coopd_ctl status "$id" | grep -q "b .*pending.*paused" || fail "b started while paused: $(coopd_ctl status "$id")"
coopd_ctl resume "$id" >"$T/out" || fail "resume: $(cat "$T/out")"
grep -qx "Resumed $id." "$T/out" || fail "resume output: $(cat "$T/out")"
coopd_ctl wait "$id" >/dev/null 2>&1
coopd_ctl status "$id" | grep -q "b .*succeeded" || fail "b did not run after resume: $(coopd_ctl status "$id")"
coopd_ctl status "$id" | grep -q "paused" && fail "still shown paused: $(coopd_ctl status "$id")"
# One node.
id=$(echo "$G" | coopd_ctl submit -) || fail "submit 2"
coopd_ctl pause "$id" b >"$T/out" || fail "pause b: $(cat "$T/out")"
grep -qx "Paused b in $id." "$T/out" || fail "pause b output: $(cat "$T/out")"
coopd_ctl cancel "$id" a >/dev/null || fail "cancel a"
coopd_ctl status "$id" | grep -q "b .*pending.*paused" || fail "b not held: $(coopd_ctl status "$id")"
coopd_ctl resume "$id" b >"$T/out" || fail "resume b: $(cat "$T/out")"
grep -qx "Resumed b in $id." "$T/out" || fail "resume b output: $(cat "$T/out")"
coopd_ctl wait "$id" >/dev/null 2>&1
coopd_ctl status "$id" | grep -q "b .*succeeded" || fail "b did not run: $(coopd_ctl status "$id")"

rc=0; coopd_ctl pause "$id" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "has settled" "$T/err" || fail "pause of a settled graph: exit $rc $(cat "$T/err")"
rc=0; coopd_ctl resume "$id" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "not paused" "$T/err" || fail "resume of a graph not paused: exit $rc $(cat "$T/err")"
rc=0; coopd_ctl pause >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "graph id" "$T/err" || fail "pause without an id: exit $rc"
rc=0; coopd_ctl resume "$id" a b >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "resume with too many arguments: exit $rc"
coopd_ctl --json pause 0123456789abcdef >/dev/null 2>"$T/err" && fail "pause of an unknown graph succeeded"
grep -q "no such graph" "$T/err" || fail "unknown graph: $(cat "$T/err")"
coopd_stop
coopd_pass
