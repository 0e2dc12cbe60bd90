#!/bin/sh
# Live stats (issue 18, defect 6): while a node runs, `status` shows its
# polls and forced yields as they grow, not 0 until it settles; a running
# scope shows the sums over its descendants; a node that has not started
# shows 0; the final figures are at least the last live ones.
. "$(dirname "$0")/../lib-coopd.sh"

coopd_start
coopd_py <<'PYEOF' || fail "live stats"
g = {"name": "live", "nodes": [
    {"id": "s", "kind": "scope", "nodes": [
        {"id": "spin", "kind": "task", "fn": "spin", "args": {"units": 2**62}}]},
    {"id": "later", "kind": "task", "fn": "noop", "after": ["s"]}]}
gid = submit(g)

def look():
    st = rpc("status", {"id": gid})
    return st, node(st, "s"), node(st, "s/spin"), node(st, "later")

# Until the spinner has used up its budget at least twice (a generous
# guard, no timing assumption: each round is one status request).
deadline = time.time() + 120 * SLOW
while True:
    st, s, spin, later = look()
    if spin["state"] == "running" and spin["stats"]["forced_yields"] >= 2:
        break
    expect(time.time() < deadline, "the spinner shows forced yields while it runs", spin)
first = spin["stats"]
expect(first["polls"] >= first["forced_yields"] >= 2, "polls count the forced yields", first)
# One answer is one snapshot: a scope's figures are its children's sums.
expect(s["state"] == "running" and s["stats"] == first,
       "the running scope sums its descendants (its only child)", (s["stats"], first))
expect(st["root"]["stats"] == first, "and so does the root ('later' has 0)",
       (st["root"]["stats"], first))
expect(later["state"] == "pending" and later["stats"] == {"polls": 0, "forced_yields": 0},
       "a node that has not started shows 0", later)

# They keep growing while it runs.
while True:
    st, s, spin, later = look()
    if spin["stats"]["forced_yields"] > first["forced_yields"]:
        break
    expect(spin["state"] == "running" and time.time() < deadline, "the figures grow", spin)
last = spin["stats"]

call("cancel", {"id": gid})
st = wait(gid)
spin = node(st, "s/spin")
expect(spin["state"] == "cancelled", "cancelled", spin["state"])
expect(spin["stats"]["polls"] >= last["polls"] and
       spin["stats"]["forced_yields"] >= last["forced_yields"],
       "the final figures are at least the live ones", (spin["stats"], last))
print("live: %r, then %r, final %r" % (first, last, spin["stats"]))
PYEOF
coopd_stop
coopd_pass
