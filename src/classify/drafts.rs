//! Every sighting of a failure in the evidence, as a draft: a failed stack event, a stack that rolled back, a failed
//! or cancelled operation result (and its account gate), a failed stack instance, a failed operation.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Sighting;
use crate::evidence::{Evidence, SourceRef, StackEvent};
use crate::vocabulary::{status, Level};

pub(super) struct Draft {
    pub(super) level: Level,
    pub(super) stack_set: Option<String>,
    pub(super) account: Option<String>,
    pub(super) region: Option<String>,
    pub(super) stack_id: Option<String>,
    pub(super) stack_name: Option<String>,
    pub(super) operation_id: Option<String>,
    pub(super) logical_id: Option<String>,
    pub(super) resource_type: Option<String>,
    pub(super) physical_id: Option<String>,
    /// The resource's resolved properties (JSON text), when the stack event carried them.
    pub(super) properties: Option<String>,
    pub(super) status: String,
    pub(super) timestamp: Option<DateTime<Utc>>,
    pub(super) raw: String,
    pub(super) sighting: Sighting,
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

/// The drafts of every failure sighting in the evidence, in a stable order.
pub(super) fn drafts(evidence: &Evidence) -> Vec<Draft> {
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
    stack_events(evidence, &mut drafts);
    stacks(evidence, &mut drafts);
    operation_results(evidence, &op_time, &mut drafts);
    stack_instances(evidence, &mut drafts);
    operations(evidence, &mut drafts);
    drafts
}

/// Whether a hook's or a validation's failure only warned (`FailureMode` `WARN`): the deployment went on, so it
/// is a note, not a failure (docs/input-formats.md#hooks).
pub fn only_warned(e: &StackEvent) -> bool {
    let warn = |m: Option<&str>| m.is_some_and(|m| m.eq_ignore_ascii_case("WARN"));
    e.hook
        .as_ref()
        .is_some_and(|h| status::hook_failed(&h.status) && warn(h.failure_mode.as_deref()))
        || e.validation
            .as_ref()
            .is_some_and(|v| warn(v.failure_mode.as_deref()))
}

/// A failed hook in `FAIL` mode: its reason, by the stack and resource it evaluated.
fn hook_reasons(evidence: &Evidence) -> HashMap<(&str, &str), &StackEvent> {
    evidence
        .stack_events
        .iter()
        .filter(|e| !only_warned(e))
        .filter(|e| {
            e.hook.as_ref().is_some_and(|h| {
                status::hook_failed(&h.status)
                    && h.status_reason.as_deref().is_some_and(|r| !r.is_empty())
            })
        })
        .filter_map(|e| Some(((e.stack_id.as_str(), e.logical_id.as_deref()?), e)))
        .collect()
}

fn stack_events(evidence: &Evidence, drafts: &mut Vec<Draft>) {
    let hooks = hook_reasons(evidence);
    // Resources whose own failure event carries the hook's reason: their hook events add nothing more.
    let mut explained: std::collections::HashSet<(&str, &str)> = Default::default();
    // Only a failure that says a hook failed takes the hook's reason: the same resource may fail for another
    // reason in a later operation of the stack.
    let names_hook = |e: &StackEvent| {
        e.status_reason
            .as_deref()
            .is_some_and(|r| r.to_ascii_lowercase().contains("hook"))
    };
    for e in &evidence.stack_events {
        if e.hook.is_none() && status::failed(&e.status) && names_hook(e) {
            if let Some(l) = e.logical_id.as_deref() {
                if hooks.contains_key(&(e.stack_id.as_str(), l)) {
                    explained.insert((e.stack_id.as_str(), l));
                }
            }
        }
    }
    for e in &evidence.stack_events {
        let is_stack = e.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
            && e.logical_id.as_deref() == Some(e.stack_name.as_str());
        let hook_status = e.hook.as_ref().map(|h| h.status.as_str());
        if !status::event_is_failure(&e.status, e.status_reason.as_deref(), is_stack, hook_status)
            || only_warned(e)
        {
            continue;
        }
        let key = e.logical_id.as_deref().map(|l| (e.stack_id.as_str(), l));
        let hook_event = hook_status.is_some_and(status::hook_failed);
        let (status, raw, kind) = if hook_event {
            if key.is_some_and(|k| explained.contains(&k)) {
                continue;
            }
            // The hook's reason is the failure's message.
            let h = e
                .hook
                .as_ref()
                .map(|h| (h.status.clone(), h.status_reason.clone()));
            let (st, reason) = h.unwrap_or_default();
            (st, reason.unwrap_or_default(), "hook")
        } else {
            // `The following hook(s) failed: [X]` says only which hook: the hook's own reason says why.
            let reason = key
                .filter(|k| names_hook(e) && explained.contains(k))
                .and_then(|k| hooks.get(&k))
                .and_then(|h| h.hook.as_ref()?.status_reason.clone())
                .or_else(|| e.status_reason.clone())
                .unwrap_or_default();
            (e.status.clone(), reason, "stack-event")
        };
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
            properties: e.properties.clone().filter(|p| !p.is_empty()),
            sighting: sighting(kind, &status, &e.source),
            status,
            timestamp: Some(e.timestamp),
            raw,
        });
    }
}

fn stacks(evidence: &Evidence, drafts: &mut Vec<Draft>) {
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
            properties: None,
            status: s.status.clone(),
            timestamp: s.created,
            raw: reason.to_owned(),
            sighting: sighting("stack", &s.status, &s.source),
        });
    }
}

fn operation_results(
    evidence: &Evidence,
    op_time: &HashMap<(&str, &str), DateTime<Utc>>,
    drafts: &mut Vec<Draft>,
) {
    // Results of a drift detection are not deployment failures.
    let drift: std::collections::HashSet<(&str, &str)> = evidence
        .operations
        .iter()
        .filter(|o| !status::is_deployment(o.action.as_deref()))
        .filter_map(|o| Some((o.stack_set.as_deref()?, o.operation_id.as_str())))
        .collect();
    for r in &evidence.operation_results {
        if let (Some(ss), Some(op)) = (&r.stack_set, &r.operation_id) {
            if drift.contains(&(ss.as_str(), op.as_str())) {
                continue;
            }
        }
        let ts = match (&r.stack_set, &r.operation_id) {
            (Some(ss), Some(op)) => op_time.get(&(ss.as_str(), op.as_str())).copied(),
            _ => None,
        };
        // A result and its account gate: the same place, two sightings.
        let at = |level, status: &str, raw: &Option<String>, kind, sighted: &str| Draft {
            level,
            stack_set: r.stack_set.clone(),
            // A service-managed result may name only its OU.
            account: Some(r.account.clone()).filter(|a| !a.is_empty()),
            region: Some(r.region.clone()).filter(|r| !r.is_empty()),
            stack_id: None,
            stack_name: None,
            operation_id: r.operation_id.clone(),
            logical_id: None,
            resource_type: None,
            physical_id: None,
            properties: None,
            status: status.to_owned(),
            timestamp: ts,
            raw: raw.clone().unwrap_or_default(),
            sighting: sighting(kind, sighted, &r.source),
        };
        if r.status == "FAILED" || (r.status == "CANCELLED" && r.status_reason.is_some()) {
            drafts.push(at(
                Level::Instance,
                &r.status,
                &r.status_reason,
                "operation-result",
                &r.status,
            ));
        }
        // An account gate that SKIPPED ("Function not found") is the normal case without a gate function.
        if r.account_gate_status.as_deref() == Some("FAILED") {
            drafts.push(at(
                Level::AccountGate,
                "ACCOUNT_GATE_FAILED",
                &r.account_gate_reason,
                "account-gate",
                "FAILED",
            ));
        }
    }
}

fn stack_instances(evidence: &Evidence, drafts: &mut Vec<Draft>) {
    for i in &evidence.stack_instances {
        let detailed = i.detailed_status.as_deref().unwrap_or("");
        // A suspended account's instance is skipped, not failed: the report names it as a skip.
        if !status::instance_failed(i.detailed_status.as_deref(), &i.status) {
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
            stack_name: i
                .stack_id
                .as_deref()
                .and_then(crate::ids::stack_name)
                .map(str::to_owned),
            operation_id: i.last_operation_id.clone(),
            logical_id: None,
            resource_type: None,
            physical_id: None,
            properties: None,
            status: status.clone(),
            timestamp: None,
            raw: i.status_reason.clone().unwrap_or_default(),
            sighting: sighting("stack-instance", &status, &i.source),
        });
    }
}

fn operations(evidence: &Evidence, drafts: &mut Vec<Draft>) {
    for o in &evidence.operations {
        if !status::operation_failed(&o.status) || !status::is_deployment(o.action.as_deref()) {
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
            properties: None,
            status: o.status.clone(),
            timestamp: o.created,
            raw: o.status_reason.clone().unwrap_or_default(),
            sighting: sighting("operation", &o.status, &o.source),
        });
    }
}
