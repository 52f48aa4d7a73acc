//! Graph: who failed because of whom.
//!
//! Takes the classified failures (and the evidence, for templates and operations); gives a
//! [`DeploymentGraph`] whose edges point from a consequence to the failure that explains it:
//! cancellations inside a stack, stack rollups and embedded stacks, instance and operation summaries,
//! failure-tolerance cancellations, and references across stack sets (a principal that another stack set
//! should have created — learned from templates, from known topologies, or inferred from timing).
//! Callers ask questions (`causes_of`, `consequences_of`); petgraph stays inside.

pub mod templates;

use std::collections::{BTreeSet, HashMap};

use chrono::Duration;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use regex::Regex;
use serde::Serialize;

use crate::classify::rules::Topology;
use crate::classify::{Category, Failure, Level, Role};
use crate::evidence::Evidence;
use crate::wildcard;

/// Why one failure is the consequence of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// CloudFormation cancelled this resource because another in the same stack failed.
    Cancellation,
    /// A stack's summary naming the resources that failed.
    Rollup,
    /// A parent stack's resource for a nested stack that failed.
    EmbeddedStack,
    /// A stack instance or operation result carrying its stack's failure.
    InstanceSummary,
    /// The operation stopped deploying because failures exceeded its tolerance.
    FailureTolerance,
    /// An operation's summary of its failed results.
    OperationSummary,
    /// Another stack set's template creates the principal this failure names.
    TemplateReference,
    /// A known topology (rules/topologies) says another stack set creates it.
    KnownTopology,
    /// The named principal's account had a failed deployment of another stack set at about the same time.
    TimingInference,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Cancellation => "cancellation",
            LinkKind::Rollup => "rollup",
            LinkKind::EmbeddedStack => "embedded-stack",
            LinkKind::InstanceSummary => "instance-summary",
            LinkKind::FailureTolerance => "failure-tolerance",
            LinkKind::OperationSummary => "operation-summary",
            LinkKind::TemplateReference => "template-reference",
            LinkKind::KnownTopology => "known-topology",
            LinkKind::TimingInference => "timing-inference",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub kind: LinkKind,
    pub confidence: f32,
    pub reason: String,
}

pub struct DeploymentGraph {
    graph: DiGraph<usize, Link>,
    nodes: Vec<NodeIndex>,
    /// Edges already made: petgraph's `find_edge` is linear in a node's degree.
    edges: std::collections::HashSet<(usize, usize)>,
}

/// Failures that are causes in their own right, not cancellations, rollups or summaries.
fn is_primary(f: &Failure) -> bool {
    f.class.role != Role::Consequence
        && !matches!(
            f.class.category,
            Category::CancelledCascade | Category::StackRollup | Category::StacksetFailureTolerance
        )
}

/// The lookups cross-stack-set linking needs.
struct Indexes<'a> {
    providers: &'a Providers,
    by_instance: &'a HashMap<InstanceKey<'a>, Vec<usize>>,
    by_account: &'a HashMap<&'a str, Vec<usize>>,
}

type InstanceKey<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

fn instance_key(f: &Failure) -> InstanceKey<'_> {
    (
        f.stack_set.as_deref(),
        f.account.as_deref(),
        f.region.as_deref(),
    )
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
            edges: Default::default(),
        };

        // Indexes, so linking stays linear in the number of failures.
        let mut by_stack: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_instance: HashMap<InstanceKey<'_>, Vec<usize>> = HashMap::new();
        let mut by_stack_set: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
        let mut by_account: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, f) in failures.iter().enumerate() {
            if let Some(s) = f.stack_id.as_deref() {
                by_stack.entry(s).or_default().push(i);
            }
            by_instance.entry(instance_key(f)).or_default().push(i);
            by_stack_set
                .entry(f.stack_set.as_deref())
                .or_default()
                .push(i);
            if let Some(a) = f.account.as_deref() {
                by_account.entry(a).or_default().push(i);
            }
        }
        let same_stack = |f: &Failure| -> Vec<usize> {
            match f.stack_id.as_deref().and_then(|s| by_stack.get(s)) {
                Some(v) => v.clone(),
                None => by_instance
                    .get(&instance_key(f))
                    .cloned()
                    .unwrap_or_default(),
            }
        };
        let providers = Providers::learn(evidence, topologies);
        let role_arn = role_arn_regex();
        let mut stack_primaries: HashMap<String, Vec<usize>> = HashMap::new();
        // Per (stack set, operation): the failures that stopped it; shared by failure-tolerance cancellations and
        // the operation's own summary, and computed once however many of those there are.
        let mut op_causes: HashMap<(Option<&str>, Option<&str>), Vec<usize>> = HashMap::new();
        // A nested stack's resource in its parent, by the child stack's id (its physical id).
        let parent_of: HashMap<&str, usize> = failures
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.level == Level::Resource
                    && f.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
            })
            .filter_map(|(i, f)| {
                f.physical_id
                    .as_deref()
                    .filter(|p| p.contains(":stack/"))
                    .map(|p| (p, i))
            })
            .collect();

        for (i, f) in failures.iter().enumerate() {
            match f.class.category {
                Category::CancelledCascade => {
                    // The stack's primary failures, one per distinct (rule, message), computed once per stack:
                    // a stack with thousands of cancelled resources must not cost thousands × thousands.
                    let key = f
                        .stack_id
                        .clone()
                        .unwrap_or_else(|| format!("{:?}", instance_key(f)));
                    let reps = stack_primaries
                        .entry(key)
                        .or_insert_with(|| {
                            let stack = same_stack(f);
                            let primaries: Vec<usize> = stack
                                .iter()
                                .copied()
                                .filter(|&j| {
                                    is_primary(&failures[j]) && failures[j].level == Level::Resource
                                })
                                .collect();
                            if primaries.is_empty() {
                                representatives(failures, &stack)
                            } else {
                                representatives(failures, &primaries)
                            }
                        })
                        .clone();
                    // Everything in a nested stack was cancelled: its parent's resource for it tells why.
                    if !reps.iter().any(|&j| is_primary(&failures[j])) {
                        if let Some(&p) = f.stack_id.as_deref().and_then(|s| parent_of.get(s)) {
                            g.link(
                                i,
                                p,
                                LinkKind::EmbeddedStack,
                                0.9,
                                "the nested stack was cancelled with its parent",
                            );
                            continue;
                        }
                    }
                    let earlier: Vec<usize> = reps
                        .iter()
                        .copied()
                        .filter(|&j| j != i)
                        .filter(|&j| match (failures[j].timestamp, f.timestamp) {
                            (Some(a), Some(b)) => a <= b + Duration::minutes(1),
                            _ => true,
                        })
                        .collect();
                    let targets = if earlier.is_empty() {
                        reps.into_iter().filter(|&j| j != i).collect()
                    } else {
                        earlier
                    };
                    for j in targets {
                        g.link(
                            i,
                            j,
                            LinkKind::Cancellation,
                            0.95,
                            "cancelled after this failure in the same stack",
                        );
                    }
                }
                Category::StackRollup => {
                    // A nested stack's resource: its physical id (or the message) names the child stack.
                    let child = f
                        .physical_id
                        .as_deref()
                        .filter(|p| p.contains(":stack/") && f.stack_id.as_deref() != Some(*p))
                        .and_then(|p| by_stack.get(p))
                        .filter(|_| f.level == Level::Resource);
                    if let Some(child) = child {
                        for j in primaries_or_all(failures, child, i) {
                            g.link(
                                i,
                                j,
                                LinkKind::EmbeddedStack,
                                0.95,
                                "the nested stack failed here",
                            );
                        }
                        continue;
                    }
                    let stack = same_stack(f);
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
                        primaries_or_all(failures, &stack, i)
                    } else {
                        hits
                    };
                    for j in targets {
                        g.link(
                            i,
                            j,
                            LinkKind::Rollup,
                            0.95,
                            "named in the stack's rollback summary",
                        );
                    }
                }
                Category::StacksetFailureTolerance => {
                    for j in causes_of_operation(&mut op_causes, failures, &by_stack_set, f) {
                        g.link(
                            i,
                            j,
                            LinkKind::FailureTolerance,
                            0.8,
                            "the operation stopped after this failure",
                        );
                    }
                }
                _ => {}
            }

            // Summaries without a resource: an instance or operation result, or the operation itself.
            if f.logical_id.is_none()
                && f.class.role != Role::Root
                && f.class.category != Category::StacksetFailureTolerance
            {
                match f.level {
                    Level::Instance => {
                        let inst = by_instance
                            .get(&instance_key(f))
                            .cloned()
                            .unwrap_or_default();
                        let inner: Vec<usize> = inst
                            .into_iter()
                            .filter(|&j| j != i && failures[j].level <= Level::Stack)
                            .collect();
                        for j in primaries_or_all(failures, &inner, i) {
                            g.link(
                                i,
                                j,
                                LinkKind::InstanceSummary,
                                0.9,
                                "the stack instance's failure",
                            );
                        }
                    }
                    Level::Operation => {
                        for j in causes_of_operation(&mut op_causes, failures, &by_stack_set, f) {
                            g.link(
                                i,
                                j,
                                LinkKind::OperationSummary,
                                0.9,
                                "a failed instance of this operation",
                            );
                        }
                    }
                    _ => {}
                }
            }

            // Across stack sets: a principal that should exist but does not.
            if matches!(
                f.class.category,
                Category::InvalidPrincipal | Category::NotFound
            ) {
                let mut arns: Vec<&str> = f
                    .class
                    .fields
                    .get("principal")
                    .map(|p| vec![p.as_str()])
                    .unwrap_or_default();
                if let Some(re) = &role_arn {
                    arns.extend(re.find_iter(&f.message).map(|m| m.as_str()));
                }
                let mut done = false;
                for arn in arns {
                    let Some((account, role_name)) = parse_role_arn(arn) else {
                        continue;
                    };
                    let ix = Indexes {
                        providers: &providers,
                        by_instance: &by_instance,
                        by_account: &by_account,
                    };
                    done |= g.link_provider(i, failures, (account, role_name), &ix);
                    if done {
                        break;
                    }
                }
            }
        }
        g
    }

    /// Link failure `i` (naming role `role_name` in `account`) to the failures of the stack set that should
    /// have created it. Returns whether any link was made.
    fn link_provider(
        &mut self,
        i: usize,
        failures: &[Failure],
        (account, role_name): (&str, &str),
        ix: &Indexes<'_>,
    ) -> bool {
        let (providers, by_instance, by_account) = (ix.providers, ix.by_instance, ix.by_account);
        let f = &failures[i];
        let in_account: Vec<usize> = by_account.get(account).cloned().unwrap_or_default();
        let mut linked = false;
        for p in providers.for_role(role_name) {
            let candidates: Vec<usize> = in_account
                .iter()
                .copied()
                .filter(|&j| {
                    j != i
                        && failures[j]
                            .stack_set
                            .as_deref()
                            .is_some_and(|s| wildcard::matches(&p.stack_set, s, false))
                })
                .filter(|&j| failures[j].stack_set != f.stack_set)
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
                    .flat_map(|k| by_instance.get(&k).cloned().unwrap_or_default())
                    .collect();
                primaries_or_all(failures, &all, i)
            } else {
                exact
            };
            let reason = format!(
                "{} creates role {role_name} in account {account}, and it failed there",
                p.via
            );
            for j in targets {
                self.link(i, j, p.kind, p.confidence, &reason);
                linked = true;
            }
        }
        if linked {
            return true;
        }
        // No known provider: another stack set failed in the principal's account around the same time.
        let window = |j: usize| match (failures[j].timestamp, f.timestamp) {
            (Some(a), Some(b)) => a >= b - Duration::hours(6) && a <= b + Duration::hours(1),
            _ => true,
        };
        let nearby: Vec<usize> = in_account
            .iter()
            .copied()
            .filter(|&j| {
                j != i
                    && failures[j].stack_set.is_some()
                    && failures[j].stack_set != f.stack_set
                    && window(j)
            })
            .collect();
        let primaries: Vec<usize> = nearby
            .iter()
            .copied()
            .filter(|&j| is_primary(&failures[j]))
            .collect();
        let reason = format!("role {role_name} would live in account {account}, where another stack set failed at about the same time");
        for j in representatives(failures, &primaries) {
            self.link(i, j, LinkKind::TimingInference, 0.5, &reason);
            linked = true;
        }
        linked
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

    /// The failures that explain failure `i` (outgoing edges), with why.
    pub fn causes_of(&self, i: usize) -> Vec<(usize, &Link)> {
        self.edges(i, Direction::Outgoing)
    }

    /// The failures that failure `i` explains directly.
    pub fn consequences_of(&self, i: usize) -> Vec<(usize, &Link)> {
        self.edges(i, Direction::Incoming)
    }

    fn edges(&self, i: usize, dir: Direction) -> Vec<(usize, &Link)> {
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

    /// Strongly connected components (cycles of "explains" are possible across stack sets); each as failure
    /// indexes, in petgraph's reverse topological order (components that explain others come first).
    pub fn components(&self) -> Vec<Vec<usize>> {
        petgraph::algo::tarjan_scc(&self.graph)
            .into_iter()
            .map(|c| c.into_iter().map(|n| self.graph[n]).collect())
            .collect()
    }

    /// Every edge, as (consequence, cause, link).
    pub fn links(&self) -> Vec<(usize, usize, &Link)> {
        use petgraph::visit::EdgeRef;
        let mut v: Vec<_> = self
            .graph
            .edge_references()
            .map(|e| (self.graph[e.source()], self.graph[e.target()], e.weight()))
            .collect();
        v.sort_by_key(|(a, b, _)| (*a, *b));
        v
    }
}

/// [`operation_causes`], once per (stack set, operation).
fn causes_of_operation<'a>(
    cache: &mut HashMap<(Option<&'a str>, Option<&'a str>), Vec<usize>>,
    failures: &'a [Failure],
    by_stack_set: &HashMap<Option<&str>, Vec<usize>>,
    f: &'a Failure,
) -> Vec<usize> {
    let key = (f.stack_set.as_deref(), f.operation_id.as_deref());
    cache
        .entry(key)
        .or_insert_with(|| operation_causes(failures, by_stack_set, f))
        .clone()
}

/// The distinct failures that stopped `f`'s operation: its instances' and resources' failures (primary ones when
/// there are any), one per (rule, message).
fn operation_causes(
    failures: &[Failure],
    by_stack_set: &HashMap<Option<&str>, Vec<usize>>,
    f: &Failure,
) -> Vec<usize> {
    let peers: Vec<usize> = by_stack_set
        .get(&f.stack_set.as_deref())
        .map(|v| v.as_slice())
        .unwrap_or_default()
        .iter()
        .copied()
        .filter(|&j| failures[j].level != Level::Operation && same_operation(f, &failures[j]))
        .filter(|&j| failures[j].class.category != Category::StacksetFailureTolerance)
        .collect();
    let primaries: Vec<usize> = peers
        .iter()
        .copied()
        .filter(|&j| is_primary(&failures[j]))
        .collect();
    representatives(
        failures,
        if primaries.is_empty() {
            &peers
        } else {
            &primaries
        },
    )
}

fn same_operation(a: &Failure, b: &Failure) -> bool {
    match (&a.operation_id, &b.operation_id) {
        (Some(x), Some(y)) => x == y,
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
    let parts = crate::evidence::arn_parts(arn)?;
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
                    confidence: 0.9,
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
                    confidence: 0.85,
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
}
