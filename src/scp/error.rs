//! Errors of the SCP evaluator, and the exit codes `scp check`/`scp fix` map outcomes to.

use super::Fix;

/// Errors of the SCP stage. Bad input maps to exit code 1; see [`ScpError::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum ScpError {
    #[error("{label}: malformed JSON: {reason}")]
    Json { label: String, reason: String },
    #[error("{label}: {reason}")]
    Invalid { label: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A policy file could not be read or decoded, or the patched document could not be written.
    #[error("{0}")]
    File(#[from] crate::error::Error),
    /// The request is not denied.
    #[error("nothing to fix: {0}")]
    NothingToFix(String),
    /// Some input construct cannot be evaluated, so no verdict (and no patch) can be given.
    #[error("cannot evaluate: {0}")]
    CannotEvaluate(String),
    /// The deny is not one an exemption can lift (implicit deny, unknown principal shape, ...).
    #[error("no patch can be proposed: {0}")]
    NoPatch(String),
    /// A patch was built but its proof failed; it is not offered. The fix holds the failed proof.
    #[error("the patch could not be proven ({reason}), so it is not offered")]
    Unproven { reason: String, fix: Box<Fix> },
}

impl ScpError {
    /// The exit code of `scp check`/`scp fix` for this outcome (see [`exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            ScpError::Json { .. }
            | ScpError::Invalid { .. }
            | ScpError::Io { .. }
            | ScpError::File(_)
            | ScpError::CannotEvaluate(_) => exit::BAD_INPUT,
            ScpError::NothingToFix(_) => exit::ALLOWED,
            ScpError::NoPatch(_) | ScpError::Unproven { .. } => exit::NO_PATCH,
        }
    }
}

/// Exit codes of `scp check` and `scp fix`, documented in the README. They answer a different question than
/// `diagnose`'s (`crate::error::exit`): 3 means "denied" here, "failures explained" there.
pub mod exit {
    /// `check`: the request is allowed (or not affected); `fix`: a proven patch was printed, or nothing to fix.
    pub const ALLOWED: i32 = 0;
    /// Bad input, or a construct that cannot be evaluated.
    pub const BAD_INPUT: i32 = 1;
    /// `check`: the request is denied.
    pub const DENIED: i32 = 3;
    /// `fix`: no patch can be offered (implicit deny, unproven, or too large for AWS to store).
    pub const NO_PATCH: i32 = 3;
}
