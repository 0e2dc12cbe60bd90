#!/bin/sh
# Checks made as the job's owner (issue 15 items 8 and 13, docs/security.md
# "Checks made as the job's owner"), with a real user:
#   - no path oracle: for a user's job, a cwd, a program path and a PATH
#     entry inside a directory only root may enter fail with the same
#     error ("Permission denied") whether what they name exists or not;
#   - `PATH=.` (and other relative PATH entries) in a job's env is the
#     job's cwd, not coopd's: for a user's job and for root's own.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_need_users
SUF=$$
UA=coopt-oc$SUF
GS=coopt-ocs$SUF
chmod 0711 "$COOPD_TMP"
mkdir "$COOPD_TMP/home-a"
coopd_add_group "$GS"
coopd_add_user "$UA" -d "$COOPD_TMP/home-a" -G "$GS"

# mkprog FILE TEXT: an executable script that prints TEXT.
mkprog() {
	printf '#!/bin/sh\necho %s\n' "$2" >"$1" && chmod 0755 "$1" || fail "mkprog $1"
}
# Only root may enter rootonly/; what is inside exists or not.
mkdir -p "$COOPD_TMP/rootonly/exists" "$COOPD_TMP/rootonly/bin" || fail "mkdir rootonly"
mkprog "$COOPD_TMP/rootonly/prog" secret
mkprog "$COOPD_TMP/rootonly/bin/tool" secret
chmod 0700 "$COOPD_TMP/rootonly"
# The user's and root's work directories, with programs found by PATH=.
for w in home-a/work rwork; do
	mkdir -p "$COOPD_TMP/$w/bin" || fail "mkdir $w"
	mkprog "$COOPD_TMP/$w/hello" "hello from $w"
	mkprog "$COOPD_TMP/$w/bin/hello2" "hello2 from $w"
done
chown -R "$UA:" "$COOPD_TMP/home-a"

coopd_start
chgrp "$GS" "$COOPD_SOCK" || fail "chgrp socket"

UA=$UA TMPD=$COOPD_TMP coopd_py <<'PY' || fail "checks as the job's owner"
import pwd
tmp = os.environ["TMPD"]
pw = pwd.getpwnam(os.environ["UA"])
ro = tmp + "/rootonly"

def ua_run(graph):
    c = connect_as(pw.pw_uid, pw.pw_gid, os.getgrouplist(pw.pw_name, pw.pw_gid))
    try:
        gid = c.result("submit", {"graph": graph})["id"]
        st = c.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
        return gid, st, c
    except BaseException:
        c.close()
        raise

def ex(id, argv, **kw):
    n = {"id": id, "kind": "exec", "argv": argv}
    n.update(kw)
    return n

# 1. No oracle: each pair differs only in whether the path exists.
gid, st, c = ua_run({"policy": "all_settled", "nodes": [
    ex("cwd_e", ["true"], cwd=ro + "/exists"),
    ex("cwd_m", ["true"], cwd=ro + "/missing"),
    ex("prog_e", [ro + "/prog"]),
    ex("prog_m", [ro + "/missing"]),
    ex("path_e", ["tool"], env={"PATH": ro + "/bin"}),
    ex("path_m", ["missing"], env={"PATH": ro + "/bin"})]})
c.close()
for a, b, name_a, name_b in (("cwd_e", "cwd_m", "exists", "missing"),
                             ("prog_e", "prog_m", "prog", "missing"),
                             ("path_e", "path_m", "tool", "missing")):
    na, nb = node(st, a), node(st, b)
    expect(na["state"] == "failed" and nb["state"] == "failed", "both fail", na, nb)
    ea = na.get("error", "").replace(name_a, "NAME")
    eb = nb.get("error", "").replace(name_b, "NAME")
    expect(ea == eb, "the same error whether %s exists or not" % a, na, nb)
    expect("Permission denied" in ea, "the owner's own error", na)

# 2. PATH=. and PATH=bin are the job's cwd (a user's job: the child looks).
work = tmp + "/home-a/work"
gid, st, c = ua_run({"nodes": [
    ex("dot", ["hello"], cwd=work, env={"PATH": "."}),
    ex("rel", ["hello2"], cwd=work, env={"PATH": "/nonexistent:bin"}),
    ex("empty", ["hello"], cwd=work, env={"PATH": "/nonexistent:"})]})
for n, text in (("dot", "hello from home-a/work"), ("rel", "hello2 from home-a/work"),
                ("empty", "hello from home-a/work")):
    expect(node(st, n)["state"] == "succeeded", "user's PATH %s found" % n, node(st, n))
    m = c.call("logs", {"id": gid, "node": n, "stream": "stdout"})
    expect(m["result"]["data"] == text + "\n", "user's %s ran the cwd's program" % n, m)
c.close()

# ... and for root's own job (coopd resolves it itself).
work = tmp + "/rwork"
st = run({"nodes": [
    ex("dot", ["hello"], cwd=work, env={"PATH": "."}),
    ex("rel", ["hello2"], cwd=work, env={"PATH": "/nonexistent:bin"})]})
for n, text in (("dot", "hello from rwork"), ("rel", "hello2 from rwork")):
    expect(node(st, n)["state"] == "succeeded", "root's PATH %s found" % n, node(st, n))
    expect(log_text(st["id"], n) == text + "\n", "root's %s ran the cwd's program" % n)
ping_ok()
PY
coopd_stop
coopd_pass
