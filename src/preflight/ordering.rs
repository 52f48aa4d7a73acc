//! The order across stack sets (docs/preflight.md#ordering): a template that trusts or references something another
//! stack set creates — a role ARN in a trust policy or a property, an export through `Fn::ImportValue`, a name the
//! graph's cross-stack-set link would match — and the stack sets its `AutoDeployment.DependsOn` names, checked
//! against that producer's instance where the thing lives.
//!
//! Takes the evidence (every stack set's template and instances), the known topologies and the resource-type table,
//! and the plans (each stack set's targets); gives one finding per target, needed name and producer whose instance
//! there is missing, failed, outdated or inoperable, and what could not be checked (a producer only a topology
//! names, with no stack set of that name in the evidence). What creates what is the graph's own learning
//! (`graph::Creators`, the same as `graph/cross.rs` links failures with); what a template names is
//! `template::needs::named_by_resource`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::{partition_of, Plan};
use crate::evidence::{Evidence, StackInstance};
use crate::graph::{stack_set_of_arn, Creation, Creators};
use crate::template::needs::named_by_resource;
use crate::template::pattern::Target;
use crate::template::resolve::Scope;
use crate::template::ResourceTypes;
use crate::vocabulary::{status, Topology};
use crate::wildcard;

/// One thing a target needs from another stack set that is not deployed (or not healthy) where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderingFinding {
    /// The stack set being preflighted.
    pub stack_set: String,
    /// Its target.
    pub account: String,
    pub region: String,
    /// The name it needs (a role ARN, an export name, …), or the stack set `AutoDeployment.DependsOn` names.
    pub needed: String,
    /// Where the template needs it: `Resource.Property.Path`, or `AutoDeployment.DependsOn`.
    pub needed_by: String,
    /// The stack set that creates it.
    pub producer: String,
    /// The producer's resource that creates it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_resource: Option<String>,
    /// Where the producer's instance was looked for (the account and Region the thing lives in; no Region: any,
    /// for a global resource such as an IAM role).
    pub producer_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_region: Option<String>,
    /// `missing` (no instance there), or the instance's status and detailed status (`OUTDATED (FAILED)`,
    /// `INOPERABLE`, …).
    pub producer_status: String,
    /// How the link was learned ("the template of stack set X (resource Y)", "AutoDeployment.DependsOn").
    pub why: String,
    /// What to change, in order.
    pub what_to_do: Vec<String>,
    /// A command that explains the producer's failure, to paste (none when it is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// The order across stack sets: findings, and what could not be checked.
#[derive(Debug, Clone, Default)]
pub struct Ordering {
    pub findings: Vec<OrderingFinding>,
    pub not_checked: Vec<String>,
}

/// How a producer's instance stands where it is needed.
enum Standing {
    Healthy,
    /// Not healthy: the status as shown.
    Unhealthy(String),
    Missing,
}

/// A healthy instance: `CURRENT`, and no failed detailed status.
fn healthy(i: &StackInstance) -> bool {
    i.status == "CURRENT" && !status::instance_failed(i.detailed_status.as_deref(), &i.status)
}

fn shown_status(i: &StackInstance) -> String {
    match i.detailed_status.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => format!("{} ({d})", i.status),
        None => i.status.clone(),
    }
}

/// The producer's instances in `account` (and `region`, None: any Region).
fn standing(instances: &[&StackInstance], account: &str, region: Option<&str>) -> Standing {
    let there: Vec<&&StackInstance> = instances
        .iter()
        .filter(|i| i.account == account && region.is_none_or(|r| i.region == r))
        .collect();
    if there.is_empty() {
        return Standing::Missing;
    }
    if there.iter().any(|i| healthy(i)) {
        return Standing::Healthy;
    }
    Standing::Unhealthy(shown_status(there[0]))
}

fn service_managed(evidence: &Evidence, name: &str) -> bool {
    evidence.stack_sets.iter().any(|s| {
        s.name == name
            && s.permission_model
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("SERVICE_MANAGED"))
    })
}

/// What a finding's advice depends on, beside the names.
struct Case {
    /// No instance there (else one that is not healthy).
    missing: bool,
    /// The consumer's `AutoDeployment.DependsOn` already names the producer.
    declared: bool,
    /// The thing lives in the account being deployed to.
    same_account: bool,
}

/// What to do about one finding.
fn advice(
    evidence: &Evidence,
    consumer: &str,
    producer: &str,
    (account, region): (&str, Option<&str>),
    Case {
        missing,
        declared,
        same_account,
    }: Case,
) -> Vec<String> {
    let where_ = match region {
        Some(r) => format!("account {account} ({r})"),
        None => format!("account {account}"),
    };
    let mut out = vec![if missing {
        format!("deploy stack set {producer} to {where_} before {consumer} deploys there")
    } else {
        format!(
            "fix {producer}'s failed instance in {where_} (diagnose it: the command below) and redeploy it before \
             {consumer} deploys there"
        )
    }];
    // DependsOn orders the two stack sets' auto-deployments within one account: it helps when the thing lives in
    // the account being deployed to.
    if !declared
        && same_account
        && service_managed(evidence, consumer)
        && service_managed(evidence, producer)
    {
        out.push(format!(
            "add {producer}'s ARN to {consumer}'s AutoDeployment DependsOn, so an account joining the target OUs \
             gets {producer} first"
        ));
    }
    out
}

/// The order across stack sets for every plan's targets.
pub fn check(
    evidence: &Evidence,
    topologies: &[Topology],
    types: &ResourceTypes,
    plans: &[Plan<'_>],
) -> Ordering {
    let creators = Creators::learn(evidence, topologies, types);
    let mut instances: HashMap<&str, Vec<&StackInstance>> = HashMap::new();
    for i in &evidence.stack_instances {
        if let Some(s) = i.stack_set.as_deref() {
            instances.entry(s).or_default().push(i);
        }
    }
    let known: BTreeSet<&str> = evidence
        .stack_sets
        .iter()
        .map(|s| s.name.as_str())
        .chain(instances.keys().copied())
        .collect();
    let mut out = Ordering::default();
    let mut seen: BTreeSet<(String, String, String, String, String)> = BTreeSet::new();
    let mut not_checked: BTreeSet<String> = BTreeSet::new();
    for plan in plans {
        let targets: BTreeSet<(String, String)> = plan
            .groups
            .iter()
            .flat_map(|g| g.targets.iter().cloned())
            // A target whose policies could not be read still needs what it needs (an OU whose accounts could
            // not be listed is no target).
            .chain(
                plan.unchecked
                    .iter()
                    .filter(|u| crate::ids::is_account_id(&u.account))
                    .map(|u| (u.account.clone(), u.region.clone())),
            )
            .collect();
        let depends_on: Vec<String> = evidence
            .stack_sets
            .iter()
            .filter(|s| s.name == plan.stack_set)
            .filter_map(|s| s.auto_deployment.as_ref())
            .flat_map(|a| a.depends_on.iter().map(|d| stack_set_of_arn(d).to_owned()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Per producer stack set and the name it creates, the first place the template needs it.
        for (account, region) in &targets {
            let partition = partition_of(region);
            let target = Target {
                account,
                region,
                partition,
            };
            let scope = Scope {
                template: &plan.template,
                types: plan.types,
                values: &plan.parameters,
                stack_set: &plan.stack_set,
                target: Some(target),
            };
            // (needed name, producer) → (where needed, creation)
            let mut needs: BTreeMap<(String, String), (String, Creation)> = BTreeMap::new();
            for r in &plan.template.resources {
                // The property that names the resource itself is what it creates, not what it needs.
                let own_name = types.get(&r.resource_type).and_then(|d| d.name.clone());
                for n in named_by_resource(&scope, r, &target) {
                    if own_name.as_deref() == Some(n.place.as_str()) {
                        continue;
                    }
                    for c in creators.who_creates(&n.text, n.import) {
                        if wildcard::matches(&c.stack_set, &plan.stack_set, false) {
                            continue;
                        }
                        needs
                            .entry((n.text.clone(), c.stack_set.clone()))
                            .or_insert_with(|| (format!("{}.{}", r.logical_id, n.place), c));
                    }
                }
            }
            // A template's own creation and a topology's may both name the same producer: the template's wins.
            let mut by_producer: BTreeMap<(String, String), (String, Creation, String)> =
                BTreeMap::new();
            for ((text, pattern), (place, c)) in needs {
                let producers: Vec<&str> = known
                    .iter()
                    .copied()
                    .filter(|k| *k != plan.stack_set && wildcard::matches(&pattern, k, false))
                    .collect();
                if producers.is_empty() {
                    not_checked.insert(format!(
                        "{}: {place} names {text}, which {} creates; no stack set {pattern} is in the evidence, so \
                         whether it is deployed could not be checked (collect it too: --stack-set NAME)",
                        plan.stack_set, c.via
                    ));
                    continue;
                }
                for p in producers {
                    let key = (text.clone(), p.to_owned());
                    let better = by_producer
                        .get(&key)
                        .is_none_or(|(_, old, _)| old.topology && !c.topology);
                    if better {
                        by_producer.insert(key, (place.clone(), c.clone(), p.to_owned()));
                    }
                }
            }
            for ((text, producer), (place, c, _)) in by_producer {
                let account_there = c
                    .account
                    .clone()
                    .or_else(|| c.account_scoped.then(|| account.clone()));
                let region_there = c
                    .region
                    .clone()
                    .or_else(|| c.regional.then(|| region.clone()));
                let list = instances
                    .get(producer.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let st = match &account_there {
                    Some(a) => standing(list, a, region_there.as_deref()),
                    // Lives wherever the producer deployed (a globally named bucket): any healthy instance.
                    None if list.iter().any(|i| healthy(i)) => Standing::Healthy,
                    None => match list.first() {
                        Some(i) => Standing::Unhealthy(shown_status(i)),
                        None => Standing::Missing,
                    },
                };
                let declared = depends_on.contains(&producer);
                let producer_account = account_there.clone().unwrap_or_else(|| "any".into());
                push(
                    &mut out.findings,
                    &mut seen,
                    evidence,
                    plan,
                    (account, region),
                    (text, place),
                    (
                        &producer,
                        c.logical_id.clone(),
                        producer_account,
                        region_there,
                    ),
                    st,
                    c.via.clone(),
                    declared,
                );
            }
            for dep in &depends_on {
                if !known.contains(dep.as_str()) {
                    not_checked.insert(format!(
                        "{}: its AutoDeployment DependsOn names {dep}, which is not in the evidence, so whether it \
                         is deployed could not be checked (collect it too: --stack-set {dep})",
                        plan.stack_set
                    ));
                    continue;
                }
                let list = instances
                    .get(dep.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let st = standing(list, account, Some(region));
                push(
                    &mut out.findings,
                    &mut seen,
                    evidence,
                    plan,
                    (account, region),
                    (dep.clone(), "AutoDeployment.DependsOn".into()),
                    (dep, None, account.clone(), Some(region.clone())),
                    st,
                    format!(
                        "stack set {} declares that its auto-deployment depends on {dep} (AutoDeployment.DependsOn)",
                        plan.stack_set
                    ),
                    true,
                );
            }
        }
    }
    out.not_checked = not_checked.into_iter().collect();
    out
}

#[allow(clippy::too_many_arguments)]
fn push(
    findings: &mut Vec<OrderingFinding>,
    seen: &mut BTreeSet<(String, String, String, String, String)>,
    evidence: &Evidence,
    plan: &Plan<'_>,
    (account, region): (&str, &str),
    (needed, needed_by): (String, String),
    (producer, producer_resource, producer_account, producer_region): (
        &str,
        Option<String>,
        String,
        Option<String>,
    ),
    st: Standing,
    why: String,
    declared: bool,
) {
    let (missing, producer_status) = match st {
        Standing::Healthy => return,
        Standing::Missing => (true, "missing".to_owned()),
        Standing::Unhealthy(s) => (false, s),
    };
    if !seen.insert((
        plan.stack_set.clone(),
        account.to_owned(),
        region.to_owned(),
        needed.clone(),
        producer.to_owned(),
    )) {
        return;
    }
    let what_to_do = advice(
        evidence,
        &plan.stack_set,
        producer,
        (&producer_account, producer_region.as_deref()),
        Case {
            missing,
            declared,
            same_account: producer_account == account,
        },
    );
    findings.push(OrderingFinding {
        stack_set: plan.stack_set.clone(),
        account: account.to_owned(),
        region: region.to_owned(),
        needed,
        needed_by,
        producer: producer.to_owned(),
        producer_resource,
        producer_account,
        producer_region,
        producer_status,
        why,
        what_to_do,
        command: (!missing).then(|| format!("stackset-doctor diagnose --stack-set {producer}")),
    });
}
