#!/bin/bash
# Builds coopd and runs every test: the whole `make check` of a normal
# build and its `make check-systemd` (coopd under systemd in a container),
# the whole `make check` again under AddressSanitizer+UBSan (coopd
# included), the unit suites under ThreadSanitizer (each in its own build
# directory), then a short fuzz run (counted as one test).
# Ends with the totals on a line of their own: "N passed, N failed".
#
#   bash scripts/test-all.sh
#
# Build trees go to build-ci/, build-ci-asan/ and build-ci-tsan/.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

bash scripts/deps.sh --if-missing || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
status=0
logdirs=()

step() { printf '\n=== %s\n' "$*"; }

configure_in() { # dir, configure args...
	local dir=$1; shift
	mkdir -p "$top/$dir"
	(cd "$top/$dir" && "$top/configure" -q "$@" >configure.out 2>&1) ||
		{ cat "$top/$dir/configure.out"; return 1; }
}

# One format for the tree (.clang-format): unformatted C fails the run,
# counted as one test.  Fix with: clang-format -i $(git ls-files '*.c' '*.h')
step "format: clang-format --dry-run --Werror on every C file"
extra_passed=0 extra_failed=0
if command -v clang-format >/dev/null && command -v git >/dev/null && [ -d .git ]; then
	if git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run --Werror; then
		extra_passed=$((extra_passed + 1))
	else
		echo "format: the files above differ from .clang-format"
		extra_failed=$((extra_failed + 1)); status=1
	fi
else
	echo "format: no clang-format or no git checkout"; extra_failed=$((extra_failed + 1)); status=1
fi

step "autoreconf"
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }

step "normal build: make check (unit and integration tests)"
if configure_in build-ci && make -C build-ci -j"$jobs" >/dev/null; then
	make -C build-ci -j"$jobs" check || status=1
else
	echo "build failed"; status=1
fi
logdirs+=(build-ci)

# Skips (with its reason in its log) when not root or without debootstrap.
step "systemd: coopd under a real systemd in a container (make check-systemd)"
if [ -f build-ci/coopd ]; then
	make -C build-ci check-systemd || status=1
else
	echo "no coopd built"; status=1
fi

# Skips (with its reason in its log) when not root or without Slurm.
if make -s -C build-ci -n check-slurm >/dev/null 2>&1; then
	step "Slurm: exec nodes on a one-node cluster started for the run (make check-slurm)"
	make -C build-ci check-slurm || status=1
fi

unit_tests() { make -s -C "$1" print-unit-tests; }

step "AddressSanitizer + UBSan: every test again (coopd itself runs under ASan)"
if configure_in build-ci-asan --enable-asan && make -C build-ci-asan -j"$jobs" >/dev/null; then
	make -C build-ci-asan -j"$jobs" check || status=1
else
	echo "asan build failed"; status=1
fi
logdirs+=(build-ci-asan)

step "ThreadSanitizer: unit suites"
if configure_in build-ci-tsan --enable-tsan && make -C build-ci-tsan -j"$jobs" >/dev/null; then
	# TSan's report must fail the test, also inside Check's forked children.
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" \
		make -C build-ci-tsan -j"$jobs" check TESTS="$(unit_tests build-ci-tsan)" || status=1
else
	echo "tsan build failed"; status=1
fi
logdirs+=(build-ci-tsan)

if make -s -C build-ci -n fuzz-short >/dev/null 2>&1; then
	step "fuzzing (short run)"
	if make -C build-ci fuzz-short; then
		extra_passed=$((extra_passed + 1))
	else
		extra_failed=$((extra_failed + 1))
		status=1
	fi
fi

step "totals"
python3 scripts/test-totals.py --extra-passed "$extra_passed" --extra-failed "$extra_failed" \
	"${logdirs[@]}"
exit $status
