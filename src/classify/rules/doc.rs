//! The catalog page (`rules/README.md`, generated) and the nearest rules to a message no rule knows.

use std::collections::{BTreeMap, BTreeSet};

use super::decide::{tier, tier_confidence};
use super::{clip, Catalog, Rule};
use crate::vocabulary::Category;

/// The catalog page (`rules/README.md`), generated from the rule files; a test fails when it is stale.
pub fn catalog_markdown(catalog: &Catalog) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# Rule catalog\n");
    let _ = writeln!(
        s,
        "Generated from the rule files by `stackset-doctor rules doc > rules/README.md`; do not edit by hand.\n"
    );
    let mut per_cat: BTreeMap<Category, Vec<&Rule>> = BTreeMap::new();
    for r in &catalog.rules {
        per_cat.entry(r.category).or_default().push(r);
    }
    let covered = per_cat.len();
    let examples: usize = catalog.rules.iter().map(|r| r.examples.len()).sum();
    let counter: usize = catalog.rules.iter().map(|r| r.counter_examples.len()).sum();
    let _ = writeln!(
        s,
        "{} rules covering {covered} of {} categories, with {examples} example messages and {counter} counter-examples.\n",
        catalog.rules.len(),
        Category::ALL.len()
    );
    layers_section(catalog, &mut s);
    let _ = writeln!(s, "## Rules by category\n");
    let _ = writeln!(s, "| category | rules |\n|---|---|");
    for c in Category::ALL {
        let ids = per_cat
            .get(&c)
            .map(|v| {
                v.iter()
                    .map(|r| format!("[`{}`](#{})", r.id, r.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(s, "| `{}` | {ids} |", c.as_str());
    }
    for r in &catalog.rules {
        let _ = writeln!(s, "\n## {}\n", r.id);
        let _ = writeln!(
            s,
            "**{}** — layer `{}`{}, category `{}`, role `{}`, priority {}.\n",
            r.title,
            r.layer,
            if r.generic { " (generic)" } else { "" },
            r.category,
            r.role.as_str(),
            r.priority
        );
        if r.layer.matches_codes() {
            let _ = writeln!(s, "Codes: {}\n", code_list(r));
        } else {
            let _ = writeln!(s, "Pattern: `{}`\n", r.regex.as_str().replace('`', "\\`"));
        }
        if !r.resource_types.is_empty() {
            let _ = writeln!(s, "Resource types: {}\n", r.resource_types.join(", "));
        }
        if !r.statuses.is_empty() {
            let _ = writeln!(s, "Statuses: {}\n", r.statuses.join(", "));
        }
        if !r.handler_error_codes.is_empty() {
            let _ = writeln!(
                s,
                "Handler error codes: {}\n",
                r.handler_error_codes.join(", ")
            );
        }
        let _ = writeln!(s, "What happened: {}\n", r.explanation.replace('\n', " "));
        let _ = writeln!(s, "How to fix: {}\n", r.remediation.replace('\n', " "));
        if !r.references.is_empty() {
            let _ = writeln!(
                s,
                "References: {}\n",
                r.references
                    .iter()
                    .map(|u| format!("<{u}>"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(s, "Examples ({}):\n", r.examples.len());
        for ex in &r.examples {
            let src = ex
                .source
                .as_deref()
                .map(|u| format!(" — {u}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "- `{}`{src}",
                ex.message.replace('`', "'").replace('\n', " ")
            );
        }
    }
    s
}

fn code_list(r: &Rule) -> String {
    r.codes
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the layers rank, and the code tables (error codes, handler codes, statuses) in the order they decide.
fn layers_section(catalog: &Catalog, s: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        s,
        "## Layers\n\nA message is decided by the first tier that knows it (see docs/classification.md). In a tier the \
innermost unwrapped layer wins, then the higher priority.\n"
    );
    let _ = writeln!(
        s,
        "| tier | layer | rules | confidence |\n|---|---|---|---|"
    );
    let mut tiers: BTreeMap<u8, (String, usize)> = BTreeMap::new();
    for r in &catalog.rules {
        let name = if r.generic {
            format!("{} (generic)", r.layer)
        } else {
            r.layer.to_string()
        };
        tiers.entry(tier(r)).or_insert((name, 0)).1 += 1;
    }
    for (t, (name, n)) in &tiers {
        let _ = writeln!(
            s,
            "| {} | {name} | {n} | {:.2} |",
            t + 1,
            tier_confidence(*t)
        );
    }
    let mut codes: Vec<&Rule> = catalog
        .rules
        .iter()
        .filter(|r| r.layer.matches_codes())
        .collect();
    codes.sort_by(|a, b| {
        tier(a)
            .cmp(&tier(b))
            .then(b.priority.cmp(&a.priority))
            .then_with(|| a.id.cmp(&b.id))
    });
    let _ = writeln!(
        s,
        "\n### Code tables\n\n| layer | priority | codes | category | rule |\n|---|---|---|---|---|"
    );
    for r in codes {
        let _ = writeln!(
            s,
            "| {}{} | {} | {} | `{}` | [`{}`](#{}) |",
            r.layer,
            if r.generic { " (generic)" } else { "" },
            r.priority,
            code_list(r),
            r.category,
            r.id,
            r.id
        );
    }
    let _ = writeln!(s);
}

fn words(s: &str) -> BTreeSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2 && !w.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect()
}

impl Catalog {
    /// Rules whose example messages share the most words with `text` (Jaccard similarity), best first:
    /// a starting point for writing a rule for a message no rule matches.
    pub fn nearest(&self, text: &str, n: usize) -> Vec<(&Rule, f32)> {
        let want = words(clip(text));
        if want.is_empty() {
            return Vec::new();
        }
        let examples = self.example_words.get_or_init(|| {
            self.rules
                .iter()
                .map(|r| r.examples.iter().map(|ex| words(&ex.message)).collect())
                .collect()
        });
        let mut scored: Vec<(&Rule, f32)> = self
            .rules
            .iter()
            .zip(examples)
            .map(|(r, sets)| {
                let best = sets
                    .iter()
                    .map(|have| {
                        let inter = want.intersection(have).count() as f32;
                        let union = (want.len() + have.len()) as f32 - inter;
                        inter / union.max(1.0)
                    })
                    .fold(0.0f32, f32::max);
                (r, best)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
        scored.truncate(n);
        scored
    }
}
