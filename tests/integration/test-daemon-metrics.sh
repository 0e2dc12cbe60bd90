#!/bin/sh
# Metrics (docs/metrics.md): the `metrics` method, `coopctl metrics` and HTTP
# GET /metrics (--metrics-listen) serve the same Prometheus text; it passes
# the real `promtool check metrics` and our own stricter reading (every
# documented family with HELP and TYPE and its labels, cumulative histogram
# buckets, _count == le="+Inf"); and the figures move as they should:
# forced yields for a spin larger than its budget (and none for a smaller
# one), cancel requests by reason, one latency observation per cancelled
# job, jobs by kind and state, requests by method and code (errors too),
# connections and graphs active.  `coopctl stats` (human and --json) shows
# the same figures, with latency percentiles from the histogram.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

# CI installs Debian's prometheus package (scripts/deps.sh): a missing
# promtool is a broken setup, not a reason to skip.
command -v promtool >/dev/null 2>&1 ||
	fail "promtool not found (Debian package 'prometheus'; scripts/deps.sh installs it)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT COOPCTL_BIN
coopd_start --metrics-listen "127.0.0.1:$PORT"

# coopctl metrics, as an operator would pipe it
coopd_ctl metrics >"$COOPD_TMP/ctl.prom" || fail "coopctl metrics failed"
promtool check metrics <"$COOPD_TMP/ctl.prom" || fail "promtool rejects coopctl metrics output"

coopd_py <<'PY' || fail "metrics"
import re, subprocess, urllib.request, urllib.error

URL = "http://127.0.0.1:%s/metrics" % os.environ["PORT"]
CTL = [os.environ["COOPCTL_BIN"], "--socket", SOCK]
KINDS = ("task", "blocking", "exec")
REASONS = ("client", "deadline", "timeout", "sibling_failed", "race_lost", "shutdown")
FAMILIES = {  # docs/metrics.md: family -> (type, label names)
    "coopd_tasks_spawned_total": ("counter", {"kind"}),
    "coopd_tasks_finished_total": ("counter", {"kind", "state"}),
    "coopd_task_polls_total": ("counter", set()),
    "coopd_budget_forced_yields_total": ("counter", set()),
    "coopd_preempt_short_circuits_total": ("counter", set()),
    "coopd_cancel_requests_total": ("counter", {"reason"}),
    "coopd_cancel_latency_seconds": ("histogram", set()),
    "coopd_workers": ("gauge", set()),
    "coopd_blocking_threads": ("gauge", set()),
    "coopd_run_queue_depth": ("gauge", set()),
    "coopd_blocking_queue_depth": ("gauge", set()),
    "coopd_steals_total": ("counter", set()),
    "coopd_graphs_submitted_total": ("counter", set()),
    "coopd_graphs_active": ("gauge", set()),
    "coopd_connections_active": ("gauge", set()),
    "coopd_answer_bytes": ("gauge", set()),
    "coopd_dispatch_yields_total": ("counter", set()),
    "coopd_answer_share_waits_total": ("counter", set()),
    "coopd_requests_total": ("counter", {"method", "code"}),
    "coopd_build_info": ("gauge", {"version"}),
}

def promtool(text, what):
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    expect(p.returncode == 0, "promtool check metrics accepts " + what, p.stdout.decode())

def check(text):
    """Our own reading of the text; returns {family: type}."""
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
        expect(bs[-1][0] == float("inf"), "last bucket le=+Inf", fam, bs)
        vals = [v for _, v in bs]
        expect(vals == sorted(vals), "buckets cumulative", fam, bs)
        count = [l for l in text.splitlines() if l.startswith(fam + "_count ")][0]
        expect(float(count.split()[1]) == vals[-1], "+Inf bucket == count", fam)
        expect([l for l in text.splitlines() if l.startswith(fam + "_sum ")], "_sum", fam)
    return types

def series(text):
    """[(name, ((label, value), ...), value)] in text order, labels sorted"""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$', line)
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"', m.group(2) or "")))
        out.append((m.group(1), labels, float(m.group(3))))
    return out

def key(name, labels):
    return name + ("{%s}" % ",".join('%s="%s"' % kv for kv in sorted(labels)) if labels else "")

def parse(text):
    """{'name{label="value",...}': value}, labels sorted"""
    return {key(n, ls): x for n, ls, x in series(text)}

def scrape():
    t = rpc("metrics")["text"]
    check(t)
    return parse(t)

def v(m, name, **labels):
    return m.get(key(name, labels.items()), 0.0)

def vsum(m, name, **labels):
    """The sum over every series of name that has these labels."""
    want = ["%s=\"%s\"" % kv for kv in labels.items()]
    return sum(x for k, x in m.items()
               if k.split("{")[0] == name and all(w in k for w in want))

def changed(a, b):
    """The series that differ, for failure messages."""
    return {k: (a.get(k), x) for k, x in b.items() if a.get(k) != x}

def delta(a, b, name, **labels):
    return v(b, name, **labels) - v(a, name, **labels)

def settled(name, want):
    """Scrapes until gauge name reads want (connections that clients have
    closed are dropped by coopd a loop turn later); returns the scrape."""
    for _ in range(1000 * SLOW):
        m = scrape()
        if v(m, name) == want:
            break
        time.sleep(0.01)
    return m

def wait_running(gid, paths):
    for _ in range(1000 * SLOW):
        st = rpc("status", {"id": gid})
        if all(node(st, p)["state"] == "running" for p in paths):
            return st
        time.sleep(0.01)
    raise AssertionError("never all running: %s" % json.dumps(st)[:2000])

# -- 1. every documented family, with HELP and TYPE, its type and its labels
t0 = rpc("metrics")["text"]
promtool(t0, "the metrics method's text")
types = check(t0)
m0 = parse(t0)
s0 = series(t0)
for fam, (typ, labels) in FAMILIES.items():
    expect(re.search(r'^# HELP %s \S' % fam, t0, re.M), "HELP line", fam)
    expect(types.get(fam) == typ, "TYPE %s %s" % (fam, typ), types.get(fam))
    of = [ls for n, ls, _ in s0 if n == fam or (typ == "histogram" and n.startswith(fam + "_"))]
    expect(of, "samples of " + fam)
    for ls in of:
        names = {k for k, _ in ls} - ({"le"} if typ == "histogram" else set())
        expect(names == labels, "labels of " + fam, ls)
expect({dict(ls)["kind"] for n, ls, _ in s0 if n == "coopd_tasks_spawned_total"} == set(KINDS),
       "kind label values", t0)
expect({dict(ls)["reason"] for n, ls, _ in s0 if n == "coopd_cancel_requests_total"} ==
       set(REASONS), "reason label values", t0)
expect(re.search(r'^coopd_build_info\{version="[^"]+"\} 1$', t0, re.M), "build_info", t0)
expect(re.search(r'^coopd_cancel_latency_seconds_bucket\{le="\+Inf"\} ', t0, re.M), "+Inf", t0)
expect(v(m0, "coopd_workers") == 2, "coopd_workers is --workers", t0)
expect(v(settled("coopd_connections_active", 1), "coopd_connections_active") == 1,
       "our connection only")
expect(v(m0, "coopd_graphs_active") == 0, "no graph yet", t0)

# -- 2. jobs by kind and state; a spin larger than its budget yields
a = scrape()
st = run({"budget": 100, "policy": "all_settled", "nodes": [
    {"id": "s", "kind": "task", "fn": "spin", "args": {"units": 1000}},
    {"id": "b", "kind": "blocking", "fn": "noop"},
    {"id": "e", "kind": "exec", "argv": ["true"]},
    {"id": "f", "kind": "task", "fn": "fail", "args": {"message": "on purpose"}, "after": ["b"]},
    {"id": "k", "kind": "task", "fn": "noop", "after": ["f"]}]})
b = scrape()
expect(node(st, "k")["state"] == "skipped", "k skipped", st)
fy = node(st, "s")["stats"]["forced_yields"]
expect(fy >= 1000 // 100 - 1, "the spin node yielded about units/budget times", st)
expect(delta(a, b, "coopd_budget_forced_yields_total") >= fy > 0,
       "forced yields counted", fy, delta(a, b, "coopd_budget_forced_yields_total"))
expect(delta(a, b, "coopd_task_polls_total") > fy, "polls counted", changed(a, b))
for kind, n in (("task", 2), ("blocking", 1), ("exec", 1)):
    expect(delta(a, b, "coopd_tasks_spawned_total", kind=kind) == n, "spawned " + kind,
           changed(a, b))
for kind, state, n in (("task", "succeeded", 1), ("task", "failed", 1), ("task", "skipped", 1),
                       ("blocking", "succeeded", 1), ("exec", "succeeded", 1)):
    expect(delta(a, b, "coopd_tasks_finished_total", kind=kind, state=state) == n,
           "finished %s %s" % (kind, state), changed(a, b))
expect(delta(a, b, "coopd_graphs_submitted_total") == 1, "graphs submitted", changed(a, b))
# a spin within its budget never yields (nothing else runs now)
a = scrape()
run({"nodes": [{"id": "s", "kind": "task", "fn": "spin", "args": {"units": 50}}]})
b = scrape()
expect(delta(a, b, "coopd_budget_forced_yields_total") == 0, "no yield within budget",
       changed(a, b))

# -- 3. cancellation: one request, one latency observation per job stopped
a = scrape()
gid = submit({"nodes": [{"id": "t%d" % i, "kind": "task", "fn": "sleep", "args": {"ms": 600000}}
                        for i in range(3)] +
                       [{"id": "b", "kind": "blocking", "fn": "sleep", "args": {"ms": 600000}},
                        {"id": "e", "kind": "exec", "argv": ["sleep", "600"], "grace_ms": 100}]})
wait_running(gid, ["t0", "t1", "t2", "b", "e"])
mid = scrape()
expect(v(mid, "coopd_graphs_active") == 1, "graphs_active while it runs", mid)
expect(v(mid, "coopd_blocking_threads") >= 1, "a blocking thread runs", mid)
rpc("cancel", {"id": gid, "reason": "maintenance"})
st = wait(gid)
expect(st["state"] == "cancelled", "graph cancelled", st)
b = scrape()
expect(delta(a, b, "coopd_cancel_requests_total", reason="client") == 1, "one client request",
       changed(a, b))
for r in REASONS[1:]:
    expect(delta(a, b, "coopd_cancel_requests_total", reason=r) == 0, "no %s request" % r,
           changed(a, b))
expect(delta(a, b, "coopd_cancel_latency_seconds_count") == 5, "5 jobs acknowledged", changed(a, b))
expect(delta(a, b, "coopd_cancel_latency_seconds_sum") > 0, "latency sum grew", changed(a, b))
for kind, n in (("task", 3), ("blocking", 1), ("exec", 1)):
    expect(delta(a, b, "coopd_tasks_finished_total", kind=kind, state="cancelled") == n,
           "cancelled " + kind, changed(a, b))
expect(v(b, "coopd_graphs_active") == 0, "graphs_active back to 0", b)

# the other reasons, each with its own graph
cases = [
    ("deadline", {"deadline_ms": 100, "nodes": [
        {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}, 1),
    ("timeout", {"nodes": [
        {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}, "timeout_ms": 100}]}, 1),
    ("sibling_failed", {"nodes": [
        {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
        {"id": "u", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
        {"id": "f", "kind": "task", "fn": "fail", "args": {"message": "x"}, "after": ["w"]},
        {"id": "w", "kind": "task", "fn": "sleep", "args": {"ms": 50}}]}, 2),
    ("race_lost", {"policy": "race", "nodes": [
        {"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
        {"id": "w", "kind": "task", "fn": "sleep", "args": {"ms": 50}}]}, 1),
]
for reason, graph, jobs in cases:
    a = scrape()
    st = run(graph)
    b = scrape()
    expect(delta(a, b, "coopd_cancel_requests_total", reason=reason) == 1, "one " + reason,
           changed(a, b))
    for r in REASONS:
        if r != reason:
            expect(delta(a, b, "coopd_cancel_requests_total", reason=r) == 0,
                   "only %s, not %s" % (reason, r), changed(a, b))
    expect(delta(a, b, "coopd_cancel_latency_seconds_count") == jobs,
           "%d job(s) acknowledged %s" % (jobs, reason), changed(a, b), st)
# over everything so far: one observation per cancelled (started) job
b = scrape()
expect(v(b, "coopd_cancel_latency_seconds_count") ==
       vsum(b, "coopd_tasks_finished_total", state="cancelled") > 0,
       "histogram count == cancelled jobs", b)
expect(v(b, "coopd_cancel_latency_seconds_count") ==
       v(b, "coopd_cancel_latency_seconds_bucket", le="+Inf"), "+Inf == count", b)

# -- 4. requests by method and code; connections and graphs active
a = scrape()
b = scrape()
expect(delta(a, b, "coopd_requests_total", method="metrics", code="0") == 1,
       "a metrics request counts (after it is answered)", changed(a, b))
for method, params, code in (("status", {"id": "no-such-graph"}, -32001),
                             ("no_such_method", None, -32601),
                             ("submit", {"graph": {"nodes": "x"}}, -32602)):
    expect(error_code(method, params) == code, "error %d" % code)
c = scrape()
expect(delta(b, c, "coopd_requests_total", method="status", code="-32001") == 1, "-32001",
       changed(b, c))
expect(delta(b, c, "coopd_requests_total", method="unknown", code="-32601") == 1, "-32601",
       changed(b, c))
expect(delta(b, c, "coopd_requests_total", method="submit", code="-32602") == 1, "-32602",
       changed(b, c))
expect(delta(b, c, "coopd_requests_total", method="submit", code="0") == 0, "no submit ok",
       changed(b, c))
expect(delta(a, c, "coopd_graphs_submitted_total") == 0, "refused graph not counted", changed(a, c))

held = [Conn() for _ in range(3)]
for h in held:
    h.result("ping")
m = settled("coopd_connections_active", 4)
expect(v(m, "coopd_connections_active") == 4, "3 held + this one", m)
gids = [submit({"nodes": [{"id": "t", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]})
        for _ in range(2)]
m = scrape()
expect(v(m, "coopd_graphs_active") == 2, "2 graphs active", m)
for g in gids:
    rpc("cancel", {"id": g})
    wait(g)
for h in held:
    h.close()
m = settled("coopd_connections_active", 1)
expect(v(m, "coopd_connections_active") == 1, "closed connections are gone", m)
expect(v(m, "coopd_graphs_active") == 0, "no graph active", m)

# -- 5. HTTP /metrics: the same text, which promtool accepts
with urllib.request.urlopen(URL, timeout=30 * SLOW) as r:
    expect(r.status == 200, "HTTP 200")
    expect(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), "content type",
           r.headers["Content-Type"])
    body = r.read().decode()
promtool(body, "GET /metrics")
t = rpc("metrics")["text"]
expect(check(body) == check(t), "HTTP and method serve the same families")
hm = parse(body)
for n, ls, x in series(t):
    if n in ("coopd_requests_total", "coopd_connections_active", "coopd_task_polls_total",
             "coopd_steals_total", "coopd_blocking_threads") or n.startswith("coopd_loop_"):
        continue  # this request, this connection, and idle housekeeping differ
    expect(hm.get(key(n, ls)) == x, "HTTP figure equals the method's", key(n, ls), x,
           hm.get(key(n, ls)))
# The loop-hold figures (daemon/reactor-loopstat.c): every iteration that
# ran callbacks is observed once, the longest is within the histogram.
lp = parse(t)
cnt = lp[key("coopd_loop_iteration_seconds_count", ())]
expect(cnt > 0 and lp[key("coopd_loop_iteration_seconds_bucket", (("le", "+Inf"),))] == cnt,
       "loop iterations counted, +Inf bucket equals _count", cnt)
expect(0 < lp[key("coopd_loop_busy_max_seconds", ())] <= lp[key("coopd_loop_iteration_seconds_sum", ())],
       "the longest iteration is one of them", lp[key("coopd_loop_busy_max_seconds", ())])
expect(hm[key("coopd_loop_iteration_seconds_count", ())] > 0, "HTTP shows them too")
for path, code in (("/", 404), ("/metricsx", 404)):
    try:
        urllib.request.urlopen("http://127.0.0.1:%s%s" % (os.environ["PORT"], path),
                               timeout=30 * SLOW)
        raise AssertionError("expected %d for %s" % (code, path))
    except urllib.error.HTTPError as e:
        expect(e.code == code, "HTTP %d for %s" % (code, path), e.code)
try:
    urllib.request.urlopen(urllib.request.Request(URL, data=b"x", method="POST"),
                           timeout=30 * SLOW)
    raise AssertionError("POST accepted")
except urllib.error.HTTPError as e:
    expect(e.code == 405, "POST refused", e.code)

# -- 6. coopctl stats: the same figures, for people and as JSON
def latency(s):  # client-output.c's put_latency()
    if s < 0.001:
        return "%.0fus" % (s * 1e6)
    if s < 1.0:
        return "%.1fms" % (s * 1e3)
    return "%.2fs" % s

def quantile(bs, q):  # Prometheus' histogram_quantile()
    total = bs[-1][1]
    rank, prev_le, prev_cum = q * total, 0.0, 0.0
    for le, cum in bs:
        if cum >= rank:
            if le == float("inf"):
                return prev_le
            if cum == prev_cum:
                return le
            return prev_le + (le - prev_le) * (rank - prev_cum) / (cum - prev_cum)
        prev_le, prev_cum = le, cum
    return prev_le

js = json.loads(subprocess.run(CTL + ["--json", "stats"], check=True,
                               stdout=subprocess.PIPE).stdout)
human = subprocess.run(CTL + ["stats"], check=True, stdout=subprocess.PIPE).stdout.decode()
t = rpc("metrics")["text"]
m = parse(t)
ex, bu, ca, jo, da = (js[k] for k in ("executor", "budget", "cancellation", "jobs", "daemon"))
expect(ex["workers"] == v(m, "coopd_workers") == 2, "workers", js)
expect(ex["forced_yields"] == bu["forced_yields"] == v(m, "coopd_budget_forced_yields_total") > 0,
       "forced yields", js)
expect(bu["short_circuits"] == v(m, "coopd_preempt_short_circuits_total"), "short-circuits", js)
for r in REASONS:
    expect(ca["requests"][r] == v(m, "coopd_cancel_requests_total", reason=r), "reason " + r, js)
expect(ca["latency_count"] == v(m, "coopd_cancel_latency_seconds_count") > 0, "count", js)
bs = sorted((float(dict(ls)["le"].replace("+Inf", "inf")), x) for n, ls, x in series(t)
            if n == "coopd_cancel_latency_seconds_bucket")
expect([(float("inf") if b["le"] == "+Inf" else b["le"], b["count"]) for b in ca["latency_buckets"]]
       == bs, "latency buckets", ca, bs)
for kind in KINDS:
    expect(jo[kind]["spawned"] == v(m, "coopd_tasks_spawned_total", kind=kind), "jobs " + kind, js)
    expect(jo[kind]["cancelled"] == v(m, "coopd_tasks_finished_total", kind=kind,
                                      state="cancelled"), "cancelled " + kind, js)
expect(da["graphs_submitted"] == v(m, "coopd_graphs_submitted_total"), "graphs", js)
expect(da["graphs_active"] == 0, "graphs active", js)

def line(label):
    ls = [l for l in human.splitlines() if l.strip().startswith(label)]
    expect(ls, "a '%s' line in coopctl stats" % label, human)
    return ls[0].strip()[len(label):].strip()

expect(line("Workers:") == "2", "workers line", human)
for label in ("Run queue:", "Blocking queue:", "Blocking threads:", "Polls:", "Default budget:"):
    expect(re.match(r"^\d+$", line(label).replace(",", "")), label, human)
expect(line("Forced yields:").replace(",", "") == "%d" % ex["forced_yields"], "forced", human)
expect(line("Short-circuits:").replace(",", "") == "%d" % bu["short_circuits"], "short", human)
expect(line("Polls ending in yield:").endswith("%"), "budget use", human)
by_reason = line("Requests by reason:")
for r in REASONS:
    expect(re.search(r"\b%s %d\b" % (r, ca["requests"][r]), by_reason), "reason " + r, human)
expect(line("Acknowledged:").startswith("%d" % ca["latency_count"]), "acknowledged", human)
want = "p50 %s  p90 %s  p99 %s" % tuple(latency(quantile(bs, q)) for q in (0.5, 0.9, 0.99))
expect(line("Latency:").startswith(want), "percentiles from the histogram: " + want, human)
ping_ok()
PY
coopd_stop
# a bad --metrics-listen is refused at start
"$COOPD_BIN" --metrics-listen nonsense >/dev/null 2>&1 && fail "bad --metrics-listen accepted"
coopd_pass
