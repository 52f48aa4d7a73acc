//! The terminal report, laid out for the width it is given (docs/report-layout.md): the verdict first, each
//! group of alike root causes with its chain and fix, a table of the failures that fits the width, and a short
//! closing block — the root cause, the fix's first command, where the rest is — so the answer is on screen when
//! the command ends. Everything from the input is sanitised (no terminal control characters); colour only when
//! [`Options::color`] says so.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};
use tabled::settings::Style as TableStyle;
use unicode_width::UnicodeWidthStr;

use super::model::{
    distinct, group_alike, holder_line, Children, FailureOut, RootCauseGroup, RootCauseOut,
};
use super::steps;
use super::{Options, Report, Reporter};
use crate::text::{clip_to, sanitize, shorten, wrap, wrap_hard};
use crate::vocabulary::FailureId;

#[derive(Default)]
pub struct Table {
    pub opts: Options,
}

/// Beyond this many lines a chain is cut short (the JSON report has everything).
const MAX_CHAIN_LINES: usize = 40;
/// Beyond this many failures the table lists kinds of failure with counts instead of each failure.
const MAX_LISTED: usize = 60;

/// What each kind of text looks like on a colour terminal.
#[derive(Clone, Copy)]
enum Tone {
    Heading,
    Root,
    Fix,
    Command,
    Warn,
    Ok,
    Bad,
    Dim,
}

impl Tone {
    fn style(self) -> Style {
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Tone::Heading => Style::new().effects(Effects::BOLD),
            Tone::Root => fg(AnsiColor::Red).effects(Effects::BOLD),
            Tone::Fix => fg(AnsiColor::Green).effects(Effects::BOLD),
            Tone::Command => fg(AnsiColor::Cyan),
            Tone::Warn => fg(AnsiColor::Yellow),
            Tone::Ok => fg(AnsiColor::Green),
            Tone::Bad => fg(AnsiColor::Red).effects(Effects::BOLD),
            Tone::Dim => Style::new().effects(Effects::DIMMED),
        }
    }
}

/// Writes lines for one width, in colour or not.
struct Out<'w> {
    w: &'w mut dyn Write,
    width: usize,
    color: bool,
}

impl Out<'_> {
    fn paint(&self, tone: Tone, s: &str) -> String {
        if self.color {
            let st = tone.style();
            format!("{}{s}{}", st.render(), st.render_reset())
        } else {
            s.to_owned()
        }
    }

    fn line(&mut self, s: &str) -> io::Result<()> {
        writeln!(self.w, "{s}")
    }

    fn blank(&mut self) -> io::Result<()> {
        writeln!(self.w)
    }

    /// `text` after `lead`, wrapped at the width with a hanging indent; `tone` colours the lead.
    fn wrapped(&mut self, lead: &str, tone: Option<Tone>, text: &str) -> io::Result<()> {
        self.toned(lead, tone, text, None)
    }

    /// [`Out::wrapped`], colouring the text too (line by line, after wrapping: escapes take no columns).
    fn toned(
        &mut self,
        lead: &str,
        lead_tone: Option<Tone>,
        text: &str,
        text_tone: Option<Tone>,
    ) -> io::Result<()> {
        let indent = " ".repeat(lead.width());
        let width = self.width.saturating_sub(indent.len()).max(20);
        let shown_lead = match lead_tone {
            Some(t) => self.paint(t, lead),
            None => lead.to_owned(),
        };
        for (i, l) in wrap(text, width).iter().enumerate() {
            let l = match text_tone {
                Some(t) => self.paint(t, l),
                None => l.clone(),
            };
            writeln!(self.w, "{}{l}", if i == 0 { &shown_lead } else { &indent })?;
        }
        Ok(())
    }

    /// A command on a line of its own, never wrapped: a wrapped command does not paste.
    fn command(&mut self, indent: &str, cmd: &str) -> io::Result<()> {
        let c = self.paint(Tone::Command, &sanitize(cmd));
        writeln!(self.w, "{indent}{c}")
    }
}

fn category(f: &FailureOut) -> String {
    if f.role == "root" {
        format!("{} ◀ root", f.category)
    } else {
        f.category.clone()
    }
}

/// A failure's message for a cell: what it says, or why there is none.
fn message(f: &FailureOut) -> String {
    sanitize(f.shown_message())
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(sanitize).unwrap_or_else(|| "-".into())
}

fn resource(f: &FailureOut, sep: &str) -> String {
    match (
        f.logical_id.is_some() && f.level != "stack",
        &f.resource_type,
    ) {
        (true, Some(t)) => format!("{}{sep}({})", sanitize(f.what()), sanitize(t)),
        _ => sanitize(f.what()),
    }
}

fn caused_by(f: &FailureOut) -> String {
    f.caused_by
        .map(|c| c.to_string())
        .unwrap_or_else(|| "-".into())
}

/// The shapes of the failure table, widest first: the first whose other columns leave the message
/// [`MIN_MESSAGE`] columns is used (docs/report-layout.md#tables).
#[derive(Clone, Copy)]
enum Shape {
    /// A column per field.
    Wide,
    /// Fields that belong together share a cell, one per line.
    Medium,
    /// One cell says what failed and where; the message beside it.
    Narrow,
}

/// The message column is never narrower than this; when even the narrowest shape leaves less, the other
/// columns give way too.
const MIN_MESSAGE: usize = 24;

fn headers(shape: Shape) -> &'static [&'static str] {
    match shape {
        Shape::Wide => &[
            "ID",
            "Stack set",
            "Account",
            "Region",
            "Resource",
            "Status",
            "Category",
            "Cause",
            "Message",
        ],
        Shape::Medium => &["ID", "Where", "Resource", "Status", "Cause", "Message"],
        Shape::Narrow => &["ID", "Failure", "Message"],
    }
}

fn cells(shape: Shape, f: &FailureOut) -> Vec<String> {
    let id = f.id.to_string();
    match shape {
        Shape::Wide => vec![
            id,
            opt(&f.stack_set),
            opt(&f.account),
            opt(&f.region),
            resource(f, " "),
            sanitize(&f.status),
            category(f),
            caused_by(f),
            message(f),
        ],
        Shape::Medium => vec![
            id,
            format!(
                "{}\n{} · {}",
                opt(&f.stack_set),
                opt(&f.account),
                opt(&f.region)
            ),
            resource(f, "\n"),
            format!("{}\n{}", sanitize(&f.status), category(f)),
            caused_by(f),
            message(f),
        ],
        Shape::Narrow => vec![
            format!("{id}\n← {}", caused_by(f)),
            format!(
                "{}\n{} · {}\n{}\n{} · {}",
                resource(f, "\n"),
                sanitize(&f.status),
                category(f),
                opt(&f.stack_set),
                opt(&f.account),
                opt(&f.region)
            ),
            message(f),
        ],
    }
}

/// The widest line of a cell.
fn cell_width(s: &str) -> usize {
    s.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// A table of `rows` under `headers` that fits `width`: every column at its natural width but the last (the
/// message), which wraps at words in the room left. When that leaves the message less than [`MIN_MESSAGE`], the
/// widest other columns give way first, one column at a time, their cells wrapped line by line.
fn fitted(headers: &[&str], mut rows: Vec<Vec<String>>, width: usize) -> String {
    let n = headers.len();
    let mut caps: Vec<usize> = (0..n - 1)
        .map(|c| {
            rows.iter()
                .map(|r| cell_width(&r[c]))
                .chain(std::iter::once(headers[c].width()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    // A sharp table: one border before each column and one after the last, one space of padding each side.
    let frame = 3 * n + 1;
    while caps.iter().sum::<usize>() + frame + MIN_MESSAGE > width {
        let Some((widest, &w)) = caps.iter().enumerate().max_by_key(|(_, w)| **w) else {
            break;
        };
        if w <= 8 {
            break;
        }
        caps[widest] = w - 1;
    }
    let room = width
        .saturating_sub(caps.iter().sum::<usize>() + frame)
        .max(MIN_MESSAGE);
    for r in &mut rows {
        for (c, &cap) in caps.iter().enumerate() {
            if cell_width(&r[c]) > cap {
                r[c] = r[c]
                    .lines()
                    .flat_map(|l| wrap_hard(l, cap))
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
        r[n - 1] = wrap_hard(&r[n - 1], room).join("\n");
    }
    let mut b = tabled::builder::Builder::default();
    b.push_record(headers.iter().map(|h| h.to_string()));
    for r in rows {
        b.push_record(r);
    }
    let mut t = b.build();
    t.with(TableStyle::sharp());
    t.to_string()
}

/// The shape that fits: the widest whose columns but the message leave it [`MIN_MESSAGE`] columns.
fn shape_for(failures: &[FailureOut], width: usize) -> Shape {
    for shape in [Shape::Wide, Shape::Medium] {
        let n = headers(shape).len();
        let mut natural = vec![0usize; n - 1];
        for f in failures {
            for (c, cell) in cells(shape, f).iter().take(n - 1).enumerate() {
                natural[c] = natural[c].max(cell_width(cell));
            }
        }
        for (c, h) in headers(shape).iter().take(n - 1).enumerate() {
            natural[c] = natural[c].max(h.width());
        }
        if natural.iter().sum::<usize>() + 3 * n + 1 + MIN_MESSAGE <= width {
            return shape;
        }
    }
    Shape::Narrow
}

fn failure_table(failures: &[FailureOut], width: usize) -> String {
    let shape = shape_for(failures, width);
    fitted(
        headers(shape),
        failures.iter().map(|f| cells(shape, f)).collect(),
        width,
    )
}

/// Failures alike in all but account and Region, a row per kind with counts.
fn kind_table(failures: &[FailureOut], width: usize) -> String {
    let rows = group_alike(failures.iter().collect())
        .into_iter()
        .map(|g| {
            let f = g[0];
            let accounts = distinct(g.iter().map(|x| x.account.as_deref()));
            let regions = distinct(g.iter().map(|x| x.region.as_deref()));
            let roots = distinct(g.iter().map(|x| x.root_cause.as_deref()));
            vec![
                g.len().to_string(),
                format!(
                    "{}\n{}\n{} · {}",
                    opt(&f.stack_set),
                    sanitize(f.what()),
                    sanitize(&f.status),
                    category(f)
                ),
                format!(
                    "{} account{}\n{}\n← {}",
                    accounts.len(),
                    if accounts.len() == 1 { "" } else { "s" },
                    sanitize(&shorten(&regions, 3, 2, "Regions")).replace(", ", "\n"),
                    if roots.is_empty() {
                        "-".into()
                    } else {
                        shorten(&roots, 2, 1, "")
                    }
                ),
                message(f),
            ]
        })
        .collect();
    fitted(&["Count", "Failure", "Where", "Message"], rows, width)
}

impl Reporter for Table {
    fn render(&self, r: &Report, w: &mut dyn Write) -> io::Result<()> {
        let mut out = Out {
            w,
            width: self.opts.width.max(Options::MIN_WIDTH),
            color: self.opts.color,
        };
        out.wrapped(
            "stackset-doctor: ",
            Some(Tone::Heading),
            &sanitize(&r.summary.verdict),
        )?;
        // Warnings (skipped files) go to stderr as they happen; the terminal report does not repeat them.
        for c in &r.coverage {
            out.wrapped("missing evidence: ", Some(Tone::Warn), &sanitize(c))?;
        }
        for n in &r.notes {
            out.wrapped("note: ", Some(Tone::Dim), &sanitize(n))?;
        }
        let by_id: BTreeMap<FailureId, &FailureOut> =
            r.failures.iter().map(|f| (f.id, f)).collect();
        let children = r.children();
        for g in &r.root_cause_groups {
            out.blank()?;
            root_cause(&mut out, r, g, &by_id, &children)?;
        }
        if !r.failures.is_empty() {
            out.blank()?;
            if r.failures.len() <= MAX_LISTED {
                out.line(&out.paint(
                    Tone::Heading,
                    &format!("ALL FAILURES ({})", r.failures.len()),
                ))?;
                out.line(&failure_table(&r.failures, out.width))?;
            } else {
                out.line(&out.paint(
                    Tone::Heading,
                    &format!(
                        "FAILURES BY KIND ({} failures; each one is in --format json)",
                        r.failures.len()
                    ),
                ))?;
                out.line(&kind_table(&r.failures, out.width))?;
            }
        }
        closing(&mut out, r)
    }
}

fn root_cause(
    out: &mut Out<'_>,
    r: &Report,
    g: &RootCauseGroup,
    by_id: &BTreeMap<FailureId, &FailureOut>,
    children: &Children<'_>,
) -> io::Result<()> {
    let group = r.members(g);
    let Some(&rc) = group.first() else {
        return Ok(());
    };
    let ids = g.label();
    let title = sanitize(
        rc.title
            .as_deref()
            .unwrap_or("no rule matched this message"),
    );
    out.toned(
        &format!("ROOT CAUSE {ids}  "),
        Some(Tone::Root),
        &title,
        Some(Tone::Heading),
    )?;
    out.wrapped(
        "  kind      ",
        None,
        &format!(
            "{} (matched by {}, confidence {:.2})",
            rc.category,
            rc.matched_by
                .as_deref()
                .map(sanitize)
                .unwrap_or_else(|| "nothing".into()),
            rc.confidence
        ),
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
        out.wrapped(
            "  where     ",
            None,
            &format!("{place}{resource} [{}]", rc.failure),
        )?;
    } else {
        let accounts = distinct(group.iter().map(|g| g.account.as_deref()));
        let regions = distinct(group.iter().map(|g| g.region.as_deref()));
        out.wrapped(
            "  where     ",
            None,
            &format!(
                "{} · {} · {}{resource}",
                opt(&rc.stack_set),
                sanitize(&shorten(&accounts, 5, 4, "accounts")),
                sanitize(&regions.join(", "))
            ),
        )?;
        out.wrapped(
            "  note      ",
            None,
            &format!(
                "the same failure, independently, {} times; shown once (each is in --format json)",
                group.len()
            ),
        )?;
    }
    if let Some(t) = rc.timestamp {
        out.line(&format!(
            "  when      {}",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        ))?;
    }
    out.wrapped("  message   ", None, &sanitize(&rc.message))?;
    if let Some(t) = &rc.trail {
        out.wrapped("  trail     ", None, &sanitize(&t.line()))?;
    }
    if let Some(h) = &rc.lock_holder {
        out.wrapped("  holder    ", None, &sanitize(&holder_line(h)))?;
    }
    if let Some(r) = &rc.race {
        out.wrapped(
            "  race      ",
            None,
            &sanitize(&format!(
                "{}: ready {}, failed {} ({} s)",
                r.kind.as_str(),
                r.ready.format("%H:%M:%S"),
                r.failed.format("%H:%M:%S"),
                r.gap_seconds
            )),
        )?;
    }
    if let Some(e) = &rc.explanation {
        out.wrapped("  why       ", None, &sanitize(e))?;
    }
    for (n, f) in rc.looked_for.iter().enumerate() {
        let lead = if n == 0 {
            "  looked    "
        } else {
            "            "
        };
        out.wrapped(lead, None, &sanitize(&f.line()))?;
    }
    let explained: usize = group.iter().map(|m| m.impact.failures).sum();
    if explained > 0 {
        let mut sets: BTreeMap<&str, usize> = BTreeMap::new();
        for m in &group {
            for (s, n) in &m.impact.stack_sets {
                *sets.entry(s).or_default() += n;
            }
        }
        let sets = sets
            .iter()
            .map(|(s, n)| format!("{n} in {}", sanitize(s)))
            .collect::<Vec<_>>()
            .join(", ");
        let accounts = match g.accounts.len() {
            0 => String::new(),
            1 => " in 1 account".to_owned(),
            n => format!(" across {n} accounts"),
        };
        out.wrapped(
            "  explains  ",
            None,
            &format!(
                "{explained} failure{} ({sets}){accounts}",
                if explained == 1 { "" } else { "s" },
            ),
        )?;
        out.line("  chain")?;
        let mut lines = 0usize;
        if let Some(root) = by_id.get(&rc.failure) {
            node(out, &[root], None, "    ", "    ")?;
            chain(out, &[rc.failure], children, "    ", &mut lines)?;
        }
        if lines >= MAX_CHAIN_LINES {
            out.wrapped(
                "    ",
                None,
                &format!(
                    "… chain cut at {MAX_CHAIN_LINES} lines; all {explained} failures are in --format json"
                ),
            )?;
        }
    }
    fix(out, rc, g)?;
    if !rc.console.is_empty() || !rc.remediation.references.is_empty() {
        out.line("  links")?;
        // Addresses are never wrapped: a broken one does not open.
        for l in &rc.console {
            out.line(&sanitize(&format!("    {}: {}", l.label, l.url)))?;
        }
        for u in &rc.remediation.references {
            out.line(&sanitize(&format!("    {u}")))?;
        }
    }
    Ok(())
}

/// The numbered fix, and for an SCP/RCP deny the patch, its proof and what could not be settled.
fn fix(out: &mut Out<'_>, rc: &RootCauseOut, g: &RootCauseGroup) -> io::Result<()> {
    out.line(&format!("  {}", out.paint(Tone::Fix, "fix")))?;
    let shown = rc.steps_for(g);
    if !rc.summary_repeats(&shown) {
        out.wrapped("    summary  ", None, &sanitize(&rc.remediation.summary))?;
    }
    for (n, s) in shown.iter().enumerate() {
        let step = steps::split(s);
        out.wrapped(
            &format!("    {:>2}. ", n + 1),
            None,
            &sanitize(&steps::plain(&step.prose)),
        )?;
        for c in &step.commands {
            out.command("          ", c)?;
        }
    }
    if let Some(ex) = &rc.remediation.scp_exemption {
        if let Some(st) = &ex.statement {
            out.wrapped(
                "    patch    ",
                None,
                &sanitize(&format!("{} ({})", st.statement, st.located_by)),
            )?;
            for l in st.diff.lines() {
                let tone = match l.as_bytes().first() {
                    Some(b'+') => Some(Tone::Ok),
                    Some(b'-') => Some(Tone::Bad),
                    _ => None,
                };
                let l = sanitize(l);
                let l = match tone {
                    Some(t) => out.paint(t, &l),
                    None => l,
                };
                out.line(&format!("      {l}"))?;
            }
            if let Some(cmd) = &st.apply_command {
                out.line("    apply")?;
                out.command("      ", cmd)?;
            }
        }
        if !ex.proof.is_empty() {
            let held = ex.proof.iter().filter(|p| p.ok).count();
            let verdict = if ex.proven {
                out.paint(Tone::Ok, &format!("{held}/{} checks hold", ex.proof.len()))
            } else {
                out.paint(
                    Tone::Bad,
                    &format!("{held}/{} checks hold — NOT PROVEN", ex.proof.len()),
                )
            };
            out.line(&format!("    proof    {verdict}"))?;
            for p in &ex.proof {
                let (mark, tone) = if p.ok {
                    ("      ok    ", Tone::Ok)
                } else {
                    ("      FAIL  ", Tone::Bad)
                };
                out.wrapped(mark, Some(tone), &sanitize(&p.description))?;
            }
        }
        if let Some(c) = &rc.remediation.template_check {
            let tone = if c.passes() { Tone::Ok } else { Tone::Bad };
            out.wrapped("    template ", Some(tone), &sanitize(&c.sentence()))?;
        }
        if let Some(n) = &ex.evaluation_note {
            out.wrapped("    note     ", None, &sanitize(n))?;
        }
        for w in &ex.warnings {
            out.wrapped("    warning  ", Some(Tone::Warn), &sanitize(w))?;
        }
    }
    Ok(())
}

/// The last lines, where the eye lands when the command ends: each root cause in a line, the first thing to run,
/// and where the rest is.
fn closing(out: &mut Out<'_>, r: &Report) -> io::Result<()> {
    let Some(g) = r.root_cause_groups.first() else {
        return Ok(());
    };
    let Some(rc) = r
        .root_causes
        .iter()
        .find(|rc| Some(&rc.id) == g.root_causes.first())
    else {
        return Ok(());
    };
    out.blank()?;
    out.line(&out.paint(Tone::Dim, &"─".repeat(out.width.min(100))))?;
    for g in r.root_cause_groups.iter().take(3) {
        let members = r.members(g);
        let Some(m) = members.first() else { continue };
        let what = m.title.as_deref().unwrap_or("no rule matched this message");
        let place = match members.len() {
            1 => format!(
                "{} in {}",
                m.logical_id.as_deref().unwrap_or("the stack instance"),
                m.account.as_deref().unwrap_or("an unknown account")
            ),
            n => format!(
                "{} in {n} accounts alike",
                m.logical_id.as_deref().unwrap_or("the stack instance")
            ),
        };
        let lead = format!(
            "{:<12}",
            if g.root_causes.len() > 1 {
                format!("{}…", m.id)
            } else {
                m.id.clone()
            }
        );
        out.wrapped(
            &lead,
            Some(Tone::Root),
            &sanitize(&format!("{}: {place}", what.trim_end_matches('.'))),
        )?;
    }
    if r.root_cause_groups.len() > 3 {
        out.line(&format!(
            "{:<12}{} more root cause groups above",
            "",
            r.root_cause_groups.len() - 3
        ))?;
    }
    let shown = rc.steps_for(g);
    match g.commands.first() {
        Some(cmd) => {
            let first = steps::split(shown.first().copied().unwrap_or("")).prose;
            out.wrapped(
                "first       ",
                Some(Tone::Fix),
                &clip_to(
                    &sanitize(&steps::plain(&first)),
                    2 * out.width.saturating_sub(14),
                ),
            )?;
            out.line(&out.paint(Tone::Fix, "run"))?;
            out.command("  ", cmd)?;
        }
        None => {
            if let Some(s) = shown.first() {
                out.wrapped(
                    "first       ",
                    Some(Tone::Fix),
                    &clip_to(
                        &sanitize(&steps::plain(&steps::split(s).prose)),
                        2 * out.width.saturating_sub(14),
                    ),
                )?;
            }
        }
    }
    out.wrapped(
        "more        ",
        None,
        "every failure, link and command: --format json; a ticket attachment: --format markdown or --format html",
    )
}

/// Siblings with the same stack set, resource, category and message print as one entry with a count; the
/// children of a group are gathered and grouped the same way, so 500 alike consequences take one entry.
fn chain(
    out: &mut Out<'_>,
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
        let deeper = format!("{indent}{}", if last { "   " } else { "│  " });
        node(
            out,
            g,
            link,
            &format!("{indent}{}", if last { "└─ " } else { "├─ " }),
            &deeper,
        )?;
        *lines += 1;
        let ids: Vec<FailureId> = g.iter().map(|f| f.id).collect();
        chain(out, &ids, children, &deeper, lines)?;
    }
    Ok(())
}

/// One entry of a chain in two lines: what failed (ids, resource, status, the link), then where and the message,
/// each clipped to the width (the JSON report has the whole message).
fn node(
    out: &mut Out<'_>,
    group: &[&FailureOut],
    link: Option<&str>,
    first: &str,
    rest: &str,
) -> io::Result<()> {
    let f = group[0];
    let ids: Vec<String> = group.iter().map(|g| g.id.to_string()).collect();
    let ids = shorten(&ids, 4, 2, "failures");
    let accounts = distinct(group.iter().map(|g| g.account.as_deref()));
    let regions = distinct(group.iter().map(|g| g.region.as_deref()));
    let acct = match accounts.len() {
        0 => "-".to_owned(),
        1 => accounts[0].to_owned(),
        n if n <= 3 => accounts.join(", "),
        n => format!("{n} accounts"),
    };
    let place = format!(
        "{} · {} · {}",
        f.stack_set.as_deref().unwrap_or("-"),
        acct,
        if regions.is_empty() {
            "-".to_owned()
        } else {
            regions.join(", ")
        }
    );
    let msg = message(f);
    let link = link.map(|l| format!("  [{l}]")).unwrap_or_default();
    let room = out.width.saturating_sub(rest.width() + 2).max(20);
    let head = sanitize(&format!("{ids}  {} {}{link}", f.what(), f.status));
    let head = clip_to(&head, out.width.saturating_sub(first.width()).max(20));
    let head = if f.role == "root" {
        out.paint(Tone::Root, &head)
    } else {
        head
    };
    out.line(&format!("{first}{head}"))?;
    // The message first: at narrow widths the place (also in the table) is what gets clipped.
    let detail = clip_to(&sanitize(&format!("{msg} · {place}")), room);
    let detail = out.paint(Tone::Dim, &detail);
    out.line(&format!("{rest}  {detail}"))
}
