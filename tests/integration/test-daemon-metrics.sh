#!/bin/sh
# Metrics: the `metrics` method and HTTP GET /metrics (--metrics-listen)
# serve the same Prometheus text, and the text is well-formed (a small
# stand-in for `promtool check metrics`: HELP/TYPE before samples, valid
# names and labels, counters named _total, cumulative histogram buckets).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT
coopd_start --metrics-listen "127.0.0.1:$PORT"
coopd_py <<'PY' || fail "metrics"
import re, urllib.request, urllib.error
run({"nodes": [{"id": "s", "kind": "task", "fn": "spin", "args": {"units": 1000}},
               {"id": "e", "kind": "exec", "argv": ["true"]}]})
gid = submit({"nodes": [{"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
rpc("cancel", {"id": gid})
wait(gid)

def check(text):
    types, helps, seen = {}, set(), set()
    name_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
    label_re = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"$')
    buckets = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, n, t = line.split()
            expect(n not in types, "one TYPE per family", n)
            expect(t in ("counter", "gauge", "histogram"), "type", line)
            expect(n in helps, "HELP before TYPE", n)
            types[n] = t
            continue
        m = name_re.match(line)
        expect(m, "sample line syntax", line)
        n, labels, value = m.groups()
        float(value)
        fam = re.sub(r'_(bucket|sum|count)$', '', n) if n not in types else n
        expect(fam in types, "sample of a declared family", line)
        if types[fam] == "counter":
            expect(n.endswith("_total"), "counter named _total", n)
            expect(float(value) >= 0, "counter non-negative", line)
        if labels:
            for l in labels[1:-1].split(","):
                expect(label_re.match(l), "label syntax", line)
        expect((n, labels) not in seen, "no duplicate series", line)
        seen.add((n, labels))
        if n.endswith("_bucket"):
            le = re.search(r'le="([^"]*)"', labels).group(1)
            buckets.setdefault(fam, []).append((float("inf") if le == "+Inf" else float(le),
                                                float(value)))
    for fam, bs in buckets.items():
        expect(bs == sorted(bs), "buckets in order", fam, bs)
        vals = [v for _, v in bs]
        expect(vals == sorted(vals), "buckets cumulative", fam, bs)
        count = [l for l in text.splitlines() if l.startswith(fam + "_count ")][0]
        expect(float(count.split()[1]) == vals[-1], "+Inf bucket == count", fam)
    return types

t = rpc("metrics")["text"]
types = check(t)
expect(types["coopd_cancel_latency_seconds"] == "histogram", "histogram type", types)
lat = [l for l in t.splitlines() if l.startswith("coopd_cancel_latency_seconds_count ")][0]
expect(float(lat.split()[1]) >= 1, "a cancellation was measured", lat)
expect(re.search(r'^coopd_tasks_finished_total\{kind="task",state="cancelled"\} [1-9]', t, re.M),
       "finished by kind and state", t)
expect(re.search(r'^coopd_budget_forced_yields_total [1-9]', t, re.M), "forced yields", t)

url = "http://127.0.0.1:%s/metrics" % os.environ["PORT"]
with urllib.request.urlopen(url, timeout=30) as r:
    expect(r.status == 200, "HTTP 200")
    expect(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), "content type",
           r.headers["Content-Type"])
    body = r.read().decode()
check(body)
expect(set(check(body)) == set(types), "HTTP and method serve the same families")
for path, code in (("/", 404), ("/metricsx", 404)):
    try:
        urllib.request.urlopen("http://127.0.0.1:%s%s" % (os.environ["PORT"], path), timeout=30)
        raise AssertionError("expected %d for %s" % (code, path))
    except urllib.error.HTTPError as e:
        expect(e.code == code, "HTTP %d for %s" % (code, path), e.code)
try:
    urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"), timeout=30)
    raise AssertionError("POST accepted")
except urllib.error.HTTPError as e:
    expect(e.code == 405, "POST refused", e.code)
ping_ok()
PY
coopd_stop
# a bad --metrics-listen is refused at start
"$COOPD_BIN" --metrics-listen nonsense >/dev/null 2>&1 && fail "bad --metrics-listen accepted"
coopd_pass
