#!/bin/sh
# daemon-exec-path.sh -- the exec path of issue 17: 2000 x /bin/true, 2 at a
# time, through coopd with a cgroup per job (cgroups = auto) and without
# (cgroups = off), beside `xargs -P2 -n1` and daemon-spawn's posix_spawn
# loops (bare, and isolated as coopd isolates a job).  Each repetition runs
# the five in a rotated order, so that the load of a shared machine hits
# them alike; one line per run:
#   REP RUNNER WALL_S LOOP_CPU_MS PROCESS_CPU_MS
# where the CPU columns (coopd only) are the loop thread's and the whole
# daemon's user+system time during the run (/proc/PID/task/PID/stat and
# /proc/PID/stat, clock ticks).  Then a table of medians and of the
# per-repetition ratios to the bare loop and to xargs.  Nothing asserts on
# time.
#
#   BENCH_DIR=$PWD/bench COOPD=$PWD/coopd sh ../bench/daemon-exec-path.sh [REPS]
set -eu
dir=${BENCH_DIR:-$(dirname "$0")}
coopd=${COOPD:-$dir/../coopd}
reps=${1:-9}
n=${BENCH_DAEMON_JOBS:-2000}
rpc=$dir/daemon-rpc
spawn=$dir/daemon-spawn
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coopd-exec-path.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
"$rpc" gen-exec "$n" 2 /bin/true "$tmp/exec.json" >/dev/null
echo "cgroups = off" >"$tmp/off.conf"
: >"$tmp/auto.conf"
out=$tmp/runs.txt
for rep in $(seq 1 "$reps"); do
	order=$(echo coopd-cg coopd-nocg xargs bare isolated |
		awk -v k=$((rep % 5)) '{s=""; for (i=0;i<NF;i++) s=s" "$(((i+k)%NF)+1); print s}')
	for v in $order; do
		case $v in
		coopd-*)
			conf=$tmp/auto.conf
			[ "$v" = coopd-nocg ] && conf=$tmp/off.conf
			d=$(mktemp -d "$tmp/run.XXXX")
			"$coopd" --foreground --config "$conf" --socket "$d/s" --state-dir "$d/st" \
				>"$d/log" 2>&1 &
			pid=$!
			"$rpc" ready "$d/s" 10000 >/dev/null
			t0=$(awk '{print $14+$15}' "/proc/$pid/task/$pid/stat")
			a0=$(awk '{print $14+$15}' "/proc/$pid/stat")
			r=$("$rpc" submit-wait "$d/s" "$tmp/exec.json" "$v" | grep '^RESULT')
			t1=$(awk '{print $14+$15}' "/proc/$pid/task/$pid/stat")
			a1=$(awk '{print $14+$15}' "/proc/$pid/stat")
			kill "$pid"
			wait "$pid" || true
			rm -rf "$d"
			echo "$rep $v $(echo "$r" | sed 's/.*time_s=\([0-9.]*\).*/\1/')" \
				"$(((t1 - t0) * 1000 / hz)) $(((a1 - a0) * 1000 / hz))"
			;;
		xargs)
			s0=$(date +%s.%N)
			seq "$n" | xargs -P2 -n1 /bin/true
			s1=$(date +%s.%N)
			echo "$rep xargs $(echo "$s1 - $s0" | bc) - -"
			;;
		*)
			r=$("$spawn" "$n" 2 /bin/true "$v" | grep '^RESULT')
			echo "$rep $v $(echo "$r" | sed 's/.*time_s=\([0-9.]*\).*/\1/') - -"
			;;
		esac
	done
done | tee "$out"
python3 - "$out" "$n" <<'PY'
import collections, statistics as st, sys
rows = [l.split() for l in open(sys.argv[1]) if l[:1].isdigit()]
n = int(sys.argv[2])
by, reps = collections.defaultdict(list), collections.defaultdict(dict)
for r in rows:
    by[r[1]].append(r)
    reps[r[0]][r[1]] = float(r[2])
print("| runner | median s | jobs/s | loop thread CPU per job | daemon CPU per job | / bare (rep) | / xargs (rep) |")
print("|---|---|---|---|---|---|---|")
for k in ("coopd-cg", "coopd-nocg", "xargs", "bare", "isolated"):
    t = [float(r[2]) for r in by[k]]
    loop = [int(r[3]) for r in by[k] if r[3] != "-"]
    proc = [int(r[4]) for r in by[k] if r[4] != "-"]
    rb = [reps[i][k] / reps[i]["bare"] for i in reps]
    rx = [reps[i][k] / reps[i]["xargs"] for i in reps]
    us = lambda v: "%.0f us" % (st.median(v) * 1000 / n) if v else "-"
    print("| %s | %.3f | %.0f | %s | %s | %.2f (%.2f to %.2f) | %.2f (%.2f to %.2f) |" % (
        k, st.median(t), n / st.median(t), us(loop), us(proc),
        st.median(rb), min(rb), max(rb), st.median(rx), min(rx), max(rx)))
PY
