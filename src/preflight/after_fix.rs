//! After a fix: the failed stack set's whole template checked against the patched policies, so the proof says
//! whether the next resource would be denied next (docs/preflight.md#after-a-fix).

use serde::Serialize;

use super::{input, recheck};
use crate::evidence::Evidence;
use crate::template::ResourceTypes;
use crate::trace::Diagnosis;

/// What the patched policies allow of the template the failure came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TemplateCheck {
    pub stack_set: String,
    /// The failed accounts checked.
    pub accounts: Vec<String>,
    /// Distinct (action, resource) requests evaluated, and resources.
    pub checked_actions: usize,
    pub checked_resources: usize,
    /// Certain actions the patched policies still deny: `action on resource (logical id), denied by statement`.
    pub still_denied: Vec<String>,
}

impl TemplateCheck {
    /// Whether the patched policies allow every certain action of the template.
    pub fn passes(&self) -> bool {
        self.still_denied.is_empty()
    }

    /// The proof line's mark, as the other proof checks show theirs.
    pub fn mark(&self) -> &'static str {
        if self.passes() {
            "✅"
        } else {
            "❌"
        }
    }

    /// One sentence for the proof.
    pub fn sentence(&self) -> String {
        if self.passes() {
            format!(
                "the patched policies allow every action the template of {} needs ({} on {} checked, for {})",
                self.stack_set,
                crate::text::count(self.checked_actions, "action", "actions"),
                crate::text::count(self.checked_resources, "resource", "resources"),
                crate::text::shorten(&self.accounts, 4, 3, "accounts")
            )
        } else {
            format!(
                "after this fix, the template of {} would still be denied: {}",
                self.stack_set,
                crate::text::shorten(&self.still_denied, 5, 4, "actions")
            )
        }
    }
}

/// For each root cause whose fix patches an SCP/RCP statement, the preflight of its stack set's template (when the
/// evidence has it) for the accounts that failed, on the evidence's policies with the patch applied.
pub fn check_fixes(d: &mut Diagnosis, evidence: &Evidence, types: &ResourceTypes) {
    let Ok(data) = super::data::builtin() else {
        return;
    };
    for n in 0..d.root_causes.len() {
        let r = &d.root_causes[n];
        let f = &d.failures[r.failure];
        let (Some(ss), Some(ex)) = (f.stack_set.clone(), r.remediation.scp_exemption.as_ref())
        else {
            continue;
        };
        let Some(st) = ex.statement.as_ref() else {
            continue;
        };
        let Some(policy_id) = st.policy_id.clone() else {
            continue;
        };
        let has_template = evidence
            .stack_sets
            .iter()
            .any(|s| s.name == ss && s.template_body.is_some());
        if !has_template {
            continue;
        }
        let mut accounts: Vec<String> = std::iter::once(r.failure)
            .chain(r.explains.iter().copied())
            .filter_map(|j| {
                let x = &d.failures[j];
                (x.stack_set.as_deref() == Some(ss.as_str()))
                    .then(|| x.account.clone())
                    .flatten()
            })
            .collect();
        accounts.sort();
        accounts.dedup();
        // The evidence as it will be, for this stack set only: its description, its instances and events in the
        // failed accounts, every policy with the patched document in place of the one it patches, and the
        // organisation's paths. Only what the preflight reads is copied, not the whole evidence.
        let in_set = |s: Option<&str>| s == Some(ss.as_str());
        let doc = st.patched.to_string();
        let patched = Evidence {
            stack_sets: evidence
                .stack_sets
                .iter()
                .filter(|s| s.name == ss)
                .cloned()
                .collect(),
            stack_instances: evidence
                .stack_instances
                .iter()
                .filter(|i| in_set(i.stack_set.as_deref()) && accounts.contains(&i.account))
                .cloned()
                .collect(),
            stack_events: evidence
                .stack_events
                .iter()
                .filter(|e| {
                    in_set(e.stack_set.as_deref())
                        && e.account.as_ref().is_some_and(|a| accounts.contains(a))
                })
                .cloned()
                .collect(),
            policies: evidence
                .policies
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    if p.id.as_deref() == Some(policy_id.as_str()) {
                        p.content = doc.clone();
                    }
                    p
                })
                .collect(),
            organization: evidence.organization.clone(),
            account_paths: evidence.account_paths.clone(),
            ..Evidence::default()
        };
        let Ok((plans, _)) = input::plans_from_evidence(&patched, types, None) else {
            continue;
        };
        // A failed account whose policies the evidence does not place cannot be said to pass.
        let Some(plan) = plans
            .iter()
            .find(|p| p.stack_set == ss && p.unchecked.is_empty())
        else {
            continue;
        };
        let (checked_actions, checked_resources, left) = recheck(plan, data);
        let mut still_denied: Vec<String> = left
            .iter()
            .map(|p| {
                format!(
                    "{} on {} ({}), by {}",
                    p.action, p.resource, p.logical_id, p.statement
                )
            })
            .collect();
        still_denied.sort();
        still_denied.dedup();
        d.root_causes[n].remediation.template_check = Some(TemplateCheck {
            stack_set: ss,
            accounts,
            checked_actions,
            checked_resources,
            still_denied,
        });
    }
}
