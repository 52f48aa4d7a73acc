//! Markdown: a self-contained support-ticket attachment — summary, root causes with chain and fix, evidence
//! table and the Mermaid diagram. Everything from the input is escaped, so a resource name cannot inject
//! Markdown or HTML.

use std::io::{self, Write};

use super::model::{Children, FailureOut, RootCauseOut};
use super::{mermaid, Report, Reporter};
use crate::text::{sanitize, sanitize_lines};
use crate::vocabulary::FailureId;

pub struct Markdown;

/// Escape text for Markdown prose and table cells.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in sanitize(s).chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' | '{' | '}' => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o
}

fn esc_list(items: &[String]) -> String {
    items.iter().map(|s| esc(s)).collect::<Vec<_>>().join(", ")
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(esc).unwrap_or_else(|| "–".into())
}

impl Reporter for Markdown {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# StackSet deployment diagnosis\n")?;
        writeln!(out, "{}\n", esc(&r.summary.verdict))?;
        writeln!(out, "| | |\n|---|---|")?;
        writeln!(out, "| Failures | {} |", r.summary.failures)?;
        writeln!(
            out,
            "| Root causes | {} ({} matched no rule) |",
            r.summary.root_causes, r.summary.unexplained_root_causes
        )?;
        writeln!(out, "| Stack sets | {} |", esc_list(&r.summary.stack_sets))?;
        writeln!(out, "| Accounts | {} |", esc_list(&r.summary.accounts))?;
        writeln!(out, "| Regions | {} |", esc_list(&r.summary.regions))?;
        writeln!(
            out,
            "| Tool | {} {} (report schema {}) |",
            r.tool.name, r.tool.version, r.schema
        )?;
        for w in r.warnings.iter().chain(&r.coverage).chain(&r.notes) {
            writeln!(out, "\n> **Note:** {}", esc(w))?;
        }
        let children = r.children();
        for rc in &r.root_causes {
            root_cause(out, &children, rc)?;
        }
        if !r.failures.is_empty() {
            writeln!(out, "\n## Evidence\n")?;
            writeln!(out, "| ID | Stack set | Account | Region | Resource | Status | Category | Rule | Caused by | Message |")?;
            writeln!(out, "|---|---|---|---|---|---|---|---|---|---|")?;
            for f in &r.failures {
                writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {}{} | {} | {} | {} |",
                    f.id,
                    opt(&f.stack_set),
                    opt(&f.account),
                    opt(&f.region),
                    resource(f),
                    esc(&f.status),
                    esc(&f.category),
                    if f.role == "root" { " **(root)**" } else { "" },
                    opt(&f.rule),
                    opt(&f.caused_by.map(|c| c.to_string())),
                    esc(&f.message),
                )?;
            }
            writeln!(out, "\n## Diagram\n")?;
            writeln!(
                out,
                "```mermaid\n{}```",
                mermaid::flowchart(r, &super::Options::default())
            )?;
        }
        Ok(())
    }
}

fn resource(f: &FailureOut) -> String {
    match (
        f.logical_id.is_some() && f.level != "stack",
        &f.resource_type,
    ) {
        (true, Some(t)) => format!("{} ({})", esc(f.what()), esc(t)),
        _ => esc(f.what()),
    }
}

fn root_cause(out: &mut dyn Write, children: &Children<'_>, rc: &RootCauseOut) -> io::Result<()> {
    writeln!(
        out,
        "\n## Root cause {}: {}\n",
        rc.id,
        esc(rc
            .title
            .as_deref()
            .unwrap_or("no rule matched this message"))
    )?;
    writeln!(
        out,
        "- **Category:** {} (matched by {}, confidence {:.2})",
        esc(&rc.category),
        opt(&rc.matched_by),
        rc.confidence
    )?;
    writeln!(
        out,
        "- **Where:** stack set {}, account {}, region {}, resource {}",
        opt(&rc.stack_set),
        opt(&rc.account),
        opt(&rc.region),
        match (&rc.logical_id, &rc.resource_type) {
            (Some(l), Some(t)) => format!("{} ({})", esc(l), esc(t)),
            (Some(l), None) => esc(l),
            _ => "(stack instance)".into(),
        }
    )?;
    writeln!(out, "- **Message:** {}", esc(&rc.message))?;
    if let Some(e) = &rc.explanation {
        writeln!(out, "- **Why:** {}", esc(e))?;
    }
    if !rc.explains.is_empty() {
        writeln!(out, "\n### Chain\n")?;
        writeln!(
            out,
            "This failure explains {} other failure(s):\n",
            rc.explains.len()
        )?;
        chain(out, children, rc.failure, 0)?;
    }
    writeln!(out, "\n### Fix\n")?;
    writeln!(out, "{}\n", esc(&rc.remediation.summary))?;
    for (n, s) in rc.remediation.steps.iter().enumerate() {
        writeln!(out, "{}. {}", n + 1, esc(s))?;
    }
    if let Some(ex) = &rc.remediation.scp_exemption {
        if let Some(st) = &ex.statement {
            writeln!(
                out,
                "\nPatch of statement {} ({}):\n",
                esc(&st.statement),
                esc(&st.located_by)
            )?;
            // A fence longer than any backtick run inside keeps the block closed.
            let fence = "`".repeat(longest_backtick_run(&st.diff).max(2) + 1);
            writeln!(
                out,
                "{fence}diff\n{}\n{fence}",
                sanitize_lines(st.diff.trim_end())
            )?;
            if let Some(cmd) = &st.apply_command {
                writeln!(out, "\nApply with: {}", esc(cmd))?;
            }
        }
        if !ex.proof.is_empty() {
            let held = ex.proof.iter().filter(|p| p.ok).count();
            writeln!(
                out,
                "\n**Proof** ({held}/{} checks hold{}):\n",
                ex.proof.len(),
                if ex.proven { "" } else { "; not proven" }
            )?;
            for p in &ex.proof {
                writeln!(
                    out,
                    "- {} {} — before: {}; after: {}",
                    if p.ok { "✅" } else { "❌" },
                    esc(&p.description),
                    esc(&p.before),
                    esc(&p.after)
                )?;
            }
        }
        if let Some(n) = &ex.evaluation_note {
            writeln!(out, "\n> **Note:** {}", esc(n))?;
        }
        for w in &ex.warnings {
            writeln!(out, "\n> **Warning:** {}", esc(w))?;
        }
    }
    Ok(())
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

const MAX_DEPTH: usize = 12;

fn chain(
    out: &mut dyn Write,
    children: &Children<'_>,
    id: FailureId,
    depth: usize,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let mut kids: Vec<&FailureOut> = children.get(&id).cloned().unwrap_or_default();
    kids.sort_by_key(|f| f.level_rank());
    for f in kids {
        let link = f.link.as_ref().map(|l| l.kind.as_str());
        writeln!(
            out,
            "{}- {} — {} / {} / {} / {}: {} — {} *({})*",
            "  ".repeat(depth),
            f.id,
            opt(&f.stack_set),
            opt(&f.account),
            opt(&f.region),
            esc(f.what()),
            esc(&f.status),
            esc(&f.message),
            link.unwrap_or_default()
        )?;
        chain(out, children, f.id, depth + 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markdown_and_html() {
        assert_eq!(
            super::esc("<img src=x>*b*|[l](u)"),
            "&lt;img src=x&gt;\\*b\\*\\|\\[l\\](u)"
        );
    }
}
