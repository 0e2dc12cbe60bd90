#!/bin/sh
# Retries through coopctl: `status` shows "attempt N/M" on a retried node
# (while it waits for its next attempt and after it has settled), `logs
# --attempt N` prints one attempt's output (default: the last), and bad
# --attempt values are usage errors (exit 2) or the daemon's (exit 2).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
T=$COOPD_TMP

coopd_start
mkdir "$T/w"
cat >"$T/g.json" <<JSON
{"nodes": [{"id": "f", "kind": "exec", "cwd": "$T/w", "retries": 3, "retry_delay_ms": 10,
  "argv": ["sh", "-c", "c=\$(cat n 2>/dev/null || echo 0); c=\$((c+1)); echo \$c > n; echo out \$c; [ \$c -ge 2 ]"]}]}
JSON
id=$(coopd_ctl submit "$T/g.json") || fail "submit"
coopd_ctl wait "$id" >/dev/null || fail "wait: the graph did not succeed"
coopd_ctl status "$id" >"$T/st" || fail "status"
grep -q "f .*succeeded.*attempt 2/4" "$T/st" || fail "status lacks 'attempt 2/4': $(cat "$T/st")"
[ "$(coopd_ctl logs "$id" f --attempt 1)" = "out 1" ] || fail "logs --attempt 1: $(coopd_ctl logs "$id" f --attempt 1)"
[ "$(coopd_ctl logs "$id" f --attempt 2)" = "out 2" ] || fail "logs --attempt 2"
[ "$(coopd_ctl logs "$id" f)" = "out 2" ] || fail "logs without --attempt: the last"
rc=0; coopd_ctl logs "$id" f --attempt 3 >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "2 attempt(s) so far" "$T/err" || fail "--attempt 3: exit $rc $(cat "$T/err")"
for bad in 0 -1 x 102; do
	rc=0; coopd_ctl logs "$id" f --attempt "$bad" >/dev/null 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "invalid attempt" "$T/err" || fail "--attempt $bad: exit $rc $(cat "$T/err")"
done

# Waiting for its next attempt: running, and the attempt it is at.
id=$(echo '{"nodes":[{"id":"w","kind":"exec","argv":["false"],"retries":4,"retry_delay_ms":600000}]}' | coopd_ctl submit -) || fail "submit w"
i=0
until coopd_ctl status "$id" | grep -q "w .*running.*attempt 1/5, exit 1"; do
	i=$((i + 1))
	[ $i -lt 3000 ] || fail "status never showed the failed first attempt: $(coopd_ctl status "$id")"
	sleep 0.01
done
coopd_ctl cancel "$id" --wait >/dev/null 2>&1
coopd_ctl status "$id" | grep -q "w .*cancelled.*attempt 1/5" || fail "cancelled between attempts: $(coopd_ctl status "$id")"
# A bad retry count through coopctl: the daemon's path and reason, exit 2.
rc=0
echo '{"nodes":[{"id":"n","kind":"exec","argv":["true"],"retries":-1}]}' | coopd_ctl submit - >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "nodes\[0\].retries" "$T/err" || fail "retries -1: exit $rc $(cat "$T/err")"
rc=0
echo '{"nodes":[{"id":"n","kind":"exec","argv":["true"],"retry_backoff":0}]}' | coopd_ctl submit - >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "nodes\[0\].retry_backoff" "$T/err" || fail "retry_backoff 0: exit $rc $(cat "$T/err")"
coopd_stop
coopd_pass
