//! stackset-doctor: explains why a CloudFormation StackSet deployment failed, across stack sets, accounts
//! and regions, and says what to change.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! collect ──► evidence ──► classify ──► trail ──► graph ──► trace ──► report
//! (saved CLI   (plain       (unwrap +    (the call   (who        (root causes,  (table, json,
//!  JSON, ...)   model)       rule match)  behind a    explains    chains, fixes) markdown, mermaid, dot)
//!                                         failure)    whom)
//! ```
//!
//! Which module owns which concept, and where a new rule, input shape, output format or AWS call goes:
//! `docs/architecture.md`.

pub mod classify;
pub mod collect;
pub mod error;
pub mod evidence;
pub mod graph;
pub mod ids;
pub mod json;
pub mod output;
pub mod preflight;
pub mod redact;
pub mod report;
pub mod schema;
pub mod scp;
pub mod template;
pub mod text;
pub mod trace;
pub mod trail;
pub mod vocabulary;
pub mod wildcard;

use classify::Catalog;
use evidence::Evidence;
use trace::Diagnosis;

/// Run every stage after collection: classify, enrich with CloudTrail (`trail::enrich`), graph, trace. `warnings` are the collection's (files skipped, records
/// ignored); the diagnosis carries them to the report.
pub fn diagnose(evidence: &Evidence, catalog: &Catalog, warnings: Vec<String>) -> Diagnosis {
    let (mut failures, benign) = classify::extract_failures(evidence, catalog);
    trail::enrich(&mut failures, evidence, catalog);
    let graph = graph::DeploymentGraph::build(
        &failures,
        evidence,
        &catalog.topologies,
        &catalog.resource_types,
    );
    let mut d = trace::trace(
        failures,
        &graph,
        evidence,
        catalog,
        trace::Context { benign, warnings },
    );
    preflight::after_fix::check_fixes(&mut d, evidence, &catalog.resource_types);
    d
}
