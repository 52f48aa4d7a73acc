//! stackset-doctor: explains why a CloudFormation StackSet deployment failed, across stack sets, accounts
//! and regions, and says what to change.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! collect ──► evidence ──► classify ──► graph ──► trace ──► report
//! (saved CLI   (plain       (unwrap +    (who        (root causes,  (table, json,
//!  JSON, ...)   model)       rule match)  explains    chains, fixes) markdown, mermaid, dot)
//!                                         whom)
//! ```

pub mod classify;
pub mod collect;
pub mod error;
pub mod evidence;
pub mod graph;
pub mod output;
pub mod redact;
pub mod report;
pub mod scp;
pub mod synth;
pub mod trace;
pub mod vocabulary;
pub mod wildcard;

use classify::Catalog;
use evidence::Evidence;
use trace::Diagnosis;

/// Run every stage after collection: classify, graph, trace.
pub fn diagnose(evidence: &Evidence, catalog: &Catalog) -> Diagnosis {
    let (failures, benign) = classify::extract_failures(evidence, catalog);
    let graph = graph::DeploymentGraph::build(&failures, evidence, &catalog.topologies);
    let mut d = trace::trace(failures, &graph, evidence, catalog);
    d.coverage = evidence
        .coverage
        .iter()
        .map(|c| format!("{}: {}", c.scope, c.reason))
        .collect();
    // A root cause whose own rule calls it a consequence means the evidence lacks its cause: say what to collect
    // (once per kind of gap, with the failures it concerns).
    let mut gaps: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for r in &d.root_causes {
        let f = &d.failures[r.failure];
        if f.class.role != vocabulary::Role::Consequence {
            continue;
        }
        let what = match f.class.category {
            vocabulary::Category::InvalidPrincipal => format!(
                "the stack set that should create {} (its stack instances and stack events in that account)",
                f.class.fields.get("principal").map(String::as_str).unwrap_or("the named principal")
            ),
            vocabulary::Category::CancelledCascade => "the first failure of the same stack (its describe-stack-events)".into(),
            vocabulary::Category::StackRollup => "the events of the resources or nested stack it names".into(),
            vocabulary::Category::StacksetFailureTolerance => {
                "the operation's failed results (list-stack-set-operation-results)".into()
            }
            _ => "the failure it depends on".into(),
        };
        gaps.entry((f.class.category.to_string(), what))
            .or_default()
            .push(f.id.to_string());
    }
    for ((category, what), ids) in gaps {
        let shown = if ids.len() <= 5 {
            ids.join(", ")
        } else {
            format!("{}, … ({} failures)", ids[..4].join(", "), ids.len())
        };
        d.coverage.push(format!("{shown} ({category}): a consequence whose cause is not in the evidence; collect {what}"));
    }
    d.notes.extend(context_notes(evidence));
    if benign > 0 {
        d.notes.push(format!(
            "{benign} status reason(s) that a rule marks as not a failure were left out"
        ));
    }
    d
}

/// What Quick Setup and its Automation executions said, shown beside the diagnosis: they name the stack sets
/// and steps that failed, but their messages repeat the stack sets' own reasons, so they are context, not
/// failures of their own (which would count every failure twice).
fn context_notes(evidence: &Evidence) -> Vec<String> {
    fn clip(s: &str) -> String {
        const MAX: usize = 300;
        match s.char_indices().nth(MAX) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.to_owned(),
        }
    }
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
