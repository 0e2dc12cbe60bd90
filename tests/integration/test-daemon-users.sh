#!/bin/sh
# Identity and authorization with real users (docs/security.md),
# checked through the socket.  As root, the test creates users and groups
# whose names are unique to this run (removed at exit) and starts coopd as
# root:
#   - graphs record owner_uid; `list` shows a user only their graphs; root
#     sees everything;
#   - status/wait/logs/watch/cancel of another user's graph answer -32001,
#     exactly like an unknown id; `watch` without an id delivers only the
#     watcher's own graphs;
#   - an exec job runs with its owner's uid, gid, supplementary groups and
#     HOME/USER/LOGNAME (the job prints them);
#   - a uid without a passwd entry cannot submit exec jobs (-32002, clear);
#   - the system socket is 0660: a user outside its group cannot connect;
#   - a user instance (coopd started by runuser) has a 0600 socket that
#     another user cannot connect to;
#   - state files and logs are 0600 in 0700 directories.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_need_users runuser

# Names unique to this run (two builds may run this test at once).
SUF=$$
UA=coopt-a$SUF
UB=coopt-b$SUF
UC=coopt-c$SUF
GS=coopt-s$SUF # may use the socket
GX=coopt-x$SUF # a supplementary group of UA only
USER_PID=

users_cleanup() {
	if [ -n "$USER_PID" ]; then
		kill -TERM "$USER_PID" 2>/dev/null
		wait "$USER_PID" 2>/dev/null
	fi
}
# Keep lib-coopd.sh's cleanup (it reads $? first).
trap '_users_rc=$?; users_cleanup; (exit $_users_rc); _coopd_cleanup' EXIT

coopd_add_group "$GS"
coopd_add_group "$GX"
chmod 0711 "$COOPD_TMP"
mkdir "$COOPD_TMP/home-a" "$COOPD_TMP/home-b" "$COOPD_TMP/home-c"
coopd_add_user "$UA" -d "$COOPD_TMP/home-a" -G "$GS,$GX"
coopd_add_user "$UB" -d "$COOPD_TMP/home-b" -G "$GS"
coopd_add_user "$UC" -d "$COOPD_TMP/home-c"
chown "$UA:" "$COOPD_TMP/home-a"
chown "$UB:" "$COOPD_TMP/home-b"
chown "$UC:" "$COOPD_TMP/home-c"
# The test users run coopctl, coopd and python3 from here.
(cd / && runuser -u "$UA" -- sh -c 'test -x "$1" && test -r "$1" && python3 -c 1' sh "$COOPCTL_BIN") \
	>/dev/null 2>&1 || skip "the build tree ($top_builddir) or python3 is not usable by other users"

coopd_start
# The system socket is 0660 (group `coopd` when it exists); for the test,
# the group that may use it is $GS.
mode=$(stat -c %a "$COOPD_SOCK")
[ "$mode" = 660 ] || fail "system socket mode $mode, want 660"
chgrp "$GS" "$COOPD_SOCK" || fail "chgrp socket"

export UA UB UC GS GX
coopd_py <<'PY' || fail "authorization through the socket"
import grp, pwd

def ids_of(user):
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid, os.getgrouplist(user, pw.pw_gid), pw

def as_user(user):
    uid, gid, groups, _ = ids_of(user)
    return connect_as(uid, gid, groups)

def res(c, method, params=None):
    return c.result(method, params)

def err(c, method, params):
    m = c.call(method, params)
    expect("error" in m, "%s %r must fail" % (method, params), m)
    return m["error"]

UA, UB, UC, GS, GX = (os.environ[k] for k in ("UA", "UB", "UC", "GS", "GX"))
uid_a, gid_a, groups_a, pw_a = ids_of(UA)
uid_b = ids_of(UB)[0]
a, b, root = as_user(UA), as_user(UB), Conn()

# --- an exec job of A runs as A: uid, gid, supplementary groups, env, cwd
script = "id -u; id -g; id -G; echo \"$HOME\"; echo \"$USER\"; echo \"$LOGNAME\"; pwd"
ga_exec = res(a, "submit", {"graph": {"name": "who", "nodes": [
    {"id": "who", "kind": "exec", "argv": ["sh", "-c", script]}]}})["id"]
st = res(a, "wait", {"id": ga_exec, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "A's exec job ran", st)
expect(st["owner_uid"] == uid_a, "owner_uid is A's uid", st)
out = res(a, "logs", {"id": ga_exec, "node": "who", "stream": "stdout"})["data"].split("\n")
expect(out[0] == str(uid_a), "job uid is A's", out)
expect(out[1] == str(gid_a), "job gid is A's primary group", out)
expect(sorted(map(int, out[2].split())) == sorted(set(groups_a)),
       "job groups are A's supplementary groups", out, groups_a)
expect(grp.getgrnam(GX).gr_gid in map(int, out[2].split()), "the group only A is in", out)
expect(out[3] == pw_a.pw_dir and out[4] == UA and out[5] == UA,
       "HOME/USER/LOGNAME from A's passwd entry", out)
expect(out[6] == pw_a.pw_dir, "default cwd is A's home", out)

# --- graphs record their owner; list shows each user only their own
ga_long = res(a, "submit", {"graph": {"name": "a-long", "nodes": [
    {"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}})["id"]
gb_long = res(b, "submit", {"graph": {"name": "b-long", "nodes": [
    {"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}})["id"]
groot = res(root, "submit", {"graph": {"nodes": [{"id": "t", "kind": "task", "fn": "noop"}]}})["id"]
res(root, "wait", {"id": groot})
expect(res(b, "status", {"id": gb_long})["owner_uid"] == uid_b, "B's graph owned by B")
expect(res(root, "status", {"id": groot})["owner_uid"] == 0, "root's graph owned by root")
la = {g["id"] for g in res(a, "list", {"all": True})["graphs"]}
lb = {g["id"] for g in res(b, "list", {"all": True})["graphs"]}
lr = {g["id"] for g in res(root, "list", {"all": True})["graphs"]}
expect(la == {ga_exec, ga_long}, "A lists only A's graphs", sorted(la))
expect(lb == {gb_long}, "B lists only B's graphs", sorted(lb))
expect({ga_exec, ga_long, gb_long, groot} <= lr, "root lists everyone's", sorted(lr))
expect({g["id"] for g in res(b, "list")["graphs"]} == {gb_long}, "B's active list")

# --- another user's graph is answered like an unknown id (-32001)
unknown = "0123456789abcdef"
def same_as_unknown(c, method, params, who):
    e = err(c, method, params)
    u = err(c, method, dict(params, id=unknown))
    expect(e["code"] == -32001, "%s: %s of a foreign graph answers -32001" % (who, method), e)
    expect(e["message"].replace(params["id"], "ID") == u["message"].replace(unknown, "ID"),
           "%s: %s of a foreign graph reads like an unknown id" % (who, method), e, u)
for gid in (ga_long, ga_exec, groot):
    same_as_unknown(b, "status", {"id": gid}, "B")
    same_as_unknown(b, "status", {"id": gid, "summary": True}, "B")
    same_as_unknown(b, "wait", {"id": gid, "timeout_ms": 0}, "B")
    same_as_unknown(b, "cancel", {"id": gid}, "B")
    same_as_unknown(b, "cancel", {"id": gid, "node": "s"}, "B")
    same_as_unknown(b, "watch", {"id": gid}, "B")
same_as_unknown(b, "logs", {"id": ga_exec, "node": "who", "stream": "stdout"}, "B")
same_as_unknown(a, "status", {"id": gb_long}, "A")
same_as_unknown(a, "cancel", {"id": gb_long}, "A")
expect(res(a, "status", {"id": ga_long})["state"] == "running", "B's cancel did not reach A's graph")
expect(res(b, "status", {"id": gb_long})["state"] == "running", "A's cancel did not reach B's graph")

# --- root reads everything
expect(res(root, "status", {"id": ga_long})["owner_uid"] == uid_a, "root reads A's status")
expect("data" in res(root, "logs", {"id": ga_exec, "node": "who", "stream": "stdout"}), "root reads A's logs")
expect(res(root, "wait", {"id": ga_exec})["state"] == "succeeded", "root waits on A's graph")

# --- watch without an id delivers only the watcher's own graphs
wa, wb = as_user(UA), as_user(UB)
res(wa, "watch")
res(wb, "watch")
res(root, "cancel", {"id": ga_long})   # root may cancel anyone's graph
st = res(root, "wait", {"id": ga_long, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "cancelled", "root cancelled A's graph", st)
res(b, "cancel", {"id": gb_long})
expect(res(b, "wait", {"id": gb_long, "timeout_ms": 60000 * SLOW})["state"] == "cancelled", "B cancels B's")
seen_b = []
while True:
    e = wb.event()["params"]
    seen_b.append(e["graph"])
    if e["graph"] == gb_long and e["node"] == "/" and e["state"] in FINAL:
        break
expect(set(seen_b) == {gb_long}, "B's watch saw only B's graph", seen_b)
seen_a = []
while True:
    e = wa.event()["params"]
    seen_a.append(e["graph"])
    if e["graph"] == ga_long and e["node"] == "/" and e["state"] in FINAL:
        break
expect(set(seen_a) == {ga_long}, "A's watch saw A's graph (and only A's)", seen_a)

# --- a uid without a passwd entry cannot submit exec jobs
ghost = 61000
while True:
    try:
        pwd.getpwuid(ghost)
        ghost += 1
    except KeyError:
        break
g = connect_as(ghost, ghost, [grp.getgrnam(GS).gr_gid])
e = err(g, "submit", {"graph": {"nodes": [{"id": "e", "kind": "exec", "argv": ["id"]}]}})
expect(e["code"] == -32002 and "passwd" in e["message"], "no passwd entry: -32002 with a clear message", e)
gt = res(g, "submit", {"graph": {"nodes": [{"id": "t", "kind": "task", "fn": "noop"}]}})["id"]
expect(res(g, "wait", {"id": gt})["owner_uid"] == ghost, "task-only graphs of that uid run, owned by it")
expect(ghost not in [res(root, "status", {"id": x})["owner_uid"] for x in (ga_exec, gb_long)], "sanity")

# --- a user outside the socket's group cannot connect
try:
    as_user(UC)
    raise AssertionError("a user outside the socket group connected")
except PermissionError as ex:
    expect("Permission denied" in str(ex), "refused by the socket mode", str(ex))

for c in (a, b, root, wa, wb, g):
    c.close()
open(os.path.join(os.environ["COOPD_TMP"], "ga_exec"), "w").write(ga_exec)
PY

# coopctl run by the users themselves (runuser): their own view only
GA=$(cat "$COOPD_TMP/ga_exec")
out=$(cd / && runuser -u "$UA" -- "$COOPCTL_BIN" --socket "$COOPD_SOCK" --json list --all) ||
	fail "coopctl list as $UA"
echo "$out" | grep -q "$GA" || fail "A's coopctl list lacks A's graph: $out"
out=$(cd / && runuser -u "$UB" -- "$COOPCTL_BIN" --socket "$COOPD_SOCK" --json list --all) ||
	fail "coopctl list as $UB"
echo "$out" | grep -q "$GA" && fail "B's coopctl list shows A's graph: $out"
rc=0
out=$(cd / && runuser -u "$UB" -- "$COOPCTL_BIN" --socket "$COOPD_SOCK" status "$GA" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "B's coopctl status of A's graph succeeded: $out"
echo "$out" | grep -qi "no such graph" || fail "B's coopctl status: unclear error: $out"
rc=0
out=$(cd / && runuser -u "$UC" -- "$COOPCTL_BIN" --socket "$COOPD_SOCK" list 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "coopctl of a user outside the socket group: exit $rc, want 3: $out"

# State and logs: readable by their owner (root) only.
loose=$(find "$COOPD_STATE" \( -type d -perm /077 \) -o \( -type f -perm /077 \) -print)
[ -z "$loose" ] || fail "state files readable by others: $(ls -ld $loose)"
ls "$COOPD_STATE"/graphs/"$GA"/*.out >/dev/null 2>&1 || fail "no log file of A's job in the state dir"
coopd_stop

# A user instance: coopd started as A by runuser.  Its socket is 0600 (A's
# only), even in a directory others can enter; B cannot connect; its state
# is A's, 0600 files in 0700 directories; its jobs run as A.
UD=$COOPD_TMP/inst-a
mkdir "$UD"
chown "$UA:" "$UD"
chmod 0711 "$UD"
# shellcheck disable=SC2046
(cd / && exec runuser -u "$UA" -- $(_coopd_cmd) --foreground --socket "$UD/coopd.sock" \
	--state-dir "$UD/state" --workers 1) >"$COOPD_TMP/coopd.log.user" 2>&1 &
USER_PID=$!
waited=0
while [ ! -S "$UD/coopd.sock" ] && [ "$waited" -lt 1200 ]; do
	kill -0 "$USER_PID" 2>/dev/null || fail "user instance exited: $(cat "$COOPD_TMP/coopd.log.user")"
	sleep 0.05
	waited=$((waited + 1))
done
[ -S "$UD/coopd.sock" ] || fail "user instance did not create its socket"
[ "$(stat -c '%a %U' "$UD/coopd.sock")" = "600 $UA" ] ||
	fail "user socket: $(stat -c '%a %U' "$UD/coopd.sock"), want 600 $UA"
(cd / && runuser -u "$UA" -- env COOPD_SOCK="$UD/coopd.sock" python3 -c "$COOPD_PYLIB
for _ in range(400 * SLOW):
    try:
        ping_ok()
        break
    except OSError:
        time.sleep(0.05)
st = wait(submit({'nodes': [{'id': 'e', 'kind': 'exec', 'argv': ['id', '-u']}]}))
expect(st['state'] == 'succeeded' and st['owner_uid'] == os.getuid(), 'user instance graph', st)
out = rpc('logs', {'id': st['id'], 'node': 'e', 'stream': 'stdout'})['data']
expect(out.strip() == str(os.getuid()), 'user instance job runs as its user', out)
") || fail "user instance as $UA"
(cd / && runuser -u "$UB" -- env COOPD_SOCK="$UD/coopd.sock" python3 -c "$COOPD_PYLIB
try:
    ping_ok()
    raise AssertionError('another user reached a user instance')
except PermissionError:
    pass
") || fail "user instance reachable by $UB"
loose=$(find "$UD/state" \( -type d -perm /077 \) -o \( -type f -perm /077 \) -print)
[ -z "$loose" ] || fail "user instance state readable by others: $(ls -ld $loose)"
notmine=$(find "$UD/state" ! -user "$UA" -print)
[ -z "$notmine" ] || fail "user instance state not owned by $UA: $notmine"
# SIGTERM to coopd itself (runuser's child): runuser reports its child's
# status, while a SIGTERM to runuser would end the session with 143.
inst=$(cat /proc/"$USER_PID"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . | head -n 1)
[ -n "$inst" ] || fail "no coopd process under runuser $USER_PID"
kill -TERM "$inst"
rc=0
wait "$USER_PID" || rc=$?
USER_PID=
[ "$rc" = 0 ] || fail "user instance exited $rc after SIGTERM"
coopd_pass
