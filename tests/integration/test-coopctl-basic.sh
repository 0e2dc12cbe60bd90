#!/bin/sh
# test-coopctl-basic.sh -- every query command of coopctl against the real
# coopd: version, submit (file and stdin), wait, status (tree and --json),
# list, logs, stats, metrics, and the exit status of a failed graph.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

json_ok() { python3 -c 'import json,sys; json.loads(sys.stdin.read())'; }
# One JSON document per line (answers of commands that print several).
json_lines_ok() { python3 -c 'import json,sys
n = 0
for line in sys.stdin:
    json.loads(line)
    n += 1
assert n > 0'; }
T=$COOPD_TMP

coopd_start

# version: both sides, and --json is the daemon's answer.
coopd_ctl version >"$T/out" || fail "version failed"
grep -q '^coopctl ' "$T/out" || fail "version: no coopctl line: $(cat "$T/out")"
grep -q "^coopd .* at $COOPD_SOCK" "$T/out" || fail "version: no coopd line: $(cat "$T/out")"
# ping: the socket that answered; --json is the daemon's empty answer.
coopd_ctl ping >"$T/out" || fail "ping failed"
grep -q "^coopd answered at $COOPD_SOCK in [0-9.]* ms$" "$T/out" || fail "ping: $(cat "$T/out")"
coopd_ctl --json ping >"$T/out" || fail "ping --json failed"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == {}' "$T/out" || fail "ping --json: $(cat "$T/out")"
coopd_ctl --json version >"$T/out" || fail "version --json failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["protocol"] >= 1 and d["version"]' "$T/out" \
	|| fail "version --json: $(cat "$T/out")"

# A graph with an exec job (stdout and stderr), a task and a scope.
cat >"$T/g.json" <<'JSON'
{
  "name": "basic",
  "nodes": [
    {"id": "hello", "kind": "exec", "argv": ["sh", "-c", "echo out-line; echo err-line >&2"]},
    {"id": "warm", "kind": "task", "fn": "spin", "args": {"units": 1000}},
    {"id": "inner", "kind": "scope", "policy": "all_settled", "after": ["hello"], "nodes": [
      {"id": "nap", "kind": "task", "fn": "sleep", "args": {"ms": 50}},
      {"id": "noop", "kind": "blocking", "fn": "noop"}
    ]}
  ]
}
JSON
id=$(coopd_ctl submit "$T/g.json") || fail "submit failed"
[ -n "$id" ] || fail "submit printed no id"
case $id in *' '*) fail "submit printed more than an id: $id" ;; esac

coopd_ctl wait "$id" >"$T/wait.out" || fail "wait $id: exit $? ($(cat "$T/wait.out"))"
grep -q "succeeded" "$T/wait.out" || fail "wait output lacks the outcome: $(cat "$T/wait.out")"
if grep -q "$(printf '\r')" "$T/wait.out"; then fail "wait drew a progress bar into a file"; fi

# status: the tree names every node with its state.
coopd_ctl status "$id" >"$T/status.out" || fail "status failed"
for n in hello warm inner nap noop; do
	grep -q "$n .*succeeded" "$T/status.out" || fail "status lacks $n: $(cat "$T/status.out")"
done
grep -q "^Graph $id (basic): succeeded" "$T/status.out" || fail "status header: $(cat "$T/status.out")"
grep -q '^[ |│]  [|`├└]\(-\|─\) nap ' "$T/status.out" || fail "status: nap not drawn under inner: $(cat "$T/status.out")"
grep -q "exit 0" "$T/status.out" || fail "status lacks the exit code: $(cat "$T/status.out")"

coopd_ctl --json status "$id" >"$T/status.json" || fail "status --json failed"
python3 - "$T/status.json" "$id" <<'PY' || fail "status --json is not the status: $(head -c 2000 "$T/status.json")"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["id"] == sys.argv[2] and st["state"] == "succeeded", st
assert [n["id"] for n in st["root"]["nodes"]] == ["hello", "warm", "inner"], st
PY
coopd_ctl status --summary "$id" >"$T/out" || fail "status --summary failed"
grep -q "succeeded" "$T/out" || fail "summary: $(cat "$T/out")"

# list / status without an id / --json list.
coopd_ctl list --all >"$T/out" || fail "list --all failed"
grep -q "^$id .*basic.*succeeded" "$T/out" || fail "list --all lacks $id: $(cat "$T/out")"
head -n 1 "$T/out" | grep -q "^ID " || fail "list has no header: $(cat "$T/out")"
coopd_ctl list >/dev/null || fail "list failed"
coopd_ctl status --all >"$T/out" || fail "status --all failed"
grep -q "$id" "$T/out" || fail "status --all lacks $id"
coopd_ctl --json list --all | json_ok || fail "list --json is not JSON"
# Global options after the command.
"$COOPCTL_BIN" list --all --json --socket "$COOPD_SOCK" | json_ok || fail "list --all --json --socket"

# logs: exactly what the job wrote, per stream.
coopd_ctl logs "$id" hello >"$T/out" || fail "logs failed"
[ "$(cat "$T/out")" = "out-line" ] || fail "logs stdout: '$(cat "$T/out")'"
coopd_ctl logs "$id" hello --stderr >"$T/out" || fail "logs --stderr failed"
[ "$(cat "$T/out")" = "err-line" ] || fail "logs stderr: '$(cat "$T/out")'"
coopd_ctl --json logs "$id" hello >"$T/out" || fail "logs --json failed"
json_lines_ok <"$T/out" || fail "logs --json is not JSON lines: $(cat "$T/out")"
grep -q 'out-line' "$T/out" || fail "logs --json lacks the data: $(cat "$T/out")"

# Graph from standard input, with --wait: exit status of the work.
printf '{"nodes":[{"id":"a","kind":"task","fn":"noop"}]}' | coopd_ctl submit - --wait >"$T/out" \
	|| fail "submit - --wait: exit $?: $(cat "$T/out")"
grep -q "succeeded" "$T/out" || fail "submit --wait: $(cat "$T/out")"

# A failed graph: wait exits 1 and the report names the failure.
printf '{"nodes":[{"id":"bad","kind":"task","fn":"fail","args":{"message":"it broke"}},
  {"id":"after","kind":"task","fn":"noop","after":["bad"]}]}' >"$T/fail.json"
fid=$(coopd_ctl submit "$T/fail.json") || fail "submit fail.json"
coopd_ctl wait "$fid" >"$T/out"
rc=$?
[ "$rc" -eq 1 ] || fail "wait on a failed graph exited $rc"
grep -q "failed" "$T/out" || fail "wait on a failed graph: $(cat "$T/out")"
coopd_ctl status "$fid" >"$T/out" || fail "status of a failed graph exited $?"
grep -q "bad .*failed.*it broke" "$T/out" || fail "status lacks the error: $(cat "$T/out")"
grep -q "after .*skipped" "$T/out" || fail "status lacks the skipped node: $(cat "$T/out")"
coopd_ctl --json wait "$fid" >"$T/out"
[ $? -eq 1 ] || fail "wait --json on a failed graph: wrong exit status"
json_ok <"$T/out" || fail "wait --json is not JSON"

# stats and metrics.
coopd_ctl stats >"$T/out" || fail "stats failed"
[ -s "$T/out" ] || fail "stats printed nothing"
coopd_ctl --json stats | json_ok || fail "stats --json is not JSON"
coopd_ctl metrics >"$T/out" || fail "metrics failed"
grep -q '^coopd_build_info' "$T/out" || fail "metrics lacks coopd_build_info"
grep -q '^coopd_graphs_submitted_total' "$T/out" || fail "metrics lacks coopd_graphs_submitted_total"
coopd_ctl --json metrics | json_ok || fail "metrics --json is not JSON"

coopd_stop
coopd_pass
