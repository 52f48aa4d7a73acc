//! Records whose stack set their content does not name (`list-stack-set-operation-results`) get one once
//! everything is read.

use std::collections::BTreeSet;

use super::Pending;
use crate::evidence::*;

/// Give records that do not name their stack set one: the name of their folder when that names a known
/// stack set; else the stack set whose instances match them (same account, region and status reason for an
/// operation result; same `LastOperationId` for an operation) — so a flat folder of files works too; else the
/// only stack set known; else the folder name.
pub(super) fn resolve_pending(ev: &mut Evidence, pending: Pending) {
    use std::collections::HashMap;
    let mut known: BTreeSet<String> = BTreeSet::new();
    known.extend(ev.stack_sets.iter().map(|s| s.name.clone()));
    known.extend(ev.stack_instances.iter().filter_map(|i| {
        i.stack_set
            .as_deref()
            .map(|s| stack_set_name_from_id(s).to_owned())
    }));
    known.extend(ev.stack_events.iter().filter_map(|e| e.stack_set.clone()));
    known.extend(ev.operations.iter().filter_map(|o| o.stack_set.clone()));
    let only = if known.len() == 1 {
        known.iter().next().cloned()
    } else {
        None
    };

    let mut by_reason: HashMap<(&str, &str, &str), BTreeSet<&str>> = HashMap::new();
    let mut by_place: HashMap<(&str, &str), BTreeSet<&str>> = HashMap::new();
    let mut by_op: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for i in &ev.stack_instances {
        let Some(ss) = i.stack_set.as_deref().map(stack_set_name_from_id) else {
            continue;
        };
        by_place
            .entry((&i.account, &i.region))
            .or_default()
            .insert(ss);
        if let Some(r) = i.status_reason.as_deref() {
            by_reason
                .entry((&i.account, &i.region, r))
                .or_default()
                .insert(ss);
        }
        if let Some(op) = i.last_operation_id.as_deref() {
            by_op.entry(op).or_default().insert(ss);
        }
    }
    let unique = |set: Option<&BTreeSet<&str>>| -> Option<String> {
        set.filter(|s| s.len() == 1)
            .and_then(|s| s.iter().next())
            .map(|s| s.to_string())
    };
    let pick = |folder: Option<String>, matched: Option<String>| -> Option<String> {
        match folder {
            Some(f) if known.contains(&f) => Some(f),
            f => matched.or_else(|| only.clone()).or(f),
        }
    };
    let mut results = Vec::with_capacity(pending.results.len());
    for (mut r, folder) in pending.results {
        let matched = r
            .status_reason
            .as_deref()
            .and_then(|reason| {
                unique(by_reason.get(&(r.account.as_str(), r.region.as_str(), reason)))
            })
            .or_else(|| unique(by_place.get(&(r.account.as_str(), r.region.as_str()))));
        r.stack_set = pick(folder, matched);
        results.push(r);
    }
    let mut operations = Vec::with_capacity(pending.operations.len());
    for (mut o, folder) in pending.operations {
        let matched = unique(by_op.get(o.operation_id.as_str()));
        o.stack_set = pick(folder, matched);
        operations.push(o);
    }
    ev.operation_results.extend(results);
    ev.operations.extend(operations);
}
