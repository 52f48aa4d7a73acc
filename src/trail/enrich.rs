//! The enrichment stage (after classification, before the graph): each failure gets the CloudTrail event of the
//! call that failed, when the evidence has one, and what the search of its window found; an event whose
//! `errorMessage` the catalog ranks above the status reason decides the failure's classification
//! (docs/cloudtrail.md#enrichment).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::matching::{self, EventIndex, Names, GLOBAL_REGION};
use super::{window, SearchState, TrailEvidence, TrailSearch};
use crate::classify::Catalog;
use crate::classify::{Classification, Classifier, Failure};
use crate::evidence::{Evidence, TrailLookup};
use crate::vocabulary::{Category, Layer, Role};

/// Attach CloudTrail evidence to `failures` and let a more specific CloudTrail message decide. Bounded: events
/// are indexed by account and Region once, and each failure looks only at its own window.
pub fn enrich(failures: &mut [Failure], evidence: &Evidence, catalog: &Catalog) {
    let index = EventIndex::new(&evidence.trail_events);
    let mut lookups: HashMap<(&str, &str), Vec<&TrailLookup>> = HashMap::new();
    // A search for who started an operation looked for CloudFormation's calls only: it says nothing of a failure.
    for l in evidence
        .trail_lookups
        .iter()
        .filter(|l| l.started_operations.is_empty())
    {
        lookups
            .entry((l.account.as_str(), l.region.as_str()))
            .or_default()
            .push(l);
    }
    let execution_roles: HashMap<&str, &str> = evidence
        .stack_sets
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.execution_role_name.as_deref()?)))
        .collect();
    let notes: Vec<String> = evidence
        .coverage
        .iter()
        .map(|c| format!("{}: {}", c.scope, c.reason))
        .filter(|n| n.to_ascii_lowercase().contains("lookupevents"))
        .collect();
    let windows = stack_windows(failures);
    let mut classifier = Classifier::new(catalog);
    for f in failures.iter_mut().filter(|f| eligible(f)) {
        let (Some(account), Some(region), Some(at)) =
            (f.account.clone(), f.region.clone(), f.timestamp)
        else {
            continue;
        };
        let Some(&(first, last)) = windows.get(&stack_key(f)) else {
            continue;
        };
        let (start, end) = window(first, last);
        let role = f
            .stack_set
            .as_deref()
            .and_then(|s| execution_roles.get(s).copied());
        let mut candidates: Vec<_> = index
            .within(&account, &region, start, end, false)
            .into_iter()
            .filter(|e| matching::on_behalf_of_cloudformation(e, role))
            .collect();
        let mut regions = vec![region.clone()];
        if region != GLOBAL_REGION {
            regions.push(GLOBAL_REGION.to_owned());
            candidates.extend(
                index
                    .within(&account, GLOBAL_REGION, start, end, true)
                    .into_iter()
                    .filter(|e| matching::on_behalf_of_cloudformation(e, role)),
            );
        }
        // Most failures have no candidate: their properties are not parsed.
        let found = if candidates.is_empty() {
            None
        } else {
            matching::best(&Names::of(f), at, &candidates)
        };
        let (state, reason) = searched(
            &account,
            &region,
            (start, end),
            lookups.get(&(account.as_str(), region.as_str())),
            index.has(&account, &region),
            &notes,
        );
        f.trail_search = Some(TrailSearch {
            account: account.clone(),
            regions,
            start,
            end,
            state,
            events: candidates.len(),
            matched: found.is_some(),
            reason,
        });
        let Some((e, fit)) = found else {
            continue;
        };
        let mut evidence = TrailEvidence {
            event_id: e.event_id.clone(),
            event_name: e.event_name.clone(),
            event_source: e.event_source.clone(),
            error_code: e.error_code.clone(),
            error_message: e.error_message.clone(),
            principal_arn: e.principal_arn.clone(),
            event_time: e.event_time,
            account: e.account.clone(),
            region: e.region.clone(),
            matched_on: fit.on,
            decided: false,
            status_reason_matched_by: None,
        };
        if let Some(msg) = e.error_message.as_deref().filter(|m| !m.trim().is_empty()) {
            let (_, _, c) = classifier.classify(msg, f.resource_type.as_deref(), &f.status);
            if more_specific(&c, &f.class) {
                evidence.decided = true;
                evidence.status_reason_matched_by = f.class.matched_by.clone();
                f.class = decided_by_event(c, &f.class, e);
            }
        }
        f.trail = Some(evidence);
    }
}

/// Failures that a call can explain: causes in their own right, not cancellations, rollups or consequences.
fn eligible(f: &Failure) -> bool {
    f.class.role != Role::Consequence
        && !matches!(
            f.class.category,
            Category::CancelledCascade | Category::StackRollup | Category::StacksetFailureTolerance
        )
}

/// A failure's stack, or without one its stack instance.
fn stack_key(f: &Failure) -> String {
    match &f.stack_id {
        Some(s) => s.clone(),
        None => format!(
            "{}\u{0}{}\u{0}{}",
            f.stack_set.as_deref().unwrap_or(""),
            f.account.as_deref().unwrap_or(""),
            f.region.as_deref().unwrap_or("")
        ),
    }
}

/// The first and last failure time of each stack: its window's ends.
fn stack_windows(failures: &[Failure]) -> HashMap<String, (DateTime<Utc>, DateTime<Utc>)> {
    let mut out: HashMap<String, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    for f in failures {
        let Some(t) = f.timestamp else { continue };
        let e = out.entry(stack_key(f)).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
    }
    out
}

/// Whether the event's classification says more than the status reason's: a specific rule, ranked above the
/// status reason's decision by the catalog's own precedence (tier, then priority; docs/classification.md#precedence).
fn more_specific(event: &Classification, reason: &Classification) -> bool {
    event.layer == Some(Layer::Rule)
        && event.role != Role::Benign
        && (event.confidence > reason.confidence
            || (event.confidence == reason.confidence && event.priority > reason.priority))
}

/// The event's classification, with the status reason's envelope fields kept, and the principal and action of the
/// call where its message names none (the SCP evaluator needs them).
fn decided_by_event(
    c: Classification,
    reason: &Classification,
    e: &crate::evidence::TrailEvent,
) -> Classification {
    let mut fields = reason.fields.clone();
    fields.extend(c.fields);
    if let Some(p) = &e.principal_arn {
        fields
            .entry("principal".into())
            .or_insert_with(|| p.clone());
    }
    fields
        .entry("action".into())
        .or_insert_with(|| matching::action_of(e));
    Classification {
        matched_by: c.matched_by.map(|m| format!("cloudtrail:{m}")),
        fields,
        ..c
    }
}

/// Whether the account and Region were searched over the window, and if not why.
fn searched(
    account: &str,
    region: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    lookups: Option<&Vec<&TrailLookup>>,
    has_events: bool,
    notes: &[String],
) -> (SearchState, Option<String>) {
    let covering: Vec<&&TrailLookup> = lookups
        .map(|v| {
            v.iter()
                .filter(|l| l.start <= end && l.end >= start)
                .collect()
        })
        .unwrap_or_default();
    if !covering.is_empty() {
        return if covering.iter().all(|l| l.complete) {
            (SearchState::Looked, None)
        } else {
            (
                SearchState::Incomplete,
                Some("the search stopped before its end: events may be missing".into()),
            )
        };
    }
    if has_events {
        return (
            SearchState::Incomplete,
            Some("events of this account and Region, but no search of the window".to_owned()),
        );
    }
    let note = notes
        .iter()
        .find(|n| n.contains(account) && n.contains(region))
        .or_else(|| notes.iter().find(|n| n.contains(account)));
    let reason = match note {
        Some(n) => n.clone(),
        None => "no search of this account and Region in the evidence".to_owned(),
    };
    (SearchState::CouldNotLook, Some(reason))
}
