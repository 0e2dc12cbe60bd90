#!/bin/sh
# Retention: finished graphs and their logs are pruned by count and by age;
# active graphs never are.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
retention_graphs = 3
retention_days = 1
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"
coopd_py <<'PY' || fail "retention by count"
active = submit({"nodes": [{"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
ids = [run({"name": "g%d" % i, "nodes": [{"id": "e", "kind": "exec", "argv": ["echo", str(i)]}]})["id"]
       for i in range(5)]
listed = [g["id"] for g in rpc("list", {"all": True})["graphs"]]
expect(active in listed, "the active graph is kept", listed)
expect(listed.count(active) == 1 and sorted(set(listed) - {active}) == sorted(ids[2:]),
       "the 3 newest finished graphs are kept", listed, ids)
gdir = os.path.join(os.environ["COOPD_STATE"], "graphs")
for i in ids[:2]:
    # The log directory goes once the rows' delete has committed.
    for _ in range(1000 * SLOW):
        if not os.path.exists(os.path.join(gdir, i)):
            break
        time.sleep(0.01)
    expect(not os.path.exists(os.path.join(gdir, i)), "pruned graph's directory removed", i)
    expect(error_code("status", {"id": i}) == -32001, "pruned graph gone", i)
expect(rpc("logs", {"id": ids[4], "node": "e", "stream": "stdout"})["data"] == "4\n", "kept logs")
rpc("cancel", {"id": active})
wait(active)
# Created first but finished last: the newest result stays; the graph
# that finished earliest among the rest goes.
listed = [g["id"] for g in rpc("list", {"all": True})["graphs"]]
expect(active in listed and ids[2] not in listed and ids[3] in listed,
       "pruning follows finish order, not creation order", listed, ids)
open(os.path.join(os.environ["COOPD_TMP"], "keep"), "w").write(ids[4])
PY
coopd_stop
# age: make one graph look finished ten days ago, then restart
keep=$(cat "$COOPD_TMP/keep")
old=$(python3 -c 'import time; print(int((time.time() - 10 * 86400) * 1000))')
KEEP=$keep OLD=$old python3 - <<'PY' || fail "cannot age the graph"
import os, sqlite3
db = sqlite3.connect(os.path.join(os.environ["COOPD_STATE"], "coopd.db"))
old = int(os.environ["OLD"])
seq = db.execute("SELECT seq FROM graphs WHERE id = ?", (os.environ["KEEP"],)).fetchone()[0]
db.execute("UPDATE graphs SET finished = ? WHERE seq = ?", (old, seq))
db.execute("UPDATE nodes SET started = ?, finished = ? WHERE graph = ? AND idx = 0", (old, old, seq))
db.commit()
db.close()
PY
coopd_start --config "$COOPD_TMP/coopd.conf"
KEEP=$keep coopd_py <<'PY' || fail "retention by age"
expect(error_code("status", {"id": os.environ["KEEP"]}) == -32001, "old graph pruned at start")
kdir = os.path.join(os.environ["COOPD_STATE"], "graphs", os.environ["KEEP"])
for _ in range(1000 * SLOW):
    if not os.path.exists(kdir):
        break
    time.sleep(0.01)
expect(not os.path.exists(kdir), "old graph's directory removed")
expect(len(rpc("list", {"all": True})["graphs"]) == 2, "the others stay")
PY
coopd_stop
coopd_pass
