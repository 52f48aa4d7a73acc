//! The terminal report: a verdict, each root cause with its chain and fix, then a compact table of all
//! failures. Everything from the input is sanitised (no terminal control characters).

use std::collections::BTreeMap;
use std::io::{self, Write};

use tabled::settings::Style;
use tabled::{Table as TabledTable, Tabled};

use super::model::{Children, FailureOut, RootCauseOut};
use super::{Report, Reporter};
use crate::text::{clip, sanitize, shorten};
use crate::vocabulary::FailureId;

pub struct Table;

/// Beyond this many lines a chain is cut short (the JSON report has everything).
const MAX_CHAIN_LINES: usize = 40;
/// Beyond this many failures the table lists kinds of failure with counts instead of each failure.
const MAX_LISTED: usize = 60;
const WIDTH: usize = 110;

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "ID")]
    id: String,
    #[tabled(rename = "Stack set")]
    stack_set: String,
    #[tabled(rename = "Account")]
    account: String,
    #[tabled(rename = "Region")]
    region: String,
    #[tabled(rename = "Resource")]
    resource: String,
    #[tabled(rename = "Status")]
    status: String,
    #[tabled(rename = "Category")]
    category: String,
    #[tabled(rename = "Caused by")]
    caused_by: String,
}

#[derive(Tabled)]
struct KindRow {
    #[tabled(rename = "Count")]
    count: usize,
    #[tabled(rename = "Stack set")]
    stack_set: String,
    #[tabled(rename = "Resource")]
    resource: String,
    #[tabled(rename = "Status")]
    status: String,
    #[tabled(rename = "Category")]
    category: String,
    #[tabled(rename = "Accounts")]
    accounts: usize,
    #[tabled(rename = "Regions")]
    regions: String,
    #[tabled(rename = "Root cause")]
    root: String,
}

fn distinct<'a>(it: impl Iterator<Item = Option<&'a str>>) -> Vec<&'a str> {
    let mut v: Vec<&str> = it.flatten().collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn kind_rows(failures: &[FailureOut]) -> Vec<KindRow> {
    group_alike(failures.iter().collect())
        .into_iter()
        .map(|g| {
            let f = g[0];
            let accounts = distinct(g.iter().map(|x| x.account.as_deref()));
            let regions = distinct(g.iter().map(|x| x.region.as_deref()));
            let roots = distinct(g.iter().map(|x| x.root_cause.as_deref()));
            KindRow {
                count: g.len(),
                stack_set: opt(&f.stack_set),
                resource: sanitize(f.what()),
                status: sanitize(&f.status),
                category: if f.role == "root" {
                    format!("{} ◀ root", f.category)
                } else {
                    f.category.clone()
                },
                accounts: accounts.len(),
                regions: sanitize(&regions.join(", ")),
                root: if roots.is_empty() {
                    "-".into()
                } else {
                    shorten(&roots, 3, 2, "")
                },
            }
        })
        .collect()
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(sanitize).unwrap_or_else(|| "-".into())
}

impl Reporter for Table {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "stackset-doctor: {}", sanitize(&r.summary.verdict))?;
        // Warnings (skipped files) go to stderr as they happen; the terminal report does not repeat them.
        for c in &r.coverage {
            writeln!(out, "missing evidence: {}", sanitize(c))?;
        }
        for n in &r.notes {
            writeln!(out, "note: {}", sanitize(n))?;
        }
        let by_id: BTreeMap<FailureId, &FailureOut> =
            r.failures.iter().map(|f| (f.id, f)).collect();
        let children = r.children();
        // Identical independent failures across accounts (same rule, stack set, resource, message) read as one.
        let groups = group_by(r.root_causes.iter(), |rc| {
            (
                rc.rule.as_deref(),
                rc.stack_set.as_deref(),
                rc.logical_id.as_deref(),
                rc.message.as_str(),
            )
        });
        for g in &groups {
            writeln!(out)?;
            root_cause(out, g, &by_id, &children)?;
        }
        if !r.failures.is_empty() {
            writeln!(out)?;
            if r.failures.len() <= MAX_LISTED {
                writeln!(out, "ALL FAILURES ({})", r.failures.len())?;
                let mut t = TabledTable::new(r.failures.iter().map(row));
                t.with(Style::sharp());
                writeln!(out, "{t}")?;
            } else {
                writeln!(
                    out,
                    "FAILURES BY KIND ({} failures; each one is in --format json)",
                    r.failures.len()
                )?;
                let mut t = TabledTable::new(kind_rows(&r.failures));
                t.with(Style::sharp());
                writeln!(out, "{t}")?;
            }
        }
        Ok(())
    }
}

fn row(f: &FailureOut) -> Row {
    Row {
        id: f.id.to_string(),
        stack_set: opt(&f.stack_set),
        account: opt(&f.account),
        region: opt(&f.region),
        resource: match (
            f.logical_id.is_some() && f.level != "stack",
            &f.resource_type,
        ) {
            (true, Some(t)) => format!("{} ({})", sanitize(f.what()), sanitize(t)),
            _ => sanitize(f.what()),
        },
        status: sanitize(&f.status),
        category: if f.role == "root" {
            format!("{} ◀ root", f.category)
        } else {
            f.category.clone()
        },
        caused_by: f
            .caused_by
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-".into()),
    }
}

fn root_cause(
    out: &mut dyn Write,
    group: &[&RootCauseOut],
    by_id: &BTreeMap<FailureId, &FailureOut>,
    children: &Children<'_>,
) -> io::Result<()> {
    let rc = group[0];
    let ids = match group.len() {
        1 => rc.id.clone(),
        n => format!("{}…{} ({n} alike)", rc.id, group[n - 1].id),
    };
    writeln!(
        out,
        "ROOT CAUSE {ids}  {} · {}  (confidence {:.2})",
        rc.category,
        sanitize(
            rc.title
                .as_deref()
                .unwrap_or("no rule matched this message")
        ),
        rc.confidence
    )?;
    let resource = match (&rc.logical_id, &rc.resource_type) {
        (Some(l), Some(t)) => format!(" · {} ({})", sanitize(l), sanitize(t)),
        (Some(l), None) => format!(" · {}", sanitize(l)),
        _ => String::new(),
    };
    if group.len() == 1 {
        let place = [&rc.stack_set, &rc.account, &rc.region]
            .iter()
            .map(|s| opt(s))
            .collect::<Vec<_>>()
            .join(" · ");
        writeln!(out, "  where     {place}{resource}  [{}]", rc.failure)?;
    } else {
        let accounts = distinct(group.iter().map(|g| g.account.as_deref()));
        let regions = distinct(group.iter().map(|g| g.region.as_deref()));
        let shown = shorten(&accounts, 5, 4, "accounts");
        writeln!(
            out,
            "  where     {} · {} · {}{resource}",
            opt(&rc.stack_set),
            sanitize(&shown),
            sanitize(&regions.join(", "))
        )?;
        writeln!(out, "  note      the same failure, independently, {} times; shown once (each is in --format json)", group.len())?;
    }
    wrapped(out, "  message   ", &sanitize(&rc.message))?;
    if let Some(e) = &rc.explanation {
        wrapped(out, "  why       ", &sanitize(e))?;
    }
    if rc.impact.failures > 0 {
        let sets = rc
            .impact
            .stack_sets
            .iter()
            .map(|(s, n)| format!("{n} in {}", sanitize(s)))
            .collect::<Vec<_>>()
            .join(", ");
        let accounts = match rc.impact.accounts {
            0 => String::new(),
            1 => " in 1 account".to_owned(),
            n => format!(" across {n} accounts"),
        };
        writeln!(
            out,
            "  explains  {} failure{} ({sets}){accounts}",
            rc.impact.failures,
            if rc.impact.failures == 1 { "" } else { "s" },
        )?;
        writeln!(out, "  chain")?;
        let mut lines = 0usize;
        if let Some(root) = by_id.get(&rc.failure) {
            writeln!(out, "    {}", node_line(&[root], None))?;
            chain(out, &[rc.failure], children, "    ", &mut lines)?;
        }
        if lines >= MAX_CHAIN_LINES {
            writeln!(
                out,
                "    … chain cut at {MAX_CHAIN_LINES} lines; all {} failures are in --format json",
                rc.impact.failures
            )?;
        }
    }
    fix(out, rc)
}

/// The numbered fix, and for an SCP/RCP deny the patch, its proof and what could not be settled.
fn fix(out: &mut dyn Write, rc: &RootCauseOut) -> io::Result<()> {
    writeln!(out, "  fix")?;
    wrapped(out, "    summary  ", &sanitize(&rc.remediation.summary))?;
    for (n, s) in rc.remediation.steps.iter().enumerate() {
        wrapped(out, &format!("    {:>2}. ", n + 1), &sanitize(s))?;
    }
    if let Some(ex) = &rc.remediation.scp_exemption {
        if let Some(st) = &ex.statement {
            wrapped(
                out,
                "    patch    ",
                &sanitize(&format!("{} ({})", st.statement, st.located_by)),
            )?;
            for l in st.diff.lines() {
                writeln!(out, "      {}", sanitize(l))?;
            }
            if let Some(cmd) = &st.apply_command {
                wrapped(out, "    apply    ", &sanitize(cmd))?;
            }
        }
        if !ex.proof.is_empty() {
            let held = ex.proof.iter().filter(|p| p.ok).count();
            writeln!(
                out,
                "    proof    {held}/{} checks hold{}",
                ex.proof.len(),
                if ex.proven { "" } else { " — NOT PROVEN" }
            )?;
            for p in &ex.proof {
                wrapped(
                    out,
                    &format!("      {}  ", if p.ok { "ok  " } else { "FAIL" }),
                    &sanitize(&p.description),
                )?;
            }
        }
        if let Some(n) = &ex.evaluation_note {
            wrapped(out, "    note     ", &sanitize(n))?;
        }
        for w in &ex.warnings {
            wrapped(out, "    warning  ", &sanitize(w))?;
        }
    }
    Ok(())
}

/// Siblings with the same stack set, resource, category and message print as one line with a count; the
/// children of a group are gathered and grouped the same way, so 500 alike consequences take one line.
fn chain(
    out: &mut dyn Write,
    parents: &[FailureId],
    children: &Children<'_>,
    indent: &str,
    lines: &mut usize,
) -> io::Result<()> {
    let mut kids: Vec<&FailureOut> = parents
        .iter()
        .filter_map(|p| children.get(p))
        .flatten()
        .copied()
        .collect();
    kids.sort_by_key(|f| f.level_rank());
    let groups = group_alike(kids);
    let n = groups.len();
    for (gi, g) in groups.iter().enumerate() {
        if *lines >= MAX_CHAIN_LINES {
            return Ok(());
        }
        let last = gi + 1 == n;
        let link = g[0].link.as_ref().map(|l| l.kind.as_str());
        writeln!(
            out,
            "{indent}{}{}",
            if last { "└─ " } else { "├─ " },
            node_line(g, link)
        )?;
        *lines += 1;
        let deeper = format!("{indent}{}", if last { "   " } else { "│  " });
        let ids: Vec<FailureId> = g.iter().map(|f| f.id).collect();
        chain(out, &ids, children, &deeper, lines)?;
    }
    Ok(())
}

/// Group failures alike in all but account and region ([`FailureOut::alike_key`]), keeping first-seen order.
fn group_alike(items: Vec<&FailureOut>) -> Vec<Vec<&FailureOut>> {
    group_by(items, FailureOut::alike_key)
}

/// Items with equal keys together, groups in first-seen order.
fn group_by<T: Copy, K: Ord>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(T) -> K,
) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    let mut index: BTreeMap<K, usize> = BTreeMap::new();
    for item in items {
        match index.entry(key(item)) {
            std::collections::btree_map::Entry::Occupied(e) => groups[*e.get()].push(item),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(groups.len());
                groups.push(vec![item]);
            }
        }
    }
    groups
}

fn node_line(group: &[&FailureOut], link: Option<&str>) -> String {
    let f = group[0];
    let ids: Vec<String> = group.iter().map(|g| g.id.to_string()).collect();
    let ids = shorten(&ids, 4, 2, "failures");
    let mut accounts: Vec<&str> = group.iter().filter_map(|g| g.account.as_deref()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let mut regions: Vec<&str> = group.iter().filter_map(|g| g.region.as_deref()).collect();
    regions.sort_unstable();
    regions.dedup();
    let acct = match accounts.len() {
        0 => "-".to_owned(),
        1 => accounts[0].to_owned(),
        n if n <= 3 => accounts.join(", "),
        n => format!("{n} accounts"),
    };
    let where_ = format!(
        "{} · {} · {}",
        f.stack_set.as_deref().unwrap_or("-"),
        acct,
        if regions.is_empty() {
            "-".to_owned()
        } else {
            regions.join(", ")
        }
    );
    let what = f.what();
    let msg = if f.message.is_empty() && f.level == "operation" {
        // StackSets gives a failed operation no reason of its own: its failed instances are the reason.
        "the operation failed because the instances under it did".to_owned()
    } else if f.message.is_empty() {
        "(no status reason)".to_owned()
    } else {
        clip(&f.message, 90)
    };
    let link = link.map(|l| format!("  [{l}]")).unwrap_or_default();
    sanitize(&format!(
        "{ids}  {where_} · {what} {}: {msg}{link}",
        f.status
    ))
}

/// Write `text` after `lead`, wrapping at word boundaries with a hanging indent.
fn wrapped(out: &mut dyn Write, lead: &str, text: &str) -> io::Result<()> {
    let indent = " ".repeat(lead.chars().count());
    let width = WIDTH.saturating_sub(indent.len()).max(40);
    let mut line = String::new();
    let mut first = true;
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            writeln!(out, "{}{line}", if first { lead } else { &indent })?;
            first = false;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    writeln!(out, "{}{line}", if first { lead } else { &indent })
}
