#!/usr/bin/env bash
# test-slurm.sh - a single-node Slurm cluster on this machine (munge, slurmctld, slurmd from Debian's
# packages, a generated slurm.conf, everything under one temp directory and on private ports), a 2-engine
# x 2-N sweep submitted as a job array through harness/slurm/submit.sh, merged with `kvbench merge`,
# and the merged summary.csv checked against the union of the cells'. Then the same plan run locally
# (`--run-local`) for the wall-time comparison. Run as root (make test-slurm; CI runs it after make test).
# usage: harness/slurm/test-slurm.sh [KVBENCH]      env: SLURM_TEST_N (default 20000,100000)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
KVBENCH=${1:-$root/build/kvbench}
N=${SLURM_TEST_N:-20000,100000}
PY=/usr/bin/python3
[ -x "$KVBENCH" ] || { echo "FAIL: $KVBENCH is not executable (make build)"; exit 1; }
for t in munged mungekey slurmctld slurmd sbatch squeue; do
  command -v $t >/dev/null || PATH=$PATH:/usr/sbin
  command -v $t >/dev/null || { echo "FAIL: $t not found: install slurm-wlm and munge (make deps-slurm)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "FAIL: the single-node cluster runs its daemons as root; run as root"; exit 1; }

T=$(mktemp -d /tmp/kvb-slurm-XXXXXX)
chmod 755 "$T"
fails=0; passes=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; passes=$((passes + 1)); }
stop() {
  for p in slurmd slurmctld munged; do [ -f "$T/$p.pid" ] && kill "$(cat "$T/$p.pid")" 2>/dev/null; done
  sleep 1
  if [ $fails != 0 ]; then for l in "$T"/log/*.log; do echo "--- $l"; tail -20 "$l"; done; fi
  [ -n "${KEEP_T:-}" ] || rm -rf "$T"
}
trap stop EXIT

# --- the cluster: munge with its own key and socket, slurm on ports 16817/16818, state in $T ---
mkdir -p "$T/state" "$T/spool" "$T/log"
mungekey -c -k "$T/munge.key" >/dev/null 2>&1 || dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$T/munge.key"
munged --force --socket="$T/munge.sock" --key-file="$T/munge.key" --pid-file="$T/munged.pid" \
  --log-file="$T/log/munged.log" --seed-file="$T/munge.seed" || { fail "munged did not start"; exit 1; }
host=$(hostname -s)
cat > "$T/slurm.conf" <<CONF
ClusterName=kvbtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=kvb Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -i || { fail "slurmctld did not start"; exit 1; }
slurmd || { fail "slurmd did not start"; exit 1; }
for i in $(seq 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %T | grep -q idle && ok "single-node cluster up ($host)" || { fail "the node never became idle"; sinfo; exit 1; }

# --- a 2-engine x 2-N sweep as a plan, submitted as one array, merged ---
"$KVBENCH" sweep -e memory,lmdb -w read -n "$N" --reps 1 --ops 20000 --seed 3 -q --plan "$T/plan" 2>"$T/err" \
  || { fail "plan: $(cat "$T/err")"; exit 1; }
cells=$(wc -l < "$T/plan/cells.txt")
t0=$(date +%s.%N)
job=$(KVB_LOCAL="$T/scratch" "$root/harness/slurm/submit.sh" "$T/plan" --kvbench "$KVBENCH" --wait 2>"$T/err")
rc=$?
slurm_s=$(echo "$(date +%s.%N) - $t0" | bc)
[ $rc = 0 ] && ok "job array $job: $cells cells ran (sbatch --wait), ${slurm_s}s" \
  || { fail "submit/wait: exit $rc: $(cat "$T/err")"; cat "$T"/plan/slurm/*.out 2>/dev/null | tail -20; }
"$KVBENCH" merge --out "$T/merged" "$T/plan" > "$T/merge.out" 2>"$T/err" || fail "merge: $(cat "$T/err")"
run=$(sed -n 's/^results: //p' "$T/merge.out")
rows() { for f in "$@"; do tail -n +2 "$f"; done | sort; }
if [ -f "$run/summary.csv" ] && cmp -s <(rows "$T"/plan/cells/*/*/summary.csv) <(rows "$run/summary.csv"); then
  ok "merged summary.csv ($(tail -n +2 "$run/summary.csv" | wc -l) rows) = union of the $cells cells"
else
  fail "merged summary.csv is not the union of the cells"
fi
"$PY" - "$run" "$cells" <<'PYEOF' && ok "merged manifest names the cells and their machine" || fail "merged manifest"
import json, os, sys
m = json.load(open(os.path.join(sys.argv[1], "manifest.json")))["merged"]
assert len(m["manifests"]) == int(sys.argv[2]) and not m["missing"], m
assert len(m["machines"]) == 1
PYEOF
grep -q "kvbench cell" "$T"/plan/slurm/kvbench-*_0.out && ok "array task logs in plan/slurm/" || fail "no task logs"

# --- a failing submission shows sbatch's own output ---
"$root/harness/slurm/submit.sh" "$T/plan" --kvbench "$KVBENCH" -- --partition=nosuchpartition >/dev/null 2>"$T/err"
rc=$?
[ $rc = 1 ] && grep -q "sbatch:" "$T/err" && ok "failed submission shows sbatch's output: $(grep sbatch: "$T/err" | head -1)" \
  || fail "failed submission: exit $rc: $(cat "$T/err")"

# --- the same plan run locally, for the wall-time comparison ---
"$KVBENCH" sweep -e memory,lmdb -w read -n "$N" --reps 1 --ops 20000 --seed 3 -q --plan "$T/plan-local" 2>/dev/null
t0=$(date +%s.%N)
"$KVBENCH" sweep --plan "$T/plan-local" --run-local --out "$T/merged-local" >/dev/null 2>"$T/err" || fail "run-local: $(cat "$T/err")"
local_s=$(echo "$(date +%s.%N) - $t0" | bc)
echo "wall time: slurm ${slurm_s}s (submit to last cell), local ${local_s}s, $cells cells"

echo "$passes passed, $fails failed"
[ $fails = 0 ]
