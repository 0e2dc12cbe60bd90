#!/bin/sh
# retention_bytes (coopd.conf(5), docs/durability.md "Retention"), as two
# real users:
#   - A's graphs with big logs push out A's oldest settled graphs, never
#     B's, never an active graph; finish order decides, not creation;
#   - a graph's bytes (its document and the log bytes its jobs wrote) are
#     recorded in graphs.bytes when it settles;
#   - the bound survives a restart from the database alone: with the log
#     files gone (nothing left to walk) a smaller bound still prunes by
#     the recorded bytes;
#   - bad values of the key are refused with the key's name.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (the command) not found"

# Bad values: refused at start with the key's name, exit 1.
coopd_refuses_values retention_bytes 0 -1 abc 10k 1125899906842625 ""

fair_users_setup
DB=$COOPD_STATE/coopd.db
# Each graph's job writes 100,000 bytes: A keeps two (about 200,400
# bytes with their documents), a third would be 300,600.
printf 'retention_bytes = 250000\n' >"$COOPD_TMP/coopd.conf"
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
fair_py <<'PY' || fail "retention by bytes"
a, b = as_user(FAIR_A), as_user(FAIR_B)
def big(name, then=""):
    return {"name": name, "nodes": [{"id": "w", "kind": "exec", "argv":
            ["/bin/sh", "-c", "head -c 100000 /dev/zero" + then]}]}
def run_as(c, graph):
    gid = c.result("submit", {"graph": graph})["id"]
    st = c.result("wait", {"id": gid, "timeout_ms": 60000 * SLOW})
    expect(st["state"] == "succeeded", "ran", st)
    return gid
def listed(c):
    return [g["id"] for g in c.result("list", {"all": True})["graphs"]]
b1 = run_as(b, big("b1"))
a_ids = [run_as(a, big("a%d" % i)) for i in range(1, 5)]
expect(listed(a) == a_ids[-2:], "A keeps its 2 newest", listed(a), a_ids)
expect(listed(b) == [b1], "B's graph is kept", listed(b))
st = b.result("status", {"id": b1})
expect(st["state"] == "succeeded", "B's graph is whole", st)
# Its logs go once the delete of its rows has committed (hang guard only).
for i in a_ids[:2]:
    d = os.path.join(os.environ["COOPD_STATE"], "graphs", i)
    for _ in range(600 * SLOW):
        if not os.path.exists(d):
            break
        time.sleep(0.1)
    expect(not os.path.exists(d), "a pruned graph's logs are gone", i)
# An active graph is never pruned: a5 writes its bytes and keeps running
# while a6 settles (a3 goes, a4 and a6 stay, a5 is not counted yet).
a5 = a.result("submit", {"graph": big("a5", "; exec sleep 600")})["id"]
out = os.path.join(os.environ["COOPD_STATE"], "graphs", a5, "1.out")
def size(p):
    try:
        return os.path.getsize(p)
    except OSError:
        return 0
for _ in range(600 * SLOW):
    if size(out) >= 100000:
        break
    time.sleep(0.1)
expect(size(out) == 100000, "a5 wrote its log", size(out))
expect(a.result("status", {"id": a5, "summary": True})["state"] == "running", "a5 runs")
a6 = run_as(a, big("a6"))
expect(a5 in listed(a), "the active graph is kept")
expect(set(listed(a)) == {a_ids[3], a5, a6}, "a3 went, a4 and a6 stay", listed(a), a_ids)
# a5 settles (cancelled) after a6: a4, which finished first, goes.
a.result("cancel", {"id": a5})
st = a.result("wait", {"id": a5, "timeout_ms": 60000 * SLOW})
expect(st["state"] == "cancelled", "a5 cancelled", st)
expect(set(listed(a)) == {a6, a5}, "the oldest-finished went", listed(a), a_ids)
expect(listed(b) == [b1], "B's graph is still kept", listed(b))
open(os.path.join(os.environ["COOPD_TMP"], "ids"), "w").write(" ".join([b1, a6, a5]))
PY
read -r B1 A6 A5 <"$COOPD_TMP/ids"
coopd_stop

# What each graph recorded: its document and the 100,000 log bytes.
for id in "$B1" "$A6" "$A5"; do
	got=$(sqlite3 -readonly "$DB" "SELECT bytes - length(CAST(doc AS BLOB)) FROM graphs WHERE id = '$id'")
	[ "$got" = 100000 ] || fail "graph $id recorded $got log bytes, want 100000"
done

# The bound survives a restart, read from the database: the log files
# are gone (a walk of the files would find 0 bytes and prune nothing),
# and a bound of 150,000 still leaves A only its newest, B untouched.
rm -rf "$COOPD_STATE"/graphs/*
printf 'retention_bytes = 150000\n' >"$COOPD_TMP/coopd.conf"
coopd_start --config "$COOPD_TMP/coopd.conf"
fair_socket_group
fair_py <<'PY' || fail "after the restart"
b1, a6, a5 = open(os.path.join(os.environ["COOPD_TMP"], "ids")).read().split()
a, b = as_user(FAIR_A), as_user(FAIR_B)
got = [g["id"] for g in a.result("list", {"all": True})["graphs"]]
expect(got == [a5], "A keeps only the graph that finished last", got)
got = [g["id"] for g in b.result("list", {"all": True})["graphs"]]
expect(got == [b1], "B is untouched", got)
PY
[ "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM graphs WHERE id = '$A6'")" = 0 ] \
	|| fail "the pruned graph's row is still in the database"
grep -q "retention_bytes 150000 per user" "$COOPD_LOG" || fail "no log line for the pruning"
coopd_stop
coopd_pass
