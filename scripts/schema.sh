#!/usr/bin/env bash
# Regenerate the committed JSON Schemas (docs/schema/) from the report and evidence bundle types; the schema test
# (tests/schema.rs) fails until they are regenerated after a change to those types. See docs/json-contract.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet --bin stackset-doctor
bin=target/debug/stackset-doctor
"$bin" schema report > docs/schema/report-v1.schema.json
"$bin" schema evidence > docs/schema/evidence-v1.schema.json
