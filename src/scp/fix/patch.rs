//! Patching the statements that deny: each gets the exemption in its exception list on `aws:PrincipalArn` (or a
//! new `ArnNotLike aws:PrincipalARN`), until every request that must pass does; then each patched policy as the
//! document to apply, within AWS's size limit.

use std::collections::BTreeSet;

use super::super::diff::unified;
use super::super::eval::{verdict, PolicyRef, Verdict};
use super::super::json::OJson;
use super::super::policy::{statement_labels, OrgPath};
use super::super::request::Request;
use super::super::ScpError;
use super::{PolicyPatch, PolicySize, StatementChange, POLICY_SIZE_LIMIT};

/// The path with the denying statements patched: the patched trees per (level, policy), and which statements.
pub(super) struct Patched {
    pub(super) path: OrgPath,
    pub(super) trees: Vec<((usize, usize), OJson, Vec<StatementChange>)>,
    /// (level, policy, statement) of every patched statement.
    pub(super) statements: BTreeSet<(usize, usize, usize)>,
}

/// Patch every statement that still denies one of the requests that must pass.
pub(super) fn patch_denying_statements(
    path: &OrgPath,
    must_allow: &[(String, Request)],
    values: &[String],
) -> Result<Patched, ScpError> {
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
        let change = patch_statement(tree, si, &label, values).map_err(ScpError::NoPatch)?;
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
    Ok(Patched {
        path: patched,
        trees,
        statements: done,
    })
}

/// The patched policies as documents to apply, and what their size means.
pub(super) struct Documents {
    pub(super) patches: Vec<PolicyPatch>,
    pub(super) warnings: Vec<String>,
    pub(super) notes: Vec<String>,
}

/// Each patched policy: its diff, and the text to apply — indented when that fits AWS's limit, else compact; a
/// patch that cannot fit gets no command to apply it.
pub(super) fn documents(path: &OrgPath, patched: &Patched) -> Documents {
    let mut out = Documents {
        patches: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
    };
    for ((l, i), tree, changes) in &patched.trees {
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
        let policy = PolicyRef::new(*l, &path.levels[*l].name, *i, orig);
        if !size.fits {
            out.warnings.push(format!(
                "the patched {} is {} characters even without white space, over AWS's limit of {} for one \
                 policy, so AWS would refuse it: move statements into another policy (up to 5 can be attached at \
                 each level) and patch that one",
                policy.display, size.characters, size.limit
            ));
        } else if compact {
            out.notes.push(format!(
                "the patched {} is written without white space ({} characters): indented it would be {}, \
                 over AWS's limit of {}, which counts white space saved through the CLI",
                policy.display,
                size.characters,
                new.len(),
                size.limit
            ));
        }
        out.patches.push(PolicyPatch {
            policy,
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
    out
}

/// Operators whose list on `aws:PrincipalArn` is an exception list we may extend.
const PRINCIPAL_OPERATORS: [&str; 4] = [
    "ArnNotLike",
    "ArnNotEquals",
    "StringNotLike",
    "StringNotEquals",
];

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
pub(super) fn patch_statement(
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
