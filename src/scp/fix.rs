//! Propose an exemption patch for an explicit SCP/RCP deny, and prove it: the denied request becomes allowed,
//! neighbour requests stay denied. A patch whose proof fails is not offered.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::diff::unified;
use super::eval::{evaluate_brief, verdict, PolicyRef, Verdict};
use super::json::OJson;
use super::policy::{statement_labels, statements, OrgPath};
use super::request::Request;
use super::ScpError;
use crate::ids::{is_account_id, Arn};

/// Operators whose list on `aws:PrincipalArn` is an exception list we may extend.
const PRINCIPAL_OPERATORS: [&str; 4] = [
    "ArnNotLike",
    "ArnNotEquals",
    "StringNotLike",
    "StringNotEquals",
];

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// The principal patterns to exempt, why, and warnings (docs/scp-semantics.md#principals, #stacksets-roles).
pub struct Exemption {
    pub values: Vec<String>,
    pub why: String,
    pub warnings: Vec<String>,
    /// Requests that must be allowed too (the same role with a path), and neighbours that must stay denied.
    also_allowed: Vec<(String, String)>,
    neighbours: Vec<(String, String, Option<String>)>,
}

fn other_account(a: &str) -> String {
    if a == "111111111111" {
        "222222222222"
    } else {
        "111111111111"
    }
    .to_owned()
}

/// The exemption that lets `req`'s principal through a Deny: the `aws:PrincipalArn` patterns, pinned to its account.
pub fn exemption(req: &Request) -> Result<Exemption, ScpError> {
    let who = &req.principal_arn;
    let parts = Arn::parse(who).ok_or_else(|| {
        ScpError::NoPatch(format!("{who} is not an ARN: no exemption can be built"))
    })?;
    let (p, a) = (parts.partition, parts.account);
    if !is_account_id(a) {
        return Err(ScpError::NoPatch(format!(
            "{who} has no 12-digit account: an exemption must be pinned to one account"
        )));
    }
    let b = other_account(a);
    let same = Some(a.to_owned());
    let shown = match &req.session_arn {
        Some(s) => format!("The message shows the STS session {s}; aws:PrincipalArn carries the IAM role ARN {who} instead, so the session ARN would never match. "),
        None => String::new(),
    };
    let mut ex = Exemption {
        values: Vec::new(),
        why: String::new(),
        warnings: Vec::new(),
        also_allowed: Vec::new(),
        neighbours: Vec::new(),
    };
    match (parts.service, parts.resource) {
        ("iam", res) if res.starts_with("role/") => {
            let rest = &res["role/".len()..];
            let (dir, name) = match rest.rfind('/') {
                Some(i) => (&rest[..=i], &rest[i + 1..]),
                None => ("", rest),
            };
            if name.starts_with("stacksets-exec-") {
                ex.values
                    .push(format!("arn:{p}:iam::{a}:role/{dir}stacksets-exec-*"));
                ex.why = format!(
                    "{shown}The role is a StackSets execution role (stacksets-exec-<hash>, created by service-managed \
                     StackSets in each target account), so the exemption covers arn:{p}:iam::{a}:role/{dir}stacksets-exec-* \
                     in account {a} only, not in every account."
                );
                ex.warnings.push(format!(
                    "Anyone able to create a role named stacksets-exec-* in account {a}, or any role under a path \
                     starting /stacksets-exec- (the * crosses /), inherits this exemption: protect those roles with an \
                     SCP that denies iam:CreateRole, iam:UpdateAssumeRolePolicy, iam:PutRolePolicy, \
                     iam:AttachRolePolicy and iam:DeleteRole on arn:{p}:iam::*:role/stacksets-exec-* except for \
                     CloudFormation StackSets (as AWS Control Tower does)."
                ));
                let other = if name == "stacksets-exec-0000ffff" {
                    "stacksets-exec-ffff0000"
                } else {
                    "stacksets-exec-0000ffff"
                };
                ex.also_allowed.push((
                    "another StackSets execution role in the same account (intended: the exemption covers stacksets-exec-*)".into(),
                    format!("arn:{p}:iam::{a}:role/{dir}{other}"),
                ));
            } else if req.session_arn.is_some() && dir.is_empty() {
                ex.values.push(format!("arn:{p}:iam::{a}:role/{name}"));
                ex.values.push(format!("arn:{p}:iam::{a}:role/*/{name}"));
                ex.why = format!(
                    "{shown}The session ARN does not show the role's path, so the two patterns match role {name} in account \
                     {a} with no path and with any path (not role/*{name}, which would also match other names ending in \
                     {name}; role names are unique per account, so role/*/{name} can only be this role). With IAM access, \
                     `aws iam get-role --role-name {name}` shows the exact ARN."
                );
                ex.also_allowed.push((
                    "the same role if it has a path".into(),
                    format!("arn:{p}:iam::{a}:role/example-path/{name}"),
                ));
            } else {
                ex.values.push(who.clone());
                ex.why = format!(
                    "{shown}aws:PrincipalArn carries {who} (path known), exempted exactly."
                );
            }
            let other = if name == "other-role" {
                "other-role-2"
            } else {
                "other-role"
            };
            ex.neighbours.push((
                "another role in the same account".into(),
                format!("arn:{p}:iam::{a}:role/{other}"),
                same.clone(),
            ));
            ex.neighbours.push((
                "a role whose name ends with the same name in the same account".into(),
                format!("arn:{p}:iam::{a}:role/x{name}"),
                same.clone(),
            ));
            ex.neighbours.push((
                "a user with the same name in the same account".into(),
                format!("arn:{p}:iam::{a}:user/{name}"),
                same.clone(),
            ));
            ex.neighbours.push((
                format!("the same role name in another account ({b}, same policies)"),
                format!("arn:{p}:iam::{b}:role/{dir}{name}"),
                Some(b.clone()),
            ));
        }
        ("iam", res) if res.starts_with("user/") || res == "root" => {
            ex.values.push(who.clone());
            ex.why = format!("aws:PrincipalArn carries {who}, exempted exactly.");
            let other = if res == "user/other-user" {
                "user/other-user-2"
            } else {
                "user/other-user"
            };
            ex.neighbours.push((
                "another user in the same account".into(),
                format!("arn:{p}:iam::{a}:{other}"),
                same.clone(),
            ));
            ex.neighbours.push((
                "a role in the same account".into(),
                format!("arn:{p}:iam::{a}:role/other-role"),
                same.clone(),
            ));
            ex.neighbours.push((
                format!("the same principal name in another account ({b}, same policies)"),
                format!("arn:{p}:iam::{b}:{res}"),
                Some(b.clone()),
            ));
        }
        ("sts", res) if res.starts_with("federated-user/") => {
            ex.values.push(who.clone());
            ex.why = format!(
                "aws:PrincipalArn of a federated user is its STS ARN {who}, exempted exactly."
            );
            ex.neighbours.push((
                "another federated user in the same account".into(),
                format!("arn:{p}:sts::{a}:federated-user/other-user"),
                same.clone(),
            ));
            ex.neighbours.push((
                format!("the same federated user name in another account ({b})"),
                format!("arn:{p}:sts::{b}:{res}"),
                Some(b.clone()),
            ));
        }
        _ => {
            return Err(ScpError::NoPatch(format!(
                "{who} is not a role, user, root or federated-user ARN: no exemption can be built"
            )))
        }
    }
    Ok(ex)
}

fn str_list(v: &OJson) -> Option<Vec<String>> {
    match v {
        OJson::Str(s) => Some(vec![s.clone()]),
        OJson::Arr(a) => a
            .iter()
            .map(|x| {
                if let OJson::Str(s) = x {
                    Some(s.clone())
                } else {
                    None
                }
            })
            .collect(),
        _ => None,
    }
}

/// Add `add` to the statement's exception list on aws:PrincipalArn, or create `ArnNotLike aws:PrincipalARN`.
fn patch_statement(
    doc: &mut OJson,
    si: usize,
    label: &str,
    add: &[String],
) -> Result<StatementChange, String> {
    let stmt = match doc.get_mut("Statement") {
        Some(OJson::Arr(a)) => a.get_mut(si),
        Some(o @ OJson::Obj(_)) if si == 0 => Some(o),
        _ => None,
    }
    .ok_or_else(|| format!("statement {label} not found"))?;
    let wildcards = add.iter().any(|v| v.contains('*') || v.contains('?'));
    let mut note = String::new();
    // The existing exception list, in the order of PRINCIPAL_OPERATORS; the policy's spelling is kept.
    let mut found: Option<(usize, String, String)> = None;
    if let Some(OJson::Obj(ops)) = stmt.get("Condition") {
        for (op, keys) in ops {
            let base = op.strip_suffix("IfExists").unwrap_or(op);
            let Some(rank) = PRINCIPAL_OPERATORS
                .iter()
                .position(|o| o.eq_ignore_ascii_case(base))
            else {
                continue;
            };
            let OJson::Obj(keys) = keys else { continue };
            let Some((key, _)) = keys
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case("aws:PrincipalArn") && str_list(v).is_some())
            else {
                continue;
            };
            if rank == 3 && wildcards {
                // StringNotEquals compares exactly: a wildcard there would be a literal and exempt nobody.
                note = format!(
                    "{op} compares exactly, so the wildcard patterns go into a new ArnNotLike beside it (conditions are \
                     ANDed, so either exception list exempts)"
                );
                continue;
            }
            if found.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                found = Some((rank, op.clone(), key.clone()));
            }
        }
    }
    let cond = stmt
        .entry("Condition", OJson::Obj(Vec::new()))
        .ok_or("statement is not an object")?;
    if let Some((_, op, key)) = found {
        let list = cond
            .get_mut(&op)
            .and_then(|k| k.get_mut(&key))
            .ok_or("condition vanished")?;
        let existing = str_list(list).unwrap_or_default();
        let added: Vec<String> = add
            .iter()
            .filter(|v| !existing.contains(v))
            .cloned()
            .collect();
        let mut all: Vec<OJson> = existing.iter().cloned().map(OJson::Str).collect();
        all.extend(added.iter().cloned().map(OJson::Str));
        *list = OJson::Arr(all);
        if note.is_empty() {
            note = format!("added to the statement's existing {op} {key} list");
        }
        return Ok(StatementChange {
            statement: label.to_owned(),
            statement_index: si,
            operator: op,
            key,
            existing_values: existing,
            added_values: added,
            created: false,
            note,
        });
    }
    let op = match cond {
        OJson::Obj(ops) => ops
            .iter()
            .map(|(k, _)| k.clone())
            .find(|k| k == "ArnNotLike"),
        _ => None,
    }
    .unwrap_or_else(|| "ArnNotLike".to_owned());
    let keys = cond
        .entry(&op, OJson::Obj(Vec::new()))
        .ok_or("Condition is not an object")?;
    let key = "aws:PrincipalARN".to_owned();
    keys.entry(
        &key,
        OJson::Arr(add.iter().cloned().map(OJson::Str).collect()),
    )
    .ok_or("ArnNotLike is not an object")?;
    if note.is_empty() {
        note = "the statement had no exception on aws:PrincipalArn: added ArnNotLike aws:PrincipalARN. Conditions are \
                ANDed: the Deny applies only when every condition holds, and for these principals the new one does \
                not, so the Deny no longer applies to them (and still applies to everyone else it applied to)"
            .to_owned();
    }
    Ok(StatementChange {
        statement: label.to_owned(),
        statement_index: si,
        operator: op,
        key,
        existing_values: Vec::new(),
        added_values: add.to_vec(),
        created: true,
        note,
    })
}

/// A concrete action for an Action pattern (wildcards filled with `Example`), or None for patterns like `*`.
fn instantiate(pattern: &str) -> Option<String> {
    let (svc, name) = pattern.split_once(':')?;
    if svc.contains(['*', '?']) || name.is_empty() {
        return None;
    }
    Some(format!(
        "{svc}:{}",
        name.replace('*', "Example").replace('?', "X")
    ))
}

fn action_patterns(stmt: &Value) -> Vec<String> {
    match stmt.get("Action") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn proof_case(
    description: String,
    expect: Expect,
    request: Request,
    original: &OrgPath,
    patched: &OrgPath,
) -> ProofCase {
    let before = verdict(original, &request);
    let after = verdict(patched, &request);
    let applicable = expect == Expect::Allowed || before.is_denied();
    let ok = match expect {
        Expect::Allowed => after.is_allowed(),
        Expect::Denied => !applicable || after.is_denied(),
    };
    ProofCase {
        description,
        expect,
        request,
        before,
        after,
        applicable,
        ok,
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

    // Patch every statement that still denies one of the requests that must pass.
    let mut patched = path.clone();
    let mut trees: Vec<((usize, usize), OJson, Vec<StatementChange>)> = Vec::new();
    let mut done: BTreeSet<(usize, usize, usize)> = BTreeSet::new();
    for _ in 0..64 {
        let deny = must_allow
            .iter()
            .find_map(|(_, r)| match verdict(&patched, r) {
                Verdict::ExplicitDeny {
                    policy,
                    statement_index,
                    ..
                } => Some((policy, statement_index)),
                _ => None,
            });
        let Some((pref, si)) = deny else { break };
        if !done.insert((pref.level, pref.index, si)) {
            return Err(ScpError::NoPatch(format!(
                "{} statement #{si} still denies after the exemption was added",
                pref.display
            )));
        }
        let key = (pref.level, pref.index);
        let Some(policy) = patched.policy(pref.level, pref.index) else {
            break;
        };
        let label = statement_labels(&policy.document)
            .get(si)
            .cloned()
            .unwrap_or_else(|| format!("#{si}"));
        let pos = match trees.iter().position(|(k, _, _)| *k == key) {
            Some(p) => p,
            None => {
                trees.push((key, policy.ordered(), Vec::new()));
                trees.len() - 1
            }
        };
        let (_, tree, changes) = &mut trees[pos];
        let change = patch_statement(tree, si, &label, &ex.values).map_err(ScpError::NoPatch)?;
        changes.push(change);
        if let Some(p) = patched
            .levels
            .get_mut(pref.level)
            .and_then(|l| l.policies.get_mut(pref.index))
        {
            p.document = tree.to_value();
            p.source = Some(tree.pretty());
        }
    }

    let mut patches = Vec::new();
    let (mut size_warnings, mut size_notes) = (Vec::new(), Vec::new());
    for ((l, i), tree, changes) in &trees {
        let Some(orig) = path.policy(*l, *i) else {
            continue;
        };
        let name = orig
            .id
            .clone()
            .or_else(|| orig.name.clone())
            .unwrap_or_else(|| orig.label.clone())
            .replace(' ', "_");
        let (old, new) = (orig.ordered().pretty(), tree.pretty());
        // Indented when that fits AWS's limit, else compact; a patch that cannot fit gets no command to apply it.
        let (text, compact) = if new.len() <= POLICY_SIZE_LIMIT {
            (new.clone(), false)
        } else {
            (tree.compact(), true)
        };
        let size = PolicySize {
            characters: text.len(),
            limit: POLICY_SIZE_LIMIT,
            compact,
            fits: text.len() <= POLICY_SIZE_LIMIT,
        };
        let display = PolicyRef::new(*l, &path.levels[*l].name, *i, orig).display;
        if !size.fits {
            size_warnings.push(format!(
                "the patched {display} is {} characters even without white space, over AWS's limit of {} for one \
                 policy, so AWS would refuse it: move statements into another policy (up to 5 can be attached at \
                 each level) and patch that one",
                size.characters, size.limit
            ));
        } else if compact {
            size_notes.push(format!(
                "the patched {display} is written without white space ({} characters): indented it would be {}, \
                 over AWS's limit of {}, which counts white space saved through the CLI",
                size.characters,
                new.len(),
                size.limit
            ));
        }
        patches.push(PolicyPatch {
            policy: PolicyRef::new(*l, &path.levels[*l].name, *i, orig),
            changes: changes.clone(),
            patched_document: tree.to_value(),
            patched_text: text,
            size,
            diff: unified(&old, &new, &format!("a/{name}"), &format!("b/{name}"), 3),
            apply_command: orig
                .id
                .as_ref()
                .filter(|id| !id.ends_with("FullAWSAccess") && size.fits)
                .map(|id| format!("aws organizations update-policy --policy-id {id} --content file://PATCHED.json")),
        });
    }

    // The proof.
    let mut proof: Vec<ProofCase> = must_allow
        .iter()
        .map(|(d, r)| proof_case(d.clone(), Expect::Allowed, r.clone(), path, &patched))
        .collect();
    for (d, arn, acct) in &ex.neighbours {
        let r = req.for_principal(arn, acct.clone());
        proof.push(proof_case(
            format!("{d} stays denied"),
            Expect::Denied,
            r,
            path,
            &patched,
        ));
    }
    let patched_stmts: BTreeSet<(usize, usize, usize)> = done.clone();
    let mut notes = Vec::new();
    // Other actions of the patched statements, for another principal of the account: still denied.
    let mut other_actions = Vec::new();
    let mut seen = BTreeSet::new();
    for (l, i, si) in &patched_stmts {
        let Some(stmt) = path
            .policy(*l, *i)
            .and_then(|p| statements(&p.document).get(*si).copied())
        else {
            continue;
        };
        for pat in action_patterns(stmt) {
            if let Some(a) = instantiate(&pat) {
                if !a.eq_ignore_ascii_case(&req.action) && seen.insert(a.to_ascii_lowercase()) {
                    other_actions.push((a, pat));
                }
            }
        }
    }
    if let Some((d, arn, acct)) = ex.neighbours.first() {
        for (a, pat) in other_actions.iter().take(3) {
            let mut r = req.for_principal(arn, acct.clone());
            r.action = a.clone();
            proof.push(proof_case(
                format!("{d} on {a} (Action {pat} of the patched statement) stays denied"),
                Expect::Denied,
                r,
                path,
                &patched,
            ));
        }
    }
    // The same principal on actions denied by statements outside the fix: still denied.
    let mut outside = 0;
    'levels: for (li, level) in path.levels.iter().enumerate() {
        for (pi, policy) in level.policies.iter().enumerate() {
            for (si, stmt) in statements(&policy.document).into_iter().enumerate() {
                if stmt.get("Effect").and_then(Value::as_str) != Some("Deny")
                    || patched_stmts.contains(&(li, pi, si))
                {
                    continue;
                }
                for pat in action_patterns(stmt) {
                    let Some(a) = instantiate(&pat) else { continue };
                    if !seen.insert(a.to_ascii_lowercase()) || a.eq_ignore_ascii_case(&req.action) {
                        continue;
                    }
                    let mut r = req.clone();
                    r.action = a.clone();
                    let ev = evaluate_brief(path, &r);
                    let outside_fix = ev.denied_by.iter().any(|d| {
                        !patched_stmts.contains(&(
                            d.policy.level,
                            d.policy.index,
                            d.statement_index,
                        ))
                    });
                    if outside_fix {
                        let desc = format!(
                            "the same principal on {a} (denied by {} statement {}) stays denied",
                            policy.display(),
                            statement_labels(&policy.document)
                                .get(si)
                                .cloned()
                                .unwrap_or_else(|| format!("#{si}"))
                        );
                        proof.push(proof_case(desc, Expect::Denied, r, path, &patched));
                        outside += 1;
                        if outside == 3 {
                            break 'levels;
                        }
                    }
                }
            }
        }
    }
    if outside == 0 {
        notes.push("no action denied to this principal by another statement was found, so none was checked".to_owned());
    }

    // That a patch cannot be applied comes first.
    let mut warnings = size_warnings;
    warnings.extend(ex.warnings.iter().cloned());
    notes.extend(size_notes);
    if !other_actions.is_empty() {
        warnings.push(format!(
            "the exemption lifts the whole statement for these principals, so they may also call {} (the statement's \
             other actions), not only {}",
            other_actions.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(", "),
            req.action
        ));
    }
    let mut why = vec![ex.why.clone()];
    for p in &patches {
        for c in &p.changes {
            why.push(format!(
                "{} statement {}: {}.",
                p.policy.display, c.statement, c.note
            ));
        }
    }
    let proven = proof.iter().all(|c| c.ok);
    let fix = Fix {
        request: req.clone(),
        before,
        patches,
        added_values: ex.values.clone(),
        why,
        warnings,
        proof,
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
    use super::*;

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
