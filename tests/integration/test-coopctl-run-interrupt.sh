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

# interrupted_in_submit CMD SIG SLEEP ARG...: starts `coopctl CMD --name
# held-CMD ARG...` (whose jobs run `sleep SLEEP`), sends SIG while its
# submit is held, lets the sync go; coopctl must say it cancels, exit 1,
# and the graph must end cancelled with no job left.  (The binary itself,
# not the coopd_ctl function: a function in the background is a subshell,
# and the signal would go to that shell.)
interrupted_in_submit() {
	_cmd=$1 _sig=$2 _sleep=$3
	shift 3
	stall_next_sync
	$DEFAULT_SIGINT "$COOPCTL_BIN" --socket "$COOPD_SOCK" "$_cmd" --name "held-$_cmd" "$@" \
		>"$T/o" 2>"$T/e" &
	_pid=$!
	wait_stalled $_pid
	kill -"$_sig" $_pid
	: >"$COOPD_FAULT_FILE"
	wait_exit $_pid
	[ "$rc" -eq 1 ] || fail "$_cmd interrupted during its submit exited $rc: $(cat "$T/e")"
	grep -q "^coopctl $_cmd: interrupted: cancelling " "$T/e" \
		|| fail "$_cmd interrupted during its submit did not say it cancels: $(cat "$T/e")"
	_st=$(graph_state "held-$_cmd") || exit 1
	[ "$_st" = "cancelled" ] || fail "the graph of the interrupted $_cmd ended '$_st', not cancelled"
	pgrep -f "sleep $_sleep\$" >/dev/null && fail "the interrupted $_cmd's jobs are still running"
}

# The jobs' sleeps are told apart by this shell's pid: pgrep sees every
# process of the machine, another run of this test's included.
# 1. run, SIGINT; it also reports how its job ended.
interrupted_in_submit run INT "58.$$" -- sh -c "exec sleep 58.$$"
grep -q 'cancelled (client)' "$T/e" || fail "run did not report the cancellation: $(cat "$T/e")"

# 2. map, SIGTERM (the same handler), two jobs.
interrupted_in_submit map TERM "57.$$" -- sh -c "exec sleep 57.$$" ::: a b

coopd_stop
coopd_pass
