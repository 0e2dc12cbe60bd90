#!/bin/sh
# daemon-slurm.sh -- exec nodes on Slurm (issue 16, docs/slurm.md): coopd
# beside a plain shell loop of sbatch, on a one-node cluster started for
# the run (tests/slurm/cluster.sh; needs root and Debian's slurm-wlm and
# munge, else it says why and does nothing).
#
#   make bench-slurm            (from a build directory; part of make bench)
#   BENCH_REPS=5 BENCH_SLURM_JOBS=200 make bench-slurm
#
# Each repetition, in alternating order:
#   loop   a shell loop submits BENCH_SLURM_JOBS (200) jobs of /bin/true
#          with `sbatch --parsable --export=NONE -o /dev/null`, then asks
#          `squeue --states=all` about all of them once a second (coopd's
#          default slurm_poll_ms) until none is queued or running;
#   coopd  one graph of the same number of exec nodes of /bin/true placed
#          on Slurm, submitted to a fresh coopd (slurm = on, slurm_poll_ms
#          1000), from `submit` to the graph settled (`wait`).
# Printed: the median wall times and their ratio; coopd's CPU time (user +
# system, /proc/PID/stat, over the graph only) per Slurm job; and the Slurm
# commands coopd ran per poll (squeue runs / polls, from `metrics`, and
# sbatch runs per job).  Nothing here asserts on time.
set -u
BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "$0")" && pwd)}
COOPD=${COOPD:-$BENCH_DIR/../coopd}
SRC=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${COOPD_TEST_SLURM_DIR:-}" ]; then
	exec "$SRC/tests/slurm/cluster.sh" run "$0" "$@"
fi

REPS=${BENCH_REPS:-3}
JOBS=${BENCH_SLURM_JOBS:-200}
export COOPD REPS JOBS
exec python3 - <<'PY'
import json, os, re, socket, statistics, subprocess, tempfile, time

COOPD, REPS, JOBS = os.environ["COOPD"], int(os.environ["REPS"]), int(os.environ["JOBS"])
HZ = os.sysconf("SC_CLK_TCK")

def cpu_of(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ

def loop_run():
    t0 = time.monotonic()
    ids = []
    for _ in range(JOBS):
        out = subprocess.run(["sbatch", "--parsable", "--export=NONE", "-o", "/dev/null",
                              "--wrap=/bin/true"], capture_output=True, text=True, check=True,
                             cwd="/tmp").stdout
        ids.append(out.strip().split(";")[0])
    arg = "--jobs=" + ",".join(ids)
    while True:
        out = subprocess.run(["squeue", "-h", "--states=all", arg, "-o", "%T"],
                             capture_output=True, text=True).stdout.split()
        if len(out) == JOBS and not any(s in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING")
                                        for s in out):
            return time.monotonic() - t0
        time.sleep(1.0)

class Rpc:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.n = 0
    def __call__(self, method, params=None):
        self.n += 1
        req = {"jsonrpc": "2.0", "id": self.n, "method": method}
        if params is not None:
            req["params"] = params
        self.s.sendall((json.dumps(req) + "\n").encode())
        while True:
            m = json.loads(self.f.readline())
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(m["error"])
                return m["result"]

def metric(text, name):
    m = re.search(r"^%s (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else 0

def coopd_run():
    tmp = tempfile.mkdtemp(prefix="coopd-bench-slurm.")
    os.chmod(tmp, 0o755)
    conf = os.path.join(tmp, "coopd.conf")
    open(conf, "w").write("slurm = on\nslurm_poll_ms = 1000\nslurm_spool_dir = %s/spool\n" % tmp)
    sock = os.path.join(tmp, "s")
    p = subprocess.Popen([COOPD, "--foreground", "-c", conf, "--socket", sock, "--state-dir",
                          os.path.join(tmp, "state")], stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "log"), "w"))
    for _ in range(400):
        try:
            rpc = Rpc(sock)
            rpc("ping")
            break
        except OSError:
            time.sleep(0.05)
    graph = {"policy": "all_settled", "placement": "slurm", "nodes": [
        {"id": "j%d" % i, "kind": "exec", "argv": ["/bin/true"], "cwd": "/tmp"}
        for i in range(JOBS)]}
    cpu0 = cpu_of(p.pid)
    t0 = time.monotonic()
    gid = rpc("submit", {"graph": graph})["id"]
    st = rpc("wait", {"id": gid, "timeout_ms": 3600000})
    wall = time.monotonic() - t0
    cpu = cpu_of(p.pid) - cpu0
    text = rpc("metrics")["text"]
    polls = metric(text, "coopd_slurm_polls_total")
    squeues = metric(text, 'coopd_slurm_command_seconds_count{command="squeue"}')
    sbatches = metric(text, 'coopd_slurm_command_seconds_count{command="sbatch"}')
    scontrols = metric(text, 'coopd_slurm_command_seconds_count{command="scontrol"}')
    p.terminate()
    p.wait()
    subprocess.run(["rm", "-rf", tmp])
    assert st["state"] == "succeeded", st["state"]
    return wall, cpu, polls, squeues, sbatches, scontrols

loops, coopds = [], []
for rep in range(REPS):
    order = ("loop", "coopd") if rep % 2 == 0 else ("coopd", "loop")
    for what in order:
        if what == "loop":
            w = loop_run()
            loops.append(w)
            print("RESULT slurm-loop rep=%d jobs=%d wall_s=%.3f" % (rep, JOBS, w), flush=True)
        else:
            r = coopd_run()
            coopds.append(r)
            print("RESULT slurm-coopd rep=%d jobs=%d wall_s=%.3f cpu_s=%.3f polls=%d squeue=%d "
                  "sbatch=%d scontrol=%d" % ((rep, JOBS) + r), flush=True)

lw = statistics.median(loops)
cw = statistics.median(r[0] for r in coopds)
ratios = [c[0] / l for c, l in zip(coopds, loops)]
cpu_ms = statistics.median(r[1] for r in coopds) * 1000 / JOBS
print()
print("%d exec nodes of /bin/true on a one-node Slurm cluster, %d repetitions" % (JOBS, REPS))
print("  shell loop (sbatch x %d, squeue once a second): median %.2f s" % (JOBS, lw))
print("  coopd (one graph, slurm_poll_ms 1000):          median %.2f s" % cw)
print("  coopd / loop: median %.3f (per repetition: %s)" % (
    statistics.median(ratios), ", ".join("%.3f" % x for x in ratios)))
print("  coopd CPU per Slurm job: median %.3f ms" % cpu_ms)
print("  Slurm commands per poll: %s (squeue runs / polls per repetition)" % ", ".join(
    "%d/%d" % (r[3], r[2]) for r in coopds))
print("  sbatch per job: %s; scontrol runs: %s" % (
    ", ".join("%.2f" % (r[4] / JOBS) for r in coopds), ", ".join(str(r[5]) for r in coopds)))
PY
