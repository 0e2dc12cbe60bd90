#!/bin/sh
# A graph nested deeper than the JSON reader allows (issue 18, defect 5):
# 1,000 nested scopes are answered with the request's own id and -32003
# naming max_scope_depth (docs/protocol.md, section 2), also with other
# requests in flight on the same connection; a deep request of another
# method keeps -32600 but gets its id too; coopd carries on; coopctl shows
# the message.
. "$(dirname "$0")/../lib-coopd.sh"

coopd_start
coopd_py <<'PYEOF' || fail "deep requests"
def nested(n):
    # Text, not json.dumps: Python's encoder recurses once per level.
    return ("".join('{"id":"s%d","kind":"scope","nodes":[' % i for i in range(n))
            + "]}" * n)

c = Conn()
# Three requests in flight at once; the deep one in the middle.
c.send_raw('{"jsonrpc":"2.0","id":6,"method":"ping"}\n')
c.send_raw('{"jsonrpc":"2.0","method":"submit","params":{"graph":{"name":"deep","nodes":[%s]}},'
           '"id":7}\n' % nested(1000))
c.send_raw('{"jsonrpc":"2.0","id":"after","method":"version"}\n')
m = c.answer(7)
expect("error" in m, "1,000 nested scopes are refused", m)
e = m["error"]
expect(e["code"] == -32003, "-32003 (a limit)", m)
expect("max_scope_depth" in e["message"] and "max_scope_depth" in e["data"]["reason"],
       "the reason names max_scope_depth", m)
expect(c.answer(6).get("result") == {}, "the ping before it is answered", None)
expect("version" in c.answer("after").get("result", {}), "the request after it is answered", None)

# The same with a string id placed after the deep params.
c.send_raw('{"jsonrpc":"2.0","method":"submit","params":{"graph":{"nodes":[%s]}},"id":"g-1"}\n'
           % nested(1000))
m = c.answer("g-1")
expect(m.get("error", {}).get("code") == -32003, "string id after params", m)

# Another method, too deep: the JSON limit, with the id.
c.send_raw('{"jsonrpc":"2.0","id":9,"method":"status","params":{"id":%s}}\n'
           % ("[" * 1000 + "]" * 1000))
m = c.answer(9)
expect(m.get("error", {}).get("code") == -32600, "a deep status is -32600", m)
expect("nested deeper" in m["error"]["message"], "and says why", m)

# Just over the limit (65 scopes parse, and are refused by the validator,
# with a path) and just under it (64 scopes run).
m = c.call("submit", {"graph": json.loads('{"nodes":[%s]}' % nested(65))})
expect(m.get("error", {}).get("code") == -32003 and "max_scope_depth" in m["error"]["message"],
       "65 scopes: -32003 max_scope_depth", m)
gid = c.result("submit", {"graph": json.loads('{"nodes":[%s]}' % nested(63))})["id"]
st = wait(gid)
expect(st["state"] == "succeeded", "63 nested scopes under the root (64 levels) run", st["state"])
c.close()
ping_ok()  # coopd carries on

with open(os.path.join(os.environ["COOPD_TMP"], "deep.json"), "w") as f:
    f.write('{"nodes":[%s]}' % nested(1000))
PYEOF

out=$(coopd_ctl submit "$COOPD_TMP/deep.json" 2>&1) && fail "coopctl accepted a 1,000-deep graph"
case $out in
*max_scope_depth*) ;;
*) fail "coopctl does not show the limit: $out" ;;
esac
coopd_stop
coopd_pass
