#!/bin/sh
# test-coopctl-run-interrupt.sh -- Ctrl-C while `coopctl run` (and `map`)
# waits for the answer to its submit (client-interrupt.c): the graph is
# cancelled once its id is known, and coopctl says so, instead of coopctl
# dying and leaving the graph running with nobody to cancel it.
#
# The submit's answer is held back by the fault shim (tests/fault-shim.c,
# "stall"): coopd answers a submit only after its commit's fdatasync
# (docs/durability.md), and the shim holds every sync until the test lets
# it go, creating fault.stalled when one is held.  The SIGINT is sent while
# the sync is held, so it arrives with the submit in flight, whatever the
# timing.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

T=$COOPD_TMP
coopd_fault_shim
coopd_start_shimmed

# Holds the next sync and waits (hang guard only) until coopd is in it.
stall_next_sync() {
	rm -f "$COOPD_FAULT_FILE.stalled"
	echo stall >"$COOPD_FAULT_FILE"
}
wait_stalled() {
	_i=0
	until [ -e "$COOPD_FAULT_FILE.stalled" ]; do
		_i=$((_i + 1))
		[ $_i -lt 2400 ] || fail "no sync was held: the submit never reached the commit"
		kill -0 "$1" 2>/dev/null || fail "coopctl exited before its submit was held: $(cat "$T/e")"
		sleep 0.05
	done
}

# Waits for coopctl (pid $1) to exit, with a generous hang guard; sets rc.
wait_exit() {
	_i=0
	while kill -0 "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 2400 ] || { kill -KILL "$1"; fail "coopctl did not exit after the interrupt"; }
		sleep 0.05
	done
	rc=0
	wait "$1" || rc=$?
}

# The one graph named $1: its state, once settled (wait answers then).
graph_state() {
	coopd_ctl --json list --all >"$T/l" || fail "list: $?"
	gid=$(python3 - "$T/l" "$1" <<'PY'
import json, sys
gs = [g for g in json.load(open(sys.argv[1]))["graphs"] if g.get("name") == sys.argv[2]]
assert len(gs) == 1, gs
print(gs[0]["id"])
PY
) || fail "not exactly one graph named $1: $(cat "$T/l")"
	# (wait exits 1 for a graph that did not succeed: the answer is what counts)
	coopd_ctl --json wait --timeout 60s "$gid" >"$T/w"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$T/w"
}

# A command in the background of a script starts with SIGINT ignored; a
# terminal's Ctrl-C meets coopctl with it at its default (death), so that
# is how coopctl is started here (env --default-signal, when env has it).
DEFAULT_SIGINT=
env --default-signal=INT true 2>/dev/null && DEFAULT_SIGINT="env --default-signal=INT"

# 1. run: SIGINT while the submit is in flight.  (The binary itself, not
# the coopd_ctl function: a function in the background is a subshell, and
# the signal would go to that shell.)
stall_next_sync
$DEFAULT_SIGINT "$COOPCTL_BIN" --socket "$COOPD_SOCK" run --name held-run -- sh -c 'exec sleep 58.913' \
	>"$T/o" 2>"$T/e" &
pid=$!
wait_stalled $pid
kill -INT $pid
: >"$COOPD_FAULT_FILE"
wait_exit $pid
[ "$rc" -eq 1 ] || fail "run interrupted during its submit exited $rc: $(cat "$T/e")"
grep -q '^coopctl run: interrupted: cancelling ' "$T/e" \
	|| fail "run interrupted during its submit did not say it cancels: $(cat "$T/e")"
grep -q 'cancelled (client)' "$T/e" || fail "run did not report the cancellation: $(cat "$T/e")"
st=$(graph_state held-run) || exit 1
[ "$st" = "cancelled" ] || fail "the graph of the interrupted run ended '$st', not cancelled"
pgrep -f 'sleep 58.913' >/dev/null && fail "the interrupted run's job is still running"

# 2. map: the same, with SIGTERM (the same handler).
stall_next_sync
$DEFAULT_SIGINT "$COOPCTL_BIN" --socket "$COOPD_SOCK" map --name held-map -- sh -c 'exec sleep 57.913' ::: a b \
	>"$T/o" 2>"$T/e" &
pid=$!
wait_stalled $pid
kill -TERM $pid
: >"$COOPD_FAULT_FILE"
wait_exit $pid
[ "$rc" -eq 1 ] || fail "map interrupted during its submit exited $rc: $(cat "$T/e")"
grep -q '^coopctl map: interrupted: cancelling ' "$T/e" \
	|| fail "map interrupted during its submit did not say it cancels: $(cat "$T/e")"
st=$(graph_state held-map) || exit 1
[ "$st" = "cancelled" ] || fail "the graph of the interrupted map ended '$st', not cancelled"
pgrep -f 'sleep 57.913' >/dev/null && fail "the interrupted map's jobs are still running"

coopd_stop
coopd_pass
