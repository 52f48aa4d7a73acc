//! Merging the sightings of one failure into one failure that keeps every source, and giving stack-event failures
//! the StackSet operation that deployed their stack.

use std::collections::{BTreeSet, HashMap};

use super::drafts::Draft;
use super::{Classification, Classifier, Envelope, Failure};
use crate::evidence::Evidence;
use crate::vocabulary::{FailureId, Level};

/// A failure seen only in stack events does not say which StackSet operation deployed its stack (an event's own
/// `OperationId` is the member stack's operation): take it from its stack instance — the operation its results
/// and `LastOperationId` name — when that is one operation, or the one whose window holds the failure's time.
pub(super) fn assign_operations(failures: &mut [Failure], evidence: &Evidence) {
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

/// Merge sightings of one failure: same stack set, account, region and resource, and the same innermost
/// message (or one a prefix of the other: StackSet status reasons are sometimes cut short).
pub(super) fn merge(drafts: Vec<Draft>, classifier: &mut Classifier<'_>) -> Vec<Failure> {
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
                    properties: d.properties,
                    status: d.status,
                    timestamp: d.timestamp,
                    raw_message: d.raw,
                    message,
                    envelope,
                    class,
                    sources: vec![d.sighting],
                    trail: None,
                    trail_search: None,
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
        physical_id,
        properties
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
