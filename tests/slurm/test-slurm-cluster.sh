#!/bin/sh
# The test cluster itself (tests/slurm/cluster.sh): the node is idle, a job
# submitted by a non-root user runs as that user and its output lands in a
# shared directory, and scancel --signal=TERM --full reaches a batch script
# that traps it.  Everything else in check-slurm builds on these.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require

host=$(hostname -s)
[ "$(sinfo -h -n "$host" -o %t)" = idle ] || fail "node $host is not idle: $(sinfo)"

out=$COOPD_TMP/spool
mkdir -p "$out"
chmod 1777 "$out"
jid=$(cd / && runuser -u nobody -- sbatch --parsable -o "$out/%j.out" \
	--wrap 'id -un; echo pwd=$(pwd)') || fail "sbatch as nobody failed"
slurm_wait_gone "$jid" || fail "job $jid did not end"
[ "$(slurm_job_state "$jid")" = COMPLETED ] || fail "job $jid: $(scontrol -o show job "$jid")"
grep -qx nobody "$out/$jid.out" || fail "job ran as $(cat "$out/$jid.out")"
scontrol -o show job "$jid" | grep -q 'UserId=nobody(' || fail "job's user is not nobody"

# TERM to the batch script, then the job ends on its own terms.
cat >"$out/trap.sh" <<'SH'
#!/bin/sh
trap 'echo got-term > "$1"; exit 3' TERM
echo ready > "$1.ready"
while :; do sleep 0.1; done
SH
chmod 755 "$out/trap.sh"
jid=$(runuser -u nobody -- sbatch --parsable -o /dev/null "$out/trap.sh" "$out/marker") ||
	fail "sbatch trap.sh"
i=0
until [ -f "$out/marker.ready" ]; do
	i=$((i + 1))
	[ "$i" -lt 1200 ] || fail "trap.sh never started: $(scontrol -o show job "$jid")"
	sleep 0.1
done
scancel --signal=TERM --full "$jid" || fail "scancel --signal=TERM"
slurm_wait_gone "$jid" || fail "job $jid did not end after TERM"
[ "$(cat "$out/marker")" = got-term ] || fail "the batch script did not see TERM"
coopd_pass
