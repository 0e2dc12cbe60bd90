#!/bin/sh
# Never an orphan (issue 7): processes that leave a job's process group
# (setsid, double fork) are ended with the job and counted in its status
# (leftover_processes), also when the job is cancelled, and nothing a job
# started survives `kill -9 coopd` and a restart.  Run twice: with a
# cgroup per job (cgroups = on; skipped with the reason when coopd has no
# writable cgroup2) and as a child subreaper only (cgroups = off).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

# The delegated test cgroup goes once coopd (in its leaf) has stopped.
DELEG=
_orphans_cleanup() {
	rc=$?
	if [ -n "$DELEG" ]; then
		if [ -n "$COOPD_PID" ]; then
			kill -TERM "$COOPD_PID" 2>/dev/null
			wait "$COOPD_PID" 2>/dev/null
			COOPD_PID=
		fi
		rmdir "$DELEG/daemon" "$DELEG" 2>/dev/null
	fi
	(exit "$rc")
	_coopd_cleanup
}
trap _orphans_cleanup EXIT

run_mode() {
	mode=$1
	printf 'cgroups = %s\n' "$mode" >"$COOPD_TMP/coopd-$mode.conf"
	COOPD_MODE=$mode coopd_py <<'PY' || fail "orphans, cgroups = $mode"
MODE = os.environ["COOPD_MODE"]
TMP = os.environ["COOPD_TMP"]

def escaper(name, inner="exec sleep 300", after="exit 0", hops=1):
    """sh that starts a setsid'd process (through hops intermediate shells:
    1 = child, 2 = grandchild by double fork), waits until it runs (it
    writes its pid to a file), then runs `after`."""
    ready = "%s/%s-%s-%s.pid" % (TMP, os.path.basename(os.environ["COOPD_STATE"]), MODE, name)
    esc = "setsid sh -c 'echo $$ > %s; %s' &" % (ready, inner)
    if hops == 2:
        esc = "sh -c \"%s\";" % esc.replace("$$", "\\$\\$")
    return ["sh", "-c", "%s while [ ! -s %s ]; do sleep 0.01; done; %s # %s"
            % (esc, ready, after, name)], ready

def job_cgroup(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    return ""

tok = "coopd-orphans-%d-%s" % (os.getpid(), MODE)

# 1. a job that leaves a setsid daemon behind and exits 0: the daemon is
# gone once the job has settled, and counted
argv, ready = escaper("left")
gid = submit({"nodes": [{"id": "left", "kind": "exec", "argv": argv, "grace_ms": 5000,
                         "env": {"COOPD_MARK": tok + "-left"}}]})
st = wait(gid)
n = node(st, "left")
expect(n["state"] == "succeeded" and n["exit_code"] == 0, "the job succeeded", n)
expect(n.get("leftover_processes", 0) >= 1, "the setsid daemon is counted", n)
expect(marked(tok + "-left") == [], "the setsid daemon is gone", marked(tok + "-left"))

# 1b. left behind and ignoring SIGTERM: SIGKILL after the job's grace
argv, ready = escaper("stubborn", inner="trap \"\" TERM; exec sleep 300")
gid = submit({"nodes": [{"id": "stub", "kind": "exec", "argv": argv, "grace_ms": 300,
                         "env": {"COOPD_MARK": tok + "-stub"}}]})
st = wait(gid)
n = node(st, "stub")
expect(n["state"] == "succeeded" and n.get("leftover_processes", 0) >= 1, "stubborn counted", n)
expect(marked(tok + "-stub") == [], "the stubborn daemon is gone", marked(tok + "-stub"))

# 1c. a job that leaves nothing says nothing
st = run({"nodes": [{"id": "clean", "kind": "exec", "argv": ["sh", "-c", "sleep 0.01 & wait"]}]})
expect("leftover_processes" not in node(st, "clean"), "no leftovers, no field", st)

# 2. a cancelled job whose grandchild escaped its group (double fork +
# setsid) while the job runs on: gone after cancel
argv, ready = escaper("cancel", after="exec sleep 300", hops=2)
gid = submit({"nodes": [{"id": "c", "kind": "exec", "argv": argv, "grace_ms": 2000,
                         "env": {"COOPD_MARK": tok + "-cancel"}}]})
def ready_pid(path):
    try:
        return int(open(path).read())
    except (OSError, ValueError):
        return 0   # not yet written

wait_for("the escaped grandchild", lambda: ready_pid(ready) and len(marked(tok + "-cancel")) >= 2)
esc_pid = ready_pid(ready)
with open("/proc/%d/stat" % esc_pid) as f:
    fields = f.read().rsplit(")", 1)[1].split()
expect(int(fields[3]) == esc_pid, "the grandchild has its own group and session", fields)
if MODE == "on":
    cg = job_cgroup(esc_pid)
    expect(cg.endswith("/job-%s-1" % gid), "the escaped grandchild is in the job's cgroup", cg)
rpc("cancel", {"id": gid})
st = wait(gid)
n = node(st, "c")
expect(st["state"] == "cancelled" and n["state"] == "cancelled", "cancelled", st)
expect(marked(tok + "-cancel") == [], "nothing of the cancelled job is alive",
       marked(tok + "-cancel"))
PY
}

# 3. kill -9 coopd while such jobs run (and right after submits), restart:
# no process of a job from before is alive.
crash_mode() {
	mode=$1
	coopd_py <<'PY' || fail "crash, cgroups = $1: submit"
TMP = os.environ["COOPD_TMP"]
tok = "coopd-orphans-crash-%s" % os.environ["COOPD_STATE"].replace("/", "_")
ready = TMP + "/crash.pid"
esc = "setsid sh -c 'echo $$ > %s; exec sleep 300' &" % ready
gid = submit({"nodes": [
    {"id": "a", "kind": "exec", "env": {"COOPD_MARK": tok},
     "argv": ["sh", "-c", "%s while [ ! -s %s ]; do sleep 0.01; done; exec sleep 300" % (esc, ready)]},
    {"id": "b", "kind": "exec", "env": {"COOPD_MARK": tok}, "argv": ["sleep", "300"]},
    # Forks on while the next start looks for it: what it forks after
    # that start listed /proc must be killed too.
    {"id": "f", "kind": "exec", "env": {"COOPD_MARK": tok},
     "argv": ["sh", "-c", "while :; do (setsid sleep 300 &); sleep 0.005; done"]}]})
for _ in range(1000 * SLOW):
    st = rpc("status", {"id": gid})
    if os.path.exists(ready) and node(st, "b")["state"] == "running" and \
            node(st, "f")["state"] == "running":
        break
    time.sleep(0.01)
open(TMP + "/crash.gid", "w").write(gid)
PY
	KILLED="$KILLED $COOPD_PID"
	coopd_kill9
	coopd_start --config "$COOPD_TMP/coopd-$mode.conf"
	# the crash gap: kill -9 at once after submits (the spawn may or may
	# not have happened, its record may or may not be written)
	for i in 1 2; do
		coopd_py <<'PY' || fail "crash, cgroups = $1: quick submits"
tok = "coopd-orphans-crash-%s" % os.environ["COOPD_STATE"].replace("/", "_")
c = Conn()
for i in range(4):
    c.send("submit", {"graph": {"nodes": [
        {"id": "q%d" % k, "kind": "exec", "env": {"COOPD_MARK": tok},
         "argv": ["sh", "-c", "(setsid sleep 300 &); exec sleep 300"]} for k in range(3)]}})
c.answer(c.next_id - 1)
PY
		KILLED="$KILLED $COOPD_PID"
		coopd_kill9
		coopd_start --config "$COOPD_TMP/coopd-$mode.conf"
	done
	coopd_py <<'PY' || fail "crash, cgroups = $1: after the restart"
TMP = os.environ["COOPD_TMP"]
tok = "coopd-orphans-crash-%s" % os.environ["COOPD_STATE"].replace("/", "_")
left = []
for p in os.listdir("/proc"):
    try:
        with open("/proc/%s/environ" % p, "rb") as f:
            if tok.encode() in f.read():
                with open("/proc/%s/stat" % p) as g:
                    if g.read().rsplit(")", 1)[1].split()[0] != "Z":
                        left.append(int(p))
    except (OSError, ValueError):
        pass
expect(left == [], "no job process from before the crashes is alive", left)
gid = open(TMP + "/crash.gid").read()
st = rpc("status", {"id": gid})
expect(st["state"] == "interrupted" and node(st, "a")["state"] == "interrupted", "interrupted", st)
PY
}

# Cgroups of the coopd instances killed above that are left in the cgroup2
# mount (found through mountinfo): the restarts must have removed them.
stale_instances() {
	python3 - $KILLED <<'PY'
import os, re, sys
mnt = None
for line in open("/proc/self/mountinfo"):
    pre, _, post = line.partition(" - ")
    if post.startswith("cgroup2 "):
        mnt = pre.split()[4]
        break
for e in os.listdir(mnt) if mnt else []:
    m = re.match(r"coopd-(\d+)-(\d+)$", e)
    if m and m.group(1) in sys.argv[1:]:
        print(os.path.join(mnt, e))
PY
}

KILLED=
# cgroup mode: only where coopd finds a writable cgroup2 (else it exits)
printf 'cgroups = on\n' >"$COOPD_TMP/coopd-on.conf"
$(_coopd_cmd) --foreground --socket "$COOPD_SOCK" --state-dir "$COOPD_STATE" --workers 2 \
	--config "$COOPD_TMP/coopd-on.conf" >"$COOPD_LOG" 2>&1 &
COOPD_PID=$!
COOPD_STARTS=1
if coopd_wait_ready 2>/dev/null; then
	grep -q "own cgroup under" "$COOPD_LOG" || fail "cgroups = on, but no cgroup"
	run_mode on
	crash_mode on
	stale=$(stale_instances)
	[ -z "$stale" ] || fail "cgroups of crashed instances left: $stale"
	coopd_stop
else
	wait "$COOPD_PID"
	COOPD_PID=
	echo "NOTE: cgroup mode not tested: $(grep -m1 'cgroups = on' "$COOPD_LOG")"
fi

# delegated mode (systemd's Delegate=yes): coopd started inside a cgroup
# marked delegated (the trusted.delegate attribute systemd sets) moves
# itself into its leaf `daemon` and puts jobs beside it; a restart after
# kill -9 removes the job cgroups found there.
if grep -q "own cgroup under" "$COOPD_LOG" 2>/dev/null; then
	DELEG=$(python3 - "$$" <<'PY'
import os, sys
for line in open("/proc/self/mountinfo"):
    pre, _, post = line.partition(" - ")
    if post.startswith("cgroup2 "):
        d = os.path.join(pre.split()[4], "coopd-test-delegated-%s" % sys.argv[1])
        os.mkdir(d)
        os.setxattr(d, "trusted.delegate", b"1")
        print(d)
        break
PY
) || fail "cannot make a delegated test cgroup"
	printf '#!/bin/sh\necho $$ >%s/cgroup.procs && exec "$@"\n' "$DELEG" >"$COOPD_TMP/in-cgroup.sh"
	chmod +x "$COOPD_TMP/in-cgroup.sh"
	saved_wrapper=${TEST_COOPD_WRAPPER:-}
	TEST_COOPD_WRAPPER="$COOPD_TMP/in-cgroup.sh $saved_wrapper"
	COOPD_STATE=$COOPD_TMP/state-delegated
	export COOPD_STATE TEST_COOPD_WRAPPER
	coopd_start --config "$COOPD_TMP/coopd-on.conf"
	grep -q "own cgroup under $DELEG\$" "$COOPD_LOG" || fail "delegated cgroup not used"
	grep -q "^0::.*/coopd-test-delegated-$$/daemon\$" /proc/"$COOPD_PID"/cgroup ||
		fail "coopd is not in the leaf 'daemon': $(cat /proc/"$COOPD_PID"/cgroup)"
	run_mode on
	coopd_py <<'PY' || fail "delegated: a job before the crash"
gid = submit({"nodes": [{"id": "d", "kind": "exec", "env": {"COOPD_MARK": "coopd-orphans-deleg-%d" % os.getppid()},
                         "argv": ["sh", "-c", "(setsid sleep 300 &); exec sleep 300"]}]})
for _ in range(1000 * SLOW):
    if node(rpc("status", {"id": gid}), "d")["state"] == "running":
        break
    time.sleep(0.01)
PY
	coopd_kill9
	coopd_start --config "$COOPD_TMP/coopd-on.conf"
	grep -q "removed the cgroup $DELEG/job-" "$COOPD_LOG" || fail "delegated: stale job cgroup not removed"
	coopd_py <<'PY' || fail "delegated: a job process survived the crash"
tok = ("coopd-orphans-deleg-%d" % os.getppid()).encode()
left = []
for p in os.listdir("/proc"):
    try:
        if tok in open("/proc/%s/environ" % p, "rb").read():
            left.append(p)
    except OSError:
        pass
expect(left == [], "no job process from before the crash", left)
PY
	coopd_stop
	for d in "$DELEG"/*/; do
		[ "$d" = "$DELEG/daemon/" ] || fail "delegated: left behind: $d"
	done
	rmdir "$DELEG/daemon" "$DELEG" || fail "cannot remove $DELEG"
	DELEG=
	TEST_COOPD_WRAPPER=$saved_wrapper
fi
COOPD_STATE=$COOPD_TMP/state-off
export COOPD_STATE

# subreaper mode
printf 'cgroups = off\n' >"$COOPD_TMP/coopd-off.conf"
coopd_start --config "$COOPD_TMP/coopd-off.conf"
grep -q "cgroups = off" "$COOPD_LOG" || fail "cgroups = off not honoured"
run_mode off
crash_mode off
coopd_stop
coopd_pass
