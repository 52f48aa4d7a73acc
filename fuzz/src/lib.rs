//! The fuzz targets' bodies. They live in the main crate's test support, so that the regression tests
//! (`tests/fuzz_regressions.rs`) run the very same code on every reproducer and corpus file.

#[path = "../../tests/support/fuzz_harness.rs"]
mod harness;

pub use harness::*;
