//! What a template creates, as identifiers a failure elsewhere can name: each resource's name, ARN and URL
//! patterns, and each export — docs/cross-stack-links.md#what-a-stack-set-provides.

use super::pattern::Pattern;
use super::references;
use super::resolve::Scope;
use super::types::IdKind;

/// One thing a template creates that others can refer to.
#[derive(Debug, Clone)]
pub struct Provided {
    /// The resource that creates it (for an export, the resource its value refers to, when there is one).
    pub logical_id: String,
    pub resource_type: String,
    /// The output, for an export.
    pub output: Option<String>,
    pub ids: Vec<(IdKind, Pattern)>,
    /// `DeletionPolicy: Retain`: a rollback leaves the resource, maybe without what a failed sibling would have
    /// added.
    pub retained: bool,
    /// The template's resources that refer to this one (its policy, its alias, its subscription).
    pub dependants: Vec<String>,
}

/// Identifiers that fix too little text to mean anything (`*`, `${AWS::AccountId}`) name nothing.
const MIN_LITERAL: usize = 3;

/// Everything the scope's template creates that has an identifier someone could name.
pub fn provided(scope: &Scope<'_>) -> Vec<Provided> {
    let t = scope.template;
    let mut refs_to: std::collections::HashMap<&str, Vec<String>> =
        std::collections::HashMap::new();
    for r in &t.resources {
        let mut refs = Vec::new();
        references(&r.properties, &mut refs);
        refs.sort();
        refs.dedup();
        for x in refs {
            if let Some(target) = t.resource(&x) {
                refs_to
                    .entry(target.logical_id.as_str())
                    .or_default()
                    .push(r.logical_id.clone());
            }
        }
    }
    let mut out = Vec::new();
    for r in &t.resources {
        let ids: Vec<(IdKind, Pattern)> = scope
            .identifiers(r)
            .into_iter()
            .filter(|(_, p)| p.literal_len() >= MIN_LITERAL)
            .collect();
        if ids.is_empty() {
            continue;
        }
        out.push(Provided {
            logical_id: r.logical_id.clone(),
            resource_type: r.resource_type.clone(),
            output: None,
            ids,
            retained: r.retained,
            dependants: refs_to.remove(r.logical_id.as_str()).unwrap_or_default(),
        });
    }
    for o in &t.outputs {
        let Some(name) = o.export.as_ref().and_then(|e| scope.pattern(e)) else {
            continue;
        };
        if name.literal_len() < MIN_LITERAL {
            continue;
        }
        let mut refs = Vec::new();
        references(&o.value, &mut refs);
        let source = refs.into_iter().find_map(|x| t.resource(&x));
        out.push(Provided {
            logical_id: source.map_or_else(|| o.name.clone(), |r| r.logical_id.clone()),
            resource_type: source.map_or_else(String::new, |r| r.resource_type.clone()),
            output: Some(o.name.clone()),
            ids: vec![(IdKind::Export, name)],
            retained: source.is_some_and(|r| r.retained),
            dependants: Vec::new(),
        });
    }
    out
}
