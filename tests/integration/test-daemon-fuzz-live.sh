#!/bin/sh
# Live-daemon fuzzing (issue 7): tests/fuzz/fuzz-live.py sends random valid
# and invalid request sequences to this test's coopd (the test build's, so
# under ASan in the ASan pass) and checks after every batch that coopd is
# up and answers ping, and that everything it sends is well-formed
# JSON-RPC.  Afterwards: no child process left, no daemon error logged,
# a clean exit (ASan reports leaks at exit).
# Short in `make check` (COOPD_FUZZ_BATCHES, default 60), long in `make
# soak` (3000 batches).  COOPD_FUZZ_SEED reproduces a run.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

cat >"$COOPD_TMP/coopd.conf" <<CONF
max_request_bytes = 65536
max_nodes = 200
max_connections = 32
max_pending_requests = 8
event_queue_bytes = 16384
fsync = no
CONF
coopd_start --config "$COOPD_TMP/coopd.conf"

# What the live fuzzer found, replayed deterministically first:
# - cancel {grace_ms: 0} of a running exec job crashed coopd (the grace
#   callback was called on a timer that did not point at its job).
coopd_py <<'PY' || fail "regression: cancel with grace_ms 0 of a running exec job"
for script in ("echo up; exec sleep 30", "echo up; sleep 30 & sleep 30; wait"):
    gid = submit({"nodes": [{"id": "e", "kind": "exec", "argv": ["sh", "-c", script]}]})
    # running, and past its exec (under valgrind a vfork is a fork: the
    # child may not have made its process group yet when `running` shows)
    for _ in range(1000 * SLOW):
        if "up" in rpc("logs", {"id": gid, "node": "e", "stream": "stdout"})["data"]:
            break
        time.sleep(0.01)
    rpc("cancel", {"id": gid, "grace_ms": 0})
    st = wait(gid)
    expect(st["state"] == "cancelled", "cancelled at once", st)
    ping_ok()
PY

if [ "${COOPD_SOAK:-0}" = 1 ]; then batches=3000; else batches=60; fi
batches=${COOPD_FUZZ_BATCHES:-$batches}
python3 "$top_srcdir/tests/fuzz/fuzz-live.py" --socket "$COOPD_SOCK" --pid "$COOPD_PID" \
	--batches "$batches" --max-request 65536 ${COOPD_FUZZ_SEED:+--seed "$COOPD_FUZZ_SEED"} ||
	fail "live fuzzing (the seed is printed above)"
COOPD_REAL_PID=$COOPD_PID coopd_py <<'PY' || fail "after fuzzing"
pid = int(os.environ["COOPD_REAL_PID"])
def children():
    return proc_children(pid)
for _ in range(200 * SLOW):
    if not children():
        break
    time.sleep(0.05)
expect(children() == [], "no child process of coopd left", children())
ping_ok()
PY
grep '^<[0-3]>' "$COOPD_LOG" && fail "daemon errors logged while fuzzing"
coopd_stop
coopd_pass
