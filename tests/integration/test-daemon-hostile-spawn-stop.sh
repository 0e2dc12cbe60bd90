#!/bin/sh
# A job's process stopped before its exec no longer freezes coopd
# (daemon/job-spawn-guard.c, docs/security.md "Spawning as the owner").
# coopd's loop waits in vfork until the child it spawns as the graph's
# owner has executed the job's program; the owner may signal that child,
# and SIGSTOP cannot be blocked: a kill(-1, SIGSTOP) loop of the owner
# caught one within a second and froze coopd for every user until the
# owner sent SIGCONT.  Here user A submits exec jobs whose PATH is 200
# directories that do not exist (so each child spends a while in its
# execve tries, before its exec), and a process of A's stops everything of
# A's over and over, continuing only A's jobs that have executed (their
# comm is no longer coopd's) so that new spawns keep coming.  Until the
# guard has killed a stopped child (stats daemon.exec_spawns_stopped),
# user B's pings are answered (hang guard only: before, the loop stayed
# frozen and B's ping never came back); the job whose child was killed
# fails with a reason that says so; afterwards B's graph runs.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

[ "$(id -u)" = 0 ] || skip "needs root (jobs run as a real user)"
fair_users_setup
coopd_start
fair_socket_group

fair_py <<'PY' || fail "a stopped spawn"
import signal

def stopped(key="exec_spawns_stopped"):
    return rpc("stats")["daemon"][key]

uid, gid, groups = ids_of(FAIR_A)
go = os.path.join(os.environ["COOPD_TMP"], "stop-on")
open(go, "w").close()
parent = os.getpid()
stopper = os.fork()
if stopper == 0:
    try:
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
        me = os.getpid()
        end = time.monotonic() + 600 * SLOW
        # (ends with the test, also one that failed: its users' uids are
        # given to later tests' users)
        while os.path.exists(go) and os.getppid() == parent and time.monotonic() < end:
            for _ in range(200):
                try:
                    os.kill(-1, signal.SIGSTOP)  # not itself: kill(-1) skips the caller
                except OSError:
                    pass
            for p in os.listdir("/proc"):
                if not p.isdigit() or int(p) == me:
                    continue
                try:
                    st = open("/proc/%s/stat" % p).read()
                except OSError:
                    continue
                comm = st[st.index("(") + 1:st.rindex(")")]
                state = st.rsplit(")", 1)[1].split()[0]
                if state == "T" and comm != "coopd":
                    try:
                        os.kill(int(p), signal.SIGCONT)
                    except OSError:
                        pass
    finally:
        os._exit(0)

a = as_user(FAIR_A)
path = ":".join("/nonexistent/%d" % i for i in range(200)) + ":/usr/bin:/bin"
graph = {"name": "stopped", "max_parallel": 16, "nodes": [
    {"id": "n%d" % i, "kind": "exec", "argv": ["true"], "env": {"PATH": path}}
    for i in range(1000)]}
gids = [a.result("submit", {"graph": graph})["id"]]
pinger = Pinger(FAIR_B).start()
b = as_user(FAIR_B)
b.s.settimeout(60 * SLOW)
deadline = time.monotonic() + 300 * SLOW
while stopped() == 0:
    expect(time.monotonic() < deadline, "no stopped spawn was caught (hang guard)")
    if a.result("status", {"id": gids[-1], "summary": True})["state"] != "running":
        gids.append(a.result("submit", {"graph": graph})["id"])  # another 1,000 spawns
    expect(b.result("ping") == {}, "B is answered")
    time.sleep(0.02)
print("spawns stopped before their exec and killed:", stopped())
os.unlink(go)
os.waitpid(stopper, 0)
rtts = pinger.finish()
print("B's pings meanwhile: %d, max %.1f ms" % (len(rtts), max(rtts) * 1000))
# A's stopped jobs go on; the graph is cancelled.
cont = os.fork()
if cont == 0:
    os.setgroups(groups); os.setgid(gid); os.setuid(uid)
    try:
        os.kill(-1, signal.SIGCONT)
    finally:
        os._exit(0)
os.waitpid(cont, 0)
errs = []
for g in gids:
    a.result("cancel", {"id": g})
    st = a.result("wait", {"id": g, "timeout_ms": 600000 * SLOW})
    errs += [n.get("error", "") for n in st["root"]["nodes"] if n["state"] == "failed"]
expect(any("stopped by a signal before its exec" in e for e in errs),
       "the job whose child was killed says why", errs[:5])
g = b.result("submit", {"graph": {"nodes": [{"id": "x", "kind": "exec", "argv": ["true"]}]}})
expect(b.result("wait", {"id": g["id"], "timeout_ms": 60000 * SLOW})["state"] == "succeeded",
       "B's graph runs afterwards")
PY
coopd_stop
coopd_pass
