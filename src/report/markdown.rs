//! Markdown: a self-contained support-ticket attachment — summary, root causes with chain and fix, evidence
//! table and the Mermaid diagram. Everything from the input is escaped, so a resource name cannot inject
//! Markdown or HTML.

use std::io::{self, Write};

use super::model::{group_alike, Children, FailureOut, RootCauseGroup};
use super::{mermaid, steps, Report, Reporter};
use crate::text::{clip, sanitize, sanitize_lines, shorten};
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

const MAX_DEPTH: usize = 12;

/// Beyond this many failures the evidence table lists kinds of failure with counts (as the terminal does).
const MAX_LISTED: usize = 60;
/// Beyond this many lines a chain is cut short (the JSON report has everything).
const MAX_CHAIN_LINES: usize = 40;

impl Reporter for Markdown {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# StackSet deployment diagnosis\n")?;
        writeln!(out, "**{}**\n", esc(&r.summary.verdict))?;
        writeln!(out, "| | |\n|---|---|")?;
        writeln!(out, "| Failures | {} |", r.summary.failures)?;
        writeln!(
            out,
            "| Root causes | {} ({} matched no rule) |",
            r.summary.root_causes, r.summary.unexplained_root_causes
        )?;
        writeln!(out, "| Stack sets | {} |", esc_list(&r.summary.stack_sets))?;
        writeln!(
            out,
            "| Accounts | {} |",
            esc(&shorten(&r.summary.accounts, 12, 10, "accounts"))
        )?;
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
        for g in &r.root_cause_groups {
            root_cause(out, r, g, &children)?;
        }
        if let Some(gantt) = super::timeline::gantt(r) {
            writeln!(out, "\n## Timeline\n")?;
            writeln!(out, "```mermaid\n{gantt}```")?;
        }
        if !r.failures.is_empty() {
            evidence(out, r)?;
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

/// The evidence table: a row per failure (narrow: where, what, status, cause), or per kind of failure at scale.
fn evidence(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(out, "\n## Evidence\n")?;
    if r.failures.len() <= MAX_LISTED {
        writeln!(out, "| ID | Where | Resource | Status | Cause |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in &r.failures {
            writeln!(
                out,
                "| {} | {}<br>{} · {} | {} | {}<br>{}{} | {} |",
                f.id,
                opt(&f.stack_set),
                opt(&f.account),
                opt(&f.region),
                resource(f),
                esc(&f.status),
                esc(&f.category),
                if f.role == "root" { " **(root)**" } else { "" },
                opt(&f.caused_by.map(|c| c.to_string())),
            )?;
        }
        writeln!(
            out,
            "\nEvery failure's message is in the chains above, and in `--format json`."
        )?;
    } else {
        writeln!(
            out,
            "{} failures, by kind (each one is in `--format json`):\n",
            r.failures.len()
        )?;
        writeln!(
            out,
            "| Count | Stack set | Resource | Status | Accounts | Regions | Root cause |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|")?;
        for g in group_alike(r.failures.iter().collect()) {
            let f = g[0];
            let mut accounts: Vec<&str> = g.iter().filter_map(|x| x.account.as_deref()).collect();
            accounts.sort_unstable();
            accounts.dedup();
            let mut regions: Vec<&str> = g.iter().filter_map(|x| x.region.as_deref()).collect();
            regions.sort_unstable();
            regions.dedup();
            let mut roots: Vec<&str> = g.iter().filter_map(|x| x.root_cause.as_deref()).collect();
            roots.sort_unstable();
            roots.dedup();
            writeln!(
                out,
                "| {} | {} | {} | {}<br>{} | {} | {} | {} |",
                g.len(),
                opt(&f.stack_set),
                esc(f.what()),
                esc(&f.status),
                esc(&f.category),
                accounts.len(),
                esc(&shorten(&regions, 4, 3, "Regions")),
                esc(&shorten(&roots, 3, 2, "")),
            )?;
        }
    }
    Ok(())
}

fn resource(f: &FailureOut) -> String {
    match (
        f.logical_id.is_some() && f.level != "stack",
        &f.resource_type,
    ) {
        (true, Some(t)) => format!("{}<br>({})", esc(f.what()), esc(t)),
        _ => esc(f.what()),
    }
}

/// Prose with its code: text escaped, code as a code span (a fence longer than any backtick run inside).
fn prose(pieces: &[steps::Piece<'_>]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            steps::Piece::Text(t) => esc(t),
            steps::Piece::Code(c) => code_span(c),
        })
        .collect()
}

fn code_span(c: &str) -> String {
    let c = sanitize(c);
    let fence = "`".repeat(longest_backtick_run(&c) + 1);
    let pad = if c.starts_with('`') || c.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{c}{pad}{fence}")
}

/// A block of code (a command, a document) in a fence no line inside can close.
fn code_block(out: &mut dyn Write, indent: &str, lang: &str, body: &str) -> io::Result<()> {
    let body = sanitize_lines(body.trim_end());
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    writeln!(out, "{indent}{fence}{lang}")?;
    for l in body.lines() {
        writeln!(out, "{indent}{l}")?;
    }
    writeln!(out, "{indent}{fence}")
}

fn root_cause(
    out: &mut dyn Write,
    r: &Report,
    g: &RootCauseGroup,
    children: &Children<'_>,
) -> io::Result<()> {
    let members = r.members(g);
    let Some(&rc) = members.first() else {
        return Ok(());
    };
    let ids = g.label();
    writeln!(
        out,
        "\n## Root cause {ids}: {}\n",
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
    let what = match (&rc.logical_id, &rc.resource_type) {
        (Some(l), Some(t)) => format!("{} ({})", esc(l), esc(t)),
        (Some(l), None) => esc(l),
        _ => "(stack instance)".into(),
    };
    if members.len() == 1 {
        writeln!(
            out,
            "- **Where:** stack set {}, account {}, Region {}, resource {what}",
            opt(&rc.stack_set),
            opt(&rc.account),
            opt(&rc.region),
        )?;
    } else {
        writeln!(
            out,
            "- **Where:** stack set {}, resource {what}, the same failure independently in {} accounts ({}) and Regions {}",
            opt(&rc.stack_set),
            g.accounts.len(),
            esc(&shorten(&g.accounts, 8, 6, "accounts")),
            esc_list(&g.regions),
        )?;
    }
    if let Some(t) = rc.timestamp {
        writeln!(out, "- **When:** {}", t.format("%Y-%m-%d %H:%M:%S UTC"))?;
    }
    writeln!(out, "- **Message:** {}", esc(&rc.message))?;
    if let Some(t) = &rc.trail {
        writeln!(out, "- **CloudTrail:** {}", esc(&t.line()))?;
    }
    if let Some(h) = &rc.lock_holder {
        writeln!(out, "- **Held by:** {}", esc(&super::model::holder_line(h)))?;
    }
    if let Some(r) = &rc.race {
        writeln!(
            out,
            "- **Race:** {} — ready {}, failed {} ({} s later)",
            r.kind.as_str(),
            r.ready.format("%H:%M:%S UTC"),
            r.failed.format("%H:%M:%S UTC"),
            r.gap_seconds
        )?;
    }
    if let Some(e) = &rc.explanation {
        writeln!(out, "- **Why:** {}", esc(e))?;
    }
    if !rc.looked_for.is_empty() {
        writeln!(out, "- **Looked for:**")?;
        for f in &rc.looked_for {
            writeln!(out, "  - {}", esc(&f.line()))?;
        }
    }
    let explained: usize = members.iter().map(|m| m.impact.failures).sum();
    if explained > 0 {
        writeln!(out, "\n### Chain\n")?;
        writeln!(
            out,
            "This failure explains {explained} other failure(s); alike ones are shown once:\n"
        )?;
        let mut lines = 0;
        chain(out, children, &[rc.failure], 0, &mut lines)?;
        if lines >= MAX_CHAIN_LINES {
            writeln!(
                out,
                "- … cut at {MAX_CHAIN_LINES} lines; every failure is in `--format json`"
            )?;
        }
    }
    writeln!(out, "\n### Fix\n")?;
    let shown = rc.steps_for(g);
    if !rc.summary_repeats(&shown) {
        writeln!(out, "{}\n", esc(&rc.remediation.summary))?;
    }
    for (n, s) in shown.iter().enumerate() {
        let step = steps::split(s);
        writeln!(out, "{}. {}", n + 1, prose(&step.prose))?;
        for c in &step.commands {
            writeln!(out)?;
            code_block(out, "   ", "sh", c)?;
        }
    }
    if let Some(ex) = &rc.remediation.scp_exemption {
        if let Some(st) = &ex.statement {
            writeln!(
                out,
                "\nPatch of statement {} ({}):\n",
                esc(&st.statement),
                esc(&st.located_by)
            )?;
            code_block(out, "", "diff", &st.diff)?;
            writeln!(
                out,
                "\n<details><summary>The patched policy document</summary>\n"
            )?;
            let doc = serde_json::to_string_pretty(&st.patched).unwrap_or_default();
            code_block(out, "", "json", &doc)?;
            writeln!(out, "\n</details>")?;
            if let Some(cmd) = &st.apply_command {
                writeln!(
                    out,
                    "\nApply it (with the document above saved where the command says):\n"
                )?;
                code_block(out, "", "sh", cmd)?;
            }
        }
        if !ex.proof.is_empty() {
            let held = ex.proof.iter().filter(|p| p.ok).count();
            writeln!(
                out,
                "\n**Proof** ({held}/{} checks hold{}; each request evaluated before and after the patch):\n",
                ex.proof.len(),
                if ex.proven { "" } else { "; not proven" }
            )?;
            for p in &ex.proof {
                writeln!(
                    out,
                    "- {} {} — {} → {}",
                    if p.ok { "✅" } else { "❌" },
                    esc(&p.description),
                    esc(short_verdict(&p.before)),
                    esc(short_verdict(&p.after))
                )?;
            }
        }
        if let Some(c) = &rc.remediation.template_check {
            writeln!(
                out,
                "\n**The whole template:** {} {}",
                c.mark(),
                esc(&c.sentence())
            )?;
        }
        if let Some(n) = &ex.evaluation_note {
            writeln!(out, "\n> **Note:** {}", esc(n))?;
        }
        for w in &ex.warnings {
            writeln!(out, "\n> **Warning:** {}", esc(w))?;
        }
    }
    if !rc.console.is_empty() || !rc.remediation.references.is_empty() {
        writeln!(out, "\n### Links\n")?;
        for l in &rc.console {
            writeln!(out, "- {}: <{}>", esc(&l.label), url(&l.url))?;
        }
        for u in &rc.remediation.references {
            writeln!(out, "- <{}>", url(u))?;
        }
    }
    Ok(())
}

/// An address for an autolink: nothing that could close it or start markup.
fn url(u: &str) -> String {
    sanitize(u)
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | ' ' | '"' | '`'))
        .collect()
}

/// A proof verdict in its first words ("explicitly denied", "allowed"): the full verdict is in the patch's
/// heading and in the JSON report.
fn short_verdict(v: &str) -> &str {
    v.split(" by ").next().unwrap_or(v)
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Siblings alike in all but account and Region are one line with their count, as in the terminal.
fn chain(
    out: &mut dyn Write,
    children: &Children<'_>,
    parents: &[FailureId],
    depth: usize,
    lines: &mut usize,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let mut kids: Vec<&FailureOut> = parents
        .iter()
        .filter_map(|p| children.get(p))
        .flatten()
        .copied()
        .collect();
    kids.sort_by_key(|f| f.level_rank());
    for g in group_alike(kids) {
        if *lines >= MAX_CHAIN_LINES {
            return Ok(());
        }
        *lines += 1;
        let f = g[0];
        let ids: Vec<String> = g.iter().map(|x| x.id.to_string()).collect();
        let mut accounts: Vec<&str> = g.iter().filter_map(|x| x.account.as_deref()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let link = f.link.as_ref().map(|l| l.kind.as_str());
        writeln!(
            out,
            "{}- {} — {} / {} / {} / {}: {} — {} *({})*",
            "  ".repeat(depth),
            esc(&shorten(&ids, 4, 2, "failures")),
            opt(&f.stack_set),
            esc(&match accounts.len() {
                0 => "–".to_owned(),
                n if n <= 3 => accounts.join(", "),
                n => format!("{n} accounts"),
            }),
            opt(&f.region),
            esc(f.what()),
            esc(&f.status),
            esc(&clip(f.shown_message(), 300)),
            link.unwrap_or_default()
        )?;
        let ids: Vec<FailureId> = g.iter().map(|x| x.id).collect();
        chain(out, children, &ids, depth + 1, lines)?;
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
