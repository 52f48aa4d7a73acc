//! What to change for a root cause: the rule's remediation, a concrete SCP/RCP exemption for policy denies,
//! and the runbook that gets the deployment through afterwards (a known topology's, or a generic retry).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::classify::rules::{self, Rule, Topology};
use crate::classify::{Category, Failure};
use crate::evidence::Evidence;
use crate::wildcard;

#[derive(Debug, Clone, Serialize)]
pub struct Remediation {
    pub summary: String,
    pub steps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scp_exemption: Option<ScpExemption>,
}

/// The exemption to add to an SCP (or RCP) statement so the denied principal gets through.
#[derive(Debug, Clone, Serialize)]
pub struct ScpExemption {
    /// As the message names it: `service control policy` or `resource control policy`.
    pub policy_type: String,
    /// The policy ARN the message carried, when it did.
    pub policy_arn_in_message: Option<String>,
    pub action: Option<String>,
    /// The principal as the message shows it (often an STS session ARN, which must NOT be used).
    pub denied_principal: String,
    pub condition_operator: String,
    pub condition_key: String,
    /// IAM ARN patterns to add to the statement's exception list.
    pub add_values: Vec<String>,
    pub why: String,
    pub warnings: Vec<String>,
    /// The statement found in the evidence's policies that denies the action, when policies were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementPatch>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementPatch {
    pub policy_id: Option<String>,
    pub policy_arn: Option<String>,
    pub policy_name: Option<String>,
    /// The statement's Sid, or `#N` (its 0-based index) when it has none.
    pub statement: String,
    /// Values already in the statement's exception list.
    pub existing_values: Vec<String>,
    /// The statement with the exemption added.
    pub patched: Value,
    /// How the statement was found: by its Deny of the action, not by full policy evaluation.
    pub located_by: String,
}

pub fn build(
    f: &Failure,
    rule: Option<&Rule>,
    fields: &BTreeMap<String, String>,
    evidence: &Evidence,
    topologies: &[Topology],
) -> Remediation {
    let mut steps = Vec::new();
    let mut scp_exemption = None;
    let summary;

    let deny = matches!(f.class.category, Category::ScpDeny | Category::RcpDeny);
    match (rule, deny.then(|| fields.get("principal")).flatten()) {
        (Some(_), Some(principal)) if exemption_for(principal).is_some() => {
            let ex = scp_exemption_for(f, principal, fields, evidence);
            let values = ex.add_values.join(" and ");
            let target = match &ex.statement {
                Some(s) => format!(
                    "statement {} of {} {}",
                    s.statement,
                    ex.policy_type,
                    s.policy_name
                        .as_deref()
                        .or(s.policy_id.as_deref())
                        .unwrap_or("(unnamed)")
                ),
                None => format!(
                    "the {} statement that denies {}",
                    ex.policy_type,
                    ex.action.as_deref().unwrap_or("the action")
                ),
            };
            summary = format!("Exempt {values} in {target}, then deploy again.");
            steps.push(format!(
                "In {target}, add {values} to the `{}` `{}` exception list{}.",
                ex.condition_operator,
                ex.condition_key,
                match &ex.statement {
                    Some(s) if s.existing_values.is_empty() =>
                        " (the statement has none yet: add the condition)".to_owned(),
                    Some(s) => format!(" (today: {})", s.existing_values.join(", ")),
                    None => String::new(),
                }
            ));
            if ex.statement.is_none() {
                steps.push(format!(
                    "To find the statement: list the policies on each level from the account to the root \
                     (`aws organizations list-parents --child-id {acct}`, then `aws organizations list-policies-for-target \
                     --target-id <id> --filter {filter}`) and look for a Deny of {action}{arn}.",
                    acct = f.account.as_deref().unwrap_or("<account>"),
                    filter = if f.class.category == Category::RcpDeny { "RESOURCE_CONTROL_POLICY" } else { "SERVICE_CONTROL_POLICY" },
                    action = ex.action.as_deref().unwrap_or("the action"),
                    arn = ex.policy_arn_in_message.as_deref().map(|a| format!(" (the message names {a})")).unwrap_or_default(),
                ));
            }
            steps.push(ex.why.clone());
            scp_exemption = Some(ex);
        }
        (Some(rule), _) => {
            let text = rules::render(&rule.remediation, fields);
            summary = first_sentence(&text);
            steps.push(text);
        }
        (None, _) => {
            summary = "No rule recognises this message: read it, then teach the catalog with `--rules DIR` \
                       (see `stackset-doctor explain`)."
                .to_owned();
            steps.push(format!("Read the failure message in full: {}", f.message));
        }
    }

    steps.extend(runbook(f, fields, topologies));
    Remediation {
        summary,
        steps,
        scp_exemption,
    }
}

fn first_sentence(text: &str) -> String {
    let t = text.trim();
    match t.find(". ") {
        Some(i) if i < 300 => t[..=i].to_owned(),
        _ if t.len() <= 300 => t.to_owned(),
        _ => format!("{}…", t.chars().take(297).collect::<String>()),
    }
}

/// A topology's runbook when the failure's stack set belongs to one; otherwise the generic retry.
fn runbook(f: &Failure, fields: &BTreeMap<String, String>, topologies: &[Topology]) -> Vec<String> {
    if let Some(ss) = f.stack_set.as_deref() {
        if let Some(t) = topologies
            .iter()
            .find(|t| t.stack_sets.iter().any(|p| wildcard::matches(p, ss, false)))
        {
            if !t.runbook.is_empty() {
                return t.runbook.iter().map(|s| rules::render(s, fields)).collect();
            }
        }
        return vec![format!(
            "Then re-run the deployment for the failed instances, e.g. `aws cloudformation update-stack-instances \
             --stack-set-name {ss} --accounts {acct} --regions {region}` (service-managed stack sets: \
             `--deployment-targets OrganizationalUnitIds=...`, and `--call-as DELEGATED_ADMIN` from a delegated \
             administrator).",
            acct = f.account.as_deref().unwrap_or("<account>"),
            region = f.region.as_deref().unwrap_or("<region>"),
        )];
    }
    match f.stack_name.as_deref() {
        Some(name) => vec![format!(
            "Then deploy stack {name} again (a stack left in ROLLBACK_COMPLETE must be deleted before it can be created again)."
        )],
        None => Vec::new(),
    }
}

/// The IAM ARN pattern(s) that `aws:PrincipalArn` will carry for this principal, and why.
/// `aws:PrincipalArn` of a role session is the role's IAM ARN, never the STS session ARN; the session ARN
/// loses the role's path, so without a lookup the patterns cover both "no path" and "any path".
pub fn exemption_for(principal: &str) -> Option<(Vec<String>, String, Vec<String>)> {
    let parts = crate::evidence::arn_parts(principal.trim_matches('"'))?;
    let (p, acct) = (parts.partition, parts.account);
    if acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match parts.service {
        "sts" => {
            let rest = parts.resource.strip_prefix("assumed-role/")?;
            let role = rest.split('/').next().filter(|r| !r.is_empty())?;
            if role.starts_with("stacksets-exec-") {
                Some((
                    vec![format!("arn:{p}:iam::{acct}:role/stacksets-exec-*")],
                    format!(
                        "The message shows the STS session {principal}; an SCP condition on aws:PrincipalARN sees the \
                         IAM role ARN instead, so the session ARN would never match. The role is a StackSets execution \
                         role (stacksets-exec-<hash>, created by service-managed StackSets in each target account), \
                         so the exemption covers stacksets-exec-* in account {acct} only."
                    ),
                    vec![format!(
                        "Anyone able to create a role named stacksets-exec-* in account {acct} inherits this exemption: \
                         protect those roles with an SCP that denies iam:CreateRole/iam:UpdateAssumeRolePolicy/iam:PutRolePolicy \
                         on arn:{p}:iam::*:role/stacksets-exec-* except for CloudFormation StackSets (as AWS Control Tower does)."
                    )],
                ))
            } else {
                Some((
                    vec![format!("arn:{p}:iam::{acct}:role/{role}"), format!("arn:{p}:iam::{acct}:role/*/{role}")],
                    format!(
                        "The message shows the STS session {principal}; aws:PrincipalARN carries the role's IAM ARN, \
                         whose path the session ARN does not show. The two patterns match role {role} in account {acct} \
                         with no path and with any path (not role/*{role}, which would also match other names ending in \
                         {role}). With IAM access, `aws iam get-role --role-name {role}` shows the exact ARN."
                    ),
                    Vec::new(),
                ))
            }
        }
        "iam" if parts.resource.starts_with("role/") || parts.resource.starts_with("user/") => {
            Some((
                vec![principal.trim_matches('"').to_owned()],
                format!("aws:PrincipalARN carries {principal} as the message shows it."),
                Vec::new(),
            ))
        }
        _ => None,
    }
}

fn scp_exemption_for(
    f: &Failure,
    principal: &str,
    fields: &BTreeMap<String, String>,
    evidence: &Evidence,
) -> ScpExemption {
    let (add_values, why, warnings) = exemption_for(principal).unwrap_or_default();
    let policy_type = fields.get("policy_type").cloned().unwrap_or_else(|| {
        if f.class.category == Category::RcpDeny {
            "resource control policy"
        } else {
            "service control policy"
        }
        .into()
    });
    let action = fields.get("action").cloned();
    let policy_arn = fields.get("policy_arn").cloned();
    let want_type = if f.class.category == Category::RcpDeny {
        "RESOURCE_CONTROL_POLICY"
    } else {
        "SERVICE_CONTROL_POLICY"
    };
    let statement = action
        .as_deref()
        .and_then(|a| locate_statement(evidence, want_type, policy_arn.as_deref(), a, &add_values));
    let (condition_operator, condition_key) = match &statement {
        Some(s) => existing_condition(&s.patched)
            .unwrap_or(("ArnNotLike".into(), "aws:PrincipalARN".into())),
        None => ("ArnNotLike".into(), "aws:PrincipalARN".into()),
    };
    ScpExemption {
        policy_type,
        policy_arn_in_message: policy_arn,
        action,
        denied_principal: principal.to_owned(),
        condition_operator,
        condition_key,
        add_values,
        why,
        warnings,
        statement,
    }
}

const PRINCIPAL_OPERATORS: [&str; 4] = [
    "ArnNotLike",
    "ArnNotEquals",
    "StringNotLike",
    "StringNotEquals",
];

/// The (operator, key) of a statement's existing principal exception, keeping the policy's spelling.
fn existing_condition(stmt: &Value) -> Option<(String, String)> {
    let cond = stmt.get("Condition")?.as_object()?;
    for op in PRINCIPAL_OPERATORS {
        if let Some(keys) = cond.get(op).and_then(Value::as_object) {
            if let Some(k) = keys
                .keys()
                .find(|k| k.eq_ignore_ascii_case("aws:PrincipalArn"))
            {
                return Some((op.to_owned(), k.clone()));
            }
        }
    }
    None
}

/// Find a Deny statement of the given policy type that covers `action`, and patch its principal exception.
fn locate_statement(
    evidence: &Evidence,
    policy_type: &str,
    policy_arn: Option<&str>,
    action: &str,
    add: &[String],
) -> Option<StatementPatch> {
    for p in &evidence.policies {
        if p.policy_type != policy_type {
            continue;
        }
        if let (Some(want), Some(have)) = (policy_arn, p.arn.as_deref()) {
            if want != have {
                continue;
            }
        }
        let Ok(doc) = serde_json::from_str::<Value>(&p.content) else {
            continue;
        };
        let statements: Vec<Value> = match doc.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => continue,
        };
        for (idx, s) in statements.iter().enumerate() {
            if s.get("Effect").and_then(Value::as_str) != Some("Deny") || !covers_action(s, action)
            {
                continue;
            }
            let mut patched = s.clone();
            let existing = add_exemption(&mut patched, add);
            return Some(StatementPatch {
                policy_id: p.id.clone(),
                policy_arn: p.arn.clone(),
                policy_name: p.name.clone(),
                statement: s
                    .get("Sid")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("#{idx}")),
                existing_values: existing,
                patched,
                located_by: format!(
                    "Effect Deny on an Action matching {action} (not full policy evaluation)"
                ),
            });
        }
    }
    None
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn covers_action(stmt: &Value, action: &str) -> bool {
    if let Some(a) = stmt.get("Action") {
        return strings(Some(a))
            .iter()
            .any(|p| wildcard::matches(p, action, true));
    }
    if let Some(na) = stmt.get("NotAction") {
        return !strings(Some(na))
            .iter()
            .any(|p| wildcard::matches(p, action, true));
    }
    false
}

/// Add `add` to the statement's principal exception list (creating `ArnNotLike aws:PrincipalARN` if it has
/// none); returns the values that were there before.
fn add_exemption(stmt: &mut Value, add: &[String]) -> Vec<String> {
    let (op, key) =
        existing_condition(stmt).unwrap_or(("ArnNotLike".into(), "aws:PrincipalARN".into()));
    let Some(obj) = stmt.as_object_mut() else {
        return Vec::new();
    };
    let cond = obj
        .entry("Condition")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(cond) = cond.as_object_mut() else {
        return Vec::new();
    };
    let ops = cond
        .entry(op)
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(ops) = ops.as_object_mut() else {
        return Vec::new();
    };
    let existing = strings(ops.get(&key));
    let mut values = existing.clone();
    for a in add {
        if !values.contains(a) {
            values.push(a.clone());
        }
    }
    ops.insert(
        key,
        Value::Array(values.into_iter().map(Value::String).collect()),
    );
    existing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacksets_exec_session_becomes_account_pinned_role_pattern() {
        let (v, why, warn) = exemption_for(
            "arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678",
        )
        .unwrap();
        assert_eq!(v, vec!["arn:aws:iam::121212121212:role/stacksets-exec-*"]);
        assert!(why.contains("aws:PrincipalARN"));
        assert_eq!(warn.len(), 1);
    }

    #[test]
    fn other_role_sessions_cover_path_and_no_path() {
        let (v, _, _) =
            exemption_for("arn:aws-us-gov:sts::111122223333:assumed-role/Deployer/s").unwrap();
        assert_eq!(
            v,
            vec![
                "arn:aws-us-gov:iam::111122223333:role/Deployer",
                "arn:aws-us-gov:iam::111122223333:role/*/Deployer"
            ]
        );
    }

    #[test]
    fn non_arns_have_no_exemption() {
        assert!(exemption_for("111122223333").is_none());
        assert!(exemption_for("arn:aws:sts::1:assumed-role/x/y").is_none());
    }

    #[test]
    fn patch_extends_existing_list_keeping_key_spelling() {
        let mut s: Value = serde_json::json!({
            "Effect": "Deny", "Action": ["s3:PutBucketPublicAccessBlock"], "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/test-role"]}}
        });
        let before = add_exemption(&mut s, &["arn:aws:iam::1:role/x".into()]);
        assert_eq!(before, vec!["arn:aws:iam::*:role/test-role"]);
        assert_eq!(
            s["Condition"]["ArnNotLike"]["aws:PrincipalARN"],
            serde_json::json!(["arn:aws:iam::*:role/test-role", "arn:aws:iam::1:role/x"])
        );
    }
}
