//! Across stack sets: a failure that says something is missing or refused, linked to the failure of the stack
//! set that should have created it (docs/cross-stack-links.md#the-link).
//!
//! The consumer names identifiers — in its message, in its resource's properties (the stack event's
//! `ResourceProperties`), or in its stack set's template resolved for its account and Region. Each is looked up
//! among what other stack sets provide; the match says which account and Region the thing lives in, and the
//! producer's failures there say whether it was created: the creating resource's own failure, a failed dependant
//! of a retained resource (a bucket kept while its policy failed), or the producer stack's failed creation. With
//! nothing named or referenced, a role the message names links, with low confidence, to another stack set's
//! failure in that account at about the same time — only a stack set whose template is not in the evidence,
//! since a known template that does not create the role cannot explain it.

use std::collections::{BTreeSet, HashMap};

use chrono::Duration;

use super::index::{
    at_or_before, instance_key, is_primary, primaries_or_all, representatives, Index, InstanceKey,
};
use super::providers::{parse_role_arn, properties, template_resource, values, Match, Provider};
use super::{DeploymentGraph, Matched, MAX_FANOUT};
use crate::classify::Failure;
use crate::ids::Arn;
use crate::template::needs::{named_by_resource, named_in_message, named_in_properties, Named};
use crate::template::pattern::Target;
use crate::template::resolve::Scope;
use crate::template::types::IdKind;
use crate::vocabulary::{confidence, Category, Level, LinkKind};
use crate::wildcard;

/// Categories that say something needed is missing or refused: such a failure may be another's consequence.
const CONSUMERS: &[Category] = &[
    Category::NotFound,
    Category::InvalidPrincipal,
    Category::Kms,
    Category::InvalidRequest,
    Category::AccessDeniedOther,
    // "not authorized to perform: sts:AssumeRole on resource: <role>": the role may never have been created.
    Category::IdentityPolicyMissing,
    Category::MalformedPolicy,
    Category::Validation,
    Category::StacksetExecutionRole,
    Category::Other,
];

/// Fields a rule or an envelope fills that are never identifiers of a dependency.
const NOT_IDENTIFIERS: &[&str] = &[
    "logical_id",
    "resource_type",
    "handler_error_code",
    "service",
    "status_code",
    "error_code",
    "request_id",
    "operation_id",
    "stack_status",
];

/// Where the consumer named the identifier; the order is how much the naming says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Message,
    Properties,
    Template,
}

impl Place {
    /// How much less a link found this way is trusted than one named in the message.
    fn penalty(self) -> f32 {
        match self {
            Place::Message => 0.0,
            Place::Properties => confidence::NAMED_IN_PROPERTIES_PENALTY,
            Place::Template => confidence::NAMED_IN_TEMPLATE_PENALTY,
        }
    }
}

/// A provider (its index) in one account and Region (either absent when the provider is not scoped by it).
type TargetKey = (usize, Option<String>, Option<String>);

#[derive(Default)]
pub(super) struct CrossLinker {
    /// Per (text, may be an export, only exports): its matches, computed once.
    matches: HashMap<(String, bool, bool), Vec<Match>>,
    /// Per (provider, account, region): the producer failures to link to, and how they show it is missing.
    targets: HashMap<TargetKey, (Vec<usize>, Evidence)>,
    /// Per provider: the stack sets its pattern names that have failures.
    stack_sets: HashMap<usize, Vec<String>>,
}

/// How the producer's failures show the thing is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// The creating resource itself failed (or was cancelled).
    Failed,
    /// The resource is retained, but a resource that depends on it failed.
    Dependant,
    /// The producer's stack failed to create (and rolled back) or never started.
    Instance,
}

/// Whether the failure may need something another stack set creates. A rule's role does not decide it: a role
/// that cannot be assumed is a cause until the evidence shows the role was never created.
pub(super) fn consumes(f: &Failure) -> bool {
    CONSUMERS.contains(&f.class.category)
}

impl CrossLinker {
    pub(super) fn link(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) {
        let f = &ix.failures[i];
        let mut linked: Option<Place> = None;
        for (n, place) in self.named(ix, f) {
            if linked.is_some_and(|p| p < place) {
                break;
            }
            let export_name = place == Place::Message || n.import;
            let key = (n.text.clone(), export_name, n.import);
            let ms = self
                .matches
                .entry(key)
                .or_insert_with(|| ix.providers.matching(&n.text, export_name, n.import))
                .clone();
            for m in ms {
                if self.link_match(g, ix, i, &n, place, &m) {
                    linked = Some(place);
                }
            }
        }
        if linked.is_none() && !declared_dependency(g, ix, i) {
            timing_inference(g, ix, i);
        }
    }

    /// What the consumer names, strongest place first: its message (the rule's captures, ARNs, quoted names),
    /// its event's properties, its template's resource.
    fn named(&self, ix: &Index<'_>, f: &Failure) -> Vec<(Named, Place)> {
        let mut out: Vec<(Named, Place)> = Vec::new();
        for (k, v) in &f.class.fields {
            if !NOT_IDENTIFIERS.contains(&k.as_str())
                && v.len() >= 3
                && !v.contains(char::is_whitespace)
            {
                out.push((
                    Named {
                        text: v.trim_matches('"').to_owned(),
                        place: "message".into(),
                        import: false,
                    },
                    Place::Message,
                ));
            }
        }
        for text in [&f.message, &f.raw_message] {
            out.extend(
                named_in_message(text)
                    .into_iter()
                    .map(|n| (n, Place::Message)),
            );
        }
        if let Some(p) = f.properties.as_deref().and_then(properties) {
            out.extend(
                named_in_properties(&p)
                    .into_iter()
                    .map(|n| (n, Place::Properties)),
            );
        } else if let (Some(ss), Some(logical), Some(account), Some(region)) =
            (&f.stack_set, &f.logical_id, &f.account, &f.region)
        {
            if let Some((t, r)) = template_resource(&ix.providers.templates, ss, logical) {
                let overrides = ix
                    .evidence
                    .stack_instances
                    .iter()
                    .find(|x| {
                        x.stack_set.as_deref() == Some(ss.as_str())
                            && &x.account == account
                            && &x.region == region
                    })
                    .map(|x| x.parameter_overrides.as_slice())
                    .unwrap_or_default();
                let values = values(ix.evidence, ss, overrides);
                let partition = f
                    .stack_id
                    .as_deref()
                    .and_then(Arn::parse)
                    .map_or("aws", |a| a.partition);
                let target = Target {
                    account,
                    region,
                    partition,
                };
                let scope = Scope {
                    template: t,
                    types: ix.types,
                    values: &values,
                    stack_set: ss,
                    target: Some(target),
                };
                out.extend(
                    named_by_resource(&scope, r, &target)
                        .into_iter()
                        .map(|n| (n, Place::Template)),
                );
            }
        }
        let mut seen = BTreeSet::new();
        out.retain(|(n, _)| seen.insert((n.text.clone(), n.import)));
        out
    }

    fn link_match(
        &mut self,
        g: &mut DeploymentGraph,
        ix: &Index<'_>,
        i: usize,
        n: &Named,
        place: Place,
        m: &Match,
    ) -> bool {
        let f = &ix.failures[i];
        let p = &ix.providers.all[m.provider];
        if f.stack_set
            .as_deref()
            .is_some_and(|s| wildcard::matches(&p.stack_set, s, false))
        {
            return false;
        }
        // Where the thing lives: the account and Region the identifier says, else (for what lives in an account or
        // a Region) the consumer's own, else anywhere the producer deployed.
        let account = m
            .account
            .clone()
            .or_else(|| p.account_scoped.then(|| f.account.clone()).flatten());
        let region = m
            .region
            .clone()
            .or_else(|| p.regional.then(|| f.region.clone()).flatten());
        let stack_sets = self
            .stack_sets
            .entry(m.provider)
            .or_insert_with(|| {
                ix.by_stack_set
                    .keys()
                    .filter(|s| wildcard::matches(&p.stack_set, s, false))
                    .map(|s| (*s).to_owned())
                    .collect()
            })
            .clone();
        let (targets, evidence) = self
            .targets
            .entry((m.provider, account.clone(), region.clone()))
            .or_insert_with(|| {
                producer_targets(ix, p, &stack_sets, account.as_deref(), region.as_deref())
            })
            .clone();
        let targets: Vec<usize> = targets
            .into_iter()
            .filter(|&j| {
                j != i
                    && at_or_before(
                        ix.failures[j].timestamp,
                        f.timestamp,
                        super::operation_slack(),
                    )
            })
            .take(MAX_FANOUT)
            .collect();
        if targets.is_empty() {
            g.add_unfailed_producer(
                i,
                super::UnfailedProducer {
                    stack_set: p.stack_set.clone(),
                    logical_id: p.logical_id.clone(),
                    resource_type: p.resource_type.clone(),
                    identifier: n.text.clone(),
                    account,
                    region,
                },
            );
            return false;
        }
        let what = format!("{} {}", kind_word(p), n.text);
        let where_ = match (&account, &region) {
            (Some(a), Some(r)) => format!(" in {a} {r}"),
            (Some(a), None) => format!(" in {a}"),
            _ => String::new(),
        };
        let reason = match evidence {
            Evidence::Failed => format!("{} creates {what}, and that resource failed{where_}", p.via),
            Evidence::Dependant => format!(
                "{} creates {what} and keeps it (DeletionPolicy: Retain), but what depends on it failed{where_}",
                p.via
            ),
            Evidence::Instance => format!("{} creates {what}, and its stack failed to create{where_}", p.via),
        };
        let consumer = match place {
            Place::Message => "the failure message".to_owned(),
            Place::Properties => format!("the resource's properties ({})", n.place),
            Place::Template => format!(
                "the template of stack set {} (resource {}, {})",
                f.stack_set.as_deref().unwrap_or("?"),
                f.logical_id.as_deref().unwrap_or("?"),
                n.place
            ),
        };
        let matched = Matched {
            identifier: n.text.clone(),
            consumer,
            producer: format!("{}: {} {}", p.via, p.kind.as_str(), p.pattern),
        };
        let conf = (p.confidence - place.penalty()).max(confidence::TIMING_INFERENCE);
        for j in targets {
            g.link_matched(i, j, p.link, conf, &reason, Some(matched.clone()));
        }
        true
    }
}

/// `AWS::Logs::LogGroup` → `log group`.
fn kind_word(p: &Provider) -> String {
    if p.kind == IdKind::Export {
        return "export".into();
    }
    crate::text::type_words(&p.resource_type)
}

/// The producer's failures that show the provided thing missing, in `account` and `region` (None: any).
fn producer_targets(
    ix: &Index<'_>,
    p: &Provider,
    stack_sets: &[String],
    account: Option<&str>,
    region: Option<&str>,
) -> (Vec<usize>, Evidence) {
    let failures = ix.failures;
    let there: Vec<usize> = stack_sets
        .iter()
        .filter_map(|s| ix.by_stack_set.get(s.as_str()))
        .flatten()
        .copied()
        .filter(|&j| {
            let fj = &failures[j];
            fj.level != Level::Operation
                && account.is_none_or(|a| fj.account.as_deref() == Some(a))
                && region.is_none_or(|r| fj.region.as_deref() == Some(r))
        })
        .collect();
    let exact: Vec<usize> = there
        .iter()
        .copied()
        .filter(|&j| failures[j].logical_id.is_some() && failures[j].logical_id == p.logical_id)
        .collect();
    if !exact.is_empty() {
        return (exact, Evidence::Failed);
    }
    if p.retained {
        let dependants: Vec<usize> = there
            .iter()
            .copied()
            .filter(|&j| {
                failures[j]
                    .logical_id
                    .as_ref()
                    .is_some_and(|l| p.dependants.contains(l))
            })
            .collect();
        return (dependants, Evidence::Dependant);
    }
    // The stack failed to create, or never started: everything it would have created is missing. An update that
    // failed leaves what existed before.
    let mut instances: BTreeSet<InstanceKey<'_>> = BTreeSet::new();
    for &j in &there {
        instances.insert(instance_key(&failures[j]));
    }
    let mut out = Vec::new();
    for k in instances {
        let inst = ix
            .by_instance
            .get(&k)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // Only a failure seen updating (UPDATE_FAILED, UPDATE_ROLLBACK_…) with none creating shows the resource
        // existed before; an instance's FAILED or OUTDATED says no more than that the instance failed.
        let status = |j: usize| failures[j].status.as_str();
        let updating = inst.iter().any(|&j| status(j).starts_with("UPDATE_"))
            && !inst
                .iter()
                .any(|&j| status(j).starts_with("CREATE_") || status(j).starts_with("ROLLBACK_"));
        if !updating {
            out.extend(primaries_or_all(failures, inst, usize::MAX));
        }
    }
    (out, Evidence::Instance)
}

/// A stack set whose auto-deployment declares it depends on another (`AutoDeployment.DependsOn`): that stack set's
/// failure in the same account, no later than this one, explains a consumer failure the message and templates do
/// not connect by name. Returns whether it linked.
fn declared_dependency(g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) -> bool {
    let f = &ix.failures[i];
    let (Some(ss), Some(account)) = (f.stack_set.as_deref(), f.account.as_deref()) else {
        return false;
    };
    let Some(deps) = ix.depends_on.get(ss) else {
        return false;
    };
    let mut linked = false;
    for dep in deps {
        let reason = format!(
            "stack set {ss} declares that its auto-deployment depends on {dep} (AutoDeployment.DependsOn), which failed in account {account} first"
        );
        linked |= link_to_account_failures(
            g,
            ix,
            i,
            account,
            |fj| {
                fj.stack_set.as_deref() == Some(dep.as_str())
                    && at_or_before(fj.timestamp, f.timestamp, Duration::minutes(5))
            },
            (LinkKind::DependsOn, confidence::DEPENDS_ON, &reason),
        );
    }
    linked
}

/// A role the message names, that no template in the evidence creates: another stack set's failure in the role's
/// account at about the same time — a stack set whose template is unknown, so it may be the one.
fn timing_inference(g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) {
    let f = &ix.failures[i];
    let mut arns: Vec<&str> = f
        .class
        .fields
        .get("principal")
        .map(|p| vec![p.as_str()])
        .unwrap_or_default();
    let named = named_in_message(&f.message);
    arns.extend(named.iter().map(|n| n.text.as_str()));
    let Some((account, role_name)) = arns.into_iter().find_map(parse_role_arn) else {
        return;
    };
    let reason = format!(
        "role {role_name} would live in account {account}, where another stack set (its template not in the evidence) failed at about the same time"
    );
    link_to_account_failures(
        g,
        ix,
        i,
        account,
        |fj| {
            fj.stack_set
                .as_deref()
                .is_some_and(|s| !ix.providers.templates.contains_key(s))
                && fj.stack_set != f.stack_set
                && at_or_before(fj.timestamp, f.timestamp, Duration::hours(1))
                && at_or_before(f.timestamp, fj.timestamp, Duration::hours(6))
        },
        (
            LinkKind::TimingInference,
            confidence::TIMING_INFERENCE,
            &reason,
        ),
    );
}

/// Link failure `i` to the primary failures in `account` that `wanted` admits, one per distinct message, at most
/// [`MAX_FANOUT`]. Returns whether it linked.
fn link_to_account_failures(
    g: &mut DeploymentGraph,
    ix: &Index<'_>,
    i: usize,
    account: &str,
    wanted: impl Fn(&Failure) -> bool,
    (kind, confidence, reason): (LinkKind, f32, &str),
) -> bool {
    let failures = ix.failures;
    let candidates: Vec<usize> = ix
        .by_account
        .get(account)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|&j| is_primary(&failures[j]) && wanted(&failures[j]))
        .collect();
    let mut linked = false;
    for j in representatives(failures, &candidates)
        .into_iter()
        .take(MAX_FANOUT)
    {
        g.link(i, j, kind, confidence, reason);
        linked = true;
    }
    linked
}
