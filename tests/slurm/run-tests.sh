#!/bin/sh
# run-tests.sh -- runs the Slurm tests one by one (inside cluster.sh run):
#   run-tests.sh TEST...
# Each test's output goes to $top_builddir/tests/slurm/NAME.log and the
# verdict (PASS, FAIL, SKIP) is printed, and written to NAME.trs the way
# automake's harness writes it, so that scripts/test-totals.py counts these
# tests too; a failed test's log is printed whole.  Exits 1 if any test failed.  (automake's harness only knows the
# tests of `make check`; these need the cluster that `make check-slurm`
# starts, so they are run here instead.)
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
export top_builddir top_srcdir
mkdir -p "$top_builddir/tests/slurm"
pass=0 failed=0 skipped=0
for t in "$@"; do
	name=$(basename "$t" .sh)
	log=$top_builddir/tests/slurm/$name.log
	rc=0
	"$top_srcdir/$t" >"$log" 2>&1 </dev/null || rc=$?
	case $rc in
	0) verdict=PASS; echo "PASS: $t"; pass=$((pass + 1)) ;;
	77) verdict=SKIP; echo "SKIP: $t ($(grep -m1 '^SKIP' "$log"))"; skipped=$((skipped + 1)) ;;
	*)
		verdict=FAIL
		echo "FAIL: $t (exit $rc; log $log)"
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
		;;
	esac
	printf ':test-result: %s\n' "$verdict" >"$top_builddir/tests/slurm/$name.trs"
done
echo "check-slurm: $pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
