//! Run every rule's examples, of every layer: each example must be matched by its rule and decided by it (no rule
//! of a higher tier, and no other rule of the same tier, layer depth and priority, claims it), with the captures
//! it expects — except that a code layer's example may be decided by a more specific layer of the same category,
//! and a wrapper's by a more specific rule inside it; no counter-example may match.

use std::collections::BTreeMap;

use super::codes::{codes, Codes};
use super::rules::{tier, Catalog, Example, Rule};
use super::unwrap::{unwrap, Unwrapped};
use crate::text::fold_whitespace;
use crate::vocabulary::{Category, Layer};

#[derive(Debug, Default)]
pub struct TestReport {
    pub passed: usize,
    pub failed: Vec<String>,
    /// What is worth knowing but not a failure.
    pub notes: Vec<String>,
    /// Per category: (passed, total) examples and counter-examples.
    pub by_category: BTreeMap<Category, (usize, usize)>,
    /// The same per layer.
    pub by_layer: BTreeMap<Layer, (usize, usize)>,
    pub rules: usize,
}

impl TestReport {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Where the rule matches the example at all (innermost first), whatever else does: the text layer for a text
/// rule, the code for a code rule.
fn matching<'m>(
    rule: &Rule,
    u: &'m Unwrapped<'m>,
    codes: &Codes<'m>,
    ex: &Example,
) -> Option<&'m str> {
    if !rule.admits(&ex.context(u.envelope.handler_error_code.as_deref())) {
        return None;
    }
    let subjects: Vec<&'m str> = match rule.layer {
        Layer::Rule | Layer::Wrapper | Layer::Wording => u.layers.iter().rev().copied().collect(),
        Layer::ErrorCode => codes.errors.iter().map(|c| c.1).collect(),
        Layer::Status => codes.statuses.iter().map(|c| c.1).collect(),
        Layer::HandlerCode => u
            .envelope
            .handler_error_code
            .as_deref()
            .into_iter()
            .collect(),
    };
    subjects.into_iter().find(|s| rule.is_match(s))
}

fn check_example(catalog: &Catalog, rule: &Rule, n: usize, ex: &Example) -> Result<(), String> {
    let short: String = ex.message.chars().take(100).collect();
    let text = fold_whitespace(&ex.message);
    let u = unwrap(&text);
    let codes = codes(&u);
    let Some(subject) = matching(rule, &u, &codes, ex) else {
        return Err(format!(
            "{}: example {} does not match: {short}",
            rule.id,
            n + 1
        ));
    };
    let caps = rule.captures(subject);
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
    let ctx = ex.context(u.envelope.handler_error_code.as_deref());
    let candidates = catalog.candidates(&u, &codes, &ctx);
    match catalog.best(&candidates) {
        Some(best) if catalog.rules[best.rule].id == rule.id => {
            let rivals: Vec<&str> = candidates
                .iter()
                .filter(|c| {
                    let r = &catalog.rules[c.rule];
                    r.id != rule.id
                        && c.tier == best.tier
                        && c.depth == best.depth
                        && r.priority == rule.priority
                })
                .map(|c| catalog.rules[c.rule].id.as_str())
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
        // A code speaks for a family, and a more specific layer often knows the same message better: an example
        // of a code layer may be decided by a rule of a higher tier, as long as the two agree on the category.
        Some(best)
            if rule.layer.matches_codes()
                && best.tier < tier(rule)
                && catalog.rules[best.rule].category == rule.category =>
        {
            Ok(())
        }
        // A wrapper steps aside for what is inside it: its example may be decided by a more specific rule in a
        // deeper layer of the message.
        Some(best)
            if rule.layer == Layer::Wrapper
                && best.tier < tier(rule)
                && u.layers
                    .iter()
                    .position(|l| std::ptr::eq(*l, subject))
                    .is_some_and(|d| best.depth > d) =>
        {
            Ok(())
        }
        Some(best) => Err(format!(
            "{}: example {} is classified by {} ({} layer) instead: {short}",
            rule.id,
            n + 1,
            catalog.rules[best.rule].id,
            catalog.rules[best.rule].layer
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
        let before = report.passed;
        let entry = report.by_category.entry(rule.category).or_default();
        if rule.examples.is_empty() {
            if rule.may_lack_examples() {
                report.notes.push(format!(
                    "{}: no public example yet (a documented HandlerErrorCode, tested by the library's tests)",
                    rule.id
                ));
            } else {
                report
                    .failed
                    .push(format!("{}: has no example message", rule.id));
            }
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
            let text = fold_whitespace(&ex.message);
            let u = unwrap(&text);
            if matching(rule, &u, &codes(&u), ex).is_some() {
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
        let layer = report.by_layer.entry(rule.layer).or_default();
        layer.0 += report.passed - before;
        layer.1 += rule.examples.len() + rule.counter_examples.len();
    }
    report
}
