#!/bin/sh
# The state directory cannot be turned against root (issue 14, docs/
# security.md "The state directory"), with a real second user:
#   - coopd (as root) refuses, exit 1, naming the path and its owner, a
#     state directory that another user created in advance (in a sticky
#     world-writable place such as /tmp), a parent directory of another
#     user's, a parent that others may write to without the sticky bit, and
#     a state directory others may write to; a sticky parent is accepted;
#   - a log file swapped for a symbolic link to a root-owned 0600 file:
#     `logs` (asked by the job's owner) does not return that file;
#   - symbolic links planted where a job's logs will be created: the job's
#     output does not overwrite their root-owned targets, and `logs` still
#     returns the job's output.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_need_users runuser timeout
SUF=$$
UA=coopt-sd$SUF
GS=coopt-sds$SUF
chmod 0711 "$COOPD_TMP"
mkdir "$COOPD_TMP/home-a"
coopd_add_group "$GS"
coopd_add_user "$UA" -d "$COOPD_TMP/home-a" -G "$GS"
chown "$UA:" "$COOPD_TMP/home-a"
UA_UID=$(id -u "$UA")

# refused NAME STATEDIR TEXT...: coopd must exit 1 and its log must hold
# every TEXT.
refused() {
	_name=$1 _dir=$2
	shift 2
	rc=0
	timeout 60 "$COOPD_BIN" --foreground --workers 1 --socket "$COOPD_TMP/$_name.sock" \
		--state-dir "$_dir" >"$COOPD_TMP/coopd.log.$_name" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || fail "$_name: coopd exited $rc, want 1: $(cat "$COOPD_TMP/coopd.log.$_name")"
	for _t in "$@"; do
		grep -qF -- "$_t" "$COOPD_TMP/coopd.log.$_name" ||
			fail "$_name: no '$_t' in: $(cat "$COOPD_TMP/coopd.log.$_name")"
	done
	[ ! -e "$COOPD_TMP/$_name.sock" ] || fail "$_name: the refused coopd bound its socket"
}

# 1. Pre-created by another user in a sticky, world-writable directory
# (as in /tmp before coopd's first start): refused, nothing written in it.
mkdir -m 1777 "$COOPD_TMP/sticky" || fail "mkdir sticky"
runuser -u "$UA" -- mkdir -m 0700 "$COOPD_TMP/sticky/state" || fail "$UA: mkdir state"
refused precreated "$COOPD_TMP/sticky/state" \
	"$COOPD_TMP/sticky/state is owned by $UA (uid $UA_UID)"
[ -z "$(ls -A "$COOPD_TMP/sticky/state")" ] || fail "precreated: coopd wrote into it"
# Even a world-readable one with a subdirectory that does not exist yet.
runuser -u "$UA" -- mkdir -m 0755 "$COOPD_TMP/sticky/upar" || fail "$UA: mkdir upar"
refused parent "$COOPD_TMP/sticky/upar/state" \
	"$COOPD_TMP/sticky/upar is owned by $UA (uid $UA_UID)"
[ ! -e "$COOPD_TMP/sticky/upar/state" ] || fail "parent: coopd created the state directory"

# 2. A parent that others may write to, without the sticky bit: refused.
mkdir -m 0777 "$COOPD_TMP/open" && chmod 0777 "$COOPD_TMP/open" || fail "mkdir open"
refused open-parent "$COOPD_TMP/open/state" "$COOPD_TMP/open" "writable by other users"

# 3. A state directory that others may write to (root's own): refused.
mkdir "$COOPD_TMP/wstate" && chmod 0757 "$COOPD_TMP/wstate" || fail "mkdir wstate"
refused open-state "$COOPD_TMP/wstate" "$COOPD_TMP/wstate" "writable by other users"

# 4. A symbolic link on the way is followed once, and what it leads to is
# checked: to another user's directory, refused.
ln -s "$COOPD_TMP/sticky/state" "$COOPD_TMP/link" || fail "ln"
refused via-link "$COOPD_TMP/link" "$COOPD_TMP/sticky/state is owned by $UA"

# 5. The sticky parent is fine: the test's own daemon lives in one.
mkdir -m 1777 "$COOPD_TMP/tmp" && chmod 1777 "$COOPD_TMP/tmp" || fail "mkdir tmp"
COOPD_STATE=$COOPD_TMP/tmp/state
export COOPD_STATE
coopd_start
chgrp "$GS" "$COOPD_SOCK" || fail "chgrp socket"

# Root's secret and a root-owned file a job must not overwrite.
printf 'root secret\n' >"$COOPD_TMP/secret" && chmod 0600 "$COOPD_TMP/secret" || fail "secret"
printf 'root victim\n' >"$COOPD_TMP/victim" && chmod 0600 "$COOPD_TMP/victim" || fail "victim"

UA=$UA TMPD=$COOPD_TMP coopd_py <<'PY' || fail "log files and symbolic links"
import pwd
tmp = os.environ["TMPD"]
pw = pwd.getpwnam(os.environ["UA"])

def as_ua():
    return connect_as(pw.pw_uid, pw.pw_gid, os.getgrouplist(pw.pw_name, pw.pw_gid))

def ua(method, params):
    c = as_ua()
    try:
        return c.call(method, params)
    finally:
        c.close()

def ua_result(method, params):
    m = ua(method, params)
    expect("result" in m, "%s answered" % method, m)
    return m["result"]

def ua_log(gid, n, stream="stdout"):
    """The whole log, or the error of the first `logs` that fails."""
    data, off = "", 0
    while True:
        m = ua("logs", {"id": gid, "node": n, "stream": stream, "offset": off})
        if "error" in m:
            return None, m["error"]
        data += m["result"]["data"]
        off = m["result"]["next_offset"]
        if m["result"]["eof"]:
            return data, None

def gdir(gid):
    return os.path.join(os.environ["COOPD_STATE"], "graphs", gid)

# Read side: a settled job's log replaced by a link to root's secret.
gid = ua_result("submit", {"graph": {"nodes": [
    {"id": "j", "kind": "exec", "argv": ["sh", "-c", "echo mine; echo err >&2"]}]}})["id"]
st = ua_result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "job ran", st)
data, err = ua_log(gid, "j")
expect(data == "mine\n", "the job's own log first", data, err)
logs = [f for f in os.listdir(gdir(gid)) if f.endswith(".out") or f.endswith(".err")]
expect(len(logs) == 2, "two log files", logs)
for f in logs:
    os.unlink(os.path.join(gdir(gid), f))
    os.symlink(os.path.join(tmp, "secret"), os.path.join(gdir(gid), f))
for stream in ("stdout", "stderr"):
    data, err = ua_log(gid, "j", stream)
    expect(data is None or "secret" not in data, "logs did not return root's file", data)
    expect(err is not None and err["code"] == -32603, "a log that is a link is an error", err)

# Write side: links planted where the logs will be created, before the
# job writes anything.
go = os.path.join(tmp, "go")
gid = ua_result("submit", {"graph": {"nodes": [
    {"id": "w", "kind": "exec",
     "argv": ["sh", "-c", "while [ ! -e %s ]; do sleep 0.02; done; echo out-text; echo err-text >&2" % go]}]}})["id"]
os.makedirs(gdir(gid), mode=0o700, exist_ok=True)
for idx in range(4):
    for ext in ("out", "err"):
        p = os.path.join(gdir(gid), "%d.%s" % (idx, ext))
        if not os.path.lexists(p):
            os.symlink(os.path.join(tmp, "victim"), p)
open(go, "w").close()
st = ua_result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "job ran", st)
expect(open(os.path.join(tmp, "victim")).read() == "root victim\n", "victim not overwritten")
expect(ua_log(gid, "w")[0] == "out-text\n", "stdout went to a log of coopd's", ua_log(gid, "w"))
expect(ua_log(gid, "w", "stderr")[0] == "err-text\n", "stderr too", ua_log(gid, "w", "stderr"))
ping_ok()
PY
coopd_stop
coopd_pass
