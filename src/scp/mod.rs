//! SCP/RCP evaluation and patching.
//!
//! Takes organization policies (bare documents, `aws organizations describe-policy` JSON, or a levels file,
//! see [`load_path`]) and a [`Request`] (principal as `aws:PrincipalArn` sees it, action, resource, context).
//! Gives a verdict with the reason per statement and condition ([`evaluate`]), and for an explicit deny a
//! principal exemption patch with its proof ([`fix`]). What it implements, fact by fact with AWS's source:
//! `docs/scp-semantics.md`.

mod arn;
mod condition;
mod diff;
mod error;
mod eval;
mod fix;
mod input;
mod json;
mod policy;
mod render;
mod request;
#[cfg(test)]
mod semantics_tests;

pub use condition::{ConditionResult, Tri};
pub use error::{exit, ScpError};
pub(crate) use eval::evaluate_brief;
pub use eval::{
    evaluate, Evaluation, LevelResult, PolicyRef, StatementRef, StatementResult, Verdict,
    RCP_SERVICES,
};
pub use fix::{
    exemption, fix, fix_all, Exemption, Expect, Fix, PolicyPatch, ProofCase, StatementChange,
};
pub use input::{request, RequestSpec};
pub use policy::{load_path, Level, OrgPath, Policy, PolicyKind};

/// Whether an Organizations policy of this type (`PolicySummary.Type`) is one the evaluator reads: SCPs and
/// RCPs. Tag, backup, AI-services opt-out, declarative, chatbot and the other management policy types are not IAM
/// documents and grant or deny no action (docs/scp-semantics.md#policy-types).
pub fn is_evaluated_type(policy_type: &str) -> bool {
    PolicyKind::from_type(policy_type).is_some()
}
pub use render::{write_check, write_fix};
pub use request::{principal_arn_from_message, PrincipalKind, PrincipalView, Request};
