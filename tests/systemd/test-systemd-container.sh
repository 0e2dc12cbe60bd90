#!/bin/bash
# The real thing: coopd under a real systemd (`make check-systemd`).
#
# Boots systemd in a container (systemd-nspawn -b, no systemd needed on the
# host), installs this build into it with `make install DESTDIR=`, and
# checks, each reported on its own line: the boot; `systemctl start coopd`
# returning once coopd is READY, the unit active (running) with a STATUS;
# coopctl as root, as a member of group coopd and (refused) as a user
# outside it; `systemctl reload`; the watchdog; an HTTP /metrics scrape by
# the host's Prometheus; `systemctl stop` with a job running (cancelled with
# reason shutdown, nothing left in the cgroup, inactive not failed); socket
# activation by the first client (`coopctl ping`);
# journal priorities.  Ends with
# "Checks: N, Failures: F, Errors: E" (checks that could not run count as
# errors), which scripts/test-totals.py counts check by check.
#
# The root file system (debootstrap --variant=minbase of bookworm from the
# mirror the host's apt sources name) is cached in $COOPD_TEST_ROOT_CACHE
# (default /var/cache/coopd-test-root), rebuilt when the package list
# changes; each run works on an overlay of it, so the cache stays pristine.
#
# Needs root, debootstrap, systemd-nspawn, nsenter; skips (77) otherwise.
# Environment: top_builddir (set by make), MAKE, COOPD_TEST_KEEP=1 keeps the
# temporary directory, COOPD_TEST_ROOT_CACHE.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
MAKE=${MAKE:-make}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn nsenter mount flock python3; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found"
done
[ "${SANITIZED:-no}" = yes ] && skip "sanitizer build: its coopd needs the sanitizer runtime in the container"

SUITE=bookworm
# Everything coopd and coopctl link, and what the checks run inside
# (procps: kill for ExecReload; passwd, util-linux: useradd, runuser).
PACKAGES=systemd,systemd-sysv,dbus,libev4,libjson-c5,libsystemd0,libmicrohttpd12,libsqlite3-0,sqlite3,procps,passwd,util-linux
# Bump when the preparation of the root below changes.
ROOT_RECIPE=1
CACHE=${COOPD_TEST_ROOT_CACHE:-/var/cache/coopd-test-root}

# ---- results --------------------------------------------------------------
CHECKS=(boot start status-line root-submit group-user outsider-refused reload reload-bad-config
	watchdog prometheus-scrape job-cgroup stop-cancels-shutdown stop-leaves-nothing stop-inactive
	socket-activation journal-priorities poweroff)
declare -A RESULT=()
pass() { RESULT[$1]=pass; echo "PASS: $1${2:+: $2}"; }
failc() { RESULT[$1]=fail; echo "FAIL: $1: $2"; }
# check NAME COMMAND...: PASS if the command succeeds, else FAIL with its output
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		failc "$name" "$out"
	fi
}
summary() {
	local n=0 f=0 e=0 c
	for c in "${CHECKS[@]}"; do
		n=$((n + 1))
		case ${RESULT[$c]:-} in
		pass) ;;
		fail) f=$((f + 1)) ;;
		*) e=$((e + 1)); echo "ERROR: $c: not run" ;;
		esac
	done
	echo "Checks: $n, Failures: $f, Errors: $e"
	[ $((f + e)) = 0 ]
}
log() { printf '%s  %s\n' "$(date -u +%T)" "$*"; }

# ---- the cached root ------------------------------------------------------

# The first Debian mirror of the host's apt sources (one-line .list files and
# deb822 .sources files) that carries $SUITE.
host_mirror() {
	python3 - "$SUITE" <<'PY'
import glob, sys
suite = sys.argv[1]
found = []
def one_line(path):
    for line in open(path, errors="replace"):
        w = line.split("#", 1)[0].split()
        if len(w) >= 3 and w[0] == "deb":
            w = [x for x in w[1:] if not x.startswith("[")]  # [options]
            if len(w) >= 2:
                found.append((w[0], [w[1]]))
def deb822(path):
    for stanza in open(path, errors="replace").read().split("\n\n"):
        f = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                f[key] += " " + line.strip()
            elif ":" in line:
                key, v = line.split(":", 1)
                key = key.strip().lower()
                f[key] = v.strip()
        if "deb" in f.get("types", "").split() and f.get("enabled", "yes") != "no":
            for uri in f.get("uris", "").split():
                found.append((uri, f.get("suites", "").split()))
for p in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        one_line(p)
    except OSError:
        pass
for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    deb822(p)
for uri, suites in found:
    if suite in suites:
        print(uri)
        sys.exit(0)
sys.exit("no apt source for %s in /etc/apt" % suite)
PY
}

# Prints the path of a ready root for this package list, building it first
# when missing (into a temporary directory, renamed when complete).
cached_root() {
	local key root mirror tmp
	key=$(printf '%s\n' "$SUITE" "$PACKAGES" "$ROOT_RECIPE" "$(dpkg --print-architecture)" |
		sha256sum | cut -c1-12)
	root=$CACHE/$SUITE-$key
	if [ -x "$root/lib/systemd/systemd" ]; then
		echo "$root"
		return 0
	fi
	mirror=$(host_mirror) || return 1
	mkdir -p "$CACHE" || return 1
	tmp=$(mktemp -d "$CACHE/.build.XXXXXX") || return 1
	chmod 755 "$tmp" # the container's / (users inside must traverse it)
	log "debootstrap $SUITE from $mirror into $tmp (cached for later runs)" >&2
	if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$mirror" \
		>"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		return 1
	fi
	# A container that boots quickly and quietly: no apt caches, no login
	# prompt on the console, a machine id made at first boot of each run.
	chroot "$tmp" apt-get clean >/dev/null 2>&1
	rm -f "$tmp/etc/machine-id" && : >"$tmp/etc/machine-id"
	ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
	ln -sf /dev/null "$tmp/etc/systemd/system/getty@.service"
	rm -f "$tmp.log"
	# Older roots (another package list) are replaced.
	find "$CACHE" -mindepth 1 -maxdepth 1 -name "$SUITE-*" -exec rm -rf {} +
	mv "$tmp" "$root" || return 1
	echo "$root"
}

if [ "${1:-}" = --print-root ]; then # used to warm the cache by hand
	cached_root
	exit
fi

# ---- the run ----------------------------------------------------------------
START_S=$(date +%s)
mkdir -p "$CACHE" || exit 99
# One run at a time on this machine (the cache, the container's cgroups).
exec 9>"$CACHE/.lock"
flock -w 1800 9 || { echo "another check-systemd run holds $CACHE/.lock"; exit 99; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/coopd-systemd.XXXXXX") || exit 99
CT=$TMP/root
NSPAWN_PID=
PROM_PID=
CPID=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		# SIGTERM makes nspawn ask the container's systemd to power off.
		kill -TERM "$NSPAWN_PID" 2>/dev/null
		for _ in $(seq 300); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	if [ -n "$PROM_PID" ]; then
		kill -TERM "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
	fi
	if mountpoint -q "$CT"; then
		umount "$CT" 2>/dev/null || umount -l "$CT"
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
		echo "---- container console (kept in $TMP) ----"
		tail -n 60 "$TMP/nspawn.log" 2>/dev/null
	elif [ "${COOPD_TEST_KEEP:-0}" != 1 ]; then
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# in_ct CMD...: run CMD inside the container (all its namespaces, its root),
# with a clean environment.
in_ct() {
	nsenter -t "$CPID" -a -r -w env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
# prop UNIT PROPERTY: one property of a unit, as systemctl show has it
prop() { in_ct systemctl show -P "$2" "$1"; }
# coopd_is ACTIVE/SUB: coopd.service is in that state now
coopd_is() { [ "$(prop coopd ActiveState)/$(prop coopd SubState)" = "$1" ]; }

# wait_for SECONDS COMMAND...: until COMMAND succeeds (0) or time is up (1)
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

log "preparing the root file system"
ROOT=$(cached_root) || { echo "cannot build the container root"; exit 99; }
log "root: $ROOT ($(($(date +%s) - START_S)) s)"

mkdir -p "$TMP/upper" "$TMP/work" "$CT" && chmod 755 "$TMP/upper" "$CT"
mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$TMP/upper,workdir=$TMP/work" "$CT" ||
	{ echo "cannot mount an overlay on $CT"; exit 99; }

log "make install DESTDIR=$CT"
if ! "$MAKE" -C "$top_builddir" install DESTDIR="$CT" >"$TMP/install.log" 2>&1; then
	tail -n 30 "$TMP/install.log"
	echo "make install failed"
	exit 99
fi
chroot "$CT" ldconfig
UNIT=$(find "$CT/lib/systemd/system" "$CT/usr/lib/systemd/system" -name coopd.service 2>/dev/null | head -n 1)
[ -n "$UNIT" ] || { echo "coopd.service was not installed"; exit 99; }
CONF=$(sed -n 's/^ExecStart=.* --config \([^ ]*\).*/\1/p' "$UNIT")
COOPCTL=$(sed -n 's|^ExecStart=\([^ ]*\)/sbin/coopd .*|\1/bin/coopctl|p' "$UNIT")
[ -f "$CT$CONF" ] || { echo "config file $CONF not installed"; exit 99; }

log "booting the container"
BOOT_S=$(date +%s)
# A unified cgroup2 tree in the container also on a host with the hybrid
# layout, so that coopd.service's delegated cgroup is a cgroup2 directory.
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -D "$CT" --register=no --keep-unit -b --console=read-only \
	-M "coopd-test-$$" >"$TMP/nspawn.log" 2>&1 &
NSPAWN_PID=$!

# The container's systemd: the descendant of nspawn that is PID 1 in its
# own PID namespace.
find_init() {
	python3 - "$NSPAWN_PID" <<'PY'
import os, sys
root = int(sys.argv[1])
procs = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        st = open("/proc/%s/status" % p).read()
    except OSError:
        continue
    f = dict(l.split(":", 1) for l in st.splitlines() if ":" in l)
    procs[int(p)] = (int(f["PPid"]), f.get("NSpid", "").split())
for pid, (ppid, nspid) in procs.items():
    if len(nspid) > 1 and nspid[-1] == "1":
        q = ppid
        while q > 1 and q in procs and q != root:
            q = procs[q][0]
        if q == root:
            print(pid)
            sys.exit(0)
sys.exit(1)
PY
}
booted() {
	local s
	s=$(in_ct systemctl is-system-running 2>/dev/null)
	[ "$s" = running ] || [ "$s" = degraded ]
}
if wait_for 60 find_init; then
	CPID=$(find_init)
fi
if [ -n "$CPID" ] && wait_for 120 booted; then
	state=$(in_ct systemctl is-system-running)
	if [ "$state" = degraded ]; then
		echo "failed units in the container:"
		in_ct systemctl --failed --no-legend --no-pager
	fi
	pass boot "$state, $(($(date +%s) - BOOT_S)) s after nspawn started"
else
	failc boot "systemd in the container did not reach running: $(in_ct systemctl is-system-running 2>&1)"
	summary
	exit 1
fi

# As the README says: create the group, tell systemd about the new units.
in_ct systemd-sysusers
in_ct systemctl daemon-reload

# ---- start ------------------------------------------------------------------
start_ok() {
	in_ct systemctl start coopd || return 1
	# Type=notify: start returned only after READY=1, so this is already so.
	local st sub
	st=$(prop coopd ActiveState) sub=$(prop coopd SubState)
	[ "$st/$sub" = active/running ] || { echo "after start: $st/$sub"; return 1; }
	in_ct "$COOPCTL" version || { echo "not serving right after start"; return 1; }
}
check start start_ok
status_ok() {
	local text
	text=$(prop coopd StatusText)
	[ -n "$text" ] || { echo "no STATUS"; return 1; }
	in_ct systemctl status coopd --no-pager >"$TMP/status.txt"
	grep -q 'Active: active (running)' "$TMP/status.txt" || { cat "$TMP/status.txt"; return 1; }
	grep -q "Status: \"$text\"" "$TMP/status.txt" || { cat "$TMP/status.txt"; return 1; }
	echo "$text"
}
if out=$(status_ok 2>&1); then pass status-line "$out"; else failc status-line "$out"; fi

# ---- clients ----------------------------------------------------------------
GRAPH='{"name": "hello", "nodes": [
  {"id": "a", "kind": "exec", "argv": ["sh", "-c", "echo hello"]},
  {"id": "b", "kind": "task", "fn": "spin", "args": {"units": 1000}, "after": ["a"]}]}'
root_submit() {
	echo "$GRAPH" | in_ct "$COOPCTL" submit - --wait
}
check root-submit root_submit

in_ct useradd -m -G coopd alice
in_ct useradd -m bob
group_user() {
	local out
	out=$(in_ct runuser -u alice -- "$COOPCTL" run -- id -un) || { echo "$out"; return 1; }
	[ "$out" = alice ] || { echo "job ran as '$out', not alice"; return 1; }
	echo "$GRAPH" | in_ct runuser -u alice -- "$COOPCTL" submit - --wait
}
check group-user group_user
outsider() {
	local out rc=0
	out=$(in_ct runuser -u bob -- "$COOPCTL" version 2>&1) || rc=$?
	[ "$rc" = 3 ] || { echo "bob's coopctl version: exit $rc (want 3): $out"; return 1; }
	echo "$out" | grep -qi 'permission denied' || { echo "no 'permission denied': $out"; return 1; }
}
check outsider-refused outsider

# ---- reload -----------------------------------------------------------------
journal_has() { in_ct journalctl -u coopd --no-pager -o cat | grep -q -- "$1"; }
reloaded_times() {
	[ "$(in_ct journalctl -u coopd --no-pager -o cat | grep -c "configuration reloaded from $CONF")" -ge "$1" ]
}
reload_ok() {
	local pid out
	pid=$(prop coopd MainPID)
	cp "$CT$CONF" "$TMP/good.conf"
	echo "max_nodes = 1" >>"$CT$CONF"
	in_ct systemctl reload coopd || return 1
	wait_for 30 journal_has "configuration reloaded from $CONF" || { echo "no reload in the journal"; return 1; }
	[ "$(prop coopd MainPID)" = "$pid" ] || { echo "MainPID changed"; return 1; }
	wait_for 30 coopd_is active/running || { echo "not running after reload"; return 1; }
	# the new limit is in force: a graph of two nodes is refused
	if out=$(echo "$GRAPH" | in_ct "$COOPCTL" submit - 2>&1); then
		echo "max_nodes = 1 not applied: $out"; return 1
	fi
	echo "$out" | grep -q 'more than 1 nodes' || { echo "unexpected refusal: $out"; return 1; }
	cp "$TMP/good.conf" "$CT$CONF"
	in_ct systemctl reload coopd || return 1
	wait_for 30 reloaded_times 2 || { echo "second reload not in the journal"; return 1; }
	wait_for 30 coopd_is active/running || { echo "not running after the second reload"; return 1; }
	echo "$GRAPH" | in_ct "$COOPCTL" submit - --wait >/dev/null || { echo "limit not lifted by reload"; return 1; }
}
check reload reload_ok
reload_bad() {
	cp "$CT$CONF" "$TMP/good.conf"
	echo "colour = blue" >>"$CT$CONF"
	in_ct systemctl reload coopd || return 1
	wait_for 30 journal_has "keeping the previous settings" || { echo "bad config not reported"; return 1; }
	cp "$TMP/good.conf" "$CT$CONF"
	wait_for 30 coopd_is active/running ||
		{ echo "not active (running) after a bad reload"; return 1; }
	in_ct "$COOPCTL" version
}
check reload-bad-config reload_bad

# ---- watchdog and metrics (one restart) -------------------------------------
MPORT=$(free_port)
PPORT=$(free_port)
mkdir -p "$CT/etc/systemd/system/coopd.service.d"
printf '[Service]\nWatchdogSec=2s\n' >"$CT/etc/systemd/system/coopd.service.d/test-watchdog.conf"
echo "metrics_listen = 127.0.0.1:$MPORT" >>"$CT$CONF"
in_ct systemctl daemon-reload
in_ct systemctl restart coopd
watchdog_ok() {
	local pid t1 t2
	[ "$(prop coopd WatchdogUSec)" = 2s ] || { echo "WatchdogSec not applied: $(prop coopd WatchdogUSec)"; return 1; }
	pid=$(prop coopd MainPID)
	t1=$(prop coopd WatchdogTimestampMonotonic)
	sleep 5 # two and a half watchdog intervals
	t2=$(prop coopd WatchdogTimestampMonotonic)
	[ "$(prop coopd MainPID)" = "$pid" ] || { echo "restarted (MainPID changed)"; return 1; }
	[ "$(prop coopd NRestarts)" = 0 ] || { echo "NRestarts=$(prop coopd NRestarts)"; return 1; }
	[ "$(prop coopd ActiveState)" = active ] || { echo "not active"; return 1; }
	[ "$t2" -gt "$t1" ] || { echo "no keep-alive arrived (WatchdogTimestamp $t1 -> $t2)"; return 1; }
}
check watchdog watchdog_ok

# The host's Prometheus scrapes coopd in the container (same network
# namespace) and answers for it through its query API.
if command -v prometheus >/dev/null 2>&1; then
	cat >"$TMP/prometheus.yml" <<PROM
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: coopd
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
PROM
	prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prometheus" \
		--web.listen-address="127.0.0.1:$PPORT" >"$TMP/prometheus.log" 2>&1 &
	PROM_PID=$!
fi
prometheus_ok() {
	[ -n "$PROM_PID" ] || { echo "prometheus not installed on the host"; return 1; }
	python3 - "$PPORT" <<'PY'
import json, sys, time, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=coopd_build_info" % sys.argv[1]
end = time.monotonic() + 90
last = None
while time.monotonic() < end:
    try:
        ans = json.load(urllib.request.urlopen(url, timeout=5))
        last = ans
        res = ans.get("data", {}).get("result", [])
        if res:
            print("coopd_build_info%s" % json.dumps(res[0]["metric"]))
            sys.exit(0)
    except OSError as e:
        last = e
    time.sleep(0.5)
sys.exit("no coopd_build_info through Prometheus: %r" % (last,))
PY
}
if out=$(prometheus_ok 2>&1); then pass prometheus-scrape "$out"; else
	failc prometheus-scrape "$out $(tail -n 5 "$TMP/prometheus.log" 2>/dev/null)"; fi
if [ -n "$PROM_PID" ]; then kill -TERM "$PROM_PID"; wait "$PROM_PID" 2>/dev/null; PROM_PID=; fi
rm -f "$CT/etc/systemd/system/coopd.service.d/test-watchdog.conf"
in_ct systemctl daemon-reload

# ---- stop with a job running ------------------------------------------------
# The job also starts a process that leaves its process group (setsid).
LONG='{"name": "long", "nodes": [
  {"id": "sleeper", "kind": "exec", "argv": ["sh", "-c", "setsid sleep 3001 & exec sleep 3000"]}]}'
GID=$(echo "$LONG" | in_ct "$COOPCTL" submit -)
sleepers() { in_ct pgrep -f 'sleep 300[01]'; }
both_sleeping() { [ "$(sleepers | wc -l)" = 2 ]; }
wait_for 30 both_sleeping || echo "note: the job's two sleeps did not both start"
CGROUP=/sys/fs/cgroup$(prop coopd ControlGroup)
# Delegate=yes: coopd gives the exec job a cgroup of its own below the
# unit's, and the job's processes (also the one that left with setsid) are
# in it.
job_cgroup() {
	local unit main_cg pid cg n=0
	unit=$(prop coopd ControlGroup)
	main_cg=$(in_ct sed -n 's/^0:://p' "/proc/$(prop coopd MainPID)/cgroup")
	in_ct find "$CGROUP" -mindepth 1 -type d
	for pid in $(sleepers); do
		cg=$(in_ct sed -n 's/^0:://p' "/proc/$pid/cgroup")
		case $cg in
		"$unit"/*) ;;
		*) echo "sleep (pid $pid) in $cg, not below $unit"; return 1 ;;
		esac
		[ "$cg" != "$main_cg" ] || { echo "sleep (pid $pid) shares coopd's cgroup $cg"; return 1; }
		n=$((n + 1))
	done
	[ "$n" = 2 ] || { echo "$n of the job's 2 processes found"; return 1; }
}
check job-cgroup job_cgroup
in_ct systemctl stop coopd
stop_state() {
	local st res
	st=$(prop coopd ActiveState) res=$(prop coopd Result)
	[ "$st" = inactive ] && [ "$res" = success ] || { echo "after stop: $st (Result=$res)"; return 1; }
}
check stop-inactive stop_state
stop_nothing_left() {
	local left
	left=$(sleepers)
	[ -z "$left" ] || { echo "processes left: $left"; return 1; }
	# systemd removes the unit's cgroup once it is empty
	if in_ct test -e "$CGROUP"; then
		left=$(in_ct find "$CGROUP" -name cgroup.procs -exec cat {} +)
		[ -z "$left" ] || { echo "pids in $CGROUP: $left"; return 1; }
	fi
	[ -z "$(prop coopd MainPID | grep -v '^0$')" ]
}
check stop-leaves-nothing stop_nothing_left

# ---- socket activation ------------------------------------------------------
activation() {
	in_ct systemctl stop coopd.socket
	in_ct systemctl start coopd.socket || return 1
	[ "$(prop coopd ActiveState)" = inactive ] || { echo "coopd started with its socket"; return 1; }
	in_ct "$COOPCTL" ping || { echo "the first coopctl ping failed"; return 1; }
	[ "$(prop coopd ActiveState)/$(prop coopd SubState)" = active/running ] ||
		{ echo "the first connection did not start coopd.service: $(prop coopd ActiveState)"; return 1; }
	in_ct journalctl -u coopd --no-pager -o cat | grep -q 'passed by systemd' ||
		{ echo "coopd did not use the socket from systemd"; return 1; }
}
check socket-activation activation

stop_cancelled() {
	local st
	st=$(in_ct "$COOPCTL" --json status "$GID") || { echo "$st"; return 1; }
	python3 -c '
import json, sys
st = json.loads(sys.argv[1])
n = [c for c in st["root"]["nodes"] if c["id"] == "sleeper"][0]
reason = (n.get("cancel") or {}).get("reason")
assert n["state"] == "cancelled" and reason == "shutdown", "sleeper: %s, reason %s" % (n["state"], reason)
print("graph %s: %s, sleeper cancelled (shutdown)" % (st["id"], st["state"]))' "$st"
}
if out=$(stop_cancelled 2>&1); then pass stop-cancels-shutdown "$out"; else failc stop-cancels-shutdown "$out"; fi

# ---- journal ----------------------------------------------------------------
priorities() {
	in_ct journalctl -u coopd --no-pager -o json >"$TMP/journal.json" || return 1
	python3 - "$TMP/journal.json" <<'PY' || return 1
import json, sys
want = {"ready: socket": 6, "keeping the previous settings": 3, "stopping:": 6}
seen = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("SYSLOG_IDENTIFIER") != "coopd":
        continue
    msg = e.get("MESSAGE")
    if isinstance(msg, str) and msg.startswith("<"):
        sys.exit("prefix not parsed by journald: %r" % msg)
    for k in want:
        if isinstance(msg, str) and k in msg:
            seen.setdefault(k, int(e["PRIORITY"]))
for k, p in want.items():
    assert seen.get(k) == p, "%r logged with priority %r, want %d" % (k, seen.get(k), p)
print("priorities:", seen)
PY
	in_ct journalctl -u coopd --no-pager -o cat -p err >"$TMP/err.txt"
	grep -q 'keeping the previous settings' "$TMP/err.txt" || { echo "-p err lacks the error"; return 1; }
	if grep -q 'ready: socket' "$TMP/err.txt"; then echo "-p err shows info lines"; return 1; fi
}
check journal-priorities priorities

# ---- power off --------------------------------------------------------------
# In this shell, not in check's subshell: nspawn is this shell's child.
in_ct systemctl poweroff
for _ in $(seq 600); do
	kill -0 "$NSPAWN_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$NSPAWN_PID" 2>/dev/null; then
	failc poweroff "container still running 60 s after systemctl poweroff"
else
	wait "$NSPAWN_PID"
	rc=$?
	NSPAWN_PID=
	if [ "$rc" = 0 ]; then pass poweroff; else failc poweroff "systemd-nspawn exited $rc"; fi
fi
umount "$CT" || umount -l "$CT"

log "check-systemd took $(($(date +%s) - START_S)) s"
summary
