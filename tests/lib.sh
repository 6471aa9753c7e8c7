# tests/lib.sh - the preamble the shell tests share, sourced as `. "$(dirname "$0")/lib.sh" NAME`:
# KVBENCH (the binary under test), SRC (the source tree), PY (Debian's python3, which has matplotlib),
# tmp (a scratch directory kvb-NAME-*, removed on exit), the failure counter fails with fail MESSAGE,
# and last_run LOG (the results directory the last run in LOG printed).
KVBENCH=${KVBENCH:-${KV_BUILD_DIR:-build}/kvbench}
SRC=${KV_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvb-${1:-test}-XXXXXX") || { echo "FAIL: cannot create a scratch directory"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
last_run() { tail -1 "$1" | sed -n 's/^results: //p'; }
