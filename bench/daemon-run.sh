#!/bin/sh
# daemon-run.sh -- the coopd benchmarks of issue 4, with their peers.
#
#   make bench-daemon                       (from a build directory)
#   BENCH_REPS=7 BENCH_ONLY='daemon-ping' make bench-daemon
#
# Groups (BENCH_ONLY is an extended regex over these names, as in run.sh):
#   daemon-exec2k    N (2000) exec jobs of /bin/true, 2 at a time: coopd
#                    through `coopctl submit FILE --wait` (coopd), through a
#                    raw socket client (coopd-rpc), `xargs -P2`, GNU
#                    `parallel -j2`, and a posix_spawn loop keeping 2
#                    children running, bare and with coopd's isolation
#                    (process group, /dev/null stdin, stdout/stderr pipes)
#   daemon-noop100k  a graph of 100,000 `noop` task nodes: submit to settled
#                    (wait with summary: true) and the daemon's peak RSS
#                    (VmHWM before it stops, minus its RSS when idle) per node
#   daemon-ping      round trips of `ping`, one at a time on one connection
#
# Every measurement gets a fresh coopd on a private socket and state
# directory (`coopd --socket S --state-dir D --foreground`), started and
# found ready before the clock starts, stopped with SIGTERM after.  Each
# repetition rotates the order of the cases of a group so that noise on a
# shared machine hits them alike.  Raw RESULT lines go to $BENCH_DAEMON_OUT
# (default results-daemon.txt next to the programs); the tables are medians,
# and for the exec group also the median of the ratios within a repetition
# ("/bare(rep)", "/xargs(rep)"), which the load drifting between
# repetitions disturbs less.  BENCH_DAEMON_TABLE=FILE only prints the tables
# of an earlier results file.
# Nothing here asserts on time: the numbers are for people.
#
# Environment: BENCH_DIR (the programs; default: this script's directory),
# COOPD, COOPCTL (default: BENCH_DIR/../coopd, ../coopctl), BENCH_REPS (5),
# BENCH_ONLY, BENCH_DAEMON_OUT, BENCH_DAEMON_JOBS (2000),
# BENCH_DAEMON_NODES (100000), BENCH_DAEMON_PINGS (20000),
# BENCH_DAEMON_PARALLEL_REPS (3: GNU parallel runs only in that many
# repetitions, being ~10x slower than the others on this workload).
set -eu

dir=${BENCH_DIR:-$(dirname "$0")}
coopd=${COOPD:-$dir/../coopd}
coopctl=${COOPCTL:-$dir/../coopctl}
reps=${BENCH_REPS:-5}
only=${BENCH_ONLY:-.}
out=${BENCH_DAEMON_OUT:-$dir/results-daemon.txt}
jobs=${BENCH_DAEMON_JOBS:-2000}
nodes=${BENCH_DAEMON_NODES:-100000}
pings=${BENCH_DAEMON_PINGS:-20000}
parallel_reps=${BENCH_DAEMON_PARALLEL_REPS:-3}
rpc=$dir/daemon-rpc
spawn=$dir/daemon-spawn
hz=$(getconf CLK_TCK)

table_only=${BENCH_DAEMON_TABLE:-}
groups=$(printf '%s\n' daemon-exec2k daemon-noop100k daemon-ping | grep -E "^($only)" || true)
if [ -z "$groups" ]; then
	echo "# daemon-run.sh: no coopd group matches BENCH_ONLY='$only'; skipped"
	exit 0
fi
for p in "$coopd" "$coopctl" "$rpc" "$spawn"; do
	[ -x "$p" ] || { echo "daemon-run.sh: $p not found (run make bench-daemon)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coopd-bench.XXXXXX")
dpid=
cleanup() {
	if [ -n "$dpid" ]; then
		kill -TERM "$dpid" 2>/dev/null || true
		wait "$dpid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# daemon_start: a fresh coopd on a private socket and state directory; sets
# dpid and sock, waits until it answers ping.
daemon_start() {
	rm -rf "$tmp/d"
	mkdir -p "$tmp/d"
	sock=$tmp/d/coopd.sock
	# The default max_request_bytes (16 MiB) holds about 340,000 small
	# nodes: room for BENCH_DAEMON_NODES of them (64 bytes each).
	printf 'max_request_bytes = %d\n' $((nodes * 64 > 16777216 ? nodes * 64 : 16777216)) \
		>"$tmp/d/coopd.conf"
	"$coopd" --socket "$sock" --state-dir "$tmp/d/state" --config "$tmp/d/coopd.conf" \
		--foreground >"$tmp/d/coopd.log" 2>&1 &
	dpid=$!
	if ! "$rpc" ready "$sock" 10000; then
		cat "$tmp/d/coopd.log" >&2
		exit 1
	fi
}

# daemon_cpu: the daemon's user+system CPU seconds so far, and its reaped
# children's (the exec jobs).
daemon_cpu() {
	awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.3f daemon_child_cpu_s=%.3f", ($12 + $13) / hz, ($14 + $15) / hz }' "/proc/$dpid/stat"
}

daemon_stop() {
	kill -TERM "$dpid"
	wait "$dpid" || echo "# coopd exited with status $? (log: $(tail -n 3 "$tmp/d/coopd.log"))" >&2
	dpid=
}

# The cases of a group: "label|how".
cases() {
	case $1 in
	daemon-exec2k)
		echo "coopd|ctl"
		echo "coopd-rpc|rpc"
		echo "xargs|xargs"
		echo "parallel|parallel"
		echo "spawn-bare|spawn bare"
		echo "spawn-isolated|spawn isolated"
		;;
	daemon-noop100k) echo "coopd|noop" ;;
	daemon-ping) echo "coopd|ping" ;;
	esac
}

# run_case GROUP LABEL HOW: prints one RESULT line.
run_case() {
	g=$1 l=$2 how=$3
	case $how in
	ctl)
		daemon_start
		"$rpc" time "$l" "$g" "$coopctl" --socket "$sock" submit "$tmp/exec.json" --wait
		echo "RESULT daemon_cpu_s=$(daemon_cpu)"
		daemon_stop
		;;
	rpc)
		daemon_start
		"$rpc" submit-wait "$sock" "$tmp/exec.json" "$g"
		echo "RESULT daemon_cpu_s=$(daemon_cpu)"
		daemon_stop
		;;
	xargs)
		"$rpc" time "$l" "$g" xargs -a "$tmp/list" -P2 -n1 /bin/true
		;;
	parallel)
		# GNU parallel (perl) takes ~10x longer than the others here, so
		# it runs only in the first BENCH_DAEMON_PARALLEL_REPS repetitions
		[ "$rep" -le "$parallel_reps" ] || return 0
		if command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null | grep -q GNU; then
			"$rpc" time "$l" "$g" parallel --will-cite -j2 -a "$tmp/list" /bin/true
		fi
		;;
	spawn\ *)
		"$spawn" "$jobs" 2 /bin/true "${how#spawn }"
		;;
	noop)
		daemon_start
		"$rpc" ping "$sock" 200 0 >/dev/null
		idle=$("$rpc" status-kb "$dpid" VmRSS)
		"$rpc" submit-wait "$sock" "$tmp/noop.json" "$g"
		hwm=$("$rpc" status-kb "$dpid" VmHWM)
		rss=$("$rpc" status-kb "$dpid" VmRSS)
		echo "RESULT idle_kb=$idle hwm_kb=$hwm after_kb=$rss daemon_cpu_s=$(daemon_cpu)" \
			"bytes_per_node=$(awk -v h="$hwm" -v i="$idle" -v n="$nodes" 'BEGIN { printf "%.1f", (h - i) * 1024 / n }')"
		daemon_stop
		;;
	ping)
		daemon_start
		"$rpc" ping "$sock" "$pings" 1000
		echo "RESULT daemon_cpu_s=$(daemon_cpu)"
		daemon_stop
		;;
	esac
}

if [ -n "$table_only" ]; then
	out=$table_only
	reps=0
else
echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# coopd: $coopd ($("$coopd" --version 2>/dev/null | head -n 1))"
echo "# $reps repetitions; $jobs exec jobs, $nodes noop nodes, $pings pings; raw results in $out"
: >"$out"
seq "$jobs" >"$tmp/list"
"$rpc" gen-exec "$jobs" 2 /bin/true "$tmp/exec.json"
"$rpc" gen-noop "$nodes" "$tmp/noop.json"

rep=1
while [ "$rep" -le "$reps" ]; do
	for g in $groups; do
		lines=$(cases "$g")
		n=$(echo "$lines" | wc -l)
		k=$(( (rep - 1) % n ))
		ordered=$( (echo "$lines" | tail -n +$((k + 1)); echo "$lines" | head -n "$k") | grep -v '^$')
		echo "$ordered" >"$tmp/cases"
		i=1
		while [ "$i" -le "$n" ]; do
			line=$(sed -n "${i}p" "$tmp/cases")
			i=$((i + 1))
			label=${line%%|*}
			how=${line#*|}
			# not in a subshell, so that the EXIT trap sees dpid
			run_case "$g" "$label" "$how" >"$tmp/res" 2>&1 </dev/null
			grep -v '^RESULT' "$tmp/res" | grep -v '^#' >&2 || true
			res=$(grep '^RESULT' "$tmp/res" | sed 's/^RESULT //' | tr '\n' ' ')
			if [ -z "$res" ]; then
				echo "# $g $label: no result" >&2
				continue
			fi
			echo "group=$g label=$label rep=$rep $res" >>"$out"
		done
	done
	echo "# repetition $rep/$reps done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
	rep=$((rep + 1))
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

awk -v jobs="$jobs" '
function median(key,    n, i, j, t, a) {
	n = cnt[key]
	if (n == 0) return -1
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
	}
	if (f["ok"] == "0") bad[g, l]++
	if ("time_s" in f) tr[g, l, f["rep"]] = f["time_s"]
	if (f["rep"] > nrep) nrep = f["rep"]
}
# The median over repetitions of time(l) / time(base) within one repetition:
# steadier than a ratio of medians when the load changes between repetitions.
function paired(g, l, base,    r, n) {
	n = 0
	for (r = 1; r <= nrep; r++)
		if ((g, l, r) in tr && (g, base, r) in tr && tr[g, base, r] > 0)
			val["paired", ++n] = tr[g, l, r] / tr[g, base, r]
	cnt["paired"] = n
	return median("paired")
}
END {
	for (gi = 1; gi <= ng; gi++) {
		g = gorder[gi]
		printf "\n== %s (median of %d) ==\n", g, cnt[g SUBSEP lorder[g, 1] SUBSEP "time_s"]
		if (g == "daemon-exec2k") {
			bare = median(g SUBSEP "spawn-bare" SUBSEP "time_s")
			xa = median(g SUBSEP "xargs" SUBSEP "time_s")
			printf "%-15s %9s %9s %9s %13s %9s %9s %11s %11s\n", "runner", "time_s", "jobs/s", "all_cpu_s", "daemon_cpu_s", "/bare", "/xargs", "/bare(rep)", "/xargs(rep)"
			for (li = 1; li <= nl[g]; li++) {
				l = lorder[g, li]; p = g SUBSEP l SUBSEP
				t = median(p "time_s")
				dc = median(p "daemon_cpu_s"); dcs = dc < 0 ? "-" : sprintf("%.3f", dc)
				# all CPU: the client (or the runner and its jobs), plus
				# the daemon and the jobs it reaped
				c = median(p "cpu_s"); if (c < 0) c = 0
				if (dc >= 0) c += dc + median(p "daemon_child_cpu_s")
				rb = bare > 0 ? t / bare : 0; rx = xa > 0 ? t / xa : 0
				printf "%-15s %9.3f %9.0f %9.3f %13s %9.2f %9.2f %11.2f %11.2f%s\n", l, t, jobs / t, c, dcs, rb, rx, paired(g, l, "spawn-bare"), paired(g, l, "xargs"), ((g, l) in bad) ? "  WRONG RESULT" : ""
			}
		} else if (g == "daemon-noop100k") {
			printf "%-8s %9s %9s %9s %9s %9s %11s %13s\n", "daemon", "time_s", "submit_s", "idle_KiB", "HWM_KiB", "after_KiB", "B/node", "daemon_cpu_s"
			p = g SUBSEP "coopd" SUBSEP
			printf "%-8s %9.3f %9.3f %9d %9d %9d %11.1f %13.3f%s\n", "coopd", median(p "time_s"), median(p "submit_s"), median(p "idle_kb"), median(p "hwm_kb"), median(p "after_kb"), median(p "bytes_per_node"), median(p "daemon_cpu_s"), ((g, "coopd") in bad) ? "  WRONG RESULT" : ""
		} else {
			printf "%-8s %9s %9s %9s %9s %11s %13s\n", "daemon", "p50_us", "p99_us", "max_us", "samples", "pings/s", "daemon_cpu_s"
			p = g SUBSEP "coopd" SUBSEP
			printf "%-8s %9.1f %9.1f %9.1f %9d %11.0f %13.3f\n", "coopd", median(p "p50_us"), median(p "p99_us"), median(p "max_us"), median(p "samples"), median(p "pings_per_s"), median(p "daemon_cpu_s")
		}
	}
}' "$out"
