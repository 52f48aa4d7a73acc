//! Mermaid flowchart: one subgraph per stack set and, inside, per account; alike failures collapsed into one
//! node; an arrow from each failure's best cause to it (every link with `--all-links`); a legend. What is drawn
//! is [`graph_view::View`]; the choices are in docs/diagrams.md.

use std::io::{self, Write};

use super::graph_view::{Legend, Node, View};
use super::{Options, Report, Reporter};
use crate::text::sanitize;

pub use super::graph_view::MAX_NODES;

pub struct Mermaid {
    pub opts: Options,
}

impl Reporter for Mermaid {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}", flowchart(report, &self.opts))
    }
}

const ROOT_STYLE: &str = "fill:#fde2e1,stroke:#c0392b,stroke-width:2px";
const CONSEQUENCE_STYLE: &str = "fill:#f4f6f7,stroke:#7f8c8d";

/// Text in a Mermaid label: quotes, angle brackets, `&`, `#` and backticks as entity codes, so input cannot
/// break out of the label, form markup, or close a Markdown fence around the diagram.
fn label(s: &str) -> String {
    sanitize(s)
        .chars()
        .map(|c| match c {
            '"' => "#quot;".to_owned(),
            '<' => "#lt;".to_owned(),
            '>' => "#gt;".to_owned(),
            '#' => "#35;".to_owned(),
            '&' => "#38;".to_owned(),
            '`' => "#96;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// A node's label: each line escaped, joined by Mermaid's line break.
pub fn node_text(n: &Node<'_>) -> String {
    n.lines()
        .iter()
        .map(|l| label(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

pub fn flowchart(r: &Report, opts: &Options) -> String {
    let view = View::new(r, opts);
    let mut s = String::from("flowchart LR\n");
    let node = |s: &mut String, indent: &str, n: usize| {
        let n = &view.nodes[n];
        s.push_str(&format!("{indent}{}[\"{}\"]\n", n.id(), node_text(n)));
    };
    for (g, group) in view.groups.iter().enumerate() {
        let mut indent = "    ";
        if let Some(set) = group.stack_set {
            s.push_str(&format!(
                "    subgraph S{} [\"stack set {}\"]\n",
                g + 1,
                label(set)
            ));
            indent = "        ";
        }
        for &n in &group.direct {
            node(&mut s, indent, n);
        }
        for (a, (account, members)) in group.accounts.iter().enumerate() {
            s.push_str(&format!(
                "{indent}subgraph S{}A{} [\"account {}\"]\n",
                g + 1,
                a + 1,
                label(account)
            ));
            for &n in members {
                node(&mut s, &format!("{indent}    "), n);
            }
            s.push_str(&format!("{indent}end\n"));
        }
        if group.stack_set.is_some() {
            s.push_str("    end\n");
        }
    }
    for e in &view.edges {
        s.push_str(&format!(
            "    {} -->|\"{}\"| {}\n",
            view.nodes[e.from].id(),
            label(&e.label(&view)),
            view.nodes[e.to].id()
        ));
    }
    legend(&mut s, &view);
    s.push_str(&format!("    classDef root {ROOT_STYLE}\n"));
    s.push_str(&format!("    classDef consequence {CONSEQUENCE_STYLE}\n"));
    let mut roots = vec!["legend_root".to_owned()];
    let mut rest = vec![
        "legend_consequence".to_owned(),
        "legend_collapsed".to_owned(),
    ];
    for n in &view.nodes {
        if n.is_root() { &mut roots } else { &mut rest }.push(n.id().to_string());
    }
    s.push_str(&format!("    class {} root\n", roots.join(",")));
    s.push_str(&format!("    class {} consequence\n", rest.join(",")));
    if let Some(l) = &view.left_out {
        s.push_str(&format!(
            "    %% {} of {} failures shown; {} nodes left out (MAX_NODES); all are in --format json\n",
            view.failures_shown(),
            r.failures.len(),
            l.nodes
        ));
    }
    s
}

/// Root and consequence styles, what an arrow means, the collapsed-node notation (and what was left out).
fn legend(s: &mut String, view: &View<'_>) {
    s.push_str("    subgraph legend [\"Legend\"]\n");
    s.push_str(&format!(
        "        legend_root[\"{}\"]\n",
        label(Legend::ROOT)
    ));
    s.push_str(&format!(
        "        legend_consequence[\"{}\"]\n",
        label(Legend::CONSEQUENCE)
    ));
    s.push_str(&format!(
        "        legend_collapsed[\"{}\"]\n",
        label(Legend::COLLAPSED)
    ));
    if let Some(l) = &view.left_out {
        s.push_str(&format!(
            "        legend_left_out[\"{}\"]\n",
            label(&Legend::left_out(l))
        ));
    }
    s.push_str(&format!(
        "        legend_root -->|\"{}\"| legend_consequence\n",
        label(Legend::edge(view.all_links))
    ));
    s.push_str("    end\n");
}

#[cfg(test)]
mod tests {
    use super::{flowchart, label};
    use crate::report::graph_view::tests::{report, F};
    use crate::report::Options;

    /// Nothing from the input can end a label, open markup or close the Markdown fence around the diagram.
    #[test]
    fn labels_escape_what_could_break_out() {
        assert_eq!(
            label("a\"]\n<b>&amp;#x`"),
            "a#quot;] #lt;b#gt;#38;amp;#35;x#96;"
        );
        let r = report(&[F {
            message: "x\"] --> F9[\"<img src=x onerror=alert(1)>```",
            logical: "Bucket\"]\nclick F1 call alert()",
            ..F::default()
        }]);
        let m = flowchart(&r, &Options::default());
        let node = m
            .lines()
            .find(|l| l.trim_start().starts_with("F1["))
            .unwrap();
        let inner = node.trim_start().strip_prefix("F1[\"").unwrap();
        let inner = inner.strip_suffix("\"]").unwrap().replace("<br/>", " ");
        assert!(!inner.contains(['"', '<', '>', '`', '\n']), "{inner}");
        assert!(!m.contains("<img") && !m.contains("```"));
        assert_eq!(
            m.lines().filter(|l| l.contains("click")).count(),
            1,
            "the text stays in its label"
        );
    }

    /// A subgraph per stack set, one per account inside, and the legend.
    #[test]
    fn subgraphs_and_legend() {
        let r = report(&[
            F::default(),
            F {
                set: "org-security",
                account: "222222222222",
                ..F::default()
            },
        ]);
        let m = flowchart(&r, &Options::default());
        let lines: Vec<&str> = m.lines().map(str::trim).collect();
        let at = |s: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(s))
                .unwrap_or_else(|| panic!("{s}: {m}"))
        };
        assert!(
            at("subgraph S1 [\"stack set org-baseline\"]")
                < at("subgraph S1A1 [\"account 111111111111\"]")
        );
        assert!(at("subgraph S1A1 ") < at("F1[\""));
        assert!(at("subgraph S2 [\"stack set org-security\"]") < at("F2[\""));
        assert!(at("F1[\"") < at("subgraph S2 "));
        assert!(at("subgraph legend [\"Legend\"]") < at("legend_root[\"root cause"));
        assert!(m.contains("legend_collapsed[\"×N accounts"));
        assert!(lines.contains(&"class legend_root,F1,F2 root"), "{m}");
        // Subgraphs are all closed.
        let opened = lines.iter().filter(|l| l.starts_with("subgraph ")).count();
        assert_eq!(opened, lines.iter().filter(|l| **l == "end").count());
        assert_eq!(opened, 5);
    }
}
