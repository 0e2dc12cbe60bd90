#!/bin/sh
# test-coopctl-top.sh -- `coopctl top` (issue 18) the way a person uses it:
# under tmux on an 80x24 terminal, read back with `tmux capture-pane`: the
# running graph and its running nodes on screen, every line within the
# terminal; a resize (SIGWINCH) redraws at once for the new size (with a
# refresh interval of an hour, only the resize can have redrawn it); `q`
# quits.  Not on a terminal: one plain line per refresh.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"
T=$COOPD_TMP
TMUX_SOCK=$T/tmux.sock
coopd_start

wait_until() { # CONDITION (shell), with a hang guard; never a timed assertion
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ "$i" -lt 600 ] || fail "gave up waiting for: $1 (screen: $(screen))"
		sleep 0.1
	done
}
screen() { tmux -S "$TMUX_SOCK" capture-pane -p -t top 2>/dev/null; }
fits() { # COLS ROWS: the captured screen has no line wider, no more lines
	screen >"$T/screen"
	[ "$(wc -l <"$T/screen")" -le "$2" ] &&
		! awk -v w="$1" 'length($0) > w { bad = 1 } END { exit !bad }' "$T/screen"
}
cleanup_tmux() { tmux -S "$TMUX_SOCK" kill-server 2>/dev/null; }
trap '_rc=$?; cleanup_tmux; (exit $_rc); _coopd_cleanup' EXIT

id=$(printf '{"name":"busy","nodes":[
  {"id":"spinner","kind":"task","fn":"spin","args":{"units":9000000000000}},
  {"id":"napper","kind":"exec","argv":["sleep","600"]},
  {"id":"outer","kind":"scope","nodes":[{"id":"deep","kind":"task","fn":"sleep","args":{"ms":600000}}]}]}' |
	coopd_ctl submit -) || fail "submit"

# Every node running before top starts: it fetches once, then only redraws.
running3() {
	coopd_ctl --json status "$id" | python3 -c '
import json, sys
st = json.load(sys.stdin)
def walk(n):
    for c in n.get("nodes", []):
        yield c
        yield from walk(c)
sys.exit(0 if sum(1 for n in walk(st["root"]) if n["kind"] != "scope" and n["state"] == "running") == 3 else 1)'
}
wait_until running3

# 80x24, refreshing every hour: what is on screen after a resize can only
# come from the SIGWINCH redraw.
tmux -S "$TMUX_SOCK" new-session -d -s top -x 80 -y 24 \
	"'$COOPCTL_BIN' --socket '$COOPD_SOCK' top -d 1h; echo top-exited-\$?; sleep 600" \
	|| fail "tmux new-session failed"
wait_until 'screen | grep -q "outer/deep"'
s=$(screen)
printf '%s\n' "$s" | grep -q "^coopctl top " || fail "no header: $s"
printf '%s\n' "$s" | grep -q "^$id  busy .*running .*\[.*\]  0/4" || fail "graph line with progress: $s"
for n in spinner napper outer/deep; do
	printf '%s\n' "$s" | grep -q "^$id  $n  *\(task\|exec\)  *running  *[0-9.]*\(ms\|s\|m[0-9]*s\)$" \
		|| fail "running node $n not on screen: $s"
done
printf '%s\n' "$s" | grep -q "^Workers 2 .*forced yields/s" || fail "executor line: $s"
printf '%s\n' "$s" | grep -q "^Cancel requests " || fail "cancellation line: $s"
fits 80 24 || fail "the screen does not fit 80x24: $(cat "$T/screen")"

# Narrower and shorter: redrawn for 50x12 (no progress bar column, cut lines).
tmux -S "$TMUX_SOCK" resize-window -t top -x 50 -y 12 || fail "resize-window"
wait_until 'screen | grep -q "^ID  *NAME  *STATE  *DONE/"'
fits 50 12 || fail "the screen does not fit 50x12: $(cat "$T/screen")"
screen | grep -q PROGRESS && fail "the 80-column layout is still there: $(screen)"
screen | grep -q "^$id  busy" || fail "the graph is gone at 50x12: $(screen)"
# Wider again: the bar comes back.
tmux -S "$TMUX_SOCK" resize-window -t top -x 100 -y 30 || fail "resize-window"
wait_until 'screen | grep -q "PROGRESS"'
fits 100 30 || fail "the screen does not fit 100x30: $(cat "$T/screen")"
screen | grep -q "^$id  $(printf '%s' napper)" || fail "running nodes gone at 100x30: $(screen)"

# q quits (and top's exit status is 0).
tmux -S "$TMUX_SOCK" send-keys -t top q
wait_until 'screen | grep -q "top-exited-"'
screen | grep -q "top-exited-0" || fail "top did not exit 0: $(screen)"
cleanup_tmux

# Not a terminal: plain lines, one per refresh, no escapes.
coopd_ctl top -n 2 -d 100ms >"$T/plain" || fail "top -n 2 exited $?"
[ "$(wc -l <"$T/plain")" -eq 2 ] || fail "top -n 2 printed: $(cat "$T/plain")"
grep -q "graphs 1, running nodes 3 (on Slurm 0), workers 2" "$T/plain" || fail "plain line: $(cat "$T/plain")"
if grep -q "$(printf '\033')" "$T/plain"; then fail "escapes in plain lines"; fi
coopd_ctl top -d 10ms 2>/dev/null
[ $? -eq 2 ] || fail "top -d 10ms did not exit 2"
coopd_ctl top extra 2>/dev/null
[ $? -eq 2 ] || fail "top with an argument did not exit 2"

coopd_ctl cancel "$id" >/dev/null || fail "cancel"
coopd_pass
