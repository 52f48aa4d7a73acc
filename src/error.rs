//! Typed errors of the library, and the process exit codes the binary maps them to.
//!
//! Library code returns [`Error`]; only `main.rs` turns one into text and an exit code, once.

use std::path::PathBuf;

/// Exit codes, documented in the README. Automation relies on them: never renumber.
pub mod exit {
    /// The evidence holds no failure.
    pub const OK: i32 = 0;
    /// Bad input (unreadable path, malformed JSON, unknown shape, broken rule file) or a runtime error.
    pub const ERROR: i32 = 1;
    /// Usage error: unknown flag, missing argument (clap's own code).
    pub const USAGE: i32 = 2;
    /// Failures found, and every root cause matched a rule.
    pub const FAILURES_EXPLAINED: i32 = 3;
    /// Failures found, and at least one root cause matched no rule.
    pub const FAILURES_UNEXPLAINED: i32 = 4;
    /// No failure found in what could be read, but some evidence could not be read or collected (skipped files
    /// or records, coverage gaps): not an all-clear.
    pub const INCOMPLETE: i32 = 5;
    /// `watch`: the `--timeout` passed before the operation ended; nothing was diagnosed (docs/watch.md).
    pub const WATCH_TIMED_OUT: i32 = 6;
    /// `watch`: stopped by Ctrl-C (SIGINT) before the diagnosis; 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: i32 = 130;
}

/// Where in an input a problem is: file (or `<stdin>`), and line/column when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Location {
    /// A whole file (or `<stdin>`, or a catalog), no position within it.
    pub fn file(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// The 1-based line and column of byte `offset` of `text` (clamped to its end).
    pub fn at(file: impl Into<String>, text: &[u8], offset: usize) -> Location {
        let prefix = &text[..offset.min(text.len())];
        let line = prefix.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = prefix.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: not text: {reason}")]
    Encoding { location: Location, reason: String },
    #[error("{location}: malformed JSON: {reason}")]
    Json { location: Location, reason: String },
    #[error("{location}: not a recognised input: {reason}")]
    UnknownShape { location: Location, reason: String },
    /// Neither JSON nor the CLI's YAML (prose, a script, an empty file): inside a folder, a file beside the
    /// evidence rather than evidence that could not be read.
    #[error("{location}: not a recognised input: {reason}")]
    NotEvidence { location: Location, reason: String },
    #[error("{location}: {reason}")]
    BadValue { location: Location, reason: String },
    #[error("rule file {location}: {reason}")]
    Rule { location: Location, reason: String },
    /// Live collection could not start or found nothing to collect (no credentials, no region, no stack set).
    #[error("AWS {what}: {reason}")]
    Aws { what: String, reason: String },
}

impl Error {
    /// A failure while walking a folder (unreadable entry, symlink loop), naming the path.
    pub fn from_walk(e: walkdir::Error, root: &std::path::Path) -> Error {
        let path = e
            .path()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_else(|| root.to_path_buf());
        let source = match e.into_io_error() {
            Some(io) => io,
            None => {
                std::io::Error::other("file system loop (a symbolic link points back up the tree)")
            }
        };
        Error::Io { path, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
