#!/bin/sh
# daemon-walframes.sh -- what the state store costs one durable one-node
# submit of one client (issue 14): WAL frames per commit and system calls
# per submit of each coopd thread, counted with strace (the same on every
# run), and coopd's CPU per submit per thread (schedstat), medians of
# BENCH_REPS runs.
#
#   make bench-walframes                              (from a build directory)
#   COOPD_BASE=OTHER/coopd BENCH_REPS=5 make bench-walframes
#
# A run: a fresh coopd and state directory on the build tree's file system
# (BENCH_WALFRAMES_DIR overrides it), `fsync = yes` (BENCH_WALFRAMES_SYNC),
# 1,200 submits to warm up (the WAL of a new database grows through its
# first 1,000 frames, a cost later commits do not pay), then
# BENCH_WALFRAMES_SUBMITS (3000) measured.  A WAL frame is a 24-byte header
# written then a page (two pwrite64 of the writer thread); a transaction
# takes the WAL's write lock once (an fcntl on byte 120 of the -shm file,
# SQLite's WAL_WRITE_LOCK).  The CPU of each thread is
# read from /proc/PID/task/TID/schedstat before and after, its sleeps
# (voluntary context switches) from its status.  With
# COOPD_BASE the two coopds alternate run by run, so that both see the
# same load.  strace is needed for the counts (skipped without it).
# Nothing asserts on time.
set -eu

dir=${BENCH_DIR:-$(dirname "$0")}
coopd=${COOPD:-$dir/../coopd}
prog=$dir/daemon-durable
rpc=$dir/daemon-rpc
reps=${BENCH_REPS:-5}
n=${BENCH_WALFRAMES_SUBMITS:-3000}
sync=${BENCH_WALFRAMES_SYNC:-yes}
base_coopd=${COOPD_BASE:-}
for p in "$coopd" "$prog" "$rpc" ${base_coopd:+"$base_coopd"}; do
	[ -x "$p" ] || { echo "daemon-walframes.sh: $p not found (make bench-walframes)" >&2; exit 1; }
done

tmp=$(mktemp -d "${BENCH_WALFRAMES_DIR:-$dir}/walframes.XXXXXX")
sockdir=$(mktemp -d "${TMPDIR:-/tmp}/coopd-walframes.XXXXXX")
dpid=
cleanup() {
	if [ -n "$dpid" ]; then
		kill -TERM "$dpid" 2>/dev/null || true
		wait "$dpid" 2>/dev/null || true
	fi
	rm -rf "$tmp" "$sockdir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start() { # start COOPD: a fresh coopd, warmed up
	rm -rf "$tmp/state"
	printf 'fsync = %s\n' "$sync" >"$tmp/coopd.conf"
	"$1" --socket "$sockdir/s" --state-dir "$tmp/state" --config "$tmp/coopd.conf" \
		--foreground >"$tmp/coopd.log" 2>&1 &
	dpid=$!
	"$rpc" ready "$sockdir/s" 10000 >/dev/null || { cat "$tmp/coopd.log" >&2; exit 1; }
	"$prog" "$sockdir/s" 1 1200 warm >/dev/null
}

stop() {
	kill -TERM "$dpid"
	wait "$dpid" || true
	dpid=
}

# "TID NS VOL" of every thread: its CPU time so far (schedstat) and its
# voluntary context switches (its sleeps); sorted as join wants it.
snap() {
	for t in /proc/"$dpid"/task/*; do
		echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat")" \
			"$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status")"
	done | sort
}

counts() { # counts COOPD LABEL: the system calls of every thread, and the writer's frames
	start "$1"
	: >"$tmp/pids"
	for t in $(ls /proc/"$dpid"/task | sort -n); do
		strace -q -p "$t" -o "$tmp/t.$t" 2>/dev/null &
		echo $! >>"$tmp/pids"
	done
	# strace needs a moment to attach; nothing is submitted meanwhile.
	sleep 1
	"$prog" "$sockdir/s" 1 "$n" run >/dev/null
	for p in $(cat "$tmp/pids"); do kill -INT "$p" 2>/dev/null || true; done
	for p in $(cat "$tmp/pids"); do wait "$p" 2>/dev/null || true; done
	echo "## $2: system calls per submit ($n submits, one client), per thread"
	i=0
	for t in $(ls /proc/"$dpid"/task | sort -n); do
		i=$((i + 1))
		awk -v n="$n" -v th="thread $i" -F'(' '/^[a-z_0-9]+\(/ { c[$1]++ }
			END { for (k in c) if (c[k] / n >= 0.005) line = line sprintf(" %s %.2f", k, c[k] / n);
				if (line != "") print "  " th ":" line }' "$tmp/t.$t"
		# The writer: the thread writing 24-byte WAL frame headers; it
		# takes the WAL's write lock (byte 120 of the -shm file) once
		# per transaction.
		awk -v n="$n" '/^pwrite64\(.*, 24, [0-9]+\) += 24/ { f++ } /F_WRLCK.*l_start=120,/ { c++ }
			END { if (f > 0) printf "  WAL frames per commit %.2f (%d frames, %d commits, %.2f frames per submit)\n",
				f / c, f, c, f / n }' "$tmp/t.$t"
	done
	rm -f "$tmp"/t.*
	stop
}

cpu() { # cpu COOPD LABEL: CPU us per submit of each thread, appended to $tmp/cpu.LABEL
	start "$1"
	snap >"$tmp/a"
	"$prog" "$sockdir/s" 1 "$n" run >/dev/null
	snap >"$tmp/b"
	join "$tmp/a" "$tmp/b" | sort -n | awk -v n="$n" '{ c = ($4 - $2) / 1000 / n; tot += c;
		line = line sprintf(" %.1f", c) } END { printf "%.1f%s\n", tot, line }' >>"$tmp/cpu.$2"
	join "$tmp/a" "$tmp/b" | sort -n | awk -v n="$n" '{ v = ($5 - $3) / n; tot += v;
		line = line sprintf(" %.2f", v) } END { printf "%.2f%s\n", tot, line }' >>"$tmp/vol.$2"
	stop
}

median() { # median FILE COLUMN
	awk -v k="$2" '{ print $k }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "# daemon-walframes: fsync = $sync, $n submits of one client per run, $reps runs each"
echo "# state on $(stat -f -c %T "$tmp") ($tmp); load: $(uptime | sed 's/.*load/load/')"
if command -v strace >/dev/null 2>&1; then
	counts "$coopd" this
	[ -z "$base_coopd" ] || counts "$base_coopd" base
else
	echo "# strace not found: no counts"
fi
i=0
while [ $i -lt "$reps" ]; do
	if [ -n "$base_coopd" ] && [ $((i % 2)) -eq 0 ]; then
		cpu "$base_coopd" base
		cpu "$coopd" this
	else
		cpu "$coopd" this
		[ -z "$base_coopd" ] || cpu "$base_coopd" base
	fi
	i=$((i + 1))
done
echo "# load after: $(uptime | sed 's/.*load/load/')"
echo "## CPU us per submit, medians of $reps (total, then each thread in creation order:"
echo "## the loop, the reader, the writer, libcoop's workers)"
medians() { # medians FILE: the median of each column
	cols=$(awk '{ print NF }' "$1" | sort -n | head -1)
	line=
	k=1
	while [ $k -le "$cols" ]; do
		line="$line $(median "$1" $k)"
		k=$((k + 1))
	done
	echo "$line"
}
for l in this base; do
	[ -f "$tmp/cpu.$l" ] || continue
	echo "  $l:$(medians "$tmp/cpu.$l")"
	echo "  $l runs (total): $(awk '{ printf "%s ", $1 }' "$tmp/cpu.$l")"
done
if [ -f "$tmp/cpu.base" ]; then
	# Run i of this and run i of base were neighbours: the median of
	# their differences is less at the mercy of the load than the
	# difference of the medians.
	k=$(awk '{ print NF }' "$tmp/cpu.this" | sort -n | head -1)
	paste -d' ' "$tmp/cpu.this" "$tmp/cpu.base" | awk -v k="$k" '{ line = "";
		for (j = 1; j <= k; j++) line = line sprintf(" %.1f", $j - $(j + k)); print line }' \
		>"$tmp/cpu.diff"
	echo "  this - base, paired by run:$(medians "$tmp/cpu.diff")"
fi
echo "## voluntary context switches (sleeps) per submit, medians, the same columns"
for l in this base; do
	[ -f "$tmp/vol.$l" ] && echo "  $l:$(medians "$tmp/vol.$l")"
done
