#!/bin/sh
# test-coopctl-map.sh -- `coopctl map` (issue 18) against the real coopd:
# items with spaces and quotes stay whole, the placeholders, items from
# standard input (lines and -0), one graph with one exec node per item and
# at most N at once, each job's output grouped, exit 1 and a message when a
# job failed, --json lines, a progress bar on a terminal only, Ctrl-C
# (SIGINT) cancelling the graph, and usage errors.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

T=$COOPD_TMP
coopd_start
cd "$T" || fail "cd $T"

# Waits (with a hang guard, never a timed assertion) until CMD succeeds.
wait_until() {
	i=0
	while ! eval "$1"; do
		i=$((i + 1))
		[ "$i" -lt 1200 ] || fail "gave up waiting for: $1"
		sleep 0.1
	done
}
graph_named() { # NAME -> the id of the graph with that name
	coopd_ctl --json list --all | python3 -c '
import json, sys
ids = [g["id"] for g in json.load(sys.stdin)["graphs"] if g["name"] == sys.argv[1]]
print(ids[-1] if ids else "")' "$1"
}

# Items stay whole: spaces, quotes, globs, dollars, a leading dash.
coopd_ctl map -j 3 -- printf '<%s>\n' {} ::: "a b" 'q"uote' "it's" '*' '$HOME' '-n' '' >"$T/out" 2>"$T/err" \
	|| fail "map exited $?: $(cat "$T/err")"
LC_ALL=C sort "$T/out" >"$T/got"
printf '%s\n' '<$HOME>' '<*>' '<-n>' '<>' '<a b>' "<it's>" '<q"uote>' | LC_ALL=C sort >"$T/want"
cmp -s "$T/got" "$T/want" || fail "items not intact: $(cat "$T/out")"

# Placeholders, and the item appended when there is none.
coopd_ctl map -j 1 -- echo {} {.} {/} {//} {/.} ::: dir/sub/f.tar.gz .bashrc plain >"$T/out" \
	|| fail "placeholders: exit $?"
grep -qx "dir/sub/f.tar.gz dir/sub/f.tar f.tar.gz dir/sub f.tar" "$T/out" || fail "placeholders: $(cat "$T/out")"
grep -qx ".bashrc .bashrc .bashrc . .bashrc" "$T/out" || fail "dotfile: $(cat "$T/out")"
grep -qx "plain plain plain . plain" "$T/out" || fail "no extension: $(cat "$T/out")"
coopd_ctl map -- echo item: ::: x y >"$T/out" || fail "append: exit $?"
[ "$(sort "$T/out" | tr '\n' ' ')" = "item: x item: y " ] || fail "append: $(cat "$T/out")"

# Items from standard input: lines (an empty line is an item), and -0.
printf 'one\ntwo words\n\nfour\n' | coopd_ctl map --name stdin-lines -- printf '[%s]\n' >"$T/out" \
	|| fail "stdin lines: exit $?"
[ "$(sort "$T/out" | tr '\n' ' ')" = "[] [four] [one] [two words] " ] || fail "stdin lines: $(cat "$T/out")"
printf 'a\nb\0c d\0' | coopd_ctl map -0 -- printf '[%s]\n' >"$T/out" || fail "stdin -0: exit $?"
[ "$(LC_ALL=C sort "$T/out" | tr '\n' '|')" = "[a|[c d]|b]|" ] || fail "stdin -0: $(cat "$T/out")"
: | coopd_ctl map -- echo >"$T/out" || fail "no items: exit $?"
[ -s "$T/out" ] && fail "no items printed: $(cat "$T/out")"

# One graph, one exec node per item, at most -j at once (from the nodes'
# own start and finish times as coopd recorded them), grouped output.
seq 1 12 | coopd_ctl map -j 3 --name grouped -- sh -c \
	'for i in 1 2 3; do echo "$1 line $i"; echo "$1 err $i" >&2; sleep 0.02; done' sh {} >"$T/out" 2>"$T/err" \
	|| fail "grouped: exit $?: $(cat "$T/err")"
python3 - "$T/out" "$T/err" <<'PY' || fail "output interleaved: $(cat "$T/out")"
import sys
for path, word in ((sys.argv[1], "line"), (sys.argv[2], "err")):
    lines = open(path).read().split("\n")[:-1]
    assert len(lines) == 36, lines
    for k in range(0, 36, 3):
        item = lines[k].split()[0]
        assert lines[k:k + 3] == ["%s %s %d" % (item, word, i) for i in (1, 2, 3)], lines[k:k + 3]
    assert sorted(int(l.split()[0]) for l in lines[::3]) == list(range(1, 13))
PY
gid=$(graph_named grouped)
[ -n "$gid" ] || fail "no graph named grouped"
coopd_ctl --json status "$gid" >"$T/st.json" || fail "status of the map graph"
python3 - "$T/st.json" <<'PY' || fail "the map graph: $(head -c 3000 "$T/st.json")"
import json, sys
st = json.load(open(sys.argv[1]))
nodes = st["root"]["nodes"]
assert [n["id"] for n in nodes] == [str(i) for i in range(1, 13)], nodes
assert all(n["kind"] == "exec" and n["state"] == "succeeded" for n in nodes), nodes
PY

# At most -j jobs at once: each job counts the jobs alive beside it (a
# count that can only be lower than the truth, so never above -j when the
# bound holds; with no bound, 12 overlapping jobs would see more).
mkdir "$T/live"
seq 1 12 | coopd_ctl map -j 3 -- sh -c 'mkdir "$0/$1"; ls "$0" | wc -l; sleep 0.2; rmdir "$0/$1"' "$T/live" {} \
	>"$T/counts" || fail "bounded: exit $?"
[ "$(wc -l <"$T/counts")" -eq 12 ] || fail "bounded: $(cat "$T/counts")"
[ "$(sort -n "$T/counts" | tail -n 1)" -le 3 ] || fail "more than 3 jobs at once: $(cat "$T/counts")"

# A failed job: exit 1, the others still run, a line names the item.
coopd_ctl map -j 2 -- sh -c '[ "$1" != "b ad" ] && echo "ok $1"' sh {} ::: a "b ad" c >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] || fail "a failed job: exit $rc"
[ "$(sort "$T/out" | tr '\n' ' ')" = "ok a ok c " ] || fail "the other jobs: $(cat "$T/out")"
grep -q "failed (exit 1): b ad$" "$T/err" || fail "no line for the failed job: $(cat "$T/err")"
grep -q "1 of 3 jobs failed" "$T/err" || fail "no summary: $(cat "$T/err")"
coopd_ctl map -- nosuchcmd-coopd-map {} ::: x 2>"$T/err"
[ $? -eq 1 ] || fail "a command not found did not exit 1"
grep -q "nosuchcmd-coopd-map: No such file or directory" "$T/err" || fail "not found: $(cat "$T/err")"

# --json: one line per job.
coopd_ctl --json map -j 2 -- sh -c 'exit $1' sh {} ::: 0 3 >"$T/out"
[ $? -eq 1 ] || fail "--json map with a failure did not exit 1"
python3 - "$T/out" <<'PY' || fail "--json lines: $(cat "$T/out")"
import json, sys
jobs = {j["item"]: j for j in map(json.loads, open(sys.argv[1]))}
assert jobs["0"]["state"] == "succeeded" and jobs["0"]["exit_code"] == 0, jobs
assert jobs["3"]["state"] == "failed" and jobs["3"]["exit_code"] == 3, jobs
PY

# The progress bar: on a terminal (stderr), never into a file.
if grep -q "$(printf '\r')" "$T/err"; then fail "a bar was drawn into a file"; fi
if command -v script >/dev/null 2>&1; then
	TERM=xterm script -qec "'$COOPCTL_BIN' --socket '$COOPD_SOCK' map -j 2 -- sh -c 'sleep 0.3; echo done \$1' sh {} ::: 1 2 3 4" \
		/dev/null >"$T/tty" 2>&1 || fail "map under script exited $?: $(cat -v "$T/tty")"
	grep -q "$(printf '\r')[0-9a-f]* \[.*/4 nodes" "$T/tty" || fail "no progress bar on a terminal: $(cat -v "$T/tty")"
	[ "$(grep -o 'done [1-4]' "$T/tty" | sort -u | wc -l)" -eq 4 ] || fail "outputs under the bar: $(cat -v "$T/tty")"
fi

# Ctrl-C cancels the graph: the running job is stopped, the rest never start.
# (coopctl itself in the background, not a subshell of a function, so that
# $! is its pid)
"$COOPCTL_BIN" --socket "$COOPD_SOCK" map -j 1 --name interrupted -- \
	sh -c 'echo $$ >"$1.pid"; touch "$1.started"; exec sleep 600' sh "$T/job-{}" ::: 1 2 3 \
	>"$T/out" 2>"$T/err" &
mpid=$!
wait_until '[ -e "$T/job-1.started" ]'
kill -INT "$mpid"
wait "$mpid"
rc=$?
[ "$rc" -eq 1 ] || fail "map after SIGINT exited $rc: $(cat "$T/err")"
grep -q "interrupted: cancelling" "$T/err" || fail "no word of the cancel: $(cat "$T/err")"
gid=$(graph_named interrupted)
coopd_ctl --json status "$gid" >"$T/st.json" || fail "status after SIGINT"
python3 - "$T/st.json" <<'PY' || fail "the interrupted graph: $(head -c 3000 "$T/st.json")"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["state"] == "cancelled", st["state"]
states = [n["state"] for n in st["root"]["nodes"]]
assert states == ["cancelled"] * 3, states
assert st["root"]["nodes"][0]["started"] and not st["root"]["nodes"][2]["started"], st
PY
[ -e "$T/job-2.started" ] && fail "a job started after the cancel"
# The job's own process (its pid written before the exec) is gone.
kill -0 "$(cat "$T/job-1.pid")" 2>/dev/null && fail "the cancelled job is still running"

# Usage errors.
for bad in "map" "map -- " "map -j 0 -- echo ::: a" "map -j x -- echo ::: a" "map -0 -- echo ::: a" \
	"map --frob -- echo ::: a"; do
	# shellcheck disable=SC2086
	coopd_ctl $bad </dev/null >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "'coopctl $bad' exited $rc, want 2"
done
printf 'a\0b\n' | coopd_ctl map -- echo >/dev/null 2>"$T/err"
[ $? -eq 2 ] || fail "a NUL in a line did not exit 2"

coopd_pass
