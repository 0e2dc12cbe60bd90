#!/bin/sh
# A job's `limits` never raise coopd's own rlimits (docs/limits.md): the
# child of a root coopd sets nofile and cpu_seconds before it drops to the
# owner, and with CAP_SYS_RESOURCE it could raise the hard limits past
# those the operator gave coopd (systemd's LimitNOFILE=), which the job
# then kept; without it the job failed "exec sh (cwd /): Operation not
# permitted", which said nothing of limits.  Now such a job fails before
# it is spawned with "limits: nofile N is above coopd's own hard limit of
# M open files"; at the hard limit itself it runs and sees it.  coopd is
# started with hard limits of 8192 files and 100000 s of CPU; real users.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
ulimit -S -n 1024 && ulimit -H -n 8192 && ulimit -t 100000 ||
	skip "cannot lower this shell's rlimits"
coopd_start
fair_socket_group
grep -q '^Max open files *[0-9]* *8192 ' "/proc/$COOPD_PID/limits" ||
	fail "coopd did not inherit the hard limit: $(grep 'open files' "/proc/$COOPD_PID/limits")"

fair_py <<'PY' || fail "rlimits"
def job(limits, script):
    return {"nodes": [{"id": "n", "kind": "exec", "limits": limits,
                       "argv": ["sh", "-c", script]}]}
a = as_user(FAIR_A)
def run_as_a(g):
    gid = a.result("submit", {"graph": g})["id"]
    return gid, a.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})

for limits, key, what in (({"nofile": 8193}, "nofile 8193", "8192 open files"),
                          ({"nofile": 1048576}, "nofile 1048576", "8192 open files"),
                          ({"cpu_seconds": 100000}, "cpu_seconds (+1 s) 100001", "100000 seconds")):
    gid, st = run_as_a(job(limits, "ulimit -Hn; ulimit -Ht"))
    n = node(st, "n")
    expect(n["state"] == "failed" and
           n.get("error", "").startswith("limits: %s is above coopd's own hard limit of %s"
                                         % (key, what)), "refused: " + key, n)
    expect(log_text(gid, "n") == "", "never ran", log_text(gid, "n"))

gid, st = run_as_a(job({"nofile": 8192, "cpu_seconds": 99999}, "ulimit -Sn; ulimit -Hn; ulimit -Ht"))
expect(node(st, "n")["state"] == "succeeded", "at the bound", st)
expect(log_text(gid, "n") == "8192\n8192\n100000\n", "the job's limits", log_text(gid, "n"))
# root's own job (coopd's user, the vfork path) is held to the same rule.
gid = submit(job({"nofile": 9000}, "ulimit -Hn"))
n = node(wait(gid), "n")
expect(n["state"] == "failed" and "nofile 9000 is above" in n.get("error", ""), "root too", n)
PY
coopd_stop
coopd_pass
