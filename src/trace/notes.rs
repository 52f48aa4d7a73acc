//! Context beside the diagnosis: what Quick Setup and its Automation executions reported, and what the deployment
//! did that is not a failure — hooks and validations that only warned, accounts skipped because they are
//! suspended, drift detections, how the operation's failure tolerance shaped the outcome, policies of types the
//! SCP evaluator does not read (docs/input-formats.md#what-is-not-a-failure).

use std::collections::BTreeMap;

use crate::evidence::Evidence;
use crate::vocabulary::status;

/// Notes on what the deployment did that is not a failure.
pub(super) fn deployment_notes(evidence: &Evidence) -> Vec<String> {
    let clip = |s: &str| crate::text::clip(s, 301);
    let mut notes = Vec::new();
    for e in evidence
        .stack_events
        .iter()
        .filter(|e| crate::classify::only_warned(e))
    {
        let what = match (&e.hook, &e.validation) {
            (Some(h), _) => format!(
                "hook {} (FailureMode WARN)",
                h.hook_type.as_deref().unwrap_or("?")
            ),
            (None, Some(v)) => format!(
                "validation {} (FailureMode WARN)",
                v.name.as_deref().unwrap_or("?")
            ),
            _ => continue,
        };
        let reason = e
            .hook
            .as_ref()
            .and_then(|h| h.status_reason.as_deref())
            .or(e
                .validation
                .as_ref()
                .and_then(|v| v.status_reason.as_deref()))
            .or(e.status_reason.as_deref())
            .unwrap_or("no reason given");
        notes.push(format!(
            "{what} warned on {} in {} ({}), and the deployment went on: {}",
            e.logical_id.as_deref().unwrap_or("the stack"),
            e.account.as_deref().unwrap_or("?"),
            e.stack_name,
            clip(reason)
        ));
    }
    // Suspended accounts, per stack set.
    let mut suspended: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in &evidence.stack_instances {
        if i.detailed_status.as_deref() == Some(status::SKIPPED_SUSPENDED_ACCOUNT) {
            suspended
                .entry(i.stack_set.as_deref().unwrap_or("?"))
                .or_default()
                .push(format!("{} {}", i.account, i.region));
        }
    }
    for (ss, places) in suspended {
        notes.push(format!(
            "stack set {ss} skipped {} because the account is suspended (SKIPPED_SUSPENDED_ACCOUNT; not a failure, \
             nothing to redeploy): {}",
            if places.len() == 1 { "1 instance".to_owned() } else { format!("{} instances", places.len()) },
            crate::text::shorten(&places, 10, 8, "instances")
        ));
    }
    // Cancelled instances per (stack set, operation): what a failure tolerance left behind.
    let mut cancelled: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &evidence.operation_results {
        if let (Some(ss), Some(op), "CANCELLED") =
            (&r.stack_set, &r.operation_id, r.status.as_str())
        {
            *cancelled.entry((ss.as_str(), op.as_str())).or_default() += 1;
        }
    }
    // An operation's preferences, from whichever of its records carries them (describe-stack-set-operation does,
    // a listing may not).
    let mut preferences: BTreeMap<(&str, &str), &crate::evidence::OperationPreferences> =
        BTreeMap::new();
    for o in &evidence.operations {
        if let Some(p) = &o.preferences {
            preferences
                .entry((
                    o.stack_set.as_deref().unwrap_or("?"),
                    o.operation_id.as_str(),
                ))
                .or_insert(p);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for o in &evidence.operations {
        let ss = o.stack_set.as_deref().unwrap_or("?");
        // The listing and describe-stack-set-operation both show an operation: one note.
        if !seen.insert((ss, o.operation_id.as_str())) {
            continue;
        }
        if !status::is_deployment(o.action.as_deref()) {
            if status::operation_failed(&o.status) {
                notes.push(format!(
                    "stack set {ss}: drift detection {} {} — it reads the stacks and deploys nothing, so it is \
                     not a deployment failure",
                    o.operation_id, o.status
                ));
            }
            continue;
        }
        let n = cancelled
            .get(&(ss, o.operation_id.as_str()))
            .copied()
            .unwrap_or(0);
        let prefs = preferences.get(&(ss, o.operation_id.as_str())).copied();
        if let (true, Some(p)) = (n > 0 && status::operation_failed(&o.status), prefs) {
            notes.push(tolerance_note(ss, &o.operation_id, p, n));
        }
    }
    for p in &evidence.policies {
        if !crate::scp::is_evaluated_type(&p.policy_type) {
            notes.push(format!(
                "policy {} is a {}, not an SCP or RCP: it grants or denies no IAM action, so it was left out of \
                 the evaluation",
                p.name.as_deref().or(p.id.as_deref()).unwrap_or("(unnamed)"),
                p.policy_type
            ));
        }
    }
    notes
}

/// What the failure tolerance did to an operation that left `cancelled` instances behind.
fn tolerance_note(
    ss: &str,
    op: &str,
    p: &crate::evidence::OperationPreferences,
    cancelled: usize,
) -> String {
    let tolerance = match (p.failure_tolerance_count, p.failure_tolerance_percentage) {
        (Some(n), _) if n > 0 => format!("{n}"),
        (_, Some(pc)) if pc > 0 => format!("{pc}%"),
        _ => "0".to_owned(),
    };
    let mode = p
        .concurrency_mode
        .as_deref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    let what = if tolerance == "0" {
        "the first failed account stopped the operation in its Region".to_owned()
    } else {
        format!("the operation stopped once more than {tolerance} accounts had failed in a Region")
    };
    format!(
        "stack set {ss}, operation {op}: failure tolerance {tolerance}{mode}, so {what} and {cancelled} \
         instance(s) were cancelled; a retry with --operation-preferences FailureToleranceCount=<n> continues past \
         isolated failures"
    )
}

/// What Quick Setup and its Automation executions said, shown beside the diagnosis: they name the stack sets
/// and steps that failed, but their messages repeat the stack sets' own reasons, so they are context, not
/// failures of their own (which would count every failure twice).
pub(super) fn context_notes(evidence: &Evidence) -> Vec<String> {
    // Messages are clipped: the stack sets' own failures carry them in full.
    let clip = |s: &str| crate::text::clip(s, 301);
    let mut notes = Vec::new();
    for m in &evidence.quick_setup {
        for st in &m.statuses {
            let status = st.status.as_deref().unwrap_or("?");
            if matches!(status, "SUCCEEDED" | "COMPLETE" | "NONE") {
                continue;
            }
            notes.push(format!(
                "Quick Setup {} ({}): {} {}{}",
                m.name.as_deref().unwrap_or(&m.manager_arn),
                m.definition_types.join(", "),
                st.status_type,
                status,
                st.message
                    .as_deref()
                    .map(|msg| format!(": {}", clip(msg)))
                    .unwrap_or_default()
            ));
        }
    }
    for a in &evidence.automation_executions {
        let doc = a.document_name.as_deref().unwrap_or("Automation");
        if a.failed_steps.is_empty() {
            notes.push(format!(
                "Automation {doc} ({}) {}{}",
                a.execution_id,
                a.status,
                a.failure_message
                    .as_deref()
                    .map(|m| format!(": {}", clip(m)))
                    .unwrap_or_default()
            ));
        }
        for step in &a.failed_steps {
            notes.push(format!(
                "Automation {doc} ({}) step {} {}{}",
                a.execution_id,
                step.name,
                step.status,
                step.failure_message
                    .as_deref()
                    .map(|m| format!(": {}", clip(m)))
                    .unwrap_or_default()
            ));
        }
    }
    notes
}
