#!/bin/sh
# Slurm commands never hold coopd's loop (docs/slurm.md "Efficiency"): with
# a squeue that hangs (a wrapper in slurm_bin_dir that waits on a flag file)
# ping keeps answering and the graph goes on once squeue answers again; a
# squeue that fails is retried (with back-off) and counted in
# coopd_slurm_command_failures_total; a squeue that answers garbage (a line
# that is not "ID|STATE|EXIT|UID|") is refused whole with the line and the
# reason in the log, asked again, and the job still ends normally.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib-coopd.sh"
. "$top_srcdir/tests/slurm/lib-slurm.sh"
slurm_require

bin=$COOPD_TMP/bin
mkdir -p "$bin"
for c in sbatch scontrol scancel; do
	ln -s "$(command -v $c)" "$bin/$c"
done
real=$(command -v squeue)
cat >"$bin/squeue" <<SH
#!/bin/sh
echo run >>"$COOPD_TMP/squeue.runs"
while [ -f "$COOPD_TMP/hang" ]; do sleep 0.05; done
if [ -f "$COOPD_TMP/fail" ]; then
	echo "squeue: error: Socket timed out on send/recv operation (fake)" >&2
	exit 1
fi
if [ -f "$COOPD_TMP/garbage" ]; then
	$real "\$@" || exit
	echo "12_3|RUNNING|0|0|"
	exit 0
fi
exec $real "\$@"
SH
chmod 755 "$bin/squeue"
coopd_start -c "$(slurm_config "slurm_bin_dir=$bin" "slurm_poll_ms=100")"

coopd_py <<'PY' || fail "hung squeue"
import os, re, time
tmp = os.environ["COOPD_TMP"]
def runs():
    try:
        return len(open(tmp + "/squeue.runs").read().splitlines())
    except FileNotFoundError:
        return 0
def until(cond, what):
    for _ in range(2400):
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)

open(tmp + "/hang", "w").close()
gid = submit({"nodes": [{"id": "j", "kind": "exec", "placement": "slurm", "argv": ["true"]}]})
until(lambda: runs() >= 1, "the first squeue")
# squeue hangs now: coopd answers ping all the same, many times over.
c = Conn(timeout=10)
worst = 0.0
for _ in range(200):
    t = time.monotonic()
    expect(c.result("ping", {}) == {}, "ping")
    worst = max(worst, time.monotonic() - t)
print("ping while squeue hangs: 200 answers, slowest %.3f ms" % (worst * 1000))
expect(rpc("status", {"id": gid})["state"] == "running", "graph goes on")
expect(runs() == 1, "a second squeue started while the first hangs: %d" % runs())
# squeue fails for a while: retried, counted, and the job still ends.
open(tmp + "/fail", "w").close()
os.unlink(tmp + "/hang")
until(lambda: runs() >= 4, "retries of the failed squeue")
# squeue answers garbage for a while: refused whole (the real lines
# before it are not applied either), logged with line and reason, asked
# again; the graph stays running meanwhile.
open(tmp + "/garbage", "w").close()
os.unlink(tmp + "/fail")
n = runs()
until(lambda: runs() >= n + 3, "retries of the garbage squeue")
logtext = open(tmp + "/coopd.log").read()
expect("squeue answered something that is not its job list (line 2: no '|' after "
       "the job id); asking again" in logtext, "the refusal logged", logtext[-3000:])
expect(rpc("status", {"id": gid})["state"] == "running", "garbage settles nothing")
os.unlink(tmp + "/garbage")
st = wait(gid)
expect(st["state"] == "succeeded", "the job ended normally", st)
text = rpc("metrics", {})["text"]
m = re.search(r'^coopd_slurm_command_failures_total\{command="squeue"\} (\d+)', text, re.M)
expect(m and int(m.group(1)) >= 3, "failures counted", text[-3000:])
PY
coopd_stop
coopd_pass
