#!/usr/bin/env bash
# The delivery benchmark (bench/delivery.py) of two revisions, run alternately in checkouts side by side.
#
#   bench/compare.sh REV_A REV_B [--runs N] [-- BENCH_ARGS...]
#
# REV_A / REV_B: anything `git rev-parse` takes (a commit, a branch, main~3), or `.` for this checkout
# as it is (uncommitted changes included). Each revision is checked out detached into
# ${TMPDIR:-/tmp}/bizportal-compare/<commit> (with this checkout's .venv linked in and this checkout's
# bench/delivery.py, worker.py and receiver.py copied over its own, so one script measures both) and
# removed afterwards.
# The benchmark runs N times (default 2) per revision, alternating A, B, A, B, ..., each time with
# BENCH_ARGS (default: --workers 1 2 --filings 2000 --repeat 2) and a freshly rebuilt database
# (BIZPORTAL_BENCH_DATABASE_URL, default bench/delivery.py's bizportal_bench; use one nobody else uses).
# The machine's load average is noted before each run. Each run's full output goes to
# ${TMPDIR:-/tmp}/bizportal-compare/compare-<time>.log; at the end a table of deliveries/s per run
# and of the worker processes' CPU time per delivery (median of that run's rounds, min-max in brackets)
# per revision and worker count. The CPU time suffers less from other processes on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 2 ] || usage
REV_A=$1 REV_B=$2
shift 2
RUNS=2
while [ $# -gt 0 ]; do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
BENCH_ARGS=("$@")
[ ${#BENCH_ARGS[@]} -gt 0 ] || BENCH_ARGS=(--workers 1 2 --filings 2000 --repeat 2)
if [ -n "${BIZPORTAL_BENCH_DATABASE_URL:-}" ]; then
  BENCH_ARGS+=(--database-url "$BIZPORTAL_BENCH_DATABASE_URL")
fi

WORK="${TMPDIR:-/tmp}/bizportal-compare"
mkdir -p "$WORK"
LOG="$WORK/compare-$(date +%Y%m%d-%H%M%S).log"
RESULTS="$WORK/results-$$.jsonl"
: > "$RESULTS"
CREATED=()
cleanup() {
  for dir in "${CREATED[@]}"; do git -C "$ROOT" worktree remove --force "$dir" >/dev/null 2>&1 || true; done
  rm -f "$RESULTS"
}
trap cleanup EXIT

# checkout REV: sets DIR to the directory to run the benchmark in (not in a subshell: CREATED must grow)
checkout() {
  if [ "$1" = "." ]; then DIR=$ROOT; return; fi
  local sha
  sha=$(git -C "$ROOT" rev-parse --verify "$1^{commit}")
  DIR="$WORK/$sha"
  if [ ! -d "$DIR" ]; then
    git -C "$ROOT" worktree add --detach "$DIR" "$sha" >/dev/null
    ln -s "$(readlink -f "$ROOT/.venv")" "$DIR/.venv"
    CREATED+=("$DIR")
  fi
  # the same benchmark scripts (this checkout's) measure both revisions
  cp "$ROOT"/bench/delivery.py "$ROOT"/bench/worker.py "$ROOT"/bench/receiver.py "$DIR/bench/"
}
label() { if [ "$1" = "." ]; then echo ". ($(git -C "$ROOT" rev-parse --short HEAD)+changes)"; else
  echo "$1 ($(git -C "$ROOT" rev-parse --short "$1^{commit}"))"; fi; }

checkout "$REV_A"; DIR_A=$DIR
checkout "$REV_B"; DIR_B=$DIR
LABEL_A=$(label "$REV_A")
LABEL_B=$(label "$REV_B")
echo "bench/compare.sh: A = $LABEL_A, B = $LABEL_B; $RUNS run(s) each, alternating; args: ${BENCH_ARGS[*]}" | tee "$LOG"
echo "log: $LOG"

for run in $(seq 1 "$RUNS"); do
  for side in A B; do
    if [ $side = A ]; then dir=$DIR_A name=$LABEL_A; else dir=$DIR_B name=$LABEL_B; fi
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "== run $run, $side: $name, load average $load" | tee -a "$LOG"
    out=$(cd "$dir" && .venv/bin/python bench/delivery.py "${BENCH_ARGS[@]}" --json 2>&1) || {
      echo "$out" >> "$LOG"; echo "bench/delivery.py failed in $dir; see $LOG" >&2; exit 1; }
    echo "$out" >> "$LOG"
    echo "$out" | grep -v -e '^{' -e 'alembic.runtime.migration' | sed 's/^/   /'
    json=$(echo "$out" | grep '^{' | tail -1)
    echo "{\"run\": $run, \"side\": \"$side\", \"load\": \"$load\", \"result\": $json}" >> "$RESULTS"
  done
done

.venv/bin/python - "$RESULTS" "$LABEL_A" "$LABEL_B" <<'EOF' | tee -a "$LOG"
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
names = {"A": sys.argv[2], "B": sys.argv[3]}
counts = sorted({int(w) for r in rows for w in r["result"]["workers"]})
print()
print("deliveries/s and worker CPU ms per delivery, median of each run's rounds (min-max);")
print("bare loop = one thread, same adapter, no database")
cols = (["run", "load before", "bare loop /s"] + [f"{w} worker(s) /s" for w in counts]
        + [f"{w} worker(s) CPU ms" for w in counts])


def cell(values, digits=0):
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


for side in "AB":
    print(f"\n{side}: {names[side]}")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    per_count = {w: [] for w in counts}
    cpu_count = {w: [] for w in counts}
    for r in (r for r in rows if r["side"] == side):
        res = r["result"]
        cells = [str(r["run"]), r["load"].split()[0], cell(res["bare"])]
        for w in counts:
            per_count[w].extend(res["workers"][str(w)])
            cells.append(cell(res["workers"][str(w)]))
        for w in counts:
            ms = res.get("cpu_ms", {}).get(str(w))
            cpu_count[w].extend(ms or [])
            cells.append(cell(ms, 2) if ms else "-")
        print("| " + " | ".join(cells) + " |")
    print("all rounds: " + "; ".join(
        f"{w} worker(s) median {statistics.median(v):.0f} /s"
        + (f", {statistics.median(cpu_count[w]):.2f} CPU ms" if cpu_count[w] else "")
        for w, v in per_count.items()))
EOF
