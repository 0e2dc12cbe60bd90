#!/bin/sh
# Every method of docs/protocol.md over raw JSON-RPC, several clients, several
# requests in flight on one connection, notifications, and a client that
# disconnects in the middle of a request.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
answer_backlog_bytes = 4096
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
coopd_py <<'PY' || fail "methods"
# version, ping
v = rpc("version")
expect(isinstance(v["version"], str) and v["protocol"] == 1, "version", v)
ping_ok()

# submit + wait (full and summary) + status (full and summary)
g = {"name": "basics", "nodes": [
    {"id": "a", "kind": "task", "fn": "noop"},
    {"id": "b", "kind": "exec", "argv": ["sh", "-c", "echo out; echo err >&2"], "after": ["a"]},
    {"id": "s", "kind": "scope", "after": ["b"], "nodes": [
        {"id": "x", "kind": "blocking", "fn": "noop"}]}]}
gid = submit(g)
expect(isinstance(gid, str) and gid, "submit id", gid)
st = wait(gid)
expect(st["state"] == "succeeded", "graph succeeded", st)
for k in ("id", "name", "state", "owner_uid", "created", "started", "finished", "root"):
    expect(k in st, "status has " + k, st)
expect(st["owner_uid"] == os.getuid(), "owner uid", st)
expect(st["root"]["path"] == "/", "root path", st)
x = node(st, "s/x")
expect(x["path"] == "s/x" and x["kind"] == "blocking" and x["state"] == "succeeded", "nested", x)
for k in ("id", "path", "kind", "state", "started", "finished", "cancel", "stats"):
    expect(k in x, "node has " + k, x)
expect(node(st, "b")["exit_code"] == 0, "exit code", st)
expect(node(st, "b")["started"] >= node(st, "a")["finished"], "after a", st)
expect(node(st, "s")["started"] >= node(st, "b")["finished"], "after b", st)
expect(st["created"].endswith("Z") and len(st["created"]) == 24, "RFC 3339 ms", st)

s2 = rpc("status", {"id": gid})
expect(s2 == st, "status == wait result", s2, st)
summ = rpc("status", {"id": gid, "summary": True})
expect(summ == {"id": gid, "name": "basics", "state": "succeeded",
                "counts": {"succeeded": 4}}, "summary", summ)
summ = wait(gid, summary=True)
expect(summ["counts"] == {"succeeded": 4}, "wait summary", summ)

# logs
lo = rpc("logs", {"id": gid, "node": "b", "stream": "stdout"})
expect(lo["data"] == "out\n" and lo["next_offset"] == 4, "stdout", lo)
lo = rpc("logs", {"id": gid, "node": "b", "stream": "stdout", "offset": 4})
expect(lo["data"] == "" and lo["eof"] is True, "stdout eof", lo)
lo = rpc("logs", {"id": gid, "node": "b", "stream": "stderr"})
expect(lo["data"] == "err\n", "stderr", lo)
lo = rpc("logs", {"id": gid, "node": "b", "stream": "stdout", "offset": 1})
expect(lo["data"] == "ut\n" and lo["next_offset"] == 4, "offset", lo)

# list: active only by default, all with all
long = submit({"name": "long", "nodes": [{"id": "z", "kind": "task", "fn": "sleep",
                                          "args": {"ms": 600000}}]})
ids = [x["id"] for x in rpc("list")["graphs"]]
expect(long in ids and gid not in ids, "list shows active only", ids)
al = rpc("list", {"all": True})["graphs"]
ids = [x["id"] for x in al]
expect(long in ids and gid in ids, "list all", ids)
brief = [x for x in al if x["id"] == gid][0]
expect(brief["nodes_total"] == 4 and brief["nodes_done"] == 4 and brief["name"] == "basics",
       "list entry", brief)

# wait with timeout on a running graph: the status as it stands
st = wait(long, timeout_ms=50)
expect(st["state"] == "running", "wait timeout gives running", st)

# cancel -> {requested: true}, then the graph ends cancelled (reason client)
# (state: the graph's state when the request arrived)
expect(rpc("cancel", {"id": long, "reason": "test over"}) == {"requested": True, "state": "running"}, "cancel")
st = wait(long)
expect(st["state"] == "cancelled", "cancelled graph", st)
z = node(st, "z")
expect(z["state"] == "cancelled" and z["cancel"]["reason"] == "client", "client reason", z)
expect(z["cancel"]["requested"] and z["cancel"]["acknowledged"], "cancel times", z)
expect(st["root"]["cancel"]["note"] == "test over", "note", st)
# cancelling a settled graph is fine, and the answer says it had settled
expect(rpc("cancel", {"id": long}) == {"requested": True, "state": "cancelled"}, "cancel settled")

# stats and metrics
s = rpc("stats")
for k in ("executor", "budget", "cancellation", "jobs", "daemon"):
    expect(k in s, "stats has " + k, s)
expect(s["daemon"]["graphs_submitted"] >= 2, "stats counts graphs", s)
expect(s["jobs"]["exec"]["spawned"] >= 1, "stats counts exec", s)
t = rpc("metrics")["text"]
for name in ("coopd_tasks_spawned_total", "coopd_tasks_finished_total", "coopd_task_polls_total",
             "coopd_budget_forced_yields_total", "coopd_preempt_short_circuits_total",
             "coopd_cancel_requests_total", "coopd_cancel_latency_seconds", "coopd_workers",
             "coopd_blocking_threads", "coopd_run_queue_depth", "coopd_blocking_queue_depth",
             "coopd_steals_total", "coopd_graphs_submitted_total", "coopd_graphs_active",
             "coopd_connections_active", "coopd_requests_total", "coopd_build_info"):
    expect("# HELP %s " % name in t and "# TYPE %s " % name in t, "metric " + name, t)
expect('coopd_tasks_spawned_total{kind="exec"} ' in t, "kind label", t)
expect('coopd_cancel_requests_total{reason="client"} ' in t, "reason label", t)
expect('coopd_cancel_latency_seconds_bucket{le="+Inf"}' in t, "histogram", t)
expect('coopd_requests_total{method="submit",code="0"}' in t, "requests", t)

# several requests in flight on one connection, answered by id; a
# notification (no id) is run and not answered
c = Conn()
c.send_raw('{"jsonrpc":"2.0","method":"ping"}\n')
w = c.send("wait", {"id": submit({"nodes": [{"id": "s", "kind": "task", "fn": "sleep",
                                             "args": {"ms": 200}}]})})
p1 = c.send("ping")
p2 = c.send("version")
expect(c.answer(p2)["result"]["protocol"] == 1, "pipelined version")
expect(c.answer(p1)["result"] == {}, "pipelined ping")
expect(c.answer(w)["result"]["state"] == "succeeded", "wait answered later")
c.send("ping", id="str-id")
expect(c.answer("str-id")["result"] == {}, "string id echoed")
c.close()

# a client that disconnects while its wait is pending changes nothing
gid3 = submit({"nodes": [{"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 300}}]})
c = Conn()
c.send("wait", {"id": gid3})
c.close()
c = Conn()
c.send_raw('{"jsonrpc":"2.0","id":1,"method":"wa')
c.close()
expect(wait(gid3)["state"] == "succeeded", "graph unaffected by disconnects")

# back-pressure: 300 pipelined status requests (each answer ~9 KB, over
# answer_backlog_bytes) written before any answer is read are all answered
big = submit({"nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(40)]})
wait(big)
c = Conn()
reqs = "".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "status", "params": {"id": big}}) + "\n"
               for i in range(300))
c.send_raw(reqs)
for i in range(300):
    expect(c.answer(i)["result"]["id"] == big, "pipelined answer %d" % i)
c.close()

# several clients at once
cs = [Conn() for _ in range(20)]
ids = [c.send("ping") for c in cs]
for c, i in zip(cs, ids):
    expect(c.answer(i)["result"] == {}, "many clients")
    c.close()
ping_ok()
PY
coopd_stop
coopd_pass
