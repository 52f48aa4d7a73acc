//! Graphviz dot: the same graph as the Mermaid diagram, for `dot -Tsvg`.

use std::io::{self, Write};

use super::{Report, Reporter};
use crate::text::sanitize;

pub struct Dot;

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
        writeln!(out, "digraph stackset_doctor {{")?;
        writeln!(out, "    rankdir=LR;")?;
        writeln!(
            out,
            "    node [shape=box, fontname=\"Helvetica\", fontsize=10];"
        )?;
        for f in &r.failures {
            let label = label(&[
                format!("{} {}", f.id, f.what()),
                f.category.clone(),
                format!(
                    "{} · {} · {}",
                    f.stack_set.as_deref().unwrap_or("-"),
                    f.account.as_deref().unwrap_or("-"),
                    f.region.as_deref().unwrap_or("-")
                ),
            ]);
            let style = if f.role == "root" {
                ", style=filled, fillcolor=\"#fde2e1\", color=\"#c0392b\""
            } else {
                ""
            };
            writeln!(
                out,
                "    {} [label={label}{style}];",
                quote(&f.id.to_string())
            )?;
        }
        for l in &r.links {
            let kind = l.kind.as_str();
            writeln!(
                out,
                "    {} -> {} [label={}];",
                quote(&l.to.to_string()),
                quote(&l.from.to_string()),
                quote(kind)
            )?;
        }
        writeln!(out, "}}")
    }
}

#[cfg(test)]
mod tests {
    /// A literal backslash-n in the input (`C:\new`) is text, not a line break.
    #[test]
    fn backslash_n_in_input_stays_text() {
        assert_eq!(
            super::label(&["C:\\new".into(), "b\"c".into()]),
            "\"C:\\\\new\\nb\\\"c\""
        );
    }
}
