//! Classify: turns evidence records into classified failures.
//!
//! Takes an [`Evidence`] and a rule [`Catalog`]; gives a list of [`Failure`]s — every failed stack event,
//! operation result, stack instance and operation, with sightings of the same failure merged into one that keeps
//! all its sources — each with its message unwrapped ([`unwrap`]) and matched against the catalog ([`rules`]).

pub mod rules;
pub mod ruletest;
pub mod unwrap;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::evidence::{Evidence, SourceRef};
use crate::vocabulary::{status, Category, FailureId, Level, Role};
pub use rules::{Catalog, Rule};
pub use unwrap::{Envelope, Unwrapped};

/// What a rule made of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub rule: Option<String>,
    pub title: Option<String>,
    pub category: Category,
    pub role: Role,
    #[serde(skip)]
    pub priority: i32,
    /// The rule's captures plus what the envelopes carried (logical id, service, status code, ...).
    pub fields: BTreeMap<String, String>,
}

impl Classification {
    pub fn unknown(fields: BTreeMap<String, String>) -> Self {
        Classification {
            rule: None,
            title: None,
            category: Category::Other,
            role: Role::Unknown,
            priority: 0,
            fields,
        }
    }
}

/// One place a failure was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Sighting {
    /// `stack-event`, `stack`, `operation-result`, `account-gate`, `stack-instance` or `operation`.
    pub kind: &'static str,
    pub status: String,
    pub file: String,
    pub pointer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub id: FailureId,
    pub level: Level,
    pub stack_set: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub stack_id: Option<String>,
    pub stack_name: Option<String>,
    pub operation_id: Option<String>,
    pub logical_id: Option<String>,
    pub resource_type: Option<String>,
    pub physical_id: Option<String>,
    pub status: String,
    pub timestamp: Option<DateTime<Utc>>,
    /// The status reason as AWS wrote it.
    pub raw_message: String,
    /// The innermost message, after unwrapping envelopes.
    pub message: String,
    pub envelope: Envelope,
    pub class: Classification,
    pub sources: Vec<Sighting>,
}

/// Classifies messages, remembering each distinct (message, resource type, status): the same message repeats
/// across accounts and regions, and a rule catalog pass is the expensive part.
pub struct Classifier<'c> {
    pub catalog: &'c Catalog,
    cache: HashMap<(String, Option<String>, String), Classified>,
}

/// A message's envelope, its innermost text, and what the catalog made of it.
type Classified = (Envelope, String, Classification);

impl<'c> Classifier<'c> {
    pub fn new(catalog: &'c Catalog) -> Self {
        Classifier {
            catalog,
            cache: HashMap::new(),
        }
    }

    /// The envelope, the innermost message and its classification; a message seen before is neither unwrapped
    /// nor matched again.
    pub fn classify(
        &mut self,
        raw: &str,
        resource_type: Option<&str>,
        status: &str,
    ) -> (Envelope, String, Classification) {
        let key = (
            raw.to_owned(),
            resource_type.map(str::to_owned),
            status.to_owned(),
        );
        let catalog = self.catalog;
        self.cache
            .entry(key)
            .or_insert_with(|| {
                let u = unwrap::unwrap(raw);
                let c = classify_unwrapped(catalog, &u, resource_type, Some(status));
                (u.envelope.clone(), u.innermost().to_owned(), c)
            })
            .clone()
    }
}

/// Classify one unwrapped message (used by `explain` and by the [`Classifier`]).
pub fn classify_unwrapped(
    catalog: &Catalog,
    u: &Unwrapped<'_>,
    resource_type: Option<&str>,
    status: Option<&str>,
) -> Classification {
    let mut fields = envelope_fields(&u.envelope);
    let ctx = rules::MatchContext {
        resource_type: resource_type.or(u.envelope.resource_type.as_deref()),
        status,
        handler_error_code: u.envelope.handler_error_code.as_deref(),
    };
    match catalog.best_match(&u.layers, &ctx) {
        Some(m) => {
            fields.extend(m.captures);
            Classification {
                rule: Some(m.rule.id.clone()),
                title: Some(m.rule.title.clone()),
                category: m.rule.category,
                role: m.rule.role,
                priority: m.rule.priority,
                fields,
            }
        }
        None => Classification::unknown(fields),
    }
}

fn envelope_fields(e: &Envelope) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            f.insert(k.to_owned(), v.clone());
        }
    };
    put("logical_id", &e.logical_id);
    put("resource_type", &e.resource_type);
    put("handler_error_code", &e.handler_error_code);
    put("service", &e.service);
    put("status_code", &e.status_code);
    put("error_code", &e.error_code);
    put("request_id", &e.request_id);
    f
}

struct Draft {
    level: Level,
    stack_set: Option<String>,
    account: Option<String>,
    region: Option<String>,
    stack_id: Option<String>,
    stack_name: Option<String>,
    operation_id: Option<String>,
    logical_id: Option<String>,
    resource_type: Option<String>,
    physical_id: Option<String>,
    status: String,
    timestamp: Option<DateTime<Utc>>,
    raw: String,
    sighting: Sighting,
}

fn sighting(kind: &'static str, status: &str, source: &Option<SourceRef>) -> Sighting {
    let (file, pointer) = match source {
        Some(s) => (s.file.clone(), s.pointer.clone()),
        None => (String::new(), String::new()),
    };
    Sighting {
        kind,
        status: status.to_owned(),
        file,
        pointer,
    }
}

/// Every failure in the evidence, merged and classified, in a stable order; each failure's id is its position.
/// Sightings that a rule calls benign (not a failure at all) are dropped; their count is returned too.
pub fn extract_failures(evidence: &Evidence, catalog: &Catalog) -> (Vec<Failure>, usize) {
    let op_time: HashMap<(&str, &str), DateTime<Utc>> = evidence
        .operations
        .iter()
        .filter_map(|o| {
            Some((
                (o.stack_set.as_deref()?, o.operation_id.as_str()),
                o.created?,
            ))
        })
        .collect();
    let mut drafts = Vec::new();

    for e in &evidence.stack_events {
        let is_stack = e.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
            && e.logical_id.as_deref() == Some(e.stack_name.as_str());
        let reason = e.status_reason.as_deref().unwrap_or("");
        if !status::event_is_failure(&e.status, e.status_reason.as_deref(), is_stack) {
            continue;
        }
        drafts.push(Draft {
            level: if is_stack {
                Level::Stack
            } else {
                Level::Resource
            },
            stack_set: e.stack_set.clone(),
            account: e.account.clone(),
            region: e.region.clone(),
            stack_id: Some(e.stack_id.clone()),
            stack_name: Some(e.stack_name.clone()),
            // A stack event's OperationId is the member stack's operation, not the StackSet operation.
            operation_id: None,
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            physical_id: e.physical_id.clone().filter(|p| !p.is_empty()),
            status: e.status.clone(),
            timestamp: Some(e.timestamp),
            raw: reason.to_owned(),
            sighting: sighting("stack-event", &e.status, &e.source),
        });
    }

    for s in &evidence.stacks {
        let reason = s.status_reason.as_deref().unwrap_or("");
        if reason.is_empty() || !(status::failed(&s.status) || s.status.contains("ROLLBACK")) {
            continue;
        }
        drafts.push(Draft {
            level: Level::Stack,
            stack_set: s.stack_set.clone(),
            account: s.account.clone(),
            region: s.region.clone(),
            stack_id: Some(s.stack_id.clone()),
            stack_name: Some(s.stack_name.clone()),
            operation_id: None,
            logical_id: Some(s.stack_name.clone()),
            resource_type: Some("AWS::CloudFormation::Stack".into()),
            physical_id: Some(s.stack_id.clone()),
            status: s.status.clone(),
            timestamp: s.created,
            raw: reason.to_owned(),
            sighting: sighting("stack", &s.status, &s.source),
        });
    }

    for r in &evidence.operation_results {
        let ts = match (&r.stack_set, &r.operation_id) {
            (Some(ss), Some(op)) => op_time.get(&(ss.as_str(), op.as_str())).copied(),
            _ => None,
        };
        if r.status == "FAILED" || (r.status == "CANCELLED" && r.status_reason.is_some()) {
            drafts.push(Draft {
                level: Level::Instance,
                stack_set: r.stack_set.clone(),
                account: Some(r.account.clone()),
                region: Some(r.region.clone()),
                stack_id: None,
                stack_name: None,
                operation_id: r.operation_id.clone(),
                logical_id: None,
                resource_type: None,
                physical_id: None,
                status: r.status.clone(),
                timestamp: ts,
                raw: r.status_reason.clone().unwrap_or_default(),
                sighting: sighting("operation-result", &r.status, &r.source),
            });
        }
        // An account gate that SKIPPED ("Function not found") is the normal case without a gate function.
        if r.account_gate_status.as_deref() == Some("FAILED") {
            drafts.push(Draft {
                level: Level::AccountGate,
                stack_set: r.stack_set.clone(),
                account: Some(r.account.clone()),
                region: Some(r.region.clone()),
                stack_id: None,
                stack_name: None,
                operation_id: r.operation_id.clone(),
                logical_id: None,
                resource_type: None,
                physical_id: None,
                status: "ACCOUNT_GATE_FAILED".into(),
                timestamp: ts,
                raw: r.account_gate_reason.clone().unwrap_or_default(),
                sighting: sighting("account-gate", "FAILED", &r.source),
            });
        }
    }

    for i in &evidence.stack_instances {
        let detailed = i.detailed_status.as_deref().unwrap_or("");
        // A suspended account's skip counts as a failure here (its reason, if any, says why).
        let failed = status::instance_failed(i.detailed_status.as_deref(), &i.status)
            || detailed == status::SKIPPED_SUSPENDED_ACCOUNT;
        if !failed {
            continue;
        }
        let status = if detailed.is_empty() {
            i.status.clone()
        } else {
            detailed.to_owned()
        };
        drafts.push(Draft {
            level: Level::Instance,
            stack_set: i.stack_set.clone(),
            account: Some(i.account.clone()),
            region: Some(i.region.clone()),
            stack_id: i.stack_id.clone(),
            stack_name: i.stack_id.as_deref().and_then(stack_name_of),
            operation_id: i.last_operation_id.clone(),
            logical_id: None,
            resource_type: None,
            physical_id: None,
            status: status.clone(),
            timestamp: None,
            raw: i.status_reason.clone().unwrap_or_default(),
            sighting: sighting("stack-instance", &status, &i.source),
        });
    }

    for o in &evidence.operations {
        if !status::operation_failed(&o.status) {
            continue;
        }
        drafts.push(Draft {
            level: Level::Operation,
            stack_set: o.stack_set.clone(),
            account: None,
            region: None,
            stack_id: None,
            stack_name: None,
            operation_id: Some(o.operation_id.clone()),
            logical_id: None,
            resource_type: None,
            physical_id: None,
            status: o.status.clone(),
            timestamp: o.created,
            raw: o.status_reason.clone().unwrap_or_default(),
            sighting: sighting("operation", &o.status, &o.source),
        });
    }

    let mut classifier = Classifier::new(catalog);
    let mut failures = merge(drafts, &mut classifier);
    assign_operations(&mut failures, evidence);
    let before = failures.len();
    failures.retain(|f| f.class.role != Role::Benign);
    let benign = before - failures.len();
    failures.sort_by(|a, b| {
        (
            a.timestamp.is_none(),
            a.timestamp,
            &a.stack_set,
            &a.account,
            &a.region,
            a.level,
            &a.logical_id,
            &a.message,
        )
            .cmp(&(
                b.timestamp.is_none(),
                b.timestamp,
                &b.stack_set,
                &b.account,
                &b.region,
                b.level,
                &b.logical_id,
                &b.message,
            ))
    });
    for (i, f) in failures.iter_mut().enumerate() {
        f.id = FailureId(i);
        f.sources.sort();
        f.sources.dedup();
    }
    (failures, benign)
}

/// A failure seen only in stack events does not say which StackSet operation deployed its stack (an event's own
/// `OperationId` is the member stack's operation): take it from its stack instance — the operation its results
/// and `LastOperationId` name — when that is one operation, or the one whose window holds the failure's time.
fn assign_operations(failures: &mut [Failure], evidence: &Evidence) {
    type Place = (String, String, String);
    let mut ops: HashMap<Place, BTreeSet<String>> = HashMap::new();
    let mut note = |ss: &Option<String>,
                    acct: &Option<String>,
                    region: &Option<String>,
                    op: &Option<String>| {
        if let (Some(ss), Some(a), Some(r), Some(op)) = (ss, acct, region, op) {
            ops.entry((ss.clone(), a.clone(), r.clone()))
                .or_default()
                .insert(op.clone());
        }
    };
    for f in failures.iter() {
        note(&f.stack_set, &f.account, &f.region, &f.operation_id);
    }
    for i in &evidence.stack_instances {
        note(
            &i.stack_set,
            &Some(i.account.clone()),
            &Some(i.region.clone()),
            &i.last_operation_id,
        );
    }
    if ops.is_empty() {
        return;
    }
    let windows = evidence.operation_windows();
    for f in failures
        .iter_mut()
        .filter(|f| f.operation_id.is_none() && f.level != Level::Operation)
    {
        let (Some(ss), Some(a), Some(r)) = (&f.stack_set, &f.account, &f.region) else {
            continue;
        };
        let Some(candidates) = ops.get(&(ss.clone(), a.clone(), r.clone())) else {
            continue;
        };
        let within = |op: &str| match (windows.get(&(ss.as_str(), op)), f.timestamp) {
            (Some(w), Some(t)) => w.contains(t),
            _ => true,
        };
        let fitting: Vec<&String> = candidates.iter().filter(|op| within(op)).collect();
        if let [op] = fitting[..] {
            f.operation_id = Some(op.clone());
        }
    }
}

fn stack_name_of(stack_id: &str) -> Option<String> {
    let p = crate::ids::Arn::parse(stack_id)?;
    p.resource
        .strip_prefix("stack/")?
        .split('/')
        .next()
        .map(str::to_owned)
}

/// Merge sightings of one failure: same stack set, account, region and resource, and the same innermost
/// message (or one a prefix of the other: StackSet status reasons are sometimes cut short).
fn merge(drafts: Vec<Draft>, classifier: &mut Classifier<'_>) -> Vec<Failure> {
    let mut out: Vec<Failure> = Vec::new();
    // (stack set, account, region, logical id, operation of an operation-level failure) -> indexes into `out`
    let mut groups: HashMap<MergeKey, Vec<usize>> = HashMap::new();
    for d in drafts {
        let (envelope, message, class) =
            classifier.classify(&d.raw, d.resource_type.as_deref(), &d.status);
        let logical_id = d.logical_id.clone().or_else(|| envelope.logical_id.clone());
        let key = (
            d.stack_set.clone(),
            d.account.clone(),
            d.region.clone(),
            logical_id.clone(),
            // Two operations of one stack set are two failures, even when neither says why.
            d.operation_id
                .clone()
                .filter(|_| d.level == Level::Operation),
        );
        let slot = groups.entry(key).or_default();
        let same = slot
            .iter()
            .copied()
            .find(|&i| same_message(&out[i].message, &message));
        match same {
            Some(i) => absorb(&mut out[i], d, envelope, message, class),
            None => {
                slot.push(out.len());
                let resource_type = d
                    .resource_type
                    .clone()
                    .or_else(|| envelope.resource_type.clone());
                // An instance result whose composite reason names a resource is that resource's failure.
                let level = if d.level == Level::Instance && logical_id.is_some() {
                    Level::Resource
                } else {
                    d.level
                };
                out.push(Failure {
                    id: FailureId::default(),
                    level,
                    stack_set: d.stack_set,
                    account: d.account,
                    region: d.region,
                    stack_id: d.stack_id,
                    stack_name: d.stack_name,
                    operation_id: d.operation_id,
                    logical_id,
                    resource_type,
                    physical_id: d.physical_id,
                    status: d.status,
                    timestamp: d.timestamp,
                    raw_message: d.raw,
                    message,
                    envelope,
                    class,
                    sources: vec![d.sighting],
                });
            }
        }
    }
    out
}

/// Stack set, account, region, logical id, and the operation id of an operation-level failure.
type MergeKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn same_message(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    let short = short.trim_end_matches("...").trim_end();
    short.len() >= 40 && long.starts_with(short)
}

fn absorb(f: &mut Failure, d: Draft, envelope: Envelope, message: String, class: Classification) {
    // The stack event is the most specific sighting: prefer its status, time and message.
    let more_specific =
        d.sighting.kind == "stack-event" && f.sources.iter().all(|s| s.kind != "stack-event");
    if more_specific {
        f.level = d.level;
        f.status = d.status;
        f.raw_message = d.raw;
    }
    if message.len() > f.message.len() {
        f.message = message;
        f.class = class;
    }
    macro_rules! fill {
        ($($field:ident),*) => { $( if f.$field.is_none() { f.$field = d.$field; } )* };
    }
    fill!(
        stack_id,
        stack_name,
        operation_id,
        resource_type,
        physical_id
    );
    match (f.timestamp, d.timestamp) {
        (None, t) => f.timestamp = t,
        (Some(a), Some(b)) if b < a => f.timestamp = Some(b),
        _ => {}
    }
    if f.envelope.request_id.is_none() {
        f.envelope = envelope;
    }
    f.sources.push(d.sighting);
}

/// Failures by id.
impl std::ops::Index<FailureId> for [Failure] {
    type Output = Failure;
    fn index(&self, id: FailureId) -> &Failure {
        &self[id.0]
    }
}

impl std::ops::Index<FailureId> for Vec<Failure> {
    type Output = Failure;
    fn index(&self, id: FailureId) -> &Failure {
        &self[id.0]
    }
}
