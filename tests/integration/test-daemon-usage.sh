#!/bin/sh
# coopd's command line (issue 18, defect 8): a mistake is one line saying
# what is wrong and "Try 'coopd --help' for more information.", on stderr,
# exit 2, nothing on stdout, the help not repeated; --help and --version
# still print to stdout and exit 0.
. "$(dirname "$0")/../lib-coopd.sh"

# The binary itself, not the libtool wrapper's name in messages.
bad() {
	want=$1
	shift
	rc=0
	"$COOPD_BIN" "$@" >"$COOPD_TMP/out" 2>"$COOPD_TMP/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "coopd $*: exit $rc, expected 2"
	[ ! -s "$COOPD_TMP/out" ] || fail "coopd $*: wrote to stdout: $(cat "$COOPD_TMP/out")"
	[ "$(wc -l <"$COOPD_TMP/err")" -eq 2 ] ||
		fail "coopd $*: expected 2 lines on stderr, got: $(cat "$COOPD_TMP/err")"
	[ "$(head -n 1 "$COOPD_TMP/err")" = "coopd: $want" ] ||
		fail "coopd $*: first line '$(head -n 1 "$COOPD_TMP/err")', expected 'coopd: $want'"
	[ "$(tail -n 1 "$COOPD_TMP/err")" = "Try 'coopd --help' for more information." ] ||
		fail "coopd $*: second line '$(tail -n 1 "$COOPD_TMP/err")'"
}

bad "unknown option '--bogus'" --bogus
bad "unknown option '--bogus'" --foreground --bogus
bad "unknown option '-x'" -x
bad "unexpected argument 'extra'" --foreground extra
bad "option '--socket' needs a value" --socket
bad "option '--workers' needs a value" --workers
bad "--workers wants a number 1..1024, not '0'" --workers 0
bad "--workers wants a number 1..1024, not 'abc'" -w abc
bad "--blocking-threads wants a number 1..4096, not '99999'" --blocking-threads 99999
bad "--metrics-listen wants ADDR:PORT, not 'nowhere'" --metrics-listen nowhere
bad "option '--state-dir=' needs a non-empty value" --state-dir=

out=$("$COOPD_BIN" --help) || fail "--help failed"
case $out in
"Usage: coopd "*) ;;
*) fail "--help: $out" ;;
esac
[ "$(printf '%s\n' "$out" | wc -l)" -gt 10 ] || fail "--help is too short"
"$COOPD_BIN" --version | grep -q '^coopd ' || fail "--version"
coopd_pass
