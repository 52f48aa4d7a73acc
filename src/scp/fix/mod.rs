//! Propose an exemption patch for an explicit SCP/RCP deny, and prove it: the denied request becomes allowed,
//! neighbour requests stay denied. A patch whose proof fails is not offered.
//!
//! In three steps: the exemption for the principal (`exemption.rs`), the statements patched until the requests
//! that must pass do (`patch.rs`), and the proof (`proof.rs`).

mod exemption;
mod patch;
mod proof;

use serde::Serialize;
use serde_json::Value;

use super::eval::{verdict, PolicyRef, Verdict};
use super::policy::OrgPath;
use super::request::Request;
use super::ScpError;
pub use exemption::{exemption, Exemption};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementChange {
    pub statement: String,
    pub statement_index: usize,
    /// The operator and key as the policy spells them.
    pub operator: String,
    pub key: String,
    pub existing_values: Vec<String>,
    pub added_values: Vec<String>,
    /// True when the condition entry was created rather than extended.
    pub created: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyPatch {
    pub policy: PolicyRef,
    pub changes: Vec<StatementChange>,
    pub patched_document: Value,
    /// The patched document as text, in the policy's own key order (what `--write` writes): indented, or compact
    /// when only that fits AWS's size limit.
    pub patched_text: String,
    /// The size of `patched_text` as AWS counts it, against the limit.
    pub size: PolicySize,
    pub diff: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_command: Option<String>,
}

/// AWS's size limit of an SCP or RCP document: 5,120 characters, white space included when saved through the CLI
/// or an API (docs/scp-semantics.md#policy-documents). Counted in UTF-8 bytes, which is never fewer than
/// characters, so a patch that fits by this count fits by either reading of the limit.
pub const POLICY_SIZE_LIMIT: usize = 5120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PolicySize {
    /// UTF-8 bytes of the patched text.
    pub characters: usize,
    pub limit: usize,
    /// Written without white space to fit.
    pub compact: bool,
    pub fits: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Allowed,
    Denied,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProofCase {
    pub description: String,
    pub expect: Expect,
    pub request: Request,
    pub before: Verdict,
    pub after: Verdict,
    /// False for a neighbour that was not denied before the patch: the patch cannot have opened it.
    pub applicable: bool,
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub request: Request,
    pub before: Verdict,
    pub patches: Vec<PolicyPatch>,
    pub added_values: Vec<String>,
    pub why: Vec<String>,
    pub warnings: Vec<String>,
    pub proof: Vec<ProofCase>,
    pub proven: bool,
    pub notes: Vec<String>,
}

impl Fix {
    /// The path with this fix's patched documents in place.
    pub fn apply(&self, path: &OrgPath) -> OrgPath {
        let mut out = path.clone();
        for p in &self.patches {
            if let Some(pol) = out
                .levels
                .get_mut(p.policy.level)
                .and_then(|l| l.policies.get_mut(p.policy.index))
            {
                pol.document = p.patched_document.clone();
                pol.source = Some(p.patched_text.clone());
            }
        }
        out
    }
}

/// Propose and prove the patch that lets `req` through the explicit deny it meets.
pub fn fix(path: &OrgPath, req: &Request) -> Result<Fix, ScpError> {
    let before = verdict(path, req);
    match &before {
        Verdict::Allowed | Verdict::NotAffected { .. } => {
            return Err(ScpError::NothingToFix(format!("the request is already {}", before.summary())))
        }
        Verdict::ImplicitDeny { level_name, .. } => {
            return Err(ScpError::NoPatch(format!(
                "level {level_name} has no SCP Allow that matches the request; an exemption in a Deny cannot fix that: \
                 attach FullAWSAccess (or an Allow for {}) at that level",
                req.action
            )))
        }
        Verdict::CannotEvaluate { reasons } => return Err(ScpError::CannotEvaluate(reasons.join("; "))),
        Verdict::ExplicitDeny { .. } => {}
    }
    let ex = exemption(req)?;
    let must_allow: Vec<(String, Request)> =
        std::iter::once(("the denied request is now allowed".to_owned(), req.clone()))
            .chain(
                ex.also_allowed
                    .iter()
                    .map(|(d, arn)| (d.clone(), req.for_principal(arn, req.account.clone()))),
            )
            .collect();
    let patched = patch::patch_denying_statements(path, &must_allow, &ex.values)?;
    let documents = patch::documents(path, &patched);
    let proof = proof::prove(path, req, &ex, &must_allow, &patched);

    // That a patch cannot be applied comes first.
    let mut warnings = documents.warnings;
    warnings.extend(ex.warnings.iter().cloned());
    let mut notes = proof.notes;
    notes.extend(documents.notes);
    if !proof.other_actions.is_empty() {
        warnings.push(format!(
            "the exemption lifts the whole statement for these principals, so they may also call {} (the statement's \
             other actions), not only {}",
            proof.other_actions.join(", "),
            req.action
        ));
    }
    let mut why = vec![ex.why.clone()];
    for p in &documents.patches {
        for c in &p.changes {
            why.push(format!(
                "{} statement {}: {}.",
                p.policy.display, c.statement, c.note
            ));
        }
    }
    let proven = proof.cases.iter().all(|c| c.ok);
    let fix = Fix {
        request: req.clone(),
        before,
        patches: documents.patches,
        added_values: ex.values.clone(),
        why,
        warnings,
        proof: proof.cases,
        proven,
        notes,
    };
    if proven {
        Ok(fix)
    } else {
        let failed: Vec<String> = fix
            .proof
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.description.clone())
            .collect();
        Err(ScpError::Unproven {
            reason: failed.join("; "),
            fix: Box::new(fix),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::OJson;
    use super::patch::patch_statement;
    use super::proof::instantiate;

    fn tree(t: &str) -> OJson {
        OJson::parse(t).unwrap()
    }

    #[test]
    fn extends_existing_list_keeping_spelling() {
        let mut t = tree(
            r#"{"Statement":[{"Effect":"Deny","Action":"*","Condition":{"ArnNotLikeIfExists":{"AWS:principalarn":"arn:aws:iam::*:role/a"}}}]}"#,
        );
        let c = patch_statement(&mut t, 0, "#0", &["arn:aws:iam::1:role/b".into()]).unwrap();
        assert_eq!(
            (c.operator.as_str(), c.key.as_str(), c.created),
            ("ArnNotLikeIfExists", "AWS:principalarn", false)
        );
        let v = t.to_value();
        assert_eq!(
            v["Statement"][0]["Condition"]["ArnNotLikeIfExists"]["AWS:principalarn"],
            serde_json::json!(["arn:aws:iam::*:role/a", "arn:aws:iam::1:role/b"])
        );
    }

    #[test]
    fn string_not_equals_with_wildcards_gets_a_new_arn_not_like() {
        let mut t = tree(
            r#"{"Statement":{"Effect":"Deny","Action":"*","Condition":{"StringNotEquals":{"aws:PrincipalArn":["x"]}}}}"#,
        );
        let c = patch_statement(&mut t, 0, "#0", &["arn:aws:iam::1:role/*/b".into()]).unwrap();
        assert!(c.created && c.note.contains("compares exactly"));
        let v = t.to_value();
        assert_eq!(
            v["Statement"]["Condition"]["ArnNotLike"]["aws:PrincipalARN"],
            serde_json::json!(["arn:aws:iam::1:role/*/b"])
        );
        assert_eq!(
            v["Statement"]["Condition"]["StringNotEquals"]["aws:PrincipalArn"],
            serde_json::json!(["x"])
        );
        // Exact values can go into StringNotEquals.
        let c = patch_statement(&mut t, 0, "#0", &["arn:aws:iam::1:role/c".into()]).unwrap();
        assert!(!c.created);
    }

    #[test]
    fn no_condition_creates_one() {
        let mut t = tree(r#"{"Statement":[{"Effect":"Deny","Action":"*"}]}"#);
        let c = patch_statement(&mut t, 0, "#0", &["arn:aws:iam::1:role/b".into()]).unwrap();
        assert!(c.created && c.note.contains("ANDed"));
        assert!(patch_statement(&mut t, 3, "#3", &[]).is_err());
    }

    #[test]
    fn instantiate_actions() {
        assert_eq!(instantiate("s3:Put*").as_deref(), Some("s3:PutExample"));
        assert_eq!(instantiate("*"), None);
        assert_eq!(instantiate("*:Get"), None);
    }
}
