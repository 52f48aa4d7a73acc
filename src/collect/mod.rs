//! Collect: gathers evidence and hands it on as an [`Evidence`](crate::evidence::Evidence).
//!
//! Takes paths (files, folders, `-` for stdin) of saved AWS CLI JSON or evidence bundles; gives one merged
//! `Evidence` plus warnings for what it skipped. Only this stage knows input formats.

pub mod cli_shapes;
pub mod offline;
pub mod text;

pub use offline::{load_paths, Loaded};
