#!/bin/sh
# rerun is the owner's alone (docs/protocol.md, `rerun`): the new graph
# belongs to whoever asks, so root's rerun of a user's graph ran that
# user's argv as root (`id -u` printed 0).  Now root is refused with -32002
# at params.id naming the owner's uid, with and without failed_only, and
# nothing runs; the owner's own rerun runs as the owner.  Another user is
# answered -32001 as for any graph not theirs.  A graph nested deeper than
# json-c's default 32 levels is rerun too.  Real users.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
coopd_start
fair_socket_group

fair_py <<'PY' || fail "rerun owner"
import pwd
uid_a = pwd.getpwnam(FAIR_A).pw_uid
G = {"nodes": [{"id": "who", "kind": "exec", "argv": ["sh", "-c", "id -u; exit 1"]}]}
a = as_user(FAIR_A)
gid = a.result("submit", {"graph": G})["id"]
st = a.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "failed" and log_text(gid, "who") == "%d\n" % uid_a, "ran as A", st)
before = len(rpc("list", {"all": True})["graphs"])
for fo in (False, True):
    m = call("rerun", {"id": gid, "failed_only": fo})
    expect("error" in m and m["error"]["code"] == -32002 and
           m["error"]["data"]["path"] == "params.id" and
           ("uid %d" % uid_a) in m["error"]["message"], "root refused", m)
expect(len(rpc("list", {"all": True})["graphs"]) == before, "no graph made by root's reruns")
b = as_user(FAIR_B)
m = b.call("rerun", {"id": gid})
expect(m.get("error", {}).get("code") == -32001, "B: no such graph", m)
new = a.result("rerun", {"id": gid, "failed_only": True})["id"]
st = a.result("wait", {"id": new, "timeout_ms": 60000 * SLOW})
expect(st["owner_uid"] == uid_a and log_text(new, "who") == "%d\n" % uid_a,
       "the owner's rerun runs as the owner", st)
# A graph of 40 nested scopes (max_scope_depth is 64) is rerun: its stored
# document was read back with json-c's default depth of 32 levels, and the
# rerun failed -32603 "the stored document ... is not JSON".
n = {"id": "leaf", "kind": "task", "fn": "noop"}
for i in range(40):
    n = {"id": "s%d" % i, "kind": "scope", "nodes": [n]}
deep = a.result("submit", {"graph": {"nodes": [n]}})["id"]
expect(a.result("wait", {"id": deep, "timeout_ms": 60000 * SLOW})["state"] == "succeeded", "deep ran")
m = a.call("rerun", {"id": deep})
expect("result" in m, "a deep graph is rerun", m)
st = a.result("wait", {"id": m["result"]["id"], "timeout_ms": 60000 * SLOW})
leaf = node(st, "/".join("s%d" % i for i in range(39, -1, -1)) + "/leaf")
expect(st["state"] == "succeeded" and leaf["state"] == "succeeded", "the deep rerun ran", st)
PY
coopd_stop
coopd_pass
