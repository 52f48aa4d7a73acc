//! `stackset-doctor watch`: wait for a StackSet operation to end (`collect::live::watch`), showing its progress
//! on stderr, then collect live and diagnose it as `diagnose` does.

use std::collections::BTreeSet;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::diagnose::{Gathered, ReportArgs};
use crate::failure::{for_stderr, usage, Failure};
use crate::live::{call_as, collect_live, sdk_options, LiveArgs};
use stackset_doctor::classify::Catalog;
use stackset_doctor::collect::aws::Sdk;
use stackset_doctor::collect::live::watch::{
    self, parse_duration, Backoff, Change, Ended, Update, WatchOptions, Watcher,
};
use stackset_doctor::error::exit;
use stackset_doctor::redact::Redactor;

pub const HELP: &str = "Polls cloudformation:DescribeStackSetOperation and ListStackSetOperationResults (read-only) \
every 2 s at first, slowing to every 30 s while nothing changes, until the operation is SUCCEEDED, FAILED or \
STOPPED; then collects the evidence of that operation and diagnoses it as `stackset-doctor diagnose --stack-set NAME \
--operation-id ID` would. Progress goes to stderr: a progress bar on a terminal, else one line per change (the \
operation's status, each instance's result). The report goes to stdout.\n\nWithout --operation-id, the newest \
operation that is RUNNING, STOPPING or QUEUED is watched, else the newest (which may have ended: then it is \
diagnosed at once).\n\nExamples:\n  \
stackset-doctor watch --stack-set my-set --region eu-west-1 \\\n    --member-role OrganizationAccountAccessRole\n  \
stackset-doctor watch --stack-set my-set --operation-id 1a2b... \\\n    --timeout 30m --format json > report.json\n  \
stackset-doctor watch --stack-set AWS-QuickSetup-SSM-TA-abcde --early\n\n\
Exit codes: those of diagnose (0 no failure; 1 bad input or error; 2 usage error; 3 failures, every root cause \
matched a rule; 4 failures, some root cause matched no rule; 5 no failure found, but evidence is missing), and 6 \
the --timeout passed before the operation ended (what was seen is on stderr; nothing is diagnosed), 130 stopped by \
Ctrl-C. --exit-zero turns 3, 4 and 5 into 0, never 6 or 130.";

#[derive(clap::Args)]
// LiveArgs' --timeout bounds one call's attempt; here --timeout bounds the wait, so the attempt's is renamed.
#[command(mut_arg("timeout", |a| a.long("attempt-timeout")))]
#[command(mut_arg("stack_sets", |a| a.help("The stack set whose operation to wait for").required(true)))]
#[command(mut_arg("operation_id", |a| a.help(
    "The operation to wait for (default: the newest RUNNING, STOPPING or QUEUED one, else the newest)"
)))]
#[command(mut_arg("quick_setup", |a| a.hide(true)))]
#[command(mut_arg("event", |a| a.hide(true)))]
pub struct Args {
    #[command(flatten)]
    live: LiveArgs,
    /// Give up waiting after this long, e.g. 90s, 30m, 1h30m: say what was seen and exit 6 (default: wait as long
    /// as the operation runs).
    #[arg(long = "timeout", id = "wait_timeout", value_name = "DURATION", value_parser = parse_duration, help_heading = "Wait")]
    wait: Option<Duration>,
    /// Diagnose each failed instance as soon as its result is FAILED, from the result's status reason, and print
    /// its root cause on stderr before the operation ends; the full diagnosis follows at the end.
    #[arg(long, help_heading = "Wait")]
    early: bool,
    #[command(flatten)]
    report: ReportArgs,
}

pub fn run(mut args: Args, out: &mut dyn Write) -> Result<i32, Failure> {
    let r = &args.report;
    r.check()?;
    if args.live.quick_setup {
        return Err(usage(
            "--quick-setup does not apply to watch, which waits for one stack set's operation: give --stack-set NAME \
             (`stackset-doctor diagnose --quick-setup` diagnoses every Quick Setup stack set)",
        ));
    }
    let stack_set = match args.live.stack_sets.as_slice() {
        [one] => one.clone(),
        _ => {
            return Err(usage(
                "watch waits for one stack set's operation: give --stack-set NAME once",
            ))
        }
    };
    let catalog = Catalog::load(r.rules.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let opts = WatchOptions {
        stack_set,
        operation_id: args.live.operation_id.clone(),
        call_as: call_as(&args.live),
        regions: args.live.regions.clone(),
        timeout: args.wait,
        backoff: Backoff::default(),
    };
    let started = Instant::now();
    let mut view = View::new(args.early, args.live.redact, &catalog);
    let sdk_opts = sdk_options(&args.live);
    let (w, ended) = rt.block_on(async {
        let sdk = Sdk::load(&sdk_opts).await?;
        let stop = async {
            // An error here (no signal handling on this platform) must not end the wait.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        watch::watch(&sdk, &opts, stop, &mut |u| view.update(u)).await
    })?;
    view.finish();
    let took = secs(started.elapsed());
    match ended {
        Ended::TimedOut => {
            view.say(&format!(
                "timed out after {took} (--timeout {}), the operation has not ended: {}",
                secs(args.wait.unwrap_or_default()),
                w.summary()
            ));
            return Ok(exit::WATCH_TIMED_OUT);
        }
        Ended::Interrupted => {
            view.say(&format!(
                "interrupted after {took}, nothing diagnosed: {}",
                w.summary()
            ));
            return Ok(exit::INTERRUPTED);
        }
        Ended::Finished => view.say(&format!(
            "the operation ended after {took}: {}; collecting its evidence",
            w.summary()
        )),
    }
    // Ctrl-C during the collection: tokio now owns SIGINT, so say it and leave (files are written atomically).
    rt.spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "stackset-doctor: interrupted while collecting the evidence, nothing diagnosed"
            );
            std::process::exit(exit::INTERRUPTED);
        }
    });
    args.live.operation_id = Some(w.operation_id.clone());
    let collected = collect_live(&args.live)?;
    let code = args.report.finish(
        Gathered {
            evidence: collected.evidence,
            warnings: Vec::new(),
            stats: Some(collected.stats),
            live: true,
        },
        args.live.redact,
        &catalog,
        out,
    );
    rt.shutdown_background();
    code
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// How the wait is shown on stderr: a progress bar on a terminal, else one line per change; with `--early`, the
/// root causes of failed instances as they come.
struct View<'c> {
    bar: Option<ProgressBar>,
    early: bool,
    /// `--redact`: stderr gets stand-ins too (consistent among these lines, numbered apart from the report's).
    redactor: Option<Redactor>,
    catalog: &'c Catalog,
    /// Early root causes already printed (account, Region, message).
    told: BTreeSet<(String, String, String)>,
}

impl<'c> View<'c> {
    fn new(early: bool, redact: bool, catalog: &'c Catalog) -> View<'c> {
        let bar = io::stderr().is_terminal().then(|| {
            // A spinner until the first results say how many instances there are.
            let pb = ProgressBar::new(0);
            pb.set_style(
                ProgressStyle::with_template("{spinner} {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        View {
            bar,
            early,
            redactor: redact.then(Redactor::new),
            catalog,
            told: BTreeSet::new(),
        }
    }

    /// One line on stderr, above the bar when there is one.
    fn say(&mut self, line: &str) {
        let line = match &mut self.redactor {
            Some(r) => r.text(line),
            None => line.to_owned(),
        };
        let line = format!("stackset-doctor: watch: {}", for_stderr(&line));
        match &self.bar {
            Some(pb) => pb.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&mut self) {
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
    }

    fn update(&mut self, u: Update<'_>) {
        match u {
            Update::Chosen {
                operation_id,
                call_as,
                picked,
            } => {
                let how = picked.map(|p| format!(", {p}")).unwrap_or_default();
                self.say(&format!(
                    "waiting for operation {operation_id}{how} (as {call_as})"
                ));
            }
            Update::PollFailed(reason, w) => self.say(&format!(
                "a poll failed, trying again in {}: {reason}",
                secs(w.delay())
            )),
            Update::Changes(changes, w) => {
                let progress = w.progress().line();
                let mut failed = false;
                for c in changes {
                    match c {
                        Change::Status { from, to } => {
                            let what = match from {
                                None => format!(
                                    "{to}{}",
                                    w.action().map(|a| format!(" ({a})")).unwrap_or_default()
                                ),
                                Some(f) => format!("{f} -> {to}"),
                            };
                            if self.bar.is_some() || w.polls() == 1 {
                                self.say(&format!("operation {}: {what}", w.operation_id));
                            } else {
                                self.say(&format!(
                                    "operation {}: {what} ({progress})",
                                    w.operation_id
                                ));
                            }
                        }
                        Change::Instance {
                            account,
                            region,
                            from,
                            to,
                            ..
                        } => {
                            failed |= to == "FAILED";
                            let what = match from {
                                None => to.clone(),
                                Some(f) => format!("{f} -> {to}"),
                            };
                            // On a terminal only the failures stay above the bar; the bar counts the rest.
                            if self.bar.is_none() || to == "FAILED" {
                                self.say(&format!("{account} {region}: {what} ({progress})"));
                            }
                        }
                    }
                }
                if let Some(pb) = &self.bar {
                    let p = w.progress();
                    if p.total.total() > 0 && pb.length() == Some(0) {
                        pb.set_style(
                            ProgressStyle::with_template(
                                "{spinner} {wide_msg} [{bar:20}] {pos}/{len} {elapsed}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                    }
                    pb.set_length(p.total.total());
                    pb.set_position(p.total.done());
                    let msg = format!("{} {progress}", w.status().unwrap_or_default());
                    pb.set_message(match &mut self.redactor {
                        Some(r) => r.text(&msg),
                        None => msg,
                    });
                }
                if failed && self.early {
                    self.early_diagnosis(w);
                }
            }
        }
    }

    /// The root causes of the failed results seen so far that were not told yet.
    fn early_diagnosis(&mut self, w: &Watcher) {
        let d = stackset_doctor::diagnose(&w.evidence(), self.catalog, Vec::new());
        // Root causes alike in all but account and Region are one line, as in the report (docs/report-layout.md).
        let mut groups: Vec<Vec<usize>> = d.alike.iter().map(|a| a.members.clone()).collect();
        for i in 0..d.root_causes.len() {
            if !groups.iter().any(|g| g.contains(&i)) {
                groups.push(vec![i]);
            }
        }
        groups.sort();
        let mut lines = Vec::new();
        for g in groups {
            let failures: Vec<_> = g
                .iter()
                .filter_map(|&i| d.root_causes.get(i))
                .filter_map(|rc| d.failures.get(rc.failure.0))
                .collect();
            let mut new_places = Vec::new();
            for f in &failures {
                let key = (
                    f.account.clone().unwrap_or_default(),
                    f.region.clone().unwrap_or_default(),
                    f.message.clone(),
                );
                if self.told.insert(key.clone()) {
                    new_places.push(format!("{} {}", key.0, key.1));
                }
            }
            let Some(f) = failures.first() else {
                continue;
            };
            if new_places.is_empty() {
                continue;
            }
            let rule = f
                .class
                .title
                .clone()
                .map(|t| format!("{t} [{}]", f.class.rule.clone().unwrap_or_default()))
                .unwrap_or_else(|| format!("no rule matched ({})", f.class.category.as_str()));
            let resource = match (&f.logical_id, &f.resource_type) {
                (Some(l), Some(t)) => format!("{l} ({t}): "),
                (Some(l), None) => format!("{l}: "),
                _ => String::new(),
            };
            lines.push(format!(
                "early: {}: root cause {rule}: {resource}{}",
                stackset_doctor::text::shorten(&new_places, 5, 3, "instances"),
                stackset_doctor::text::clip(&f.message, 300)
            ));
        }
        for l in lines {
            self.say(&l);
        }
    }
}
