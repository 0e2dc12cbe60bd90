#!/bin/sh
# test-coopctl-run.sh -- `coopctl run -- CMD`: output and exit status of
# the command, stderr, timeouts, signals, --env, --name, the working
# directory, large output, --json, and Ctrl-C cancelling the job.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

T=$COOPD_TMP
coopd_start

out=$(coopd_ctl run -- sh -c 'echo hi; exit 3')
rc=$?
[ "$out" = "hi" ] || fail "run printed '$out', not 'hi'"
[ "$rc" -eq 3 ] || fail "run exited $rc, not 3"

coopd_ctl run -- true || fail "run true exited $?"
coopd_ctl run -- false && fail "run false exited 0"

coopd_ctl run -- sh -c 'echo to-out; echo to-err >&2' >"$T/o" 2>"$T/e" || fail "run (2 streams) exited $?"
[ "$(cat "$T/o")" = "to-out" ] || fail "run stdout: '$(cat "$T/o")'"
grep -q '^to-err$' "$T/e" || fail "run stderr: '$(cat "$T/e")'"

# Options after the command are the command's.
[ "$(coopd_ctl run echo -n -e x)" = "x" ] || fail "run without -- mangled the command's options"

# Environment and working directory.
[ "$(coopd_ctl run --env FOO=bar -- sh -c 'echo $FOO')" = "bar" ] || fail "run --env"
mkdir "$T/wd"
[ "$(cd "$T/wd" && coopd_ctl run -- pwd)" = "$T/wd" ] || fail "run did not keep the working directory"

# Large output arrives whole and in order.
coopd_ctl run -- seq 1 50000 >"$T/seq" || fail "run seq exited $?"
seq 1 50000 | cmp -s - "$T/seq" || fail "run seq output differs ($(wc -c <"$T/seq") bytes)"

# A signal: 128 + N, like a shell.
coopd_ctl run -- sh -c 'kill -TERM $$' 2>"$T/e"
rc=$?
[ "$rc" -eq 143 ] || fail "run killed by SIGTERM exited $rc: $(cat "$T/e")"
grep -q 'SIGTERM' "$T/e" || fail "run did not say which signal: $(cat "$T/e")"

# A timeout: exit 1, and the message says why.
coopd_ctl run --timeout 300ms -- sleep 30 2>"$T/e"
rc=$?
[ "$rc" -eq 1 ] || fail "run --timeout exited $rc"
grep -q 'timeout' "$T/e" || fail "run --timeout message: $(cat "$T/e")"

# --name names the graph; --json prints the final status.
coopd_ctl run --name named-run -- true || fail "run --name"
coopd_ctl list --all | grep -q 'named-run' || fail "run --name: no graph named named-run"
coopd_ctl --json run -- sh -c 'exit 4' >"$T/j"
rc=$?
[ "$rc" -eq 4 ] || fail "run --json exited $rc"
python3 - "$T/j" <<'PY' || fail "run --json: $(cat "$T/j")"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["state"] == "failed", st
assert st["root"]["nodes"][0]["exit_code"] == 4, st
PY

# A command that cannot start: a failure, not a hang.
coopd_ctl run -- /nonexistent/command 2>"$T/e"
rc=$?
[ "$rc" -ne 0 ] || fail "run of a missing command exited 0"

# Ctrl-C cancels the job (and waits for it), so nothing keeps running.
# (its sleep carries this shell's pid: pgrep sees other tests' sleeps too)
# (the binary itself, not the coopd_ctl function: a function in the
# background is a subshell, and the signal would go to that shell)
"$COOPCTL_BIN" --socket "$COOPD_SOCK" run -- sh -c "echo started; exec sleep 59.$$" >"$T/o" 2>"$T/e" &
pid=$!
i=0
until grep -q started "$T/o" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "run did not start"
	kill -0 $pid 2>/dev/null || fail "run exited early: $(cat "$T/e")"
	sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
[ "$rc" -eq 1 ] || fail "run interrupted exited $rc: $(cat "$T/e")"
grep -q 'cancel' "$T/e" || fail "run interrupted said: $(cat "$T/e")"
coopd_ctl --json list --all >"$T/l"
python3 - "$T/l" <<'PY' || fail "the interrupted run's graph is not cancelled: $(cat "$T/l")"
import json, sys
gs = json.load(open(sys.argv[1]))["graphs"]
assert any(g["state"] == "cancelled" for g in gs), gs
assert not any(g["state"] in ("running", "cancelling", "pending") for g in gs), gs
PY
pgrep -f "sleep 59.$$\$" >/dev/null && fail "the interrupted job's sleep is still running"

coopd_stop
coopd_pass
