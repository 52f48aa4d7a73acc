#!/usr/bin/env bash
# Whole-process timing at organisation scale (README: "Performance"): generates synthetic evidence of
# 1k and 10k accounts × 2 regions × 3 stack sets, then times `jq` listing the failed events and a whole
# `stackset-doctor diagnose --format json`, with peak memory. Usage: scripts/scale.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${TMPDIR:-/tmp}/stackset-doctor-scale}"
cargo build --release --quiet --example generate
cargo build --release --quiet
bin=target/release/stackset-doctor
for n in 1000 10000; do
  dir="$out/$n"
  [ -d "$dir/org-baseline-logging" ] || target/release/examples/generate "$n" "$dir"
  size=$(du -sm "$dir" | cut -f1)
  echo "== $n accounts ($size MB on disk)"
  # Warm the page cache so both tools read from memory.
  find "$dir" -type f -exec cat {} + > /dev/null
  start=$(date +%s.%N)
  find "$dir" -name 'describe-stack-events*' -print0 \
    | xargs -0 jq -c '(.StackEvents // [])[] | select(.ResourceStatus | test("FAILED"))' > /dev/null
  end=$(date +%s.%N)
  echo "jq (failed events only): $(echo "$end - $start" | bc) s"
  for i in 1 2 3; do
    /usr/bin/time -f "stackset-doctor (whole diagnosis, JSON): %e s, peak %M KB" \
      "$bin" diagnose --format json "$dir" 2>&1 > /dev/null | grep -v "warning\|exited with" || true
  done
done
