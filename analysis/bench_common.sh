# Shell helpers sourced by harness/bench-*.sh: their common opening, find python, run kvbench loudly.

# kvb_start: the opening every bench script shares, after KVBENCH=${1:?...}: KVBENCH must be an
# executable; sets PY (kvb_python), creates $BENCH_OUT and sets start (epoch seconds, for the total time).
kvb_start() {
  [ -x "$KVBENCH" ] || { echo "FAILED: $KVBENCH is not an executable (build it: make build)" >&2; exit 1; }
  PY=$(kvb_python) || exit 1
  mkdir -p "$BENCH_OUT"
  start=$(date +%s)
}

# kvb_python: print an interpreter that can import matplotlib (needed by report.py), or fail with a hint.
kvb_python() {
  local p
  for p in ${KV_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import matplotlib' >/dev/null 2>&1; then
      command -v "$p"; return 0
    fi
  done
  echo "error: no python3 that can import matplotlib (tried \$KV_PYTHON, /usr/bin/python3, python3);" \
       "install python3-matplotlib (Debian) or set KV_PYTHON" >&2
  return 1
}

# kvb_run LOG ARGS...: runs `$KVBENCH ARGS`, tees its output to LOG, fails loudly on a non-zero exit,
# and prints the run directory from the last `results: <dir>` line (the CLI contract) on stdout.
kvb_run() {
  local log=$1; shift
  echo "+ $KVBENCH $*" >&2
  local rc
  { "$KVBENCH" "$@" 2>&1; echo "$?" > "$log.rc"; } | tee "$log" >&2
  rc=$(cat "$log.rc")
  rm -f "$log.rc"
  local dir
  dir=$(grep '^results: ' "$log" | tail -1 | sed 's/^results: //')
  case $rc in
    0) ;;
    1) echo "FAILED: kvbench reported an engine error (exit 1); see $log" >&2; return 1 ;;
    2) echo "FAILED: kvbench usage error (exit 2): $*" >&2; return 1 ;;
    3) echo "FAILED: kvbench marked a run INVALID (wrong/missing/stale values, exit 3); results in ${dir:-?}" >&2
       return 1 ;;
    *) echo "FAILED: kvbench exited with status $rc; see $log" >&2; return 1 ;;
  esac
  if [ -z "$dir" ] || [ ! -f "$dir/manifest.json" ]; then
    echo "FAILED: kvbench did not print 'results: <run dir>' or the directory has no manifest.json" >&2
    return 1
  fi
  echo "$dir"
}

# kvb_check_valid DIR...: non-zero when any result JSON in the run dirs says "valid": false.
kvb_check_valid() {
  local bad="" d
  for d in "$@"; do
    bad="$bad$(grep -l '"valid" *: *false' "$d"/*.json 2>/dev/null | grep -v manifest.json || true)"
  done
  if [ -n "$bad" ]; then
    echo "FAILED: invalid results:" >&2
    echo "$bad" >&2
    return 1
  fi
}
