#!/bin/sh
# test-coopctl-errors.sh -- coopctl's exit statuses and messages when things
# go wrong: no daemon (3, naming every path tried), bad usage (2), invalid
# graphs (2, with the daemon's path and reason), malformed JSON (2, with a
# line and column), unknown graphs, and a daemon that went away.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

T=$COOPD_TMP
CTL=$COOPCTL_BIN
[ -x "$CTL" ] || fail "coopctl not found at $CTL"

expect_rc() { # WANT DESCRIPTION CMD... ; stderr in $T/e
	want=$1 what=$2
	shift 2
	"$@" >"$T/o" 2>"$T/e"
	got=$?
	[ "$got" -eq "$want" ] || fail "$what: exit $got, want $want (stderr: $(cat "$T/e"))"
}

# No daemon: 3, and the message names the path.
expect_rc 3 "no daemon (--socket)" "$CTL" --socket "$T/none.sock" list
grep -q "$T/none.sock" "$T/e" || fail "unreachable message lacks the path: $(cat "$T/e")"
expect_rc 3 "no daemon (COOPD_SOCKET)" env COOPD_SOCKET="$T/env.sock" "$CTL" status
grep -q "$T/env.sock" "$T/e" || fail "unreachable message lacks \$COOPD_SOCKET's path: $(cat "$T/e")"
expect_rc 3 "no daemon (version)" "$CTL" --socket "$T/none.sock" version
grep -q '^coopctl ' "$T/o" || fail "version without a daemon printed no client version"
# --socket beats COOPD_SOCKET.
expect_rc 3 "--socket over COOPD_SOCKET" env COOPD_SOCKET="$T/env.sock" "$CTL" --socket "$T/opt.sock" list
grep -q "$T/opt.sock" "$T/e" || fail "--socket was not used: $(cat "$T/e")"
if grep -q "$T/env.sock" "$T/e"; then fail "COOPD_SOCKET tried although --socket was given"; fi

# A non-root user without a socket of their own: both default paths named.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$CTL" 2>/dev/null; then
	mkdir -p "$T/xdg" && chmod 755 "$T" "$T/xdg"
	expect_rc 3 "no daemon (non-root)" env -u COOPD_SOCKET XDG_RUNTIME_DIR="$T/xdg" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" list
	grep -q "$T/xdg/coopd.sock" "$T/e" || fail "non-root: user path not named: $(cat "$T/e")"
	grep -q "/run/coopd/coopd.sock" "$T/e" || fail "non-root: system path not named: $(cat "$T/e")"
fi

# Bad usage: 2, without any daemon.
expect_rc 2 "unknown command" "$CTL" --socket "$T/none.sock" frobnicate
expect_rc 2 "unknown global option" "$CTL" --frob list
expect_rc 2 "wait without id" "$CTL" --socket "$T/none.sock" wait
expect_rc 2 "logs without node" "$CTL" --socket "$T/none.sock" logs abc
expect_rc 2 "bad duration" "$CTL" --socket "$T/none.sock" run --timeout 5parsecs -- true
grep -q "5parsecs" "$T/e" || fail "bad duration message: $(cat "$T/e")"
expect_rc 2 "bad grace" "$CTL" --socket "$T/none.sock" cancel abc --grace x
expect_rc 2 "run without command" "$CTL" --socket "$T/none.sock" run --
expect_rc 2 "submit without file" "$CTL" --socket "$T/none.sock" submit
expect_rc 2 "submit of a missing file" "$CTL" --socket "$T/none.sock" submit "$T/missing.json"
expect_rc 0 "--help" "$CTL" --help
grep -q "submit" "$T/o" || fail "--help lists no commands"
expect_rc 0 "command --help" "$CTL" run --help
grep -q "Usage: coopctl run" "$T/o" || fail "run --help: $(cat "$T/o")"

# Malformed JSON is caught before sending: 2 with line and column.
printf '{"nodes": [\n  {"id": "a",, "kind": "task"}\n]}\n' >"$T/bad.json"
expect_rc 2 "malformed JSON" "$CTL" --socket "$T/none.sock" submit "$T/bad.json"
grep -q "line 2" "$T/e" || fail "malformed JSON message lacks the line: $(cat "$T/e")"
printf '{"nodes": []} {"x": 1}' >"$T/two.json"
expect_rc 2 "two documents" "$CTL" --socket "$T/none.sock" submit "$T/two.json"

coopd_start

# Invalid graphs: the daemon's path and reason, exit 2.
cat >"$T/g.json" <<'JSON'
{"nodes": [
  {"id": "fetch", "kind": "task", "fn": "noop"},
  {"id": "load", "kind": "task", "fn": "noop", "after": ["lod"]}
]}
JSON
expect_rc 2 "unknown sibling" coopd_ctl submit "$T/g.json"
grep -q 'nodes\[1\]\.after\[0\]' "$T/e" || fail "invalid graph message lacks the path: $(cat "$T/e")"
grep -q "lod" "$T/e" || fail "invalid graph message lacks the reason: $(cat "$T/e")"
[ ! -s "$T/o" ] || fail "an invalid graph printed an id: $(cat "$T/o")"

printf '{"nodes":[{"id":"a","kind":"task","fn":"noop","after":["b"]},{"id":"b","kind":"task","fn":"noop","after":["a"]}]}' >"$T/cycle.json"
expect_rc 2 "cycle" coopd_ctl submit "$T/cycle.json"
grep -qi "cycle" "$T/e" || fail "cycle message: $(cat "$T/e")"

printf '{"nodes":[{"id":"a","kind":"exec","argv":[]}]}' >"$T/argv.json"
expect_rc 2 "empty argv" coopd_ctl submit "$T/argv.json"
grep -q "argv" "$T/e" || fail "empty argv message: $(cat "$T/e")"

printf '{"nodes":[{"id":"a","kind":"task","fn":"spin","args":{"units":18446744073709551616}}]}' >"$T/big.json"
expect_rc 2 "out-of-range integer" coopd_ctl submit "$T/big.json"

printf '[1, 2]' >"$T/array.json"
expect_rc 2 "graph that is not an object" coopd_ctl submit "$T/array.json"

# Unknown graphs: a precise message, exit 2.
for cmd in "status nosuchgraph" "wait nosuchgraph" "cancel nosuchgraph" "logs nosuchgraph a"; do
	# shellcheck disable=SC2086
	expect_rc 2 "$cmd" coopd_ctl $cmd
	[ -s "$T/e" ] || fail "$cmd: no message"
done

# The daemon is still fine.
coopd_ctl version >/dev/null || fail "coopd does not answer after the bad requests"

# The daemon goes away: 3.
coopd_stop
expect_rc 3 "stopped daemon" coopd_ctl list
coopd_pass
