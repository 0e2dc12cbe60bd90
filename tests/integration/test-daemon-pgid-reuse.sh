#!/bin/sh
# A job's process group id after its leader is reaped (docs/security.md,
# "A job's process group is signalled only while its leader is unreaped"):
# user A's job leaves a setsid'd child that ignores SIGTERM and its leader
# exits; once coopd (root) has reaped the leader and the group is empty,
# the id L is free, and a process of user B that gets pid L (forced with
# ns_last_pid) and calls setsid() owns group L.  Then, in subreaper mode
# (cgroups = off) and, where coopd finds a writable cgroup2, cgroup mode:
#   - A cancels its graph: B's process is not signalled (coopd used to send
#     SIGTERM to -L, and SIGKILL after the grace), while A's leftover still
#     gets SIGTERM, then SIGKILL after the grace; the node keeps its result
#     (it had ended before the cancel: "completed anyway"), with its
#     leftover counted and the cancel recorded;
#   - A pauses its graph, A's leader is killed while paused (the group is
#     then empty), B's stopped process takes group L, A resumes: B's
#     process stays stopped (coopd used to send SIGCONT to -L);
#   - the group's last member dies while coopd is stopped and B's process
#     takes group L before coopd looks again: the job ends anyway (coopd
#     used to take B's group for the job's and wait for it);
#   - a cancel while the group lives on after the leader's reap: its
#     member gets one SIGTERM, then SIGKILL after the grace.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

fair_users_setup
[ -w /proc/sys/kernel/ns_last_pid ] || skip "cannot force a pid (/proc/sys/kernel/ns_last_pid)"
mkdir "$COOPD_TMP/a"
chown "$FAIR_A:" "$COOPD_TMP/a"
pr_cleanup() {
	# B's processes made by the test (their pids were written down).
	for f in "$COOPD_TMP"/b-*.pid; do
		[ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
}
trap '_pr_rc=$?; pr_cleanup; (exit $_pr_rc); _coopd_cleanup' EXIT

cat >"$COOPD_TMP/pgid.py" <<'PY'
import signal
TMP = os.environ["COOPD_TMP"]
MODE = os.environ["COOPD_MODE"]
ADIR = TMP + "/a"

def stat_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None

def alive(pid):
    st = stat_of(pid)
    return st is not None and st[0] not in ("Z", "X")

def group_gone(pgid):
    try:
        os.kill(-pgid, 0)
    except ProcessLookupError:
        return True
    return False

def take_group(L, tag, stop):
    """A process of B with pid L (ns_last_pid, bounded tries) that calls
    setsid(), so that it owns group L; stopped (SIGSTOP) or sleeping."""
    uid, gid, groups = ids_of(FAIR_B)
    for attempt in range(500):
        r, w = os.pipe()
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(L - 1))
        pid = os.fork()
        if pid == 0:
            os.close(r)
            if os.getpid() != L:
                os._exit(3)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            os.setsid()
            os.write(w, b"x")
            os.close(w)
            if stop:
                os.kill(os.getpid(), signal.SIGSTOP)
            os.execv("/bin/sleep", ["sleep", "300"])
        os.close(w)
        if pid == L:
            open("%s/b-%s.pid" % (TMP, tag), "w").write(str(pid))
            expect(os.read(r, 1) == b"x", "B's process called setsid")
            os.close(r)
            if stop:
                _, ws = os.waitpid(pid, os.WUNTRACED)
                expect(os.WIFSTOPPED(ws), "B's process stopped itself", ws)
            st = stat_of(L)
            expect(st is not None and int(st[2]) == L and int(st[3]) == L,
                   "B's process leads group and session %d" % L, st)
            return pid
        os.close(r)
        os.waitpid(pid, 0)
    raise AssertionError("pid %d could not be had again in 500 tries" % L)

def settle(c, gid):
    st = c.result("wait", {"id": gid, "timeout_ms": 120000 * SLOW})
    expect(st["state"] in FINAL, "the graph settled", st)
    return st

A = as_user(FAIR_A)

def job(tag, leader_tail, grace_ms):
    # The leader writes its pid; its setsid'd child (one process, forking
    # nothing) writes its own, notes each SIGTERM it gets in a file and
    # goes on (a SIGTERM-ignoring leftover), until SIGKILL.
    lo = ("import os, signal\n"
          "def term(s, f):\n"
          "    with open('%s/%s.term', 'a') as t: t.write('term\\n')\n"
          "signal.signal(signal.SIGTERM, term)\n"
          "open('%s/%s.lo', 'w').write(str(os.getpid()))\n"
          "while True: signal.pause()\n") % (ADIR, tag, ADIR, tag)
    # The leader goes on only once the leftover handles SIGTERM.
    sh = ("echo $$ > %s/%s.leader; setsid python3 -c \"$LO\" </dev/null >/dev/null 2>&1 & "
          "while [ ! -s %s/%s.lo ]; do sleep 0.01; done; %s"
          % (ADIR, tag, ADIR, tag, leader_tail))
    return {"name": "pgid-" + tag, "nodes": [{"id": "j", "kind": "exec", "grace_ms": grace_ms,
                                               "env": {"LO": lo}, "argv": ["sh", "-c", sh]}]}

# 1. Cancel after the leader was reaped and its group emptied.
tag = "cancel-" + MODE
# The grace (10 s) only has to outlast the test's steps up to the cancel
# (checked: the job still runs then); it is not a timed assertion.
gid = A.result("submit", {"graph": job(tag, "exit 0", 10000)})["id"]
L = read_int_file("%s/%s.leader" % (ADIR, tag))
lo = read_int_file("%s/%s.lo" % (ADIR, tag))
wait_for("the leader's group %d to be gone" % L, lambda: group_gone(L))
wait_for("coopd to reap the leader %d" % L, lambda: stat_of(L) is None)
# The leftover's first SIGTERM: coopd is in the job's leftovers phase.
wait_for("the leftover's first SIGTERM", lambda: os.path.exists("%s/%s.term" % (ADIR, tag)))
st = A.result("status", {"id": gid})
expect(node(st, "j")["state"] == "running", "the job still runs (its leftover)", st)
victim = take_group(L, tag, False)
expect(A.result("cancel", {"id": gid}) is not None, "A's cancel answered")
st = settle(A, gid)
expect(alive(victim), "B's process that owns group %d was not signalled" % L, stat_of(victim))
expect(not alive(lo), "A's leftover was ended", stat_of(lo))
n = node(st, "j")
# Its leader had exited 0 and its group was gone before the cancel reached
# it: "completed anyway" (docs/security.md), the cancel recorded.
expect(n["state"] == "succeeded" and n.get("exit_code") == 0 and n.get("leftover_processes") == 1
       and n["cancel"]["reason"] == "client",
       "the node ended before the cancel: its result, one leftover, the cancel", st)
expect(open("%s/%s.term" % (ADIR, tag)).read().count("term") >= 1, "the leftover got SIGTERM")
os.kill(victim, signal.SIGKILL)
_, ws = os.waitpid(victim, 0)
expect(os.WIFSIGNALED(ws) and os.WTERMSIG(ws) == signal.SIGKILL,
       "B's process lived until the test killed it", ws)

# 2. Resume after the leader was killed while paused.
tag = "resume-" + MODE
gid = A.result("submit", {"graph": job(tag, "exec sleep 300", 10000)})["id"]
L = read_int_file("%s/%s.leader" % (ADIR, tag))
lo = read_int_file("%s/%s.lo" % (ADIR, tag))
wait_for("the leader to run sleep", lambda: open("/proc/%d/cmdline" % L).read().startswith("sleep"))
expect(A.result("pause", {"id": gid}) == {}, "pause answers {}")
os.kill(-L, signal.SIGKILL)  # standing in for A: the job's own group
wait_for("the leader's group %d to be gone" % L, lambda: group_gone(L))
wait_for("coopd to reap the leader %d" % L, lambda: stat_of(L) is None)
st = A.result("status", {"id": gid})
expect(node(st, "j")["state"] == "running", "the job still runs (its leftover)", st)
victim = take_group(L, tag, True)
expect(A.result("resume", {"id": gid}) == {}, "resume answers {}")
expect(stat_of(victim)[0] == "T", "B's stopped process was not continued by A's resume",
       stat_of(victim))
expect(A.result("cancel", {"id": gid}) is not None, "A's cancel answered")
st = settle(A, gid)
expect(not alive(lo), "A's leftover was ended", stat_of(lo))
expect(open("%s/%s.term" % (ADIR, tag)).read().count("term") >= 1, "the leftover got SIGTERM")
expect(node(st, "j").get("leftover_processes") == 1, "one leftover counted", st)
expect(stat_of(victim)[0] == "T", "B's process is still stopped", stat_of(victim))
os.kill(victim, signal.SIGKILL)
os.waitpid(victim, 0)

# 3. The group empties while coopd is stopped and its id is taken over
# before coopd looks again: the job's leader has exited, its last group
# member M (whose parent Q left the group, so Q and not coopd reaps M) is
# killed while coopd is stopped (SIGSTOP), B's process takes group L, coopd
# continues.  The group L coopd then sees is not the job's: the job ends
# (Q, the job's leftover, is ended) and B's process is not waited for
# (coopd used to take B's group for the job's and wait for it to end).
tag = "probe-" + MODE
prog = ("import os, signal, sys, time\n"
        "d, L = sys.argv[1], os.getpid()\n"
        "q = os.fork()\n"
        "if q == 0:\n"
        "    os.setpgid(0, 0)\n"
        "    m = os.fork()\n"
        "    if m == 0:\n"
        "        os.setpgid(0, L)\n"
        "        open(d + '/m', 'w').write(str(os.getpid()))\n"
        "        while True: signal.pause()\n"
        "    os.waitpid(m, 0)\n"
        "    open(d + '/q', 'w').write(str(os.getpid()))\n"
        "    while True: signal.pause()\n"
        "while not os.path.exists(d + '/m'): time.sleep(0.01)\n"
        "open(d + '/leader', 'w').write(str(L))\n")
pdir = "%s/%s" % (ADIR, tag)
os.mkdir(pdir)
os.chown(pdir, ids_of(FAIR_A)[0], -1)
gid = A.result("submit", {"graph": {"name": "pgid-" + tag, "nodes": [
    {"id": "j", "kind": "exec", "grace_ms": 600000, "argv": ["python3", "-c", prog, pdir]}]}})["id"]
L = read_int_file(pdir + "/leader")
m = read_int_file(pdir + "/m")
expect(int(stat_of(m)[2]) == L, "M is in the job's group", stat_of(m))
wait_for("coopd to reap the leader %d" % L, lambda: stat_of(L) is None)
coopd = int(os.environ["COOPD_PID"])
os.kill(coopd, signal.SIGSTOP)
try:
    os.kill(m, signal.SIGKILL)
    wait_for("Q to reap M", lambda: stat_of(m) is None)
    expect(group_gone(L), "the job's group is empty")
    victim = take_group(L, tag, False)
finally:
    os.kill(coopd, signal.SIGCONT)
st = settle(A, gid)
n = node(st, "j")
expect(n["state"] == "succeeded" and n.get("leftover_processes") == 1,
       "the job ended when its own group did, Q its leftover", st)
expect(alive(victim), "B's process lives", stat_of(victim))
q = read_int_file(pdir + "/q")
expect(not alive(q), "Q was ended", stat_of(q))
os.kill(victim, signal.SIGKILL)
os.waitpid(victim, 0)

# 4. Cancel while the group lives on after the leader's reap (the leader
# exited, its child M is still in group L): M, provably the job's, gets
# one SIGTERM (not one from the group members' pass and one from the
# subreaper sweep or the cgroup's), then SIGKILL after the grace; the job
# had not ended, so it is cancelled.
tag = "member-" + MODE
mprog = ("import os, signal\n"
         "def term(s, f):\n"
         "    with open('%s/%s.term', 'a') as t: t.write('term\\n')\n"
         "signal.signal(signal.SIGTERM, term)\n"
         "open('%s/%s.m', 'w').write(str(os.getpid()))\n"
         "while True: signal.pause()\n") % (ADIR, tag, ADIR, tag)
sh = ("echo $$ > %s/%s.leader; python3 -c \"$M\" </dev/null >/dev/null 2>&1 & "
      "while [ ! -s %s/%s.m ]; do sleep 0.01; done; exit 0" % (ADIR, tag, ADIR, tag))
gid = A.result("submit", {"graph": {"name": "pgid-" + tag, "nodes": [
    {"id": "j", "kind": "exec", "grace_ms": 600000, "env": {"M": mprog}, "argv": ["sh", "-c", sh]}]}})["id"]
L = read_int_file("%s/%s.leader" % (ADIR, tag))
m = read_int_file("%s/%s.m" % (ADIR, tag))
wait_for("coopd to reap the leader %d" % L, lambda: stat_of(L) is None)
expect(int(stat_of(m)[2]) == L and not group_gone(L), "M is left in group %d" % L, stat_of(m))
expect(A.result("cancel", {"id": gid, "grace_ms": 1000}) is not None, "A's cancel answered")
st = settle(A, gid)
n = node(st, "j")
expect(n["state"] == "cancelled" and "leftover_processes" not in n,
       "the job, still running in its group, is cancelled", st)
expect(not alive(m), "M was ended", stat_of(m))
expect(open("%s/%s.term" % (ADIR, tag)).read().count("term") == 1, "M got one SIGTERM",
       open("%s/%s.term" % (ADIR, tag)).read())
PY

run_py() {
	fair_socket_group
	export COOPD_PID
	COOPD_MODE=$1 fair_py <"$COOPD_TMP/pgid.py" || fail "pgid reuse, cgroups = $1"
}

printf 'cgroups = off\n' >"$COOPD_TMP/coopd.conf"
coopd_start --config "$COOPD_TMP/coopd.conf"
run_py off
coopd_stop

# cgroup mode: only where coopd finds a writable cgroup2 (else it exits).
printf 'cgroups = on\n' >"$COOPD_TMP/coopd-on.conf"
$(_coopd_cmd) --foreground --socket "$COOPD_SOCK" --state-dir "$COOPD_STATE" --workers 2 \
	--config "$COOPD_TMP/coopd-on.conf" >"$COOPD_LOG.on" 2>&1 &
COOPD_PID=$!
if coopd_wait_ready 2>/dev/null; then
	grep -q "own cgroup under" "$COOPD_LOG.on" || fail "cgroups = on, but no cgroup"
	run_py on
	coopd_stop
else
	wait "$COOPD_PID"
	COOPD_PID=
	echo "NOTE: cgroup mode not tested: $(grep -m1 'cgroups = on' "$COOPD_LOG.on")"
fi
coopd_pass
