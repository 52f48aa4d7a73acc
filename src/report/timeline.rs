//! The timeline of the failed operation(s): one bar per stack set, account and Region (or per stack set
//! operation, when that is all the evidence places in time), from its first to its last failure event, marked
//! failed, cancelled or ok, with the root causes as milestones; rows grouped by stack set. Alike rows collapse
//! at scale. Rendered as a Mermaid `gantt` here ([`gantt`]) and as inline SVG by the HTML report
//! (docs/report-html.md#the-timeline).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::model::{FailureOut, Report};
use crate::text::sanitize;
use crate::vocabulary::FailureId;

/// Beyond this many rows, rows of one stack set, Region and outcome collapse into one bar with a count of accounts.
pub const MAX_ROWS: usize = 30;
/// At most this many milestones per row; the rest are counted.
pub const MAX_MILESTONES: usize = 6;

/// What a bar's events say of its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// At least one failure there that is not a cancellation.
    Failed,
    /// Only cancellations (the operation or the stack gave up on it).
    Cancelled,
    /// Only statuses that say the work succeeded (an operation that stayed within its failure tolerance).
    Ok,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Ok => "ok",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The first and last event time of every row.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// One section per stack set, the one whose events start first first.
    pub sections: Vec<Section>,
    /// Rows before collapsing: one per stack set, account and Region (or operation).
    pub places: usize,
    /// Whether alike rows were collapsed (more than [`MAX_ROWS`] places).
    pub collapsed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The stack set's name, as the input has it (`(no stack set)` when the evidence does not say).
    pub stack_set: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The account when the row is one account; None for a collapsed row or an operation.
    pub account: Option<String>,
    /// How many accounts the bar stands for (0 for an operation's row).
    pub accounts: usize,
    pub region: Option<String>,
    /// The stack set operation, for a row that is an operation rather than a place.
    pub operation_id: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub outcome: Outcome,
    /// The failures with a timestamp the bar covers.
    pub failures: usize,
    /// Root-cause failures at this place, in time order (at most [`MAX_MILESTONES`]).
    pub milestones: Vec<Milestone>,
    /// Root causes left out of `milestones`.
    pub more_milestones: usize,
}

impl Row {
    /// What the row is, for people (raw input text: renderers escape it).
    pub fn label(&self) -> String {
        let region = self.region.as_deref().unwrap_or("-");
        match (&self.account, &self.operation_id) {
            (Some(a), _) => format!("{a} · {region}"),
            (None, _) if self.accounts > 0 => format!(
                "{} account{} · {region}",
                self.accounts,
                if self.accounts == 1 { "" } else { "s" }
            ),
            (None, Some(op)) => format!("operation {op}"),
            (None, None) => "operation".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    pub at: DateTime<Utc>,
    pub failure: FailureId,
    /// The root cause's id (`R1`…).
    pub root_cause: Option<String>,
    /// The failed resource (or kind of summary) and its category.
    pub what: String,
    pub category: String,
}

/// Where a failure happened, as a row key: an account and Region, or only an operation of the stack set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Instance(String, Option<String>),
    Operation(Option<String>),
}

/// A failure counts as a cancellation when its status or category says the work was given up, not refused.
fn cancelled(f: &FailureOut) -> bool {
    f.status.contains("CANCEL")
        || matches!(
            f.category.as_str(),
            "cancelled-cascade" | "stackset-failure-tolerance"
        )
}

fn succeeded(f: &FailureOut) -> bool {
    let s = f.status.as_str();
    (s.contains("SUCCEEDED") || s.ends_with("_COMPLETE"))
        && !s.contains("FAILED")
        && !s.contains("ROLLBACK")
}

fn outcome(fs: &[&FailureOut]) -> Outcome {
    if fs.iter().all(|f| succeeded(f)) {
        Outcome::Ok
    } else if fs.iter().all(|f| cancelled(f) || succeeded(f)) {
        Outcome::Cancelled
    } else {
        Outcome::Failed
    }
}

fn milestones(fs: &[&FailureOut]) -> (Vec<Milestone>, usize) {
    let mut ms: Vec<Milestone> = fs
        .iter()
        .filter(|f| f.role == "root")
        .filter_map(|f| {
            Some(Milestone {
                at: f.timestamp?,
                failure: f.id,
                root_cause: f.root_cause.clone(),
                what: f.what().to_owned(),
                category: f.category.clone(),
            })
        })
        .collect();
    ms.sort_by(|a, b| a.at.cmp(&b.at).then(a.failure.cmp(&b.failure)));
    let more = ms.len().saturating_sub(MAX_MILESTONES);
    ms.truncate(MAX_MILESTONES);
    (ms, more)
}

fn row_of(place: &Place, fs: &[&FailureOut]) -> Option<Row> {
    let start = fs.iter().filter_map(|f| f.timestamp).min()?;
    let end = fs.iter().filter_map(|f| f.timestamp).max()?;
    let (milestones, more_milestones) = milestones(fs);
    let (account, region, operation_id) = match place {
        Place::Instance(a, r) => (Some(a.clone()), r.clone(), None),
        Place::Operation(op) => (None, None, op.clone()),
    };
    Some(Row {
        accounts: usize::from(account.is_some()),
        account,
        region,
        operation_id,
        start,
        end,
        outcome: outcome(fs),
        failures: fs.len(),
        milestones,
        more_milestones,
    })
}

/// The timeline of the report's failures; None when no failure has a timestamp.
pub fn timeline(r: &Report) -> Option<Timeline> {
    const NO_SET: &str = "(no stack set)";
    // Failures with a time, by stack set and place.
    let mut by_set: BTreeMap<&str, BTreeMap<Place, Vec<&FailureOut>>> = BTreeMap::new();
    for f in r.failures.iter().filter(|f| f.timestamp.is_some()) {
        let set = f.stack_set.as_deref().unwrap_or(NO_SET);
        let place = match &f.account {
            Some(a) => Place::Instance(a.clone(), f.region.clone()),
            None => Place::Operation(f.operation_id.clone()),
        };
        by_set
            .entry(set)
            .or_default()
            .entry(place)
            .or_default()
            .push(f);
    }
    // An operation's own failure is a row only where the evidence places nothing of that stack set in an
    // account: otherwise its instances' bars already show when it ran.
    for places in by_set.values_mut() {
        if places.keys().any(|p| matches!(p, Place::Instance(..))) {
            places.retain(|p, _| matches!(p, Place::Instance(..)));
        }
    }
    let count: usize = by_set.values().map(BTreeMap::len).sum();
    if count == 0 {
        return None;
    }
    let collapsed = count > MAX_ROWS;
    let mut sections: Vec<Section> = by_set
        .into_iter()
        .map(|(set, places)| Section {
            stack_set: set.to_owned(),
            rows: if collapsed {
                collapse(&places)
            } else {
                places.iter().filter_map(|(p, fs)| row_of(p, fs)).collect()
            },
        })
        .collect();
    for s in &mut sections {
        s.rows.sort_by(|a, b| {
            (a.start, a.end, a.label(), a.outcome).cmp(&(b.start, b.end, b.label(), b.outcome))
        });
    }
    sections.retain(|s| !s.rows.is_empty());
    sections.sort_by(|a, b| (a.rows[0].start, &a.stack_set).cmp(&(b.rows[0].start, &b.stack_set)));
    let rows = || sections.iter().flat_map(|s| &s.rows);
    let start = rows().map(|r| r.start).min()?;
    let end = rows().map(|r| r.end).max()?;
    Some(Timeline {
        start,
        end,
        sections,
        places: count,
        collapsed,
    })
}

/// The accounts of a collapsed bar, and their failures.
type Accounts<'r> = (BTreeSet<&'r str>, Vec<&'r FailureOut>);

/// One bar per Region and outcome of a stack set, over every account that had it.
fn collapse(places: &BTreeMap<Place, Vec<&FailureOut>>) -> Vec<Row> {
    let mut groups: BTreeMap<(Option<&str>, Outcome), Accounts<'_>> = BTreeMap::new();
    let mut rows = Vec::new();
    for (place, fs) in places {
        match place {
            Place::Instance(a, r) => {
                let g = groups.entry((r.as_deref(), outcome(fs))).or_default();
                g.0.insert(a);
                g.1.extend(fs.iter().copied());
            }
            Place::Operation(_) => rows.extend(row_of(place, fs)),
        }
    }
    for ((region, _), (accounts, fs)) in groups {
        if let Some(mut row) = row_of(&Place::Operation(None), &fs) {
            row.operation_id = None;
            row.region = region.map(str::to_owned);
            row.accounts = accounts.len();
            if accounts.len() == 1 {
                row.account = accounts.first().map(|a| (*a).to_owned());
            }
            rows.push(row);
        }
    }
    rows
}

/// Text in a Mermaid gantt task or section name: what the gantt grammar reads as syntax (`:` ends the name, `#`
/// and `%%` start comments, `;` ends a statement) and what would break out of a label (quotes, angle brackets,
/// backticks) as Mermaid entity codes, as the flowchart's labels do; line breaks and control characters removed.
pub fn gantt_label(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in sanitize(s).chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            '#' => o.push_str("#35;"),
            '`' => o.push_str("#96;"),
            ':' => o.push_str("#58;"),
            ';' => o.push_str("#59;"),
            '%' => o.push_str("#37;"),
            ',' => o.push_str("#44;"),
            c => o.push(c),
        }
    }
    o
}

const GANTT_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// A Mermaid `gantt` chart of the timeline: a section per stack set, a bar per row (`crit` failed, `done`
/// cancelled), the root causes as milestones. None when no failure has a timestamp.
pub fn gantt(r: &Report) -> Option<String> {
    let t = timeline(r)?;
    let mut s = String::from("gantt\n");
    s.push_str("    title Failed operations over time (UTC)\n");
    s.push_str("    dateFormat YYYY-MM-DD HH:mm:ss\n");
    s.push_str("    axisFormat %H:%M:%S\n");
    for sec in &t.sections {
        s.push_str(&format!("    section {}\n", gantt_label(&sec.stack_set)));
        for row in &sec.rows {
            // The outcome leads every task name: a name from the input never starts a line, so it cannot be read
            // as a keyword (`click`, `dateFormat`...).
            let tag = match row.outcome {
                Outcome::Failed => "crit, ",
                Outcome::Cancelled => "done, ",
                Outcome::Ok => "",
            };
            // Mermaid draws nothing for a bar that ends where it starts: at least one second.
            let start = floor_second(row.start);
            let end = floor_second(row.end).max(start + Duration::seconds(1));
            s.push_str(&format!(
                "    {} {} :{tag}{}, {}\n",
                row.outcome.as_str(),
                gantt_label(&row.label()),
                start.format(GANTT_TIME),
                end.format(GANTT_TIME)
            ));
            for m in &row.milestones {
                s.push_str(&format!(
                    "    {} {} {} :milestone, crit, {}, 0s\n",
                    m.root_cause.as_deref().unwrap_or("root"),
                    gantt_label(&m.what),
                    gantt_label(&m.category),
                    floor_second(m.at).format(GANTT_TIME)
                ));
            }
        }
    }
    if t.collapsed {
        s.push_str(&format!(
            "    %% {} places collapsed into one bar per stack set, Region and outcome\n",
            t.places
        ));
    }
    Some(s)
}

fn floor_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::model::{Summary, Tool};
    use crate::vocabulary::FailureId;

    fn at(s: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-10T05:10:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::seconds(i64::from(s))
    }

    pub(crate) fn failure(
        n: usize,
        set: &str,
        account: Option<&str>,
        status: &str,
        t: Option<u32>,
        root: bool,
    ) -> FailureOut {
        FailureOut {
            id: FailureId(n),
            level: if account.is_some() {
                "resource"
            } else {
                "operation"
            }
            .into(),
            stack_set: Some(set.into()),
            account: account.map(Into::into),
            region: account.map(|_| "eu-west-1".into()),
            stack_name: None,
            operation_id: Some(format!("op-{set}")),
            logical_id: Some(format!("Res{n}")),
            resource_type: None,
            status: status.into(),
            timestamp: t.map(at),
            message: String::new(),
            raw_message: String::new(),
            rule: None,
            matched_by: None,
            layer: None,
            category: if status == "CANCELLED" {
                "stackset-failure-tolerance"
            } else {
                "other"
            }
            .into(),
            role: if root { "root" } else { "consequence" },
            rule_role: "unknown",
            caused_by: None,
            link: None,
            root_cause: root.then(|| "R1".to_owned()),
            fields: Default::default(),
            sources: Vec::new(),
            trail: None,
            lock_holder: None,
        }
    }

    pub(crate) fn report(failures: Vec<FailureOut>) -> Report {
        Report {
            schema: "test",
            tool: Tool {
                name: "t",
                version: "0",
            },
            summary: Summary {
                verdict: String::new(),
                failures: failures.len(),
                root_causes: 0,
                unexplained_root_causes: 0,
                stack_sets: Vec::new(),
                accounts: Vec::new(),
                regions: Vec::new(),
                exit_code: 3,
                examined: Default::default(),
            },
            root_causes: Vec::new(),
            root_cause_groups: Vec::new(),
            failures,
            failed_instances: Vec::new(),
            links: Vec::new(),
            warnings: Vec::new(),
            coverage: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn no_timestamps_no_timeline() {
        let r = report(vec![failure(
            1,
            "a",
            Some("111111111111"),
            "CREATE_FAILED",
            None,
            true,
        )]);
        assert!(timeline(&r).is_none());
        assert!(gantt(&r).is_none());
        assert!(gantt(&report(Vec::new())).is_none());
    }

    #[test]
    fn one_bar_per_place_from_first_to_last_event_sections_in_time_order() {
        let r = report(vec![
            // "b" fails first although it sorts after "a".
            failure(1, "b", Some("222222222222"), "CREATE_FAILED", Some(5), true),
            failure(
                2,
                "b",
                Some("222222222222"),
                "ROLLBACK_IN_PROGRESS",
                Some(9),
                false,
            ),
            failure(3, "a", Some("333333333333"), "CANCELLED", Some(20), false),
            failure(
                4,
                "a",
                Some("111111111111"),
                "CREATE_FAILED",
                Some(12),
                false,
            ),
            // An operation's own failure is no row where the stack set has instances.
            failure(5, "a", None, "FAILED", Some(30), false),
        ]);
        let t = timeline(&r).unwrap();
        assert_eq!(
            (t.start, t.end, t.places, t.collapsed),
            (at(5), at(20), 3, false)
        );
        let names: Vec<&str> = t.sections.iter().map(|s| s.stack_set.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        let b = &t.sections[0].rows;
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].start, b[0].end, b[0].outcome),
            (at(5), at(9), Outcome::Failed)
        );
        assert_eq!(b[0].milestones.len(), 1);
        assert_eq!(b[0].milestones[0].root_cause.as_deref(), Some("R1"));
        let a = &t.sections[1].rows;
        let labels: Vec<String> = a.iter().map(Row::label).collect();
        assert_eq!(
            labels,
            ["111111111111 · eu-west-1", "333333333333 · eu-west-1"]
        );
        assert_eq!(a[1].outcome, Outcome::Cancelled);
    }

    #[test]
    fn an_operation_is_a_row_where_the_evidence_has_nothing_else() {
        let r = report(vec![failure(1, "a", None, "FAILED", Some(3), true)]);
        let t = timeline(&r).unwrap();
        assert_eq!(t.sections[0].rows[0].label(), "operation op-a");
        assert_eq!(t.sections[0].rows[0].accounts, 0);
    }

    #[test]
    fn alike_rows_collapse_at_scale() {
        let mut fs = Vec::new();
        for n in 0..100u32 {
            let acct = format!("{:012}", 100_000 + n);
            let status = if n % 10 == 0 {
                "CANCELLED"
            } else {
                "CREATE_FAILED"
            };
            fs.push(failure(
                n as usize,
                "big",
                Some(&acct),
                status,
                Some(n),
                n == 3,
            ));
        }
        let r = report(fs);
        let t = timeline(&r).unwrap();
        assert!(t.collapsed);
        assert_eq!(t.places, 100);
        let rows = &t.sections[0].rows;
        assert_eq!(rows.len(), 2, "{rows:#?}");
        let failed = rows.iter().find(|r| r.outcome == Outcome::Failed).unwrap();
        let cancelled = rows
            .iter()
            .find(|r| r.outcome == Outcome::Cancelled)
            .unwrap();
        assert_eq!((failed.accounts, cancelled.accounts), (90, 10));
        assert_eq!(failed.label(), "90 accounts · eu-west-1");
        assert_eq!((failed.start, failed.end), (at(1), at(99)));
        assert_eq!(failed.milestones.len(), 1);
        let g = gantt(&r).unwrap();
        assert_eq!(
            g.lines().filter(|l| l.contains(":crit, 20")).count(),
            1,
            "{g}"
        );
        assert!(g.contains("%% 100 places collapsed"));
    }

    #[test]
    fn gantt_marks_failed_crit_and_milestones_with_seconds() {
        let r = report(vec![
            failure(
                1,
                "da",
                Some("111111111111"),
                "CREATE_FAILED",
                Some(1),
                true,
            ),
            failure(2, "ta", Some("222222222222"), "CANCELLED", Some(13), false),
        ]);
        let g = gantt(&r).unwrap();
        assert!(g.starts_with("gantt\n"), "{g}");
        assert!(g.contains("dateFormat YYYY-MM-DD HH:mm:ss"));
        let lines: Vec<&str> = g.lines().map(str::trim).collect();
        let da = lines.iter().position(|l| *l == "section da").unwrap();
        let ta = lines.iter().position(|l| *l == "section ta").unwrap();
        assert!(da < ta);
        // One event: the bar still lasts a second.
        assert_eq!(
            lines[da + 1],
            "failed 111111111111 · eu-west-1 :crit, 2025-03-10 05:10:01, 2025-03-10 05:10:02"
        );
        assert_eq!(
            lines[da + 2],
            "R1 Res1 other :milestone, crit, 2025-03-10 05:10:01, 0s"
        );
        assert!(lines[ta + 1].starts_with("cancelled 222222222222 · eu-west-1 :done, "));
    }

    #[test]
    fn gantt_escapes_what_comes_from_the_input() {
        let mut f = failure(1, "x", Some("111111111111"), "CREATE_FAILED", Some(1), true);
        f.stack_set = Some("evil: name #1; 50%\nclick x href \"javascript:alert(1)\"".into());
        f.logical_id = Some("Res<script>`:".into());
        let g = gantt(&report(vec![f])).unwrap();
        for bad in ["<script>", "\"", "`", "\nclick"] {
            assert!(!g.contains(bad), "{bad:?} in {g}");
        }
        let section = g.lines().find(|l| l.contains("section")).unwrap();
        assert_eq!(
            section.trim(),
            "section evil#58; name #35;1#59; 50#37; click x href #quot;javascript#58;alert(1)#quot;"
        );
        let milestone = g.lines().find(|l| l.contains("milestone")).unwrap();
        assert!(
            milestone.contains("Res#lt;script#gt;#96;#58; other :milestone"),
            "{milestone}"
        );
        // Every line is one statement: only the separator colon is left unescaped.
        for l in g.lines().filter(|l| l.contains(" :")) {
            let (name, _) = l.split_once(" :").unwrap();
            assert!(!name.contains(':'), "{l}");
        }
    }
}
