#!/bin/sh
# test-coopctl-dot.sh -- `coopctl status ID --format dot` (issue 18): the
# Graphviz source renders with `dot -Tsvg`, names every node of the graph
# once by its path, draws every `after` as an edge (clipped at a scope's
# cluster), puts each scope's children in its cluster, and colours nodes by
# state; bad --format values are usage errors.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

command -v dot >/dev/null 2>&1 || skip "graphviz (dot) is not installed"
T=$COOPD_TMP
coopd_start

cat >"$T/g.json" <<'JSON'
{"name": "etl \"nightly\"", "policy": "all_settled", "nodes": [
  {"id": "fetch", "kind": "exec", "argv": ["true"]},
  {"id": "warm", "kind": "task", "fn": "noop"},
  {"id": "load", "kind": "scope", "after": ["fetch", "warm"], "nodes": [
    {"id": "primary", "kind": "exec", "argv": ["false"]},
    {"id": "index", "kind": "task", "fn": "noop", "after": ["primary"]},
    {"id": "inner", "kind": "scope", "nodes": []}
  ]},
  {"id": "report", "kind": "task", "fn": "noop", "after": ["load"]},
  {"id": "cleanup", "kind": "exec", "argv": ["true"], "after": ["load", "fetch"], "always": true}
]}
JSON
id=$(coopd_ctl submit "$T/g.json") || fail "submit"
coopd_ctl wait "$id" >/dev/null
[ $? -eq 1 ] || fail "the graph should fail (load/primary exits 1)"

coopd_ctl status "$id" --format dot >"$T/g.dot" || fail "status --format dot exited $?"
dot -Tsvg "$T/g.dot" >"$T/g.svg" 2>"$T/dot.err" || fail "dot -Tsvg failed: $(cat "$T/dot.err")"
[ -s "$T/dot.err" ] && fail "dot warned: $(cat "$T/dot.err")"
grep -q "<svg" "$T/g.svg" || fail "no SVG from dot"
# --json does not change the format asked for.
coopd_ctl --json status "$id" --format dot | cmp -s - "$T/g.dot" || fail "--json changed the dot output"
coopd_ctl --json status "$id" >"$T/st.json" || fail "status --json"

# Graphviz's own reading of the source (dot -Tjson) against the status.
dot -Tjson "$T/g.dot" >"$T/g.dot.json" || fail "dot -Tjson failed"
python3 - "$T/st.json" "$T/g.dot.json" <<'PY' || fail "the picture does not match the graph: $(cat "$T/g.dot")"
import json, sys
st = json.load(open(sys.argv[1]))
g = json.load(open(sys.argv[2]))

# The graph's nodes: path -> (state, scope?), and its edges.
nodes, edges, members = {}, set(), {}
def walk(n, parent):
    for c in n.get("nodes", []):
        nodes[c["path"]] = c
        members.setdefault(parent, set()).add(c["path"])
        for dep in c.get("after", []):
            edges.add(((parent + "/" if parent else "") + dep, c["path"]))
        if c["kind"] == "scope":
            walk(c, c["path"])
walk(st["root"], "")
assert ("fetch", "load") in edges and ("load/primary", "load/index") in edges, edges

objs = g.get("objects", [])
drawn = {o["name"]: o for o in objs if "nodes" not in o and "subgraphs" not in o and not o["name"].startswith("legend:")}
# Graphviz lists clusters among objects too (with "nodes"/"subgraphs" or a cluster_ name).
drawn = {k: v for k, v in drawn.items() if not k.startswith("cluster_")}
assert set(drawn) == set(nodes), (sorted(drawn), sorted(nodes))
gv_edges = set()
for e in g.get("edges", []):
    t, h = objs[e["tail"]]["name"], objs[e["head"]]["name"]
    gv_edges.add((t, h))
assert gv_edges == edges, (sorted(gv_edges), sorted(edges))

# Colours follow states: same state, same fill; different states differ.
fill = {}
for path, n in nodes.items():
    fill.setdefault(n["state"], set()).add(drawn[path]["fillcolor"])
for s, f in fill.items():
    assert len(f) == 1, (s, f)
assert len({next(iter(f)) for f in fill.values()}) == len(fill), fill
assert {"succeeded", "failed", "skipped"} <= set(fill), fill

# Each scope is a cluster holding its children (and its own anchor node).
clusters = {o["name"]: o for o in objs if o["name"].startswith("cluster_") and o["name"] != "cluster_legend"}
scopes = {p for p, n in nodes.items() if n["kind"] == "scope"}
assert set(clusters) == {"cluster_" + p for p in scopes}, (sorted(clusters), scopes)
for p in scopes:
    inside = {objs[i]["name"] for i in clusters["cluster_" + p].get("nodes", [])}
    want = {q for q in nodes if q.startswith(p + "/")} | {p}
    assert inside == want, (p, inside, want)
# The graph's name, quotes and all, is in the label.
assert 'etl "nightly"' in g["label"] and st["id"] in g["label"], g["label"]
PY

# Bad usage.
coopd_ctl status "$id" --format png 2>"$T/err"
[ $? -eq 2 ] || fail "--format png did not exit 2"
grep -q "unknown format 'png'" "$T/err" || fail "--format png: $(cat "$T/err")"
coopd_ctl status --format dot 2>/dev/null
[ $? -eq 2 ] || fail "--format dot without an id did not exit 2"
coopd_ctl status "$id" --format dot --summary 2>/dev/null
[ $? -eq 2 ] || fail "--format dot --summary did not exit 2"
coopd_ctl status nosuchgraph --format dot 2>/dev/null
[ $? -eq 2 ] || fail "--format dot of an unknown graph did not exit 2"

coopd_pass
