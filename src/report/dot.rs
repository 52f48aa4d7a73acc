//! Graphviz dot: the same diagram as the Mermaid one ([`graph_view::View`]: a cluster per stack set and, inside,
//! per account; alike failures collapsed; best-cause edges, or every link; a legend), for `dot -Tsvg`. The
//! choices are in docs/diagrams.md.

use std::io::{self, Write};

use super::graph_view::{Legend, View};
use super::{Options, Report, Reporter};
use crate::text::sanitize;

pub struct Dot {
    pub opts: Options,
}

const ROOT_STYLE: &str = "style=filled, fillcolor=\"#fde2e1\", color=\"#c0392b\", penwidth=2";
const CONSEQUENCE_STYLE: &str = "style=filled, fillcolor=\"#f4f6f7\", color=\"#7f8c8d\"";
const CLUSTER_STYLE: &str = "style=rounded; color=\"#95a5a6\";";

/// Text inside a quoted dot string: quotes and backslashes escaped (so `C:\new` stays text, not a line break).
fn escape(s: &str) -> String {
    let mut q = String::with_capacity(s.len());
    for c in sanitize(s).chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c => q.push(c),
        }
    }
    q
}

fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

/// A label of several lines: each escaped, joined by dot's own line break.
fn label(lines: &[String]) -> String {
    let parts: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    format!("\"{}\"", parts.join("\\n"))
}

impl Reporter for Dot {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}", digraph(r, &self.opts))
    }
}

pub fn digraph(r: &Report, opts: &Options) -> String {
    let view = View::new(r, opts);
    let mut s = String::from("digraph stackset_doctor {\n");
    s.push_str("    rankdir=LR;\n");
    s.push_str("    node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
    s.push_str("    edge [fontname=\"Helvetica\", fontsize=9];\n");
    let node = |s: &mut String, indent: &str, n: usize| {
        let n = &view.nodes[n];
        let style = if n.is_root() {
            ROOT_STYLE
        } else {
            CONSEQUENCE_STYLE
        };
        s.push_str(&format!(
            "{indent}{} [label={}, {style}];\n",
            quote(&n.id().to_string()),
            label(&n.lines())
        ));
    };
    for (g, group) in view.groups.iter().enumerate() {
        let mut indent = "    ";
        if let Some(set) = group.stack_set {
            s.push_str(&format!("    subgraph cluster_S{} {{\n", g + 1));
            s.push_str(&format!(
                "        label={}; {CLUSTER_STYLE}\n",
                quote(&format!("stack set {set}"))
            ));
            indent = "        ";
        }
        for &n in &group.direct {
            node(&mut s, indent, n);
        }
        for (a, (account, members)) in group.accounts.iter().enumerate() {
            s.push_str(&format!(
                "{indent}subgraph cluster_S{}A{} {{\n",
                g + 1,
                a + 1
            ));
            s.push_str(&format!(
                "{indent}    label={}; {CLUSTER_STYLE}\n",
                quote(&format!("account {account}"))
            ));
            for &n in members {
                node(&mut s, &format!("{indent}    "), n);
            }
            s.push_str(&format!("{indent}}}\n"));
        }
        if group.stack_set.is_some() {
            s.push_str("    }\n");
        }
    }
    for e in &view.edges {
        s.push_str(&format!(
            "    {} -> {} [label={}];\n",
            quote(&view.nodes[e.from].id().to_string()),
            quote(&view.nodes[e.to].id().to_string()),
            quote(&e.label(&view))
        ));
    }
    s.push_str("    subgraph cluster_legend {\n");
    s.push_str(&format!("        label=\"Legend\"; {CLUSTER_STYLE}\n"));
    s.push_str(&format!(
        "        legend_root [label={}, {ROOT_STYLE}];\n",
        quote(Legend::ROOT)
    ));
    s.push_str(&format!(
        "        legend_consequence [label={}, {CONSEQUENCE_STYLE}];\n",
        quote(Legend::CONSEQUENCE)
    ));
    s.push_str(&format!(
        "        legend_collapsed [label={}, {CONSEQUENCE_STYLE}];\n",
        quote(Legend::COLLAPSED)
    ));
    if let Some(l) = &view.left_out {
        s.push_str(&format!(
            "        legend_left_out [label={}, shape=note];\n",
            quote(&Legend::left_out(l))
        ));
    }
    s.push_str(&format!(
        "        legend_root -> legend_consequence [label={}];\n",
        quote(Legend::edge(view.all_links))
    ));
    s.push_str("    }\n");
    if let Some(l) = &view.left_out {
        s.push_str(&format!(
            "    // {} of {} failures shown; {} nodes left out (MAX_NODES); all are in --format json\n",
            view.failures_shown(),
            r.failures.len(),
            l.nodes
        ));
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::digraph;
    use crate::report::graph_view::tests::{report, F};
    use crate::report::Options;

    /// A literal backslash-n in the input (`C:\new`) is text, not a line break.
    #[test]
    fn backslash_n_in_input_stays_text() {
        assert_eq!(
            super::label(&["C:\\new".into(), "b\"c".into()]),
            "\"C:\\\\new\\nb\\\"c\""
        );
    }

    /// What is outside dot's strings, with every string's text left out.
    fn skeleton(d: &str) -> String {
        let mut out = String::new();
        let (mut quoted, mut escaped) = (false, false);
        for c in d.chars() {
            match (c, quoted, escaped) {
                (_, true, true) => escaped = false,
                ('\\', true, false) => escaped = true,
                ('"', _, false) => {
                    quoted = !quoted;
                    out.push('"');
                }
                (c, false, _) => out.push(c),
                _ => {}
            }
        }
        assert!(!quoted, "every string is closed: {d}");
        out
    }

    /// Whatever the input says, the graph's structure (everything outside strings) is the same: input cannot
    /// end a string and add nodes, edges or attributes.
    #[test]
    fn input_cannot_end_a_string() {
        let plain = digraph(&report(&[F::default()]), &Options::default());
        let hostile = digraph(
            &report(&[F {
                message: "a\\\"]; \"F9\" -> \"F1\"; } digraph x { \\",
                logical: "B\"ucket\\\\n\\l",
                ..F::default()
            }]),
            &Options::default(),
        );
        assert_ne!(plain, hostile);
        assert_eq!(skeleton(&plain), skeleton(&hostile));
        assert!(
            plain.contains("subgraph cluster_S1 {") && plain.contains("subgraph cluster_S1A1 {")
        );
        assert!(plain.contains("subgraph cluster_legend {"));
        assert!(plain.contains("legend_collapsed [label=\"×N accounts"));
    }
}
