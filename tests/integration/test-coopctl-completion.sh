#!/bin/sh
# test-coopctl-completion.sh -- shell completion for coopctl (issue 18):
# bash (the function called with COMP_WORDS set, as bash does on TAB) and
# zsh (the completion function run with zsh's completion builtins replaced
# by stand-ins that print what would be offered): commands, options, option
# values, graph ids from `coopctl list` through --socket, node paths, the
# command after `run --`; `make install` puts both files in place; and the
# "did you mean" of a mistyped command.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

T=$COOPD_TMP
BASH_COMP=$top_srcdir/client/completion/coopctl
ZSH_COMP=$top_srcdir/client/completion/_coopctl
command -v bash >/dev/null 2>&1 || skip "bash not installed"
coopd_start

id=$(printf '{"name":"comp","nodes":[{"id":"a","kind":"task","fn":"noop"},{"id":"s","kind":"scope","nodes":[{"id":"x","kind":"task","fn":"noop"}]}]}' |
	coopd_ctl submit -) || fail "submit"
coopd_ctl wait "$id" >/dev/null || fail "wait"

# comp WORDS...: the candidates bash offers for the last word, one per line.
comp() {
	PATH=$(dirname "$COOPCTL_BIN"):$PATH bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_coopctl
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort -u' comp "$BASH_COMP" "$@"
}
# has OUTPUT WORD...: every WORD is a candidate.
has() {
	out=$1
	shift
	for w in "$@"; do
		printf '%s\n' "$out" | grep -qx -- "$w" || fail "completion lacks '$w': $(printf '%s' "$out" | tr '\n' ' ')"
	done
}

out=$(comp coopctl "")
has "$out" submit run status list wait cancel logs watch stats metrics version ping help
# Every command of --help is offered (none forgotten when one is added).
for c in $("$COOPCTL_BIN" --help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p'); do has "$out" "$c"; done
out=$(comp coopctl st)
[ "$(printf '%s\n' "$out" | tr '\n' ' ')" = "stats status " ] || fail "'st' completes to: $out"
has "$(comp coopctl --)" --socket --json --help --version
has "$(comp coopctl status --)" --summary --all --format --help --json
has "$(comp coopctl cancel "$id" --)" --grace --reason --wait
[ "$(comp coopctl status --format "" | tr '\n' ' ')" = "dot tree " ] || fail "--format values: $(comp coopctl status --format "")"
# Graph ids and node paths, through the socket on the line.
has "$(comp coopctl --socket "$COOPD_SOCK" status "")" "$id"
has "$(comp coopctl --socket "$COOPD_SOCK" wait "${id%????}")" "$id"
out=$(comp coopctl --socket "$COOPD_SOCK" cancel "$id" "")
has "$out" a s s/x
printf '%s\n' "$out" | grep -qx "$id" && fail "cancel ID offers ids again: $out"
out=$(comp coopctl --socket "$COOPD_SOCK" logs "$id" s/)
[ "$out" = "s/x" ] || fail "logs ID s/ completes to: $out"
# After run --: commands from PATH, not coopctl's.
has "$(comp coopctl run -- uname)" uname
out=$(comp coopctl run -- sub)
printf '%s\n' "$out" | grep -qx submit && fail "run -- offers coopctl commands: $out"
# submit: files.
: >"$T/graph-one.json"
has "$(comp coopctl submit "$T/graph-o")" "$T/graph-one.json"
# Option values are not completed as commands or ids.
[ -z "$(comp coopctl --socket "$COOPD_SOCK" cancel "$id" --reason "")" ] || fail "--reason value completed"

# zsh: the same function logic, with zsh's completion builtins as stand-ins.
if command -v zsh >/dev/null 2>&1; then
	zcomp() {
		PATH=$(dirname "$COOPCTL_BIN"):$PATH zsh -f -c '
			compadd() { local a; while [[ $1 == -* ]]; do
				if [[ $1 == -a ]]; then shift; for a in ${(P)1}; print -r -- $a; shift; continue; fi
				[[ $1 == -- ]] && { shift; break; }; shift; done; print -rl -- "$@"; }
			_describe() { local a; for a in ${(P)${@[-1]}}; print -r -- ${a%%:*}; }
			_files() { print -r -- "<files>"; }
			_command_names() { print -r -- "<commands>"; }
			f=$1; shift
			words=("$@"); CURRENT=$#; PREFIX=${words[-1]}
			source $f' zcomp "$ZSH_COMP" "$@" | sort -u
	}
	out=$(zcomp coopctl "")
	has "$out" submit run status list wait cancel logs watch stats metrics version ping help
	has "$(zcomp coopctl status --)" --summary --all --format
	[ "$(zcomp coopctl status --format "" | tr '\n' ' ')" = "dot tree " ] || fail "zsh --format values"
	has "$(zcomp coopctl --socket "$COOPD_SOCK" status "")" "$id"
	has "$(zcomp coopctl --socket "$COOPD_SOCK" cancel "$id" "")" a s s/x
	has "$(zcomp coopctl run -- "")" "<commands>"
	has "$(zcomp coopctl submit "")" "<files>"
else
	echo "note: zsh is not installed; its completion was not exercised"
fi

# make install puts both files where the shells look.
if [ -f "$top_builddir/Makefile" ]; then
	make -s -C "$top_builddir" install-dist_bashcompletionDATA install-dist_zshcompletionDATA \
		DESTDIR="$T/dest" >"$T/install.log" 2>&1 || fail "make install of the completions: $(cat "$T/install.log")"
	find "$T/dest" -path '*/bash-completion/completions/coopctl' | grep -q . \
		|| fail "bash completion not installed: $(find "$T/dest" -type f)"
	find "$T/dest" -path '*/zsh/vendor-completions/_coopctl' | grep -q . \
		|| fail "zsh completion not installed: $(find "$T/dest" -type f)"
fi

# "Did you mean": the nearest command, exit 2; nothing for gibberish.
coopd_ctl stauts "$id" 2>"$T/err"
[ $? -eq 2 ] || fail "a mistyped command did not exit 2"
grep -q "unknown command 'stauts'. Did you mean 'status'?" "$T/err" || fail "stauts: $(cat "$T/err")"
coopd_ctl sumbit x 2>"$T/err"
grep -q "Did you mean 'submit'?" "$T/err" || fail "sumbit: $(cat "$T/err")"
coopd_ctl qqqq 2>"$T/err"
[ $? -eq 2 ] || fail "qqqq did not exit 2"
grep -q "Did you mean" "$T/err" && fail "qqqq got a suggestion: $(cat "$T/err")"

coopd_pass
