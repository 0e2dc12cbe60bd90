#!/bin/sh
# `limits` (coopd.graph(5)) through the socket and coopctl, on whatever the
# machine gives: memory_max, cpu_max and pids_max need a cgroup controller
# that coopd's cgroup has; without it they are refused at submit (-32602,
# the path of the limit, a reason naming the controller), also with
# cgroups = off (a reason naming the missing cgroup); a limit with a unit
# is refused; nofile and cpu_seconds (rlimits) are enforced: the job sees
# its descriptor limit, and a job over its CPU time fails saying so.
# The cgroup files themselves are checked against a stand-in directory in
# tests/suite-daemon-jobs.c (docs/limits.md).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
INSTANCE=$(sed -n 's/.*exec jobs get their own cgroup under \(.*\)$/\1/p' "$COOPD_LOG" | head -n 1)
export INSTANCE
coopd_py <<'PY' || fail "limits"
inst = os.environ.get("INSTANCE", "")
have = set()
if inst:
    try:
        have = set(open(os.path.join(inst, "cgroup.subtree_control")).read().split())
    except OSError:
        pass

def try_submit(graph):
    return call("submit", {"graph": graph})

E = {"id": "e", "kind": "exec", "argv": ["true"]}
cases = [
    ({"nodes": [dict(E, limits={"memory_max": 1 << 30})]}, "nodes[0].limits.memory_max", "memory"),
    ({"nodes": [dict(E, limits={"cpu_max": 0.5})]}, "nodes[0].limits.cpu_max", "cpu"),
    ({"nodes": [{"id": "s", "kind": "scope", "limits": {"pids_max": 10},
                 "nodes": [E]}]}, "nodes[0].limits.pids_max", "pids"),
    ({"limits": {"memory_max": 4096}, "nodes": [{"id": "s", "kind": "scope", "nodes": [E]}]},
     "limits.memory_max", "memory"),
]
for g, path, ctrl in cases:
    m = try_submit(g)
    if ctrl in have:
        # This machine delegates the controller: accepted and run.
        expect("result" in m, "accepted with the %s controller" % ctrl, m)
        expect(wait(m["result"]["id"])["state"] == "succeeded", "ran", m)
        continue
    expect("error" in m and m["error"]["code"] == -32602, "refused without %s" % ctrl, m)
    d = m["error"]["data"]
    expect(d["path"] == path, "path of the limit", m)
    if inst:
        expect("'%s' controller" % ctrl in d["reason"], "the reason names the controller", m)
    else:
        expect("cgroup per job" in d["reason"], "the reason names the missing cgroup", m)

# A unit where a number is expected.
m = try_submit({"nodes": [dict(E, limits={"memory_max": "512M"})]})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "nodes[0].limits.memory_max"
       and "without a unit" in m["error"]["data"]["reason"], "unit refused", m)
m = try_submit({"nodes": [dict(E, limits={"nofile": 0})]})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "nodes[0].limits.nofile", "nofile 0", m)

# nofile: the job's own limit (inherited from the scope, overridden by the node).
st = run({"limits": {"nofile": 99}, "nodes": [
    {"id": "a", "kind": "exec", "argv": ["sh", "-c", "ulimit -n; ulimit -Hn"]},
    {"id": "b", "kind": "exec", "argv": ["sh", "-c", "ulimit -n"], "limits": {"nofile": 77}}]})
expect(st["state"] == "succeeded", "nofile jobs ran", st)
expect(log_text(st["id"], "a") == "99\n99\n", "nofile 99 from the root", log_text(st["id"], "a"))
expect(log_text(st["id"], "b") == "77\n", "nofile 77 of its own", log_text(st["id"], "b"))

# cpu_seconds: a busy loop is stopped at 1 s of CPU and fails saying so.
st = run({"nodes": [{"id": "busy", "kind": "exec", "argv": ["sh", "-c", "while :; do :; done"],
                     "limits": {"cpu_seconds": 1}}]})
b = node(st, "busy")
expect(st["state"] == "failed" and b["state"] == "failed", "over cpu_seconds: failed", st)
expect(b["error"] == "cpu_seconds exceeded (1 s of CPU time)" and b["signal"] == 24,
       "the error says which limit (SIGXCPU)", b)
# The same loop ignoring SIGXCPU is killed a second later, reported the same way.
st = run({"nodes": [{"id": "stub", "kind": "exec",
                     "argv": ["sh", "-c", "trap '' XCPU; while :; do :; done"],
                     "limits": {"cpu_seconds": 1}}]})
s = node(st, "stub")
expect(s["state"] == "failed" and s["signal"] == 9 and "cpu_seconds exceeded" in s["error"],
       "SIGXCPU ignored: SIGKILL at the hard limit, same error", s)
PY
# Through coopctl: the daemon's path and reason, exit 2.
echo '{"nodes":[{"id":"e","kind":"exec","argv":["true"],"limits":{"memory_max":"1G"}}]}' >"$COOPD_TMP/bad.json"
rc=0; coopd_ctl submit "$COOPD_TMP/bad.json" >/dev/null 2>"$COOPD_TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "coopctl submit of a limit with a unit: exit $rc"
grep -q "nodes\[0\].limits.memory_max" "$COOPD_TMP/err" && grep -q "without a unit" "$COOPD_TMP/err" \
	|| fail "coopctl: $(cat "$COOPD_TMP/err")"

# cgroups = off: a cgroup limit is refused for want of a cgroup per job.
coopd_stop
echo "cgroups = off" >"$COOPD_TMP/off.conf"
coopd_start --config "$COOPD_TMP/off.conf"
coopd_py <<'PY' || fail "cgroups = off"
m = call("submit", {"graph": {"nodes": [{"id": "e", "kind": "exec", "argv": ["true"],
                                          "limits": {"pids_max": 4}}]}})
expect(m["error"]["code"] == -32602 and m["error"]["data"]["path"] == "nodes[0].limits.pids_max"
       and "cgroup per job" in m["error"]["data"]["reason"], "refused with cgroups = off", m)
st = run({"nodes": [{"id": "e", "kind": "exec", "argv": ["sh", "-c", "ulimit -n"],
                     "limits": {"nofile": 64}}]})
expect(log_text(st["id"], "e") == "64\n", "rlimits need no cgroup", st)
PY
coopd_stop
coopd_pass
