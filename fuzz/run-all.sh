#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one after another. New inputs go to a
# scratch corpus ($WORK/corpus/TARGET); the seeds in corpus/TARGET are read, never grown. Crashes
# land in artifacts/TARGET/ and stop that target's run; the summary line of each run is printed.
#   fuzz/run-all.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
EACH=${1:-600}
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(charset_and_feed html_text canonical_url dates topic_query)
fi
WORK=${FUZZ_WORK:-/tmp/vestnik-fuzz}
mkdir -p "$WORK"
RUSTC_BOOTSTRAP=1 cargo fuzz build --sanitizer none -O
for target in "${TARGETS[@]}"; do
  mkdir -p "$WORK/corpus/$target"
  status=0
  started=$SECONDS
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none -O "$target" "$WORK/corpus/$target" "corpus/$target" -- \
    -max_total_time="$EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$WORK/$target.log" 2>&1 || status=$?
  runs=$(awk '/stat::number_of_executed_units/{print $2}' "$WORK/$target.log")
  cov=$(grep -o 'cov: [0-9]*' "$WORK/$target.log" | tail -1)
  echo "$target: exit $status after $((SECONDS - started))s (build included), $runs inputs, $cov, $(ls "$WORK/corpus/$target" | wc -l) new corpus units"
  if [[ $status -ne 0 ]]; then grep -m5 -E 'panicked|ERROR|SUMMARY|Test unit written' "$WORK/$target.log" || true; fi
done
