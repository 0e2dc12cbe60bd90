#!/bin/sh
# test-coopctl-follow.sh -- following running graphs: wait's plain lines
# when not on a terminal and its progress bar on one (under script(1)),
# watch, submit --follow, logs --follow, and cancel (whole graph, one node,
# --wait) with the reasons in status.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

json_ok() { python3 -c 'import json,sys
for line in sys.stdin:
    json.loads(line)'; }
T=$COOPD_TMP
coopd_start

slow='{"name":"slow","nodes":[
  {"id":"a","kind":"task","fn":"sleep","args":{"ms":600}},
  {"id":"b","kind":"task","fn":"sleep","args":{"ms":1200},"after":["a"]},
  {"id":"c","kind":"exec","argv":["sh","-c","echo one; sleep 1; echo two"]}]}'

# submit --json: the daemon's {"id"}.
printf '%s' "$slow" | coopd_ctl --json submit - >"$T/out" || fail "submit --json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert list(d) == ["id"] and d["id"], d' "$T/out" \
	|| fail "submit --json: $(cat "$T/out")"

# wait, not on a terminal: plain lines, no bar.
id=$(printf '%s' "$slow" | coopd_ctl submit -) || fail "submit"
coopd_ctl wait "$id" >"$T/out" || fail "wait exited $?: $(cat "$T/out")"
if grep -q "$(printf '\r')" "$T/out"; then fail "wait drew a bar into a pipe"; fi
grep -q "succeeded" "$T/out" || fail "wait lines: $(cat "$T/out")"

# wait on a terminal: the progress bar.
if command -v script >/dev/null 2>&1; then
	id=$(printf '%s' "$slow" | coopd_ctl submit -) || fail "submit"
	TERM=xterm script -qec "'$COOPCTL_BIN' --socket '$COOPD_SOCK' wait '$id'" /dev/null >"$T/tty" 2>&1 \
		|| fail "wait under script exited $?: $(cat -v "$T/tty")"
	grep -q "$(printf '\r')$id \[" "$T/tty" || fail "no progress bar on a terminal: $(cat -v "$T/tty")"
	grep -q "nodes" "$T/tty" || fail "progress bar lacks counts: $(cat -v "$T/tty")"
	grep -q "succeeded" "$T/tty" || fail "no outcome after the bar: $(cat -v "$T/tty")"
	# status on a terminal: colour.
	TERM=xterm script -qec "'$COOPCTL_BIN' --socket '$COOPD_SOCK' status '$id'" /dev/null >"$T/tty" 2>&1
	grep -q "$(printf '\033')\[32msucceeded" "$T/tty" || fail "no colour on a terminal: $(cat -v "$T/tty")"
	NO_COLOR=1 TERM=xterm script -qec "'$COOPCTL_BIN' --socket '$COOPD_SOCK' status '$id'" /dev/null >"$T/tty" 2>&1
	if grep -q "$(printf '\033')\[32m" "$T/tty"; then fail "colour despite NO_COLOR"; fi
fi

# watch ID: one line per state change, ends when the graph settles.  Events
# before the subscription are not sent, so 'a' leaves coopctl 3 s to
# subscribe before b starts (a loaded, sanitized run has needed over 0.6 s).
watched=$(printf '%s' "$slow" | sed 's/"ms":600}/"ms":3000}/')
id=$(printf '%s' "$watched" | coopd_ctl submit -) || fail "submit"
coopd_ctl watch "$id" >"$T/watch" || fail "watch exited $?"
grep -q "$id b running" "$T/watch" || grep -q "$id b .*running" "$T/watch" \
	|| fail "watch lacks b running: $(cat "$T/watch")"
grep -q "$id b .*succeeded" "$T/watch" || fail "watch lacks b succeeded: $(cat "$T/watch")"
grep -q "$id / .*succeeded" "$T/watch" || fail "watch lacks the root's end: $(cat "$T/watch")"
# watch of a graph that has already settled returns.
coopd_ctl watch "$id" >"$T/watch" || fail "watch of a settled graph exited $?"

# watch --json (all graphs) in the background while a graph runs.  Nothing
# says when the watch has subscribed, nor when it has printed what came:
# probe graphs go in until it shows one, and node x's end is waited for
# (hang guards only; before, a loaded machine ran x before the watch
# subscribed, or killed the watch before it printed).
coopd_ctl --json watch >"$T/watch.json" &
wpid=$!
# watch_shows NODE STATE: waits until the watch printed NODE reaching STATE.
watch_shows() {
	python3 - "$T/watch.json" "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        p = json.loads(line)
    except ValueError:
        continue
    if p.get("node") == sys.argv[2] and p.get("state") == sys.argv[3]:
        sys.exit(0)
sys.exit(1)
PY
}
i=0
until watch_shows probe succeeded; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "watch --json never showed a probe graph: $(cat "$T/watch.json")"
	kill -0 $wpid 2>/dev/null || fail "watch --json exited: $(cat "$T/watch.json")"
	printf '{"nodes":[{"id":"probe","kind":"task","fn":"noop"}]}' | coopd_ctl submit - --wait >/dev/null \
		|| fail "probe submit --wait"
	sleep 0.05
done
id=$(printf '{"nodes":[{"id":"x","kind":"task","fn":"sleep","args":{"ms":100}}]}' | coopd_ctl submit - --wait) \
	|| fail "submit --wait"
i=0
until watch_shows x succeeded; do
	i=$((i + 1))
	[ $i -lt 2400 ] || fail "watch --json lacks node x: $(cat "$T/watch.json")"
	sleep 0.05
done
kill $wpid
wait $wpid 2>/dev/null
json_ok <"$T/watch.json" || fail "watch --json lines are not JSON: $(cat "$T/watch.json")"

# submit --follow: events, then the outcome; the exit status is the work's.
printf '{"nodes":[{"id":"f","kind":"task","fn":"fail","args":{"message":"nope"}}]}' >"$T/f.json"
coopd_ctl submit "$T/f.json" --follow >"$T/out"
rc=$?
[ "$rc" -eq 1 ] || fail "submit --follow of a failing graph exited $rc"
grep -q " f .*failed" "$T/out" || fail "submit --follow lacks f failed: $(cat "$T/out")"
fid=$(head -n 1 "$T/out")
grep -q "$fid / scope running" "$T/out" || fail "submit --follow missed the first events: $(cat "$T/out")"
coopd_ctl --json submit "$T/f.json" --follow >"$T/out"
[ $? -eq 1 ] || fail "submit --json --follow of a failing graph: wrong exit status"
json_ok <"$T/out" || fail "submit --json --follow lines are not JSON: $(cat "$T/out")"

# logs --follow: all of the output of a running job, then the end.
id=$(printf '%s' "$slow" | coopd_ctl submit -) || fail "submit"
coopd_ctl logs "$id" c --follow >"$T/out" || fail "logs --follow exited $?"
[ "$(cat "$T/out")" = "$(printf 'one\ntwo')" ] || fail "logs --follow: '$(cat "$T/out")'"

# cancel a running graph: wait exits 1, status shows the reason.  (The
# exec job's sleep carries this shell's pid: pgrep below sees the whole
# machine, other tests' sleeps included.)
long='{"name":"long","nodes":[
  {"id":"t","kind":"task","fn":"sleep","args":{"ms":60000}},
  {"id":"s","kind":"scope","nodes":[
    {"id":"e","kind":"exec","argv":["sleep","58.'"$$"'"],"grace_ms":1000},
    {"id":"b","kind":"blocking","fn":"sleep","args":{"ms":60000}}]}]}'
id=$(printf '%s' "$long" | coopd_ctl submit -) || fail "submit long"
# wait --timeout: the status as it stands, exit 1, and a message.
coopd_ctl wait "$id" --timeout 200ms >"$T/out" 2>"$T/e"
rc=$?
[ "$rc" -eq 1 ] || fail "wait --timeout on a running graph exited $rc"
grep -q "still running after 200ms" "$T/e" || fail "wait --timeout said: $(cat "$T/e")"
coopd_ctl --json wait "$id" --timeout 100ms >"$T/out"
python3 -c 'import json,sys; st=json.load(open(sys.argv[1])); assert st["state"] == "running" and "root" in st, st' "$T/out" \
	|| fail "wait --json --timeout: $(cat "$T/out")"
# status of a running graph: running nodes show their time so far.
coopd_ctl status "$id" >"$T/out" || fail "status of a running graph"
grep -q "^Graph $id (long): running" "$T/out" || fail "running graph header: $(cat "$T/out")"
grep -q "t .*task .*running .*[0-9]\(ms\|s\)" "$T/out" || fail "running node line: $(cat "$T/out")"
coopd_ctl --json cancel "$id" s/e --grace 500ms >"$T/out" || fail "cancel of one node exited $?"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == {"requested": True, "state": "running"}' "$T/out" \
	|| fail "cancel --json: $(cat "$T/out")"
coopd_ctl cancel "$id" --reason "test over" --wait >"$T/out"
rc=$?
[ "$rc" -eq 1 ] || fail "cancel --wait exited $rc: $(cat "$T/out")"
coopd_ctl wait "$id" >/dev/null
[ $? -eq 1 ] || fail "wait on a cancelled graph did not exit 1"
coopd_ctl status "$id" >"$T/out" || fail "status"
grep -q "^Graph $id (long): cancelled" "$T/out" || fail "cancelled graph: $(cat "$T/out")"
grep -q "t .*cancelled.*cancel: client" "$T/out" || fail "status lacks t's reason: $(cat "$T/out")"
grep -q "acknowledged in" "$T/out" || fail "status lacks the acknowledgement: $(cat "$T/out")"
pgrep -f "sleep 58.$$\$" >/dev/null && fail "the cancelled exec job is still running"

# A graph that was running when coopd died is interrupted: wait exits 1.
id=$(printf '%s' "$long" | sed 's/58\.913/56.789/' | coopd_ctl submit -) || fail "submit long"
coopd_kill9
coopd_start
coopd_ctl wait "$id" >"$T/out"
rc=$?
[ "$rc" -eq 1 ] || fail "wait on an interrupted graph exited $rc: $(cat "$T/out")"
coopd_ctl status "$id" >"$T/out" || fail "status of an interrupted graph"
grep -q "^Graph $id (long): interrupted" "$T/out" || fail "interrupted graph: $(cat "$T/out")"

coopd_stop
coopd_pass
