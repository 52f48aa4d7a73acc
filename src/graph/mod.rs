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

mod cross;
mod index;
mod link;
mod providers;

pub(crate) use index::stack_set_of_arn;
pub use providers::{parse_role_arn, Creation, Creators};

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use serde::Serialize;

use crate::classify::Failure;
use crate::evidence::{Evidence, Window};
use crate::template::ResourceTypes;
use crate::vocabulary::{Category, FailureId, LinkKind, Role, Topology};

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub kind: LinkKind,
    pub confidence: f32,
    pub reason: String,
    /// For a link across stack sets: the identifier that connects the two, and where each side has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<Matched>,
}

/// What connects a consumer's failure to the producer's.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Matched {
    /// The identifier as the consumer names it (`arn:aws:sns:us-east-1:111122223333:acme-alerts`).
    pub identifier: String,
    /// Where the consumer names it: the failure message, its resource's properties, or its template.
    pub consumer: String,
    /// What creates it: the producer's template (resource, kind of identifier, pattern) or a known topology.
    pub producer: String,
}

/// The operation that held a stack set when a request on it was refused (docs/cloudtrail.md#the-lock-holder).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LockHolder {
    pub stack_set: String,
    pub operation_id: String,
    pub action: Option<String>,
    /// `RUNNING`, `STOPPING` or `QUEUED`.
    pub status: String,
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    /// Failures of that operation in the evidence: the chain continues there.
    pub failures: usize,
    /// Who started it: the caller of the CloudTrail event whose `responseElements.operationId` is the operation's
    /// (the session's ARN for an assumed role), when the evidence has that event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// The call that started it (`UpdateStackSet`, `CreateStackInstances`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_with: Option<String>,
    /// Its results in the evidence, counted by status (`SUCCEEDED`, `FAILED`, `RUNNING`, `PENDING`, …): how far
    /// it got.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub progress: std::collections::BTreeMap<String, usize>,
}

/// What a failure names that another stack set creates, where that stack set shows no failure: the thing may
/// exist, and the failure then needs another explanation (a race, docs/races.md).
#[derive(Debug, Clone, PartialEq)]
pub struct UnfailedProducer {
    /// The stack set that creates it: a name, or a topology's pattern (`*` wildcards).
    pub stack_set: String,
    /// The creating resource, when a template names it.
    pub logical_id: Option<String>,
    pub resource_type: String,
    /// The identifier as the failure names it.
    pub identifier: String,
    /// Where it lives (None: not scoped by it).
    pub account: Option<String>,
    pub region: Option<String>,
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
    /// What the graph could not learn (a template it could not read).
    notes: Vec<String>,
    /// Per refused failure: the operation holding its stack set.
    holders: HashMap<FailureId, LockHolder>,
    /// Per failure: what it names that a stack set with no failure there creates.
    unfailed: HashMap<FailureId, Vec<UnfailedProducer>>,
}

impl DeploymentGraph {
    pub fn build(
        failures: &[Failure],
        evidence: &Evidence,
        topologies: &[Topology],
        types: &ResourceTypes,
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
            notes: Vec::new(),
            holders: HashMap::new(),
            unfailed: HashMap::new(),
        };
        let ix = index::Index::new(failures, evidence, topologies, types);
        let mut linker = link::Linker::default();
        let mut cross = cross::CrossLinker::default();
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
                Category::OperationInProgress => linker.lock_holder(&mut g, &ix, i),
                _ => false,
            };
            if settled {
                continue;
            }
            linker.summary(&mut g, &ix, i);
            if cross::consumes(f) {
                cross.link(&mut g, &ix, i);
            }
        }
        g.notes = ix.providers.notes.clone();
        g.settle(failures);
        g
    }

    pub(super) fn link(
        &mut self,
        from: usize,
        to: usize,
        kind: LinkKind,
        confidence: f32,
        reason: &str,
    ) {
        self.link_matched(from, to, kind, confidence, reason, None);
    }

    pub(super) fn link_matched(
        &mut self,
        from: usize,
        to: usize,
        kind: LinkKind,
        confidence: f32,
        reason: &str,
        matched: Option<Matched>,
    ) {
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
                matched,
            },
        );
    }

    /// Link `from` to each of `targets` (the earliest [`MAX_FANOUT`] of them).
    pub(super) fn link_all(
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

        let root_of = roots_of(&roots, &cause);
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

    /// The operation that held failure `id`'s stack set, when it was refused for that and the evidence has it.
    pub fn lock_holder(&self, id: FailureId) -> Option<&LockHolder> {
        self.holders.get(&id)
    }

    pub(super) fn set_lock_holder(&mut self, i: usize, h: LockHolder) {
        self.holders.insert(FailureId(i), h);
    }

    /// What failure `id` names that another stack set creates, where that stack set has no failure to link to.
    pub fn unfailed_producers(&self, id: FailureId) -> &[UnfailedProducer] {
        self.unfailed
            .get(&id)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub(super) fn add_unfailed_producer(&mut self, i: usize, p: UnfailedProducer) {
        let v = self.unfailed.entry(FailureId(i)).or_default();
        if !v.contains(&p) {
            v.push(p);
        }
    }

    /// What the graph could not learn from the evidence, for the report's notes.
    pub fn notes(&self) -> &[String] {
        &self.notes
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

/// Each failure's root: follow best causes, memoised, so the whole forest costs one pass.
fn roots_of(roots: &[usize], cause: &[Option<(usize, Link)>]) -> Vec<Option<usize>> {
    let n = cause.len();
    let mut root_of: Vec<Option<usize>> = vec![None; n];
    for &r in roots {
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
    root_of
}
