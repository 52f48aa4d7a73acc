//! Integration tests, built as one binary (see Cargo.toml `autotests = false`).

mod common;

#[path = "support/synth.rs"]
mod synth;

mod browser;
mod cli;
mod corpus;
mod event;
mod eventbridge;
mod fuzz_regressions;
mod invalid;
mod layout;
mod linking;
mod live_emulator;
mod live_faults;
mod live_watch;
mod preflight;
mod preflight_live;
mod preflight_ordering;
mod races;
mod reference;
mod regressions;
mod rule_catalog;
mod samples;
mod scale;
mod schema;
mod scp;
mod shapes;
mod trail;
