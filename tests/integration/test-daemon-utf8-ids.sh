#!/bin/sh
# Wrong answers of issue 15 item 9, through the socket:
#   - requests holding invalid UTF-8 (overlong forms, UTF-16 surrogates
#     encoded directly, code points above U+10FFFF, stray continuation
#     bytes), in a param, the method, a graph's name or node id, are
#     refused with -32600 naming the offset and answered with the request's
#     id (-32700 and id null where the JSON parser itself stops at them);
#     every answer decodes as strict UTF-8, and no such graph exists;
#   - ids are echoed byte for byte: 2^64, -2^63-1, 30 digits, -0, 1.50,
#     1E400, for ping, for an unknown method and for submit.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib-coopd.sh"

coopd_start

coopd_py <<'PY' || fail "UTF-8 and ids"
def exchange(raw):
    """Sends one raw line, returns the raw answer line (bytes)."""
    c = Conn()
    try:
        c.send_raw(raw + b"\n")
        line = c.f.readline()
        expect(line, "an answer to %r" % raw)
        line.decode("utf-8", errors="strict")  # raises on anything invalid
        return line
    finally:
        c.close()

bad = [
    (b'{"jsonrpc":"2.0","id":11,"method":"ping","params":{"a":"\xc0\xaf"}}', 56),
    (b'{"jsonrpc":"2.0","id":12,"method":"ping","params":{"a":"\xe0\x80\xaf"}}', 56),
    (b'{"jsonrpc":"2.0","id":13,"method":"p\xed\xa0\x80"}', 36),
    (b'{"jsonrpc":"2.0","id":14,"method":"\xf4\x90\x80\x80"}', 35),
    (b'{"jsonrpc":"2.0","id":15,"method":"ping","params":{"x":"\xed\xbf\xbfok"}}', 56),
    (b'{"jsonrpc":"2.0","id":16,"method":"submit","params":{"graph":{"name":"\xed\xb0\x80",'
     b'"nodes":[{"id":"n","kind":"task","fn":"noop"}]}}}', 70),
    (b'{"jsonrpc":"2.0","id":17,"method":"submit","params":{"graph":{'
     b'"nodes":[{"id":"\xf7\xbf\xbf\xbf","kind":"task","fn":"noop"}]}}}', 78),
]
for raw, off in bad:
    idtext = raw.split(b'"id":', 1)[1].split(b",", 1)[0]
    ans = exchange(raw)
    m = json.loads(ans)
    expect(m.get("error", {}).get("code") == -32600, "invalid UTF-8 refused", repr(raw), m)
    expect(m["error"]["message"] == "invalid UTF-8 at offset %d" % off, "names the offset", m)
    expect(ans.startswith(b'{"jsonrpc":"2.0","id":' + idtext + b','), "with the id", repr(ans))
# where the parser itself stops (a stray continuation byte): -32700, id null
m = json.loads(exchange(b'{"jsonrpc":"2.0","id":18,"method":"ping","params":{"x":"\x80"}}'))
expect(m["id"] is None and m["error"]["code"] == -32700 and
       m["error"]["message"] == "invalid UTF-8 at offset 56", "stray byte: parse error", m)
# the id itself invalid: answered with id null
m = json.loads(exchange(b'{"jsonrpc":"2.0","method":"ping","id":"\xed\xbf\xbf"}'))
expect(m["id"] is None and m["error"]["code"] == -32600, "bad id string: id null", m)
expect(rpc("list", {"all": True})["graphs"] == [], "no graph came from a bad request")

for idtext in (b"18446744073709551616", b"-9223372036854775809",
               b"123456789012345678901234567890", b"-0", b"1.50", b"1E400", b"7"):
    for body in (b'"method":"ping"', b'"method":"nosuch"',
                 b'"method":"submit","params":{"graph":{"nodes":[{"id":"n","kind":"task","fn":"noop"}]}}'):
        ans = exchange(b'{"jsonrpc":"2.0",' + body + b',"id":' + idtext + b"}")
        expect(ans.startswith(b'{"jsonrpc":"2.0","id":' + idtext + b","),
               "id echoed exactly", repr(idtext), repr(body), repr(ans))
ping_ok()
PY
coopd_stop
coopd_pass
