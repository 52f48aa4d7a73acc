//! Graphviz dot: the same graph as the Mermaid diagram, for `dot -Tsvg`.

use std::io::{self, Write};

use super::{sanitize, Report, Reporter};

pub struct Dot;

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in sanitize(s).chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
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
            let text = format!(
                "{} {}\\n{}\\n{} · {} · {}",
                f.id,
                f.what(),
                f.category,
                f.stack_set.as_deref().unwrap_or("-"),
                f.account.as_deref().unwrap_or("-"),
                f.region.as_deref().unwrap_or("-")
            );
            // `\n` in a dot label is a line break; keep ours and escape the rest.
            let label = quote(&text).replace("\\\\n", "\\n");
            let style = if f.role == "root" {
                ", style=filled, fillcolor=\"#fde2e1\", color=\"#c0392b\""
            } else {
                ""
            };
            writeln!(out, "    {} [label={label}{style}];", quote(&f.id))?;
        }
        for l in &r.links {
            let kind = l.kind.as_str();
            writeln!(
                out,
                "    {} -> {} [label={}];",
                quote(&l.to),
                quote(&l.from),
                quote(kind)
            )?;
        }
        writeln!(out, "}}")
    }
}
