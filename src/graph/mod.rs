//! Graph: who failed because of whom.
//!
//! Takes the classified failures (and the evidence, for templates and operations); gives a
//! [`DeploymentGraph`] whose edges point from a consequence to the failure that explains it: cancellations
//! inside a stack, stack rollups and embedded stacks, instance and operation summaries, failure-tolerance
//! cancellations, and references across stack sets (a principal that another stack set should have created —
//! learned from templates, from known topologies, or inferred from timing).
//!
//! The graph answers the domain's questions — [`root_causes`](DeploymentGraph::root_causes),
//! [`cause_of`](DeploymentGraph::cause_of), [`chain`](DeploymentGraph::chain),
//! [`explains`](DeploymentGraph::explains) — and petgraph stays inside. "Explains" has one meaning: every
//! failure has at most one best cause, so the failures form a forest whose roots are the root causes; a root
//! explains the failures of its tree. That keeps every answer (and every report) linear in the failures, even
//! when thousands of consequences share hundreds of causes.
//!
//! Linking is linear too: each family of links looks its candidates up in indexes built once, a failure that
//! many consequences share (an operation whose failure tolerance was exceeded) is linked to once by each of
//! them and links to its own causes once, and no consequence links to more than [`MAX_FANOUT`] causes.

pub mod templates;

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use regex::Regex;
use serde::Serialize;

use crate::classify::Failure;
use crate::evidence::{Evidence, Window};
use crate::vocabulary::{confidence, Category, FailureId, Level, LinkKind, Role, Topology};
use crate::wildcard;

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub kind: LinkKind,
    pub confidence: f32,
    pub reason: String,
}

/// The most causes one consequence links to (the earliest: the failures that triggered it). Keeps links linear
/// when a stack or an account has many distinct failures.
pub const MAX_FANOUT: usize = 8;

/// Slack around an operation's window for clock skew between the StackSets service and member stacks.
fn operation_slack() -> Duration {
    Duration::minutes(Window::SLACK_MINUTES)
}

pub struct DeploymentGraph {
    graph: DiGraph<usize, Link>,
    nodes: Vec<NodeIndex>,
    /// Edges already made: petgraph's `find_edge` is linear in a node's degree.
    edges: HashSet<(usize, usize)>,
    /// Root causes, in petgraph's reverse topological order of their components.
    roots: Vec<FailureId>,
    /// Per failure: its best cause and the link to it (None for root causes).
    cause: Vec<Option<(FailureId, Link)>>,
    /// Per failure: the root cause its chain of best causes ends at.
    root_of: Vec<Option<FailureId>>,
    /// Per root cause: the failures of its tree, ascending.
    trees: HashMap<FailureId, Vec<FailureId>>,
}

/// Failures that are causes in their own right, not cancellations, rollups or summaries.
fn is_primary(f: &Failure) -> bool {
    f.class.role != Role::Consequence
        && !matches!(
            f.class.category,
            Category::CancelledCascade | Category::StackRollup | Category::StacksetFailureTolerance
        )
}

type InstanceKey<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

fn instance_key(f: &Failure) -> InstanceKey<'_> {
    (
        f.stack_set.as_deref(),
        f.account.as_deref(),
        f.region.as_deref(),
    )
}

/// Lookups built once, so every link family stays linear in the number of failures.
struct Index<'a> {
    failures: &'a [Failure],
    by_stack: HashMap<&'a str, Vec<usize>>,
    by_instance: HashMap<InstanceKey<'a>, Vec<usize>>,
    by_account: HashMap<&'a str, Vec<usize>>,
    /// A nested stack's resource in its parent, by the child stack's id (its physical id).
    parent_of: HashMap<&'a str, usize>,
    ops: Operations<'a>,
    providers: Providers,
    role_arn: Option<Regex>,
}

/// The operations of each stack set and the failures that belong to them.
struct Operations<'a> {
    /// Operation-level failures per stack set, in failure order (time).
    nodes: HashMap<Option<&'a str>, Vec<usize>>,
    /// Other failures per (stack set, operation id).
    members: HashMap<(Option<&'a str>, &'a str), Vec<usize>>,
    /// Other failures with no operation id, per stack set, in failure order.
    unassigned: HashMap<Option<&'a str>, Vec<usize>>,
    /// When each operation ran, from the evidence, by (stack set, operation id).
    windows: HashMap<(&'a str, &'a str), Window>,
}

impl<'a> Index<'a> {
    fn new(failures: &'a [Failure], evidence: &'a Evidence, topologies: &[Topology]) -> Self {
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
            providers: Providers::learn(evidence, topologies),
            role_arn: role_arn_regex(),
        };
        for (i, f) in failures.iter().enumerate() {
            if let Some(s) = f.stack_id.as_deref() {
                ix.by_stack.entry(s).or_default().push(i);
            }
            ix.by_instance.entry(instance_key(f)).or_default().push(i);
            if let Some(a) = f.account.as_deref() {
                ix.by_account.entry(a).or_default().push(i);
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
    fn same_stack(&self, f: &'a Failure) -> &[usize] {
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
    fn operation_causes(&self, op: &Failure) -> Vec<usize> {
        let ss = op.stack_set.as_deref();
        let unassigned = self.ops.unassigned.get(&ss).map(Vec::as_slice);
        let mut peers: Vec<usize> = match op.operation_id.as_deref() {
            Some(id) => {
                let members = self.ops.members.get(&(ss, id)).map(Vec::as_slice);
                let mut v: Vec<usize> = members.unwrap_or_default().to_vec();
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
    fn operation_of(&self, f: &Failure) -> Option<usize> {
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

impl DeploymentGraph {
    pub fn build(
        failures: &[Failure],
        evidence: &Evidence,
        topologies: &[Topology],
    ) -> DeploymentGraph {
        let mut graph = DiGraph::with_capacity(failures.len(), failures.len());
        let nodes: Vec<NodeIndex> = (0..failures.len()).map(|i| graph.add_node(i)).collect();
        let mut g = DeploymentGraph {
            graph,
            nodes,
            edges: HashSet::new(),
            roots: Vec::new(),
            cause: Vec::new(),
            root_of: Vec::new(),
            trees: HashMap::new(),
        };
        let ix = Index::new(failures, evidence, topologies);
        let mut linker = Linker::default();
        // Per failure, the families in a fixed order: when two families link the same pair, the first names it.
        for (i, f) in failures.iter().enumerate() {
            // A link into a nested stack's parent says all there is to say about the failure.
            let settled = match f.class.category {
                Category::CancelledCascade => linker.cancellation(&mut g, &ix, i),
                Category::StackRollup => linker.rollup(&mut g, &ix, i),
                Category::StacksetFailureTolerance => {
                    linker.failure_tolerance(&mut g, &ix, i);
                    false
                }
                _ => false,
            };
            if settled {
                continue;
            }
            linker.summary(&mut g, &ix, i);
            if matches!(
                f.class.category,
                Category::InvalidPrincipal | Category::NotFound
            ) {
                linker.cross_stack_set(&mut g, &ix, i);
            }
        }
        g.settle(failures);
        g
    }

    fn link(&mut self, from: usize, to: usize, kind: LinkKind, confidence: f32, reason: &str) {
        if from == to || !self.edges.insert((from, to)) {
            return;
        }
        self.graph.add_edge(
            self.nodes[from],
            self.nodes[to],
            Link {
                kind,
                confidence,
                reason: reason.to_owned(),
            },
        );
    }

    /// Link `from` to each of `targets` (the earliest [`MAX_FANOUT`] of them).
    fn link_all(
        &mut self,
        from: usize,
        targets: &[usize],
        kind: LinkKind,
        confidence: f32,
        reason: &str,
    ) -> bool {
        let mut linked = false;
        for &j in targets.iter().filter(|&&j| j != from).take(MAX_FANOUT) {
            self.link(from, j, kind, confidence, reason);
            linked = true;
        }
        linked
    }

    /// Choose root causes and each failure's best cause (see the module docs).
    fn settle(&mut self, failures: &[Failure]) {
        let n = failures.len();
        // The best of some causes: the most confident, then one a rule calls a cause, then the earliest.
        let best = |causes: Vec<(usize, &Link)>| -> Option<(usize, Link)> {
            causes
                .into_iter()
                .max_by(|(ja, la), (jb, lb)| {
                    la.confidence
                        .total_cmp(&lb.confidence)
                        .then_with(|| {
                            (failures[*ja].class.role == Role::Root)
                                .cmp(&(failures[*jb].class.role == Role::Root))
                        })
                        .then_with(|| jb.cmp(ja))
                })
                .map(|(j, l)| (j, l.clone()))
        };
        let mut roots: Vec<usize> = Vec::new();
        let mut cause: Vec<Option<(usize, Link)>> = vec![None; n];
        for comp in petgraph::algo::tarjan_scc(&self.graph) {
            let comp: Vec<usize> = comp.into_iter().map(|x| self.graph[x]).collect();
            let members: HashSet<usize> = comp.iter().copied().collect();
            let leaving = |i: usize| -> Vec<(usize, &Link)> {
                self.out_edges(i)
                    .into_iter()
                    .filter(|(j, _)| !members.contains(j))
                    .collect()
            };
            let exits: Vec<usize> = comp
                .iter()
                .copied()
                .filter(|&i| !leaving(i).is_empty())
                .collect();
            if comp.len() == 1 {
                // The common case: a failure and its causes.
                cause[comp[0]] = best(self.out_edges(comp[0]));
                if exits.is_empty() {
                    roots.push(comp[0]);
                }
                continue;
            }
            // Failures that explain each other (across stack sets, say). Nothing outside explains them: their
            // representative is a root cause — a failure whose rule calls it a cause, then the earliest. Else
            // the members with a cause outside take the best of those.
            let starts = if exits.is_empty() {
                let rep = comp
                    .iter()
                    .copied()
                    .min_by_key(|&i| {
                        (
                            failures[i].class.role != Role::Root,
                            failures[i].timestamp.is_none(),
                            failures[i].timestamp,
                            i,
                        )
                    })
                    .unwrap_or(comp[0]);
                roots.push(rep);
                vec![rep]
            } else {
                for &e in &exits {
                    cause[e] = best(leaving(e));
                }
                let mut v = exits;
                v.sort_unstable();
                v
            };
            // The other members: their chain must leave the cycle, so each takes as its cause the member it was
            // first reached from, walking out from the starts.
            let mut seen: HashSet<usize> = starts.iter().copied().collect();
            let mut queue: std::collections::VecDeque<usize> = starts.into_iter().collect();
            while let Some(c) = queue.pop_front() {
                for (j, l) in self.in_edges(c) {
                    if members.contains(&j) && seen.insert(j) {
                        cause[j] = Some((c, l.clone()));
                        queue.push_back(j);
                    }
                }
            }
        }

        // Each failure's root: follow best causes, memoised, so the whole forest costs one pass.
        let mut root_of: Vec<Option<usize>> = vec![None; n];
        for &r in &roots {
            root_of[r] = Some(r);
        }
        for start in 0..n {
            let mut path = Vec::new();
            let mut i = start;
            let found = loop {
                if let Some(r) = root_of[i] {
                    break Some(r);
                }
                path.push(i);
                match &cause[i] {
                    Some((j, _)) if path.len() <= n => i = *j,
                    _ => break None,
                }
            };
            for p in path {
                root_of[p] = found;
            }
        }
        let mut trees: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, r) in root_of.iter().enumerate() {
            if let Some(r) = *r {
                if r != i {
                    trees.entry(r).or_default().push(i);
                }
            }
        }
        self.roots = roots.into_iter().map(FailureId).collect();
        self.cause = cause
            .into_iter()
            .map(|c| c.map(|(j, l)| (FailureId(j), l)))
            .collect();
        self.root_of = root_of.into_iter().map(|r| r.map(FailureId)).collect();
        self.trees = trees
            .into_iter()
            .map(|(r, v)| (FailureId(r), v.into_iter().map(FailureId).collect()))
            .collect();
    }

    /// The root causes: failures that nothing upstream explains (one per cycle of failures that explain each
    /// other), in an order where a component that explains others comes first.
    pub fn root_causes(&self) -> &[FailureId] {
        &self.roots
    }

    /// The failure that best explains failure `id`, and how; None for a root cause.
    pub fn cause_of(&self, id: FailureId) -> Option<(FailureId, &Link)> {
        self.cause
            .get(id.0)
            .and_then(|c| c.as_ref())
            .map(|(j, l)| (*j, l))
    }

    /// The root cause failure `id`'s chain of best causes ends at (itself for a root cause).
    pub fn root_of(&self, id: FailureId) -> Option<FailureId> {
        self.root_of.get(id.0).copied().flatten()
    }

    /// The chain from failure `id` to its root cause: `id`, its best cause, that one's best cause, ...
    pub fn chain(&self, id: FailureId) -> Vec<FailureId> {
        let mut out = vec![id];
        let mut at = id;
        while let Some((j, _)) = self.cause_of(at) {
            if out.len() > self.nodes.len() {
                break;
            }
            out.push(j);
            at = j;
        }
        out
    }

    /// The failures root cause `root` explains: those whose chain ends at it, ascending.
    pub fn explains(&self, root: FailureId) -> &[FailureId] {
        self.trees.get(&root).map(Vec::as_slice).unwrap_or_default()
    }

    /// Every failure that explains failure `id` directly (not only the best), with why.
    pub fn causes_of(&self, id: FailureId) -> Vec<(FailureId, &Link)> {
        self.out_edges(id.0)
            .into_iter()
            .map(|(j, l)| (FailureId(j), l))
            .collect()
    }

    /// The failures that failure `id` explains directly.
    pub fn consequences_of(&self, id: FailureId) -> Vec<(FailureId, &Link)> {
        self.in_edges(id.0)
            .into_iter()
            .map(|(j, l)| (FailureId(j), l))
            .collect()
    }

    fn out_edges(&self, i: usize) -> Vec<(usize, &Link)> {
        self.edges_of(i, Direction::Outgoing)
    }

    fn in_edges(&self, i: usize) -> Vec<(usize, &Link)> {
        self.edges_of(i, Direction::Incoming)
    }

    fn edges_of(&self, i: usize, dir: Direction) -> Vec<(usize, &Link)> {
        use petgraph::visit::EdgeRef;
        let mut v: Vec<(usize, &Link)> = self
            .graph
            .edges_directed(self.nodes[i], dir)
            .map(|e| {
                let other = if dir == Direction::Outgoing {
                    e.target()
                } else {
                    e.source()
                };
                (self.graph[other], e.weight())
            })
            .collect();
        v.sort_by_key(|(j, _)| *j);
        v
    }

    /// Every edge, as (consequence, cause, link).
    pub fn links(&self) -> Vec<(FailureId, FailureId, &Link)> {
        use petgraph::visit::EdgeRef;
        let mut v: Vec<_> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    FailureId(self.graph[e.source()]),
                    FailureId(self.graph[e.target()]),
                    e.weight(),
                )
            })
            .collect();
        v.sort_by_key(|(a, b, _)| (*a, *b));
        v
    }
}

/// Per-family state shared across failures: results computed once and reused by every failure that needs them.
#[derive(Default)]
struct Linker {
    /// Per stack: its primary failures, one per distinct (rule, message).
    stack_primaries: HashMap<String, Vec<usize>>,
    /// Per (stack set, operation id): the failure-tolerance cancellation standing in for an operation that is not
    /// in the evidence (the first one seen), which links to the operation's causes for all the others.
    tolerance_hubs: HashMap<(Option<String>, Option<String>), usize>,
    /// Per (account, role name, consumer's stack set): the failures a reference to that role links to.
    providers: HashMap<(String, String, Option<String>), Vec<ProviderLink>>,
}

impl Linker {
    /// Returns true when the cancellation was linked to its nested stack's parent.
    fn cancellation(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) -> bool {
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
    fn rollup(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) -> bool {
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
    fn failure_tolerance(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) {
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

    /// Summaries without a resource: an instance or operation result, or the operation itself.
    fn summary(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) {
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

    /// Across stack sets: a principal that should exist but does not.
    fn cross_stack_set(&mut self, g: &mut DeploymentGraph, ix: &Index<'_>, i: usize) {
        let f = &ix.failures[i];
        let mut arns: Vec<&str> = f
            .class
            .fields
            .get("principal")
            .map(|p| vec![p.as_str()])
            .unwrap_or_default();
        if let Some(re) = &ix.role_arn {
            arns.extend(re.find_iter(&f.message).map(|m| m.as_str()));
        }
        for arn in arns {
            let Some((account, role_name)) = parse_role_arn(arn) else {
                continue;
            };
            let key = (
                account.to_owned(),
                role_name.to_owned(),
                f.stack_set.clone(),
            );
            let targets = self
                .providers
                .entry(key)
                .or_insert_with(|| provider_failures(ix, f, account, role_name));
            let mut linked = false;
            for (j, kind, confidence, reason) in
                targets.iter().filter(|t| t.0 != i).take(MAX_FANOUT)
            {
                g.link(i, *j, *kind, *confidence, reason);
                linked = true;
            }
            if linked {
                break;
            }
        }
    }
}

/// A failure a reference to a role links to: (failure, kind, confidence, reason).
type ProviderLink = (usize, LinkKind, f32, String);

/// The failures a failure of stack set `f.stack_set` naming role `role_name` in `account` links to: the failures of
/// the stack set that should have created it (the creating resource's own, when known), else another stack set's
/// failures in that account at about the same time.
fn provider_failures(
    ix: &Index<'_>,
    f: &Failure,
    account: &str,
    role_name: &str,
) -> Vec<ProviderLink> {
    let failures = ix.failures;
    let in_account = ix
        .by_account
        .get(account)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in ix.providers.for_role(role_name) {
        let candidates: Vec<usize> = in_account
            .iter()
            .copied()
            .filter(|&j| {
                failures[j]
                    .stack_set
                    .as_deref()
                    .is_some_and(|s| wildcard::matches(&p.stack_set, s, false))
                    && failures[j].stack_set != f.stack_set
            })
            .collect();
        if candidates.is_empty() {
            continue;
        }
        // The failure of the very resource that creates the role, when we have it; else the instance's causes.
        let exact: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&j| p.logical_id.is_some() && failures[j].logical_id == p.logical_id)
            .collect();
        let targets = if exact.is_empty() {
            let keys: BTreeSet<InstanceKey<'_>> = candidates
                .iter()
                .map(|&j| instance_key(&failures[j]))
                .collect();
            let all: Vec<usize> = keys
                .into_iter()
                .flat_map(|k| ix.by_instance.get(&k).cloned().unwrap_or_default())
                .collect();
            primaries_or_all(failures, &all, usize::MAX)
        } else {
            exact
        };
        let reason = format!(
            "{} creates role {role_name} in account {account}, and it failed there",
            p.via
        );
        out.extend(
            targets
                .into_iter()
                .map(|j| (j, p.kind, p.confidence, reason.clone())),
        );
    }
    if !out.is_empty() {
        return out;
    }
    // No known provider: another stack set failed in the principal's account around the same time.
    let primaries: Vec<usize> = in_account
        .iter()
        .copied()
        .filter(|&j| {
            failures[j].stack_set.is_some()
                && failures[j].stack_set != f.stack_set
                && at_or_before(failures[j].timestamp, f.timestamp, Duration::hours(1))
                && at_or_before(f.timestamp, failures[j].timestamp, Duration::hours(6))
                && is_primary(&failures[j])
        })
        .collect();
    let reason = format!("role {role_name} would live in account {account}, where another stack set failed at about the same time");
    representatives(failures, &primaries)
        .into_iter()
        .map(|j| {
            (
                j,
                LinkKind::TimingInference,
                confidence::TIMING_INFERENCE,
                reason.clone(),
            )
        })
        .collect()
}

/// Whether `a` is no later than `slack` after `b` (true when either is unknown). Checked arithmetic: a timestamp
/// at the edge of the representable range must not overflow.
fn at_or_before(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>, slack: Duration) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => b.checked_add_signed(slack).is_none_or(|limit| a <= limit),
        _ => true,
    }
}

/// Primary failures among `candidates` (excluding `me`); all of them when none is primary.
fn primaries_or_all(failures: &[Failure], candidates: &[usize], me: usize) -> Vec<usize> {
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
fn representatives(failures: &[Failure], candidates: &[usize]) -> Vec<usize> {
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

/// IAM role ARNs inside a message (for principals a failure names without a rule capturing them).
fn role_arn_regex() -> Option<Regex> {
    Regex::new(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+").ok()
}

/// `arn:aws:iam::121212121212:role/path/Name` → ("121212121212", "Name").
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let arn = arn.trim_matches('"');
    let parts = crate::ids::Arn::parse(arn)?;
    if parts.service != "iam" {
        return None;
    }
    let path = parts.resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    (!name.is_empty() && parts.account.len() == 12).then_some((parts.account, name))
}

struct Provider {
    /// Stack set name or pattern.
    stack_set: String,
    role_pattern: String,
    logical_id: Option<String>,
    kind: LinkKind,
    confidence: f32,
    via: String,
}

struct Providers(Vec<Provider>);

impl Providers {
    fn learn(evidence: &Evidence, topologies: &[Topology]) -> Providers {
        let mut v = Vec::new();
        for s in &evidence.stack_sets {
            let Some(t) = s.template_body.as_deref() else {
                continue;
            };
            for r in templates::roles_created(t) {
                v.push(Provider {
                    stack_set: s.name.clone(),
                    role_pattern: r.role_name,
                    logical_id: Some(r.logical_id.clone()),
                    kind: LinkKind::TemplateReference,
                    confidence: confidence::TEMPLATE_REFERENCE,
                    via: format!(
                        "the template of stack set {} (resource {})",
                        s.name, r.logical_id
                    ),
                });
            }
        }
        for t in topologies {
            for p in &t.provides {
                v.push(Provider {
                    stack_set: p.stack_set.clone(),
                    role_pattern: p.role_name.clone(),
                    logical_id: p.logical_id.clone(),
                    kind: LinkKind::KnownTopology,
                    confidence: confidence::KNOWN_TOPOLOGY,
                    via: format!("known topology {} (stack sets {})", t.id, p.stack_set),
                });
            }
        }
        Providers(v)
    }

    /// Providers of a role name, template-learned first.
    fn for_role<'p>(&'p self, role_name: &'p str) -> impl Iterator<Item = &'p Provider> + 'p {
        let mut v: Vec<&Provider> = self
            .0
            .iter()
            .filter(|p| wildcard::matches(&p.role_pattern, role_name, true))
            .collect();
        v.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        v.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_with_and_without_path() {
        assert_eq!(
            parse_role_arn(
                "arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole"
            ),
            Some(("121212121212", "ManagedInstance-CrossAccountManagementRole"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-cn:iam::121212121212:role/a/b/Name"),
            Some(("121212121212", "Name"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:sts::121212121212:assumed-role/x/y"),
            None
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1212:role/x"), None);
    }

    #[test]
    fn time_comparisons_at_the_edge_of_the_range_do_not_overflow() {
        let max = DateTime::<Utc>::MAX_UTC;
        let min = DateTime::<Utc>::MIN_UTC;
        assert!(at_or_before(Some(min), Some(max), Duration::hours(6)));
        assert!(!at_or_before(Some(max), Some(min), Duration::hours(6)));
        assert!(at_or_before(Some(max), Some(max), Duration::minutes(1)));
    }
}
