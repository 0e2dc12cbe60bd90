#!/bin/sh
# The JSON Schema of the graph format (docs/coopd-graph.schema.json) and
# coopd's own parser agree (issue 18), and every example graph runs:
#  1. the schema is a valid draft 2020-12 schema;
#  2. every graph of tests/data/graphs-good and examples/graphs validates,
#     and a real coopd accepts it;
#  3. every graph of tests/data/graphs-bad is refused by coopd with the
#     code and path of its .expect file, and by the schema too, except for
#     the checks the schema says it cannot express (sibling references and
#     cycles, duplicate ids, the configured limits), each of which must be
#     one of those refusals;
#  4. JSON Schema counts 1e3 as an integer and coopd does not (the schema's
#     description says so): the only bad graphs a standard validator
#     accepts beyond (3) are refused by coopd with "expected an integer";
#  5. every example graph without "(needs: ...)" in its name runs to
#     `succeeded` through coopctl and a real coopd.
# The schema needs python3-jsonschema, for /usr/bin/python3 (the python3
# first on PATH may be another one).
. "$(dirname "$0")/../lib-coopd.sh"

PY=/usr/bin/python3
$PY -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema is not installed for $PY"

# slurm = on, so that graphs placed on Slurm are accepted; no Slurm
# command can run (an empty slurm_bin_dir), so such a node fails at once.
mkdir "$COOPD_TMP/no-slurm"
printf 'slurm = on\nslurm_bin_dir = %s\n' "$COOPD_TMP/no-slurm" >"$COOPD_TMP/coopd.conf"
coopd_start -c "$COOPD_TMP/coopd.conf"
export COOPCTL_BIN top_srcdir

$PY -c "$COOPD_PYLIB
$(cat <<'EOF'
import glob, re, subprocess
from jsonschema import Draft202012Validator as V, validators

src = os.environ["top_srcdir"]
schema = json.load(open(os.path.join(src, "docs/coopd-graph.schema.json")))
V.check_schema(schema)
standard = V(schema)
# coopd's integers: written without a fraction or an exponent, so Python's
# json gives them as int (1e3 and 1.0 come back as float).
strict_types = V.TYPE_CHECKER.redefine(
    "integer", lambda _c, x: isinstance(x, int) and not isinstance(x, bool))
strict = validators.extend(V, type_checker=strict_types)(schema)

# Refusals the schema cannot express (its description lists them).
SEMANTIC = re.compile(r"^(unknown sibling |cycle |duplicate sibling id |"
                      r"Slurm options on a node placed local |"
                      r"limits apply to local jobs only|"
                      r".*\((max_nodes|max_scope_depth)\)$)")

def load(path):
    """The document, or None when it is not JSON text at all."""
    try:
        return json.loads(open(path, "rb").read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None

def submit_file(path):
    """Submits the file's bytes as they are (also when they are not JSON),
    its line breaks made spaces (one message per line; JSON strings hold no
    raw line break): coopd's answer (result or error)."""
    c = Conn()
    try:
        c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"submit","params":{"graph":'
                   + open(path, "rb").read().replace(b"\n", b" ") + b"}}\n")
        # A request that is not JSON is answered with id null.
        while True:
            m = c.read_msg()
            if m.get("id", 0) in (1, None):
                return m
    finally:
        c.close()

def expect_file(path):
    text = open(path[:-5] + ".expect").read()
    m = re.match(r"code (-?\d+)\npath (.*)\nreason (.*)\n?$", text, re.S)
    assert m, "bad .expect file %s" % path
    return int(m.group(1)), m.group(2), m.group(3).strip()

good = sorted(glob.glob(os.path.join(src, "tests/data/graphs-good/*.json")))
examples = sorted(glob.glob(os.path.join(src, "examples/graphs/*.json")))
bad = sorted(glob.glob(os.path.join(src, "tests/data/graphs-bad/*.json")))
assert len(good) >= 5 and len(examples) >= 2 and len(bad) >= 60, (good, examples, bad)

# 2. good graphs and examples: the schema and coopd both accept them.
for path in good + examples:
    doc = load(path)
    assert doc is not None, "%s is not JSON" % path
    errs = [e.message for e in strict.iter_errors(doc)]
    assert not errs, "schema refuses %s: %s" % (path, errs[:3])
    ans = submit_file(path)
    assert "result" in ans, "coopd refuses %s: %r" % (path, ans)
    wait(ans["result"]["id"], timeout_ms=120000)

# 3 and 4. bad graphs.
semantic = widened = 0
for path in bad:
    code, epath, reason = expect_file(path)
    ans = submit_file(path)
    err = ans.get("error")
    assert err, "coopd accepts bad graph %s" % path
    got_path = (err.get("data") or {}).get("path", "")
    got_reason = (err.get("data") or {}).get("reason", err.get("message"))
    # The answer names the same place: coopd's parse errors (-32700) have
    # offsets into the request, not the file, so only their code counts.
    assert err["code"] == code, "%s: code %r, expected %r" % (path, err, code)
    if epath == "" and got_path == "params.graph":
        got_path = ""  # a graph that is not an object is refused as a param
    if code != -32700:
        assert (got_path, got_reason) == (epath, reason), \
            "%s: coopd says %r at %r, .expect says %r at %r" % (path, got_reason, got_path,
                                                                 reason, epath)
    doc = load(path)
    if doc is None:
        assert code == -32700, "%s: not JSON, yet coopd answers %r" % (path, err)
        continue
    if strict.is_valid(doc):
        assert SEMANTIC.match(reason), \
            "schema accepts %s, which coopd refuses: %s at %s" % (path, reason, epath)
        semantic += 1
    elif standard.is_valid(doc):
        assert reason == "expected an integer", \
            "standard validator accepts %s (coopd: %s)" % (path, reason)
        widened += 1
assert semantic >= 5, "expected the corpus to hold sibling/cycle/limit cases"
assert widened >= 1, "expected the corpus to hold an integer written 1e3"
print("agreement: %d good, %d examples, %d bad (%d beyond the schema, %d by integer spelling)"
      % (len(good), len(examples), len(bad), semantic, widened))

# 5. examples run to success through coopctl.
for path in examples:
    doc = load(path)
    if "(needs:" in (doc.get("name") or ""):
        print("not run (it says what it needs): %s" % path)
        continue
    out = subprocess.run([os.environ["COOPCTL_BIN"], "--socket", SOCK, "--json", "submit",
                          "--wait", path], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, "%s: coopctl exit %d: %s %s" % (path, out.returncode,
                                                                out.stdout[-2000:], out.stderr)
    gid = json.loads(out.stdout.splitlines()[-1]).get("id") if out.stdout.strip() else None
    st = wait(gid) if gid else None
    assert st and st["state"] == "succeeded", "%s ended %r" % (path, st and st["state"])
    print("ran: %s" % path)
EOF
)" || fail "schema, parser or examples disagree (see above)"

coopd_stop
coopd_pass
