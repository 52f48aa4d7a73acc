//! Preflight: will the organisation's SCPs and RCPs deny a stack set's deployment, in which accounts, on which
//! resources — before it is deployed (docs/preflight.md).
//!
//! Takes a template, its deployment targets grouped by the policy path their accounts share, and the execution
//! role; gives, per group, the actions each resource's create handler will call (`needs`: certain or possible,
//! from the registry data in `data`), the SCP evaluator's verdict for each (`crate::scp`, evaluated once per
//! distinct path and Region, not per account), and one patch that clears every certain explicit deny at once
//! (`scp::fix_all`), proven as `scp fix` proves one. Reading the inputs (files, a bundle) is `input`; printing is
//! `render`.

pub mod after_fix;
pub mod data;
pub mod input;
pub mod needs;
pub mod ordering;
mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::scp::{self, OrgPath, Request, Verdict};
use crate::template::pattern::Target;
use crate::template::resolve::Scope;
use crate::template::{ResourceTypes, Template};
pub use data::{Data, Provenance};
pub use needs::{Certainty, Need, Unknown};
pub use ordering::OrderingFinding;
pub use render::{write, Format};

/// Exit codes of `preflight` (README "Exit codes"): 0 nothing predicted to be denied and every target checked, 3
/// some deny (or an ordering problem across stack sets) predicted, 5 nothing predicted but some target could not be
/// checked (its policies unread: not an all-clear, as `diagnose`'s 5); bad input is 1 as everywhere.
pub mod exit {
    pub const CLEAR: i32 = 0;
    pub const DENIES_PREDICTED: i32 = 3;
    pub const INCOMPLETE: i32 = crate::error::exit::INCOMPLETE;
}

/// The role StackSets deploys each stack with in a target account (docs/preflight.md#principals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionRole {
    /// The role's name in every target account (a representative one for service-managed stack sets).
    pub name: String,
    /// Names seen for particular accounts (in the evidence), which win over `name`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub seen: BTreeMap<String, String>,
    /// Why this role.
    pub why: String,
}

/// The representative name of a service-managed stack set's execution role: StackSets names it
/// `stacksets-exec-` followed by 32 hexadecimal characters, which no template or policy file tells.
pub const SERVICE_MANAGED_REPRESENTATIVE: &str = "stacksets-exec-00000000000000000000000000000000";
/// Self-managed stack sets' default execution role.
pub const SELF_MANAGED_DEFAULT: &str = "AWSCloudFormationStackSetExecutionRole";

impl ExecutionRole {
    /// A service-managed stack set's role (docs/scp-semantics.md#stacksets-roles).
    pub fn service_managed() -> ExecutionRole {
        ExecutionRole {
            name: SERVICE_MANAGED_REPRESENTATIVE.into(),
            seen: BTreeMap::new(),
            why: "service-managed: StackSets deploys with its stacksets-exec-<32 hex> role in each target account; \
                  the representative stacksets-exec-000… is matched by every pattern written for that role family \
                  (role/stacksets-exec-*), as each real one is"
                .into(),
        }
    }

    /// A self-managed stack set's role: `ExecutionRoleName`, default `AWSCloudFormationStackSetExecutionRole`.
    pub fn self_managed(name: Option<&str>) -> ExecutionRole {
        let given = name.map(str::trim).filter(|n| !n.is_empty());
        ExecutionRole {
            name: given.unwrap_or(SELF_MANAGED_DEFAULT).into(),
            seen: BTreeMap::new(),
            why: match given {
                Some(_) => "self-managed: the stack set's ExecutionRoleName".into(),
                None => "self-managed: the default execution role (no ExecutionRoleName)".into(),
            },
        }
    }

    pub fn arn(&self, partition: &str, account: &str) -> String {
        let name = self.seen.get(account).unwrap_or(&self.name);
        format!("arn:{partition}:iam::{account}:role/{name}")
    }
}

/// The accounts that share one policy path, with that path.
#[derive(Debug, Clone)]
pub struct Group {
    /// How the path is shown (`r-1 (root) → ou-2 (OU) → …`, or the policy files).
    pub label: String,
    pub path: OrgPath,
    /// (account, Region) targets.
    pub targets: Vec<(String, String)>,
}

/// A target whose verdicts could not be had: its SCP/RCP path is not in the evidence (Organizations could not be
/// read for it). Never reported as "no deny predicted".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CouldNotCheck {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stack_set: String,
    pub account: String,
    pub region: String,
    /// Why: what was not read, and the collector's own note when it left one.
    pub reason: String,
}

/// Everything one preflight needs.
pub struct Plan<'a> {
    /// The stack set's name (empty for a template file).
    pub stack_set: String,
    pub template: Template,
    pub types: &'a ResourceTypes,
    pub parameters: HashMap<String, String>,
    pub role: ExecutionRole,
    pub groups: Vec<Group>,
    /// Targets left out of every group, and why.
    pub unchecked: Vec<CouldNotCheck>,
}

/// One action predicted to be denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PredictedDeny {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stack_set: String,
    pub account: String,
    pub region: String,
    pub logical_id: String,
    pub resource_type: String,
    pub action: String,
    pub certainty: Certainty,
    /// The ARN the action acts on; `*` where the template cannot tell.
    pub resource: String,
    /// The statement that denies (`SCP p-1 (Name) statement "Sid" (level L)`), or the level with no Allow.
    pub statement: String,
    /// `explicit` or `implicit`.
    pub deny: String,
    pub principal: String,
    /// Index of the group (in `groups`) the account belongs to.
    pub group: usize,
}

/// One action whose verdict depends on what the template cannot tell (a condition key, a resource name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsettled {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stack_set: String,
    pub account: String,
    pub region: String,
    pub logical_id: String,
    pub resource_type: String,
    pub action: String,
    pub certainty: Certainty,
    pub resource: String,
    pub reasons: Vec<String>,
    /// Index of the group (in `groups`) the account belongs to.
    pub group: usize,
}

/// The patch of one group and its proof.
#[derive(Debug, Clone, Serialize)]
pub struct GroupPatch {
    /// The certain explicit denies it clears.
    pub clears: usize,
    pub proven: bool,
    pub fix: scp::Fix,
}

/// One group of accounts sharing a policy path.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub path: String,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Distinct (action, resource) requests evaluated for the group.
    pub checked_actions: usize,
    pub checked_resources: usize,
    pub predicted_denies: usize,
    pub unsettled: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<GroupPatch>,
    /// Why there is no patch, or what it cannot clear (implicit denies).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patch_notes: Vec<String>,
}

/// The preflight of one template.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stack_set: String,
    pub data: Provenance,
    pub principal: ExecutionRole,
    /// Which handler's actions are checked.
    pub handler: &'static str,
    pub groups: Vec<GroupReport>,
    pub predicted_denies: Vec<PredictedDeny>,
    pub unsettled: Vec<Unsettled>,
    /// Resources whose actions could not be listed.
    pub not_checked: Vec<Unknown>,
    /// Targets whose policies could not be read: nothing is claimed for them.
    pub could_not_check: Vec<CouldNotCheck>,
    pub notes: Vec<String>,
}

/// The exit code of a preflight: 3 when something is predicted, else 5 when something could not be checked, else 0.
fn exit_for(predicted: bool, incomplete: bool) -> i32 {
    if predicted {
        exit::DENIES_PREDICTED
    } else if incomplete {
        exit::INCOMPLETE
    } else {
        exit::CLEAR
    }
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        exit_for(
            !self.predicted_denies.is_empty(),
            !self.could_not_check.is_empty(),
        )
    }

    /// Several reports (one per stack set of a bundle) as one.
    pub fn merge(reports: Vec<Report>) -> Reports {
        Reports {
            predicted_denies: reports
                .iter()
                .flat_map(|r| r.predicted_denies.iter().cloned())
                .collect(),
            unsettled: reports
                .iter()
                .flat_map(|r| r.unsettled.iter().cloned())
                .collect(),
            could_not_check: reports
                .iter()
                .flat_map(|r| r.could_not_check.iter().cloned())
                .collect(),
            ordering: Vec::new(),
            ordering_not_checked: Vec::new(),
            stack_sets: reports,
        }
    }
}

/// The preflight of every stack set of a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Reports {
    pub stack_sets: Vec<Report>,
    pub predicted_denies: Vec<PredictedDeny>,
    pub unsettled: Vec<Unsettled>,
    /// Targets whose policies could not be read, every stack set's.
    pub could_not_check: Vec<CouldNotCheck>,
    /// What a template needs from another stack set that is not deployed (or failed) where it lives
    /// (docs/preflight.md#ordering).
    pub ordering: Vec<OrderingFinding>,
    /// Needs whose producer's deployment is not in the evidence, so the order could not be checked.
    pub ordering_not_checked: Vec<String>,
}

impl Reports {
    pub fn exit_code(&self) -> i32 {
        exit_for(
            !self.predicted_denies.is_empty() || !self.ordering.is_empty(),
            !self.could_not_check.is_empty() || !self.ordering_not_checked.is_empty(),
        )
    }

    /// With the order across stack sets checked (`ordering::check`).
    pub fn with_ordering(mut self, o: ordering::Ordering) -> Reports {
        self.ordering = o.findings;
        self.ordering_not_checked = o.not_checked;
        self
    }
}

pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// The request one need makes in one account and Region: the execution role, the action, the ARN when the template
/// fixes it, and the context a deployment settles (Region, accounts); every other key is unsettled.
pub fn request(role: &ExecutionRole, need: &Need, account: &str, region: &str) -> Request {
    let partition = partition_of(region);
    let mut r = Request::new(&role.arn(partition, account), &need.action)
        .with_account(account)
        .with_context("aws:RequestedRegion", region)
        .with_unsettled_context();
    if let Some(p) = need.resource.as_ref().filter(|p| !p.has_any()) {
        r = r.with_resource(&p.render(&Target {
            account,
            region,
            partition,
        }));
        r = r.with_context("aws:ResourceAccount", account);
    }
    r
}

/// The ARN as shown: rendered for the target, `*` for what the template does not tell.
fn shown_resource(need: &Need, account: &str, region: &str) -> String {
    match &need.resource {
        Some(p) => p.render(&Target {
            account,
            region,
            partition: partition_of(region),
        }),
        None => "*".into(),
    }
}

/// The statement a denying verdict names, as shown.
pub fn statement_of(v: &Verdict) -> Option<(String, &'static str)> {
    match v {
        Verdict::ExplicitDeny {
            policy, statement, ..
        } => Some((
            format!(
                "{} statement {statement:?} (level {})",
                policy.display, policy.level_name
            ),
            "explicit",
        )),
        Verdict::ImplicitDeny { level_name, .. } => {
            Some((format!("no SCP Allow at level {level_name}"), "implicit"))
        }
        _ => None,
    }
}

/// Does any policy of the path name this account (so its verdicts may differ from its group's)?
fn names_account(path: &OrgPath, account: &str) -> bool {
    path.levels
        .iter()
        .flat_map(|l| &l.policies)
        .any(|p| p.document.to_string().contains(account))
}

/// Run the preflight.
pub fn run(plan: &Plan<'_>, data: &Data) -> Report {
    let mut report = Report {
        stack_set: plan.stack_set.clone(),
        data: data.provenance.clone(),
        principal: plan.role.clone(),
        handler: "create",
        groups: Vec::new(),
        predicted_denies: Vec::new(),
        unsettled: Vec::new(),
        not_checked: Vec::new(),
        could_not_check: plan.unchecked.clone(),
        notes: vec![
            "the create handler's actions are checked (a first deployment of each instance); an update calls the \
             update handler's, a deletion the delete handler's"
                .into(),
            "only SCPs and RCPs are evaluated: the execution role's own policies, permissions boundaries and resource \
             policies are not"
                .into(),
        ],
    };
    let mut not_checked_seen = BTreeSet::new();
    for g in &plan.groups {
        let gr = run_group(plan, data, g, &mut report, &mut not_checked_seen);
        report.groups.push(gr);
    }
    report
}

/// The verdicts of one representative account and Region: per need index, the verdict.
fn evaluate_needs(
    plan: &Plan<'_>,
    path: &OrgPath,
    needs: &[Need],
    account: &str,
    region: &str,
) -> Vec<Verdict> {
    let mut memo: HashMap<(String, Option<String>), Verdict> = HashMap::new();
    needs
        .iter()
        .map(|n| {
            let r = request(&plan.role, n, account, region);
            memo.entry((r.action.to_ascii_lowercase(), r.resource.clone()))
                .or_insert_with(|| scp::evaluate_brief(path, &r).verdict)
                .clone()
        })
        .collect()
}

fn run_group(
    plan: &Plan<'_>,
    data: &Data,
    g: &Group,
    report: &mut Report,
    not_checked_seen: &mut BTreeSet<String>,
) -> GroupReport {
    let accounts: Vec<String> = g
        .targets
        .iter()
        .map(|(a, _)| a.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let regions: Vec<String> = g
        .targets
        .iter()
        .map(|(_, r)| r.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut checked: BTreeSet<(String, String)> = BTreeSet::new();
    let mut resources: BTreeSet<String> = BTreeSet::new();
    let mut denies = 0;
    let mut unsettled = 0;
    // Certain explicit denies, for the patch.
    let mut to_patch: Vec<Request> = Vec::new();
    let mut implicit: BTreeSet<String> = BTreeSet::new();
    for region in &regions {
        let in_region: Vec<&String> = g
            .targets
            .iter()
            .filter(|(_, r)| r == region)
            .map(|(a, _)| a)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Accounts a policy names are evaluated on their own; the others share one representative's verdicts.
        let (own, shared): (Vec<&String>, Vec<&String>) = in_region
            .iter()
            .partition(|a| names_account(&g.path, a) || plan.role.seen.contains_key(a.as_str()));
        let mut batches: Vec<(String, Vec<&String>)> =
            own.into_iter().map(|a| (a.clone(), vec![a])).collect();
        if let Some(first) = shared.first() {
            batches.push(((*first).clone(), shared.clone()));
        }
        for (rep, members) in batches {
            let scope = Scope {
                template: &plan.template,
                types: plan.types,
                values: &plan.parameters,
                stack_set: &plan.stack_set,
                target: Some(Target {
                    account: &rep,
                    region,
                    partition: partition_of(region),
                }),
            };
            let (needs, unknown) = needs::needs(&scope, data);
            for u in unknown {
                if not_checked_seen.insert(u.logical_id.clone()) {
                    report.not_checked.push(u);
                }
            }
            let verdicts = evaluate_needs(plan, &g.path, &needs, &rep, region);
            for (n, v) in needs.iter().zip(&verdicts) {
                checked.insert((n.logical_id.clone(), n.action.to_ascii_lowercase()));
                resources.insert(n.logical_id.clone());
                if v.is_allowed() {
                    continue;
                }
                for account in &members {
                    let resource = shown_resource(n, account, region);
                    if let Some((statement, deny)) = statement_of(v) {
                        let principal = plan.role.arn(partition_of(region), account);
                        denies += 1;
                        report.predicted_denies.push(PredictedDeny {
                            stack_set: plan.stack_set.clone(),
                            account: (*account).clone(),
                            region: region.clone(),
                            logical_id: n.logical_id.clone(),
                            resource_type: n.resource_type.clone(),
                            action: n.action.clone(),
                            certainty: n.certainty,
                            resource,
                            statement: statement.clone(),
                            deny: deny.into(),
                            principal,
                            group: report.groups.len(),
                        });
                        if n.certainty == Certainty::Certain {
                            if deny == "explicit" {
                                let r = request(&plan.role, n, account, region);
                                if !to_patch.contains(&r) {
                                    to_patch.push(r);
                                }
                            } else {
                                implicit.insert(format!("{} ({statement})", n.action));
                            }
                        }
                    } else if let Verdict::CannotEvaluate { reasons } = v {
                        unsettled += 1;
                        report.unsettled.push(Unsettled {
                            stack_set: plan.stack_set.clone(),
                            account: (*account).clone(),
                            region: region.clone(),
                            logical_id: n.logical_id.clone(),
                            resource_type: n.resource_type.clone(),
                            action: n.action.clone(),
                            certainty: n.certainty,
                            resource,
                            reasons: reasons.clone(),
                            group: report.groups.len(),
                        });
                    }
                }
            }
        }
    }
    let mut patch_notes = Vec::new();
    if !implicit.is_empty() {
        patch_notes.push(format!(
            "an exemption cannot clear an implicit deny (a level with no Allow): attach FullAWSAccess or an Allow \
             for {}",
            implicit.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let patch = if to_patch.is_empty() {
        None
    } else {
        match scp::fix_all(&g.path, &to_patch) {
            Ok(fix) => Some(GroupPatch {
                clears: to_patch.len(),
                proven: fix.proven,
                fix,
            }),
            Err(scp::ScpError::Unproven { reason, fix }) => {
                patch_notes.push(format!(
                    "the patch could not be proven ({reason}), so it is not offered"
                ));
                let _ = fix;
                None
            }
            Err(e) => {
                patch_notes.push(format!("no patch: {e}"));
                None
            }
        }
    };
    GroupReport {
        path: g.label.clone(),
        accounts,
        regions,
        checked_actions: checked.len(),
        checked_resources: resources.len(),
        predicted_denies: denies,
        unsettled,
        patch,
        patch_notes,
    }
}

/// After a fix: would the template's every action pass on the patched path for these accounts? The number of
/// (action, resource) requests checked, the resources, and the certain denies left.
pub fn recheck(plan: &Plan<'_>, data: &Data) -> (usize, usize, Vec<PredictedDeny>) {
    let r = run(plan, data);
    let checked = r.groups.iter().map(|g| g.checked_actions).sum();
    let resources = r
        .groups
        .iter()
        .map(|g| g.checked_resources)
        .max()
        .unwrap_or(0);
    let left = r
        .predicted_denies
        .into_iter()
        .filter(|d| d.certainty == Certainty::Certain)
        .collect();
    (checked, resources, left)
}
