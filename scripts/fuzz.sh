#!/usr/bin/env bash
# Fuzz every parser (fuzz/fuzz_targets/) for SECONDS each (default 60), one job each, with the README's limits: a
# run over 5 s or 2 GB counts as a finding. Needs a nightly toolchain; installs the pinned cargo-fuzz if missing.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   scripts/fuzz.sh --seed     # add the repository's inputs to fuzz/corpus/ (scripts/fuzz-seeds.py), then --cmin
#   scripts/fuzz.sh --cmin     # minimise fuzz/corpus/ after a run, before committing it
# One libFuzzer process per target (as -jobs=1, without its log file), final stats (executions, exec/s) on stderr.
# Findings land in fuzz/artifacts/<target>/; minimise one with `cargo +nightly fuzz tmin <target> FILE`, commit it
# under tests/fixtures/fuzz/<target>/ (tests/fuzz_regressions.rs runs every file there).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
# No sanitizer: the crate has no unsafe code, so AddressSanitizer would only slow every run;
# debug assertions on, so an arithmetic overflow is a finding too.
FLAGS=(--sanitizer none --debug-assertions)
TARGETS=(unwrap classify offline scp_policy yaml event)

# Keep the fewest inputs that cover every edge (not every hit count): a small corpus to commit and replay in CI.
cmin() {
    cargo +nightly fuzz cmin "${FLAGS[@]}" "$1" "fuzz/corpus/$1" -- \
        -set_cover_merge=1 -use_counters=0 -max_len=65536 -rss_limit_mb=2048 -timeout=5
}
if [[ "${1:-}" == "--seed" ]]; then
    seeds=$(mktemp -d)
    trap 'rm -rf "$seeds"' EXIT
    python3 scripts/fuzz-seeds.py "$seeds"
    for t in "${TARGETS[@]}"; do
        mkdir -p "fuzz/corpus/$t"
        cp "$seeds/$t"/* "fuzz/corpus/$t/"
        cmin "$t"
    done
    exit 0
fi
if [[ "${1:-}" == "--cmin" ]]; then
    for t in "${TARGETS[@]}"; do cmin "$t"; done
    exit 0
fi

SECONDS_EACH=${1:-60}
shift || true
if (($#)); then TARGETS=("$@"); fi
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    cargo +nightly fuzz run "${FLAGS[@]}" "$t" "fuzz/corpus/$t" -- \
        -dict="fuzz/dict/$t.dict" -max_total_time="$SECONDS_EACH" \
        -rss_limit_mb=2048 -timeout=5 -print_final_stats=1
done
