//! What the evidence lacks: a root cause whose own rule calls it a consequence means its cause was not
//! collected. Say what to collect, once per kind of gap, with the failures it concerns.

use std::collections::BTreeMap;

use super::RootCause;
use crate::classify::Failure;
use crate::graph::LockHolder;
use crate::text::shorten;
use crate::vocabulary::{Category, Role};

/// One coverage line per kind of missing cause.
/// A refusal whose lock holder is in the evidence is explained by it, failed or not: no gap.
pub(super) fn missing_causes(
    failures: &[Failure],
    roots: &[RootCause],
    holders: &[Option<LockHolder>],
) -> Vec<String> {
    let mut gaps: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in roots {
        let f = &failures[r.failure];
        // A race explains it too: its cause is a timing, not a failure (docs/races.md).
        if f.class.role != Role::Consequence
            || r.race.is_some()
            || holders.get(r.failure.index()).is_some_and(Option::is_some)
        {
            continue;
        }
        gaps.entry((f.class.category.to_string(), what_to_collect(f)))
            .or_default()
            .push(f.id.to_string());
    }
    gaps.into_iter()
        .map(|((category, what), ids)| {
            format!(
                "{} ({category}): a consequence whose cause is not in the evidence; collect {what}",
                shorten(&ids, 5, 4, "failures")
            )
        })
        .collect()
}

/// The evidence that would hold the cause of a consequence of this kind.
fn what_to_collect(f: &Failure) -> String {
    match f.class.category {
        Category::InvalidPrincipal => format!(
            "the stack set that should create {} (its stack instances and stack events in that account)",
            f.class
                .fields
                .get("principal")
                .map(String::as_str)
                .unwrap_or("the named principal")
        ),
        Category::CancelledCascade => {
            "the first failure of the same stack (its describe-stack-events)".into()
        }
        Category::StackRollup => "the events of the resources or nested stack it names".into(),
        Category::StacksetFailureTolerance => {
            "the operation's failed results (list-stack-set-operation-results)".into()
        }
        Category::OperationInProgress => format!(
            "the stack set's operations (aws cloudformation list-stack-set-operations --stack-set-name {}): \
             the RUNNING, STOPPING or QUEUED one holds it",
            f.stack_set.as_deref().unwrap_or("<name>")
        ),
        _ => "the failure it depends on".into(),
    }
}
