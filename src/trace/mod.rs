//! Trace: root causes, their chains of consequences, and what to change.
//!
//! Takes the failures and their [`DeploymentGraph`]; gives a [`Diagnosis`]: each failure's immediate cause,
//! and the root causes — failures nothing upstream explains — each with the failures it explains
//! (transitively), a confidence and a [`Remediation`]. Independent failures stay separate root causes.

pub mod remediation;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use crate::classify::rules::{self, Catalog};
use crate::classify::{Failure, Role};
use crate::evidence::Evidence;
use crate::graph::{DeploymentGraph, Link};
pub use remediation::{Remediation, ScpExemption};

#[derive(Debug, Clone, Serialize)]
pub struct RootCause {
    /// Index into `Diagnosis::failures`.
    pub failure: usize,
    pub confidence: f32,
    /// Failures this root cause explains, transitively (indexes, ascending).
    pub explains: Vec<usize>,
    pub explanation: Option<String>,
    pub remediation: Remediation,
}

/// The result of tracing: every failure with its immediate cause, and the root causes.
pub struct Diagnosis {
    pub failures: Vec<Failure>,
    /// Per failure: the failure that explains it and how (None for root causes).
    pub caused_by: Vec<Option<(usize, Link)>>,
    pub root_causes: Vec<RootCause>,
    /// Every link of the graph (consequence, cause, link), for diagrams.
    pub links: Vec<(usize, usize, Link)>,
    pub warnings: Vec<String>,
    pub coverage: Vec<String>,
    /// Remarks on what was left out on purpose (benign messages).
    pub notes: Vec<String>,
}

impl Diagnosis {
    /// True when every root cause matched a rule.
    pub fn all_explained(&self) -> bool {
        self.root_causes
            .iter()
            .all(|r| self.failures[r.failure].class.rule.is_some())
    }
}

pub fn trace(
    failures: Vec<Failure>,
    graph: &DeploymentGraph,
    evidence: &Evidence,
    catalog: &Catalog,
) -> Diagnosis {
    let n = failures.len();
    let mut roots: Vec<usize> = Vec::new();
    let mut in_component: Vec<Option<usize>> = vec![None; n];
    for comp in graph.components() {
        let members: BTreeSet<usize> = comp.iter().copied().collect();
        let leaves_component = comp
            .iter()
            .any(|&i| graph.causes_of(i).iter().any(|(j, _)| !members.contains(j)));
        if leaves_component {
            continue;
        }
        // A component nothing outside explains: its representative is a root cause. For a cycle, prefer a
        // failure whose rule calls it a cause, then the earliest.
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
        for &i in &comp {
            in_component[i] = Some(rep);
        }
        roots.push(rep);
    }

    let mut caused_by: Vec<Option<(usize, Link)>> = vec![None; n];
    let root_set: std::collections::HashSet<usize> = roots.iter().copied().collect();
    for i in 0..n {
        if root_set.contains(&i) {
            continue;
        }
        let causes = graph.causes_of(i);
        let rep = in_component[i];
        let best = causes
            .iter()
            .filter(|(j, _)| rep.is_none() || in_component[*j] == rep)
            .max_by(|(ja, la), (jb, lb)| {
                la.confidence
                    .total_cmp(&lb.confidence)
                    .then_with(|| {
                        (failures[*ja].class.role == Role::Root)
                            .cmp(&(failures[*jb].class.role == Role::Root))
                    })
                    .then_with(|| jb.cmp(ja))
            });
        caused_by[i] = best.map(|(j, l)| (*j, (*l).clone()));
    }

    let mut root_causes: Vec<RootCause> = roots
        .iter()
        .map(|&r| {
            let explains = reachable_from(graph, r);
            let f = &failures[r];
            let rule = f.class.rule.as_deref().and_then(|id| catalog.get(id));
            let fields = template_fields(f);
            let confidence = match (rule.map(|r| r.role), f.class.role) {
                (Some(Role::Root), _) => 0.9,
                (Some(_), _) => 0.5,
                (None, _) => 0.3,
            };
            RootCause {
                failure: r,
                confidence,
                explains,
                explanation: rule.map(|r| rules::render(&r.explanation, &fields)),
                remediation: remediation::build(f, rule, &fields, evidence, &catalog.topologies),
            }
        })
        .collect();
    // Biggest impact first; then time.
    root_causes.sort_by(|a, b| {
        b.explains
            .len()
            .cmp(&a.explains.len())
            .then_with(|| a.failure.cmp(&b.failure))
    });

    let links = graph
        .links()
        .into_iter()
        .map(|(a, b, l)| (a, b, l.clone()))
        .collect();
    Diagnosis {
        failures,
        caused_by,
        root_causes,
        links,
        warnings: Vec::new(),
        coverage: Vec::new(),
        notes: Vec::new(),
    }
}

/// Every failure from which `root` can be reached (the failures it explains), ascending.
fn reachable_from(graph: &DeploymentGraph, root: usize) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([root]);
    while let Some(i) = queue.pop_front() {
        for (j, _) in graph.consequences_of(i) {
            if j != root && seen.insert(j) {
                queue.push_back(j);
            }
        }
    }
    seen.into_iter().collect()
}

/// The values a rule's templates may use: its captures and the failure's context.
pub fn template_fields(f: &Failure) -> BTreeMap<String, String> {
    let mut m = f.class.fields.clone();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
    };
    put("logical_id", f.logical_id.as_deref());
    put("resource_type", f.resource_type.as_deref());
    put("account", f.account.as_deref());
    put("region", f.region.as_deref());
    put("stack_set", f.stack_set.as_deref());
    put("status", Some(&f.status));
    m
}
