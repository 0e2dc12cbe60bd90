#!/bin/sh
# Installs the Debian 12 packages that building and testing coopd need,
# without upgrading what the machine already has behind its owner's back.
#   scripts/deps.sh                 install what is missing (apt-get update first)
#   scripts/deps.sh --if-missing    the same (kept for scripts/demo.sh and test-all.sh)
#   scripts/deps.sh --no-upgrade    install only if no installed package would be upgraded
#   scripts/deps.sh --dry-run       say what would be installed and upgraded; change nothing
#
# Why: a -dev package depends on its library at exactly its own version
# (libsystemd-dev 252.39 needs libsystemd0 = 252.39), so installing the
# archive's newest -dev on a machine whose library is older silently
# upgrades the library and, through it, systemd itself.  So, for every
# package to install, if the machine has a package of the same source
# (libsystemd0 for libsystemd-dev) at a version the archive still has, that
# version is installed.  apt-get then simulates the install; any upgrade of
# an installed package it still needs is listed with the reason before
# anything is done (and refused with --no-upgrade).
#
# COOPD_DEPS_ADMINDIR (tests): plan against another dpkg database (a
# directory holding a `status` file) instead of /var/lib/dpkg; only with
# --dry-run.  COOPD_DEPS_PACKAGES (tests): another package list.
set -eu

dry_run=""
no_upgrade=""
for arg in "$@"; do
	case $arg in
	--if-missing) ;;
	--dry-run) dry_run=1 ;;
	--no-upgrade) no_upgrade=1 ;;
	*)
		echo "deps.sh: unknown option '$arg' (--if-missing, --no-upgrade, --dry-run)" >&2
		exit 2
		;;
	esac
done

PACKAGES=${COOPD_DEPS_PACKAGES:-"build-essential autoconf automake libtool pkg-config
libev-dev libjson-c-dev libsystemd-dev check libmicrohttpd-dev
libtbb-dev valgrind clang libclang-rt-14-dev
systemd python3 procps util-linux psmisc
parallel prometheus debootstrap systemd-container passwd
libsqlite3-dev sqlite3 clang-format tmux graphviz python3-jsonschema zsh
slurm-wlm slurm-client munge"}

admindir=${COOPD_DEPS_ADMINDIR:-/var/lib/dpkg}
if [ "$admindir" != /var/lib/dpkg ] && [ -z "$dry_run" ]; then
	echo "deps.sh: COOPD_DEPS_ADMINDIR is for planning only (--dry-run)" >&2
	exit 2
fi
APT_OPTS="-o Dir::State::status=$admindir/status"

installed() {
	dpkg-query --admindir="$admindir" -W -f='${Status}' "$1" 2>/dev/null |
		grep -q "install ok installed"
}

missing=""
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ] && [ -z "$dry_run" ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
[ -n "$dry_run" ] || apt-get update -q

# "source version" of every installed package: what a missing package of
# the same source should match.
inst_by_source=$(dpkg-query --admindir="$admindir" -W \
	-f='${db:Status-Abbrev} ${source:Package} ${Version} ${Package}\n' 2>/dev/null |
	awk '$1 == "ii" { print $2, $3, $4 }')

# Each missing package, pinned to the installed version of its source when
# the archive has that version.  unmatched: "pkg:version:installed-pkg" for
# those whose matching version the archive no longer has.
args=""
plain=""
unmatched=""
for p in $missing; do
	plain="$plain $p"
	# shellcheck disable=SC2086
	info=$(apt-cache $APT_OPTS show --no-all-versions "$p" 2>/dev/null || true)
	src=$(printf '%s\n' "$info" | sed -n 's/^Source: \([^ ]*\).*/\1/p' | head -n 1)
	[ -n "$src" ] || src=$p
	# The library it needs at exactly its own version ("libsystemd0 (= V)"),
	# when installed; else any installed package built from the same source.
	match=""
	for dep in $(printf '%s\n' "$info" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -n 's/^ *\([^ :|]*\)\(:any\)\{0,1\} *(= [^)]*).*/\1/p'); do
		match=$(printf '%s\n' "$inst_by_source" |
			awk -v s="$src" -v d="$dep" '$1 == s && $3 == d { print $2, $3; exit }')
		[ -z "$match" ] || break
	done
	[ -n "$match" ] ||
		match=$(printf '%s\n' "$inst_by_source" | awk -v s="$src" '$1 == s { print $2, $3; exit }')
	if [ -z "$match" ]; then
		args="$args $p"
		continue
	fi
	ver=${match% *}
	from=${match#* }
	# shellcheck disable=SC2086
	if apt-cache $APT_OPTS madison "$p" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		grep -qxF "$ver"; then
		args="$args $p=$ver"
		echo "deps.sh: $p at $ver, the version of the installed $from"
	else
		args="$args $p"
		unmatched="$unmatched $p:$ver:$from"
	fi
done

# What apt would do: "Inst NAME [OLD] (NEW ...)" is an upgrade of a package
# the machine has.
# shellcheck disable=SC2086 # (APT_OPTS is words)
simulate() { apt-get $APT_OPTS install -s -q --no-install-recommends "$@" 2>&1; }
pin_failed=""
# shellcheck disable=SC2086
if ! plan=$(simulate $args); then
	# The matching versions cannot be installed together (another package
	# to install needs a newer library): fall back to the archive's
	# versions, whose upgrades are then announced below.
	pinned_plan=$plan
	# shellcheck disable=SC2086
	if [ "$args" = "$plain" ] || ! plan=$(simulate $plain); then
		printf '%s\n' "$pinned_plan" >&2
		echo "deps.sh: apt-get cannot install:$plain" >&2
		exit 1
	fi
	pin_failed=1
	echo "deps.sh: the versions matching the installed packages cannot be installed together:$args"
	args=$plain
fi
upgrades=$(printf '%s\n' "$plan" | sed -n 's/^Inst \([^ ]*\) \[\([^]]*\)\] (\([^ ]*\) .*/\1 \2 -> \3/p')

if [ -n "$upgrades" ]; then
	echo "deps.sh: installing$args upgrades packages this machine already has:"
	printf '%s\n' "$upgrades" | sed 's/^/  /'
	if [ -n "$pin_failed" ]; then
		echo "deps.sh: why: a package to install needs newer versions than the installed ones (apt-get install -s$args)"
	elif [ -n "$unmatched" ]; then
		for u in $unmatched; do
			p=${u%%:*}
			rest=${u#*:}
			echo "deps.sh: why: the archive does not have $p at ${rest%:*} (the version of the installed ${rest#*:}), and $p requires its library at its own version"
		done
	else
		echo "deps.sh: why: the packages to install need these newer versions (apt-get install -s$args)"
	fi
	if [ -n "$no_upgrade" ]; then
		echo "deps.sh: not installing (--no-upgrade); upgrade those first, or run without --no-upgrade" >&2
		exit 1
	fi
fi

if [ -n "$dry_run" ]; then
	echo "deps.sh: would install:$args (dry run: nothing changed)"
	exit 0
fi

echo "deps.sh: installing$args"
# Packages such as prometheus start their service from postinst; the tests
# start their own servers on private ports, so keep invoke-rc.d from
# starting anything (unless the machine already has a policy of its own).
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
rc=0
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $args || rc=$?
[ -n "$own_policy" ] && rm -f "$policy"
exit $rc
