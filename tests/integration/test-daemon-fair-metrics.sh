#!/bin/sh
# The metrics listener keeps a slot for a new scrape (issue 15 item 5,
# docs/security.md): any local user -- here a throwaway user -- holds 64
# idle TCP connections to --metrics-listen (16 slots, the rest waiting in
# the listen queue) and reopens every one that is closed, for as long as
# the test runs; a real scrape (curl) meanwhile gets the whole exposition,
# every time.  Without a slot kept for it, the scrape waits behind the
# idle connections' 10 s timeouts (30 s or more), longer than
# Prometheus' own scrape_timeout (10 s by default): curl gives up at 20 s,
# twice that, as a hang guard, never a measure of speed.  The duration of
# each scrape is printed.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"
. "$top_srcdir/tests/lib-fairshare.sh"

command -v curl >/dev/null 2>&1 || fail "curl not found (scripts/deps.sh)"
fair_users_setup
MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MPORT
coopd_start --metrics-listen "127.0.0.1:$MPORT"

# The attacker: as FAIR_A, 24 idle connections, each reopened at once when
# coopd closes it, until the file $COOPD_TMP/stop appears.
STOP=$COOPD_TMP/stop
export STOP
(cd / && runuser -u "$FAIR_A" -- python3 -c '
import os, select, socket, sys, time
port, stop = int(os.environ["MPORT"]), os.environ["STOP"]
def opened():
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    return s
socks = [opened() for _ in range(64)]
print("holding", len(socks), flush=True)
reopened = 0
while not os.path.exists(stop):
    r, _, _ = select.select(socks, [], [], 0.05)
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if not d:
            socks[socks.index(s)] = opened()
            s.close()
            reopened += 1
print("reopened", reopened, flush=True)
') >"$COOPD_TMP/attacker.log" 2>&1 &
ATT=$!
i=0
until grep -q holding "$COOPD_TMP/attacker.log"; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "the attacker did not connect: $(cat "$COOPD_TMP/attacker.log")"
	kill -0 $ATT 2>/dev/null || fail "attacker: $(cat "$COOPD_TMP/attacker.log")"
	sleep 0.1
done

n=0
while [ $n -lt 5 ]; do
	n=$((n + 1))
	t0=$(date +%s%N)
	out=$(curl -sS --max-time 20 "http://127.0.0.1:$MPORT/metrics") ||
		{ touch "$STOP"; fail "scrape $n failed while another user holds idle connections"; }
	t1=$(date +%s%N)
	echo "$out" | grep -q '^coopd_build_info' || fail "scrape $n: no coopd_build_info"
	echo "scrape $n with 64 idle connections held: $(( (t1 - t0) / 1000000 )) ms"
	sleep 1
done
touch "$STOP"
wait $ATT
cat "$COOPD_TMP/attacker.log"
coopd_py <<'PY' || fail "evictions counted"
st = rpc("stats")["daemon"]
expect(st["metrics_connections_evicted"] > 0, "idle HTTP connections were shut down", st)
print("idle HTTP connections shut down for scrapes:", st["metrics_connections_evicted"])
PY
coopd_stop
coopd_pass
