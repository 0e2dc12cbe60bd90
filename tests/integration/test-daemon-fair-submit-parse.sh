#!/bin/sh
# Big submits are parsed and validated off the loop (issue 15 item 2,
# daemon/server-parse.c): user A pipelines big submits (200,000 noop
# nodes, about 9 MB a line) while user B pings every few milliseconds.
# B's pings are all answered (p50/p99/max printed; no timed assertion, a
# hang guard only), A's graphs are accepted and succeed; an invalid big graph
# gets the precise error (code, message, path) a small one gets, with its
# id; a big malformed line gets -32700 with id null; a client that
# disconnects while its big submit is being parsed leaves coopd healthy.
# Real users.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
cat >"$COOPD_TMP/coopd.conf" <<CONF
max_active_per_user = 100
max_pending_requests = 100
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group

fair_py <<'PY' || fail "big submits off the loop"

N = 200000
def big(bad_at=None):
    nodes = [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(N)]
    if bad_at is not None:
        nodes[bad_at] = {"id": "bad", "kind": "task", "fn": "no-such-builtin"}
    return {"nodes": nodes}
def line(id, graph):
    return (json.dumps({"jsonrpc": "2.0", "id": id, "method": "submit",
                        "params": {"graph": graph}}) + "\n").encode()
GOOD = big()
good_line = line(1, GOOD)
print("a big submit is %d bytes" % len(good_line))

# The precise error of a small invalid graph, to compare with the big one's.
small = {"nodes": [{"id": "n0", "kind": "task", "fn": "noop"},
                   {"id": "bad", "kind": "task", "fn": "no-such-builtin"}]}
small_err = call("submit", {"graph": small})["error"]
expect(small_err["data"]["path"].startswith("nodes[1]"), "small error has a path", small_err)

pinger = Pinger(FAIR_B).start()

a = as_user(FAIR_A)
K = 4
ids = []
for k in range(K):
    a.send_raw(line(100 + k, GOOD))
    ids.append(100 + k)
a.send_raw(line(200, big(bad_at=150000)))
a.send_raw(b'{"jsonrpc":"2.0","id":300,"method":"submit","params":{"graph":' + b'[' * 10 + b'x' * 400000 + b'\n')
ping_id = a.send("ping")
order = []
while len(order) < K + 3:
    m = a.read_msg()
    if "id" in m:
        order.append(m["id"])
        a.answers[m["id"]] = m
# (A submit is answered once stored: a later request may be answered first.)
expect(sorted(order, key=str) == sorted(ids + [200, None, ping_id], key=str),
       "every request is answered once", order)
gids = []
for i in ids:
    m = a.answers[i]
    expect("result" in m, "A's big graph is accepted", m)
    gids.append(m["result"]["id"])
bad = a.answers[200]
expect("error" in bad, "the invalid big graph is refused", bad)
e = bad["error"]
expect(e["code"] == small_err["code"] and e["message"] == small_err["message"],
       "same code and message as the small one", (e, small_err))
expect(e["data"]["path"] == small_err["data"]["path"].replace("nodes[1]", "nodes[150000]", 1),
       "the path names the bad node", (e, small_err))
expect(a.answers[None]["error"]["code"] == -32700, "a big malformed line is -32700 with id null",
       a.answers[None])

# A client that goes away while its big submit is parsed.
for _ in range(3):
    gone = as_user(FAIR_A)
    gone.send_raw(line(1, GOOD))
    gone.close()

for g in gids:
    st = a.result("wait", {"id": g, "timeout_ms": 600000 * SLOW, "summary": True})
    expect(st["state"] == "succeeded", "A's big graph succeeds", st)
rtts = pinger.finish()
print("B's pings while A submitted: %d, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
      % (len(rtts), pctl(rtts, 50) * 1000, pctl(rtts, 99) * 1000, max(rtts) * 1000))

# coopd is healthy after the disconnected clients: it answers and runs.
b = as_user(FAIR_B)
expect(b.result("ping") is not None, "coopd still answers")
gid = b.result("submit", {"graph": {"nodes": [{"id": "n", "kind": "task", "fn": "noop"}]}})["id"]
st = b.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "succeeded", "B's graph completes afterwards", st)
PY
coopd_stop
coopd_pass
