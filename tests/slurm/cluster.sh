#!/bin/sh
# cluster.sh -- a private one-node Slurm cluster for the Slurm tests
# (`make check-slurm`, docs/slurm.md "Testing").
#
#   cluster.sh run CMD [ARG...]   start a cluster in a fresh directory, run
#                                 CMD with SLURM_CONF and COOPD_TEST_SLURM_DIR
#                                 set, stop the cluster, exit with CMD's status
#   cluster.sh start DIR          start a cluster under DIR (created)
#   cluster.sh stop DIR           stop the daemons DIR's pid files name
#
# Everything lives under DIR: a munge key generated for the run and munged's
# socket, slurm.conf (this host as the only node, with its CPUs and memory,
# slurmctld and slurmd on loopback at ports found free), the state and spool
# directories, the pid files and the logs.  Nothing under /etc or /run is
# used, so a cluster that this machine may already run is left alone.  The
# daemons run as root (slurmd must, to start jobs as their users) and are
# stopped by the pids they wrote.
#
# Needs root and Debian's munge, slurmctld and slurmd.  When they are
# missing, `run` exits 77 (skip) saying why; when they are there and the
# cluster does not come up, it fails (exit 1) and prints the daemons' logs.
set -u

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

# Prints why a cluster cannot be started here (nothing when it can).
cluster_missing() {
	[ "$(id -u)" -eq 0 ] || { echo "not root (slurmd must run as root)"; return; }
	for b in munged slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
		command -v "$b" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/$b" ] || { echo "$b not installed (scripts/deps.sh)"; return; }
	done
	command -v python3 >/dev/null 2>&1 || echo "python3 not installed"
}

# Two free TCP ports on loopback (bound, read back, released).
free_ports() {
	python3 - <<'EOF'
import socket
ss = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ss.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ss))
EOF
}

print_logs() {
	for f in "$1"/munged.log "$1"/slurmctld.log "$1"/slurmd.log "$1"/slurm.conf; do
		[ -f "$f" ] || continue
		echo "==== $f" >&2
		tail -n 60 "$f" >&2
	done
}

cluster_start() {
	dir=$1
	PATH=$PATH:/usr/sbin:/sbin
	mkdir -p "$dir" || die "cannot create $dir"
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir"
	mkdir -p "$dir/munge" "$dir/run" "$dir/state" "$dir/spool" "$dir/jobs"
	# The key is root's alone; the socket is every user's (run/).
	chmod 700 "$dir/munge" "$dir/state"
	chmod 755 "$dir/run"
	# Job output of the tests' non-root owners goes here too.
	chmod 1777 "$dir/jobs"

	# munge: a key of the run's own, 1 KiB of random bytes, 0400.
	dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null ||
		die "cannot write the munge key"
	chmod 400 "$dir/munge/munge.key"
	munged --force --socket="$dir/run/munge.socket" --key-file="$dir/munge/munge.key" \
		--pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
		--seed-file="$dir/munge/munged.seed" >>"$dir/munged.log" 2>&1 ||
		{ print_logs "$dir"; die "munged did not start"; }

	host=$(hostname -s)
	cpus=$(nproc)
	mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
	# Leave a little to the machine; slurmd refuses a node that claims
	# more memory than it has.
	mem_mb=$((mem_kb / 1024 * 9 / 10))
	set -- $(free_ports)
	ctld_port=$1
	slurmd_port=$2
	# Cgroup tracking needs a delegated cgroup v2 tree and cgroup.conf:
	# proctrack/linuxproc (the process tree under slurmstepd) works
	# everywhere, containers included.
	cat >"$dir/slurm.conf" <<EOF
# Written by tests/slurm/cluster.sh for one test run.
ClusterName=coopdtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/run/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# No slurmdbd: a finished job is kept by slurmctld (scontrol show job) for
# MinJobAge seconds, which is where coopd reads final states from.
MinJobAge=3600
MaxJobCount=100000
KillWait=30
InactiveLimit=0
SlurmdTimeout=300
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:50
PartitionName=other Nodes=$host Default=NO MaxTime=INFINITE State=UP
EOF
	export SLURM_CONF="$dir/slurm.conf"
	printf 'SLURM_CONF=%s\nexport SLURM_CONF\n' "$SLURM_CONF" >"$dir/env"

	slurmctld -i -f "$SLURM_CONF" >>"$dir/slurmctld.out" 2>&1 ||
		{ print_logs "$dir"; die "slurmctld did not start"; }
	slurmd -N "$host" -f "$SLURM_CONF" >>"$dir/slurmd.out" 2>&1 ||
		{ print_logs "$dir"; die "slurmd did not start"; }

	# Wait (bounded, polling Slurm's own answer) until the node is idle.
	i=0
	while :; do
		state=$(sinfo -h -n "$host" -o %t 2>/dev/null | head -n 1)
		case $state in
		idle) break ;;
		esac
		i=$((i + 1))
		if [ "$i" -gt 600 ]; then
			print_logs "$dir"
			die "the node did not become idle (sinfo says '$state')"
		fi
		sleep 0.1
	done
	echo "cluster.sh: Slurm up in $dir (node $host, $cpus CPUs, $mem_mb MB," \
		"ports $ctld_port/$slurmd_port)" >&2
}

# Stops one daemon by its pid file: TERM, then waits (bounded) for it to go.
stop_pid() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

cluster_stop() {
	dir=$1
	# Jobs still running are ended by slurmd's stop only if asked first.
	if [ -f "$dir/slurm.conf" ]; then
		SLURM_CONF="$dir/slurm.conf" scancel --user=root --full --signal=KILL \
			>/dev/null 2>&1 || true
	fi
	stop_pid "$dir/slurmd.pid"
	stop_pid "$dir/slurmctld.pid"
	stop_pid "$dir/munged.pid"
}

case ${1:-} in
start)
	[ $# -eq 2 ] || die "usage: cluster.sh start DIR"
	why=$(cluster_missing)
	[ -z "$why" ] || die "cannot start a Slurm cluster: $why"
	cluster_start "$2"
	;;
stop)
	[ $# -eq 2 ] || die "usage: cluster.sh stop DIR"
	cluster_stop "$2"
	;;
run)
	shift
	[ $# -ge 1 ] || die "usage: cluster.sh run CMD [ARG...]"
	why=$(cluster_missing)
	if [ -n "$why" ]; then
		echo "SKIP: Slurm tests: $why"
		exit 77
	fi
	dir=$(mktemp -d "${TMPDIR:-/tmp}/coopd-slurm.XXXXXX") || die "mktemp"
	trap 'cluster_stop "$dir"' EXIT
	trap 'exit 1' INT TERM
	(cluster_start "$dir") || { cluster_stop "$dir"; exit 1; }
	. "$dir/env"
	COOPD_TEST_SLURM_DIR=$dir
	export COOPD_TEST_SLURM_DIR
	rc=0
	"$@" || rc=$?
	cluster_stop "$dir"
	trap - EXIT
	if [ "$rc" -eq 0 ] && [ "${TEST_KEEP:-0}" != 1 ]; then
		rm -rf "$dir"
	else
		echo "cluster.sh: cluster files kept in $dir" >&2
	fi
	exit "$rc"
	;;
*)
	die "usage: cluster.sh run CMD... | start DIR | stop DIR"
	;;
esac
