//! Generalisation, measured: real failure messages from public threads that are not among any rule's examples
//! (`tests/corpus/holdout.jsonl`, held apart: rules are never tuned on it line by line), classified as `diagnose`
//! would, per category. The floors are set from the measured figures; the README states them.

use std::collections::BTreeMap;

use stackset_doctor::classify::{classify_message, Catalog};

#[derive(serde::Deserialize)]
struct Line {
    message: String,
    category: String,
    source: String,
    resource_type: Option<String>,
    status: Option<String>,
}

fn corpus() -> Vec<Line> {
    let text = std::fs::read_to_string("tests/corpus/holdout.jsonl").expect("the corpus is there");
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("holdout.jsonl:{}: {e}", i + 1))
        })
        .collect()
}

/// Overall accuracy at least this (the share of lines whose category is the label). Measured 165/208 = 79.3% when
/// the layers landed (46.2% with the specific rules alone), 167/208 = 80.3% with the consumer rules of the
/// cross-stack-set links; the floor leaves room for a label or two, not for a regression.
const FLOOR: f64 = 0.79;
/// Messages left `other` when their label is not: at most this share (measured 13/208 = 6.3%).
const UNCLASSIFIED_CEILING: f64 = 0.08;

#[test]
fn held_apart_messages_are_classified_by_their_innermost_cause() {
    let catalog = Catalog::builtin().expect("catalog loads");
    let lines = corpus();
    assert!(lines.len() >= 150, "{} lines", lines.len());
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut unclassified = 0usize;
    for l in &lines {
        assert!(l.source.starts_with("https://"), "{}", l.source);
        let (_, _, c) = classify_message(
            &catalog,
            &l.message,
            l.resource_type.as_deref(),
            l.status.as_deref(),
        );
        let got = c.category.as_str();
        let e = per.entry(l.category.as_str()).or_default();
        e.1 += 1;
        if got == l.category {
            e.0 += 1;
        } else {
            if got == "other" {
                unclassified += 1;
            }
            misses.push(format!("  {} → {got}: {}", l.category, clip(&l.message)));
        }
    }
    let right: usize = per.values().map(|(r, _)| r).sum();
    let accuracy = right as f64 / lines.len() as f64;
    eprintln!(
        "held-apart corpus: {right}/{} = {:.1}%",
        lines.len(),
        100.0 * accuracy
    );
    for (cat, (r, n)) in &per {
        eprintln!("  {cat:<26} {r:>3}/{n:<3}");
    }
    eprintln!("misses:\n{}", misses.join("\n"));
    let unclassified_share = unclassified as f64 / lines.len() as f64;
    assert!(accuracy >= FLOOR, "accuracy {accuracy:.3} below {FLOOR}");
    assert!(
        unclassified_share <= UNCLASSIFIED_CEILING,
        "{unclassified} lines left other"
    );
}

fn clip(s: &str) -> String {
    let one_line = s.replace('\n', " ");
    one_line.chars().take(150).collect()
}
