#!/bin/sh
# test-coopctl-report.sh -- what coopctl says about work that did not run
# (issue 18, defects 1-3, 7 and 10): skipped and cancelled nodes in words
# (never "cancel: ?"), the text of `cancel --reason` in `status`, cancelling
# a graph or node that had already finished, `run` of a missing or
# non-executable command (127, 126), `submit DIR` (2), and `wait`'s plain
# lines, one per state change.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

T=$COOPD_TMP
coopd_start

# Waits (with a hang guard, never a timed assertion) until FILE holds PATTERN.
wait_for_line() { # FILE PATTERN
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 1200 ] || fail "no '$2' in $1 after a long time: $(cat "$1" 2>/dev/null)"
		sleep 0.1
	done
}

# ---- Defects 1 and 2: a whole-graph cancel with a reason of our own.
cat >"$T/g.json" <<'JSON'
{"name": "report", "nodes": [
  {"id": "a", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
  {"id": "b", "kind": "exec", "argv": ["true"], "after": ["a"]},
  {"id": "s", "kind": "scope", "nodes": [
    {"id": "x", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}
]}
JSON
id=$(coopd_ctl submit "$T/g.json") || fail "submit"
# Both sleeps running first, so that x's cancel is one that reached a started
# task (a busy machine may not have polled it yet when the cancel arrives).
i=0
while [ "$(coopd_ctl --json status "$id" | grep -o '"state": *"running"' | wc -l)" -lt 4 ]; do
	i=$((i + 1))
	[ "$i" -lt 1200 ] || fail "a and x never both ran: $(coopd_ctl status "$id")"
	sleep 0.1
done
coopd_ctl cancel "$id" --reason 'nightly run "superseded"' >"$T/out" || fail "cancel exited $?"
grep -q "^Cancellation of $id requested.$" "$T/out" || fail "cancel of a running graph: $(cat "$T/out")"
coopd_ctl wait "$id" >/dev/null
[ $? -eq 1 ] || fail "wait on the cancelled graph did not exit 1"
coopd_ctl status "$id" >"$T/status" || fail "status exited $?"
if grep -q "cancel: ?" "$T/status"; then fail "status still says 'cancel: ?': $(cat "$T/status")"; fi
if grep -q "?" "$T/status"; then fail "status has a '?': $(cat "$T/status")"; fi
grep -q "b .*skipped .*skipped: after a (cancelled)" "$T/status" \
	|| fail "the skipped node does not say why: $(cat "$T/status")"
grep -q '^/ .*cancelled .*cancel: client "nightly run "superseded"", acknowledged in ' "$T/status" \
	|| fail "the --reason text is not on the root: $(cat "$T/status")"
grep -q "x .*cancelled .*cancel: client, acknowledged in " "$T/status" \
	|| fail "x lacks its reason: $(cat "$T/status")"
# The JSON carries the edge the words come from.
coopd_ctl --json status "$id" | python3 -c '
import json, sys
st = json.load(sys.stdin)
b = [n for n in st["root"]["nodes"] if n["id"] == "b"][0]
assert b["after"] == ["a"], b
assert st["root"]["cancel"]["note"] == "nightly run \"superseded\"", st["root"]["cancel"]
' || fail "status --json: after/note"

# ---- Defect 3: cancelling what had already finished says so, exit 0.
coopd_ctl cancel "$id" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] || fail "cancel of a finished graph exited $rc: $(cat "$T/err")"
grep -q "^Graph $id had already finished (cancelled); nothing to cancel.$" "$T/out" \
	|| fail "cancel of a finished graph: $(cat "$T/out")"
id2=$(printf '{"policy":"all_settled","nodes":[{"id":"n","kind":"task","fn":"noop"},{"id":"m","kind":"task","fn":"fail","args":{"message":"no"}}]}' \
	| coopd_ctl submit -) || fail "submit"
coopd_ctl wait "$id2" >/dev/null
[ $? -eq 1 ] || fail "the failing graph did not fail"
coopd_ctl cancel "$id2" >"$T/out" || fail "cancel of a failed graph exited $?"
grep -q "^Graph $id2 had already finished (failed); nothing to cancel.$" "$T/out" \
	|| fail "cancel of a failed graph: $(cat "$T/out")"
coopd_ctl cancel "$id2" n >"$T/out" || fail "cancel of a finished node exited $?"
grep -q "^Node n of $id2 had already finished (succeeded); nothing to cancel.$" "$T/out" \
	|| fail "cancel of a finished node: $(cat "$T/out")"
coopd_ctl --json cancel "$id2" >"$T/out" || fail "cancel --json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d == {"requested": True, "state": "failed"}, d' "$T/out" \
	|| fail "cancel --json of a finished graph: $(cat "$T/out")"

# ---- Defect 7: run's statuses for a command that does not start, and
# submit's usage errors.
coopd_ctl run -- nosuchcmd-coopd-test 2>"$T/err"
rc=$?
[ "$rc" -eq 127 ] || fail "run of a missing command exited $rc: $(cat "$T/err")"
grep -q "nosuchcmd-coopd-test: No such file or directory" "$T/err" || fail "run message: $(cat "$T/err")"
printf 'echo hi\n' >"$T/noexec.sh"
chmod 644 "$T/noexec.sh"
coopd_ctl run -- "$T/noexec.sh" 2>"$T/err"
rc=$?
[ "$rc" -eq 126 ] || fail "run of a non-executable file exited $rc: $(cat "$T/err")"
coopd_ctl run -- "$T" 2>"$T/err"
rc=$?
[ "$rc" -eq 126 ] || fail "run of a directory exited $rc: $(cat "$T/err")"
coopd_ctl run -- sh -c 'exit 127' 2>/dev/null
rc=$?
[ "$rc" -eq 127 ] || fail "run of a command exiting 127 exited $rc"
coopd_ctl submit "$T" 2>"$T/err"
rc=$?
[ "$rc" -eq 2 ] || fail "submit of a directory exited $rc: $(cat "$T/err")"
grep -q "is a directory" "$T/err" || fail "submit DIR message: $(cat "$T/err")"
coopd_ctl submit "$T/missing.json" 2>/dev/null
rc=$?
[ "$rc" -eq 2 ] || fail "submit of a missing file exited $rc"

# ---- Defect 10: wait's plain lines print every change as it happens.  The
# gate holds the chain until wait has printed its first line; then a, b
# and c settle within milliseconds, and each still gets a line.
cat >"$T/chain.json" <<JSON
{"name": "chain", "nodes": [
  {"id": "gate", "kind": "exec", "argv": ["sh", "-c", "while [ ! -e '$T/open' ]; do sleep 0.05; done"]},
  {"id": "a", "kind": "task", "fn": "noop", "after": ["gate"]},
  {"id": "b", "kind": "task", "fn": "noop", "after": ["a"]},
  {"id": "c", "kind": "task", "fn": "noop", "after": ["b"]}
]}
JSON
id=$(coopd_ctl submit "$T/chain.json") || fail "submit chain"
coopd_ctl wait "$id" >"$T/wait" 2>&1 &
wpid=$!
wait_for_line "$T/wait" "nodes done"
: >"$T/open"
wait "$wpid" || fail "wait exited $?: $(cat "$T/wait")"
for want in "gate succeeded (1/4 done" "a succeeded (2/4 done" "b succeeded (3/4 done" \
	"c succeeded (4/4 done" "a running" "c running"; do
	grep -q "^$id $want" "$T/wait" || fail "wait lacks '$want': $(cat "$T/wait")"
done
n=$(grep -c "^$id .* succeeded (" "$T/wait")
[ "$n" -eq 4 ] || fail "wait printed $n lines for 4 settled nodes: $(cat "$T/wait")"

# A reader too slow for coopd's event queue (event_queue_bytes): coopd drops
# the subscription; wait says so, follows by samples, and still ends with
# the outcome and exit 0.  Its output goes to a FIFO nobody reads until the
# graph has settled.
coopd_stop
printf 'event_queue_bytes = 4096\n' >"$T/small.conf"
coopd_start --config "$T/small.conf"
python3 - "$T" >"$T/wide.json" <<'PY'
import json, sys
t = sys.argv[1]
nodes = [{"id": "gate", "kind": "exec", "argv": ["sh", "-c", "while [ ! -e '%s/open2' ]; do sleep 0.05; done" % t]}]
nodes += [{"id": "n%d" % i, "kind": "task", "fn": "noop", "after": ["gate"]} for i in range(5000)]
print(json.dumps({"name": "wide", "nodes": nodes}))
PY
id=$(coopd_ctl submit "$T/wide.json") || fail "submit wide"
mkfifo "$T/fifo" || fail "mkfifo"
exec 3<>"$T/fifo"
"$COOPCTL_BIN" --socket "$COOPD_SOCK" wait "$id" >"$T/fifo" 2>"$T/slow.err" 3<&- &
wpid=$!
read -r first <&3 || fail "no first line from wait"
case $first in *"nodes done"*) ;; *) fail "first line: $first" ;; esac
: >"$T/open2"
coopd_ctl --json wait "$id" >/dev/null
[ $? -eq 0 ] || fail "the wide graph did not succeed"
# A reader of our own before the read-write end goes, so that nothing
# buffered in the FIFO is lost; it reads until wait's end closes.
exec 4<"$T/fifo"
exec 3<&-
cat <&4 >"$T/slow.out"
exec 4<&-
wait "$wpid"
rc=$?
[ "$rc" -eq 0 ] || fail "wait of a slow reader exited $rc: $(cat "$T/slow.err")"
grep -q "coopd closed the event stream" "$T/slow.err" || fail "no word of the dropped events: $(cat "$T/slow.err")"
grep -q "^$id (wide) succeeded.*: 5001 succeeded$" "$T/slow.out" || fail "no outcome: $(tail -n 3 "$T/slow.out")"

# coopctl(1) names coopd.conf(5), and its exit codes cover run's 126/127.
man_page=$top_srcdir/client/coopctl.1
grep -q '^\.BR coopd\.conf (5)' "$man_page" || fail "coopctl.1 has no SEE ALSO coopd.conf(5)"
grep -q '127 when the command was not found' "$man_page" || fail "coopctl.1 does not give run's 127"
"$COOPCTL_BIN" --help | grep -q "127 not found" || fail "--help does not give run's 127"

coopd_pass
