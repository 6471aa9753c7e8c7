#!/bin/bash
# submit.sh - submits every cell of a kvbench plan as one Slurm job array, and shows sbatch's own output
# when the submission fails.
# usage: harness/slurm/submit.sh PLAN_DIR [--parallel K] [--kvbench PATH] [--wait] [-- SBATCH_ARGS...]
#   --parallel K   at most K cells at once (default 1: cells on one node would measure each other)
#   --kvbench PATH the kvbench binary the nodes run (default: the one next to this script's build/)
#   --wait         block until every cell has finished; exit non-zero if a cell left no results
# Prints the job id. Exit: 0 submitted (or, with --wait, all cells done); 1 sbatch failed; 2 bad usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
plan=${1:-}; [ -n "$plan" ] && [ "${plan#-}" = "$plan" ] || usage
shift
parallel=1; kvbench="$here/../../build/kvbench"; wait=0; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --parallel) parallel=${2:?--parallel needs a number}; shift 2 ;;
    --kvbench) kvbench=${2:?--kvbench needs a path}; shift 2 ;;
    --wait) wait=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "submit.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[ -f "$plan/cells.txt" ] || { echo "submit.sh: $plan/cells.txt not found: write a plan with kvbench sweep ... --plan $plan" >&2; exit 2; }
[ -x "$kvbench" ] || { echo "submit.sh: $kvbench is not an executable kvbench (pass --kvbench PATH)" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found: is Slurm installed here? (or run: kvbench sweep --plan $plan --run-local)" >&2; exit 1; }
plan=$(cd "$plan" && pwd); kvbench=$(cd "$(dirname "$kvbench")" && pwd)/$(basename "$kvbench")
n=$(wc -l < "$plan/cells.txt")
[ "$n" -gt 0 ] || { echo "submit.sh: the plan has no cells" >&2; exit 2; }
mkdir -p "$plan/slurm"
out=$(sbatch --parsable --array=0-$((n - 1))%"$parallel" --chdir="$plan/slurm" \
        --output="$plan/slurm/kvbench-%A_%a.out" --export=ALL,KVB_PLAN="$plan",KVBENCH="$kvbench" \
        "${extra[@]}" "$here/kvbench.sbatch" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
  echo "submit.sh: sbatch failed (exit $rc); its output:" >&2
  echo "$out" | sed 's/^/  sbatch: /' >&2
  exit 1
fi
job=$(echo "$out" | tail -1)
echo "$job"
[ "$wait" = 1 ] || exit 0
# Poll the queue ourselves: sbatch --wait backs off to half-minute polls, which would dominate a
# sweep of short cells. A cell that finished without a run directory failed: its log says why.
while squeue -h -j "$job" 2>/dev/null | grep -q .; do sleep 1; done
bad=0
for ((i = 0; i < n; i++)); do
  if ! ls "$plan/cells/$i"/*/manifest.json >/dev/null 2>&1; then
    echo "submit.sh: cell $i left no results; its log: $plan/slurm/kvbench-${job}_$i.out" >&2
    bad=1
  fi
done
exit $bad
