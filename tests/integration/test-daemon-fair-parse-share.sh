#!/bin/sh
# A line waiting for the parse thread still counts against its user's
# share of input bytes (daemon/server-conn.c, conn_input_held;
# docs/security.md "Per-user limits and timeouts").  It used to leave the
# count the moment it was handed to the parser: with 64 connections each
# queueing a 16 MiB submit, one user held 1 GiB beside a 64 MiB share.
# Here (max_input_bytes_per_user = 12 MiB, max_request_bytes 11 MiB):
#   - user A's first connection sends a 10 MB submit (parsed off the loop,
#     refused at its last node); while it is parsed, A's second connection
#     sends a 4 MB one and gets -32003 naming max_input_bytes_per_user;
#   - user B's 4 MB submit meanwhile is parsed and answered as usual;
#   - A's first submit gets its own precise error, and afterwards A may
#     send a 10 MB line again (the copy's bytes came back to the share);
#   - in the end no input bytes are counted (stats input_bytes).
# Real users, real coopd.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
max_request_bytes = 11534336
max_input_bytes_per_user = 12582912
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group

fair_py <<'PY' || fail "parse copies in the share"

def doc(n, bad_last):
    nodes = [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(n)]
    if bad_last:
        nodes[-1] = {"id": "bad", "kind": "task", "fn": "no-such-builtin"}
    return {"nodes": nodes}
def line(id, graph):
    return (json.dumps({"jsonrpc": "2.0", "id": id, "method": "submit",
                        "params": {"graph": graph}}) + "\n").encode()
BIG = line(1, doc(200000, True))    # about 10 MB, refused at its last node
MID = line(2, doc(80000, True))     # about 4 MB
print("lines of %d and %d bytes" % (len(BIG), len(MID)))
expect(10 << 20 > len(BIG) > 8 << 20 and len(MID) > 3 << 20, "sizes", len(BIG), len(MID))

a1 = as_user(FAIR_A)
a1.send_raw(BIG)
# While A's first line is parsed (hundreds of ms for 200,000 nodes), the
# second would take A over 12 MiB: refused, and the connection closed.
a2 = as_user(FAIR_A)
try:
    a2.send_raw(MID)
except (BrokenPipeError, ConnectionResetError):
    pass  # coopd closes it once it has answered
m = a2.read_msg()
expect(m.get("error", {}).get("code") == -32003 and
       "max_input_bytes_per_user" in m["error"]["message"],
       "A's second big line is over A's share", m)
# B's share is B's own.
b = as_user(FAIR_B)
b.send_raw(MID)
m = b.read_msg()
expect(m.get("id") == 2 and m.get("error", {}).get("code") == -32602 and
       m["error"]["data"]["path"].startswith("nodes[79999]"), "B's line is parsed as usual", m)
m = a1.read_msg()
expect(m.get("id") == 1 and m.get("error", {}).get("code") == -32602 and
       m["error"]["data"]["path"].startswith("nodes[199999]"),
       "A's first line gets its own precise error", m)
# The copy's bytes came back: the same connection sends 10 MB again.
a1.send_raw(BIG)
m = a1.read_msg()
expect(m.get("id") == 1 and m.get("error", {}).get("code") == -32602,
       "A's share is whole again after the parse", m)
expect(a1.result("ping") == {}, "A's connection goes on")
a1.close()
b.close()
# (The count includes the asking `stats` line itself, under 100 bytes.)
def counted():
    return rpc("stats")["daemon"]["input_bytes"]
for _ in range(1000 * SLOW):
    if counted() < 100:
        break
    time.sleep(0.01)
expect(counted() < 100, "no input bytes left counted", rpc("stats")["daemon"])
PY
coopd_stop
coopd_pass
