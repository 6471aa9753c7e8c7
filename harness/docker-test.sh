#!/bin/bash
# Builds the Dockerfile with podman (bootstrapping debian:bookworm when absent), runs a short bench, checks it.
# usage: harness/docker-test.sh            (make docker-test; run as root or with sudo rights)
#        harness/docker-test.sh --print-mirror   (only print the mirror debootstrap would use)
#        harness/docker-test.sh --list-mirrors   (only list the active apt mirrors, no network)
# DT_APT_DIR (default /etc/apt) is where the apt sources are read (tests point it at a fake tree).
# env: DT_IMAGE (default kvbench:test), DT_RESULTS (host results dir, default a fresh temp dir),
#      BENCH_N (default 100000), BENCH_REPS (1), BENCH_SYNC_OPS (1000) passed into the container.
# Exit non-zero when any step fails or the results are missing or invalid.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
image=${DT_IMAGE:-kvbench:test}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
t0=$(date +%s)
step() { echo "=== [$(( $(date +%s) - t0 ))s] $*"; }

# The Debian mirrors this machine's apt really uses: deb822 "URIs:" lines and one-line "deb" entries,
# never comments (a commented snapshot URL may be unreachable). Security archives cannot bootstrap.
apt_dir=${DT_APT_DIR:-/etc/apt}
active_mirrors() {
  local f
  for f in "$apt_dir"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*URIs:[[:space:]]*//p' "$f" | tr ' \t' '\n\n'
  done
  for f in "$apt_dir"/sources.list "$apt_dir"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # "deb [options] URI suite ...": drop the optional [..] block, print the URI
    sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]*\)\?\([^[:space:]]\+\).*/\2/p' "$f"
  done
}

bootstrap_mirrors() {
  active_mirrors | grep -E '^(https?|ftp)://' | grep -v -- '-security' | awk '!seen[$0]++' || true
}

# First active mirror that serves bookworm's Release file; a clear message when none does.
pick_mirror() {
  local m tried=""
  for m in $(bootstrap_mirrors); do
    m=${m%/}
    tried="$tried $m"
    if curl -fsI -m 15 "$m/dists/bookworm/Release" >/dev/null 2>&1; then echo "$m"; return 0; fi
  done
  if [ -z "$tried" ]; then
    echo "FAILED: no active Debian mirror in $apt_dir/sources.list or $apt_dir/sources.list.d/ (deb822 URIs: or deb lines);" \
         "import a debian:bookworm image into podman by hand and re-run" >&2
  else
    echo "FAILED: none of the active apt mirrors serves dists/bookworm/Release:$tried;" \
         "check the network or import a debian:bookworm image into podman by hand" >&2
  fi
  return 1
}

if [ "${1:-}" = "--print-mirror" ]; then pick_mirror; exit; fi
if [ "${1:-}" = "--list-mirrors" ]; then bootstrap_mirrors; exit 0; fi

step "tools"
missing=""
for p in podman runc debootstrap curl; do command -v $p >/dev/null || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# runc as the runtime and generous ulimits: the engines open many files and threads
conf=/etc/containers/containers.conf
if [ ! -f "$conf" ]; then
  step "writing $conf"
  $SUDO mkdir -p /etc/containers
  printf '%s\n' '# written by kvbench harness/docker-test.sh' '[containers]' \
    'default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]' '' '[engine]' 'runtime = "runc"' \
    | $SUDO tee "$conf" >/dev/null
elif ! grep -q '^ *runtime *= *"runc"' "$conf" || ! grep -q 'nofile=20000:20000' "$conf"; then
  echo "note: $conf exists without runtime = \"runc\" / default_ulimits; passing them on the command line"
fi
podman_run=(podman --runtime runc)
ulimits=(--ulimit nofile=20000:20000 --ulimit nproc=20000:20000)


if ! podman image exists debian:bookworm; then
  step "bootstrapping debian:bookworm with debootstrap (minbase)"
  rootfs=$(mktemp -d /var/tmp/bookworm-rootfs.XXXXXX)
  trap '$SUDO rm -rf "$rootfs"' EXIT
  mirror=$(pick_mirror) || exit 1
  echo "mirror: $mirror"
  $SUDO debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > /tmp/debootstrap.log \
    || { tail -20 /tmp/debootstrap.log >&2; echo "FAILED: debootstrap (log /tmp/debootstrap.log)" >&2; exit 1; }
  $SUDO tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - debian:bookworm
  $SUDO rm -rf "$rootfs"
  trap - EXIT
fi

step "podman build -t $image"
tb=$(date +%s)
"${podman_run[@]}" build "${ulimits[@]}" -t "$image" -f "$root/Dockerfile" "$root"
build_s=$(( $(date +%s) - tb ))

res=${DT_RESULTS:-$(mktemp -d /tmp/kvbench-docker-results.XXXXXX)}
mkdir -p "$res"
step "short bench in the container (results -> $res)"
tr=$(date +%s)
mkdir -p "$res/data"   # engine data on the host's filesystem (the overlay of a --rm container is volatile)
"${podman_run[@]}" run --rm "${ulimits[@]}" -v "$res:/results" -v "$res/data:/data" \
  -e BENCH_N="${BENCH_N:-100000}" -e BENCH_REPS="${BENCH_REPS:-1}" -e BENCH_SYNC_OPS="${BENCH_SYNC_OPS:-1000}" \
  "$image"
run_s=$(( $(date +%s) - tr ))

step "checking results"
runs=$(find "$res" -mindepth 2 -maxdepth 2 -name manifest.json | wc -l)
[ "$runs" -ge 1 ] || { echo "FAILED: no run directory with manifest.json in $res" >&2; exit 1; }
nres=$(find "$res" -mindepth 2 -maxdepth 2 -name '*-r[0-9]*.json' | wc -l)
[ "$nres" -ge 1 ] || { echo "FAILED: no result JSON in $res" >&2; exit 1; }
if grep -l '"valid" *: *false' $(find "$res" -mindepth 2 -maxdepth 2 -name '*-r[0-9]*.json'); then
  echo "FAILED: invalid results (above)" >&2; exit 1
fi
for m in $(find "$res" -mindepth 2 -maxdepth 2 -name manifest.json); do
  /usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])).get("container") or {}; sys.exit(0 if c.get("packages") else 1)' "$m" \
    || { echo "FAILED: $m has no container.packages (dpkg-query versions of the image)" >&2; exit 1; }
done
report=$(find "$res" -path '*/report/report.md' | head -1)
[ -n "$report" ] && [ -s "$(dirname "$report")/reproduction.md" ] \
  || { echo "FAILED: report/report.md or reproduction.md missing in $res" >&2; exit 1; }
nfig=$(find "$res" -path '*/report/figures/*.pdf' | wc -l)
[ "$nfig" -ge 1 ] || { echo "FAILED: no figures in the report" >&2; exit 1; }
echo "docker-test: OK: $runs run dir(s), $nres results, $nfig figures; image build ${build_s}s, bench ${run_s}s," \
     "total $(( $(date +%s) - t0 ))s; results in $res"
