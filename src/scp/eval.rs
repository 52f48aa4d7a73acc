//! Evaluate a request against an OU path of SCPs and RCPs (Orgs guide, "SCP evaluation"; docs/scp-semantics.md
//! "SCP and RCP evaluation"): a matching Deny anywhere denies; every level needs a matching SCP Allow; RCPs
//! only deny (RCPFullAWSAccess is attached everywhere and cannot be detached).

use serde::Serialize;
use serde_json::Value;

use super::arn::{glob, resource_like};
use super::condition::{self, substitute, ConditionResult, Tri};
use super::exit;
use super::policy::{statement_labels, statements, OrgPath, Policy, PolicyKind, POLICY_VERSION};
use super::request::Request;

/// Services whose resources RCPs restrict (docs/scp-semantics.md#rcp-evaluation): S3, STS, KMS, SQS and Secrets
/// Manager at launch; ECR and OpenSearch Serverless (June 2025); Cognito and CloudWatch Logs (January 2026).
pub const RCP_SERVICES: [&str; 10] = [
    "s3",
    "sts",
    "kms",
    "sqs",
    "secretsmanager",
    "ecr",
    "aoss",
    "cognito-idp",
    "cognito-identity",
    "logs",
];

/// Which policy, where in the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    pub level: usize,
    pub level_name: String,
    /// Position among the level's policies.
    pub index: usize,
    pub kind: PolicyKind,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// `SCP p-abc (Name)` as shown to a person.
    pub display: String,
}

impl PolicyRef {
    pub(crate) fn new(level: usize, level_name: &str, index: usize, p: &Policy) -> PolicyRef {
        PolicyRef {
            level,
            level_name: level_name.to_owned(),
            index,
            kind: p.kind,
            label: p.label.clone(),
            id: p.id.clone(),
            name: p.name.clone(),
            arn: p.arn.clone(),
            display: p.display(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementResult {
    pub policy: PolicyRef,
    /// Sid, or `#i` (0-based).
    pub statement: String,
    pub statement_index: usize,
    pub effect: String,
    /// Whether the statement applies to the request (all of Action, Resource, Principal, Condition).
    pub applies: Tri,
    pub reasons: Vec<String>,
    pub conditions: Vec<ConditionResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelResult {
    pub index: usize,
    pub name: String,
    /// Does an SCP at this level allow the request?
    pub scp_allow: Tri,
    /// The Allow statements that match (`SCP p-1 statement S`), or the assumed FullAWSAccess.
    pub allowed_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    /// SCPs/RCPs do not apply to this request at all (management account, service-linked role).
    NotAffected {
        reason: String,
    },
    ExplicitDeny {
        policy: PolicyRef,
        statement: String,
        statement_index: usize,
    },
    ImplicitDeny {
        level: usize,
        level_name: String,
    },
    CannotEvaluate {
        reasons: Vec<String>,
    },
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed | Verdict::NotAffected { .. })
    }

    pub fn is_denied(&self) -> bool {
        matches!(
            self,
            Verdict::ExplicitDeny { .. } | Verdict::ImplicitDeny { .. }
        )
    }

    /// CLI exit code: 0 allowed, 3 denied, 1 cannot evaluate (input we cannot read as AWS would).
    pub fn exit_code(&self) -> i32 {
        match self {
            Verdict::Allowed | Verdict::NotAffected { .. } => exit::ALLOWED,
            Verdict::ExplicitDeny { .. } | Verdict::ImplicitDeny { .. } => exit::DENIED,
            Verdict::CannotEvaluate { .. } => exit::BAD_INPUT,
        }
    }

    pub fn summary(&self) -> String {
        match self {
            Verdict::Allowed => "allowed".into(),
            Verdict::NotAffected { reason } => format!("allowed: {reason}"),
            Verdict::ExplicitDeny {
                policy, statement, ..
            } => {
                format!(
                    "explicitly denied by {} statement {statement:?} (level {})",
                    policy.display, policy.level_name
                )
            }
            Verdict::ImplicitDeny { level_name, .. } => {
                format!("implicitly denied: level {level_name} has no SCP Allow that matches")
            }
            Verdict::CannotEvaluate { reasons } => {
                format!("cannot evaluate: {}", reasons.join("; "))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    pub policy: PolicyRef,
    pub statement: String,
    pub statement_index: usize,
}

/// The verdict with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub request: Request,
    pub verdict: Verdict,
    pub summary: String,
    pub assumed_full_access: bool,
    /// Every statement that explicitly denies (the verdict names the first).
    pub denied_by: Vec<StatementRef>,
    pub levels: Vec<LevelResult>,
    pub statements: Vec<StatementResult>,
    pub notes: Vec<String>,
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn action_matches(pattern: &str, action: &str) -> bool {
    // Action names ignore case (IAM guide, "IAM JSON policy elements: Action").
    glob(pattern, action, true)
}

fn action_part(stmt: &Value, action: &str) -> (Tri, String) {
    if let Some(a) = stmt.get("Action") {
        let pats = strings(a);
        return match pats.iter().find(|p| action_matches(p, action)) {
            Some(p) => (Tri::Yes, format!("Action {p} matches {action}")),
            None => (
                Tri::No,
                format!("Action [{}] does not match {action}", pats.join(", ")),
            ),
        };
    }
    if let Some(na) = stmt.get("NotAction") {
        let pats = strings(na);
        return match pats.iter().find(|p| action_matches(p, action)) {
            Some(p) => (
                Tri::No,
                format!(
                    "NotAction lists {p}, which matches {action}: the statement does not cover it"
                ),
            ),
            None => (
                Tri::Yes,
                format!(
                    "NotAction [{}] does not list {action}, so the statement covers it",
                    pats.join(", ")
                ),
            ),
        };
    }
    (
        Tri::Unknown,
        "cannot evaluate: neither Action nor NotAction".into(),
    )
}

fn resource_part(stmt: &Value, req: &Request, variables: bool) -> (Tri, String) {
    let (pats, negated) = match (stmt.get("Resource"), stmt.get("NotResource")) {
        (Some(r), _) => (strings(r), false),
        (None, Some(nr)) => (strings(nr), true),
        (None, None) => return (Tri::Yes, "no Resource element: every resource".into()),
    };
    let name = if negated { "NotResource" } else { "Resource" };
    if !negated && pats.contains(&"*") {
        return (Tri::Yes, "Resource *".into());
    }
    let mut subst = Vec::new();
    for p in &pats {
        let s = if variables {
            substitute(p, req, true)
        } else {
            Ok((*p).to_owned())
        };
        match s {
            Ok(s) => subst.push(s),
            Err(e) => return (Tri::Unknown, format!("{name}: {e}")),
        }
    }
    let Some(res) = req.resource.as_deref() else {
        return (
            Tri::Unknown,
            format!(
                "cannot evaluate: {name} [{}] needs the request's resource (pass --resource)",
                pats.join(", ")
            ),
        );
    };
    let hit = subst.iter().find(|p| resource_like(p, res));
    match (hit, negated) {
        (Some(p), false) => (Tri::Yes, format!("Resource {p} matches {res}")),
        (None, false) => (
            Tri::No,
            format!("Resource [{}] does not match {res}", subst.join(", ")),
        ),
        (Some(p), true) => (
            Tri::No,
            format!("NotResource lists {p}, which matches {res}"),
        ),
        (None, true) => (
            Tri::Yes,
            format!(
                "NotResource [{}] does not match {res}, so the statement covers it",
                subst.join(", ")
            ),
        ),
    }
}

/// `Principal` of an RCP statement: always `"*"`, which loading checks (docs/scp-semantics.md#rcp-evaluation);
/// anything else cannot be evaluated.
fn principal_part(stmt: &Value) -> Option<(Tri, String)> {
    Some(match stmt.get("Principal")? {
        Value::String(s) if s == "*" => (Tri::Yes, "Principal *".into()),
        other => (Tri::Unknown, format!("cannot evaluate: Principal {other}")),
    })
}

/// Evaluate one statement: (applies, reasons, conditions).
pub(crate) fn statement(
    stmt: &Value,
    req: &Request,
    variables: bool,
) -> (Tri, Vec<String>, Vec<ConditionResult>) {
    let mut reasons = Vec::new();
    let (a, why) = action_part(stmt, &req.action);
    reasons.push(why);
    let mut applies = a;
    if applies != Tri::No {
        let (r, why) = resource_part(stmt, req, variables);
        reasons.push(why);
        applies = applies.and(r);
    }
    if applies != Tri::No {
        if let Some((p, why)) = principal_part(stmt) {
            reasons.push(why);
            applies = applies.and(p);
        }
    }
    let mut conditions = Vec::new();
    if applies != Tri::No {
        // All operators and keys must hold (AND); values within one key are OR'd inside the operator.
        if let Some(Value::Object(ops)) = stmt.get("Condition") {
            for (op, keys) in ops {
                let Value::Object(keys) = keys else { continue };
                for (key, vals) in keys {
                    let c = condition::evaluate(op, key, vals, req, variables);
                    applies = applies.and(c.result);
                    conditions.push(c);
                }
            }
        }
    }
    (applies, reasons, conditions)
}

fn is_service_linked(principal_arn: &str) -> bool {
    crate::ids::Arn::parse(principal_arn)
        .is_some_and(|p| p.service == "iam" && p.resource.starts_with("role/aws-service-role/"))
}

/// Evaluate `req` against every SCP and RCP on the path.
pub fn evaluate(path: &OrgPath, req: &Request) -> Evaluation {
    evaluate_with(path, req, true)
}

/// What decides the verdict only: statements whose Action cannot cover the request are skipped without a word,
/// which is most of a large path (a fix's proof asks for dozens of verdicts). `statements` and `denied_by` hold
/// the statements that could cover the action.
pub(crate) fn evaluate_brief(path: &OrgPath, req: &Request) -> Evaluation {
    evaluate_with(path, req, false)
}

pub(crate) fn verdict(path: &OrgPath, req: &Request) -> Verdict {
    evaluate_brief(path, req).verdict
}

/// Whether a statement's Action or NotAction certainly does not cover `action`.
fn action_excludes(stmt: &Value, action: &str) -> bool {
    match (stmt.get("Action"), stmt.get("NotAction")) {
        (Some(a), _) => !strings(a).iter().any(|p| action_matches(p, action)),
        (None, Some(na)) => strings(na).iter().any(|p| action_matches(p, action)),
        (None, None) => false,
    }
}

/// `record`: every statement with its reasons (for `scp check`), or only what decides the verdict.
fn evaluate_with(path: &OrgPath, req: &Request, record: bool) -> Evaluation {
    let mut ev = Evaluation {
        request: req.clone(),
        verdict: Verdict::Allowed,
        summary: String::new(),
        assumed_full_access: path.assumed_full_access,
        denied_by: Vec::new(),
        levels: Vec::new(),
        statements: Vec::new(),
        notes: notes(path, req),
    };
    if let Some(reason) = not_affected(path, req) {
        ev.verdict = Verdict::NotAffected { reason };
        ev.summary = ev.verdict.summary();
        return ev;
    }
    // SCPs on this path govern principals of the path's account only.
    let target = req.target_account();
    let scp_applies = match (req.principal_account(), &target) {
        (Some(pa), Some(t)) if &pa != t => {
            ev.notes.push(format!(
                "the principal belongs to account {pa}, not {t}: the SCPs of this path do not apply to it, only RCPs"
            ));
            false
        }
        _ => true,
    };
    ev.notes.extend(rcp_notes(path, req));
    for li in 0..path.levels.len() {
        let l = evaluate_level(path, li, req, scp_applies, record, &mut ev.statements);
        ev.levels.push(l);
    }
    ev.denied_by = ev
        .statements
        .iter()
        .filter(|s| s.effect == "Deny" && s.applies == Tri::Yes)
        .map(|s| StatementRef {
            policy: s.policy.clone(),
            statement: s.statement.clone(),
            statement_index: s.statement_index,
        })
        .collect();
    ev.verdict = verdict_of(&ev);
    ev.summary = ev.verdict.summary();
    ev
}

/// What the evaluation should say whatever the verdict: assumptions, how the principal was read, how each policy
/// was read.
fn notes(path: &OrgPath, req: &Request) -> Vec<String> {
    let mut notes = Vec::new();
    if path.assumed_full_access {
        notes.push(
            "only loose policies were given: assuming the AWS-managed FullAWSAccess SCP is also attached at every level \
             (the default), so no level lacks an Allow; give a levels file to check the Allows too"
                .to_owned(),
        );
    }
    if let Some(s) = &req.session_arn {
        notes.push(format!(
            "aws:PrincipalArn is the role ARN {}, not the session ARN {s}; the role's path is unknown and taken as none",
            req.principal_arn
        ));
    }
    if let Some(name) = crate::ids::Arn::parse(&req.principal_arn)
        .and_then(|p| p.resource.strip_prefix("role/").map(str::to_owned))
        .filter(|n| n.starts_with("AWSServiceRoleFor"))
    {
        notes.push(format!(
            "{name} looks like a service-linked role, which SCPs and RCPs do not restrict; its real ARN \
             (`aws iam get-role --role-name {name}`) would be under role/aws-service-role/"
        ));
    }
    for p in path.levels.iter().flat_map(|l| &l.policies) {
        notes.extend(p.notes.iter().map(|n| format!("{}: {n}", p.display())));
    }
    notes
}

/// Why SCPs and RCPs do not affect this request at all: a service-linked role, or the management account.
fn not_affected(path: &OrgPath, req: &Request) -> Option<String> {
    if is_service_linked(&req.principal_arn) {
        return Some("service-linked roles are not affected by SCPs or RCPs".to_owned());
    }
    let (m, t) = (path.management_account.as_ref()?, req.target_account()?);
    (*m == t).then(|| {
        format!("account {t} is the management account, which SCPs and RCPs do not affect")
    })
}

/// What RCPs on the path mean for this request.
fn rcp_notes(path: &OrgPath, req: &Request) -> Vec<String> {
    let has_rcp = path
        .levels
        .iter()
        .flat_map(|l| &l.policies)
        .any(|p| p.kind == PolicyKind::Rcp);
    if !has_rcp {
        return Vec::new();
    }
    let mut notes = vec![
        "RCPFullAWSAccess is attached at every level and cannot be detached, so RCPs only deny"
            .to_owned(),
    ];
    let service = req
        .action
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !RCP_SERVICES.contains(&service.as_str()) {
        notes.push(format!(
            "RCPs restrict resources of {} (as documented when written); {service} may not be covered, evaluated anyway",
            RCP_SERVICES.join(", ")
        ));
    }
    notes
}

/// One level of the path: its statements' results (appended to `statements`) and whether an SCP Allow matches.
fn evaluate_level(
    path: &OrgPath,
    li: usize,
    req: &Request,
    scp_applies: bool,
    record: bool,
    statements_out: &mut Vec<StatementResult>,
) -> LevelResult {
    let level = &path.levels[li];
    let mut allow = Tri::No;
    let mut allowed_by = Vec::new();
    if path.assumed_full_access {
        allow = Tri::Yes;
        allowed_by.push("FullAWSAccess (assumed)".to_owned());
    }
    for (pi, policy) in level.policies.iter().enumerate() {
        if policy.kind == PolicyKind::Scp && !scp_applies {
            continue;
        }
        let variables =
            policy.document.get("Version").and_then(Value::as_str) == Some(POLICY_VERSION);
        let stmts = statements(&policy.document);
        if !record && stmts.iter().all(|st| action_excludes(st, &req.action)) {
            continue;
        }
        let pref = PolicyRef::new(li, &level.name, pi, policy);
        let labels = statement_labels(&policy.document);
        for (si, stmt) in stmts.into_iter().enumerate() {
            let effect = stmt
                .get("Effect")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if policy.kind == PolicyKind::Rcp && effect == "Allow" {
                // Only RCPFullAWSAccess allows, and it is always attached: other RCP Allows change nothing.
                continue;
            }
            if !record && action_excludes(stmt, &req.action) {
                continue;
            }
            let (applies, reasons, conditions) = statement(stmt, req, variables);
            if effect == "Allow" {
                if applies == Tri::Yes {
                    allowed_by.push(format!("{} statement {}", policy.display(), labels[si]));
                }
                allow = match (allow, applies) {
                    (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
                    (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
                    _ => Tri::No,
                };
            }
            statements_out.push(StatementResult {
                policy: pref.clone(),
                statement: labels[si].clone(),
                statement_index: si,
                effect,
                applies,
                reasons,
                conditions,
            });
        }
    }
    let scp_allow = if scp_applies { allow } else { Tri::Yes };
    LevelResult {
        index: li,
        // Brief: only a level that may deny implicitly needs its name.
        name: if record || scp_allow != Tri::Yes {
            level.name.clone()
        } else {
            String::new()
        },
        scp_allow,
        allowed_by,
    }
}

/// An explicit deny wins; then a level without an Allow; then anything that could not be evaluated.
fn verdict_of(ev: &Evaluation) -> Verdict {
    if let Some(d) = ev.denied_by.first() {
        return Verdict::ExplicitDeny {
            policy: d.policy.clone(),
            statement: d.statement.clone(),
            statement_index: d.statement_index,
        };
    }
    if let Some(l) = ev.levels.iter().find(|l| l.scp_allow == Tri::No) {
        return Verdict::ImplicitDeny {
            level: l.index,
            level_name: l.name.clone(),
        };
    }
    let unknown: Vec<String> = ev
        .statements
        .iter()
        .filter(|s| {
            s.applies == Tri::Unknown
                && (s.effect == "Deny" || ev.levels[s.policy.level].scp_allow == Tri::Unknown)
        })
        .map(|s| {
            let why: Vec<&str> = s
                .reasons
                .iter()
                .map(String::as_str)
                .chain(
                    s.conditions
                        .iter()
                        .filter(|c| c.result == Tri::Unknown)
                        .map(|c| c.why.as_str()),
                )
                .filter(|r| r.contains("cannot evaluate"))
                .collect();
            format!(
                "{} statement {}: {}",
                s.policy.display,
                s.statement,
                why.join("; ")
            )
        })
        .collect();
    if unknown.is_empty() {
        Verdict::Allowed
    } else {
        Verdict::CannotEvaluate { reasons: unknown }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scp::policy::load_path;

    fn path(docs: &[&str]) -> OrgPath {
        load_path(
            &docs
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("p{i}.json"), (*d).to_owned()))
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn deny_names_statement_and_reasons() {
        let p = path(&[
            r#"{"Statement":[{"Sid":"NoPAB","Effect":"Deny","Action":"s3:PutBucketPublicAccessBlock","Resource":"*"}]}"#,
        ]);
        let ev = evaluate(
            &p,
            &Request::new(
                "arn:aws:iam::111122223333:role/R",
                "S3:putbucketpublicaccessblock",
            ),
        );
        assert!(
            matches!(&ev.verdict, Verdict::ExplicitDeny { statement, .. } if statement == "NoPAB")
        );
        assert_eq!(ev.verdict.exit_code(), 3);
        assert!(ev.statements[0].reasons[0].contains("matches"));
        assert!(ev.notes[0].contains("FullAWSAccess"));
    }

    #[test]
    fn unknown_deny_is_cannot_evaluate_but_definite_deny_wins() {
        let unknown =
            r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::b"}]}"#;
        let p = path(&[unknown]);
        let ev = evaluate(
            &p,
            &Request::new("arn:aws:iam::111122223333:role/R", "s3:GetObject"),
        );
        assert!(
            matches!(&ev.verdict, Verdict::CannotEvaluate { reasons } if reasons[0].contains("--resource")),
            "{ev:?}"
        );
        assert_eq!(ev.verdict.exit_code(), 1);
        let p = path(&[
            unknown,
            r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#,
        ]);
        assert!(matches!(
            evaluate(
                &p,
                &Request::new("arn:aws:iam::111122223333:role/R", "s3:GetObject")
            )
            .verdict,
            Verdict::ExplicitDeny { .. }
        ));
    }

    #[test]
    fn cross_account_principal_skips_scps() {
        let p = path(&[r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#]);
        let r = Request::new("arn:aws:iam::111122223333:role/R", "s3:GetObject")
            .with_account("444455556666");
        let ev = evaluate(&p, &r);
        assert_eq!(ev.verdict, Verdict::Allowed);
        assert!(ev.notes.iter().any(|n| n.contains("do not apply")));
    }
}
