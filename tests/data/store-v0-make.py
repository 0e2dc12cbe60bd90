# store-v0-make.py - how tests/data/store-v0-state.tar.gz was made: a state
# directory in the format before coopd.db (graphs/ID/graph.json + journal +
# logs), written by coopd of commit b92587f:
#
#   coopd --foreground --socket /tmp/fx/sock --state-dir /tmp/fx/state &
#   python3 store-v0-make.py        # writes /tmp/fx/expected.json
#   kill -9 %1                      # the "running" graph stays unfinished
#   tar -czf store-v0-state.tar.gz --owner=0 --group=0 -C /tmp/fx state
#
# store-v0-expected.json holds the ids and the status answers before the
# kill; tests/integration/test-daemon-store-import.sh compares the imported
# graphs with them.  The running graph has no exec node on purpose: its
# recorded process group would be looked for on the machine that runs the
# test.
import json, os, socket, subprocess, time, sys
SOCK = "/tmp/fx/sock"
class C:
    def __init__(s):
        s.s = socket.socket(socket.AF_UNIX); s.s.connect(SOCK); s.f = s.s.makefile("rb"); s.i = 0
    def call(s, m, p=None):
        s.i += 1
        s.s.sendall((json.dumps({"jsonrpc": "2.0", "id": s.i, "method": m, "params": p or {}}) + "\n").encode())
        while True:
            r = json.loads(s.f.readline())
            if r.get("id") == s.i:
                if "error" in r: raise Exception(r)
                return r["result"]
c = C()
ids = {}
def run(name, g):
    gid = c.call("submit", {"graph": g})["id"]
    st = c.call("wait", {"id": gid, "timeout_ms": 60000})
    ids[name] = gid
    return st
print(run("ok", {"name": "ok", "nodes": [
    {"id": "hello", "kind": "exec", "argv": ["sh", "-c", "echo hello out; echo hello err >&2"]},
    {"id": "t", "kind": "task", "fn": "spin", "args": {"units": 10}, "after": ["hello"]}]})["state"])
print(run("failed", {"name": "failed", "nodes": [
    {"id": "bad", "kind": "exec", "argv": ["sh", "-c", "echo oops; echo why >&2; exit 7"]},
    {"id": "s", "kind": "scope", "after": ["bad"], "nodes": [{"id": "f", "kind": "task", "fn": "fail"}]}]})["state"])
gid = c.call("submit", {"graph": {"name": "cancelled", "nodes": [
    {"id": "sl", "kind": "task", "fn": "sleep", "args": {"ms": 600000}}]}})["id"]
time.sleep(0.3)
c.call("cancel", {"id": gid, "reason": "fixture"})
print(c.call("wait", {"id": gid, "timeout_ms": 60000})["state"])
ids["cancelled"] = gid
gid = c.call("submit", {"graph": {"name": "running", "nodes": [
    {"id": "e", "kind": "task", "fn": "sleep", "args": {"ms": 600000}},
    {"id": "later", "kind": "task", "fn": "noop", "after": ["e"]}]}})["id"]
for _ in range(500):
    st = c.call("status", {"id": gid})
    if st["root"]["nodes"][0]["state"] == "running":
        break
    time.sleep(0.01)
time.sleep(0.3)
ids["running"] = gid
statuses = {k: c.call("status", {"id": v}) for k, v in ids.items()}
json.dump({"ids": ids, "status": statuses}, open("/tmp/fx/expected.json", "w"), indent=1)
