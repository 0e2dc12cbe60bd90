#!/bin/sh
# A real Prometheus scrapes coopd: coopd serves /metrics on a loopback port
# (--metrics-listen), Debian's `prometheus` server scrapes it every second,
# and the figures are read back through Prometheus' HTTP API: the target is
# "up", coopd_build_info carries coopd's version, and the counters of the
# graphs this test submits (and cancels) reach their true values.  The
# Prometheus server is always stopped on exit, whatever happened.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

# CI installs Debian's prometheus package (scripts/deps.sh): a missing
# server is a broken setup, not a reason to skip.
command -v prometheus >/dev/null 2>&1 ||
	fail "prometheus not found (Debian package 'prometheus'; scripts/deps.sh installs it)"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
MPORT=$(free_port)
PPORT=$(free_port)
PROM_PID=
PROM_LOG=$COOPD_TMP/prometheus.log
export MPORT PPORT PROM_LOG

# Stop Prometheus before lib-coopd.sh's cleanup runs (which keeps the logs
# in $COOPD_TMP on failure), preserving the exit status it reads.
prom_stop() {
	if [ -n "$PROM_PID" ]; then
		kill -TERM "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
		PROM_PID=
	fi
}
trap '_rc=$?; prom_stop; if [ "$_rc" -ne 0 ] && [ -f "$PROM_LOG" ]; then
	echo "---- prometheus log (tail) ----" >&2; tail -n 30 "$PROM_LOG" >&2; fi
	(exit "$_rc"); _coopd_cleanup' EXIT

coopd_start --metrics-listen "127.0.0.1:$MPORT"

cat >"$COOPD_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: coopd
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
promtool check config "$COOPD_TMP/prometheus.yml" >/dev/null ||
	fail "promtool rejects the test's prometheus.yml"
prometheus --config.file="$COOPD_TMP/prometheus.yml" \
	--storage.tsdb.path="$COOPD_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" \
	--web.console.templates="$COOPD_TMP" --web.console.libraries="$COOPD_TMP" \
	>"$PROM_LOG" 2>&1 &
PROM_PID=$!
export PROM_PID

VERSION=$("$COOPD_BIN" --version | head -n 1 | awk '{ print $2 }')
export VERSION

coopd_py <<'PY' || fail "prometheus"
import urllib.parse, urllib.request, urllib.error

PROM = "http://127.0.0.1:%s" % os.environ["PPORT"]
MPORT = os.environ["MPORT"]
PATIENCE = 120 * SLOW  # seconds: Prometheus' start, then a few 1 s scrapes

def get(path):
    with urllib.request.urlopen(PROM + path, timeout=30) as r:
        return r.status, r.read().decode()

def alive():
    try:
        os.kill(int(os.environ["PROM_PID"]), 0)
    except ProcessLookupError:
        raise AssertionError("prometheus exited; see its log")

def until(what, probe):
    """Polls probe() (None: not yet) until it answers; a bounded wait for
    Prometheus to catch up, never a timing assertion."""
    deadline = time.monotonic() + PATIENCE
    last = None
    while time.monotonic() < deadline:
        alive()
        try:
            last = probe()
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            last = None
        if last is not None:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)

def query(q):
    """The instant vector of PromQL q: [(labels, value)]."""
    st, body = get("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    ans = json.loads(body)
    expect(st == 200 and ans["status"] == "success", "query " + q, ans)
    expect(ans["data"]["resultType"] == "vector", "a vector", ans)
    return [(r["metric"], float(r["value"][1])) for r in ans["data"]["result"]]

def reaches(q, want):
    """Waits until q has one sample >= want; returns it."""
    def probe():
        res = query(q)
        return res[0] if len(res) == 1 and res[0][1] >= want else None
    return until("%s >= %s" % (q, want), probe)

# 1. ready
until("/-/ready", lambda: get("/-/ready")[0] == 200 or None)

# 2. the target is scraped and healthy
def target_up():
    ans = json.loads(get("/api/v1/targets")[1])
    ts = [t for t in ans["data"]["activeTargets"] if t["scrapeUrl"].endswith(":%s/metrics" % MPORT)]
    return ts[0] if ts and ts[0]["health"] == "up" else None
t = until("target health up", target_up)
expect(t["labels"]["job"] == "coopd" and t["lastError"] == "", "target", t)
labels, up = reaches('up{job="coopd"}', 1)
expect(up == 1, "up == 1", labels)

# 3. build info with coopd's version
labels, val = reaches('coopd_build_info{job="coopd"}', 1)
expect(val == 1 and labels.get("version") == os.environ["VERSION"], "build_info", labels,
       os.environ["VERSION"])

# 4. counters of what this test does reach their true values
N = 3
for i in range(N):
    st = run({"name": "prom-%d" % i, "nodes": [{"id": "n", "kind": "task", "fn": "noop"}]})
    expect(st["state"] == "succeeded", "graph ran", st)
gid = submit({"nodes": [{"id": "s", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
labels, val = reaches('coopd_graphs_active{job="coopd"}', 1)
expect(val == 1, "one graph active, seen through Prometheus", labels, val)
rpc("cancel", {"id": gid})
expect(wait(gid)["state"] == "cancelled", "cancelled")
labels, val = reaches('coopd_graphs_submitted_total{job="coopd"}', N + 1)
expect(val == N + 1, "graphs submitted, seen through Prometheus", labels, val)
labels, val = reaches('coopd_cancel_requests_total{job="coopd",reason="client"}', 1)
expect(val == 1, "client cancel request", labels, val)
labels, val = reaches('coopd_tasks_finished_total{job="coopd",kind="task",state="succeeded"}', N)
expect(val == N, "tasks succeeded", labels, val)
# the histogram is usable as one: a quantile over its buckets
labels, val = reaches('coopd_cancel_latency_seconds_count{job="coopd"}', 1)
expect(val == 1, "one cancellation observed", labels, val)
res = query('histogram_quantile(0.5, coopd_cancel_latency_seconds_bucket{job="coopd"})')
expect(len(res) == 1 and res[0][1] > 0, "histogram_quantile over coopd's buckets", res)
ping_ok()
PY
prom_stop
coopd_stop
coopd_pass
