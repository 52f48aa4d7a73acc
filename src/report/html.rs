//! HTML: one self-contained page to attach to a ticket — the verdict, each root cause (alike ones as one block)
//! with its chain and fix (every command in a code block, the SCP patch and its proof), the failed stack
//! instances, the timeline and the causal graph as inline SVG. No script, no external resource, responsive and
//! printable (docs/report-html.md). Every string from the input goes through [`esc`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::layout::{self, Layout};
use super::model::{
    distinct, group_alike, Children, FailedInstance, FailureOut, RootCauseGroup, RootCauseOut,
};
use super::steps;
use super::timeline::{self, Outcome, Timeline};
use super::{Report, Reporter};
use crate::text::{clip, sanitize, sanitize_lines};
use crate::vocabulary::FailureId;

pub struct Html;

/// Beyond this many failed instances the list is grouped (one row per stack set, Region, status, root cause and
/// reason, with its accounts) and folded away.
pub const MAX_INSTANCE_ROWS: usize = 30;
/// Beyond this many items a chain is cut short (the JSON report has everything).
const MAX_CHAIN_ITEMS: usize = 60;

/// Text for HTML, in element content and in quoted attribute values alike: `& < > " '` as character references,
/// control characters and bidirectional overrides removed (line breaks become spaces).
pub fn esc(s: &str) -> String {
    esc_text(&sanitize(s))
}

/// [`esc`] keeping line breaks, for `<pre>`.
pub fn esc_lines(s: &str) -> String {
    esc_text(&sanitize_lines(s))
}

fn esc_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(esc).unwrap_or_else(|| "–".into())
}

const STYLE: &str = r#"
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--red:#c0392b;--redbg:#fde2e1;--grey:#8c959f;--green:#2da44e}
*{box-sizing:border-box}
body{margin:0;overflow-wrap:break-word;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:64rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}
h2{font-size:1.25rem;margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.25rem 0 .4rem}
h4{font-size:.95rem;margin:1rem 0 .3rem}
.verdict{font-size:1.1rem;padding:.75rem 1rem;border-left:4px solid var(--red);background:var(--redbg);border-radius:4px}
.verdict.clear{border-color:var(--green);background:#dafbe1}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.25rem 1rem;margin:.5rem 0}
dl.facts dt{font-weight:600;color:var(--muted)}
dl.facts dd{margin:0;min-width:0;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.85em}
code{background:var(--soft);padding:.05em .3em;border-radius:3px;overflow-wrap:anywhere}
ul.links li{overflow-wrap:anywhere}
pre{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:.6rem .75rem;margin:.4rem 0}
pre code{background:none;padding:0;font-size:inherit}
pre.cmd{white-space:pre-wrap;overflow-wrap:anywhere}
pre.diff{overflow-x:auto}
.diff .add{color:#116329;background:#dafbe1;display:inline-block;min-width:100%}
.diff .del{color:#82071e;background:#ffebe9;display:inline-block;min-width:100%}
article.root-cause{border:1px solid var(--line);border-radius:6px;padding:0 1rem 1rem;margin:1rem 0}
article.root-cause h2{border:none;margin-top:1rem}
.rid{display:inline-block;background:var(--red);color:#fff;border-radius:3px;padding:0 .4em;margin-right:.3em;font-size:.9em}
ul.chain{padding-left:1.1rem;margin:.3rem 0}
ul.chain li{margin:.15rem 0;overflow-wrap:anywhere}
.kind{color:var(--muted);font-size:.85em}
ol.steps li{margin:.4rem 0;overflow-wrap:anywhere}
ul.proof{list-style:none;padding-left:0}
ul.proof li{margin:.3rem 0;overflow-wrap:anywhere}
ul.proof .ok::before{content:"✔ ";color:var(--green);font-weight:700}
ul.proof .fail::before{content:"✘ ";color:var(--red);font-weight:700}
.note{color:var(--muted);overflow-wrap:anywhere}
.warning{border-left:4px solid #bf8700;padding:.25rem .75rem;background:#fff8c5;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:var(--soft)}
td.reason,td.accounts{min-width:14rem;overflow-wrap:anywhere}
td.nowrap{white-space:nowrap}
details>summary{cursor:pointer;font-weight:600;margin:.4rem 0}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg.graph text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
svg .bar.failed{fill:var(--red)}
svg .bar.cancelled{fill:var(--grey)}
svg .bar.ok{fill:var(--green)}
svg .milestone{fill:#fff;stroke:var(--fg);stroke-width:1.5}
svg .section{font-weight:700;fill:var(--fg)}
svg .tick{stroke:var(--line)}
svg .node rect{fill:#fff;stroke:var(--muted)}
svg .node.root rect{fill:var(--redbg);stroke:var(--red);stroke-width:2}
svg .edge{fill:none;stroke:var(--grey);stroke-width:1.5}
.legend span{display:inline-block;margin-right:1rem}
.swatch{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin-right:.3em;border-radius:2px}
.tl-narrow,.g-narrow{display:none}
svg.graph.narrow{width:100%;height:auto}
svg.timeline.narrow{width:100%;height:auto}
footer{margin:2rem 0 1rem;color:var(--muted);font-size:.85rem}
@media (max-width:40rem){main{padding:.6rem}dl.facts{grid-template-columns:minmax(0,1fr)}dl.facts dd{margin-bottom:.4rem}body{font-size:14px}
.tl-wide,.g-wide{display:none}.tl-narrow,.g-narrow{display:block}
table.cards thead{display:none}table.cards,table.cards tbody,table.cards tr{display:block;width:100%}
table.cards tr{border:1px solid var(--line);border-radius:4px;margin:.5rem 0;padding:.25rem 0}
table.cards td{display:grid;grid-template-columns:6.5rem minmax(0,1fr);gap:.5rem;border:none;padding:.1rem .5rem;white-space:normal;min-width:0}
table.cards td::before{content:attr(data-label);font-weight:600;color:var(--muted)}}
@media print{.tl-wide{display:block}.tl-narrow,.g-narrow{display:none}
svg.graph.narrow{width:100%;height:auto}body{font-size:11pt}main{max-width:none;padding:0}.scroll{overflow:visible}pre,pre.diff{white-space:pre-wrap;overflow:visible}article.root-cause{break-inside:avoid-page}svg{max-width:100%;height:auto}a{color:inherit}}
"#;

impl Reporter for Html {
    fn render(&self, r: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut s = String::with_capacity(64 * 1024);
        page(&mut s, r);
        out.write_all(s.as_bytes())
    }
}

fn page(s: &mut String, r: &Report) {
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing is fetched: no script, style or image may come from anywhere but this file.
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    s.push_str("<title>StackSet deployment diagnosis</title>\n<style>");
    s.push_str(STYLE);
    s.push_str("</style>\n</head>\n<body>\n<main>\n");
    s.push_str("<header>\n<h1>StackSet deployment diagnosis</h1>\n");
    let _ = writeln!(
        s,
        "<p class=\"verdict{}\" id=\"verdict\">{}</p>",
        if r.failures.is_empty() && r.coverage.is_empty() {
            " clear"
        } else {
            ""
        },
        esc(&r.summary.verdict)
    );
    summary(s, r);
    s.push_str("</header>\n");
    for w in &r.warnings {
        let _ = writeln!(s, "<p class=\"note\">Warning: {}</p>", esc(w));
    }
    for c in &r.coverage {
        let _ = writeln!(s, "<p class=\"warning\">Missing evidence: {}</p>", esc(c));
    }
    for n in &r.notes {
        let _ = writeln!(s, "<p class=\"note\">Note: {}</p>", esc(n));
    }
    if !r.root_causes.is_empty() {
        s.push_str("<section id=\"root-causes\">\n");
        let children = r.children();
        let by_id: BTreeMap<FailureId, &FailureOut> =
            r.failures.iter().map(|f| (f.id, f)).collect();
        for g in &r.root_cause_groups {
            root_cause(s, &r.members(g), g, &children, &by_id);
        }
        s.push_str("</section>\n");
    }
    failed_instances(s, &r.failed_instances);
    if let Some(t) = timeline::timeline(r) {
        timeline_svg(s, &t);
    }
    if !r.failures.is_empty() {
        graph_svg(s, &layout::layout(r));
    }
    let _ = writeln!(
        s,
        "<footer>{} {} · report schema {} · the JSON report (<code>--format json</code>) has every failure, link and source.</footer>",
        esc(r.tool.name),
        esc(r.tool.version),
        esc(r.schema)
    );
    s.push_str("</main>\n</body>\n</html>\n");
}

fn summary(s: &mut String, r: &Report) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "–".to_owned()
        } else {
            esc(&crate::text::shorten(v, 12, 10, ""))
        }
    };
    s.push_str("<dl class=\"facts\" id=\"summary\">\n");
    let _ = writeln!(
        s,
        "<dt>Failures</dt><dd>{}</dd>\n<dt>Root causes</dt><dd>{} ({} matched no rule)</dd>",
        r.summary.failures, r.summary.root_causes, r.summary.unexplained_root_causes
    );
    let _ = writeln!(
        s,
        "<dt>Stack sets</dt><dd>{}</dd>\n<dt>Accounts</dt><dd>{} ({})</dd>\n<dt>Regions</dt><dd>{}</dd>",
        list(&r.summary.stack_sets),
        r.summary.accounts.len(),
        list(&r.summary.accounts),
        list(&r.summary.regions)
    );
    let _ = writeln!(s, "<dt>Exit code</dt><dd>{}</dd>", r.summary.exit_code);
    s.push_str("</dl>\n");
}

/// A list of places that may be long: inline when short, folded away when long.
fn place_list(s: &mut String, items: &[&str], noun: &str) {
    let joined = items.iter().map(|a| esc(a)).collect::<Vec<_>>().join(", ");
    if items.len() <= 12 {
        s.push_str(&joined);
    } else {
        let _ = write!(
            s,
            "<details><summary>{} {noun}</summary>{joined}</details>",
            items.len()
        );
    }
}

fn root_cause(
    s: &mut String,
    group: &[&RootCauseOut],
    g: &RootCauseGroup,
    children: &Children<'_>,
    by_id: &BTreeMap<FailureId, &FailureOut>,
) {
    let Some(&rc) = group.first() else {
        return;
    };
    let _ = writeln!(
        s,
        "<article class=\"root-cause\" id=\"{}\" data-root-causes=\"{}\">",
        esc(&rc.id),
        group.len()
    );
    let ids: Vec<&str> = group.iter().map(|g| g.id.as_str()).collect();
    let ids = esc(&crate::text::shorten(&ids, 4, 3, "root causes"));
    let _ = writeln!(
        s,
        "<h2><span class=\"rid\">{ids}</span> {}</h2>",
        esc(rc
            .title
            .as_deref()
            .unwrap_or("No rule matched this message"))
    );
    if group.len() > 1 {
        let _ = writeln!(
            s,
            "<p class=\"note\">The same failure, independently, in {} places: one block for them all (each is in <code>--format json</code>).</p>",
            group.len()
        );
    }
    s.push_str("<dl class=\"facts\">\n");
    let _ = writeln!(
        s,
        "<dt>Category</dt><dd>{} (matched by {}, confidence {:.2})</dd>",
        esc(&rc.category),
        opt(&rc.matched_by),
        rc.confidence
    );
    let resource = match (&rc.logical_id, &rc.resource_type) {
        (Some(l), Some(t)) => format!("<code>{}</code> ({})", esc(l), esc(t)),
        (Some(l), None) => format!("<code>{}</code>", esc(l)),
        _ => "the stack instance".into(),
    };
    let _ = writeln!(
        s,
        "<dt>Stack set</dt><dd>{}</dd>\n<dt>Resource</dt><dd>{resource}</dd>",
        opt(&rc.stack_set)
    );
    let accounts = distinct(group.iter().map(|g| g.account.as_deref()));
    let regions = distinct(group.iter().map(|g| g.region.as_deref()));
    s.push_str(if accounts.len() == 1 {
        "<dt>Account</dt><dd>"
    } else {
        "<dt>Accounts</dt><dd>"
    });
    if accounts.is_empty() {
        s.push('–');
    }
    place_list(s, &accounts, "accounts");
    s.push_str(if regions.len() == 1 {
        "</dd>\n<dt>Region</dt><dd>"
    } else {
        "</dd>\n<dt>Regions</dt><dd>"
    });
    if regions.is_empty() {
        s.push('–');
    }
    place_list(s, &regions, "Regions");
    s.push_str("</dd>\n");
    let _ = writeln!(
        s,
        "<dt>Message</dt><dd class=\"message\">{}</dd>",
        if rc.message.is_empty() {
            "(no status reason)".to_owned()
        } else {
            esc(&rc.message)
        }
    );
    if let Some(t) = &rc.trail {
        let _ = writeln!(s, "<dt>CloudTrail</dt><dd>{}</dd>", esc(&t.line()));
    }
    if let Some(h) = &rc.lock_holder {
        let _ = writeln!(
            s,
            "<dt>Held by</dt><dd>{}</dd>",
            esc(&super::model::holder_line(h))
        );
    }
    if let Some(r) = &rc.race {
        let _ = writeln!(
            s,
            "<dt>Race</dt><dd>{} — ready {}, failed {} ({} s later)</dd>",
            esc(r.kind.as_str()),
            r.ready.format("%H:%M:%S UTC"),
            r.failed.format("%H:%M:%S UTC"),
            r.gap_seconds
        );
    }
    if let Some(e) = &rc.explanation {
        let _ = writeln!(s, "<dt>Why</dt><dd>{}</dd>", esc(e));
    }
    if !rc.looked_for.is_empty() {
        s.push_str("<dt>Looked for</dt><dd><ul>");
        for f in &rc.looked_for {
            let _ = write!(s, "<li>{}</li>", esc(&f.line()));
        }
        s.push_str("</ul></dd>\n");
    }
    let explained: usize = group.iter().map(|g| g.impact.failures).sum();
    if explained > 0 {
        let sets = rc
            .impact
            .stack_sets
            .iter()
            .map(|(set, n)| format!("{n} in {}", esc(set)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            s,
            "<dt>Explains</dt><dd>{explained} failure{}{}</dd>",
            if explained == 1 { "" } else { "s" },
            if group.len() == 1 {
                format!(" ({sets})")
            } else {
                String::new()
            }
        );
    }
    s.push_str("</dl>\n");
    if rc.impact.failures > 0 {
        s.push_str("<h3>Chain</h3>\n");
        if group.len() > 1 {
            let _ = writeln!(
                s,
                "<p class=\"note\">The chain of {}; the others' are alike.</p>",
                esc(&rc.id)
            );
        }
        let mut items = 0;
        if let Some(root) = by_id.get(&rc.failure) {
            s.push_str("<ul class=\"chain\">\n<li>");
            chain_item(s, &[root], None);
            chain(s, &[rc.failure], children, &mut items);
            s.push_str("</li>\n</ul>\n");
        }
        if items >= MAX_CHAIN_ITEMS {
            let _ = writeln!(
                s,
                "<p class=\"note\">The chain is cut at {MAX_CHAIN_ITEMS} items; all {} failures are in <code>--format json</code>.</p>",
                rc.impact.failures
            );
        }
    }
    fix(s, rc, g);
    links(s, rc);
    s.push_str("</article>\n");
}

/// Siblings alike in all but account and Region are one item with their count, as the terminal report does.
fn chain(s: &mut String, parents: &[FailureId], children: &Children<'_>, items: &mut usize) {
    let mut kids: Vec<&FailureOut> = parents
        .iter()
        .filter_map(|p| children.get(p))
        .flatten()
        .copied()
        .collect();
    if kids.is_empty() || *items >= MAX_CHAIN_ITEMS {
        return;
    }
    kids.sort_by_key(|f| (f.level_rank(), f.id));
    let groups = group_alike(kids);
    s.push_str("\n<ul class=\"chain\">\n");
    for g in groups {
        if *items >= MAX_CHAIN_ITEMS {
            break;
        }
        *items += 1;
        s.push_str("<li>");
        chain_item(s, &g, g[0].link.as_ref().map(|l| l.kind.as_str()));
        let ids: Vec<FailureId> = g.iter().map(|f| f.id).collect();
        chain(s, &ids, children, items);
        s.push_str("</li>\n");
    }
    s.push_str("</ul>\n");
}

fn chain_item(s: &mut String, g: &[&FailureOut], link: Option<&str>) {
    let f = g[0];
    let ids: Vec<String> = g.iter().map(|f| f.id.to_string()).collect();
    let accounts = distinct(g.iter().map(|f| f.account.as_deref()));
    let regions = distinct(g.iter().map(|f| f.region.as_deref()));
    let acct = match accounts.len() {
        0 => "–".to_owned(),
        n if n <= 3 => esc(&accounts.join(", ")),
        n => format!("{n} accounts"),
    };
    let msg = if f.message.is_empty() && f.level == "operation" {
        "the operation failed because the instances under it did".to_owned()
    } else if f.message.is_empty() {
        "(no status reason)".to_owned()
    } else {
        esc(&clip(&f.message, 200))
    };
    let _ = write!(
        s,
        "<b>{}</b> {} · {acct} · {} · <code>{}</code> {}: {msg}",
        esc(&crate::text::shorten(&ids, 4, 2, "failures")),
        opt(&f.stack_set),
        if regions.is_empty() {
            "–".to_owned()
        } else {
            esc(&regions.join(", "))
        },
        esc(f.what()),
        esc(&f.status),
    );
    if let Some(l) = link {
        let _ = write!(s, " <span class=\"kind\">({})</span>", esc(l));
    }
}

/// A step's text, with its backticked spans as code, and the commands it ends with as blocks of their own
/// (docs/report-layout.md#commands).
fn step_html(step: &str) -> String {
    let split = steps::split(step);
    let mut o = String::new();
    for p in &split.prose {
        match p {
            steps::Piece::Text(t) => o.push_str(&esc(t)),
            steps::Piece::Code(c) => {
                let _ = write!(o, "<code>{}</code>", esc(c));
            }
        }
    }
    for c in &split.commands {
        let _ = write!(o, "<pre class=\"cmd\"><code>{}</code></pre>", esc(c.trim()));
    }
    o
}

/// The console pages and the documentation of a root cause, as links (only `https:` addresses).
fn links(s: &mut String, rc: &RootCauseOut) {
    let console = rc
        .console
        .iter()
        .map(|l| (l.label.as_str(), l.url.as_str()));
    let docs = rc
        .remediation
        .references
        .iter()
        .map(|u| (u.as_str(), u.as_str()));
    let items: Vec<(&str, &str)> = console
        .chain(docs)
        .filter(|(_, u)| u.starts_with("https://"))
        .collect();
    if items.is_empty() {
        return;
    }
    s.push_str("<h3>Links</h3>\n<ul class=\"links\">\n");
    for (label, url) in items {
        let _ = writeln!(
            s,
            "<li><a href=\"{}\" rel=\"noreferrer\">{}</a></li>",
            esc(url),
            esc(label)
        );
    }
    s.push_str("</ul>\n");
}

fn steps_list(s: &mut String, steps: &[&str]) {
    if steps.is_empty() {
        return;
    }
    s.push_str("<ol class=\"steps\">\n");
    for st in steps {
        let _ = writeln!(s, "<li>{}</li>", step_html(st));
    }
    s.push_str("</ol>\n");
}

fn fix(s: &mut String, rc: &RootCauseOut, g: &RootCauseGroup) {
    s.push_str("<h3>Fix</h3>\n");
    let shown = rc.steps_for(g);
    if !rc.summary_repeats(&shown) {
        let _ = writeln!(
            s,
            "<p class=\"fix-summary\">{}</p>",
            step_html(&rc.remediation.summary)
        );
    }
    steps_list(s, &shown);
    let Some(ex) = &rc.remediation.scp_exemption else {
        return;
    };
    if !ex.add_values.is_empty() {
        let _ = writeln!(
            s,
            "<p>Exemption: add {} to the statement's <code>{}</code> <code>{}</code> list.</p>",
            ex.add_values
                .iter()
                .map(|v| format!("<code>{}</code>", esc(v)))
                .collect::<Vec<_>>()
                .join(", "),
            esc(&ex.condition_operator),
            esc(&ex.condition_key)
        );
    }
    if let Some(st) = &ex.statement {
        let _ = writeln!(
            s,
            "<h4>Patch of statement {}</h4>\n<p class=\"note\">{}</p>",
            esc(&st.statement),
            esc(&st.located_by)
        );
        s.push_str("<pre class=\"diff\"><code>");
        for l in st.diff.trim_end().lines() {
            let class = match l.chars().next() {
                Some('+') if !l.starts_with("+++") => " class=\"add\"",
                Some('-') if !l.starts_with("---") => " class=\"del\"",
                _ => "",
            };
            let _ = writeln!(s, "<span{class}>{}</span>", esc_lines(l));
        }
        s.push_str("</code></pre>\n");
        if let Some(cmd) = &st.apply_command {
            let _ = writeln!(
                s,
                "<p>Apply with:</p>\n<pre class=\"cmd\"><code>{}</code></pre>",
                esc(cmd)
            );
        }
    }
    if !ex.proof.is_empty() {
        let held = ex.proof.iter().filter(|p| p.ok).count();
        let _ = writeln!(
            s,
            "<h4>Proof ({held}/{} checks hold{})</h4>\n<ul class=\"proof\">",
            ex.proof.len(),
            if ex.proven { "" } else { "; not proven" }
        );
        // The verdicts repeat one long sentence: a word each, the sentence on hover and in the patch's note.
        for p in &ex.proof {
            let _ = writeln!(
                s,
                "<li class=\"{}\">{} <span class=\"note\">— before: <span title=\"{}\">{}</span>, after: <span title=\"{}\">{}</span></span></li>",
                if p.ok { "ok" } else { "fail" },
                esc(&p.description),
                esc(&p.before),
                esc(verdict_word(&p.before)),
                esc(&p.after),
                esc(verdict_word(&p.after))
            );
        }
        s.push_str("</ul>\n");
    }
    if let Some(c) = &rc.remediation.template_check {
        let _ = writeln!(
            s,
            "<p class=\"template-check\"><strong>The whole template:</strong> {} {}</p>",
            c.mark(),
            esc(&c.sentence())
        );
    }
    if let Some(n) = &ex.evaluation_note {
        let _ = writeln!(s, "<p class=\"note\">Note: {}</p>", esc(n));
    }
    for w in &ex.warnings {
        let _ = writeln!(s, "<p class=\"warning\">Warning: {}</p>", esc(w));
    }
}

/// `allowed` or `denied` for an evaluator's verdict sentence; anything else as it is.
fn verdict_word(v: &str) -> &str {
    if v.starts_with("allowed") {
        "allowed"
    } else if v.contains("denied") {
        "denied"
    } else {
        v
    }
}

/// Stack set, Region, status, root cause and reason.
type InstanceKind<'r> = (Option<&'r str>, &'r str, &'r str, Option<&'r str>, &'r str);

fn failed_instances(s: &mut String, fis: &[FailedInstance]) {
    if fis.is_empty() {
        return;
    }
    let accounts: BTreeSet<&str> = fis.iter().map(|f| f.account.as_str()).collect();
    let _ = writeln!(
        s,
        "<section id=\"failed-instances\">\n<h2>Failed stack instances</h2>"
    );
    let head = format!(
        "{} failed stack instance{} in {} account{}",
        fis.len(),
        if fis.len() == 1 { "" } else { "s" },
        accounts.len(),
        if accounts.len() == 1 { "" } else { "s" }
    );
    if fis.len() <= MAX_INSTANCE_ROWS {
        let _ = writeln!(
            s,
            "<details open><summary>{head}</summary>\n<div class=\"scroll\"><table class=\"cards\">"
        );
        s.push_str("<thead><tr><th>Stack set</th><th>Account</th><th>Region</th><th>Status</th><th>Root cause</th><th>Reason</th></tr></thead>\n<tbody>\n");
        for f in fis {
            let _ = writeln!(
                s,
                "<tr><td class=\"nowrap\" data-label=\"Stack set\">{}</td><td class=\"account nowrap\" data-label=\"Account\">{}</td><td class=\"nowrap\" data-label=\"Region\">{}</td><td class=\"nowrap\" data-label=\"Status\">{}</td><td data-label=\"Root cause\">{}</td><td class=\"reason\" data-label=\"Reason\">{}</td></tr>",
                opt(&f.stack_set),
                esc(&f.account),
                esc(&f.region),
                esc(&f.status),
                opt(&f.root_cause),
                esc(&clip(&f.reason, 300))
            );
        }
    } else {
        // At scale: one row per kind of failed instance, with its accounts.
        let mut groups: BTreeMap<InstanceKind<'_>, Vec<&str>> = BTreeMap::new();
        for f in fis {
            groups
                .entry((
                    f.stack_set.as_deref(),
                    f.region.as_str(),
                    f.status.as_str(),
                    f.root_cause.as_deref(),
                    f.reason.as_str(),
                ))
                .or_default()
                .push(f.account.as_str());
        }
        let _ = writeln!(
            s,
            "<details><summary>{head}, in {} kinds</summary>\n<div class=\"scroll\"><table class=\"cards\">",
            groups.len()
        );
        s.push_str("<thead><tr><th>Count</th><th>Stack set</th><th>Region</th><th>Status</th><th>Root cause</th><th>Reason</th><th>Accounts</th></tr></thead>\n<tbody>\n");
        for ((set, region, status, root, reason), accts) in &groups {
            let _ = writeln!(
                s,
                "<tr><td data-label=\"Count\">{}</td><td data-label=\"Stack set\">{}</td><td data-label=\"Region\">{}</td><td data-label=\"Status\">{}</td><td data-label=\"Root cause\">{}</td><td class=\"reason\" data-label=\"Reason\">{}</td><td class=\"accounts\" data-label=\"Accounts\">{}</td></tr>",
                accts.len(),
                set.map(esc).unwrap_or_else(|| "–".into()),
                esc(region),
                esc(status),
                root.map(esc).unwrap_or_else(|| "–".into()),
                esc(&clip(reason, 300)),
                esc(&accts.join(", "))
            );
        }
    }
    s.push_str("</tbody></table></div>\n</details>\n</section>\n");
}

// ---- the timeline ---------------------------------------------------------------------------------------

/// How a timeline is drawn: labels beside the bars (wide screens, print), or above them (phones).
#[derive(Clone, Copy)]
struct Geometry {
    class: &'static str,
    width: f64,
    /// Where the chart starts and how wide it is.
    chart_x: f64,
    chart_w: f64,
    /// Height of a row, and where its bar sits in it.
    row: f64,
    bar_y: f64,
    bar_h: f64,
    /// Whether the label is on a line of its own above the bar.
    stacked: bool,
    ticks: i32,
    label_chars: usize,
}

const WIDE: Geometry = Geometry {
    class: "timeline wide",
    width: 970.0,
    chart_x: 250.0,
    chart_w: 700.0,
    row: 24.0,
    bar_y: 5.0,
    bar_h: 14.0,
    stacked: false,
    ticks: 4,
    label_chars: 36,
};

const NARROW: Geometry = Geometry {
    class: "timeline narrow",
    width: 360.0,
    chart_x: 10.0,
    chart_w: 340.0,
    row: 34.0,
    bar_y: 17.0,
    bar_h: 12.0,
    stacked: true,
    ticks: 2,
    label_chars: 52,
};

const TL_TOP: f64 = 30.0;

fn x_of(g: &Geometry, t: &Timeline, at: DateTime<Utc>) -> f64 {
    let span = (t.end - t.start).num_milliseconds().max(1) as f64;
    g.chart_x + (at - t.start).num_milliseconds() as f64 / span * g.chart_w
}

fn hms(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

fn timeline_svg(s: &mut String, t: &Timeline) {
    s.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    let _ = writeln!(
        s,
        "<p class=\"note\">From {} to {} UTC ({}): one bar per stack set, account and Region, from its first to its last failure event; ◆ marks a root cause.{}</p>",
        t.start.format("%Y-%m-%d %H:%M:%S"),
        hms(t.end),
        duration(t),
        if t.collapsed {
            format!(
                " The {} places are collapsed into one bar per stack set, Region and outcome.",
                t.places
            )
        } else {
            String::new()
        }
    );
    s.push_str("<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#c0392b\"></i>failed</span><span><i class=\"swatch\" style=\"background:#8c959f\"></i>cancelled</span><span><i class=\"swatch\" style=\"background:#2da44e\"></i>ok</span></p>\n");
    // Two drawings of the same bars; the style sheet shows the one that fits the screen.
    s.push_str("<div class=\"scroll tl-wide\">");
    timeline_drawing(s, t, &WIDE);
    s.push_str("</div>\n<div class=\"tl-narrow\">");
    timeline_drawing(s, t, &NARROW);
    s.push_str("</div>\n");
    if t.sections
        .iter()
        .any(|sec| sec.rows.iter().any(|r| r.outcome == Outcome::Ok))
    {
        s.push_str(
            "<p class=\"note\">Green bars: places whose events say the work succeeded.</p>\n",
        );
    }
    s.push_str("</section>\n");
}

fn timeline_drawing(s: &mut String, t: &Timeline, g: &Geometry) {
    let sections = t.sections.len() as f64;
    let rows: usize = t.sections.iter().map(|sec| sec.rows.len()).sum();
    let width = g.width;
    let height = TL_TOP + sections * 24.0 + rows as f64 * g.row + 10.0;
    let _ = writeln!(
        s,
        "<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"Timeline of the failed operations\">",
        g.class
    );
    for i in 0..=g.ticks {
        let x = g.chart_x + g.chart_w * f64::from(i) / f64::from(g.ticks);
        let at = t.start + (t.end - t.start) * i / g.ticks;
        let anchor = match i {
            0 => "start",
            i if i == g.ticks => "end",
            _ => "middle",
        };
        let _ = writeln!(
            s,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text x=\"{x:.1}\" y=\"16\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#57606a\">{}</text>",
            TL_TOP - 8.0,
            height - 6.0,
            hms(at)
        );
    }
    let mut y = TL_TOP;
    for sec in &t.sections {
        let _ = writeln!(
            s,
            "<text class=\"section\" x=\"4\" y=\"{:.1}\" font-size=\"12\">{}<title>{}</title></text>",
            y + 16.0,
            esc(&clip(&sec.stack_set, if g.stacked { 52 } else { 80 })),
            esc(&sec.stack_set)
        );
        y += 24.0;
        for row in &sec.rows {
            let label = row.label();
            let x0 = x_of(g, t, row.start);
            let w = (x_of(g, t, row.end) - x0).max(4.0);
            let title = format!(
                "{} · {}: {} from {} to {} ({} failure event{})",
                sec.stack_set,
                label,
                row.outcome.as_str(),
                hms(row.start),
                hms(row.end),
                row.failures,
                if row.failures == 1 { "" } else { "s" }
            );
            let (lx, ly) = if g.stacked {
                (g.chart_x, y + 12.0)
            } else {
                (14.0, y + 16.0)
            };
            let _ = writeln!(
                s,
                "<g class=\"row\"><text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"12\">{}</text><rect class=\"bar {}\" data-outcome=\"{}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" rx=\"2\"><title>{}</title></rect>",
                esc(&clip(&label, g.label_chars)),
                row.outcome.as_str(),
                row.outcome.as_str(),
                y + g.bar_y,
                g.bar_h,
                esc(&title)
            );
            for m in &row.milestones {
                let x = x_of(g, t, m.at);
                let cy = y + g.bar_y + g.bar_h / 2.0;
                let _ = writeln!(
                    s,
                    "<path class=\"milestone\" d=\"M{x:.1} {:.1} l6 6 l-6 6 l-6 -6 z\"><title>{} {} ({}) at {}</title></path>",
                    cy - 6.0,
                    esc(m.root_cause.as_deref().unwrap_or("root cause")),
                    esc(&m.what),
                    esc(&m.category),
                    hms(m.at)
                );
            }
            if row.more_milestones > 0 {
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#57606a\">+{}</text>",
                    (x0 + w + 8.0).min(width - 24.0),
                    y + g.bar_y + g.bar_h - 2.0,
                    row.more_milestones
                );
            }
            s.push_str("</g>\n");
            y += g.row;
        }
    }
    s.push_str("</svg>");
}

fn duration(t: &Timeline) -> String {
    let secs = (t.end - t.start).num_seconds();
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

// ---- the causal graph -----------------------------------------------------------------------------------

const G_NODE_W: f64 = 210.0;
const G_NODE_H: f64 = 72.0;
const G_COL: f64 = 244.0;
const G_ROW: f64 = 84.0;
const G_PAD: f64 = 10.0;

fn graph_svg(s: &mut String, l: &Layout<'_>) {
    if l.nodes.is_empty() {
        return;
    }
    s.push_str("<section id=\"graph\">\n<h2>Causal graph</h2>\n");
    let _ = writeln!(
        s,
        "<p class=\"note\">Each failure's best cause, left to right: a root cause (red) explains what follows it.{}{}</p>",
        if l.collapsed {
            " Alike failures (same stack set, resource, category and message) are one node with their count."
        } else {
            ""
        },
        if l.hidden > 0 {
            format!(
                " {} failures are not drawn; every one is in <code>--format json</code>.",
                l.hidden
            )
        } else {
            String::new()
        }
    );
    // Two drawings of the same forest: columns left to right on a wide screen, an indented outline on a phone.
    s.push_str("<div class=\"scroll g-wide\">");
    graph_drawing(s, l, false);
    s.push_str("</div>\n<div class=\"g-narrow\">");
    graph_drawing(s, l, true);
    s.push_str("</div>\n</section>\n");
}

/// Indentation per level of the phone's outline, and the deepest level indented.
const G_INDENT: f64 = 18.0;
const G_MAX_INDENT: usize = 6;
const G_NARROW_W: f64 = 360.0;

fn graph_drawing(s: &mut String, l: &Layout<'_>, narrow: bool) {
    let (width, height) = if narrow {
        (
            G_NARROW_W,
            G_PAD * 2.0 + l.nodes.len() as f64 * (G_NODE_H + 12.0) - 12.0,
        )
    } else {
        (
            G_PAD * 2.0 + (l.columns.max(1) - 1) as f64 * G_COL + G_NODE_W,
            G_PAD * 2.0 + (l.rows.max(1) - 1) as f64 * G_ROW + G_NODE_H,
        )
    };
    let _ = writeln!(
        s,
        "<svg class=\"graph{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"Causal graph\">",
        if narrow { " narrow" } else { " wide" }
    );
    // Where node i goes, and how wide it is.
    let place = |i: usize| -> (f64, f64, f64) {
        let n = &l.nodes[i];
        if narrow {
            // The nodes are in depth-first order: the outline's order.
            let x = G_PAD + n.depth.min(G_MAX_INDENT) as f64 * G_INDENT;
            (
                x,
                G_PAD + i as f64 * (G_NODE_H + 12.0),
                G_NARROW_W - G_PAD - x,
            )
        } else {
            (
                G_PAD + n.depth as f64 * G_COL,
                G_PAD + f64::from(n.row) * G_ROW,
                G_NODE_W,
            )
        }
    };
    for (i, n) in l.nodes.iter().enumerate() {
        let Some(p) = n.parent else { continue };
        let (px, py, pw) = place(p);
        let (x, y, _) = place(i);
        let d = if narrow {
            format!(
                "M{:.1} {:.1} V{:.1} H{x:.1}",
                px + 9.0,
                py + G_NODE_H,
                y + G_NODE_H / 2.0
            )
        } else {
            let (x1, y1, y2) = (px + pw, py + G_NODE_H / 2.0, y + G_NODE_H / 2.0);
            let mid = (x1 + x) / 2.0;
            format!("M{x1:.1} {y1:.1} C{mid:.1} {y1:.1} {mid:.1} {y2:.1} {x:.1} {y2:.1}")
        };
        let _ = writeln!(
            s,
            "<path class=\"edge\" d=\"{d}\"><title>{}</title></path>",
            esc(n.link.unwrap_or("explains"))
        );
    }
    for (i, n) in l.nodes.iter().enumerate() {
        let (x, y, w) = place(i);
        node_svg(s, n, x, y, w);
    }
    s.push_str("</svg>");
}

fn node_svg(s: &mut String, n: &layout::Node<'_>, x: f64, y: f64, w: f64) {
    // About 6.7 px per character of 11 px monospace.
    let chars = (((w - 16.0) / 6.7) as usize).max(8);
    let f = n.first();
    let ids: Vec<String> = n.failures.iter().map(|f| f.id.to_string()).collect();
    let accounts = distinct(n.failures.iter().map(|f| f.account.as_deref()));
    let regions = distinct(n.failures.iter().map(|f| f.region.as_deref()));
    let head = if n.failures.len() == 1 {
        format!("{} {}", f.id, f.what())
    } else {
        format!("{}× {}", n.failures.len(), f.what())
    };
    let second = match (&f.root_cause, n.is_root()) {
        (Some(r), true) => format!("{} · root cause {r}", f.category),
        _ => format!("{} · {}", f.category, f.status),
    };
    let acct = match accounts.len() {
        0 => "-".to_owned(),
        1 => accounts[0].to_owned(),
        k => format!("{k} accounts"),
    };
    let place = format!(
        "{acct} · {}",
        match regions.len() {
            0 => "-".to_owned(),
            1 => regions[0].to_owned(),
            k => format!("{k} Regions"),
        }
    );
    let title = format!(
        "{} · {} · {}: {}",
        crate::text::shorten(&ids, 6, 5, "failures"),
        f.stack_set.as_deref().unwrap_or("-"),
        place,
        if f.message.is_empty() {
            "(no status reason)"
        } else {
            &f.message
        }
    );
    // The node's text sits in a viewport of its own, which clips what would spill out of the box.
    let _ = writeln!(
        s,
        "<g class=\"node{}\" data-failures=\"{}\"><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{G_NODE_H:.0}\" rx=\"4\"/><svg x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{G_NODE_H:.0}\"><text x=\"8\" y=\"17\" font-size=\"12\" font-weight=\"600\">{}</text><text x=\"8\" y=\"33\" font-size=\"11\">{}</text><text x=\"8\" y=\"49\" font-size=\"11\" fill=\"#57606a\">{}</text><text x=\"8\" y=\"64\" font-size=\"11\" fill=\"#57606a\">{}</text></svg></g>",
        if n.is_root() { " root" } else { "" },
        esc(&ids.join(" ")),
        esc(&clip(&title, 400)),
        w - 4.0,
        esc(&clip(&head, chars.saturating_sub(2))),
        esc(&clip(&second, chars)),
        esc(&clip(f.stack_set.as_deref().unwrap_or("-"), chars)),
        esc(&clip(&place, chars)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        assert_eq!(
            esc("<script>alert('x')</script> \"a\" & b\u{1b}[31m\u{202e}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;a&quot; &amp; b[31m"
        );
        assert_eq!(esc_lines("a\n<b>"), "a\n&lt;b&gt;");
    }

    #[test]
    fn commands_in_steps_are_code_blocks_and_the_rest_stays_escaped() {
        // Commands that end the step leave the sentence for blocks of their own.
        let h = step_html(
            "Retry <now> (add `--call-as X`): `aws cloudformation update-stack-instances --stack-set-name a<b`.",
        );
        assert_eq!(
            h,
            "Retry &lt;now&gt; (add <code>--call-as X</code>):<pre class=\"cmd\"><code>aws cloudformation update-stack-instances --stack-set-name a&lt;b</code></pre>"
        );
        // One mid-sentence stays there as code, and is a block too.
        let h = step_html("Run `aws sts get-caller-identity` first.");
        assert_eq!(
            h,
            "Run <code>aws sts get-caller-identity</code> first.<pre class=\"cmd\"><code>aws sts get-caller-identity</code></pre>"
        );
        // An unpaired backtick is prose.
        assert_eq!(step_html("a ` b <"), "a ` b &lt;");
    }

    fn render(r: &Report) -> String {
        let mut out = Vec::new();
        Html.render(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_report_without_failures_is_a_page_without_pictures() {
        let h = render(&crate::report::timeline::tests::report(Vec::new()));
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("class=\"verdict clear\""));
        assert!(!h.contains("<svg"));
        assert!(h.trim_end().ends_with("</html>"));
    }

    #[test]
    fn failed_instances_are_grouped_and_folded_at_scale() {
        use crate::report::model::FailedInstance;
        let mut r = crate::report::timeline::tests::report(Vec::new());
        let instance = |n: usize, status: &str| FailedInstance {
            stack_set: Some("ta".into()),
            account: format!("{:012}", n),
            region: "eu-west-1".into(),
            status: status.into(),
            reason: "Invalid principal".into(),
            root_cause: Some("R1".into()),
            failure: FailureId(n),
        };
        r.failed_instances = (0..5).map(|n| instance(n, "FAILED")).collect();
        let small = render(&r);
        assert!(small
            .contains("<details open><summary>5 failed stack instances in 5 accounts</summary>"));
        assert_eq!(
            small
                .matches("<td class=\"account nowrap\" data-label=\"Account\">")
                .count(),
            5
        );
        r.failed_instances = (0..100)
            .map(|n| instance(n, if n < 90 { "FAILED" } else { "CANCELLED" }))
            .collect();
        let big = render(&r);
        assert!(big.contains(
            "<details><summary>100 failed stack instances in 100 accounts, in 2 kinds</summary>"
        ));
        assert_eq!(big.matches("<tr><td data-label=\"Count\">").count(), 2);
        // Every account is still there, once.
        for n in 0..100 {
            assert_eq!(big.matches(&format!("{:012}", n)).count(), 1, "{n}");
        }
    }
}
