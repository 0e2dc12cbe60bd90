#!/bin/sh
# A graph's Slurm spool directory (slurm_spool_dir/GRAPHID) belongs to the
# graph's owner, whose Slurm jobs write their output there: what a job of
# theirs leaves under the name of a later node's batch script must not
# reach coopd.  A FIFO there made coopd's open for writing wait, on its
# loop, for a reader: every user's requests, root's included, went
# unanswered for as long as the owner wished.  A hard link there had the
# script written through it (O_TRUNC) and chowned to the owner.  Now the
# name is removed and the script made anew (daemon/job-slurm.c
# write_file): the FIFO and the linked file are left as they were, the
# later node runs, and another user's ping is answered meanwhile.  A file
# there that is not the owner's (root's, linked in) is not read by `logs`.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require
. "$top_srcdir/tests/lib-fairshare.sh"
fair_users_setup
coopd_start -c "$(slurm_config)"
fair_socket_group
# A file of the attacker's own that the hard link names (a link to a file
# of someone else's would need fs.protected_hardlinks = 0).
touch "$COOPD_TMP/mine" && chown "$FAIR_A" "$COOPD_TMP/mine" && chmod 644 "$COOPD_TMP/mine" ||
	fail "cannot make the attacker's file"
fair_py <<'PY' || fail "spool planting"
tmp = os.environ["COOPD_TMP"]
spool = tmp + "/spool"
# plant (index 1) leaves a FIFO as 2.sh and a hard link as 3.sh; fifo
# (index 2) and link (index 3) come after it.
plant = ('d=%s/${COOPD_JOB%%/*}; mkfifo "$d/2.sh" && ln %s/mine "$d/3.sh" && echo planted'
         % (spool, tmp))
g = {"placement": "slurm", "nodes": [
    {"id": "plant", "kind": "exec", "argv": ["sh", "-c", plant]},
    {"id": "fifo", "kind": "exec", "after": ["plant"], "argv": ["echo", "fifo ran"]},
    {"id": "link", "kind": "exec", "after": ["fifo"], "argv": ["echo", "link ran"]}]}
a = as_user(FAIR_A)
gid = a.result("submit", {"graph": g})["id"]
for _ in range(2400):
    st = a.result("status", {"id": gid})
    if node(st, "plant")["state"] in FINAL:
        break
    time.sleep(0.05)
expect(node(st, "plant")["state"] == "succeeded", "the planting job ran", st)
# Another user's ping, with a hang guard (the socket's 60 s timeout x SLOW):
# before the fix, it was never answered.
b = as_user(FAIR_B)
expect(b.result("ping") == {}, "the other user's ping")
st = a.result("wait", {"id": gid, "timeout_ms": 120000 * SLOW})
expect(st["state"] == "succeeded", "the later nodes ran on scripts of their own", st)
a.close()
expect(log_text(gid, "fifo") == "fifo ran\n" and log_text(gid, "link") == "link ran\n",
       "their output")
expect(open(tmp + "/mine").read() == "", "the hard-linked file is untouched",
       open(tmp + "/mine").read()[:200])
expect(os.stat(tmp + "/mine").st_nlink == 1, "the link was removed, not written through")
# A file of root's linked in place of a job's output (what the owner can do
# where fs.protected_hardlinks = 0; made here by the test as root) is not
# read back to the owner: `logs` accepted files of coopd's own user there.
secret = tmp + "/secret"
with open(secret, "w") as f:
    f.write("root's secret\n")
os.chmod(secret, 0o600)
out = "%s/%s/1.out" % (spool, gid)
os.unlink(out)
os.link(secret, out)
a = as_user(FAIR_A)
m = a.call("logs", {"id": gid, "node": "plant", "stream": "stdout"})
expect("error" in m and m["error"]["code"] == -32603 and "secret" not in json.dumps(m),
       "a file of root's in the spool is not read", m)
PY
coopd_stop
coopd_pass
