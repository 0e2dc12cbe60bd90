#!/bin/sh
# SIGHUP re-reads the config file: limits, retention and the log level
# change at runtime; a bad file keeps the previous settings (error logged
# with file and line); keys read only at start-up are reported as such.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

CONF=$COOPD_TMP/coopd.conf
cat >"$CONF" <<'CONF'
# a small limit so that a change is visible
max_nodes = 3
log_level = info
CONF

# hup PATTERN: SIGHUP, then wait until one more log line matches PATTERN.
hup() {
	_before=$(grep -c -- "$1" "$COOPD_LOG")
	kill -HUP "$COOPD_PID" || fail "coopd not running"
	_i=0
	while [ "$(grep -c -- "$1" "$COOPD_LOG")" -le "$_before" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 3000 ] && fail "no log line '$1' after SIGHUP"
		kill -0 "$COOPD_PID" 2>/dev/null || fail "coopd died on SIGHUP"
		sleep 0.01
	done
}

# nodes N: submit a graph of N noop tasks; prints ok or the error code
nodes() {
	coopd_py <<PY
g = {"name": "n", "nodes": [{"id": "t%d" % i, "kind": "task", "fn": "noop"} for i in range($1)]}
m = call("submit", {"graph": g})
if "error" in m:
    print(m["error"]["code"])
else:
    wait(m["result"]["id"])
    print("ok")
PY
}

coopd_start --config "$CONF"
[ "$(nodes 3)" = ok ] || fail "3 nodes refused under max_nodes = 3"
[ "$(nodes 4)" = -32003 ] || fail "4 nodes not refused under max_nodes = 3"
grep -q "settled" "$COOPD_LOG" && fail "debug lines logged at log_level = info"

# a valid change takes effect at once
cat >"$CONF" <<'CONF'
max_nodes = 5
log_level = debug
CONF
hup "configuration reloaded from $CONF"
grep -q "SIGHUP: reloading $CONF" "$COOPD_LOG" || fail "reload not logged"
[ "$(nodes 5)" = ok ] || fail "5 nodes refused after raising max_nodes to 5"
[ "$(nodes 6)" = -32003 ] || fail "6 nodes accepted under max_nodes = 5"
grep -q "<7>.*settled" "$COOPD_LOG" || fail "log_level = debug not applied by the reload"

# a bad file: an error naming file and line, the previous settings kept
cat >"$CONF" <<'CONF'
max_nodes = 1
colour = blue
CONF
hup "keeping the previous settings"
grep -q "<3>$CONF:2: unknown key 'colour'" "$COOPD_LOG" ||
	fail "bad key not reported with file and line"
[ "$(nodes 5)" = ok ] || fail "a bad file changed max_nodes"
printf 'max_nodes = lots\n' >"$CONF"
hup "keeping the previous settings"
grep -q "$CONF:1: bad value 'lots' for 'max_nodes'" "$COOPD_LOG" || fail "bad value not reported"
[ "$(nodes 5)" = ok ] || fail "a bad value changed max_nodes"
rm -f "$CONF"
hup "keeping the previous settings"
grep -q "cannot open config file $CONF" "$COOPD_LOG" || fail "missing file not reported"
coopd_py <<'PY' || fail "daemon disturbed by bad reloads"
ping_ok()
PY

# keys read at start-up only: reported, not applied; the command line wins
cat >"$CONF" <<'CONF'
blocking_threads = 7
workers = 5
retention_graphs = 1
CONF
hup "configuration reloaded from $CONF"
grep -q "'blocking_threads' changed; it takes effect when coopd is restarted" "$COOPD_LOG" ||
	fail "restart-only key change not reported"
grep -q "'workers' changed" "$COOPD_LOG" && fail "workers from the command line reported as changed"
# retention lowered at runtime: the finished graphs beyond it are pruned now
coopd_py <<'PY' || fail "retention_graphs = 1 not applied by the reload"
n = len(rpc("list", {"all": True})["graphs"])
expect(n == 1, "want 1 graph kept after retention_graphs = 1, have %d" % n)
PY
# max_nodes is back to its default (the file no longer sets it)
[ "$(nodes 6)" = ok ] || fail "max_nodes not back to its default"

# no config file at all: nothing to re-read, still serving
coopd_restart
hup "no config file"
coopd_py <<'PY' || fail "daemon disturbed by SIGHUP without a config file"
ping_ok()
PY
coopd_stop
coopd_pass
