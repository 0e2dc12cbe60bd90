#!/bin/sh
# A deleted graph's Slurm spool directory (slurm_spool_dir/GRAPHID) goes
# with it (daemon/job-slurm-spool.c, docs/slurm.md "Turning it on"): it
# stayed behind after `remove` and after retention pruned the graph, so one
# user's Slurm graphs filled the spool without bound.  As a real non-root
# owner: a graph removed, a graph pruned by retention_graphs = 1.  Then the
# owner's own job plants, in its graph's spool directory, a symbolic link
# named like a log (1.out, to a file of root's outside the spool), a FIFO
# named like one and a file of another name: the remove unlinks coopd's
# names only (the link, not its target; the FIFO without opening it),
# leaves the directory with the owner's file in it, logs its path, and
# coopd answers meanwhile.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require
. "$top_srcdir/tests/lib-fairshare.sh"
fair_users_setup
coopd_start -c "$(slurm_config retention_graphs=1)"
fair_socket_group
export COOPD_LOG
printf "root's file\n" >"$COOPD_TMP/rootfile" && chmod 644 "$COOPD_TMP/rootfile" ||
	fail "cannot make root's file"
fair_py <<'PY' || fail "spool clean"
import stat
tmp = os.environ["COOPD_TMP"]
spool = tmp + "/spool"
a = as_user(FAIR_A)

def run(g):
    gid = a.result("submit", {"graph": g})["id"]
    st = a.result("wait", {"id": gid, "timeout_ms": 120000 * SLOW})
    expect(st["state"] == "succeeded", "graph %s ran on Slurm" % gid, st)
    return gid

def until(cond, what):
    # A hang guard, not a timed assertion: the removal follows the
    # delete's commit on the state writer.
    return wait_for(what, cond, 6000)

def listed(gid):
    return any(x["id"] == gid for x in a.result("list", {})["graphs"])

one = {"placement": "slurm", "nodes": [{"id": "n", "kind": "exec", "argv": ["echo", "hi"]}]}

# remove
g1 = run(one)
expect(os.path.isfile("%s/%s/1.out" % (spool, g1)) and os.path.isfile("%s/%s/1.sh" % (spool, g1)),
       "the graph's spool directory holds its script and output", os.listdir(spool))
a.result("remove", {"id": g1})
until(lambda: not os.path.lexists(spool + "/" + g1), "the removed graph's spool directory goes")

# retention: the owner keeps one finished graph
g2 = run(one)
expect(os.path.isdir(spool + "/" + g2), "the second graph's spool directory")
g3 = run(one)
until(lambda: not listed(g2), "retention prunes the older graph")
until(lambda: not os.path.lexists(spool + "/" + g2), "the pruned graph's spool directory goes")
expect(os.path.isdir(spool + "/" + g3), "the kept graph's spool directory stays")

# a hostile owner: node 2 plants things beside node 1's files
plant = ('d=%s/${COOPD_JOB%%%%/*}; rm -f "$d/1.out" && ln -s %s/rootfile "$d/1.out" && '
         'mkfifo "$d/7.err" && echo mine >"$d/notes" && echo planted' % (spool, tmp))
g4 = run({"placement": "slurm", "nodes": [
    {"id": "out", "kind": "exec", "argv": ["echo", "hi"]},
    {"id": "plant", "kind": "exec", "after": ["out"], "argv": ["sh", "-c", plant]}]})
until(lambda: not os.path.lexists(spool + "/" + g3), "g4 pruned g3 and its spool directory")
d = spool + "/" + g4
expect(stat.S_ISLNK(os.lstat(d + "/1.out").st_mode) and stat.S_ISFIFO(os.lstat(d + "/7.err").st_mode),
       "planted", sorted(os.listdir(d)))
log = os.environ["COOPD_LOG"]
line = "Slurm spool directory %s of a deleted graph left in place" % d
a.result("remove", {"id": g4})
until(lambda: line in open(log).read(), "coopd logs the directory it left")
left = sorted(os.listdir(d))
expect(left == ["notes"], "only the owner's own file is left, coopd's names are gone", left)
expect(open(d + "/notes").read() == "mine\n", "the owner's file is untouched")
st = os.stat(tmp + "/rootfile")
expect(open(tmp + "/rootfile").read() == "root's file\n" and st.st_uid == 0 and
       stat.S_IMODE(st.st_mode) == 0o644, "the link's target is untouched", st)
expect(open(log).read().count(line) == 1, "logged once")
b = as_user(FAIR_B)
expect(b.result("ping") == {}, "coopd answers another user")
expect(not listed(g4), "the graph is gone")
PY
coopd_stop
coopd_pass
