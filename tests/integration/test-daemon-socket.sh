#!/bin/sh
# The socket and the command line: permissions, stale sockets, a second
# daemon on the same socket, socket activation, `coopd` with no arguments
# as an ordinary user, --help, config file errors, peer credentials.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
mode=$(stat -c %a "$COOPD_SOCK")
if [ "$(id -u)" = 0 ]; then want=660; else want=600; fi
[ "$mode" = "$want" ] || fail "socket mode $mode, want $want"

# SIGHUP (a closed terminal) does not stop the daemon
kill -HUP "$COOPD_PID"
coopd_py <<'PY' || fail "after SIGHUP"
for _ in range(100 * SLOW):
    if "SIGHUP" in open(os.path.join(os.environ["COOPD_TMP"], "coopd.log")).read():
        break
    time.sleep(0.02)
ping_ok()
PY
grep -q "SIGHUP" "$COOPD_LOG" || fail "SIGHUP not logged"

# a second daemon on the same socket refuses to start, clearly
if "$COOPD_BIN" --socket "$COOPD_SOCK" --state-dir "$COOPD_TMP/state2" >"$COOPD_TMP/second.log" 2>&1; then
	fail "a second coopd started on a live socket"
fi
grep -q "already listening" "$COOPD_TMP/second.log" || fail "no clear message: $(cat "$COOPD_TMP/second.log")"
coopd_py <<'PY' || fail "first daemon disturbed"
ping_ok()
PY

# a stale socket (kill -9 leaves the file) is replaced
coopd_kill9
[ -S "$COOPD_SOCK" ] || fail "kill -9 should leave the socket file"
coopd_start
grep -q "stale socket" "$COOPD_LOG" || fail "stale socket not reported"

# a file that is not a socket is never replaced
coopd_stop
[ -e "$COOPD_SOCK" ] && fail "socket file left after a clean stop"
echo data >"$COOPD_TMP/notasocket"
if "$COOPD_BIN" --socket "$COOPD_TMP/notasocket" --state-dir "$COOPD_TMP/state" >"$COOPD_TMP/ns.log" 2>&1; then
	fail "coopd replaced a regular file"
fi
[ "$(cat "$COOPD_TMP/notasocket")" = data ] || fail "regular file changed"

# --help documents every option; bad options and config keys are refused
"$COOPD_BIN" --help >"$COOPD_TMP/help" || fail "--help failed"
for opt in --socket --config --workers --blocking-threads --state-dir --metrics-listen --foreground; do
	grep -q -- "$opt" "$COOPD_TMP/help" || fail "--help does not document $opt"
done
"$COOPD_BIN" --workers 0 >/dev/null 2>&1 && fail "--workers 0 accepted"
"$COOPD_BIN" --no-such-option >/dev/null 2>&1 && fail "unknown option accepted"
echo "colour = blue" >"$COOPD_TMP/bad.conf"
"$COOPD_BIN" --config "$COOPD_TMP/bad.conf" --socket "$COOPD_TMP/x.sock" \
	--state-dir "$COOPD_TMP/state" >"$COOPD_TMP/bad.log" 2>&1 && fail "unknown config key accepted"
grep -q "unknown key 'colour'" "$COOPD_TMP/bad.log" || fail "config error unclear: $(cat "$COOPD_TMP/bad.log")"

# socket activation: systemd passes the listening socket (LISTEN_FDS)
if command -v systemd-socket-activate >/dev/null 2>&1; then
	ACT=$COOPD_TMP/act.sock
	systemd-socket-activate -l "$ACT" "$COOPD_BIN" --state-dir "$COOPD_TMP/state" \
		>"$COOPD_TMP/act.log" 2>&1 &
	act_pid=$!
	COOPD_SOCK=$ACT coopd_py <<'PY' || fail "socket activation"
for _ in range(200):
    try:
        ping_ok()
        break
    except OSError:
        time.sleep(0.05)
ping_ok()
PY
	kill -TERM "$act_pid"
	wait "$act_pid"
	grep -q "passed by systemd" "$COOPD_TMP/act.log" || fail "activation not used: $(cat "$COOPD_TMP/act.log")"
fi

# `coopd` with no arguments as an ordinary user: socket in XDG_RUNTIME_DIR
# (0600), state in ~/.local/state/coopd (0700); graphs owned by that user
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	U=$COOPD_TMP/user
	mkdir -p "$U/run" "$U/home"
	chown -R nobody "$U"
	chmod 755 "$COOPD_TMP"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i PATH="$PATH" HOME="$U/home" XDG_RUNTIME_DIR="$U/run" "$COOPD_BIN" \
		>"$COOPD_TMP/user.log" 2>&1 &
	user_pid=$!
	COOPD_SOCK=$U/run/coopd.sock coopd_py <<'PY' || { cat "$COOPD_TMP/user.log"; fail "user instance"; }
for _ in range(200):
    try:
        ping_ok()
        break
    except OSError:
        time.sleep(0.05)
gid = submit({"nodes": [{"id": "w", "kind": "exec", "argv": ["id", "-u"]}]})
st = wait(gid)
expect(st["state"] == "succeeded", "user graph", st)
out = rpc("logs", {"id": gid, "node": "w", "stream": "stdout"})["data"]
expect(out.strip() == "65534", "job runs as the daemon's user", out)
PY
	[ "$(stat -c %a "$U/run/coopd.sock")" = 600 ] || fail "user socket not 0600"
	[ "$(stat -c %a "$U/home/.local/state/coopd")" = 700 ] || fail "user state dir not 0700"
	kill -TERM "$user_pid"
	wait "$user_pid" || fail "user instance did not exit 0"

	# identity from SO_PEERCRED: another user cannot see root's graphs
	coopd_start
	coopd_py <<'PY' || fail "root graph"
gid = submit({"nodes": [{"id": "t", "kind": "task", "fn": "noop"}]})
wait(gid)
open(os.path.join(os.environ["COOPD_TMP"], "rootgraph"), "w").write(gid)
PY
	chmod 755 "$COOPD_TMP"
	chmod 666 "$COOPD_SOCK"
	cp "$COOPD_TMP/rootgraph" "$U/rootgraph"
	setpriv --reuid=nobody --regid=nogroup --clear-groups env COOPD_SOCK="$COOPD_SOCK" \
		U="$U" COOPD_PYLIB="$COOPD_PYLIB" python3 -c "$COOPD_PYLIB
gid = open(os.environ['U'] + '/rootgraph').read()
expect(error_code('status', {'id': gid}) == -32001, 'foreign graph hidden')
expect(error_code('cancel', {'id': gid}) == -32001, 'foreign graph not cancellable')
expect(gid not in [g['id'] for g in rpc('list', {'all': True})['graphs']], 'not listed')
mine = submit({'nodes': [{'id': 't', 'kind': 'task', 'fn': 'noop'}]})
st = wait(mine)
expect(st['owner_uid'] == 65534, 'owner recorded', st)
# a root coopd runs this user's exec jobs as this user, never as root
st = wait(submit({'nodes': [{'id': 'e', 'kind': 'exec',
                             'argv': ['sh', '-c', 'id -u; id -g; id -G; echo \$HOME \$USER; pwd']}]}))
expect(st['state'] == 'succeeded', 'exec as the owner', st)
out = rpc('logs', {'id': st['id'], 'node': 'e', 'stream': 'stdout'})['data'].split(chr(10))
expect(out[0] == '65534' and out[1] == '65534' and out[2] == '65534', 'uid, gid and groups', out)
expect(out[3] == '/nonexistent nobody' and out[4] == '/', 'HOME, USER, cwd from passwd', out)
" || fail "identity checks"
	coopd_py <<'PY' || fail "root sees all"
gs = rpc("list", {"all": True})["graphs"]
expect(len(gs) == 3, "root sees every user's graphs", gs)
PY
	coopd_stop
fi
coopd_pass
