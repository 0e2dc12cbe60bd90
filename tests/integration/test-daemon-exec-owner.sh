#!/bin/sh
# What exec jobs look up once per graph (daemon/job-owner.h: the owner's
# passwd entry and groups, the default cwd, the program found in PATH) is
# looked up again for the next graph:
#   - a program that appears earlier in PATH between two graphs is the
#     one the second graph runs;
#   - within a graph, a program or cwd that goes away between two jobs
#     makes the later job fail (not run something else);
#   - as root, with a test user (removed at exit): a changed home
#     directory and a new supplementary group reach the next graph's jobs
#     (HOME, default cwd, id -G), and every job of a graph runs as its
#     owner.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

mkdir -p "$COOPD_TMP/bin1" "$COOPD_TMP/bin2" "$COOPD_TMP/gone"
printf '#!/bin/sh\necho two\n' >"$COOPD_TMP/bin2/tool"
chmod +x "$COOPD_TMP/bin2/tool"

coopd_start
TMPD=$COOPD_TMP coopd_py <<'PY' || fail "PATH and cwd per graph"
tmp = os.environ["TMPD"]
path = "%s/bin1:%s/bin2:/usr/bin:/bin" % (tmp, tmp)

def tool_graph(extra=None):
    nodes = [{"id": "t%d" % i, "kind": "exec", "argv": ["tool"], "env": {"PATH": path}}
             for i in range(3)]
    return run({"max_parallel": 1, "nodes": nodes + (extra or [])})

st = tool_graph()
expect(st["state"] == "succeeded", "graph 1", st)
expect([log_text(st["id"], "t%d" % i) for i in range(3)] == ["two\n"] * 3, "bin2/tool, 3 times")
with open(tmp + "/bin1/tool", "w") as f:
    f.write("#!/bin/sh\necho one\n")
os.chmod(tmp + "/bin1/tool", 0o755)
st = tool_graph()
expect(st["state"] == "succeeded", "graph 2", st)
expect([log_text(st["id"], "t%d" % i) for i in range(3)] == ["one\n"] * 3,
       "the next graph finds bin1/tool", [log_text(st["id"], "t%d" % i) for i in range(3)])

# Within one graph: the program and the cwd removed after a first job.
st = run({"policy": "all_settled", "nodes": [
    {"id": "a", "kind": "exec", "argv": ["tool"], "env": {"PATH": tmp + "/bin1"}, "cwd": tmp + "/gone"},
    {"id": "rm", "kind": "exec", "argv": ["rm", tmp + "/bin1/tool"], "after": ["a"]},
    {"id": "b", "kind": "exec", "argv": ["tool"], "env": {"PATH": tmp + "/bin1"}, "after": ["rm"]},
    {"id": "rmdir", "kind": "exec", "argv": ["rmdir", tmp + "/gone"], "after": ["a"]},
    {"id": "c", "kind": "exec", "argv": ["true"], "cwd": tmp + "/gone", "after": ["rmdir"]}]})
expect(node(st, "a")["state"] == "succeeded" and log_text(st["id"], "a") == "one\n", "a ran", st)
expect(node(st, "rm")["state"] == "succeeded" and node(st, "rmdir")["state"] == "succeeded",
       "removed", st)
expect(node(st, "b")["state"] == "failed", "removed program: the job fails", node(st, "b"))
expect(node(st, "c")["state"] == "failed", "removed cwd: the job fails", node(st, "c"))
PY
coopd_stop

[ "$(id -u)" = 0 ] || { echo "NOTE: the owner part needs root (useradd); skipped"; coopd_pass; }
for t in useradd userdel usermod groupadd groupdel; do
	command -v "$t" >/dev/null 2>&1 || { echo "NOTE: $t not found; owner part skipped"; coopd_pass; }
done
SUF=$$
UO=coopt-o$SUF
GO=coopt-og$SUF
GS=coopt-os$SUF # may use the socket
COOPD_TEST_GROUPS=$GO # made by the test below
chmod 0711 "$COOPD_TMP"
mkdir "$COOPD_TMP/home1" "$COOPD_TMP/home2"
coopd_add_group "$GS"
coopd_add_user "$UO" -d "$COOPD_TMP/home1" -G "$GS"
chown "$UO:" "$COOPD_TMP/home1" "$COOPD_TMP/home2"
coopd_start
chgrp "$GS" "$COOPD_SOCK" || fail "chgrp socket"
COOPD_PID=$COOPD_PID UO=$UO GO=$GO GS=$GS TMPD=$COOPD_TMP coopd_py <<'PY' || fail "owner per graph"
import pwd, subprocess
tmp, user, group = os.environ["TMPD"], os.environ["UO"], os.environ["GO"]

pw = pwd.getpwnam(user)
c = connect_as(pw.pw_uid, pw.pw_gid, [__import__("grp").getgrnam(os.environ["GS"]).gr_gid])
script = 'echo "$HOME"; pwd; id -u; id -G'

def who():
    gid = c.result("submit", {"graph": {"max_parallel": 1, "nodes": [
        {"id": "w%d" % i, "kind": "exec", "argv": ["sh", "-c", script]} for i in range(3)]}})["id"]
    st = c.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
    expect(st["state"] == "succeeded", "the user's graph", st)
    outs = [c.result("logs", {"id": gid, "node": "w%d" % i, "stream": "stdout",
                              "offset": 0})["data"].split("\n") for i in range(3)]
    expect(outs[0] == outs[1] == outs[2], "every job of the graph alike", outs)
    return outs[0]

home, cwd, uid, groups = who()[:4]
expect(home == tmp + "/home1" and cwd == home, "first home", home, cwd)
expect(uid == str(pw.pw_uid), "runs as the owner", uid)
subprocess.run(["groupadd", group], check=True)
subprocess.run(["usermod", "-d", tmp + "/home2", "-aG", group, user], check=True)
new_gid = str(__import__("grp").getgrnam(group).gr_gid)
expect(new_gid not in groups.split(), "not in the new group yet", groups)
home, cwd, uid, groups = who()[:4]
expect(home == tmp + "/home2" and cwd == home, "the next graph sees the new home", home, cwd)
expect(new_gid in groups.split(), "the next graph has the new group", groups, new_gid)

# The child takes the owner's ids while it shares coopd's memory (a
# vfork): every thread of coopd must still be root, without the owner's
# groups, after jobs ran as the owner.
for t in os.listdir("/proc/%s/task" % os.environ["COOPD_PID"]):
    ids = {}
    with open("/proc/%s/task/%s/status" % (os.environ["COOPD_PID"], t)) as f:
        for line in f:
            k, _, v = line.partition(":")
            ids[k] = v.split()
    expect(ids["Uid"] == ["0"] * 4 and ids["Gid"] == ["0"] * 4, "coopd's thread %s stays root" % t, ids)
    expect(str(pw.pw_gid) not in ids["Groups"], "coopd's thread %s has not the owner's groups" % t, ids)
PY
coopd_stop
coopd_pass
