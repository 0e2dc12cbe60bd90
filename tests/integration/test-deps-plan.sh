#!/bin/sh
# scripts/deps.sh never upgrades what the machine has without saying so
# (issue 18, defect 9).  Planned against copies of this machine's dpkg
# database with --dry-run (apt-get -s underneath): nothing is installed.
#  a. libsystemd-dev missing, libsystemd0 installed at an older version the
#     archive still has: deps.sh picks libsystemd-dev at that version, and
#     apt-get -s confirms that installing it upgrades nothing;
#  b. libsystemd0 at a version the archive does not have: deps.sh lists the
#     upgrades (libsystemd0 among them) and why before installing, and
#     --no-upgrade refuses;
#  c. nothing missing: nothing said, exit 0; a fake database without
#     --dry-run is refused.
. "$(dirname "$0")/../lib-coopd.sh"

DEPS=$top_srcdir/scripts/deps.sh
for cmd in dpkg-query apt-cache apt-get; do
	command -v "$cmd" >/dev/null 2>&1 || skip "$cmd not found (not a Debian system)"
done
V=$(dpkg-query -W -f='${Version}' libsystemd0 2>/dev/null) || skip "libsystemd0 not installed"
[ -n "$V" ] || skip "libsystemd0 not installed"
versions=$(apt-cache madison libsystemd-dev 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
[ -n "$versions" ] || skip "no apt lists for libsystemd-dev (apt-get update)"

# A copy of the dpkg database without libsystemd-dev and with every
# package of this machine's libsystemd0 version at version $2.
fake_db() {
	mkdir -p "$1"
	awk -v RS= -v ORS='\n\n' '!/^Package: libsystemd-dev\n/' /var/lib/dpkg/status |
		awk -v old="$V" -v new="$2" '{ while ((i = index($0, old)) > 0)
			$0 = substr($0, 1, i - 1) new substr($0, i + length(old)); print }' \
		>"$1/status"
	grep -q "^Version: $2\$" "$1/status" || fail "cannot make the fake database"
}
plan() {
	COOPD_DEPS_PACKAGES="libsystemd-dev" COOPD_DEPS_ADMINDIR="$1" sh "$DEPS" --dry-run "$@"
}

# c. This machine: everything in the list is there.
out=$(COOPD_DEPS_PACKAGES="libsystemd0 dpkg" sh "$DEPS" --dry-run 2>&1) ||
	fail "deps.sh --dry-run with nothing missing failed: $out"
[ -z "$out" ] || fail "deps.sh says something with nothing missing: $out"
mkdir -p "$COOPD_TMP/x" && cp /var/lib/dpkg/status "$COOPD_TMP/x/status"
rc=0
COOPD_DEPS_ADMINDIR="$COOPD_TMP/x" sh "$DEPS" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "a fake database without --dry-run: exit $rc, expected 2"

# a. An older version the archive still has.
W=$(printf '%s\n' "$versions" | grep -vxF "$V" | head -n 1)
if [ -n "$W" ]; then
	fake_db "$COOPD_TMP/a" "$W"
	out=$(COOPD_DEPS_PACKAGES="libsystemd-dev" COOPD_DEPS_ADMINDIR="$COOPD_TMP/a" \
		sh "$DEPS" --dry-run 2>&1) || fail "plan a failed: $out"
	printf '%s\n' "$out" | grep -qxF "deps.sh: libsystemd-dev at $W, the version of the installed libsystemd0" ||
		fail "plan a does not pin libsystemd-dev to $W: $out"
	printf '%s\n' "$out" | grep -qxF "deps.sh: would install: libsystemd-dev=$W (dry run: nothing changed)" ||
		fail "plan a: $out"
	! printf '%s\n' "$out" | grep -q upgrade || fail "plan a upgrades: $out"
	# apt itself agrees: the pinned install upgrades nothing; unpinned it would.
	sim=$(apt-get -o Dir::State::status="$COOPD_TMP/a/status" install -s -q \
		--no-install-recommends "libsystemd-dev=$W" 2>&1) || fail "apt-get -s: $sim"
	! printf '%s\n' "$sim" | grep -q '^Inst [^ ]* \[' || fail "pinned install upgrades: $sim"
	sim=$(apt-get -o Dir::State::status="$COOPD_TMP/a/status" install -s -q \
		--no-install-recommends libsystemd-dev 2>&1) || true
	if [ "$(apt-cache policy libsystemd-dev | sed -n 's/^ *Candidate: //p')" != "$W" ]; then
		printf '%s\n' "$sim" | grep -q '^Inst libsystemd0 \[' ||
			fail "the unpinned install was expected to upgrade libsystemd0: $sim"
	fi
else
	echo "note: the archive has no other libsystemd-dev than $V: plan a not run"
fi

# b. A version the archive does not have: the same upstream version, an
# earlier Debian revision (what the machine may have kept from an older
# point release), so every other package's dependencies still hold.
B="${V%%-*}-0~coopdtest"
printf '%s\n' "$versions" | grep -qxF "$B" && fail "the archive has $B?"
fake_db "$COOPD_TMP/b" "$B"
out=$(COOPD_DEPS_PACKAGES="libsystemd-dev" COOPD_DEPS_ADMINDIR="$COOPD_TMP/b" \
	sh "$DEPS" --dry-run 2>&1) || fail "plan b failed: $out"
printf '%s\n' "$out" | grep -qxF "deps.sh: installing libsystemd-dev upgrades packages this machine already has:" ||
	fail "plan b does not announce the upgrades: $out"
printf '%s\n' "$out" | grep -qF "  libsystemd0 $B -> " || fail "plan b does not list libsystemd0: $out"
printf '%s\n' "$out" | grep -qF "deps.sh: why: the archive does not have libsystemd-dev at $B (the version of the installed libsystemd0)" ||
	fail "plan b does not say why: $out"
# The announcement comes before the (dry) install.
[ "$(printf '%s\n' "$out" | tail -n 1)" = "deps.sh: would install: libsystemd-dev (dry run: nothing changed)" ] ||
	fail "plan b: $out"
rc=0
out=$(COOPD_DEPS_PACKAGES="libsystemd-dev" COOPD_DEPS_ADMINDIR="$COOPD_TMP/b" \
	sh "$DEPS" --dry-run --no-upgrade 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "--no-upgrade with upgrades: exit $rc: $out"
printf '%s\n' "$out" | grep -q "not installing (--no-upgrade)" || fail "--no-upgrade: $out"

# The machine itself was not touched.
[ "$(dpkg-query -W -f='${Version}' libsystemd0)" = "$V" ] || fail "libsystemd0 changed!"
coopd_pass
