//! Trace: root causes, their chains of consequences, and what to change.
//!
//! Takes the failures and their [`DeploymentGraph`]; gives a [`Diagnosis`]: each failure's immediate cause,
//! and the root causes — failures nothing upstream explains — each with the failures it explains
//! (transitively), a confidence and a [`Remediation`]. Independent failures stay separate root causes.

mod gaps;
pub mod inquiry;
mod notes;
pub mod race;
pub mod remediation;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::classify::rules::{self, Catalog};
use crate::classify::Failure;
use crate::evidence::Evidence;
use crate::graph::{DeploymentGraph, Link};
use crate::vocabulary::{confidence, FailureId, Role};
pub use remediation::{Remediation, ScpExemption};

#[derive(Debug, Clone, Serialize)]
pub struct RootCause {
    pub failure: FailureId,
    pub confidence: f32,
    /// Failures this root cause explains: those whose chain of causes ends at it (ascending).
    pub explains: Vec<FailureId>,
    pub explanation: Option<String>,
    pub remediation: Remediation,
    /// For a root cause no specific rule explains: what was looked for, and found.
    pub looked_for: Vec<inquiry::Finding>,
    /// The race the timeline shows behind it, when it shows one (docs/races.md): then the explanation and the fix
    /// are the race's.
    pub race: Option<race::Race>,
}

/// The result of tracing: every failure with its immediate cause, and the root causes.
pub struct Diagnosis {
    pub failures: Vec<Failure>,
    /// Per failure (by id): the failure that explains it and how (None for root causes).
    pub caused_by: Vec<Option<(FailureId, Link)>>,
    /// Per failure (by id): the root cause its chain of causes ends at (itself for a root cause).
    pub root_of: Vec<Option<FailureId>>,
    pub root_causes: Vec<RootCause>,
    /// Every link of the graph (consequence, cause, link), for diagrams.
    pub links: Vec<(FailureId, FailureId, Link)>,
    pub warnings: Vec<String>,
    pub coverage: Vec<String>,
    /// Remarks on what was left out on purpose (benign messages).
    pub notes: Vec<String>,
    /// What the evidence covered.
    pub examined: crate::evidence::Examined,
    /// Root causes alike in all but account and Region, each group in root-cause order (docs/report-layout.md#alike).
    pub alike: Vec<Alike>,
    /// Per failure (by id): the operation that held its stack set, when it was refused for that.
    pub lock_holders: Vec<Option<crate::graph::LockHolder>>,
}

/// Root causes that are the same failure, independently, in several accounts or Regions (same rule, stack set,
/// resource and message): reports show them once, with one retry for them all.
#[derive(Debug, Clone)]
pub struct Alike {
    /// Indexes into `Diagnosis::root_causes`, ascending.
    pub members: Vec<usize>,
    /// The retry steps covering every member's accounts and Regions (the first member's runbook, retargeted).
    pub retry: Vec<String>,
}

impl Diagnosis {
    /// Write each root cause's patched SCP/RCP document into `dir` (`<policy>-R<n>.json`: one per root cause, as
    /// two denies may patch one policy differently) and point its apply command at the file. The document is
    /// indented when that fits the 5,120 characters AWS stores, compact otherwise (docs/scp-semantics.md#8-policy-documents).
    /// Returns the files written.
    pub fn write_patches(
        &mut self,
        dir: &std::path::Path,
    ) -> Result<Vec<std::path::PathBuf>, crate::error::Error> {
        let mut written = Vec::new();
        for (n, r) in self.root_causes.iter_mut().enumerate() {
            let Some(st) = r
                .remediation
                .scp_exemption
                .as_mut()
                .and_then(|e| e.statement.as_mut())
            else {
                continue;
            };
            if written.is_empty() {
                std::fs::create_dir_all(dir).map_err(|source| crate::error::Error::Write {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            let name: String = st
                .policy_id
                .as_deref()
                .or(st.policy_name.as_deref())
                .unwrap_or("policy")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = dir.join(format!("{name}-R{}.json", n + 1));
            let pretty = serde_json::to_string_pretty(&st.patched).unwrap_or_default();
            let text = if pretty.chars().count() <= 5120 {
                pretty
            } else {
                serde_json::to_string(&st.patched).unwrap_or_default()
            };
            crate::output::write_file(&path, text.as_bytes())?;
            if let Some(cmd) = &mut st.apply_command {
                *cmd = cmd.replace("PATCHED.json", &path.display().to_string());
            }
            written.push(path);
        }
        Ok(written)
    }

    /// True when no failure was found but some evidence could not be read or collected: not an all-clear.
    pub fn incomplete(&self) -> bool {
        self.failures.is_empty() && !self.coverage.is_empty()
    }

    /// True when every root cause matched a rule.
    pub fn all_explained(&self) -> bool {
        self.root_causes
            .iter()
            .all(|r| self.failures[r.failure].class.rule.is_some())
    }
}

/// What the stages before trace leave for the report besides failures.
#[derive(Debug, Default)]
pub struct Context {
    /// Status reasons a rule marks as not a failure, left out.
    pub benign: usize,
    /// The collection's warnings (files skipped, records ignored).
    pub warnings: Vec<String>,
}

pub fn trace(
    failures: Vec<Failure>,
    graph: &DeploymentGraph,
    evidence: &Evidence,
    catalog: &Catalog,
    context: Context,
) -> Diagnosis {
    let n = failures.len();
    let caused_by: Vec<Option<(FailureId, Link)>> = (0..n)
        .map(|i| graph.cause_of(FailureId(i)).map(|(j, l)| (j, l.clone())))
        .collect();
    let root_of: Vec<Option<FailureId>> = (0..n).map(|i| graph.root_of(FailureId(i))).collect();
    let policies = remediation::EvidencePolicies::new(evidence);
    let placement = remediation::Placement::new(evidence);
    let stacks = inquiry::Stacks::new(&failures);
    let timeline = race::Timeline::new(evidence);
    let mut root_causes: Vec<RootCause> = graph
        .root_causes()
        .iter()
        .map(|&r| {
            let f = &failures[r];
            let rule = f.class.rule.as_deref().and_then(|id| catalog.get(id));
            let mut fields = template_fields(f);
            if let Some(admin) = admin_account(evidence, f.stack_set.as_deref()) {
                fields.entry("admin_account".into()).or_insert(admin);
            }
            let confidence = match rule.map(|r| r.role) {
                // As much as the layer that decided knows (a specific rule 0.9, a status code far less).
                Some(Role::Root) => f.class.confidence.min(confidence::ROOT_BY_RULE),
                Some(_) => confidence::ROOT_BY_CONSEQUENCE_RULE,
                None => confidence::ROOT_WITHOUT_RULE,
            };
            let race = timeline.race(f, graph, r);
            let mut remediation = remediation::build(
                f,
                rule,
                &fields,
                &policies,
                &catalog.topologies,
                &remediation::RetryTargets::of(
                    std::iter::once(r)
                        .chain(graph.explains(r).iter().copied())
                        .map(|j| &failures[j]),
                    &placement,
                ),
            );
            let mut explanation = rule.map(|r| rules::render(&r.explanation, &fields));
            if let Some(race) = &race {
                // The message's own fix ("create the role") is wrong when the role exists: the race's replaces it.
                let (summary, mut steps) = race.fix(f);
                let fix_len = steps.len();
                steps.extend(remediation.steps.drain(remediation.retry_from..));
                remediation.summary = summary;
                remediation.steps = steps;
                remediation.retry_from = fix_len;
                remediation
                    .references
                    .insert(0, race.reference().to_owned());
                explanation = Some(race.line());
            }
            let confidence = race
                .as_ref()
                .map_or(confidence, |x| confidence.max(x.confidence()));
            RootCause {
                failure: r,
                looked_for: inquiry::looked_for(f, &stacks),
                confidence,
                explains: graph.explains(r).to_vec(),
                explanation,
                remediation,
                race,
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

    let alike = alike_groups(
        &failures,
        &root_causes,
        graph,
        evidence,
        &catalog.topologies,
        &placement,
    );
    let links = graph
        .links()
        .into_iter()
        .map(|(a, b, l)| (a, b, l.clone()))
        .collect();
    let mut coverage: Vec<String> = evidence
        .coverage
        .iter()
        .map(|c| format!("{}: {}", c.scope, c.reason))
        .collect();
    let lock_holders: Vec<Option<crate::graph::LockHolder>> = (0..n)
        .map(|i| graph.lock_holder(FailureId(i)).cloned())
        .collect();
    coverage.extend(gaps::missing_causes(&failures, &root_causes, &lock_holders));
    let mut notes = notes::context_notes(evidence);
    notes.extend(notes::deployment_notes(evidence));
    notes.extend(graph.notes().iter().cloned());
    if context.benign > 0 {
        notes.push(format!(
            "{} status reason(s) that a rule marks as not a failure were left out",
            context.benign
        ));
    }
    // The same note from two copies of the evidence (a listing and its describe, JSON and YAML) is one note.
    let mut seen = std::collections::HashSet::new();
    notes.retain(|n| seen.insert(n.clone()));
    Diagnosis {
        failures,
        caused_by,
        root_of,
        root_causes,
        links,
        warnings: context.warnings,
        coverage,
        notes,
        examined: evidence.examined(),
        alike,
        lock_holders,
    }
}

/// Group alike root causes; a group of several gets one retry over the union of its members' failures.
fn alike_groups(
    failures: &[Failure],
    roots: &[RootCause],
    graph: &DeploymentGraph,
    evidence: &Evidence,
    topologies: &[crate::vocabulary::Topology],
    placement: &remediation::Placement<'_>,
) -> Vec<Alike> {
    let mut groups: Vec<Alike> = Vec::new();
    // (rule, stack set, logical id, message) → the group.
    type Key<'f> = (Option<&'f str>, Option<&'f str>, Option<&'f str>, &'f str);
    let mut index: BTreeMap<Key<'_>, usize> = BTreeMap::new();
    for (n, r) in roots.iter().enumerate() {
        let f = &failures[r.failure];
        let key = (
            f.class.rule.as_deref(),
            f.stack_set.as_deref(),
            f.logical_id.as_deref(),
            f.message.as_str(),
        );
        match index.get(&key) {
            Some(&g) => groups[g].members.push(n),
            None => {
                index.insert(key, groups.len());
                groups.push(Alike {
                    members: vec![n],
                    retry: r.remediation.steps[r.remediation.retry_from..].to_vec(),
                });
            }
        }
    }
    for g in groups.iter_mut().filter(|g| g.members.len() > 1) {
        let first = &roots[g.members[0]];
        let f = &failures[first.failure];
        let mut fields = template_fields(f);
        if let Some(admin) = admin_account(evidence, f.stack_set.as_deref()) {
            fields.entry("admin_account".into()).or_insert(admin);
        }
        let all = g.members.iter().flat_map(|&m| {
            let r = roots[m].failure;
            std::iter::once(r).chain(graph.explains(r).iter().copied())
        });
        let targets = remediation::RetryTargets::of(all.map(|j| &failures[j]), placement);
        g.retry = remediation::runbook(f, &fields, topologies, &targets);
    }
    groups
}

/// The values a rule's templates may use: its captures and the failure's context.
/// The administration account of a stack set, from its `AdministrationRoleARN`.
fn admin_account(evidence: &Evidence, stack_set: Option<&str>) -> Option<String> {
    let ss = stack_set?;
    let arn = evidence
        .stack_sets
        .iter()
        .find(|s| s.name == ss)?
        .administration_role_arn
        .as_deref()?;
    crate::ids::Arn::parse(arn)
        .map(|a| a.account.to_owned())
        .filter(|a| !a.is_empty())
}

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
