#!/bin/sh
# A 200,000-node submit does not hold the loop while its nodes are
# launched (issue 15 item 2; daemon/graph-run.c, RUN_SLICE): they are
# spawned a slice per loop iteration, and other clients are served in
# between.  Shown structurally, not by a speed: user B alternates `stats`
# and `ping` while user A submits; some two answers of B's `stats`, with a
# `ping` of B answered between them, both show the big graph partly
# spawned and the second more than the first.  Before the slicing every
# node was spawned in the one callback that registered the graph, so no
# answer could ever see a partial count.  For a graph of noop tasks and
# one of `true` exec nodes under max_parallel (cancelled once seen).  The
# graphs' outcomes stay what they were; coopd's loop-hold metric is
# printed, not asserted (the machine is shared).  Real users.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
coopd_start
fair_socket_group

fair_py <<'PY' || fail "big submits launched in slices"
import threading

N = 200000

def spawned(st, kind):
    return st["jobs"][kind]["spawned"]

def observe(graph, kind):
    """A submits graph; B alternates stats and ping until the launch is
    over.  Returns (graph id, B's observations [(what, value)])."""
    b = as_user(FAIR_B)
    base = spawned(b.result("stats"), kind)
    a = as_user(FAIR_A)
    line = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "submit",
                        "params": {"graph": graph}}) + "\n").encode()
    got = {}
    def submitter():
        a.send_raw(line)
        got["answer"] = a.read_msg()
    t = threading.Thread(target=submitter)
    t.start()
    seen = []
    while True:
        n = spawned(b.result("stats"), kind) - base
        seen.append(("stats", n))
        if n >= N:
            break
        b.result("ping")
        seen.append(("ping", None))
    t.join(600 * SLOW)
    expect(not t.is_alive(), "A's submit is answered (hang guard)")
    expect("result" in got["answer"], "A's big graph is accepted", got["answer"])
    return got["answer"]["result"]["id"], seen

def served_between(seen):
    """Index of a ping answered between two stats answers that both show
    a partial launch, the second further on, or None."""
    for i in range(len(seen) - 2):
        (w0, n0), (w1, _), (w2, n2) = seen[i], seen[i + 1], seen[i + 2]
        if w0 == "stats" and w1 == "ping" and w2 == "stats" and 0 < n0 < n2 < N:
            return i
    return None

noop = {"nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(N)]}
gid, seen = observe(noop, "task")
partial = [n for w, n in seen if w == "stats" and 0 < n < N]
print("noop graph: %d stats answers of B saw it partly spawned" % len(partial))
i = served_between(seen)
expect(i is not None, "B's ping is answered while A's graph is being launched",
       seen[:40])
st = as_user(FAIR_A).result("wait", {"id": gid, "timeout_ms": 600000 * SLOW, "summary": True})
expect(st["state"] == "succeeded", "A's noop graph succeeds", st)
expect(st["counts"] == {"succeeded": N}, "every node of it succeeded", st["counts"])

ex = {"max_parallel": 4,
      "nodes": [{"id": "e%d" % i, "kind": "exec", "argv": ["true"]} for i in range(N)]}
gid, seen = observe(ex, "exec")
i = served_between(seen)
expect(i is not None, "B's ping is answered while A's exec graph is being launched",
       seen[:40])
a = as_user(FAIR_A)
a.result("cancel", {"id": gid})
st = a.result("wait", {"id": gid, "timeout_ms": 600000 * SLOW, "summary": True})
expect(st["state"] == "cancelled", "A's exec graph ends cancelled", st)
expect(sum(st["counts"].values()) == N and
       set(st["counts"]) <= {"succeeded", "cancelled", "skipped", "failed"},
       "every node of it settled", st["counts"])

m = call("metrics")["result"]["text"]
busy = [l for l in m.splitlines() if l.startswith("coopd_loop_busy_max_seconds ")]
expect(len(busy) == 1 and float(busy[0].split()[1]) > 0, "the loop-hold gauge is there", busy)
print("longest loop iteration meanwhile: %.1f ms" % (float(busy[0].split()[1]) * 1000))
PY
coopd_stop
coopd_pass
