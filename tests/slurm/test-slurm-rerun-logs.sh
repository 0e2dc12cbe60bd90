#!/bin/sh
# rerun failed_only of a graph with Slurm nodes (docs/protocol.md, `rerun`):
# the reused Slurm node's logs read from the new graph, as a local node's
# do.  They were empty: slurm_log_open looks under the new graph's id in
# the spool directory, where nothing had been linked (graph-reuse.c linked
# only the state directory's logs).  The old graph's spool file is linked
# (job-slurm.c slurm_log_link); the node that failed runs again as a Slurm
# job of its own.  As a real non-root owner, whose spool directories they
# are.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require
. "$top_srcdir/tests/lib-fairshare.sh"
fair_users_setup
coopd_start -c "$(slurm_config)"
fair_socket_group
fair_py <<'PY' || fail "rerun logs"
import pwd
g = {"placement": "slurm", "policy": "all_settled", "nodes": [
    {"id": "ok", "kind": "exec", "argv": ["sh", "-c", "echo out of ok; echo err of ok >&2"]},
    {"id": "bad", "kind": "exec", "argv": ["sh", "-c", "echo bad; exit 1"]}]}
a = as_user(FAIR_A)
def logs(gid, n, stream="stdout"):
    r = a.result("logs", {"id": gid, "node": n, "stream": stream})
    return r["data"]
old = a.result("submit", {"graph": g})["id"]
st = a.result("wait", {"id": old, "timeout_ms": 120000 * SLOW})
expect(node(st, "ok")["state"] == "succeeded" and node(st, "bad")["state"] == "failed", "first run", st)
expect(logs(old, "ok") == "out of ok\n", "old log", logs(old, "ok"))
new = a.result("rerun", {"id": old, "failed_only": True})["id"]
st = a.result("wait", {"id": new, "timeout_ms": 120000 * SLOW})
ok = node(st, "ok")
expect(ok.get("reused") is True and node(st, "bad")["state"] == "failed", "rerun", st)
expect(logs(new, "ok") == "out of ok\n" and logs(new, "ok", "stderr") == "err of ok\n",
       "the reused Slurm node's logs", logs(new, "ok"))
expect(logs(new, "bad") == "bad\n", "the node run again has its own", logs(new, "bad"))
d = os.environ["COOPD_TMP"] + "/spool/" + new
expect(os.stat(d).st_uid == pwd.getpwnam(FAIR_A).pw_uid, "the new spool directory is the owner's")
a.result("remove", {"id": old})
expect(logs(new, "ok") == "out of ok\n", "still there once the old graph is removed")
PY
coopd_stop
coopd_pass
