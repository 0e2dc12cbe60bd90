#!/bin/sh
# run.sh -- run the libcoop benchmarks and their peers, print medians.
#
#   make bench                      (from a build directory)
#   BENCH_REPS=11 BENCH_ONLY='fib|spawn' make bench
#
# Every measurement is one process (so that peak RSS belongs to one runtime
# and one workload).  Each repetition runs every case of a group, rotating
# the order of the runtimes from one repetition to the next, so that noise
# on a shared machine hits them alike.  The raw RESULT lines go to
# $BENCH_OUT (default bench/results.txt in the build directory); the tables
# printed at the end are medians over the repetitions, with each peer's
# time as a ratio to libcoop's (peer / coop: above 1.0 means libcoop is
# faster), both as the ratio of the medians and as the median of the
# ratios within each repetition.  Nothing here asserts on time: the numbers are for people.
#
# Environment: BENCH_DIR (where the programs are; default: this script's
# directory), BENCH_REPS (5), BENCH_ONLY (an extended regex over the group
# names below), BENCH_WORKERS ("2 1"), BENCH_OUT.
set -eu

dir=${BENCH_DIR:-$(dirname "$0")}
reps=${BENCH_REPS:-5}
only=${BENCH_ONLY:-.}
workers_list=${BENCH_WORKERS:-"2 1"}
out=${BENCH_OUT:-$dir/results.txt}

have() { test -x "$dir/$1"; }

# The cases: "group|label|program args".  A group's labels are compared
# with each other; the first label of a group is the baseline of its ratios.
cases() {
	for w in $workers_list; do
		echo "fib30-w$w|coop|fib-coop $w 30 0"
		echo "fib30-w$w|tbb|fib-tbb $w 30 0"
		echo "fib30-w$w|omp|fib-omp $w 30 0"
		echo "fib35c20-w$w|coop|fib-coop $w 35 20 15"
		echo "fib35c20-w$w|tbb|fib-tbb $w 35 20 15"
		echo "fib35c20-w$w|omp|fib-omp $w 35 20 15"
		echo "spawn1M-w$w|coop|spawn-coop $w 1000000 task"
		echo "spawn1M-w$w|coop-ext|spawn-coop $w 1000000 ext"
		echo "spawn1M-w$w|tbb|spawn-tbb $w 1000000"
		echo "spawn1M-w$w|omp|spawn-omp $w 1000000"
		echo "coopcost-w$w|coop|fib-coop $w 30 0"
		echo "coopcost-w$w|coop+proceed|fib-coop $w 30 0 1 proceed"
	done
	echo "pending|state16|pending-coop 2 200000 16"
	echo "pending|state64|pending-coop 2 200000 64"
	echo "cancel100k-w2|coop|cancel-coop 2 100000 200 100 5"
	echo "cancel100k-w2|tbb|cancel-tbb 2 100000 200 100 5"
	echo "probe-w2|budget-on|probe-coop 2 on 4 300 200"
	echo "probe-w2|budget-off|probe-coop 2 off 4 300 200"
}

all=$(cases | grep -E "^($only)[^|]*\|" || true)
if [ -z "$all" ]; then
	# Not an error: `make bench` runs the coopd groups (daemon-run.sh)
	# too, and BENCH_ONLY may select only those.
	echo "run.sh: no libcoop benchmark group matches BENCH_ONLY='$only'; nothing to run" >&2
	exit 0
fi
groups=$(echo "$all" | cut -d'|' -f1 | awk '!seen[$0]++')

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $reps repetitions; raw results in $out"
: >"$out"

rep=1
while [ "$rep" -le "$reps" ]; do
	for g in $groups; do
		lines=$(echo "$all" | grep "^$g|")
		n=$(echo "$lines" | wc -l)
		# rotate the order by the repetition number
		k=$(( (rep - 1) % n ))
		ordered=$( (echo "$lines" | tail -n +$((k + 1)); echo "$lines" | head -n "$k") | grep -v '^$')
		echo "$ordered" | while IFS='|' read -r grp label cmd; do
			prog=${cmd%% *}
			if ! have "$prog"; then
				continue
			fi
			# shellcheck disable=SC2086 # the arguments are split on purpose
			res=$("$dir/$prog" ${cmd#* } 2>&1 | grep '^RESULT' || true)
			if [ -z "$res" ]; then
				echo "# $grp $label: no result from $cmd" >&2
				continue
			fi
			echo "group=$grp label=$label rep=$rep ${res#RESULT }" >>"$out"
		done
	done
	echo "# repetition $rep/$reps done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
	rep=$((rep + 1))
done

# Medians per (group, label) of every numeric field, then one table per group.
awk '
function median(key,    n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	delete f
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	g = f["group"]; l = f["label"]
	if (!(g in gseen)) { gseen[g] = 1; gorder[++ng] = g }
	if (!((g, l) in lseen)) { lseen[g, l] = 1; lorder[g, ++nl[g]] = l }
	for (k in f) if (f[k] ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ && k != "rep") {
		key = g SUBSEP l SUBSEP k
		val[key, ++cnt[key]] = f[k]
		fields[g, k] = 1
	}
	if (f["ok"] == "0") bad[g, l]++
	if ("time_s" in f) { rt_[g, l, f["rep"]] = f["time_s"]; if (f["rep"] > maxrep) maxrep = f["rep"] }
}
# The median over repetitions of (time / time of the baseline in the same
# repetition): the pairs ran next to each other, so it cancels slow spells.
function rep_ratio(g, l, base,    r, n, a, i, j, t) {
	n = 0
	for (r = 1; r <= maxrep; r++)
		if (((g, l, r) in rt_) && ((g, base, r) in rt_) && rt_[g, base, r] > 0)
			a[++n] = rt_[g, l, r] / rt_[g, base, r]
	if (n == 0) return 0
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	for (gi = 1; gi <= ng; gi++) {
		g = gorder[gi]; base = lorder[g, 1]
		printf "\n== %s (median of %d) ==\n", g, cnt[g SUBSEP base SUBSEP "ok"]
		if ((g, "p99_us") in fields) {
			printf "%-14s %10s %10s %10s %8s %9s %10s %10s\n", "runtime", "p50_us", "p99_us", "max_us", "samples", "time_s", "os_p99_us", "os_max_us"
			for (li = 1; li <= nl[g]; li++) {
				l = lorder[g, li]; p = g SUBSEP l SUBSEP
				printf "%-14s %10.1f %10.1f %10.1f %8d %9.3f %10.1f %10.1f\n", l, median(p "p50_us"), median(p "p99_us"), median(p "max_us"), median(p "samples"), median(p "time_s"), median(p "os_p99_us"), median(p "os_max_us")
			}
		} else if ((g, "overhead_heap") in fields) {
			printf "%-14s %10s %12s %12s %14s %14s\n", "case", "state_B", "rss_B/task", "heap_B/task", "overhead_rss", "overhead_heap"
			for (li = 1; li <= nl[g]; li++) {
				l = lorder[g, li]; p = g SUBSEP l SUBSEP
				printf "%-14s %10d %12.1f %12.1f %14.1f %14.1f\n", l, median(p "state_bytes"), median(p "rss_per_task"), median(p "heap_per_task"), median(p "overhead_rss"), median(p "overhead_heap")
			}
		} else {
			bt = median(g SUBSEP base SUBSEP "time_s")
			printf "%-14s %10s %12s %8s %10s %8s %9s %s\n", "runtime", "time_s", "tasks/s", "cpu_s", "maxrss_KiB", "ratio", "rep_ratio", "(time / " base " time: of the medians; median of the per-repetition ratios)"
			for (li = 1; li <= nl[g]; li++) {
				l = lorder[g, li]; p = g SUBSEP l SUBSEP
				t = median(p "time_s")
				tps = ((g, "tasks_per_s") in fields) ? sprintf("%12.0f", median(p "tasks_per_s")) : sprintf("%12s", "-")
				printf "%-14s %10.4f %s %8.3f %10d %8.2f %9.2f%s\n", l, t, tps, median(p "cpu_s"), median(p "maxrss_kb"), t / bt, rep_ratio(g, l, base), ((g, l) in bad) ? "  WRONG RESULT" : ""
			}
		}
	}
}' "$out"
