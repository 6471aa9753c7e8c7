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

# check_usage DESCRIPTION WORD ARGS...: `kvbench ARGS` must exit 2 with a "kvbench:" message on stderr
# (kept in $tmp/stderr) naming WORD, any case, and write no results into $out (set by the test).
# Counts a failure and returns 1 otherwise; prints nothing on success, so callers add their own checks.
check_usage() {
    local what=$1 word=$2
    shift 2
    "$KVBENCH" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    local rc=$?
    if [ $rc -ne 2 ]; then fail "$what: exit $rc, want 2 ($*)"; cat "$tmp/stderr"; return 1; fi
    if ! grep -q "kvbench:" "$tmp/stderr"; then fail "$what: no 'kvbench:' message on stderr"; return 1; fi
    if ! grep -qi -- "$word" "$tmp/stderr"; then fail "$what: message does not mention '$word':"; cat "$tmp/stderr"; return 1; fi
    if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then fail "$what: wrote results despite bad input"; rm -rf "$out"; return 1; fi
}
