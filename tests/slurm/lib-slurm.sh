# lib-slurm.sh -- helpers of the Slurm tests (sourced after tests/lib-coopd.sh).
#
# The tests run inside `tests/slurm/cluster.sh run` (`make check-slurm`),
# which starts a private one-node cluster and exports SLURM_CONF and
# COOPD_TEST_SLURM_DIR.  Run alone, a test skips saying how to run it.
#
#   slurm_require          skip unless root and inside a cluster run
#   slurm_config [KEY=VAL...]   writes $COOPD_TMP/coopd.conf with slurm = on,
#                          the spool directory $COOPD_TMP/spool (coopd makes
#                          it) and a short poll period, plus the given
#                          "key = value" lines; prints its path
#   slurm_wait_gone JOBID  waits (bounded) until Slurm reports the job ended

slurm_require() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (slurmd starts jobs as their users)"
	[ -n "${COOPD_TEST_SLURM_DIR:-}" ] && [ -n "${SLURM_CONF:-}" ] ||
		skip "needs the test cluster: run through 'make check-slurm'"
	SLURM_DIR=$COOPD_TEST_SLURM_DIR
	# Slurm schedules on its own clock (and slowly on a loaded host): the
	# tests' hang guards are five times longer (lib-coopd.sh, SLOW).
	: "${COOPD_TEST_SLOW:=5}"
	export COOPD_TEST_SLOW
	# The test directory must be reachable by the tests' non-root owners
	# (job files, output), as a shared spool directory is on a cluster.
	chmod 755 "$COOPD_TMP"
}

slurm_config() {
	_cf=$COOPD_TMP/coopd.conf
	{
		echo "slurm = on"
		echo "slurm_spool_dir = $COOPD_TMP/spool"
		echo "slurm_poll_ms = 200"
		for _kv in "$@"; do
			echo "${_kv%%=*} = ${_kv#*=}"
		done
	} >"$_cf"
	echo "$_cf"
}

# Slurm's state of a job (scontrol), e.g. RUNNING, COMPLETED; empty if unknown.
slurm_job_state() {
	scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}

slurm_wait_gone() {
	_i=0
	while :; do
		case $(slurm_job_state "$1") in
		PENDING | RUNNING | COMPLETING | CONFIGURING | SUSPENDED | "") ;;
		*) return 0 ;;
		esac
		_i=$((_i + 1))
		[ "$_i" -lt 1200 ] || return 1
		sleep 0.1
	done
}
