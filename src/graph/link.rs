//! One linker per family of links inside a stack set: cancellations, rollups and nested stacks, failure tolerance,
//! instance and operation summaries (references across stack sets: `cross.rs`). Each asks the [`Index`] for its
//! candidates.

use std::collections::{BTreeSet, HashMap};

use chrono::Duration;

use super::index::{
    at_or_before, instance_key, is_primary, primaries_or_all, representatives, stack_set_of_arn,
    Index,
};
use super::{DeploymentGraph, LockHolder};
use crate::vocabulary::{confidence, Category, Level, LinkKind, Role};

/// Per-family state shared across failures: results computed once and reused by every failure that needs them.
#[derive(Default)]
pub(super) struct Linker {
    /// Per stack: its primary failures, one per distinct (rule, message).
    stack_primaries: HashMap<String, Vec<usize>>,
    /// Per (stack set, operation id): the failure-tolerance cancellation standing in for an operation that is not
    /// in the evidence (the first one seen), which links to the operation's causes for all the others.
    tolerance_hubs: HashMap<(Option<String>, Option<String>), usize>,
}

impl Linker {
    /// Returns true when the cancellation was linked to its nested stack's parent.
    pub(super) fn cancellation(
        &mut self,
        g: &mut DeploymentGraph,
        ix: &Index<'_>,
        i: usize,
    ) -> bool {
        let failures = ix.failures;
        let f = &failures[i];
        // The stack's primary failures, one per distinct (rule, message), computed once per stack: a stack with
        // thousands of cancelled resources must not cost thousands × thousands.
        let key = f
            .stack_id
            .clone()
            .unwrap_or_else(|| format!("{:?}", instance_key(f)));
        let reps = self
            .stack_primaries
            .entry(key)
            .or_insert_with(|| {
                let stack = ix.same_stack(f);
                let primaries: Vec<usize> = stack
                    .iter()
                    .copied()
                    .filter(|&j| is_primary(&failures[j]) && failures[j].level == Level::Resource)
                    .collect();
                if primaries.is_empty() {
                    representatives(failures, stack)
                } else {
                    representatives(failures, &primaries)
                }
            })
            .clone();
        // Everything in a nested stack was cancelled: its parent's resource for it tells why.
        if !reps.iter().any(|&j| is_primary(&failures[j])) {
            if let Some(&p) = f.stack_id.as_deref().and_then(|s| ix.parent_of.get(s)) {
                g.link(
                    i,
                    p,
                    LinkKind::EmbeddedStack,
                    confidence::NESTED_STACK_CANCELLED,
                    "the nested stack was cancelled with its parent",
                );
                return true;
            }
        }
        let earlier: Vec<usize> = reps
            .iter()
            .copied()
            .filter(|&j| j != i)
            .filter(|&j| at_or_before(failures[j].timestamp, f.timestamp, Duration::minutes(1)))
            .collect();
        let targets = if earlier.is_empty() {
            reps.into_iter().filter(|&j| j != i).collect()
        } else {
            earlier
        };
        g.link_all(
            i,
            &targets,
            LinkKind::Cancellation,
            confidence::CANCELLATION,
            "cancelled after this failure in the same stack",
        );
        false
    }

    /// Returns true when the rollup is a nested stack's resource, linked into the child stack.
    pub(super) fn rollup(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) -> bool {
        let failures = ix.failures;
        let f = &failures[i];
        // A nested stack's resource: its physical id (or the message) names the child stack.
        let child = f
            .physical_id
            .as_deref()
            .filter(|p| p.contains(":stack/") && f.stack_id.as_deref() != Some(*p))
            .and_then(|p| ix.by_stack.get(p))
            .filter(|_| f.level == Level::Resource);
        if let Some(child) = child {
            for j in primaries_or_all(failures, child, i) {
                g.link(
                    i,
                    j,
                    LinkKind::EmbeddedStack,
                    confidence::NESTED_STACK_FAILED,
                    "the nested stack failed here",
                );
            }
            return true;
        }
        let stack = ix.same_stack(f);
        let named: BTreeSet<&str> = f
            .class
            .fields
            .get("resources")
            .map(|r| {
                r.split(',')
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let hits: Vec<usize> = stack
            .iter()
            .copied()
            .filter(|&j| {
                j != i
                    && failures[j]
                        .logical_id
                        .as_deref()
                        .is_some_and(|l| named.contains(l))
            })
            .collect();
        let targets = if hits.is_empty() {
            primaries_or_all(failures, stack, i)
        } else {
            hits
        };
        for j in targets {
            g.link(
                i,
                j,
                LinkKind::Rollup,
                confidence::ROLLUP,
                "named in the stack's rollback summary",
            );
        }
        false
    }

    /// A cancellation since the failure tolerance was exceeded is explained by its operation, which failures
    /// together stopped: it links once, to the operation's failure (or, when the operation is not in the
    /// evidence, to the first such cancellation of the operation), and only that one links to the causes.
    pub(super) fn failure_tolerance(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) {
        let f = &ix.failures[i];
        let hub = match ix.operation_of(f) {
            Some(op) => op,
            None => *self
                .tolerance_hubs
                .entry((f.stack_set.clone(), f.operation_id.clone()))
                .or_insert(i),
        };
        if hub != i {
            let reason = if ix.failures[hub].level == Level::Operation {
                "cancelled when this operation's failure tolerance was exceeded"
            } else {
                "cancelled when the same operation's failure tolerance was exceeded"
            };
            g.link(
                i,
                hub,
                LinkKind::FailureTolerance,
                confidence::FAILURE_TOLERANCE,
                reason,
            );
            return;
        }
        for j in ix.operation_causes(f) {
            g.link(
                i,
                j,
                LinkKind::FailureTolerance,
                confidence::FAILURE_TOLERANCE,
                "the operation stopped after this failure",
            );
        }
    }

    /// A request refused because another operation held the stack set: the holder is the stack set's RUNNING,
    /// STOPPING or QUEUED operation (not the refused one) that started last before the refusal. Its failures, when
    /// the evidence has any, explain this one. Returns true when it was linked.
    pub(super) fn lock_holder(
        &mut self,
        g: &mut DeploymentGraph,
        ix: &Index<'_>,
        i: usize,
    ) -> bool {
        let failures = ix.failures;
        let f = &failures[i];
        let Some(ss) = f.stack_set.as_deref().or_else(|| {
            f.class
                .fields
                .get("stack_set_arn")
                .map(|a| stack_set_of_arn(a))
        }) else {
            return false;
        };
        let Some(ops) = ix.holders.get(ss) else {
            return false;
        };
        let others = ops
            .iter()
            .filter(|o| Some(o.operation_id.as_str()) != f.operation_id.as_deref());
        let before = others
            .clone()
            .rfind(|o| at_or_before(o.created, f.timestamp, Duration::zero()));
        let Some(holder) = before.or_else(|| others.clone().next()) else {
            return false;
        };
        let members = ix
            .ops
            .members
            .get(&(Some(ss), holder.operation_id.as_str()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let targets = representatives(failures, &primaries_or_all(failures, members, i));
        let id = holder.operation_id.as_str();
        let starter = ix
            .evidence
            .trail_events
            .iter()
            .find(|e| e.operation_id.as_deref() == Some(id));
        let mut progress = std::collections::BTreeMap::new();
        for r in ix.evidence.operation_results.iter().filter(|r| {
            r.operation_id.as_deref() == Some(id) && r.stack_set.as_deref().is_none_or(|s| s == ss)
        }) {
            *progress.entry(r.status.clone()).or_insert(0) += 1;
        }
        g.set_lock_holder(
            i,
            LockHolder {
                stack_set: ss.to_owned(),
                operation_id: holder.operation_id.clone(),
                action: holder.action.clone(),
                status: holder.status.clone(),
                started: holder.created,
                failures: members.len(),
                started_by: starter.and_then(|e| e.principal_arn.clone()),
                started_with: starter.map(|e| e.event_name.clone()),
                progress,
            },
        );
        let reason = format!(
            "operation {} ({}, {}) held the stack set",
            holder.operation_id,
            holder.action.as_deref().unwrap_or("action unknown"),
            holder.status
        );
        g.link_all(
            i,
            &targets,
            LinkKind::LockHolder,
            confidence::LOCK_HOLDER,
            &reason,
        )
    }

    /// Summaries without a resource: an instance or operation result, or the operation itself.
    pub(super) fn summary(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) {
        let failures = ix.failures;
        let f = &failures[i];
        if f.logical_id.is_some()
            || f.class.role == Role::Root
            || f.class.category == Category::StacksetFailureTolerance
        {
            return;
        }
        match f.level {
            Level::Instance => {
                let inner: Vec<usize> = ix
                    .by_instance
                    .get(&instance_key(f))
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .copied()
                    .filter(|&j| j != i && failures[j].level <= Level::Stack)
                    .collect();
                for j in primaries_or_all(failures, &inner, i) {
                    g.link(
                        i,
                        j,
                        LinkKind::InstanceSummary,
                        confidence::INSTANCE_SUMMARY,
                        "the stack instance's failure",
                    );
                }
            }
            Level::Operation => {
                for j in ix.operation_causes(f) {
                    g.link(
                        i,
                        j,
                        LinkKind::OperationSummary,
                        confidence::OPERATION_SUMMARY,
                        "a failed instance of this operation",
                    );
                }
            }
            _ => {}
        }
    }
}
