//! Races the message does not name (docs/races.md): a root cause that says a principal is invalid or cannot be
//! assumed, seconds after the principal was created — IAM's eventual consistency, not a missing role — and a
//! global resource that "already exists" because another Region of the same operation created it first.
//!
//! The timeline decides: when the producer finished (its resource's `*_COMPLETE` event, else the end of the
//! operation that deployed it in that account) and when the consumer failed, in the same account. Only a gap
//! of at most [`WINDOW_SECONDS`] is a race; an older producer was visible long before.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::classify::Failure;
use crate::evidence::{Evidence, StackEvent};
use crate::graph::{DeploymentGraph, UnfailedProducer};
use crate::ids::Arn;
use crate::vocabulary::{status, Category, FailureId, RaceKind};
use crate::wildcard;

/// The longest gap between the producer's completion and the consumer's failure still called a race
/// (docs/races.md#the-window).
pub const WINDOW_SECONDS: i64 = 120;

/// AWS on IAM's eventual consistency.
const IAM_CONSISTENCY: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency";
/// AWS on a StackSet operation's Region order and concurrency.
const OPERATION_OPTIONS: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-concepts.html#stackset-ops-options";

/// AWS on automatic deployments: an account moved out of a target OU has its stacks deleted, into one created.
const AUTO_DEPLOYMENT: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html";

/// A race the timeline shows.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Race {
    pub kind: RaceKind,
    /// What was raced for: `role CrossAccountAuditRole`.
    pub what: String,
    /// Who made it: `stack set org-roles (resource AuditRole) in 111111111111 us-east-1`.
    pub producer: String,
    /// The producer's stack set, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_stack_set: Option<String>,
    /// The Region the producer ran in, when it is another than the consumer's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub producer_region: Option<String>,
    /// When the producer finished (or, from an operation's end, no later than this).
    pub ready: DateTime<Utc>,
    pub failed: DateTime<Utc>,
    /// Seconds from `ready` to `failed`.
    pub gap_seconds: i64,
    /// How `ready` is known: `its CREATE_COMPLETE event` or `the end of operation …, which deployed it there`.
    pub evidence: String,
    /// The operation raced, for a `concurrent-delete`: the DELETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

impl Race {
    /// One line for people.
    pub fn line(&self) -> String {
        // An operation's end bounds the producer's completion from above: it was done at least this long before.
        let when = if self.evidence.starts_with("the end of") {
            format!("at least {} s", self.gap_seconds)
        } else {
            format!("{} s", self.gap_seconds)
        };
        match self.kind {
            RaceKind::IamPropagation => format!(
                "{} was created by {} {when} before this failure ({}): IAM had not yet made it visible, it is not missing",
                self.what, self.producer, self.evidence
            ),
            RaceKind::ParallelRegions => format!(
                "{} was created by {} {when} before this failure ({}): the Regions ran in parallel and raced for it",
                self.what, self.producer, self.evidence
            ),
            RaceKind::GlobalInParallelRegions => format!(
                "{} is global, and {} created it {when} before this failure ({}): every Region of the stack set creates the same one",
                self.what, self.producer, self.evidence
            ),
            RaceKind::ConcurrentDelete => format!(
                "{} was still being deleted: {} started {} s before this failure ({}); an account moved between OUs \
                 while auto-deployment runs gets the DELETE and the CREATE at once",
                self.what, self.producer, self.gap_seconds, self.evidence
            ),
        }
    }

    /// A heading for people, in place of the rule's title.
    pub fn title(&self) -> String {
        match self.kind {
            RaceKind::IamPropagation => {
                format!(
                    "{} was not yet visible (IAM eventual consistency)",
                    self.what
                )
            }
            RaceKind::ParallelRegions => format!("Regions raced for {}", self.what),
            RaceKind::GlobalInParallelRegions => {
                format!("Every Region creates the same global {}", self.what)
            }
            RaceKind::ConcurrentDelete => format!(
                "The CREATE raced a DELETE of the same stack set in this account ({})",
                self.what
            ),
        }
    }

    /// How much the race is trusted: a completion event dates the producer; an operation's end only bounds it.
    pub fn confidence(&self) -> f32 {
        if self.evidence.starts_with("the end of") {
            crate::vocabulary::confidence::RACE_BY_OPERATION_END
        } else {
            crate::vocabulary::confidence::RACE_BY_EVENT
        }
    }

    /// AWS's documentation of it.
    pub fn reference(&self) -> &'static str {
        match self.kind {
            RaceKind::IamPropagation => IAM_CONSISTENCY,
            RaceKind::ParallelRegions | RaceKind::GlobalInParallelRegions => OPERATION_OPTIONS,
            RaceKind::ConcurrentDelete => AUTO_DEPLOYMENT,
        }
    }

    /// What to change, before the retry steps.
    pub fn fix(&self, consumer: &Failure) -> (String, Vec<String>) {
        let ss = consumer.stack_set.as_deref().unwrap_or("the stack set");
        match self.kind {
            RaceKind::IamPropagation => {
                let mut steps = vec![format!(
                    "Nothing is missing: {} exists. Retry the failed stack instances once it has had a minute to \
                     propagate (the steps below).",
                    self.what
                )];
                steps.push(match &self.producer_stack_set {
                    Some(p) if Some(p.as_str()) != consumer.stack_set.as_deref() => format!(
                        "So it does not recur, deploy {ss} only after {p} has finished in each account: \
                         AutoDeployment DependsOn {p} for service-managed stack sets, or a later operation."
                    ),
                    _ => format!(
                        "So it does not recur, let {} wait for IAM after the role is created: a DependsOn on a \
                         short wait (a custom resource that sleeps, or the service's own retry) — CloudFormation \
                         does not wait for IAM to propagate.",
                        consumer.logical_id.as_deref().unwrap_or("the resource")
                    ),
                });
                (
                    format!("Retry: {} was not yet visible (IAM eventual consistency)", self.what),
                    steps,
                )
            }
            RaceKind::ParallelRegions => {
                let first = self.producer_region.as_deref().unwrap_or("the creating Region");
                let here = consumer.region.as_deref().unwrap_or("this Region");
                (
                    format!("Deploy {first} before the other Regions: they raced for {}", self.what),
                    vec![
                        format!(
                            "Run the Regions one after another with {first} first: --operation-preferences \
                             RegionConcurrencyType=SEQUENTIAL,RegionOrder={first},{here} (and the stack set's other \
                             Regions after them)."
                        ),
                        "Then retry the failed stack instances with those preferences (the steps below).".into(),
                    ],
                )
            }
            RaceKind::GlobalInParallelRegions => (
                format!("Create {} in one Region only", self.what),
                vec![
                    format!(
                        "{} is global: create it in one Region only (a Condition on AWS::Region in {ss}'s \
                         template), or put ${{AWS::Region}} in its name so each Region makes its own.",
                        self.what
                    ),
                    "Then update the stack set and retry the failed stack instances (the steps below).".into(),
                ],
            ),
            RaceKind::ConcurrentDelete => {
                let op = self.operation.as_deref().unwrap_or("<operation-id>");
                (
                    "Let the DELETE finish, then retry the CREATE".into(),
                    vec![
                        format!(
                            "Wait until the DELETE operation has ended: `aws cloudformation describe-stack-set-operation \
                             --stack-set-name {ss} --operation-id {op}`; its stack held what the CREATE found existing."
                        ),
                        "So it does not recur, move accounts between OUs when no operation of the stack set runs.".into(),
                        "Then retry the failed stack instances (the steps below).".into(),
                    ],
                )
            }
        }
    }
}

/// Categories of a failure that a principal not yet visible explains.
const PROPAGATION: &[Category] = &[
    Category::InvalidPrincipal,
    Category::InvalidRequest,
    Category::AccessDeniedOther,
    Category::IdentityPolicyMissing,
    Category::StacksetExecutionRole,
    Category::NotFound,
    Category::MalformedPolicy,
    Category::Other,
];

/// What completed in each account, from the evidence's stack events.
pub(super) struct Timeline<'e> {
    /// Per account: `*_COMPLETE` events of resources, newest first.
    completed: HashMap<&'e str, Vec<&'e StackEvent>>,
    /// Per (stack, resource): when it first failed. A failure merged from several records carries the earliest
    /// time of any (an operation result's is its operation's start); the race is measured to the resource's own.
    failed: HashMap<(&'e str, &'e str), DateTime<Utc>>,
    evidence: &'e Evidence,
}

fn event_account(e: &StackEvent) -> Option<&str> {
    e.account
        .as_deref()
        .or_else(|| Arn::parse(&e.stack_id).map(|a| a.account))
}

fn event_region(e: &StackEvent) -> Option<&str> {
    e.region
        .as_deref()
        .or_else(|| Arn::parse(&e.stack_id).map(|a| a.region))
}

/// The stack set of a member stack's event: as the evidence records it, else from the stack's name.
fn event_stack_set(e: &StackEvent) -> Option<&str> {
    e.stack_set
        .as_deref()
        .or_else(|| crate::evidence::stack_set_from_stack_name(&e.stack_name))
}

impl<'e> Timeline<'e> {
    pub(super) fn new(evidence: &'e Evidence) -> Self {
        let mut completed: HashMap<&str, Vec<&StackEvent>> = HashMap::new();
        let mut failed: HashMap<(&str, &str), DateTime<Utc>> = HashMap::new();
        for e in &evidence.stack_events {
            if status::failed(&e.status) {
                if let Some(l) = e.logical_id.as_deref() {
                    let t = failed
                        .entry((e.stack_id.as_str(), l))
                        .or_insert(e.timestamp);
                    *t = (*t).min(e.timestamp);
                }
            }
            if status::completed(&e.status)
                && e.resource_type.as_deref() != Some("AWS::CloudFormation::Stack")
                && e.physical_id.as_deref().is_some_and(|p| p.len() >= 3)
            {
                if let Some(a) = event_account(e) {
                    completed.entry(a).or_default().push(e);
                }
            }
        }
        for v in completed.values_mut() {
            v.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
        }
        Timeline {
            completed,
            failed,
            evidence,
        }
    }

    /// The race that explains root cause `id`, when the timeline shows one.
    pub(super) fn race(&self, f: &Failure, graph: &DeploymentGraph, id: FailureId) -> Option<Race> {
        let own = f
            .stack_id
            .as_deref()
            .zip(f.logical_id.as_deref())
            .and_then(|k| self.failed.get(&k).copied());
        let failed = own.or(f.timestamp)?;
        let account = f.account.as_deref()?;
        if f.class.category == Category::AlreadyExists {
            return self
                .global_in_parallel_regions(f, account, failed)
                .or_else(|| self.concurrent_delete(f, account, failed));
        }
        if !PROPAGATION.contains(&f.class.category) {
            return None;
        }
        // The resource's own event says more than an operation's end.
        self.completed_and_named(f, account, failed).or_else(|| {
            graph
                .unfailed_producers(id)
                .iter()
                .filter_map(|p| self.producer_ready(p, f, account, failed))
                .max_by_key(|r| r.ready)
        })
    }

    /// An IAM resource that completed shortly before, in the consumer's account, whose name the failure carries.
    fn completed_and_named(
        &self,
        f: &Failure,
        account: &str,
        failed: DateTime<Utc>,
    ) -> Option<Race> {
        let texts = [
            f.message.as_str(),
            f.raw_message.as_str(),
            f.properties.as_deref().unwrap_or(""),
        ];
        let e = self.completed.get(account)?.iter().find(|e| {
            let gap = (failed - e.timestamp).num_seconds();
            (0..=WINDOW_SECONDS).contains(&gap)
                && e.resource_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("AWS::IAM::"))
                && e.physical_id
                    .as_deref()
                    .is_some_and(|p| texts.iter().any(|t| names(t, p)))
        })?;
        let region = event_region(e);
        let other_region = region.filter(|r| Some(*r) != f.region.as_deref());
        let producer_set = event_stack_set(e);
        let same_set = producer_set.is_some() && producer_set == f.stack_set.as_deref();
        let kind = if same_set && other_region.is_some() {
            RaceKind::ParallelRegions
        } else {
            RaceKind::IamPropagation
        };
        let producer = match (producer_set, same_set) {
            (Some(ss), false) => format!(
                "stack set {ss} (resource {}) in {account}{}",
                e.logical_id.as_deref().unwrap_or("?"),
                region.map(|r| format!(" {r}")).unwrap_or_default()
            ),
            _ => format!(
                "resource {} of stack {}{}",
                e.logical_id.as_deref().unwrap_or("?"),
                e.stack_name,
                other_region.map(|r| format!(" in {r}")).unwrap_or_default()
            ),
        };
        Some(Race {
            kind,
            what: format!(
                "{} {}",
                crate::text::type_words(e.resource_type.as_deref().unwrap_or("")),
                e.physical_id.as_deref().unwrap_or("")
            ),
            producer,
            producer_stack_set: producer_set.map(str::to_owned),
            producer_region: other_region.map(str::to_owned),
            ready: e.timestamp,
            failed,
            gap_seconds: (failed - e.timestamp).num_seconds(),
            evidence: format!("its {} event", e.status),
            operation: None,
        })
    }

    /// When a stack set with no failure there finished creating what the failure names, in its account.
    fn producer_ready(
        &self,
        p: &UnfailedProducer,
        f: &Failure,
        account: &str,
        failed: DateTime<Utc>,
    ) -> Option<Race> {
        if p.account.as_deref().is_some_and(|a| a != account) {
            return None;
        }
        let region_ok = |r: &str| p.region.as_deref().is_none_or(|want| want == r);
        let of_producer = |ss: Option<&str>| {
            ss.is_some_and(|s| wildcard::matches(&p.stack_set, s, false))
                && ss != f.stack_set.as_deref()
        };
        let what = format!(
            "{} {}",
            crate::text::type_words(&p.resource_type),
            p.identifier
        );
        // Its resource's completion, when the producer's stack events are in the evidence.
        let by_event = p.logical_id.as_ref().and_then(|logical| {
            self.completed.get(account)?.iter().find(|e| {
                e.logical_id.as_ref() == Some(logical)
                    && of_producer(event_stack_set(e))
                    && event_region(e).is_some_and(region_ok)
                    && e.timestamp <= failed
            })
        });
        let (ready, ss, evidence, region) = if let Some(e) = by_event {
            (
                e.timestamp,
                event_stack_set(e)?.to_owned(),
                format!("its {} event", e.status),
                event_region(e).map(str::to_owned),
            )
        } else {
            // Else the end of the operation that deployed it there: its instance's last operation, or an operation
            // whose result there succeeded.
            let ev = self.evidence;
            let ops = ev
                .stack_instances
                .iter()
                .filter(|i| {
                    i.account == account
                        && of_producer(i.stack_set.as_deref())
                        && region_ok(&i.region)
                        && i.status == "CURRENT"
                        && !status::instance_failed(i.detailed_status.as_deref(), &i.status)
                })
                .filter_map(|i| {
                    Some((
                        i.stack_set.clone()?,
                        i.last_operation_id.clone()?,
                        i.region.clone(),
                    ))
                })
                .chain(
                    ev.operation_results
                        .iter()
                        .filter(|r| {
                            r.account == account
                                && r.status == "SUCCEEDED"
                                && of_producer(r.stack_set.as_deref())
                                && region_ok(&r.region)
                        })
                        .filter_map(|r| {
                            Some((
                                r.stack_set.clone()?,
                                r.operation_id.clone()?,
                                r.region.clone(),
                            ))
                        }),
                );
            let (ended, ss, op, region) = ops
                .filter_map(|(ss, op, region)| {
                    let o = ev.operations.iter().find(|o| {
                        o.operation_id == op && o.stack_set.as_deref().is_none_or(|s| s == ss)
                    })?;
                    Some((o.ended?, ss, op, region))
                })
                .filter(|(ended, ..)| *ended <= failed)
                .max_by_key(|(ended, ..)| *ended)?;
            (
                ended,
                ss,
                format!("the end of operation {op}, which deployed it there"),
                Some(region),
            )
        };
        let gap = (failed - ready).num_seconds();
        if !(0..=WINDOW_SECONDS).contains(&gap) {
            return None;
        }
        Some(Race {
            kind: RaceKind::IamPropagation,
            what,
            producer: format!(
                "stack set {ss}{} in {account}",
                p.logical_id
                    .as_deref()
                    .map(|l| format!(" (resource {l})"))
                    .unwrap_or_default()
            ),
            producer_stack_set: Some(ss),
            producer_region: region.filter(|r| Some(r.as_str()) != f.region.as_deref()),
            ready,
            failed,
            gap_seconds: gap,
            evidence,
            operation: None,
        })
    }

    /// A global resource that "already exists" because the same stack set created it in another Region of the same
    /// account shortly before (same operation).
    fn global_in_parallel_regions(
        &self,
        f: &Failure,
        account: &str,
        failed: DateTime<Utc>,
    ) -> Option<Race> {
        let ty = f
            .resource_type
            .as_deref()
            .filter(|t| status::is_global_type(t))?;
        let logical = f.logical_id.as_deref()?;
        let ss = f.stack_set.as_deref()?;
        let here = f.region.as_deref()?;
        let e = self.completed.get(account)?.iter().find(|e| {
            let gap = (failed - e.timestamp).num_seconds();
            event_stack_set(e) == Some(ss)
                && e.logical_id.as_deref() == Some(logical)
                && event_region(e).is_some_and(|r| r != here)
                && (0..=WINDOW_SECONDS * 5).contains(&gap)
        })?;
        let region = event_region(e)?.to_owned();
        let physical = e.physical_id.clone().unwrap_or_default();
        Some(Race {
            kind: RaceKind::GlobalInParallelRegions,
            what: format!("{} {physical}", crate::text::type_words(ty)),
            producer: format!("the same stack set's stack in {region}"),
            producer_stack_set: Some(ss.to_owned()),
            producer_region: Some(region),
            ready: e.timestamp,
            failed,
            gap_seconds: (failed - e.timestamp).num_seconds(),
            evidence: format!("its {} event", e.status),
            operation: None,
        })
    }
}

impl Timeline<'_> {
    /// A CREATE's "already exists" while a DELETE of the same stack set ran in the same account (or had just ended):
    /// the DELETE's results or the account's instance name the account.
    fn concurrent_delete(&self, f: &Failure, account: &str, failed: DateTime<Utc>) -> Option<Race> {
        let ss = f.stack_set.as_deref()?;
        let ev = self.evidence;
        let region = f.region.as_deref();
        let involves = |op: &str| {
            ev.operation_results.iter().any(|r| {
                r.operation_id.as_deref() == Some(op)
                    && r.account == account
                    && r.stack_set.as_deref().is_none_or(|s| s == ss)
                    && region.is_none_or(|want| want == r.region)
            }) || ev.stack_instances.iter().any(|i| {
                i.last_operation_id.as_deref() == Some(op)
                    && i.account == account
                    && i.stack_set.as_deref().is_none_or(|s| s == ss)
            })
        };
        let o = ev
            .operations
            .iter()
            .filter(|o| {
                o.action.as_deref() == Some("DELETE")
                    && o.stack_set.as_deref().is_none_or(|s| s == ss)
                    && Some(o.operation_id.as_str()) != f.operation_id.as_deref()
                    && o.created.is_some_and(|c| c <= failed)
                    && o.ended
                        .is_none_or(|e| (failed - e).num_seconds() <= WINDOW_SECONDS)
            })
            .filter(|o| involves(&o.operation_id))
            .max_by_key(|o| o.created)?;
        let started = o.created?;
        let running = o.ended.is_none_or(|e| e >= failed);
        Some(Race {
            kind: RaceKind::ConcurrentDelete,
            what: format!(
                "stack set {ss}'s stack in {account}{}",
                region.map(|r| format!(" {r}")).unwrap_or_default()
            ),
            producer: format!("DELETE operation {}", o.operation_id),
            producer_stack_set: Some(ss.to_owned()),
            producer_region: None,
            ready: started,
            failed,
            gap_seconds: (failed - started).num_seconds(),
            evidence: if running {
                format!("it was {} when the CREATE failed", o.status.to_lowercase())
            } else {
                "it ended after the CREATE had started".into()
            },
            operation: Some(o.operation_id.clone()),
        })
    }
}

/// Whether `text` names `name` as a whole: not inside a longer name (`Role` is not named by `RoleX`).
fn names(text: &str, name: &str) -> bool {
    let part =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '=' | ',' | '.' | '@');
    text.match_indices(name).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(part)
            && !text[i + name.len()..].chars().next().is_some_and(part)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_counts_only_whole() {
        assert!(names(
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/Audit\"",
            "Audit"
        ));
        assert!(!names("arn:aws:iam::1:role/AuditRole", "Audit"));
        assert!(!names("arn:aws:iam::1:role/my-Audit", "Audit"));
        assert!(names(
            "{\"Role\":\"arn:aws:iam::1:role/x-LambdaRole-AB12\"}",
            "x-LambdaRole-AB12"
        ));
    }

    #[test]
    fn kinds_read_as_words() {
        assert_eq!(
            crate::text::type_words("AWS::IAM::InstanceProfile"),
            "instance profile"
        );
        assert_eq!(crate::text::type_words("AWS::IAM::Role"), "role");
        assert_eq!(crate::text::type_words("AWS::S3::Bucket"), "bucket");
    }
}
