#!/bin/sh
# The project's own references stay complete (issue 18): docs/protocol.md has
# a section for every method and a row for every error code of
# proto/protocol.h; coopd.graph(5) names every field the graph parser
# accepts (proto/proto-graph.c's key lists) and every builtin function; the
# man pages render without groff warnings; and no source file cites the
# product specification outside the tree instead of these references.
# Adding a method, a field or a builtin without documenting it fails here.
. "$(dirname "$0")/../lib-coopd.sh"

cd "$top_srcdir" || fail "no source tree"
command -v groff >/dev/null 2>&1 || skip "groff not installed"

/usr/bin/python3 - <<'EOF' || fail "a reference is incomplete (see above)"
import re, sys

bad = []
proto_h = open("proto/protocol.h").read()
proto_md = open("docs/protocol.md").read()
graph5 = open("daemon/coopd.graph.5").read()
graph_c = open("proto/proto-graph.c").read()

# Every method has its own section "### name".
methods = re.findall(r'#define PROTO_METHOD_\w+ "([a-z_]+)"', proto_h)
assert len(methods) >= 11, methods
for m in methods:
    if not re.search(r"^### %s$" % re.escape(m), proto_md, re.M):
        bad.append("docs/protocol.md: no section '### %s'" % m)

# Every error code has a row in the table.
codes = re.findall(r"#define PROTO_ERR_\w+ \((-32\d\d\d)\)", proto_h)
assert len(codes) >= 9, codes
for c in codes:
    if not re.search(r"^\| %s \|" % c, proto_md, re.M):
        bad.append("docs/protocol.md: no row for error %s" % c)

# Every event member the daemon writes is described.
for key in re.findall(r'\\"(\w+)\\":', open("daemon/server-watch.c").read()):
    if key in ("jsonrpc", "method", "params"):
        continue
    if "`%s`" % key not in proto_md.split("## 5. Events")[1]:
        bad.append("docs/protocol.md, Events: member '%s' not described" % key)

# Every field of a node or of the root scope, as the parser lists them,
# is a tagged paragraph of coopd.graph(5) (".BR field " or ".B field").
fields = set()
for arr in re.findall(r"static const char \*const (?:keys_\w+|root_keys)\[\] = \{(.*?)\};",
                      graph_c, re.S):
    fields.update(re.findall(r'"(\w+)"', arr))
assert {"argv", "fn", "nodes", "name"} <= fields, fields
for f in sorted(fields):
    if not re.search(r"^\.BR? %s(\b| )" % f, graph5, re.M) and \
       not re.search(r"^\.BR? .*\b%s\b" % f, graph5, re.M):
        bad.append("coopd.graph(5): field '%s' not documented" % f)

# Every builtin (the names parse_fn compares) and every args key.
builtins = set(re.findall(r'strcmp\(s, "(\w+)"\) == 0', graph_c))
assert {"noop", "sleep", "spin", "fail"} <= builtins, builtins
for b in sorted(builtins):
    if not re.search(r"^\.B %s$" % b, graph5, re.M):
        bad.append("coopd.graph(5): builtin '%s' has no entry" % b)
for arr in re.findall(r"static const char \*const args_\w+\[\] = \{(.*?)\};", graph_c, re.S):
    for key in re.findall(r'"(\w+)"', arr):
        if '"%s"' % key not in graph5:
            bad.append("coopd.graph(5): args key '%s' not documented" % key)

for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF

# The man pages render cleanly (a typo in a macro shows up as a warning).
for page in daemon/coopd.graph.5 daemon/coopd.conf.5 daemon/coopd.8 client/coopctl.1; do
	out=$(groff -man -ww -z "$page" 2>&1) || fail "groff failed on $page: $out"
	[ -z "$out" ] || fail "groff warns on $page: $out"
done
grep -q 'coopd.graph (5)' client/coopctl.1 || fail "coopctl(1) does not name coopd.graph(5)"
! grep -q 'described in the coopd documentation' client/coopctl.1 ||
	fail "coopctl(1) still points at 'the coopd documentation'"

# No citation of the specification outside the tree: code cites
# docs/protocol.md, coopd.graph(5) or docs/*.md instead.
hits=$(grep -rnw SPEC lib proto daemon client tests bench examples scripts 2>/dev/null |
	grep -v '^tests/fuzz/corpus' | grep -v '^tests/integration/test-docs-reference.sh')
[ -z "$hits" ] || fail "citations of SPEC left: $hits"

coopd_pass
