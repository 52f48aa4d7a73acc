//! Mermaid flowchart: failures as nodes, an arrow from each cause to what it explains; root causes stand out.

use std::io::{self, Write};

use super::model::FailureOut;
use super::{Report, Reporter};
use crate::text::sanitize;
use crate::vocabulary::FailureId;

pub struct Mermaid;

/// Beyond this many failures the diagram shows root causes and their direct consequences only.
pub const MAX_NODES: usize = 150;

impl Reporter for Mermaid {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}", flowchart(report))
    }
}

/// Text in a Mermaid label: quotes and angle brackets as entity codes, so input cannot break out of it.
fn label(s: &str) -> String {
    sanitize(s)
        .chars()
        .map(|c| match c {
            '"' => "#quot;".to_owned(),
            '<' => "#lt;".to_owned(),
            '>' => "#gt;".to_owned(),
            '#' => "#35;".to_owned(),
            '`' => "#96;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

pub fn node_text(f: &FailureOut) -> String {
    let what = f.what();
    format!(
        "{} {}<br/>{}<br/>{} · {} · {}",
        f.id,
        label(what),
        label(&f.category),
        label(f.stack_set.as_deref().unwrap_or("-")),
        label(f.account.as_deref().unwrap_or("-")),
        label(f.region.as_deref().unwrap_or("-")),
    )
}

pub fn flowchart(r: &Report) -> String {
    let mut s = String::from("flowchart LR\n");
    let shown: Vec<&FailureOut> = if r.failures.len() <= MAX_NODES {
        r.failures.iter().collect()
    } else {
        let roots: std::collections::BTreeSet<FailureId> = r
            .failures
            .iter()
            .filter(|f| f.role == "root")
            .map(|f| f.id)
            .collect();
        r.failures
            .iter()
            .filter(|f| f.role == "root" || f.caused_by.is_some_and(|c| roots.contains(&c)))
            .take(MAX_NODES)
            .collect()
    };
    let ids: std::collections::BTreeSet<FailureId> = shown.iter().map(|f| f.id).collect();
    for f in &shown {
        s.push_str(&format!("    {}[\"{}\"]\n", f.id, node_text(f)));
    }
    for l in &r.links {
        if ids.contains(&l.from) && ids.contains(&l.to) {
            let kind = l.kind.as_str();
            s.push_str(&format!("    {} -->|{}| {}\n", l.to, kind, l.from));
        }
    }
    let roots: Vec<String> = shown
        .iter()
        .filter(|f| f.role == "root")
        .map(|f| f.id.to_string())
        .collect();
    if !roots.is_empty() {
        s.push_str("    classDef root fill:#fde2e1,stroke:#c0392b,stroke-width:2px\n");
        s.push_str(&format!("    class {} root\n", roots.join(",")));
    }
    if shown.len() < r.failures.len() {
        s.push_str(&format!(
            "    %% {} of {} failures shown; all are in --format json\n",
            shown.len(),
            r.failures.len()
        ));
    }
    s
}
