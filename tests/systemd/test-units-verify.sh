#!/bin/sh
# systemd-analyze verify on the generated units: every key known to this
# systemd, the socket unit found by the service, the executables present.
# Works without systemd as PID 1.  Any warning fails the test.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}

command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: systemd-analyze not found"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/coopd-units.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

svc=$top_builddir/systemd/coopd.service
[ -f "$svc" ] || fail "$svc not generated"
grep -q '@[a-z]*@' "$svc" && fail "unsubstituted variable in $svc: $(grep '@[a-z]*@' "$svc")"
exec_start=$(sed -n 's/^ExecStart=//p' "$svc")
case $exec_start in
/*/coopd\ --config\ /*/coopd/coopd.conf) ;;
*) fail "ExecStart is not an absolute coopd with its config: $exec_start" ;;
esac

# The unit names the installed path; verify checks that the executable
# exists, so point it at the one just built.
sed "s|^ExecStart=[^ ]*|ExecStart=$top_builddir/coopd|" "$svc" >"$tmp/coopd.service"
cp "$top_srcdir/systemd/coopd.socket" "$tmp/coopd.socket"
(cd "$tmp" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
	"$tmp/coopd.socket" "$tmp/coopd.service") >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ "$rc" = 0 ] || fail "systemd-analyze verify exited $rc"
[ -s "$tmp/out" ] && fail "systemd-analyze verify printed warnings"

# The keys the spec asks for, as systemd parsed them.
for want in Type=notify NotifyAccess=main Delegate=yes KillMode=mixed StateDirectory=coopd \
	RuntimeDirectory=coopd; do
	grep -qx "$want" "$svc" || fail "coopd.service lacks $want"
done
for want in ListenStream=/run/coopd/coopd.sock SocketMode=0660 SocketGroup=coopd; do
	grep -qx "$want" "$tmp/coopd.socket" || fail "coopd.socket lacks $want"
done
grep -qx 'g coopd - -' "$top_srcdir/systemd/sysusers.d/coopd.conf" || fail "no sysusers entry for group coopd"

# The sample /etc/coopd/coopd.conf, every setting uncommented (but the
# metrics port, which may be taken), is a config coopd starts with.
sed -n 's/^#\([a-z_]* = \)/\1/p' "$top_srcdir/systemd/coopd.conf" | grep -v '^metrics_listen' >"$tmp/all.conf"
[ "$(wc -l <"$tmp/all.conf")" -ge 19 ] || fail "sample config lists too few keys: $(cat "$tmp/all.conf")"
: >"$tmp/coopd.log"
"$top_builddir/coopd" --config "$tmp/all.conf" --socket "$tmp/s" --state-dir "$tmp/state" \
	>"$tmp/coopd.log" 2>&1 &
pid=$!
i=0
until grep -q "ready" "$tmp/coopd.log"; do
	kill -0 "$pid" 2>/dev/null || fail "coopd refused the sample config: $(cat "$tmp/coopd.log")"
	i=$((i + 1)); [ "$i" -lt 2000 ] || fail "coopd did not start with the sample config"
	sleep 0.01
done
kill -TERM "$pid"; wait "$pid" || fail "coopd did not stop cleanly"

# Every config key that coopd --help lists is in coopd.conf(5) and in the
# sample config.
"$top_builddir/coopd" --help | python3 -c '
import re, sys
keys, on = [], False
for line in sys.stdin:
    if line.startswith("Config file keys"):
        on = True
    elif on and not line.strip():
        break
    elif on:
        m = re.match(r"  ([a-z_]+(?:, [a-z_]+)*)", line)
        if m:
            keys += m.group(1).split(", ")
man = open(sys.argv[1]).read()
sample = open(sys.argv[2]).read()
assert len(keys) >= 20, keys
for k in keys:
    assert re.search(r"^\.B[IR]? %s\b" % re.escape(k), man, re.M), "coopd.conf.5 lacks %s" % k
    assert re.search(r"^#\s?%s\b" % re.escape(k), sample, re.M), "sample coopd.conf lacks %s" % k
print("%d keys documented" % len(keys))
' "$top_srcdir/daemon/coopd.conf.5" "$top_srcdir/systemd/coopd.conf" || fail "config keys not documented"
echo "PASS: units verified"
