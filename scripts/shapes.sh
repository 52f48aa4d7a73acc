#!/usr/bin/env bash
# Whole-command timing of two shapes that once blew up (README: "Performance"), each against jq on the same
# files in the same run:
#   - one stack set rolled out to 10,000 accounts: 500 fail, 9,500 are cancelled by failure tolerance
#     (stackset-doctor's JSON report vs jq merely listing the failed and cancelled results);
#   - the same at 20,000 accounts, 21,001 failures, as a Markdown ticket (vs jq printing one Markdown table
#     row per result).
# Each command runs 3 times; the median wall time is printed. Usage: scripts/shapes.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${TMPDIR:-/tmp}/stackset-doctor-shapes}"
cargo build --release --quiet --example generate
cargo build --release --quiet
bin=target/release/stackset-doctor

# Median of three wall-clock runs of a command (stdout discarded), in seconds.
median3() {
  local times=()
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

for n in 10000 20000; do
  dir="$out/$n"
  [ -d "$dir/org-guardrails-baseline" ] || target/release/examples/generate --tolerance "$n" "$dir" > /dev/null
  results="$dir/org-guardrails-baseline/list-stack-set-operation-results.json"
  find "$dir" -type f -exec cat {} + > /dev/null
  echo "== one stack set, $n accounts, 1 in 20 failed, the rest cancelled by failure tolerance ($(du -sm "$dir" | cut -f1) MB)"
  jq_list=$(median3 jq -c '.Summaries[] | select(.Status != "SUCCEEDED")' "$results")
  json=$(median3 "$bin" diagnose --format json "$dir")
  echo "jq listing the failed and cancelled results: ${jq_list} s"
  echo "stackset-doctor diagnose --format json:      ${json} s ($("$bin" diagnose --format json "$dir" | wc -c) bytes)"
  jq_md=$(median3 jq -r '.Summaries[] | "| \(.Account) | \(.Region) | \(.Status) | \(.StatusReason) |"' "$results")
  md=$(median3 "$bin" diagnose --format markdown "$dir")
  echo "jq printing a Markdown row per result:       ${jq_md} s"
  echo "stackset-doctor diagnose --format markdown:  ${md} s ($("$bin" diagnose --format markdown "$dir" | wc -c) bytes)"
done
