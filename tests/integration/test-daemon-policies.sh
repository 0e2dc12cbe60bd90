#!/bin/sh
# Scope policies with their expected states and reasons, deadlines,
# `always` cleanup after a failure, skipped dependents.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start
coopd_py <<'PY' || fail "policies"
LONG = {"ms": 600000}

# fail_fast: the failure cancels the running siblings (sibling_failed),
# a dependent of the failed node is skipped, an `always` node runs.
st = run({"policy": "fail_fast", "nodes": [
    {"id": "bad", "kind": "exec", "argv": ["sh", "-c", "sleep 1; exit 7"]},
    {"id": "t", "kind": "task", "fn": "sleep", "args": LONG},
    {"id": "b", "kind": "blocking", "fn": "sleep", "args": LONG},
    {"id": "e", "kind": "exec", "argv": ["sleep", "600"], "grace_ms": 5000},
    {"id": "dep", "kind": "task", "fn": "noop", "after": ["bad"]},
    {"id": "cleanup", "kind": "exec", "argv": ["sh", "-c", "echo cleaned"],
     "after": ["bad", "t"], "always": True}]})
expect(st["state"] == "failed", "fail_fast graph failed", st)
expect(node(st, "bad")["state"] == "failed" and node(st, "bad")["exit_code"] == 7, "bad", st)
for k in ("t", "b", "e"):
    n = node(st, k)
    expect(n["state"] == "cancelled" and n["cancel"]["reason"] == "sibling_failed",
           "sibling_failed " + k, n)
expect(node(st, "e")["signal"] == 15, "exec sibling got SIGTERM", st)
dep = node(st, "dep")
expect(dep["state"] == "skipped" and dep["started"] is None, "dependent skipped", dep)
cl = node(st, "cleanup")
expect(cl["state"] == "succeeded" and cl["started"] >= node(st, "t")["finished"],
       "always cleanup ran after its deps settled", cl)
gid = st["id"]
expect(rpc("logs", {"id": gid, "node": "cleanup", "stream": "stdout"})["data"] == "cleaned\n",
       "cleanup output")

# all_settled: failures cancel nothing; the scope fails after all settle
st = run({"policy": "all_settled", "nodes": [
    {"id": "bad", "kind": "task", "fn": "fail", "args": {"message": "x"}},
    {"id": "slow", "kind": "task", "fn": "sleep", "args": {"ms": 100}},
    {"id": "ok", "kind": "exec", "argv": ["true"]},
    {"id": "dep", "kind": "task", "fn": "noop", "after": ["bad"]},
    {"id": "dep2", "kind": "task", "fn": "noop", "after": ["dep"]}]})
expect(st["state"] == "failed", "all_settled fails", st)
expect(node(st, "slow")["state"] == "succeeded" and node(st, "slow")["cancel"] is None and
       node(st, "ok")["state"] == "succeeded", "siblings not cancelled", st)
expect(node(st, "dep")["state"] == "skipped" and node(st, "dep2")["state"] == "skipped",
       "skips propagate", st)

# all_settled, nothing fails
st = run({"policy": "all_settled", "nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
expect(st["state"] == "succeeded", "all_settled succeeds", st)

# race: the first success wins, the others are cancelled with race_lost
st = run({"policy": "race", "nodes": [
    {"id": "fast", "kind": "task", "fn": "sleep", "args": {"ms": 10}},
    {"id": "slow", "kind": "task", "fn": "sleep", "args": LONG},
    {"id": "slowx", "kind": "exec", "argv": ["sleep", "600"]},
    {"id": "slowb", "kind": "blocking", "fn": "sleep", "args": LONG}]})
expect(st["state"] == "succeeded" and node(st, "fast")["state"] == "succeeded", "race won", st)
for k in ("slow", "slowx", "slowb"):
    n = node(st, k)
    expect(n["state"] == "cancelled" and n["cancel"]["reason"] == "race_lost", "race_lost " + k, n)

# race: a failure does not end the race; only all failing fails it
st = run({"policy": "race", "nodes": [
    {"id": "f", "kind": "task", "fn": "fail"},
    {"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 50}}]})
expect(st["state"] == "succeeded" and node(st, "s")["state"] == "succeeded", "race survives", st)
st = run({"policy": "race", "nodes": [
    {"id": "f1", "kind": "task", "fn": "fail"},
    {"id": "f2", "kind": "exec", "argv": ["false"]}]})
expect(st["state"] == "failed", "race all failed", st)

# a nested race scope inside a fail_fast graph (the shape of coopd.graph(5)'s example)
st = run({"nodes": [
    {"id": "warm", "kind": "task", "fn": "spin", "args": {"units": 1000}},
    {"id": "load", "kind": "scope", "policy": "race", "after": ["warm"], "nodes": [
        {"id": "primary", "kind": "exec", "argv": ["true"]},
        {"id": "replica", "kind": "exec", "argv": ["sleep", "600"]}]},
    {"id": "cleanup", "kind": "task", "fn": "noop", "after": ["load"], "always": True}]})
expect(st["state"] == "succeeded", "nested race", st)
expect(node(st, "load/replica")["cancel"]["reason"] == "race_lost", "nested race_lost", st)

# deadline on the graph: everything running is cancelled with `deadline`
st = run({"deadline_ms": 100, "nodes": [
    {"id": "t", "kind": "task", "fn": "sleep", "args": LONG},
    {"id": "e", "kind": "exec", "argv": ["sleep", "600"]},
    {"id": "q", "kind": "blocking", "fn": "sleep", "args": LONG}]})
expect(st["state"] == "cancelled", "deadline cancels the graph", st)
expect(st["root"]["cancel"]["reason"] == "deadline", "root reason deadline", st)
for k in "teq":
    n = node(st, k)
    expect(n["state"] == "cancelled" and n["cancel"]["reason"] == "deadline", "deadline " + k, n)

# deadline on a nested scope, with `always` cleanup shielded from it
st = run({"policy": "all_settled", "nodes": [
    {"id": "s", "kind": "scope", "deadline_ms": 50, "nodes": [
        {"id": "t", "kind": "task", "fn": "sleep", "args": LONG},
        {"id": "c", "kind": "task", "fn": "sleep", "args": {"ms": 100}, "after": ["t"],
         "always": True}]},
    {"id": "after_s", "kind": "task", "fn": "noop", "after": ["s"]}]})
expect(node(st, "s")["state"] == "cancelled" and node(st, "s")["cancel"]["reason"] == "deadline",
       "scope deadline", st)
expect(node(st, "s/t")["cancel"]["reason"] == "deadline", "inner deadline", st)
expect(node(st, "s/c")["state"] == "succeeded", "always shielded from the deadline", st)
expect(node(st, "after_s")["state"] == "skipped", "dependent of cancelled scope skipped", st)

# `always` runs after a failing dependency, and its own failure counts
st = run({"policy": "all_settled", "nodes": [
    {"id": "a", "kind": "exec", "argv": ["false"]},
    {"id": "c", "kind": "exec", "argv": ["sh", "-c", "exit 0"], "after": ["a"], "always": True}]})
expect(node(st, "c")["state"] == "succeeded" and node(st, "c")["started"] >= node(st, "a")["finished"],
       "always after failure", st)
ping_ok()
PY
coopd_stop
coopd_pass
