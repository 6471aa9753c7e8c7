#!/bin/bash
# harness/docker-test.sh takes debootstrap's mirror from ACTIVE apt source lines only: deb822 "URIs:"
# and non-comment "deb" lines; a snapshot URL in a comment (unreachable here) and security archives are
# never used; no active line -> a clear FAILED message. No network needed (--list-mirrors).
set -euo pipefail
src=${KV_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
dt=$src/harness/docker-test.sh
mkdir -p "$tmp/apt/sources.list.d"
cat > "$tmp/apt/sources.list.d/debian.sources" <<'SRC'
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
SRC
cat > "$tmp/apt/sources.list" <<'SRC'
# deb http://commented.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example.net/debian/ bookworm main
deb-src http://src.example.net/debian bookworm main
SRC
got=$(DT_APT_DIR=$tmp/apt bash "$dt" --list-mirrors)
want=$'http://deb.debian.org/debian\nhttp://mirror.example.net/debian/'
[ "$got" = "$want" ] || fail "active mirrors: got [$got], want [$want]"
grep -q snapshot <<<"$got" && fail "a commented snapshot URL was taken"

# nothing active: a clear message, non-zero exit
mkdir -p "$tmp/none/sources.list.d"
printf '# deb http://snapshot.debian.org/archive/debian/20250520T000000Z bookworm main\n' > "$tmp/none/sources.list"
rc=0; DT_APT_DIR=$tmp/none bash "$dt" --print-mirror > "$tmp/out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "--print-mirror succeeded without an active mirror"
grep -q "FAILED: no active Debian mirror" "$tmp/out" || fail "no clear message: $(cat "$tmp/out")"
echo "PASS: docker-test mirror selection"
