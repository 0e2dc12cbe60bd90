#!/bin/sh
# daemon-scrape.sh -- what a Prometheus scrape of coopd costs (issue 8).
#
#   make bench-scrape                       (from a build directory; also
#                                           part of make bench-daemon/bench)
#   BENCH_REPS=9 BENCH_ONLY='scrape-many' make bench-scrape
#
# Groups (BENCH_ONLY is an extended regex over these names, as in run.sh):
#   scrape-one   an idle coopd: BENCH_SCRAPE_N (2000) scrapes one after the
#                other (HTTP/1.0 GET /metrics over a fresh loopback TCP
#                connection, read to EOF): round trip p50/p90/p99, and
#                coopd's CPU time per scrape (from /proc/PID/stat over all N)
#   scrape-big   the spawn-heavy workload of daemon-run.sh, a graph of
#                BENCH_DAEMON_NODES (100,000) `noop` task nodes, submit to
#                settled, without and with a scraper at BENCH_SCRAPE_HZ (10)
#                scrapes a second.  coopd's loop is busy for most of it
#                (taking the graph in and launching it), so scrapes wait
#                for it, and the scraper gets fewer in than it asks for
#   scrape-many  the same number of nodes as BENCH_SCRAPE_GRAPHS (50)
#                graphs submitted and waited for one after the other: the
#                loop is free between them, so the scraper does get its 10
#                scrapes a second in
#                Both on a coopd with --metrics-listen, so that the scraper
#                is the only difference.  The order alternates between
#                repetitions; the table gives the median of the
#                within-repetition ratios with/without, of the wall time and
#                of coopd's CPU time (with their spread, which shows the
#                noise of the machine), the median times, and the scrapes
#                made during the workload with their round trips.
#
# Every measurement gets a fresh coopd (--workers left to its default) on a
# private socket, state directory and a free loopback port, started and
# found ready before the clock starts, stopped with SIGTERM after.  Raw
# RESULT lines go to $BENCH_SCRAPE_OUT (default results-scrape.txt next to
# the programs); BENCH_SCRAPE_TABLE=FILE only prints the tables of an
# earlier results file.  Nothing here asserts on time: the numbers are for
# people.
#
# Environment: BENCH_DIR (the programs; default: this script's directory),
# COOPD (default: BENCH_DIR/../coopd), BENCH_REPS (5), BENCH_ONLY,
# BENCH_SCRAPE_OUT, BENCH_SCRAPE_N (2000), BENCH_SCRAPE_HZ (10),
# BENCH_DAEMON_NODES (100000), BENCH_SCRAPE_GRAPHS (50).
set -eu

dir=${BENCH_DIR:-$(dirname "$0")}
coopd=${COOPD:-$dir/../coopd}
reps=${BENCH_REPS:-5}
only=${BENCH_ONLY:-.}
out=${BENCH_SCRAPE_OUT:-$dir/results-scrape.txt}
nscrapes=${BENCH_SCRAPE_N:-2000}
hz=${BENCH_SCRAPE_HZ:-10}
nodes=${BENCH_DAEMON_NODES:-100000}
ngraphs=${BENCH_SCRAPE_GRAPHS:-50}
rpc=$dir/daemon-rpc
scr=$dir/daemon-scrape
clk=$(getconf CLK_TCK)

table_only=${BENCH_SCRAPE_TABLE:-}
groups=$(printf '%s\n' scrape-one scrape-big scrape-many | grep -E "^($only)" || true)
if [ -z "$groups" ]; then
	echo "# daemon-scrape.sh: no scrape group matches BENCH_ONLY='$only'; skipped"
	exit 0
fi
for p in "$coopd" "$rpc" "$scr"; do
	[ -x "$p" ] || { echo "daemon-scrape.sh: $p not found (run make bench-scrape)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coopd-bench-scrape.XXXXXX")
dpid=
spid=
cleanup() {
	for p in $spid $dpid; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# daemon_start: a fresh coopd serving metrics on a free port; sets dpid,
# sock and addr, waits until it answers ping.
daemon_start() {
	rm -rf "$tmp/d"
	mkdir -p "$tmp/d"
	sock=$tmp/d/coopd.sock
	addr=127.0.0.1:$("$scr" free-port)
	# The default max_request_bytes (16 MiB) holds about 340,000 small
	# nodes: room for BENCH_DAEMON_NODES of them (64 bytes each).
	printf 'max_request_bytes = %d\n' $((nodes * 64 > 16777216 ? nodes * 64 : 16777216)) \
		>"$tmp/d/coopd.conf"
	"$coopd" --socket "$sock" --state-dir "$tmp/d/state" --metrics-listen "$addr" \
		--config "$tmp/d/coopd.conf" --foreground >"$tmp/d/coopd.log" 2>&1 &
	dpid=$!
	if ! "$rpc" ready "$sock" 10000; then
		cat "$tmp/d/coopd.log" >&2
		exit 1
	fi
}

daemon_stop() {
	kill -TERM "$dpid"
	wait "$dpid" || echo "# coopd exited with status $? (log: $(tail -n 3 "$tmp/d/coopd.log"))" >&2
	dpid=
}

# coopd's user+system CPU time so far, in clock ticks.
daemon_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$dpid/stat"
}

run_one() {
	daemon_start
	t0=$(daemon_ticks)
	"$scr" get "$addr" "$nscrapes" scrape-one | sed 's/^RESULT bench=scrape-one rt=coopd workers=0 //'
	t1=$(daemon_ticks)
	awk -v a="$t0" -v b="$t1" -v hz="$clk" -v n="$nscrapes" \
		'BEGIN { printf "daemon_cpu_us_per_scrape=%.1f\n", (b - a) / hz * 1e6 / n }'
	daemon_stop
}

# run_load GROUP with|without
run_load() {
	daemon_start
	"$rpc" ping "$sock" 200 0 >/dev/null
	if [ "$2" = with ]; then
		"$scr" loop "$addr" "$hz" >"$tmp/scraper" &
		spid=$!
	fi
	t0=$(daemon_ticks)
	# the workload: COUNT graphs of FILE, each submitted and waited for
	if [ "$1" = scrape-big ]; then set -- "$@" 1 "$tmp/noop.json"; else set -- "$@" "$ngraphs" "$tmp/noop-part.json"; fi
	"$rpc" time "$2" "$1" sh -c 'i=0; while [ "$i" -lt "$1" ]; do
		"$2" submit-wait "$3" "$4" x >/dev/null || exit 1; i=$((i + 1)); done' \
		sh "$3" "$rpc" "$sock" "$4" |
		sed -n 's/^RESULT bench=[^ ]* rt=[^ ]* workers=0 //p'
	t1=$(daemon_ticks)
	awk -v a="$t0" -v b="$t1" -v hz="$clk" 'BEGIN { printf "daemon_cpu_s=%.3f\n", (b - a) / hz }'
	if [ -n "$spid" ]; then
		kill -TERM "$spid"
		wait "$spid" || true
		spid=
		sed -n 's/^RESULT bench=scraper rt=coopd workers=0 //p' "$tmp/scraper"
	fi
	daemon_stop
}

if [ -n "$table_only" ]; then
	out=$table_only
else
echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# coopd: $coopd ($("$coopd" --version 2>/dev/null | head -n 1))"
echo "# $reps repetitions; $nscrapes scrapes; $nodes noop nodes (1 graph, and $ngraphs of $((nodes / ngraphs))), scraper at $hz Hz; raw results in $out"
: >"$out"
"$rpc" gen-noop "$nodes" "$tmp/noop.json"
"$rpc" gen-noop "$((nodes / ngraphs))" "$tmp/noop-part.json"

rep=1
while [ "$rep" -le "$reps" ]; do
	for g in $groups; do
		case $g in
		scrape-one)
			res=$(run_one </dev/null | tr '\n' ' ')
			echo "group=$g label=coopd rep=$rep $res" >>"$out"
			;;
		scrape-big | scrape-many)
			# alternate which case goes first, so drift hits both alike
			if [ $((rep % 2)) -eq 1 ]; then order="without with"; else order="with without"; fi
			for c in $order; do
				res=$(run_load "$g" "$c" </dev/null | tr '\n' ' ')
				echo "group=$g label=$c rep=$rep $res" >>"$out"
			done
			;;
		esac
	done
	echo "# repetition $rep/$reps done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
	rep=$((rep + 1))
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

fi

awk -v nodes="$nodes" -v hz="$hz" -v ngraphs="$ngraphs" '
function median(key,    n, i, j, t, a) {
	n = cnt[key]
	if (n == 0) return -1
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function put(key, v) { val[key, ++cnt[key]] = v }
{
	delete f
	for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	g = f["group"]; l = f["label"]; r = f["rep"]
	for (k in f) if (f[k] ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ && k != "rep") put(g SUBSEP l SUBSEP k, f[k])
	if (g != "scrape-one") {
		if (!(g in gseen)) { gseen[g] = 1; gorder[++ng] = g }
		tl[g, l, r] = f["time_s"]; tc[g, l, r] = f["daemon_cpu_s"]; if (f["ok"] != "1") bad[g]++
	}
	if (r > nrep) nrep = r
}
END {
	p = "scrape-one" SUBSEP "coopd" SUBSEP
	if (cnt[p "p50_us"] > 0) {
		printf "\n== scrape-one: one scrape of an idle coopd (median of %d runs of %d) ==\n", cnt[p "p50_us"], median(p "samples")
		printf "%9s %9s %9s %9s %11s %13s %17s\n", "p50_us", "p90_us", "p99_us", "max_us", "body_bytes", "scrapes/s", "daemon_cpu_us/scr"
		printf "%9.1f %9.1f %9.1f %9.1f %11d %13.0f %17.1f\n", median(p "p50_us"), median(p "p90_us"), median(p "p99_us"), median(p "max_us"), median(p "body_bytes"), median(p "scrapes_per_s"), median(p "daemon_cpu_us_per_scrape")
	}
	for (gi = 1; gi <= ng; gi++) {
		g = gorder[gi]
		n = 0
		cnt["ratio"] = cnt["cratio"] = 0
		for (r = 1; r <= nrep; r++)
			if ((g, "with", r) in tl && (g, "without", r) in tl && tl[g, "without", r] > 0 && tc[g, "without", r] > 0) {
				ratio = tl[g, "with", r] / tl[g, "without", r]
				cr = tc[g, "with", r] / tc[g, "without", r]
				put("ratio", ratio); put("cratio", cr)
				if (n == 0 || ratio < lo) lo = ratio
				if (n == 0 || ratio > hi) hi = ratio
				if (n == 0 || cr < clo) clo = cr
				if (n == 0 || cr > chi) chi = cr
				n++
			}
		if (n == 0) continue
		w = g SUBSEP "with" SUBSEP; wo = g SUBSEP "without" SUBSEP
		printf "\n== %s: %d noop nodes in %s, without and with %s scrapes/s (median of %d) ==\n", g, nodes, g == "scrape-big" ? "1 graph" : ngraphs " graphs", hz, n
		printf "%-8s %9s %13s %9s %9s %14s %14s\n", "scraper", "time_s", "daemon_cpu_s", "scrapes", "failed", "scrape_p50_us", "scrape_p99_us"
		printf "%-8s %9.3f %13.3f %9s %9s %14s %14s\n", "without", median(wo "time_s"), median(wo "daemon_cpu_s"), "-", "-", "-", "-"
		printf "%-8s %9.3f %13.3f %9d %9d %14.1f %14.1f\n", "with", median(w "time_s"), median(w "daemon_cpu_s"), median(w "scrapes"), median(w "failures"), median(w "scrape_p50_us"), median(w "scrape_p99_us")
		printf "with/without within a repetition: wall time %.3f (min %.3f, max %.3f), coopd CPU %.3f (min %.3f, max %.3f); medians of %d pairs%s\n", median("ratio"), lo, hi, median("cratio"), clo, chi, n, (g in bad) ? "  WRONG RESULT" : ""
	}
}' "$out"
