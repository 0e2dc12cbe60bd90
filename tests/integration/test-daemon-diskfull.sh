#!/bin/sh
# A full state directory makes `submit` fail with a clear error, leaves
# nothing half-written, and the daemon stays up and recovers when space
# returns.  Needs root (a small tmpfs); skipped otherwise.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

[ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
mkdir -p "$COOPD_STATE"
# 2 MiB: the database of the 2000-node graph below takes about 0.4 MiB
# (its pages are written to the WAL and then to coopd.db).
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$COOPD_STATE" 2>/dev/null || skip "cannot mount tmpfs here"
_umount() { umount "$COOPD_STATE" 2>/dev/null; }
# Unmount before the usual cleanup (which keeps the log on failure).
trap '_rc=$?; [ -n "$COOPD_PID" ] && kill -TERM "$COOPD_PID" 2>/dev/null && wait "$COOPD_PID"; COOPD_PID=; _umount; (exit $_rc); _coopd_cleanup' EXIT
coopd_start
coopd_py <<'PY' || fail "disk full"
ok = submit({"name": "fits", "nodes": [{"id": "a", "kind": "task", "fn": "noop"}]})
expect(wait(ok)["state"] == "succeeded", "a graph that fits")
# fill the file system
filler = os.path.join(os.environ["COOPD_STATE"], "filler")
with open(filler, "wb", buffering=0) as f:
    try:
        while True:
            f.write(b"x" * 4096)
    except OSError:
        pass
gdir = os.path.join(os.environ["COOPD_STATE"], "graphs")
before = sorted(os.listdir(gdir))
big = {"name": "big", "nodes": [{"id": "n%d" % i, "kind": "task", "fn": "noop"} for i in range(2000)]}
e = call("submit", {"graph": big})
expect("error" in e and e["error"]["code"] == -32603, "submit fails on a full disk", e)
expect("No space left" in e["error"]["message"], "the error names the cause", e)
expect(sorted(os.listdir(gdir)) == before, "nothing half-written", before, os.listdir(gdir))
ping_ok()
expect(rpc("status", {"id": ok})["state"] == "succeeded", "earlier graph intact")
os.unlink(filler)
again = submit(big)
expect(wait(again)["state"] == "succeeded", "recovers when space returns")
PY
coopd_stop
coopd_pass
