#!/bin/sh
# daemon-durable.sh -- the price of durability (issues 7, 14): submit latency
# (p50/p99), submits per second and coopd's CPU time per submit from 1 and
# from 16 clients, with coopd's state synced to disk (the default) and with
# `fsync = no` (benchmarks only), beside a bare write+fdatasync loop on the
# same file system (the floor: daemon-durable --bare).
#
#   make bench-daemon-durable        (also part of make bench-daemon / bench)
#
# Every measurement gets a fresh coopd and state directory; the state
# directory is on the build tree's file system by default (a tmpfs would
# make every sync free), BENCH_DURABLE_DIR overrides it; its file system
# type is printed.  Each repetition runs the four cases in a rotated order so
# that noise on a shared machine hits them alike; the table gives medians
# over the repetitions, and "x sync off" is the median of the ratios within
# a repetition.  Raw RESULT lines go to $BENCH_DURABLE_OUT (default
# results-durable.txt next to the programs).  Nothing asserts on time.
#
# Environment: BENCH_DIR, COOPD, BENCH_REPS (5), BENCH_ONLY (a regex; the
# group is daemon-durable), BENCH_DURABLE_SUBMITS (submits with one client,
# and writes of the bare loop: 2000; with 16 clients each submits a quarter
# of it, at least 25).  CPU per submit is coopd's user+system time
# (/proc/PID/stat) over the run divided by the submits.
# COOPD_BASE: another coopd (say, main's, built in another build
# directory) measured the same way in the same repetitions, its synced
# cases interleaved with the others (rows "base ..."): a before/after on
# the same machine at the same load.
set -eu

dir=${BENCH_DIR:-$(dirname "$0")}
coopd=${COOPD:-$dir/../coopd}
prog=$dir/daemon-durable
rpc=$dir/daemon-rpc
reps=${BENCH_REPS:-5}
only=${BENCH_ONLY:-.}
out=${BENCH_DURABLE_OUT:-$dir/results-durable.txt}
n1=${BENCH_DURABLE_SUBMITS:-2000}
n16=$((n1 / 4))
[ "$n16" -ge 25 ] || n16=25

if ! echo daemon-durable | grep -Eq "^($only)"; then
	echo "# daemon-durable.sh: BENCH_ONLY='$only' excludes daemon-durable; skipped"
	exit 0
fi
base_coopd=${COOPD_BASE:-}
for p in "$coopd" "$prog" "$rpc" ${base_coopd:+"$base_coopd"}; do
	[ -x "$p" ] || { echo "daemon-durable.sh: $p not found (run make bench-daemon)" >&2; exit 1; }
done

base=${BENCH_DURABLE_DIR:-$dir}
tmp=$(mktemp -d "$base/durable.XXXXXX")
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

# A short socket path (sun_path is 108 bytes): the socket lives in /tmp, the
# state on the file system measured.
sockdir=$(mktemp -d "${TMPDIR:-/tmp}/coopd-durable.XXXXXX")
trap 'cleanup; rm -rf "$sockdir"' EXIT

daemon_start() { # SYNC(yes|no) [COOPD]
	rm -rf "$tmp/state"
	printf 'fsync = %s\n' "$1" >"$tmp/coopd.conf"
	"${2:-$coopd}" --socket "$sockdir/s" --state-dir "$tmp/state" --config "$tmp/coopd.conf" \
		--foreground >"$tmp/coopd.log" 2>&1 &
	dpid=$!
	if ! "$rpc" ready "$sockdir/s" 10000 >/dev/null; then
		cat "$tmp/coopd.log" >&2
		exit 1
	fi
}

daemon_stop() {
	kill -TERM "$dpid"
	wait "$dpid" || echo "# coopd exited with status $? (log: $(tail -n 3 "$tmp/coopd.log"))" >&2
	dpid=
}

fs=$(stat -f -c %T "$tmp")
echo "# daemon-durable: state directory on $fs ($tmp); $reps repetition(s); 1 client x $n1," \
	"16 clients x $n16 submits"
: >"$out"
cases="sync-on:yes:1 sync-off:no:1 sync-on:yes:16 sync-off:no:16 bare:bare:1"
[ -z "$base_coopd" ] || cases="$cases base-sync-on:yes:1 base-sync-on:yes:16"
ncases=$(echo $cases | wc -w)
rep=1
while [ "$rep" -le "$reps" ]; do
	# rotate the order by one case per repetition
	k=$(( (rep - 1) % ncases ))
	set -- $cases
	i=0
	while [ "$i" -lt "$k" ]; do
		first=$1
		shift
		set -- "$@" "$first"
		i=$((i + 1))
	done
	for c in "$@"; do
		label=${c%%:*}
		rest=${c#*:}
		sync=${rest%%:*}
		clients=${rest#*:}
		if [ "$clients" = 1 ]; then n=$n1; else n=$n16; fi
		if [ "$sync" = bare ]; then
			"$prog" --bare "$tmp/bare" "$n" bare | sed "s/\$/ rep=$rep/" >>"$out"
			continue
		fi
		case $label in
		base-*) daemon_start "$sync" "$base_coopd" ;;
		*) daemon_start "$sync" ;;
		esac
		cpu0=$(awk '{print $14 + $15}' "/proc/$dpid/stat")
		line=$("$prog" "$sockdir/s" "$clients" "$n" "$label-c$clients")
		cpu1=$(awk '{print $14 + $15}' "/proc/$dpid/stat")
		cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" -v n=$((clients * n)) \
			'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / n }')
		echo "$line cpu_us=$cpu rep=$rep" >>"$out"
		daemon_stop
	done
	rep=$((rep + 1))
done

# The table: medians over repetitions; ratios of sync on to sync off paired
# within a repetition.
awk '
function kv(line, key,    m) {
	if (match(line, " " key "=[^ ]+")) return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	return ""
}
function median(arr, n,    i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
	return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
/^RESULT/ {
	b = kv($0, "bench"); r = kv($0, "rep")
	p50[b, r] = kv($0, "p50_ms"); p99[b, r] = kv($0, "p99_ms"); rate[b, r] = kv($0, "rate")
	cpu[b, r] = kv($0, "cpu_us")
	seen[b] = 1; reps[r] = 1
}
END {
	printf "%-22s %9s %9s %11s %10s %14s %14s\n", "daemon-durable", "p50 ms", "p99 ms", "submits/s", "cpu us/sub", "p50 x sync off", "rate / sync off"
	no = split("sync-on-c1 base-sync-on-c1 sync-off-c1 sync-on-c16 base-sync-on-c16 sync-off-c16 bare", order, " ")
	for (o = 1; o <= no; o++) {
		b = "daemon-durable-" order[o]; if (!(b in seen)) continue
		off = b; sub(/sync-on/, "sync-off", off)
		n = 0; m = 0
		for (r in reps) if ((b, r) in p50) {
			# + 0: numbers, not strings ("10218.4" < "2115.0" as strings)
			n++; a50[n] = p50[b, r] + 0; a99[n] = p99[b, r] + 0; ar[n] = rate[b, r] + 0; ac[n] = cpu[b, r] + 0
			if (b != off && (off, r) in p50 && p50[off, r] > 0 && rate[off, r] > 0) {
				m++; x50[m] = p50[b, r] / p50[off, r]; xr[m] = rate[b, r] / rate[off, r]
			}
		}
		if (m) printf "%-22s %9.3f %9.3f %11.1f %10.1f %13.1fx %14.2f\n", order[o], median(a50, n), median(a99, n), median(ar, n), median(ac, n), median(x50, m), median(xr, m)
		else printf "%-22s %9.3f %9.3f %11.1f %10s %14s %14s\n", order[o], median(a50, n), median(a99, n), median(ar, n), (order[o] == "bare" ? "" : sprintf("%.1f", median(ac, n))), "", ""
	}
}' "$out"
echo "# raw results: $out"
