//! The lookups every link family uses, built once: failures by stack, instance, account, nested-stack parent and
//! operation, the operations' windows, and what other stack sets provide. With them linking stays linear.

use std::collections::HashMap;

use super::operation_slack;
use super::providers::Providers;
use crate::classify::Failure;
use crate::evidence::{Evidence, Window};
use crate::template::ResourceTypes;
use crate::vocabulary::{status, Category, Level, Role, Topology};
use chrono::{DateTime, Duration, Utc};

/// Failures that are causes in their own right, not cancellations, rollups or summaries.
pub(super) fn is_primary(f: &Failure) -> bool {
    f.class.role != Role::Consequence
        && !matches!(
            f.class.category,
            Category::CancelledCascade | Category::StackRollup | Category::StacksetFailureTolerance
        )
}

pub(super) type InstanceKey<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

pub(super) fn instance_key(f: &Failure) -> InstanceKey<'_> {
    (
        f.stack_set.as_deref(),
        f.account.as_deref(),
        f.region.as_deref(),
    )
}

/// A stack set's name from its ARN (`arn:aws:cloudformation:r:a:stackset/NAME:uuid`), its id (`NAME:uuid`) or
/// its name.
pub(crate) fn stack_set_of_arn(s: &str) -> &str {
    let tail = s.rsplit_once(":stackset/").map_or(s, |(_, t)| t);
    crate::evidence::stack_set_name_from_id(tail)
}

/// Lookups built once, so every link family stays linear in the number of failures.
pub(super) struct Index<'a> {
    pub(super) failures: &'a [Failure],
    pub(super) by_stack: HashMap<&'a str, Vec<usize>>,
    pub(super) by_instance: HashMap<InstanceKey<'a>, Vec<usize>>,
    pub(super) by_account: HashMap<&'a str, Vec<usize>>,
    /// A nested stack's resource in its parent, by the child stack's id (its physical id).
    pub(super) parent_of: HashMap<&'a str, usize>,
    pub(super) ops: Operations<'a>,
    pub(super) providers: Providers,
    /// Per stack set, its failures.
    pub(super) by_stack_set: HashMap<&'a str, Vec<usize>>,
    pub(super) evidence: &'a Evidence,
    pub(super) types: &'a ResourceTypes,
    /// Per stack set, the stack sets its auto-deployment declares it depends on (`AutoDeployment.DependsOn`, by
    /// name).
    pub(super) depends_on: HashMap<&'a str, Vec<String>>,
    /// Per stack set, its operations that hold it (RUNNING, STOPPING, QUEUED), oldest first.
    pub(super) holders: HashMap<&'a str, Vec<&'a crate::evidence::Operation>>,
}

/// The operations of each stack set and the failures that belong to them.
pub(super) struct Operations<'a> {
    /// Operation-level failures per stack set, in failure order (time).
    pub(super) nodes: HashMap<Option<&'a str>, Vec<usize>>,
    /// Other failures per (stack set, operation id).
    pub(super) members: HashMap<(Option<&'a str>, &'a str), Vec<usize>>,
    /// Other failures with no operation id, per stack set, in failure order.
    pub(super) unassigned: HashMap<Option<&'a str>, Vec<usize>>,
    /// When each operation ran, from the evidence, by (stack set, operation id).
    pub(super) windows: HashMap<(&'a str, &'a str), Window>,
}

impl<'a> Index<'a> {
    pub(super) fn new(
        failures: &'a [Failure],
        evidence: &'a Evidence,
        topologies: &[Topology],
        types: &'a ResourceTypes,
    ) -> Self {
        let mut ix = Index {
            failures,
            by_stack: HashMap::new(),
            by_instance: HashMap::new(),
            by_account: HashMap::new(),
            parent_of: HashMap::new(),
            ops: Operations {
                nodes: HashMap::new(),
                members: HashMap::new(),
                unassigned: HashMap::new(),
                windows: HashMap::new(),
            },
            providers: Providers::learn(evidence, topologies, types),
            by_stack_set: HashMap::new(),
            evidence,
            types,
            depends_on: HashMap::new(),
            holders: HashMap::new(),
        };
        for o in &evidence.operations {
            if let Some(ss) = o
                .stack_set
                .as_deref()
                .filter(|_| status::holds_lock(&o.status))
            {
                ix.holders.entry(ss).or_default().push(o);
            }
        }
        for v in ix.holders.values_mut() {
            v.sort_by(|a, b| (a.created, &a.operation_id).cmp(&(b.created, &b.operation_id)));
        }
        for s in &evidence.stack_sets {
            if let Some(a) = &s.auto_deployment {
                let names: Vec<String> = a
                    .depends_on
                    .iter()
                    .map(|d| stack_set_of_arn(d).to_owned())
                    .collect();
                if !names.is_empty() {
                    ix.depends_on
                        .entry(s.name.as_str())
                        .or_default()
                        .extend(names);
                }
            }
        }
        for (i, f) in failures.iter().enumerate() {
            if let Some(s) = f.stack_id.as_deref() {
                ix.by_stack.entry(s).or_default().push(i);
            }
            ix.by_instance.entry(instance_key(f)).or_default().push(i);
            if let Some(a) = f.account.as_deref() {
                ix.by_account.entry(a).or_default().push(i);
            }
            if let Some(s) = f.stack_set.as_deref() {
                ix.by_stack_set.entry(s).or_default().push(i);
            }
            if f.level == Level::Resource
                && f.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
            {
                if let Some(p) = f.physical_id.as_deref().filter(|p| p.contains(":stack/")) {
                    ix.parent_of.entry(p).or_insert(i);
                }
            }
            let ss = f.stack_set.as_deref();
            match (f.level, f.operation_id.as_deref()) {
                (Level::Operation, _) => ix.ops.nodes.entry(ss).or_default().push(i),
                (_, Some(op)) => ix.ops.members.entry((ss, op)).or_default().push(i),
                (_, None) => ix.ops.unassigned.entry(ss).or_default().push(i),
            }
        }
        ix.ops.windows = evidence.operation_windows();
        ix
    }

    /// The failures of `f`'s stack (or, without a stack id, of its stack instance).
    pub(super) fn same_stack(&self, f: &'a Failure) -> &[usize] {
        let v = match f.stack_id.as_deref().and_then(|s| self.by_stack.get(s)) {
            Some(v) => Some(v),
            None => self.by_instance.get(&instance_key(f)),
        };
        v.map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether failure `j` (with no operation id) ran during operation `op` of stack set `ss`: within its
    /// window, with slack; true when the window or the time is unknown.
    fn in_window(&self, ss: Option<&str>, op: &str, j: usize) -> bool {
        match (
            ss.and_then(|ss| self.ops.windows.get(&(ss, op))),
            self.failures[j].timestamp,
        ) {
            (Some(w), Some(t)) => w.contains(t),
            _ => true,
        }
    }

    /// The distinct failures that stopped an operation (`op`: its failure, or a failure-tolerance cancellation
    /// standing in for it): the failures of that operation — and those of the stack set with no operation id
    /// that ran in its window — primary ones when there are any, one per (rule, message).
    pub(super) fn operation_causes(&self, op: &Failure) -> Vec<usize> {
        let ss = op.stack_set.as_deref();
        let unassigned = self.ops.unassigned.get(&ss).map(Vec::as_slice);
        let mut peers: Vec<usize> = match op.operation_id.as_deref() {
            Some(id) => {
                let members = self.ops.members.get(&(ss, id)).map(Vec::as_slice);
                // Bounded by the operation's window: a later operation's stack events are not its causes.
                let mut v: Vec<usize> = members
                    .unwrap_or_default()
                    .iter()
                    .copied()
                    .filter(|&j| self.in_window(ss, id, j))
                    .collect();
                v.extend(
                    unassigned
                        .unwrap_or_default()
                        .iter()
                        .copied()
                        .filter(|&j| self.in_window(ss, id, j)),
                );
                v
            }
            // Without an operation id, every failure of the stack set may belong to it.
            None => self
                .ops
                .members
                .iter()
                .filter(|((s, _), _)| *s == ss)
                .flat_map(|(_, v)| v.iter().copied())
                .chain(unassigned.unwrap_or_default().iter().copied())
                .collect(),
        };
        peers.sort_unstable();
        peers.retain(|&j| self.failures[j].class.category != Category::StacksetFailureTolerance);
        let primaries: Vec<usize> = peers
            .iter()
            .copied()
            .filter(|&j| is_primary(&self.failures[j]))
            .collect();
        representatives(
            self.failures,
            if primaries.is_empty() {
                &peers
            } else {
                &primaries
            },
        )
    }

    /// The operation failure a failure-tolerance cancellation belongs to: the one with its operation id, or
    /// (without one) the stack set's latest operation that started before it.
    pub(super) fn operation_of(&self, f: &Failure) -> Option<usize> {
        let nodes = self.ops.nodes.get(&f.stack_set.as_deref())?;
        match f.operation_id.as_deref() {
            Some(id) => nodes
                .iter()
                .copied()
                .find(|&j| self.failures[j].operation_id.as_deref() == Some(id)),
            None => nodes.iter().copied().rfind(|&j| {
                at_or_before(self.failures[j].timestamp, f.timestamp, operation_slack())
            }),
        }
    }
}

/// Whether `a` is no later than `slack` after `b` (true when either is unknown). Checked arithmetic: a timestamp
/// at the edge of the representable range must not overflow.
pub(super) fn at_or_before(
    a: Option<DateTime<Utc>>,
    b: Option<DateTime<Utc>>,
    slack: Duration,
) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => b.checked_add_signed(slack).is_none_or(|limit| a <= limit),
        _ => true,
    }
}

/// Primary failures among `candidates` (excluding `me`); all of them when none is primary.
pub(super) fn primaries_or_all(
    failures: &[Failure],
    candidates: &[usize],
    me: usize,
) -> Vec<usize> {
    let others: Vec<usize> = candidates.iter().copied().filter(|&j| j != me).collect();
    let primaries: Vec<usize> = others
        .iter()
        .copied()
        .filter(|&j| is_primary(&failures[j]))
        .collect();
    if primaries.is_empty() {
        others
    } else {
        primaries
    }
}

/// One failure per distinct (rule, message): the earliest. Keeps fan-out bounded when an operation has
/// thousands of identical failures.
pub(super) fn representatives(failures: &[Failure], candidates: &[usize]) -> Vec<usize> {
    let mut seen: HashMap<(Option<&str>, &str), usize> = HashMap::new();
    for &j in candidates {
        let k = (
            failures[j].class.rule.as_deref(),
            failures[j].message.as_str(),
        );
        seen.entry(k).or_insert(j);
    }
    let mut v: Vec<usize> = seen.into_values().collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_comparisons_at_the_edge_of_the_range_do_not_overflow() {
        let max = DateTime::<Utc>::MAX_UTC;
        let min = DateTime::<Utc>::MIN_UTC;
        assert!(at_or_before(Some(min), Some(max), Duration::hours(6)));
        assert!(!at_or_before(Some(max), Some(min), Duration::hours(6)));
        assert!(at_or_before(Some(max), Some(max), Duration::minutes(1)));
    }
}
