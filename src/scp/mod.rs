//! SCP/RCP evaluation and patching.
//!
//! Takes organization policies (bare documents, `aws organizations describe-policy` JSON, or a levels file,
//! see [`load_path`]) and a [`Request`] (principal as `aws:PrincipalArn` sees it, action, resource, context).
//! Gives a verdict with the reason per statement and condition ([`evaluate`]), and for an explicit deny a
//! principal exemption patch with its proof ([`fix`]). What it implements, fact by fact with AWS's source:
//! `docs/scp-semantics.md`.

mod arn;
pub mod cli;
mod condition;
mod diff;
mod eval;
mod fix;
mod json;
mod policy;
mod render;
mod request;
#[cfg(test)]
mod semantics_tests;

pub use condition::{ConditionResult, Tri};
pub use eval::{
    evaluate, Evaluation, LevelResult, PolicyRef, StatementRef, StatementResult, Verdict,
    RCP_SERVICES,
};
pub use fix::{exemption, fix, Exemption, Expect, Fix, PolicyPatch, ProofCase, StatementChange};
pub use policy::{load_path, Level, OrgPath, Policy, PolicyKind};
pub use render::{render_check, render_fix};
pub use request::{principal_arn_from_message, PrincipalKind, PrincipalView, Request};

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
    /// 1 bad input or cannot evaluate; 0 nothing to fix; 3 still denied, no provable patch.
    pub fn exit_code(&self) -> i32 {
        match self {
            ScpError::Json { .. }
            | ScpError::Invalid { .. }
            | ScpError::Io { .. }
            | ScpError::File(_)
            | ScpError::CannotEvaluate(_) => 1,
            ScpError::NothingToFix(_) => 0,
            ScpError::NoPatch(_) | ScpError::Unproven { .. } => 3,
        }
    }
}
