#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: "Run the tests").
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything must compile: library, binary, tests, benchmarks and examples.
cargo test --locked --all-targets --no-run
# Unit tests, then the integration tests (one binary: tests/tests.rs).
cargo test --locked --lib --test tests "$@"
