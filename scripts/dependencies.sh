#!/usr/bin/env bash
# Cross-stack-set links at organisation scale (README: "Performance"): three stack sets deployed to N accounts
# (default 10,000), each using what the one before creates — a KMS alias, an exported topic, a role, a log group —
# the foundation failing in 3% of the accounts. Times, in one run, `jq` merely listing the failed events of the
# files and the whole `stackset-doctor diagnose --format json` (three runs, with peak memory), and checks the
# diagnosis: every consumer failure explained by the foundation (exit 1 when one is left a root cause).
# Usage: scripts/dependencies.sh [ACCOUNTS] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
out="${2:-${TMPDIR:-/tmp}/stackset-doctor-dependencies}/$n"
cargo build --release --quiet --example generate
cargo build --release --quiet
bin=target/release/stackset-doctor
[ -d "$out/org-foundation" ] || target/release/examples/generate --dependencies "$n" "$out"
echo "== $n accounts x 3 stack sets ($(du -sm "$out" | cut -f1) MB on disk)"
find "$out" -type f -exec cat {} + > /dev/null
start=$(date +%s.%N)
find "$out" -name 'describe-stack-events*' -print0 \
  | xargs -0 jq -c '(.StackEvents // [])[] | select(.ResourceStatus | test("FAILED"))' > /dev/null
end=$(date +%s.%N)
printf 'jq (failed events only):                 %.2f s\n' "$(echo "$end - $start" | bc)"
for _ in 1 2 3; do
  /usr/bin/time -f "stackset-doctor diagnose --format json:   %e s, peak %M KB" \
    "$bin" diagnose --format json "$out" 2>&1 > "$out.report.json" | grep -v "exited with" || true
done
jq -r '"failures: \(.summary.failures), root causes: \(.summary.root_causes), accounts with failures: \(.summary.accounts | length), links across stack sets: \([.failures[] | select(.link.kind == "template-reference")] | length)"' "$out.report.json"
# The diagnosis, checked: every failure belongs to a root cause, and the only root causes outside the foundation
# are the generator's independent ones (a log group name already taken); a consumer failure ("not found",
# "invalid principal", a missing export) left as its own root cause means a link was missed.
jq -e '
  ([.failures[] | select(.root_cause == null)] | length) == 0
  and ([.root_causes[] | select(.stack_set != "org-foundation" and .category != "already-exists")] | length) == 0
' "$out.report.json" > /dev/null || { echo "diagnosis check failed: a consumer failure is its own root cause" >&2; exit 1; }
echo "diagnosis check: every consumer failure traced to the foundation"
