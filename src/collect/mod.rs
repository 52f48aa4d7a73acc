//! Collect: gathers evidence and hands it on as an [`Evidence`](crate::evidence::Evidence).
//!
//! Two ways in: `offline` takes paths (files, folders, `-` for stdin) of saved AWS CLI JSON or evidence bundles;
//! `live` asks AWS itself (`aws` holds the SDK set-up, the read-only guard and call counting). Both give one
//! merged `Evidence`; only this stage knows input formats and APIs.

pub mod aws;
pub mod cli_shapes;
pub mod event;
pub mod live;
pub mod offline;
pub mod read;
pub mod text;

pub use offline::{load_bytes_as, load_paths, load_paths_with, Loaded};
pub use read::ReadLimits;
