//! The report model: the JSON contract, and what every other format renders.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::console::{self, ConsoleLink};
use super::steps;
use crate::classify::{Failure, Sighting};
use crate::error::exit;
use crate::graph::{LockHolder, Matched};
use crate::trace::inquiry::Finding;
use crate::trace::{Diagnosis, Remediation};
use crate::trail::TrailEvidence;
use crate::vocabulary::{FailureId, Layer, LinkKind};

pub const REPORT_SCHEMA: &str = "stackset-doctor/report/v1";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub summary: Summary,
    pub root_causes: Vec<RootCauseOut>,
    /// Root causes alike in all but account and Region (same rule, stack set, resource and message), in
    /// root-cause order: what reports show as one, with one retry for them all. Every root cause is in one group.
    pub root_cause_groups: Vec<RootCauseGroup>,
    pub failures: Vec<FailureOut>,
    /// Failed stack instances, one per stack set, account and Region.
    pub failed_instances: Vec<FailedInstance>,
    /// Links between failures (consequence → cause), for diagrams and automation.
    pub links: Vec<LinkOut>,
    pub warnings: Vec<String>,
    /// Evidence that could not be collected, and why.
    pub coverage: Vec<String>,
    /// What was left out on purpose (messages a rule marks as not a failure).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Summary {
    /// One sentence for a human.
    pub verdict: String,
    pub failures: usize,
    pub root_causes: usize,
    /// Root causes that matched no rule.
    pub unexplained_root_causes: usize,
    pub stack_sets: Vec<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// The process exit code this report leads to.
    pub exit_code: i32,
    /// What the evidence covered (stack sets, instances by status, accounts × Regions, the last operation).
    pub examined: crate::evidence::Examined,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RootCauseOut {
    pub id: String,
    pub failure: FailureId,
    pub rule: Option<String>,
    /// What decided the category: the rule id, `error-code:X`, `handler-error-code:X`, `status:N`, `wording:ID`.
    pub matched_by: Option<String>,
    pub layer: Option<Layer>,
    pub title: Option<String>,
    pub category: String,
    pub stack_set: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub logical_id: Option<String>,
    pub resource_type: Option<String>,
    pub status: String,
    pub message: String,
    pub fields: BTreeMap<String, String>,
    pub explains: Vec<FailureId>,
    /// Counts of the explained failures, for reading at scale.
    pub impact: Impact,
    pub confidence: f32,
    pub explanation: Option<String>,
    pub remediation: Remediation,
    /// When it failed (its stack event or result), when the evidence says.
    pub timestamp: Option<DateTime<Utc>>,
    /// Every command of the fix, in the order to run them: the policy update, then the steps' commands.
    pub commands: Vec<String>,
    /// The console pages to look at: the failing stack's events, the stack set's operations, the denying policy,
    /// the CloudTrail event.
    pub console: Vec<ConsoleLink>,
    /// The CloudTrail event of the call that failed, when one matched (docs/cloudtrail.md#enrichment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail: Option<TrailOut>,
    /// The operation that held the stack set, for a request refused because of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_holder: Option<LockHolder>,
    /// For a root cause no specific rule explains: what was looked for, and what was found
    /// (docs/cloudtrail.md#looked-or-could-not-look).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub looked_for: Vec<Finding>,
    /// The race the timeline shows behind it: the named thing existed, seconds before (docs/races.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub race: Option<crate::trace::race::Race>,
}

/// A matched CloudTrail event, with its page in the console.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TrailOut {
    #[serde(flatten)]
    pub event: TrailEvidence,
    pub console: Option<ConsoleLink>,
}

impl TrailOut {
    /// One line for people: the call, its error, when, who, and whether its message decided.
    pub fn line(&self) -> String {
        let t = &self.event;
        let mut s = format!(
            "{} {}",
            t.event_source
                .strip_suffix(".amazonaws.com")
                .unwrap_or(&t.event_source),
            t.event_name
        );
        if let Some(c) = &t.error_code {
            s.push_str(&format!(" {c}"));
        }
        if let Some(at) = t.event_time {
            s.push_str(&format!(" at {}", at.format("%H:%M:%S UTC")));
        }
        // Who made the call, unless its message says so.
        if let Some(p) = t.principal_arn.as_ref().filter(|p| {
            !t.error_message
                .as_deref()
                .is_some_and(|m| m.contains(p.as_str()))
        }) {
            s.push_str(&format!(" by {p}"));
        }
        if t.decided {
            s.push_str(" (its message decided the category)");
        }
        if let Some(m) = &t.error_message {
            s.push_str(&format!(": {m}"));
        }
        s
    }

    fn of(t: &TrailEvidence) -> TrailOut {
        TrailOut {
            event: t.clone(),
            console: t
                .region
                .as_deref()
                .and_then(|r| console::trail_event(&t.event_id, r)),
        }
    }
}

/// Alike root causes, shown as one.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RootCauseGroup {
    /// The root causes' ids (`R1`, ...), the first standing for the group.
    pub root_causes: Vec<String>,
    /// Every account and Region of the members and what they explain.
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// The retry steps for the whole group (replacing each member's own, which cover only that member).
    pub retry: Vec<String>,
    /// Every command of the group's fix: the first member's, with the group's retry.
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Impact {
    pub failures: usize,
    /// Explained failures per stack set.
    pub stack_sets: BTreeMap<String, usize>,
    pub accounts: usize,
    pub regions: Vec<String>,
    /// Every account and Region the root cause and what it explains failed in: what a retry must cover.
    pub affected_accounts: Vec<String>,
    pub affected_regions: Vec<String>,
}

/// A stack instance that failed (one per stack set, account and Region), with what explains it: a retry script's
/// list without jq.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FailedInstance {
    pub stack_set: Option<String>,
    pub account: String,
    pub region: String,
    /// The status of the failure that stands for the instance: the instance's own (its result's or detailed
    /// status) when the evidence has one that is not merged into a resource's failure, else the resource's.
    pub status: String,
    /// Its innermost message.
    pub reason: String,
    pub root_cause: Option<String>,
    /// The failure that stands for the instance.
    pub failure: FailureId,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FailureOut {
    pub id: FailureId,
    pub level: String,
    pub stack_set: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub stack_name: Option<String>,
    pub operation_id: Option<String>,
    pub logical_id: Option<String>,
    pub resource_type: Option<String>,
    pub status: String,
    pub timestamp: Option<DateTime<Utc>>,
    /// The innermost message, after unwrapping envelopes.
    pub message: String,
    /// The status reason as AWS wrote it.
    pub raw_message: String,
    pub rule: Option<String>,
    /// What decided the category: the rule id, `error-code:X`, `handler-error-code:X`, `status:N`, `wording:ID`.
    pub matched_by: Option<String>,
    pub layer: Option<Layer>,
    pub category: String,
    /// `root` when this failure is a root cause, else `consequence`.
    pub role: &'static str,
    /// What the matching rule says of such messages: `root`, `consequence`, or `unknown` (no rule).
    pub rule_role: &'static str,
    pub caused_by: Option<FailureId>,
    pub link: Option<LinkOut>,
    /// The root cause this failure belongs to (the one its `caused_by` chain ends at).
    pub root_cause: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub sources: Vec<Sighting>,
    /// The CloudTrail event of the call that failed, when one matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail: Option<TrailOut>,
    /// The operation that held the stack set, for a request refused because of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_holder: Option<LockHolder>,
}

impl FailureOut {
    /// Resources first, summaries (instances, operations) last: a chain reads from the concrete.
    pub fn level_rank(&self) -> u8 {
        match self.level.as_str() {
            "resource" => 0,
            "stack" => 1,
            "instance" => 2,
            "account-gate" => 3,
            _ => 4,
        }
    }

    /// The message for people: what it says, or why there is none. StackSets gives a failed operation no reason
    /// of its own: its failed instances are the reason.
    pub fn shown_message(&self) -> &str {
        if !self.message.is_empty() {
            &self.message
        } else if self.level == "operation" {
            "the operation failed because the instances under it did"
        } else {
            "(no status reason)"
        }
    }

    /// What failed, for people: the resource's logical id, or what kind of summary this is.
    pub fn what(&self) -> &str {
        match (self.level.as_str(), self.logical_id.as_deref()) {
            ("stack", _) => "(stack)",
            (_, Some(l)) => l,
            ("operation", None) => "(operation)",
            ("account-gate", None) => "(account gate)",
            _ => "(stack instance)",
        }
    }

    /// What makes failures alike, so that reports draw them once with a count: all but account and Region
    /// (stack set, what failed, category, message). Status is left out: the same failure reads CREATE_FAILED
    /// in stack events and FAILED in results.
    pub fn alike_key(&self) -> (Option<&str>, &str, &str, &str) {
        (
            self.stack_set.as_deref(),
            self.what(),
            self.category.as_str(),
            self.message.as_str(),
        )
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LinkOut {
    /// The consequence.
    pub from: FailureId,
    /// The failure that explains it.
    pub to: FailureId,
    pub kind: LinkKind,
    pub confidence: f32,
    pub reason: String,
    /// For a link across stack sets: the identifier that connects the two failures, and where each side has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<Matched>,
}

/// One line for people on the operation that held a stack set.
pub fn holder_line(h: &LockHolder) -> String {
    let mut s = format!(
        "operation {} ({}, {})",
        h.operation_id,
        h.action.as_deref().unwrap_or("action unknown"),
        h.status
    );
    if let Some(t) = h.started {
        s.push_str(&format!(" started {}", t.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    if let Some(by) = &h.started_by {
        s.push_str(&format!(
            " by {by}{}",
            h.started_with
                .as_deref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        ));
    }
    s.push_str(&format!(" held stack set {}", h.stack_set));
    if !h.progress.is_empty() {
        let counts: Vec<String> = h
            .progress
            .iter()
            .map(|(status, n)| format!("{n} {status}"))
            .collect();
        s.push_str(&format!(
            "; its results in the evidence: {}",
            counts.join(", ")
        ));
    }
    if h.failures > 0 {
        s.push_str(&format!(
            "; {} of its failure{} are in the evidence",
            h.failures,
            if h.failures == 1 { "" } else { "s" }
        ));
    } else {
        s.push_str("; none of its failures are in the evidence");
    }
    s
}

impl Finding {
    /// One line for people: what was looked in, what was found, and the permission to add.
    pub fn line(&self) -> String {
        match self.permission {
            Some(p) => format!("{}; add {p}", self.text),
            None => self.text.clone(),
        }
    }
}

/// The exit code for a diagnosis (see `error::exit`).
pub fn exit_code(d: &Diagnosis) -> i32 {
    if d.incomplete() {
        exit::INCOMPLETE
    } else if d.failures.is_empty() {
        exit::OK
    } else if d.all_explained() {
        exit::FAILURES_EXPLAINED
    } else {
        exit::FAILURES_UNEXPLAINED
    }
}

fn sorted<I: IntoIterator<Item = Option<String>>>(it: I) -> Vec<String> {
    it.into_iter()
        .flatten()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

impl Report {
    pub fn new(d: &Diagnosis) -> Report {
        let root_ids: BTreeMap<FailureId, String> = d
            .root_causes
            .iter()
            .enumerate()
            .map(|(n, r)| (r.failure, format!("R{}", n + 1)))
            .collect();

        let root_of = |i: usize| -> Option<String> { root_ids.get(&d.root_of[i]?).cloned() };

        let failures: Vec<FailureOut> = d
            .failures
            .iter()
            .enumerate()
            .map(|(i, f)| failure_out(d, i, f, root_ids.contains_key(&f.id), root_of(i)))
            .collect();

        let failed_instances = failed_instances(d, &failures);
        let root_causes = d
            .root_causes
            .iter()
            .map(|r| {
                let f = &d.failures[r.failure];
                let explained: Vec<&Failure> = r.explains.iter().map(|&j| &d.failures[j]).collect();
                let mut per_set: BTreeMap<String, usize> = BTreeMap::new();
                for e in &explained {
                    *per_set
                        .entry(
                            e.stack_set
                                .clone()
                                .unwrap_or_else(|| "(no stack set)".into()),
                        )
                        .or_default() += 1;
                }
                RootCauseOut {
                    id: root_ids[&r.failure].clone(),
                    failure: f.id,
                    rule: f.class.rule.clone(),
                    matched_by: f.class.matched_by.clone(),
                    layer: f.class.layer,
                    // A race changes what the failure means: "not yet visible", not "does not exist".
                    title: r
                        .race
                        .as_ref()
                        .map(|x| x.title())
                        .or_else(|| f.class.title.clone()),
                    category: f.class.category.as_str().to_owned(),
                    stack_set: f.stack_set.clone(),
                    account: f.account.clone(),
                    region: f.region.clone(),
                    logical_id: f.logical_id.clone(),
                    resource_type: f.resource_type.clone(),
                    status: f.status.clone(),
                    message: f.message.clone(),
                    fields: f.class.fields.clone(),
                    explains: r.explains.clone(),
                    impact: Impact {
                        failures: explained.len(),
                        stack_sets: per_set,
                        accounts: explained
                            .iter()
                            .filter_map(|e| e.account.as_deref())
                            .collect::<BTreeSet<_>>()
                            .len(),
                        regions: sorted(explained.iter().map(|e| e.region.clone())),
                        affected_accounts: sorted(
                            std::iter::once(f)
                                .chain(explained.iter().copied())
                                .map(|e| e.account.clone()),
                        ),
                        affected_regions: sorted(
                            std::iter::once(f)
                                .chain(explained.iter().copied())
                                .map(|e| e.region.clone()),
                        ),
                    },
                    confidence: r.confidence,
                    explanation: r.explanation.clone(),
                    remediation: r.remediation.clone(),
                    timestamp: f.timestamp,
                    commands: commands(&r.remediation, &r.remediation.steps),
                    console: console_links(f, &r.remediation),
                    trail: f.trail.as_ref().map(TrailOut::of),
                    lock_holder: d.lock_holders.get(r.failure.index()).cloned().flatten(),
                    looked_for: r.looked_for.clone(),
                    race: r.race.clone(),
                }
            })
            .collect::<Vec<_>>();
        let root_cause_groups = d
            .alike
            .iter()
            .map(|g| {
                let members: Vec<&RootCauseOut> =
                    g.members.iter().map(|&m| &root_causes[m]).collect();
                let first = &d.root_causes[g.members[0]].remediation;
                let mut shown: Vec<String> = first.steps[..first.retry_from].to_vec();
                shown.extend(g.retry.iter().cloned());
                RootCauseGroup {
                    root_causes: members.iter().map(|m| m.id.clone()).collect(),
                    accounts: sorted(
                        members
                            .iter()
                            .flat_map(|m| m.impact.affected_accounts.iter().cloned().map(Some)),
                    ),
                    regions: sorted(
                        members
                            .iter()
                            .flat_map(|m| m.impact.affected_regions.iter().cloned().map(Some)),
                    ),
                    retry: g.retry.clone(),
                    commands: commands(first, &shown),
                }
            })
            .collect();

        let exit_code = exit_code(d);
        let unexplained = d
            .root_causes
            .iter()
            .filter(|r| d.failures[r.failure].class.rule.is_none())
            .count();
        let stack_sets = sorted(d.failures.iter().map(|f| f.stack_set.clone()));
        let accounts = sorted(d.failures.iter().map(|f| f.account.clone()));
        let regions = sorted(d.failures.iter().map(|f| f.region.clone()));
        let verdict = verdict(d, &root_causes, &stack_sets, &accounts, unexplained);

        Report {
            schema: REPORT_SCHEMA,
            tool: Tool {
                name: "stackset-doctor",
                version: env!("CARGO_PKG_VERSION"),
            },
            summary: Summary {
                verdict,
                failures: d.failures.len(),
                root_causes: d.root_causes.len(),
                unexplained_root_causes: unexplained,
                stack_sets,
                accounts,
                regions,
                exit_code,
                examined: d.examined.clone(),
            },
            root_causes,
            root_cause_groups,
            failures,
            failed_instances,
            links: d
                .links
                .iter()
                .map(|(a, b, l)| LinkOut {
                    from: *a,
                    to: *b,
                    kind: l.kind,
                    confidence: l.confidence,
                    reason: l.reason.clone(),
                    matched: l.matched.clone(),
                })
                .collect(),
            warnings: d.warnings.clone(),
            coverage: d.coverage.clone(),
            notes: d.notes.clone(),
        }
    }
}

/// Each failure's direct consequences (by the failure's id), in failure order.
pub type Children<'r> = BTreeMap<FailureId, Vec<&'r FailureOut>>;

impl Report {
    /// Each failure's direct consequences, indexed once, so walking the chains is linear.
    pub fn children(&self) -> Children<'_> {
        let mut children: Children<'_> = BTreeMap::new();
        for f in &self.failures {
            if let Some(c) = f.caused_by {
                children.entry(c).or_default().push(f);
            }
        }
        children
    }
}

fn verdict(
    d: &Diagnosis,
    roots: &[RootCauseOut],
    sets: &[String],
    accounts: &[String],
    unexplained: usize,
) -> String {
    if d.failures.is_empty() {
        return healthy_verdict(d);
    }
    let mut s = format!(
        "{} in {} and {}, explained by {}",
        crate::text::count(d.failures.len(), "failure", "failures"),
        crate::text::count(sets.len(), "stack set", "stack sets"),
        crate::text::count(accounts.len(), "account", "accounts"),
        crate::text::count(roots.len(), "root cause", "root causes"),
    );
    if let Some(top) = roots.first() {
        // Plain words first (the rule's title), the slugs after for those who grep.
        let what = top
            .title
            .as_deref()
            .map(|t| format!("{} ({})", t.trim_end_matches('.'), top.category))
            .unwrap_or_else(|| format!("{}, which no rule recognises", top.category));
        s.push_str(&format!(
            "; the main one: {what}, on {} in {}",
            top.logical_id.as_deref().unwrap_or("the stack instance"),
            top.account.as_deref().unwrap_or("an unknown account"),
        ));
        if top.impact.failures > 0 {
            s.push_str(&format!(
                ", which explains {} more",
                crate::text::count(top.impact.failures, "failure", "failures")
            ));
        }
    }
    if unexplained > 0 {
        s.push_str(&format!(
            "; {} matched no rule",
            crate::text::count(unexplained, "root cause", "root causes")
        ));
    }
    s.push('.');
    s
}

/// A verdict with no failure says what it examined, and is never an all-clear when evidence is missing.
fn healthy_verdict(d: &Diagnosis) -> String {
    let e = &d.examined;
    let mut s = if d.incomplete() {
        format!(
            "No failure found in what could be read, but {} could not be read or collected (see coverage): \
             this is not an all-clear",
            crate::text::count(d.coverage.len(), "piece of evidence", "pieces of evidence")
        )
    } else {
        "No failure found".to_owned()
    };
    let mut parts = Vec::new();
    if !e.stack_sets.is_empty() {
        parts.push(format!(
            "{} ({})",
            crate::text::count(e.stack_sets.len(), "stack set", "stack sets"),
            crate::text::shorten(&e.stack_sets, 4, 3, "stack sets")
        ));
    }
    let n = e.instance_count();
    if n > 0 {
        let by: Vec<String> = e
            .instances
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        parts.push(format!(
            "{}: {}",
            crate::text::count(n, "stack instance", "stack instances"),
            by.join(", ")
        ));
    }
    if e.accounts > 0 || e.regions > 0 {
        parts.push(format!(
            "{} × {}",
            crate::text::count(e.accounts, "account", "accounts"),
            crate::text::count(e.regions, "Region", "Regions")
        ));
    }
    if e.stacks > 0 {
        parts.push(crate::text::count(e.stacks, "stack", "stacks"));
    }
    if e.stack_events > 0 {
        parts.push(crate::text::count(
            e.stack_events as usize,
            "stack event",
            "stack events",
        ));
    }
    if !parts.is_empty() {
        s.push_str(&format!("; examined {}", parts.join("; ")));
    }
    if let Some(o) = &e.last_operation {
        s.push_str(&format!(
            "; the last operation {}{} {}{}{}",
            o.operation_id,
            o.action
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default(),
            o.status,
            o.stack_set
                .as_deref()
                .map(|ss| format!(" of {ss}"))
                .unwrap_or_default(),
            o.time
                .map(|t| format!(" at {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
                .unwrap_or_default()
        ));
    }
    s.push('.');
    s
}

/// The commands of a fix in the order to run them: the policy update first (the steps say to edit the policy
/// before anything is retried), then each step's commands.
fn commands(r: &Remediation, steps: &[String]) -> Vec<String> {
    let apply = r
        .scp_exemption
        .as_ref()
        .and_then(|e| e.statement.as_ref())
        .and_then(|s| s.apply_command.clone());
    let mut out: Vec<String> = apply.into_iter().collect();
    for s in steps {
        out.extend(steps::split(s).commands.into_iter().map(str::to_owned));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|c| seen.insert(c.clone()));
    out
}

/// The console pages of a root cause: its stack's events, its stack set's operations, the denying policy.
fn console_links(f: &Failure, r: &Remediation) -> Vec<ConsoleLink> {
    let mut out: Vec<ConsoleLink> = f
        .stack_id
        .as_deref()
        .and_then(console::stack_events)
        .into_iter()
        .collect();
    if let Some(ss) = &f.stack_set {
        out.push(console::stack_set_operations(ss, None));
    }
    if let Some(l) = f
        .trail
        .as_ref()
        .and_then(|t| console::trail_event(&t.event_id, t.region.as_deref()?))
    {
        out.push(l);
    }
    if let Some(ex) = &r.scp_exemption {
        let partition = f
            .region
            .as_deref()
            .map(console::partition_of_region)
            .unwrap_or("aws");
        let rcp = ex.policy_type.contains("resource");
        let id = ex
            .statement
            .as_ref()
            .and_then(|s| s.policy_id.clone())
            .or_else(|| {
                ex.policy_arn_in_message
                    .as_deref()
                    .and_then(|a| a.rsplit('/').next().map(str::to_owned))
            });
        if let Some(l) = id.and_then(|id| console::policy(&id, rcp, partition)) {
            out.push(l);
        }
    }
    out
}

/// One entry per (stack set, account, Region) with a failure: the instance-level failure where there is one
/// (its status and reason are the instance's), else the earliest failure there.
fn failed_instances(d: &Diagnosis, out: &[FailureOut]) -> Vec<FailedInstance> {
    use crate::vocabulary::Level;
    let mut places: BTreeMap<(Option<String>, String, String), usize> = BTreeMap::new();
    for (i, f) in d.failures.iter().enumerate() {
        let (Some(a), Some(r)) = (&f.account, &f.region) else {
            continue;
        };
        let key = (f.stack_set.clone(), a.clone(), r.clone());
        let better = |j: usize| {
            let (fi, fj) = (&d.failures[i], &d.failures[j]);
            (fi.level == Level::Instance && fj.level != Level::Instance)
                || (fi.level == fj.level && fi.timestamp < fj.timestamp && fi.timestamp.is_some())
        };
        match places.get(&key) {
            Some(&j) if !better(j) => {}
            _ => {
                places.insert(key, i);
            }
        }
    }
    places
        .into_iter()
        .map(|((stack_set, account, region), i)| {
            let f = &d.failures[i];
            FailedInstance {
                stack_set,
                account,
                region,
                status: f.status.clone(),
                reason: f.message.clone(),
                root_cause: out[i].root_cause.clone(),
                failure: f.id,
            }
        })
        .collect()
}

fn failure_out(
    d: &Diagnosis,
    i: usize,
    f: &Failure,
    is_root: bool,
    root: Option<String>,
) -> FailureOut {
    let (caused_by, link) = match &d.caused_by[i] {
        Some((j, l)) => (
            Some(*j),
            Some(LinkOut {
                from: f.id,
                to: *j,
                kind: l.kind,
                confidence: l.confidence,
                reason: l.reason.clone(),
                matched: l.matched.clone(),
            }),
        ),
        None => (None, None),
    };
    FailureOut {
        id: f.id,
        level: serde_json::to_value(f.level)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        stack_set: f.stack_set.clone(),
        account: f.account.clone(),
        region: f.region.clone(),
        stack_name: f.stack_name.clone(),
        operation_id: f.operation_id.clone(),
        logical_id: f.logical_id.clone(),
        resource_type: f.resource_type.clone(),
        status: f.status.clone(),
        timestamp: f.timestamp,
        message: f.message.clone(),
        raw_message: f.raw_message.clone(),
        rule: f.class.rule.clone(),
        matched_by: f.class.matched_by.clone(),
        layer: f.class.layer,
        category: f.class.category.as_str().to_owned(),
        role: if is_root { "root" } else { "consequence" },
        rule_role: f.class.role.as_str(),
        caused_by,
        link,
        root_cause: root,
        fields: f.class.fields.clone(),
        sources: f.sources.clone(),
        trail: f.trail.as_ref().map(TrailOut::of),
        lock_holder: d.lock_holders.get(i).cloned().flatten(),
    }
}

/// Failures alike in all but account and Region, keeping first-seen order: what every report shows as one entry
/// with a count. Status is left out: the same failure reads CREATE_FAILED in stack events and FAILED in results.
pub fn group_alike(items: Vec<&FailureOut>) -> Vec<Vec<&FailureOut>> {
    let mut groups: Vec<Vec<&FailureOut>> = Vec::new();
    let mut index: BTreeMap<(Option<&str>, &str, &str, &str), usize> = BTreeMap::new();
    for f in items {
        match index.get(&f.alike_key()) {
            Some(&g) => groups[g].push(f),
            None => {
                index.insert(f.alike_key(), groups.len());
                groups.push(vec![f]);
            }
        }
    }
    groups
}

impl RootCauseGroup {
    /// The group's ids for a heading: `R2`, or `R2…R4 (3 alike)`.
    pub fn label(&self) -> String {
        match self.root_causes.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [first, .., last] => format!("{first}…{last} ({} alike)", self.root_causes.len()),
        }
    }
}

impl Report {
    /// The root causes of a group, in order.
    pub fn members(&self, g: &RootCauseGroup) -> Vec<&RootCauseOut> {
        g.root_causes
            .iter()
            .filter_map(|id| self.root_causes.iter().find(|rc| &rc.id == id))
            .collect()
    }
}

impl RootCauseOut {
    /// The steps shown for the group this root cause stands for: its own, with the group's retry.
    pub fn steps_for<'r>(&'r self, g: &'r RootCauseGroup) -> Vec<&'r str> {
        let own = self
            .remediation
            .retry_from
            .min(self.remediation.steps.len());
        self.remediation.steps[..own]
            .iter()
            .chain(&g.retry)
            .map(String::as_str)
            .collect()
    }

    /// Whether the fix's summary says nothing step 1 does not (it is step 1's first sentence).
    pub fn summary_repeats(&self, steps: &[&str]) -> bool {
        let s = self.remediation.summary.trim_end_matches(['.', '…']);
        steps.first().is_some_and(|f| f.starts_with(s))
    }
}

/// The distinct values, sorted.
pub fn distinct<'a>(it: impl Iterator<Item = Option<&'a str>>) -> Vec<&'a str> {
    let mut v: Vec<&str> = it.flatten().collect();
    v.sort_unstable();
    v.dedup();
    v
}
