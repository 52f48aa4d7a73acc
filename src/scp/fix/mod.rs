//! Propose an exemption patch for an explicit SCP/RCP deny, and prove it: the denied request becomes allowed,
//! neighbour requests stay denied. A patch whose proof fails is not offered.
//!
//! In three steps: the exemption for the principal (`exemption.rs`), the statements patched until the requests
//! that must pass do (`patch.rs`), and the proof (`proof.rs`).

mod exemption;
mod patch;
mod proof;

use std::collections::BTreeSet;

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
    fix_all(path, std::slice::from_ref(req))
}

/// Why `req` cannot be patched with an exemption (already allowed, an implicit deny, not evaluable), or None for
/// an explicit deny.
fn unpatchable(path: &OrgPath, req: &Request) -> Option<ScpError> {
    match verdict(path, req) {
        Verdict::ExplicitDeny { .. } => None,
        before @ (Verdict::Allowed | Verdict::NotAffected { .. }) => Some(ScpError::NothingToFix(format!(
            "the request is already {}",
            before.summary()
        ))),
        Verdict::ImplicitDeny { level_name, .. } => Some(ScpError::NoPatch(format!(
            "level {level_name} has no SCP Allow that matches the request; an exemption in a Deny cannot fix that: \
             attach FullAWSAccess (or an Allow for {}) at that level",
            req.action
        ))),
        Verdict::CannotEvaluate { reasons } => Some(ScpError::CannotEvaluate(reasons.join("; "))),
    }
}

/// One patch that lets every request in `reqs` through the explicit denies they meet (preflight's certain denies:
/// several actions, several principals), proven as [`fix`] proves one: each request now passes, and the neighbours
/// of every principal stay denied. Every request must be explicitly denied; the first is the fix's `request`.
pub fn fix_all(path: &OrgPath, reqs: &[Request]) -> Result<Fix, ScpError> {
    let Some(req) = reqs.first() else {
        return Err(ScpError::NothingToFix("no request to let through".into()));
    };
    if let Some(e) = reqs.iter().find_map(|r| unpatchable(path, r)) {
        return Err(e);
    }
    let before = verdict(path, req);
    let mut ex = exemption(req)?;
    for other in &reqs[1..] {
        if other.principal_arn == req.principal_arn {
            continue;
        }
        let more = exemption(other)?;
        for v in more.values {
            if !ex.values.contains(&v) {
                ex.values.push(v);
            }
        }
        for w in more.warnings {
            if !ex.warnings.contains(&w) {
                ex.warnings.push(w);
            }
        }
        for a in more.also_allowed {
            if !ex.also_allowed.contains(&a) {
                ex.also_allowed.push(a);
            }
        }
        for n in more.neighbours {
            if !ex.neighbours.contains(&n) {
                ex.neighbours.push(n);
            }
        }
    }
    // A neighbour that is one of the principals let through (the "other account" of one is a target of another)
    // is not a neighbour.
    ex.neighbours
        .retain(|n| !reqs.iter().any(|r| r.principal_arn == n.1));
    let principals = reqs
        .iter()
        .map(|r| r.principal_arn.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    if principals > 1 {
        ex.why = format!(
            "{} The same for the other {} principals: their patterns are listed too.",
            ex.why,
            principals - 1
        );
    }
    let mut must_allow: Vec<(String, Request)> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let d = if i == 0 {
                "the denied request is now allowed".to_owned()
            } else {
                format!(
                    "{} by {}{} is now allowed",
                    r.action,
                    r.principal_arn,
                    r.resource
                        .as_deref()
                        .map(|x| format!(" on {x}"))
                        .unwrap_or_default()
                )
            };
            (d, r.clone())
        })
        .collect();
    for (d, arn) in &ex.also_allowed {
        let acct = crate::ids::Arn::parse(arn).map(|p| p.account.to_owned());
        let base = reqs
            .iter()
            .find(|r| r.principal_account() == acct)
            .unwrap_or(req);
        must_allow.push((d.clone(), base.for_principal(arn, base.account.clone())));
    }
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
