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
pub mod report;
pub mod scp;
pub mod synth;
pub mod trace;
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
    if benign > 0 {
        d.notes.push(format!(
            "{benign} status reason(s) that a rule marks as not a failure were left out"
        ));
    }
    d
}
