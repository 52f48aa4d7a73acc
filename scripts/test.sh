#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: "Run the tests").
set -euo pipefail
cd "$(dirname "$0")/.."
# The live-collection tests start the AWS emulator (moto, pinned) themselves: install it first, so its
# one-time set-up is not counted against a test.
bash scripts/emulator.sh install
# The HTML report is checked in headless Chromium (tests/browser.rs): install Debian's chromium and
# chromium-driver when missing (quiet when present).
bash scripts/browser.sh install
# The deploy/ templates are linted with a pinned cfn-lint (tests/eventbridge.rs): a .venv-lint, like the emulator's.
bash scripts/cfn-lint.sh install
# Everything must compile: library, binary, tests, benchmarks and examples.
cargo test --locked --all-targets --no-run
# Unit tests (library and binary), then the integration tests (one binary: tests/tests.rs).
cargo test --locked --lib --bins --test tests "$@"
