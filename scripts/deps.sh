#!/bin/sh
# Installs the Debian 12 packages that building and testing coopd need.
#   scripts/deps.sh            install what is missing (apt-get update first)
#   scripts/deps.sh --if-missing   do nothing when every package is present
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
libev-dev libjson-c-dev libsystemd-dev check libmicrohttpd-dev
libtbb-dev valgrind clang libclang-rt-14-dev
systemd python3 procps util-linux psmisc
parallel prometheus debootstrap systemd-container passwd
libsqlite3-dev sqlite3 clang-format tmux graphviz python3-jsonschema
slurm-wlm slurm-client munge"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Packages such as prometheus start their service from postinst; the tests
# start their own servers on private ports, so keep invoke-rc.d from
# starting anything (unless the machine already has a policy of its own).
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
# shellcheck disable=SC2086
rc=0
apt-get install -y -q --no-install-recommends $missing || rc=$?
[ -n "$own_policy" ] && rm -f "$policy"
exit $rc
