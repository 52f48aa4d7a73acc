#!/usr/bin/env bash
# `explain` at jq speed (README: "Performance"): the whole command — process start, read, classify, write JSON
# lines — over N real messages (the held-apart corpus repeated; default 130,000), against `jq -R -c
# '{message: .}'`, which only wraps each line as JSON, on the same file, in one run. Each is run three times and
# the best kept. Exits 1 when explain is slower. Usage: scripts/explain-speed.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-130000}"
cargo build --release --quiet
bin=target/release/stackset-doctor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One message per line: a copied message's own line breaks become spaces.
jq -r '.message | gsub("[\r\n]+"; " ")' tests/corpus/holdout.jsonl > "$work/distinct.txt"
awk -v n="$n" '{ m[NR] = $0 } END { for (i = 0; i < n; i++) print m[i % NR + 1] }' "$work/distinct.txt" > "$work/messages.txt"
lines=$(wc -l < "$work/messages.txt")
distinct=$(sort -u "$work/messages.txt" | wc -l)
cat "$work/messages.txt" > /dev/null

best() { # best of three wall-clock times, in seconds, of "$@" < messages > /dev/null
  local b=""
  for _ in 1 2 3; do
    local s e t
    s=$(date +%s.%N)
    "$@" < "$work/messages.txt" > "$work/out" || [ $? -eq 4 ] # explain exits 4 when some message is unknown
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" -eq 1 ]; then b=$t; fi
  done
  echo "$b"
}

jq_s=$(best jq -R -c '{message: .}')
ex_s=$(best "$bin" explain --format json -)
out_lines=$(wc -l < "$work/out")
echo "messages: $lines ($distinct distinct)"
printf 'jq -R -c {message: .}:               %.3f s\n' "$jq_s"
printf 'stackset-doctor explain --format json: %.3f s (%s lines out)\n' "$ex_s" "$out_lines"
if [ "$out_lines" -ne "$lines" ]; then
  echo "explain wrote $out_lines lines for $lines messages" >&2
  exit 1
fi
if [ "$(echo "$ex_s > $jq_s" | bc)" -eq 1 ]; then
  echo "explain is slower than jq" >&2
  exit 1
fi
echo "explain is $(echo "scale=1; $jq_s / $ex_s" | bc)x jq's speed"
