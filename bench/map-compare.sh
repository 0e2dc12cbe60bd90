#!/bin/sh
# bench/map-compare.sh -- `coopctl map -j2` beside GNU `parallel -j2` and
# `xargs -P2` on the same fan-out (issue 18): BENCH_MAP_ITEMS items
# (default 2,000), each one run of a short command (`true ITEM`, so all
# three start a process per item and the cost measured is the fan-out's
# own).  Runs are interleaved (the order of the three rotates every round)
# and the table gives medians of BENCH_REPS rounds (default 5).  coopd runs
# on a private socket and state directory with its
# defaults, as a user would run it, and 2 workers.  Nothing asserts on time.
#
#   make bench-map            (from the build directory), or
#   COOPD=./coopd COOPCTL=./coopctl sh ../bench/map-compare.sh
set -u
COOPD=${COOPD:-./coopd}
COOPCTL=${COOPCTL:-./coopctl}
REPS=${BENCH_REPS:-5}
N=${BENCH_MAP_ITEMS:-2000}
command -v parallel >/dev/null 2>&1 || { echo "map-compare: GNU parallel not installed; skipped"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/coopd-bench-map.XXXXXX") || exit 1
"$COOPD" --foreground --socket "$tmp/sock" --state-dir "$tmp/state" --workers 2 >"$tmp/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
until "$COOPCTL" --socket "$tmp/sock" ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 200 ] || { echo "map-compare: coopd did not start: $(cat "$tmp/log")"; exit 1; }
	sleep 0.05
done
seq 1 "$N" >"$tmp/items"

now() { date +%s.%N; }
# run NAME: one timed run; appends the seconds to $tmp/NAME.
run() {
	t0=$(now)
	case $1 in
	coopctl-map) "$COOPCTL" --socket "$tmp/sock" map -j 2 -- true <"$tmp/items" >/dev/null ;;
	parallel) parallel -j 2 true <"$tmp/items" >/dev/null ;;
	xargs) xargs -P 2 -n 1 true <"$tmp/items" >/dev/null ;;
	esac
	rc=$?
	t1=$(now)
	[ "$rc" -eq 0 ] || echo "map-compare: $1 exited $rc"
	echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$tmp/$1"
}
r=0
while [ "$r" -lt "$REPS" ]; do
	case $((r % 3)) in
	0) order="coopctl-map parallel xargs" ;;
	1) order="parallel xargs coopctl-map" ;;
	2) order="xargs coopctl-map parallel" ;;
	esac
	for t in $order; do run "$t"; done
	r=$((r + 1))
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
printf '%-14s %10s %12s %s\n' "fan-out" "median s" "items/s" "(runs, $N items, -j2)"
for t in coopctl-map parallel xargs; do
	m=$(median "$tmp/$t")
	printf '%-14s %10s %12.0f %s\n' "$t" "$m" "$(echo "$N $m" | awk '{ print $1 / $2 }')" "$(tr '\n' ' ' <"$tmp/$t")"
	echo "RESULT map-compare $t median_s=$m items=$N reps=$REPS"
done
