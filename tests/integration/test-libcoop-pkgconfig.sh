#!/bin/sh
# libcoop as a C programmer gets it (issue 18): `make install DESTDIR=...`
# puts coop.h, the library and libcoop.pc in the tree, and
# examples/scope-demo.c builds against that installed tree with nothing but
# `pkg-config --cflags --libs libcoop` (the source tree's lib/ is not on the
# include path) and runs, loading the installed library.  The same install
# carries the graph schema and coopd.graph(5).
. "$(dirname "$0")/../lib-coopd.sh"

command -v pkg-config >/dev/null 2>&1 || skip "pkg-config not installed"
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || skip "no C compiler ($CC)"

DEST=$COOPD_TMP/root
# A make of its own: not the jobserver of the `make check` that runs us.
(cd "$top_builddir" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make install DESTDIR="$DEST") \
	>"$COOPD_TMP/install.log" 2>&1 || {
	cat "$COOPD_TMP/install.log" >&2
	fail "make install DESTDIR=$DEST failed"
}

pc=$(find "$DEST" -name libcoop.pc)
[ -n "$pc" ] || fail "libcoop.pc is not installed"
[ "$(printf '%s\n' "$pc" | wc -l)" -eq 1 ] || fail "several libcoop.pc: $pc"
libdir=$(sed -n 's/^libdir=//p' "$pc")
includedir=$(sed -n 's/^includedir=//p' "$pc")
[ "$pc" = "$DEST$libdir/pkgconfig/libcoop.pc" ] ||
	fail "libcoop.pc at $pc, not in \$libdir/pkgconfig ($libdir)"
[ -f "$DEST$includedir/coop.h" ] || fail "coop.h not in the .pc's includedir $includedir"
ls "$DEST$libdir"/libcoop.so* >/dev/null 2>&1 || fail "no libcoop.so in $libdir"
find "$DEST" -path '*/coopd/coopd-graph.schema.json' | grep -q . ||
	fail "the graph schema is not installed"
find "$DEST" -path '*/man5/coopd.graph.5' | grep -q . || fail "coopd.graph(5) is not installed"

# Only the installed tree: PKG_CONFIG_LIBDIR replaces the system's search
# path, PKG_CONFIG_SYSROOT_DIR prefixes the .pc's paths with DESTDIR.
export PKG_CONFIG_SYSROOT_DIR="$DEST" PKG_CONFIG_PATH="$DEST$libdir/pkgconfig"
export PKG_CONFIG_LIBDIR="$DEST$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs libcoop) || fail "pkg-config does not know libcoop"
case "$flags" in
*"-I$DEST$includedir"*"-L$DEST$libdir"*"-lcoop"*) ;;
*) fail "unexpected flags: $flags" ;;
esac
[ "$(pkg-config --modversion libcoop)" = "$(sed -n 's/^Version: //p' "$pc")" ] ||
	fail "modversion does not match"

# A sanitized build's library needs the sanitizer runtime in the program too.
san=$(sed -n 's/^SAN_CFLAGS = //p' "$top_builddir/Makefile")
# scope-demo.c includes "coop.h": copied alone, nothing but -I finds it.
cp "$top_srcdir/examples/scope-demo.c" "$COOPD_TMP/"
# shellcheck disable=SC2086
"$CC" -std=c11 $san -o "$COOPD_TMP/scope-demo" "$COOPD_TMP/scope-demo.c" $flags \
	>"$COOPD_TMP/cc.log" 2>&1 || {
	cat "$COOPD_TMP/cc.log" >&2
	fail "scope-demo.c does not build with: $flags"
}

LD_LIBRARY_PATH="$DEST$libdir" "$COOPD_TMP/scope-demo" >"$COOPD_TMP/demo.out" 2>&1 || {
	cat "$COOPD_TMP/demo.out" >&2
	fail "scope-demo exited non-zero"
}
grep -q '^sum of 0..99999 = 4999950000 (expected 4999950000)$' "$COOPD_TMP/demo.out" ||
	fail "scope-demo printed: $(cat "$COOPD_TMP/demo.out")"
# The program ran on the installed library, not on the build tree's.
LD_LIBRARY_PATH="$DEST$libdir" ldd "$COOPD_TMP/scope-demo" | grep -q "libcoop.so.* => $DEST$libdir/" ||
	fail "scope-demo does not load the installed libcoop: $(LD_LIBRARY_PATH="$DEST$libdir" ldd "$COOPD_TMP/scope-demo")"

coopd_pass
