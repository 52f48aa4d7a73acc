#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: "Run the tests").
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked "$@"
