#!/bin/sh
# parse_thread_bytes (coopd.conf(5); daemon/server-parse.c): a request line
# of at least that many bytes is parsed, validated and built on the parse
# thread, counted in coopd_lines_parsed_off_loop_total; a shorter one is
# not; the graph and the answer are the same either way.  Bad values are
# refused at start (exit 1, the key named) and the key follows a reload.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_refuses_values parse_thread_bytes 0 1023 1073741825 x -5 ""

printf 'parse_thread_bytes = 1024\n' >"$COOPD_TMP/coopd.conf"
coopd_start --config "$COOPD_TMP/coopd.conf"

export COOPD_LOG COOPD_PID COOPD_TMP
coopd_py <<'PY' || fail "parse_thread_bytes"
def off_loop():
    st = rpc("stats")["daemon"]["lines_parsed_off_loop"]
    m = [l for l in rpc("metrics")["text"].splitlines()
         if l.startswith("coopd_lines_parsed_off_loop_total ")]
    expect(len(m) == 1 and float(m[0].split()[1]) == st, "metric equals stats", m, st)
    return st

def graph(n):
    return {"name": "pt", "nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"}
                                    for i in range(n)]}

def run_both(want):
    before = off_loop()
    small, big = graph(2), graph(60)
    expect(len(json.dumps(small)) < 1000 < 2048 < len(json.dumps(big)), "sizes around the key",
           len(json.dumps(small)), len(json.dumps(big)))
    for g in (small, big):
        st = wait(submit(g))
        expect(st["state"] == "succeeded" and len(states(st)) == len(g["nodes"]),
               "the graph runs whole", st["state"])
    expect(off_loop() - before == want, "lines handed to the parse thread",
           off_loop() - before, want)

run_both(1)
# An invalid big graph gets the loop's precise error from the thread too.
bad = graph(60)
bad["nodes"][41]["fn"] = "no-such-builtin"
before = off_loop()
e = call("submit", {"graph": bad})["error"]
expect(e["code"] == -32602 and e["data"]["path"].startswith("nodes[41]"), "precise error", e)
expect(off_loop() - before == 1, "it went through the thread")
# Raised by a reload: both on the loop now.
config_reload("parse_thread_bytes = 1048576\n")
run_both(0)
PY
coopd_stop
coopd_pass
