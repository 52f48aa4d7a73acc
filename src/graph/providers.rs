//! What other stack sets provide: the IAM roles their templates (or a known topology) create, so a failure naming
//! a role can be traced to the stack set that should have created it.

use regex::Regex;

use super::templates;
use crate::evidence::Evidence;
use crate::vocabulary::{confidence, LinkKind, Topology};
use crate::wildcard;

/// IAM role ARNs inside a message (for principals a failure names without a rule capturing them).
pub(super) fn role_arn_regex() -> Option<Regex> {
    Regex::new(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+").ok()
}

/// `arn:aws:iam::121212121212:role/path/Name` → ("121212121212", "Name").
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let arn = arn.trim_matches('"');
    let parts = crate::ids::Arn::parse(arn)?;
    if parts.service != "iam" {
        return None;
    }
    let path = parts.resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    (!name.is_empty() && parts.account.len() == 12).then_some((parts.account, name))
}

pub(super) struct Provider {
    /// Stack set name or pattern.
    pub(super) stack_set: String,
    pub(super) role_pattern: String,
    pub(super) logical_id: Option<String>,
    pub(super) kind: LinkKind,
    pub(super) confidence: f32,
    pub(super) via: String,
}

pub(super) struct Providers(Vec<Provider>);

impl Providers {
    pub(super) fn learn(evidence: &Evidence, topologies: &[Topology]) -> Providers {
        let mut v = Vec::new();
        for s in &evidence.stack_sets {
            let Some(t) = s.template_body.as_deref() else {
                continue;
            };
            for r in templates::roles_created(t) {
                v.push(Provider {
                    stack_set: s.name.clone(),
                    role_pattern: r.role_name,
                    logical_id: Some(r.logical_id.clone()),
                    kind: LinkKind::TemplateReference,
                    confidence: confidence::TEMPLATE_REFERENCE,
                    via: format!(
                        "the template of stack set {} (resource {})",
                        s.name, r.logical_id
                    ),
                });
            }
        }
        for t in topologies {
            for p in &t.provides {
                v.push(Provider {
                    stack_set: p.stack_set.clone(),
                    role_pattern: p.role_name.clone(),
                    logical_id: p.logical_id.clone(),
                    kind: LinkKind::KnownTopology,
                    confidence: confidence::KNOWN_TOPOLOGY,
                    via: format!("known topology {} (stack sets {})", t.id, p.stack_set),
                });
            }
        }
        Providers(v)
    }

    /// Providers of a role name, template-learned first.
    pub(super) fn for_role<'p>(
        &'p self,
        role_name: &'p str,
    ) -> impl Iterator<Item = &'p Provider> + 'p {
        let mut v: Vec<&Provider> = self
            .0
            .iter()
            .filter(|p| wildcard::matches(&p.role_pattern, role_name, true))
            .collect();
        v.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        v.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_with_and_without_path() {
        assert_eq!(
            parse_role_arn(
                "arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole"
            ),
            Some(("121212121212", "ManagedInstance-CrossAccountManagementRole"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-cn:iam::121212121212:role/a/b/Name"),
            Some(("121212121212", "Name"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:sts::121212121212:assumed-role/x/y"),
            None
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1212:role/x"), None);
    }
}
