//! The OU path the policies form: loose files (one level each, `FullAWSAccess` assumed beside them) or one
//! levels file that gives the path explicitly.

use serde::Serialize;

use super::{invalid, parse_tree, Policy, PolicyKind};
use crate::scp::json::OJson;
use crate::scp::ScpError;

/// One level of the OU path (root, each OU, the account) with the policies attached there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    pub name: String,
    pub policies: Vec<Policy>,
}

/// The OU path from root to account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgPath {
    pub levels: Vec<Level>,
    /// True when only loose policies were given: each level is then assumed to also have `FullAWSAccess`.
    pub assumed_full_access: bool,
    /// SCPs and RCPs do not affect the management account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management_account: Option<String>,
}

impl OrgPath {
    pub fn policy(&self, level: usize, index: usize) -> Option<&Policy> {
        self.levels.get(level).and_then(|l| l.policies.get(index))
    }
}

/// Files (label, text) in order from root to account, one policy each; or one levels file.
pub fn load_path(files: &[(String, String)]) -> Result<OrgPath, ScpError> {
    if files.is_empty() {
        return Err(invalid("<none>", "no policy file given"));
    }
    let trees = files
        .iter()
        .map(|(label, text)| parse_tree(label, text).map(|t| (label, text, t)))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((label, _, _)) = trees.iter().find(|(_, _, t)| t.get("levels").is_some()) {
        if trees.len() > 1 {
            return Err(invalid(
                label,
                "a levels file describes the whole path: give it as the only --policy file",
            ));
        }
    }
    if let [(label, _, tree)] = trees.as_slice() {
        if tree.get("levels").is_some() {
            return levels_file(label, tree);
        }
    }
    let mut levels = Vec::new();
    for (label, text, tree) in &trees {
        let p = Policy::from_tree(label, tree, Some(text))?;
        // Loose files: each file is one level, named after the file.
        levels.push(Level {
            name: label.to_string(),
            policies: vec![p],
        });
    }
    Ok(OrgPath {
        levels,
        assumed_full_access: true,
        management_account: None,
    })
}

fn levels_file(label: &str, tree: &OJson) -> Result<OrgPath, ScpError> {
    let OJson::Obj(top) = tree else {
        return Err(invalid(label, "a levels file is a JSON object"));
    };
    let mut management_account = None;
    let mut levels = Vec::new();
    for (k, v) in top {
        match (k.as_str(), v) {
            ("management_account", OJson::Str(s)) => management_account = Some(s.clone()),
            ("management_account", OJson::Null) => {}
            ("levels", OJson::Arr(ls)) => {
                for (li, l) in ls.iter().enumerate() {
                    levels.push(level(label, li, l)?);
                }
            }
            _ => {
                return Err(invalid(
                    label,
                    &format!("levels file: unexpected key {k:?} (expected \"levels\": [...] and optional \"management_account\": \"<id>\")"),
                ))
            }
        }
    }
    if levels.is_empty() {
        return Err(invalid(
            label,
            "levels file: \"levels\" is missing or empty",
        ));
    }
    Ok(OrgPath {
        levels,
        assumed_full_access: false,
        management_account,
    })
}

fn level(label: &str, li: usize, l: &OJson) -> Result<Level, ScpError> {
    let OJson::Obj(fields) = l else {
        return Err(invalid(label, &format!("levels[{li}] is not an object")));
    };
    let mut name = format!("level {li}");
    let mut policies = Vec::new();
    for (k, v) in fields {
        match (k.as_str(), v) {
            ("name", OJson::Str(s)) => name = s.clone(),
            ("policies", OJson::Arr(ps)) => {
                for (pi, p) in ps.iter().enumerate() {
                    policies.push(entry(&format!("{label} levels[{li}].policies[{pi}]"), p)?);
                }
            }
            _ => {
                return Err(invalid(
                    label,
                    &format!(
                        "levels[{li}]: unexpected key {k:?} (expected \"name\" and \"policies\")"
                    ),
                ))
            }
        }
    }
    Ok(Level { name, policies })
}

fn entry(label: &str, p: &OJson) -> Result<Policy, ScpError> {
    match p {
        OJson::Str(s) if s == "FullAWSAccess" => Ok(Policy::full_access(PolicyKind::Scp)),
        OJson::Str(s) if s == "RCPFullAWSAccess" => Ok(Policy::full_access(PolicyKind::Rcp)),
        OJson::Str(s) => Err(invalid(label, &format!("{s:?}: only \"FullAWSAccess\" and \"RCPFullAWSAccess\" may be named; give other policies in full"))),
        OJson::Obj(_) if p.get("Policy").is_some() || p.get("Statement").is_some() => Policy::from_tree(label, p, None),
        OJson::Obj(fields) => {
            let mut meta: [Option<String>; 4] = Default::default();
            let mut content = None;
            for (k, v) in fields {
                match (k.as_str(), v) {
                    ("name", OJson::Str(s)) => meta[0] = Some(s.clone()),
                    ("id", OJson::Str(s)) => meta[1] = Some(s.clone()),
                    ("arn", OJson::Str(s)) => meta[2] = Some(s.clone()),
                    ("type", OJson::Str(s)) => meta[3] = Some(s.clone()),
                    ("content", OJson::Str(s)) => content = Some(s.clone()),
                    ("document", d @ OJson::Obj(_)) => content = Some(d.pretty()),
                    _ => return Err(invalid(label, &format!("unexpected key {k:?} (expected name, id, arn, type, document or content)"))),
                }
            }
            let [name, id, arn, kind] = meta;
            let kind = match kind {
                Some(t) => Some(PolicyKind::from_type(&t).ok_or_else(|| invalid(label, &format!("type {t:?} is not SCP or RCP")))?),
                None => None,
            };
            let content = content.ok_or_else(|| invalid(label, "no \"document\" or \"content\""))?;
            Policy::from_content(label, id, arn, name, kind, &content)
        }
        _ => Err(invalid(label, "a policy entry is a string or an object")),
    }
}
