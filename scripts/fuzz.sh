#!/usr/bin/env bash
# Runs each fuzz target (webhook path, diff parser, config parser) for a short while.
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable toolchain use them.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
LOG="$(mktemp)"
for target in webhook diff config; do
  echo "== fuzzing $target for ${SECONDS_PER_TARGET}s"
  mkdir -p "fuzz/corpus/$target"
  set +e
  cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -print_final_stats=1 >"$LOG" 2>&1
  status=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY)" "$LOG" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$LOG"
    echo "fuzz target $target failed"
    exit 1
  fi
done
echo "no crash in any target"
