#!/bin/sh
# Installs the Debian 12 packages that building and testing coopd need.
#   scripts/deps.sh            install what is missing (apt-get update first)
#   scripts/deps.sh --if-missing   do nothing when every package is present
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
libev-dev libjson-c-dev libsystemd-dev check libmicrohttpd-dev
libtbb-dev valgrind clang libclang-rt-14-dev
systemd python3 procps util-linux psmisc
parallel"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = "--if-missing" ] && [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
