//! Run every rule's examples: each example must be matched by its rule and won by it (no other rule of the
//! same or higher priority claims it), with the captures it expects; no counter-example may match.

use std::collections::BTreeMap;

use super::rules::{captures, Catalog, Example, Rule};
use super::unwrap::unwrap;
use crate::vocabulary::Category;

#[derive(Debug, Default)]
pub struct TestReport {
    pub passed: usize,
    pub failed: Vec<String>,
    /// Per category: (passed, total) examples and counter-examples.
    pub by_category: BTreeMap<Category, (usize, usize)>,
    pub rules: usize,
}

impl TestReport {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

fn matching_layer(rule: &Rule, ex: &Example) -> Option<(usize, BTreeMap<String, String>)> {
    let u = unwrap(&ex.message);
    if !rule.admits(&ex.context(u.envelope.handler_error_code.as_deref())) {
        return None;
    }
    u.layers
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| rule.regex.is_match(l))
        .map(|(i, l)| (i, captures(&rule.regex, l)))
}

fn check_example(catalog: &Catalog, rule: &Rule, n: usize, ex: &Example) -> Result<(), String> {
    let short: String = ex.message.chars().take(100).collect();
    let Some((_, caps)) = matching_layer(rule, ex) else {
        return Err(format!(
            "{}: example {} does not match: {short}",
            rule.id,
            n + 1
        ));
    };
    for (k, want) in &ex.expect {
        match caps.get(k) {
            Some(got) if got == want => {}
            got => {
                return Err(format!(
                    "{}: example {}: capture {k} is {got:?}, expected {want:?}",
                    rule.id,
                    n + 1
                ))
            }
        }
    }
    let u = unwrap(&ex.message);
    let ctx = ex.context(u.envelope.handler_error_code.as_deref());
    match catalog.best_match(&u.layers, &ctx) {
        Some(m) if m.rule.id == rule.id => {
            let layer = u.layers[m.layer];
            let rivals: Vec<&str> = catalog
                .all_matches_at(layer)
                .into_iter()
                .filter(|r| r.id != rule.id && r.priority == rule.priority && r.admits(&ctx))
                .map(|r| r.id.as_str())
                .collect();
            if rivals.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{}: example {} is also claimed by {} at the same priority {}: {short}",
                    rule.id,
                    n + 1,
                    rivals.join(", "),
                    rule.priority
                ))
            }
        }
        Some(m) => Err(format!(
            "{}: example {} is classified as {} instead: {short}",
            rule.id,
            n + 1,
            m.rule.id
        )),
        None => Err(format!(
            "{}: example {} is classified as nothing: {short}",
            rule.id,
            n + 1
        )),
    }
}

pub fn run(catalog: &Catalog) -> TestReport {
    let mut report = TestReport {
        rules: catalog.rules.len(),
        ..TestReport::default()
    };
    for rule in &catalog.rules {
        let entry = report.by_category.entry(rule.category).or_default();
        if rule.examples.is_empty() {
            report
                .failed
                .push(format!("{}: has no example message", rule.id));
        }
        for (n, ex) in rule.examples.iter().enumerate() {
            entry.1 += 1;
            match check_example(catalog, rule, n, ex) {
                Ok(()) => {
                    entry.0 += 1;
                    report.passed += 1;
                }
                Err(e) => report.failed.push(e),
            }
        }
        for (n, ex) in rule.counter_examples.iter().enumerate() {
            entry.1 += 1;
            if matching_layer(rule, ex).is_some() {
                let short: String = ex.message.chars().take(100).collect();
                report.failed.push(format!(
                    "{}: counter-example {} matches: {short}",
                    rule.id,
                    n + 1
                ));
            } else {
                entry.0 += 1;
                report.passed += 1;
            }
        }
    }
    report
}
