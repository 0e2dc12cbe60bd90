#!/bin/sh
# daemon-spawn-user.sh -- exec jobs run as another user by a coopd that
# holds a big graph (job-spawn.c: the child is a vfork, never a fork,
# whose copy of coopd's page tables grows with its memory).
#
#   make bench-spawn-user                         (from a build directory)
#   COOPD_BASE=OTHER/coopd BENCH_REPS=5 make bench-spawn-user
#
# Each repetition, for each coopd (this build's, and COOPD_BASE's if set,
# in alternating order): a fresh coopd; a user (made for the run) submits
# a graph of BENCH_BALLAST (150,000) sleeping tasks, one running at a
# time, which holds coopd's memory up; then a graph of BENCH_JOBS (400)
# exec nodes of `true`, max_parallel 4, timed from submit to the answer
# of `wait`.  Printed per coopd: the medians of that time and of coopd's
# RSS (VmRSS) before it, and the ratio.  Nothing here asserts on time.
set -u
BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "$0")" && pwd)}
COOPD=${COOPD:-$BENCH_DIR/../coopd}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "$(dirname "$COOPD")" && pwd)
export top_srcdir top_builddir
REPS=${BENCH_REPS:-5}
export BENCH_BALLAST=${BENCH_BALLAST:-150000} BENCH_JOBS=${BENCH_JOBS:-400}

. "$top_srcdir/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"
fair_users_setup

one() { # one() COOPD-BINARY LABEL: one measurement, appended to $COOPD_TMP/LABEL
	COOPD_BIN=$1
	coopd_start
	fair_socket_group
	COOPD_PID=$COOPD_PID fair_py >>"$COOPD_TMP/$2" <<'PY' || fail "measuring $2"
a = as_user(FAIR_A)
n, jobs = int(os.environ["BENCH_BALLAST"]), int(os.environ["BENCH_JOBS"])
big = a.result("submit", {"graph": {"max_parallel": 1, "nodes": [
    {"id": "s%d" % i, "kind": "task", "fn": "sleep", "args": {"ms": 3600000}}
    for i in range(n)]}})["id"]
while a.result("status", {"id": big})["state"] != "running":
    time.sleep(0.1)
with open("/proc/%s/status" % os.environ["COOPD_PID"]) as f:
    rss = [l.split()[1] for l in f if l.startswith("VmRSS")][0]
t0 = time.monotonic()
g = a.result("submit", {"graph": {"max_parallel": 4, "nodes": [
    {"id": "t%d" % i, "kind": "exec", "argv": ["true"]} for i in range(jobs)]}})["id"]
st = a.result("wait", {"id": g, "timeout_ms": 600000})
expect(st["state"] == "succeeded", "the jobs", st["state"])
print("%.4f %s" % (time.monotonic() - t0, rss))
a.result("cancel", {"id": big})
PY
	coopd_stop
}

i=0
while [ $i -lt "$REPS" ]; do
	if [ -n "${COOPD_BASE:-}" ] && [ $((i % 2)) -eq 0 ]; then
		one "$COOPD_BASE" base
		one "$COOPD" this
	else
		one "$COOPD" this
		[ -n "${COOPD_BASE:-}" ] && one "$COOPD_BASE" base
	fi
	i=$((i + 1))
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
for l in this base; do
	[ -f "$COOPD_TMP/$l" ] || continue
	t=$(cut -d' ' -f1 "$COOPD_TMP/$l" | median)
	r=$(cut -d' ' -f2 "$COOPD_TMP/$l" | median)
	eval "T_$l=$t"
	printf '%s: %s jobs as a user beside %s sleeping tasks (RSS %s kB): median %.3f s over %s runs\n' \
		"$l" "$BENCH_JOBS" "$BENCH_BALLAST" "$r" "$t" "$REPS"
done
[ -n "${COOPD_BASE:-}" ] && awk -v a="$T_this" -v b="$T_base" 'BEGIN {printf "ratio this/base: %.3f\n", a / b}'
coopd_pass
