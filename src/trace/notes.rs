//! Context beside the diagnosis: what Quick Setup and its Automation executions reported.

use crate::evidence::Evidence;

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
