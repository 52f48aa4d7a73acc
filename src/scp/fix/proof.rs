//! The proof of a patch: the requests that must pass now do, and the neighbours — another role, the same name
//! elsewhere, the statement's other actions, actions denied by other statements — stay denied.

use std::collections::BTreeSet;

use serde_json::Value;

use super::super::eval::{evaluate_brief, verdict};
use super::super::policy::{statement_labels, statements, OrgPath};
use super::super::request::Request;
use super::patch::Patched;
use super::{Exemption, Expect, ProofCase};

/// The proof cases, notes on what could not be checked, and the patched statements' other actions (as their
/// patterns), which the exemption now lets through too.
pub(super) struct Proof {
    pub(super) cases: Vec<ProofCase>,
    pub(super) notes: Vec<String>,
    pub(super) other_actions: Vec<String>,
}

pub(super) fn prove(
    path: &OrgPath,
    req: &Request,
    ex: &Exemption,
    must_allow: &[(String, Request)],
    patched: &Patched,
) -> Proof {
    let after = &patched.path;
    let mut cases: Vec<ProofCase> = must_allow
        .iter()
        .map(|(d, r)| proof_case(d.clone(), Expect::Allowed, r.clone(), path, after))
        .collect();
    for (d, arn, acct) in &ex.neighbours {
        let r = req.for_principal(arn, acct.clone());
        cases.push(proof_case(
            format!("{d} stays denied"),
            Expect::Denied,
            r,
            path,
            after,
        ));
    }
    // Other actions of the patched statements, for another principal of the account: still denied.
    let mut other_actions = Vec::new();
    let mut seen = BTreeSet::new();
    for (l, i, si) in &patched.statements {
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
            cases.push(proof_case(
                format!("{d} on {a} (Action {pat} of the patched statement) stays denied"),
                Expect::Denied,
                r,
                path,
                after,
            ));
        }
    }
    let mut notes = Vec::new();
    if !outside_denies(path, req, patched, &mut seen, &mut cases) {
        notes.push("no action denied to this principal by another statement was found, so none was checked".to_owned());
    }
    Proof {
        cases,
        notes,
        other_actions: other_actions.into_iter().map(|(_, p)| p).collect(),
    }
}

/// The same principal on actions denied by statements outside the fix stays denied (up to three such checks).
/// Returns whether any was found.
fn outside_denies(
    path: &OrgPath,
    req: &Request,
    patched: &Patched,
    seen: &mut BTreeSet<String>,
    cases: &mut Vec<ProofCase>,
) -> bool {
    let mut outside = 0;
    for (li, level) in path.levels.iter().enumerate() {
        for (pi, policy) in level.policies.iter().enumerate() {
            for (si, stmt) in statements(&policy.document).into_iter().enumerate() {
                if stmt.get("Effect").and_then(Value::as_str) != Some("Deny")
                    || patched.statements.contains(&(li, pi, si))
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
                        !patched.statements.contains(&(
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
                        cases.push(proof_case(desc, Expect::Denied, r, path, &patched.path));
                        outside += 1;
                        if outside == 3 {
                            return true;
                        }
                    }
                }
            }
        }
    }
    outside > 0
}

/// A concrete action for an Action pattern (wildcards filled with `Example`), or None for patterns like `*`.
pub(super) fn instantiate(pattern: &str) -> Option<String> {
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
