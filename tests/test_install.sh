#!/bin/bash
# test_install.sh - `cmake --install` (what `make install PREFIX=...` runs) into a temporary prefix,
# then build examples/hello_alexstorage.c against the installed copy through pkg-config, shared and
# static, run both, and check the installed library: a soname, and only as_* symbols exported.
set -euo pipefail
SRC=${KV_SOURCE_DIR:?} BUILD=${KV_BUILD_DIR:?}
PREFIX=$(mktemp -d /tmp/as_install_XXXXXX)
trap 'rm -rf "$PREFIX"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$PREFIX" > "$PREFIX/install.log" || { cat "$PREFIX/install.log"; fail "cmake --install"; }
for f in include/alexstorage.h bin/alexstorage; do [ -e "$PREFIX/$f" ] || fail "$f not installed"; done
LIB=$(dirname "$(find "$PREFIX" -name libalexstorage.a | head -1)")
[ -n "$LIB" ] && [ -e "$LIB/libalexstorage.so" ] && [ -e "$LIB/pkgconfig/alexstorage.pc" ] || fail "library files missing under $PREFIX"

# The soname carries the major version; the dynamic symbol table holds only the public API.
readelf -d "$LIB/libalexstorage.so" | grep -q 'SONAME.*libalexstorage\.so\.0\]' || fail "no soname libalexstorage.so.0"
syms=$(nm -D --defined-only "$LIB/libalexstorage.so" | awk '{print $3}')
[ -n "$syms" ] || fail "no exported symbols"
bad=$(echo "$syms" | grep -v '^as_' || true)
[ -z "$bad" ] || fail "exported symbols outside as_*: $bad"
for f in as_open as_get as_put as_scan as_close; do echo "$syms" | grep -qx "$f" || fail "$f not exported"; done
# Internal helpers stay hidden although they are named as_* too.
! echo "$syms" | grep -qx 'as_rec_check' || fail "internal as_rec_check exported"

# Sanitized builds: the example needs the same runtime as the library.
SAN=""
grep -q '^KV_ASAN:BOOL=ON' "$BUILD/CMakeCache.txt" && SAN="-fsanitize=address,undefined"
export PKG_CONFIG_PATH="$LIB/pkgconfig"
pkg-config --exists alexstorage || fail "pkg-config does not find alexstorage.pc"
[ "$(pkg-config --modversion alexstorage)" = "$(sed -n 's/#define AS_VERSION_STRING "\(.*\)"/\1/p' "$SRC/engines/alexstorage/alexstorage.h")" ] \
  || fail "alexstorage.pc version differs from alexstorage.h"
cc -std=c11 -Wall -Wextra -Werror $SAN "$SRC/examples/hello_alexstorage.c" $(pkg-config --cflags --libs alexstorage) \
  -o "$PREFIX/hello" || fail "example does not build against the installed shared library"
cc -std=c11 -Wall -Wextra -Werror $SAN "$SRC/examples/hello_alexstorage.c" $(pkg-config --cflags alexstorage) \
  "$LIB/libalexstorage.a" $(pkg-config --static --libs-only-l alexstorage | sed 's/-lalexstorage//') \
  -o "$PREFIX/hello_static" || fail "example does not build against the installed static library"
readelf -d "$PREFIX/hello" | grep -q 'NEEDED.*libalexstorage\.so\.0' || fail "example is not linked to the shared library"

out=$(LD_LIBRARY_PATH="$LIB" "$PREFIX/hello" "$PREFIX/store1") || fail "example (shared) failed: $out"
echo "$out" | grep -q 'get 10 -> hallo' || fail "example output: $out"
echo "$out" | grep -q '^2 records' || fail "example output: $out"
out=$("$PREFIX/hello_static" "$PREFIX/store2") || fail "example (static) failed: $out"
echo "$out" | grep -q '  0 = hello' || fail "example output: $out"

# The installed tool works on what the example wrote.
"$PREFIX/bin/alexstorage" check "$PREFIX/store1" | grep -q clean || fail "installed tool: check"
"$PREFIX/bin/alexstorage" stats --help | grep -q 'usage: alexstorage stats' || fail "installed tool: --help"
echo "install test passed: $(echo "$syms" | wc -l) exported as_* symbols, soname libalexstorage.so.0"
