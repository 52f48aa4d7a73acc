//! Printing a preflight: a table for a terminal, Markdown for a ticket, JSON for automation. Everything from the
//! input (names, ARNs, policy text) is sanitised (`text::sanitize`) or escaped (`report::markdown::esc`); JSON goes
//! through `json::write`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{Certainty, GroupReport, OrderingFinding, PredictedDeny, Report, Reports, Unsettled};
use crate::report::markdown::esc;
use crate::text::{sanitize, sanitize_lines, shorten};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

/// Print the reports (one per stack set; one for a template file).
pub fn write(reports: &Reports, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => {
            crate::json::write(&mut *out, reports, true)?;
            writeln!(out)
        }
        Format::Table => {
            for r in &reports.stack_sets {
                out.write_all(text(r, false).as_bytes())?;
            }
            out.write_all(ordering(reports, false).as_bytes())?;
            writeln!(out, "{}", summary(reports))
        }
        Format::Markdown => {
            writeln!(out, "# Preflight\n")?;
            for r in &reports.stack_sets {
                out.write_all(text(r, true).as_bytes())?;
            }
            out.write_all(ordering(reports, true).as_bytes())?;
            writeln!(out, "{}", esc(&summary(reports)))
        }
    }
}

fn summary(reports: &Reports) -> String {
    let certain = reports
        .predicted_denies
        .iter()
        .filter(|d| d.certainty == Certainty::Certain)
        .count();
    let mut s = if reports.predicted_denies.is_empty() {
        format!(
            "No deny predicted{}.",
            if reports.unsettled.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} actions unsettled: the template does not tell what their verdict needs)",
                    reports.unsettled.len()
                )
            }
        )
    } else {
        format!(
            "{} predicted ({certain} certain, {} possible), {} unsettled.",
            crate::text::count(reports.predicted_denies.len(), "deny", "denies"),
            reports.predicted_denies.len() - certain,
            reports.unsettled.len()
        )
    };
    if !reports.ordering.is_empty() {
        s.push_str(&format!(
            " {} ordering problem{} across stack sets.",
            reports.ordering.len(),
            if reports.ordering.len() == 1 { "" } else { "s" }
        ));
    }
    let targets: std::collections::BTreeSet<(&str, &str)> = reports
        .could_not_check
        .iter()
        .map(|c| (c.account.as_str(), c.region.as_str()))
        .collect();
    if !targets.is_empty() {
        s.push_str(&format!(
            " {} target{} could not be checked (policies not read): not an all-clear for {}.",
            targets.len(),
            if targets.len() == 1 { "" } else { "s" },
            if targets.len() == 1 { "it" } else { "them" }
        ));
    }
    if !reports.ordering_not_checked.is_empty() {
        s.push_str(&format!(
            " The order across stack sets could not be checked for {} need{} (producer not in the evidence).",
            reports.ordering_not_checked.len(),
            if reports.ordering_not_checked.len() == 1 { "" } else { "s" }
        ));
    }
    s
}

/// The order across stack sets: each (needed name, producer, status) once, with its targets.
fn ordering(reports: &Reports, md: bool) -> String {
    let e = |s: &str| if md { esc(s) } else { sanitize(s) };
    let mut o = String::new();
    if reports.ordering.is_empty() && reports.ordering_not_checked.is_empty() {
        return o;
    }
    o.push_str(if md {
        "## Order across stack sets\n\n"
    } else {
        "Order across stack sets\n"
    });
    type Row<'a> = (&'a str, &'a str, &'a str, &'a str, String, &'a str);
    let mut rows: BTreeMap<Row<'_>, (Vec<String>, &OrderingFinding)> = BTreeMap::new();
    for f in &reports.ordering {
        let there = match &f.producer_region {
            Some(r) => format!("{} {r}", f.producer_account),
            None => format!("{} (any Region)", f.producer_account),
        };
        rows.entry((
            f.stack_set.as_str(),
            f.needed.as_str(),
            f.needed_by.as_str(),
            f.producer.as_str(),
            there,
            f.producer_status.as_str(),
        ))
        .or_insert_with(|| (Vec::new(), f))
        .0
        .push(format!("{} {}", f.account, f.region));
    }
    for ((consumer, needed, by, producer, there, st), (targets, f)) in rows {
        if md {
            o.push_str(&format!(
                "- **{}** needs `{}` ({}), created by stack set **{}**, whose instance in {} is **{}**; for {}\n",
                e(consumer),
                e(needed),
                e(by),
                e(producer),
                e(&there),
                e(st),
                e(&accounts_shown(&targets))
            ));
            for w in &f.what_to_do {
                o.push_str(&format!("  - {}\n", e(w)));
            }
            if let Some(c) = &f.command {
                o.push_str(&format!(
                    "\n  ```sh\n  {}\n  ```\n",
                    sanitize(c).replace("```", "`\u{200b}``")
                ));
            }
        } else {
            o.push_str(&format!(
                "  ORDER {} needs {}\n        ({})\n        created by stack set {}: its instance in {} is {}\n        for {}\n",
                e(consumer),
                e(needed),
                e(by),
                e(producer),
                e(&there),
                e(st),
                e(&accounts_shown(&targets))
            ));
            for w in &f.what_to_do {
                o.push_str(&format!("        to do: {}\n", e(w)));
            }
            if let Some(c) = &f.command {
                o.push_str(&format!("          {}\n", e(c)));
            }
        }
    }
    for n in &reports.ordering_not_checked {
        o.push_str(&format!(
            "{}not checked: {}\n",
            if md { "- " } else { "  " },
            e(n)
        ));
    }
    o.push('\n');
    o
}

fn accounts_shown(accounts: &[String]) -> String {
    shorten(accounts, 6, 5, "accounts")
}

/// The same (resource, action, statement) in several accounts, shown once with its accounts.
fn denies_by_row(
    denies: &[&PredictedDeny],
) -> Vec<(String, String, String, Certainty, String, Vec<String>)> {
    let mut rows: BTreeMap<(Certainty, String, String, String, String), Vec<String>> =
        BTreeMap::new();
    for d in denies {
        rows.entry((
            d.certainty,
            d.logical_id.clone(),
            d.resource_type.clone(),
            d.action.clone(),
            d.statement.clone(),
        ))
        .or_default()
        .push(format!("{} {}", d.account, d.region));
    }
    rows.into_iter()
        .map(|((c, l, t, a, s), accts)| (l, t, a, c, s, accts))
        .collect()
}

fn text(r: &Report, md: bool) -> String {
    let e = |s: &str| if md { esc(s) } else { sanitize(s) };
    let mut o = String::new();
    let title = if r.stack_set.is_empty() {
        "template".to_owned()
    } else {
        format!("stack set {}", r.stack_set)
    };
    if md {
        o.push_str(&format!("## {}\n\n", e(&title)));
    } else {
        o.push_str(&format!("Preflight of {}\n", e(&title)));
    }
    o.push_str(&format!(
        "{}principal: {} ({})\n",
        if md { "- " } else { "  " },
        e(&r.principal.name),
        e(&r.principal.why)
    ));
    o.push_str(&format!(
        "{}data: cfn-lint {} registry schemas ({} providers, schema date {}, made {}), {} handler\n",
        if md { "- " } else { "  " },
        e(&r.data.cfn_lint),
        e(&r.data.region),
        e(&r.data.schema_date),
        e(&r.data.made),
        r.handler
    ));
    for (gi, g) in r.groups.iter().enumerate() {
        group(&mut o, r, gi, g, md);
    }
    if !r.not_checked.is_empty() {
        o.push_str(if md {
            "\n### Not checked\n\n"
        } else {
            "\n  Not checked:\n"
        });
        for u in &r.not_checked {
            o.push_str(&format!(
                "{}{} ({}): {}\n",
                if md { "- " } else { "    " },
                e(&u.logical_id),
                e(&u.resource_type),
                e(&u.reason)
            ));
        }
    }
    if !r.could_not_check.is_empty() {
        o.push_str(if md {
            "\n### Could not check\n\n"
        } else {
            "\n  COULD NOT CHECK (nothing is claimed for these targets):\n"
        });
        let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for c in &r.could_not_check {
            by.entry(c.reason.as_str())
                .or_default()
                .push(format!("{} {}", c.account, c.region));
        }
        for (why, targets) in by {
            o.push_str(&format!(
                "{}{}: {}\n",
                if md { "- " } else { "    " },
                e(&accounts_shown(&targets)),
                e(why)
            ));
        }
    }
    for n in &r.notes {
        o.push_str(&format!(
            "{}note: {}\n",
            if md { "\n- " } else { "  " },
            e(n)
        ));
    }
    o.push('\n');
    o
}

fn group(o: &mut String, r: &Report, gi: usize, g: &GroupReport, md: bool) {
    let e = |s: &str| if md { esc(s) } else { sanitize(s) };
    let head = format!(
        "policy path {}: {} in {}",
        g.path,
        accounts_shown(&g.accounts),
        g.regions.join(", ")
    );
    if md {
        o.push_str(&format!("\n### {}\n\n", e(&head)));
    } else {
        o.push_str(&format!("\n  {}\n", e(&head)));
    }
    let denies: Vec<&PredictedDeny> = r
        .predicted_denies
        .iter()
        .filter(|d| d.group == gi)
        .collect();
    let unsettled: Vec<&Unsettled> = r.unsettled.iter().filter(|d| d.group == gi).collect();
    if denies.is_empty() {
        o.push_str(&format!(
            "{}no deny predicted ({} on {} checked)\n",
            if md { "" } else { "    " },
            crate::text::count(g.checked_actions, "action", "actions"),
            crate::text::count(g.checked_resources, "resource", "resources")
        ));
    } else {
        if md {
            o.push_str("| resource | type | action | certainty | denied by | accounts |\n|---|---|---|---|---|---|\n");
        }
        for (l, t, a, c, s, accts) in denies_by_row(&denies) {
            if md {
                o.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    e(&l),
                    e(&t),
                    e(&a),
                    c.as_str(),
                    e(&s),
                    e(&accounts_shown(&accts))
                ));
            } else {
                o.push_str(&format!(
                    "    DENIED {:<8} {} ({}) {}\n           by {}\n           in {}\n",
                    c.as_str(),
                    e(&l),
                    e(&t),
                    e(&a),
                    e(&s),
                    e(&accounts_shown(&accts))
                ));
            }
        }
    }
    if !unsettled.is_empty() {
        let mut by: BTreeMap<(String, String, String), (Certainty, usize)> = BTreeMap::new();
        for u in &unsettled {
            let reason = u.reasons.first().cloned().unwrap_or_default();
            let entry = by
                .entry((u.logical_id.clone(), u.action.clone(), reason))
                .or_insert((u.certainty, 0));
            entry.1 += 1;
        }
        o.push_str(if md {
            "\nUnsettled (the template does not tell):\n\n"
        } else {
            "    unsettled (the template does not tell):\n"
        });
        for ((l, a, why), (c, n)) in by {
            o.push_str(&format!(
                "{}{} {} ({}, {} targets): {}\n",
                if md { "- " } else { "      " },
                e(&l),
                e(&a),
                c.as_str(),
                n,
                e(&why)
            ));
        }
    }
    if let Some(p) = &g.patch {
        o.push_str(&format!(
            "{}patch: clears the {} certain explicit denies at once; proof {}\n",
            if md { "\n" } else { "    " },
            p.clears,
            if p.proven { "holds" } else { "FAILED" }
        ));
        for w in &p.fix.why {
            o.push_str(&format!("{}{}\n", if md { "- " } else { "      " }, e(w)));
        }
        for w in &p.fix.warnings {
            o.push_str(&format!(
                "{}warning: {}\n",
                if md { "- " } else { "      " },
                e(w)
            ));
        }
        for pp in &p.fix.patches {
            let fits = if pp.size.fits { "fits" } else { "does NOT fit" };
            o.push_str(&format!(
                "{}{}: {} of {} characters, {fits}\n",
                if md { "- " } else { "      " },
                e(&pp.policy.display),
                pp.size.characters,
                pp.size.limit
            ));
            if md {
                o.push_str(&format!(
                    "\n```diff\n{}\n```\n",
                    sanitize_lines(&pp.diff).replace("```", "`\u{200b}``")
                ));
            } else {
                for line in sanitize_lines(&pp.diff).lines() {
                    o.push_str(&format!("        {line}\n"));
                }
            }
        }
        let ok = p.fix.proof.iter().filter(|c| c.applicable && c.ok).count();
        let all = p.fix.proof.iter().filter(|c| c.applicable).count();
        o.push_str(&format!(
            "{}proof: {ok} of {all} checks hold (the denied requests pass; other roles, users and accounts stay denied)\n",
            if md { "- " } else { "      " }
        ));
    }
    for n in &g.patch_notes {
        o.push_str(&format!("{}{}\n", if md { "- " } else { "    " }, e(n)));
    }
}
