//! `stackset-doctor diagnose`: read saved evidence (or collect it live), run the pipeline, render the report.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::failure::{usage, warn, Failure};
use crate::live::{collect_live, redact, LiveArgs};
use crate::terminal::ColorChoice;
use stackset_doctor::classify::Catalog;
use stackset_doctor::collect::{self, ReadLimits};
use stackset_doctor::error::{Error, Location};
use stackset_doctor::evidence::Bundle;
use stackset_doctor::output::{self, Target};
use stackset_doctor::report::{self, model, Format, Report};

pub const HELP: &str = "Examples:\n  \
stackset-doctor diagnose samples/quicksetup-scp-deny\n  \
stackset-doctor diagnose evidence/ --scp scp.json --write-fixes fixes/\n  \
stackset-doctor diagnose evidence/ --format markdown > ticket.md\n  \
stackset-doctor diagnose evidence/ --format json | jq .failed_instances\n  \
aws cloudformation describe-stack-events --stack-name S | \\\n    stackset-doctor diagnose -\n  \
stackset-doctor diagnose --stack-set my-set --region eu-west-1 \\\n    --member-role OrganizationAccountAccessRole\n  \
stackset-doctor diagnose --quick-setup --save evidence.json --redact\n  \
stackset-doctor diagnose --event event.json --output-dir report --redact\n\n\
The terminal report is laid out for the terminal's width (else COLUMNS, else 100 columns; --width N sets it) and \
coloured on a terminal (--color, NO_COLOR).\n\nPATH is a file, a folder (read recursively; files of no known shape are skipped, and say so in the \
report's coverage) or - for stdin. Files are recognised by content. Records that do not name their stack set \
(list-stack-set-operation-results) take it from the name of their folder.\n\nWithout PATH, --stack-set NAME or \
--quick-setup collects the evidence from AWS first (read-only; see `stackset-doctor collect --help`). --event FILE \
(or - for stdin) starts from an EventBridge event of CloudFormation StackSets (Operation or StackInstance Status \
Change) and collects the stack set, Region and operation or instance it names; an event that is no failure prints \
\"nothing to diagnose: ...\" and exits 0 without any AWS call, an unrelated or malformed one is a usage error \
(README: \"Run it from EventBridge\").\n\n--output-dir DIR writes report.json, report.md, report.html, fixes/ \
and (with --redact) evidence.json into DIR, and prints one summary line instead of the report.\n\nExit codes: 0 no failure; 1 bad input; \
2 usage error; 3 failures found, every root cause matched a rule; 4 failures found, some root cause matched no rule; \
5 no failure found, but some evidence could not be read or collected (not an all-clear). --exit-zero makes 3, 4 and 5 \
exit 0 (the report's summary.exit_code keeps the code).";

#[derive(clap::Args)]
pub struct Args {
    /// Files, folders, or - for stdin. Without PATH, --stack-set or --quick-setup collects from AWS.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    live: LiveArgs,
}

/// How the diagnosis is made and reported, whatever the evidence came from (shared by every command that ends
/// in a diagnosis).
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Output format (`--output` as the AWS CLI spells it works too).
    #[arg(long, short, visible_alias = "output", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Colour the terminal report: auto (on a terminal, unless NO_COLOR is set or TERM is dumb), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Lay the report out for this many columns (default: the terminal's width, else COLUMNS, else 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub width: Option<u16>,
    /// Exit 0 whenever a report was written (failures found or not), for pipelines that read the report
    /// rather than the exit code; bad input and usage errors still fail. `summary.exit_code` keeps the code.
    #[arg(long)]
    pub exit_zero: bool,
    /// Diagrams (mermaid, dot) draw every link found, not only each failure's best cause.
    #[arg(long)]
    pub all_links: bool,
    /// A folder of extra rule files (TOML), added to the built-in catalog; same id overrides.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// SCP or RCP files (`aws organizations describe-policy` output or policy documents) to evaluate SCP/RCP
    /// denies against: names the denying statement and proves the patch. Policies inside PATH folders count too.
    #[arg(long, value_name = "FILE")]
    pub scp: Vec<PathBuf>,
    /// Write each root cause's patched SCP/RCP into DIR (`<policy-id>-R<n>.json`), and point the report's
    /// `aws organizations update-policy` commands at those files.
    #[arg(long, value_name = "DIR")]
    pub write_fixes: Option<PathBuf>,
    /// Write the evidence read as a bundle (stackset-doctor/evidence/v1) to FILE.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Write the ticket bundle into DIR (created if missing; each file replaced atomically): report.json,
    /// report.md, report.html, the patched policies under fixes/ (unless --write-fixes names another folder), and,
    /// with --redact, the redacted evidence bundle evidence.json (without --redact none: use --save). Standard
    /// output then carries one summary line instead of the report.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// The largest input read (per file, or stdin): bytes, or with K, M, G.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = collect::read::parse_size)]
    pub max_input_size: u64,
}

pub fn run(mut args: Args, out: &mut dyn Write) -> Result<i32, Failure> {
    args.report.check()?;
    if args.live.event.is_some() && !args.paths.is_empty() {
        return Err(usage(
            "give PATHs to diagnose saved evidence, or --event FILE to collect what an event names, not both",
        ));
    }
    // No AWS call for an event that is no failure (docs/eventbridge.md).
    if let Some(why) = args.live.take_event()? {
        writeln!(
            out,
            "nothing to diagnose: {}",
            crate::failure::for_stderr(&why)
        )?;
        return Ok(stackset_doctor::error::exit::OK);
    }
    let r = &args.report;
    let catalog = Catalog::load(r.rules.as_deref())?;
    if args.live.wanted() && !args.paths.is_empty() {
        return Err(usage("give PATHs to diagnose saved evidence, or --stack-set/--quick-setup to collect it, not both"));
    }
    if !args.live.wanted() && args.paths.is_empty() {
        return Err(usage(
            "nothing to diagnose: give PATHs (files, folders, - for stdin), or --stack-set NAME / --quick-setup to collect from AWS",
        ));
    }
    if args.live.wanted() {
        let collected = collect_live(&args.live)?;
        return r.finish(
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
    }
    let limits = r.limits();
    let mut paths = args.paths.clone();
    paths.extend(r.scp.iter().cloned());
    let loaded = collect::load_paths_with(&paths, &limits)?;
    // Nothing readable about a deployment is an error, never "No failure found" (docs/input-formats.md).
    if loaded.files_read == 0 || !loaded.evidence.has_deployment_evidence() {
        for w in &loaded.warnings {
            warn(w);
        }
        for c in &loaded.evidence.coverage {
            warn(&format!("{}: {}", c.scope, c.reason));
        }
        let named: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        let reason = if loaded.files_read == 0 {
            "no recognised evidence in these paths".to_owned()
        } else {
            format!(
                "no deployment evidence in these paths: {} read, but none holds an operation, operation result, \
                 stack instance, stack or stack event (a stack set's description or a policy alone says nothing \
                 of a failure)",
                if loaded.files_read == 1 { "1 file".to_owned() } else { format!("{} files", loaded.files_read) }
            )
        };
        return Err(Failure::Input(Error::UnknownShape {
            location: Location::file(named.join(", ")),
            reason,
        }));
    }
    r.finish(
        Gathered {
            evidence: loaded.evidence,
            warnings: loaded.warnings,
            stats: None,
            live: false,
        },
        args.live.redact,
        &catalog,
        out,
    )
}

/// The evidence a command gathered, before the diagnosis.
pub struct Gathered {
    pub evidence: stackset_doctor::evidence::Evidence,
    /// The collection's warnings (files skipped, records dropped).
    pub warnings: Vec<String>,
    /// What a live collection cost; `None` for saved evidence.
    pub stats: Option<stackset_doctor::evidence::CollectionStats>,
    /// Collected live: `--scp` files are read and added here, and coverage is not echoed on stderr (the
    /// collector said it as it went).
    pub live: bool,
}

impl ReportArgs {
    /// Usage errors that need no evidence to tell.
    pub fn check(&self) -> Result<(), Failure> {
        if self.save.as_deref() == Some(Path::new("-")) {
            return Err(usage(
                "--save - would mix the evidence bundle with the report on standard output: give a file, or use \
                 `stackset-doctor collect -o -` for the bundle alone",
            ));
        }
        if self.output_dir.is_some() && self.format != Format::Table {
            return Err(usage(
                "--output-dir writes report.json, report.md and report.html and prints one summary line: --format is \
                 for the report on standard output, without --output-dir",
            ));
        }
        Ok(())
    }

    pub fn limits(&self) -> ReadLimits {
        ReadLimits {
            max_bytes: self.max_input_size,
            ..ReadLimits::default()
        }
    }

    /// Redact (when asked), save, diagnose, write the fixes and render the report; the exit code follows the
    /// diagnosis (`model::exit_code`) unless `--exit-zero`.
    pub fn finish(
        &self,
        gathered: Gathered,
        redact_it: bool,
        catalog: &Catalog,
        out: &mut dyn Write,
    ) -> Result<i32, Failure> {
        let Gathered {
            mut evidence,
            mut warnings,
            mut stats,
            live,
        } = gathered;
        if live && !self.scp.is_empty() {
            // `--scp FILE` adds policies to what was collected.
            let loaded = collect::load_paths_with(&self.scp, &self.limits())?;
            warnings.extend(loaded.warnings);
            evidence.extend(loaded.evidence);
        }
        if redact_it {
            // Before anything is printed or saved: warnings quote file names, which may hold account ids.
            let mut r = redact(&mut evidence);
            for w in &mut warnings {
                *w = r.text(w);
            }
            if let Some(s) = &mut stats {
                s.caller_account = r.text(&s.caller_account);
            }
        }
        for w in &warnings {
            warn(w);
        }
        if !live {
            // What could not be read is in the report's coverage; stderr says it too, where a skipped file is
            // looked for.
            for c in &evidence.coverage {
                warn(&format!("{}: {}", c.scope, c.reason));
            }
        }
        if let Some(path) = &self.save {
            let bundle = Bundle::new(evidence.clone(), stats.clone());
            output::write_bundle(&Target::File(path.clone()), &bundle, out)?;
        }
        let mut d = stackset_doctor::diagnose(&evidence, catalog, warnings);
        let fixes_dir = self
            .write_fixes
            .clone()
            .or_else(|| self.output_dir.as_ref().map(|d| d.join("fixes")));
        let mut fixes = Vec::new();
        if let Some(dir) = &fixes_dir {
            fixes = d.write_patches(dir)?;
            if self.output_dir.is_none() {
                for p in &fixes {
                    eprintln!("stackset-doctor: wrote {}", p.display());
                }
            }
        }
        let code = if self.exit_zero {
            stackset_doctor::error::exit::OK
        } else {
            model::exit_code(&d)
        };
        if let Some(dir) = &self.output_dir {
            let report = Report::new(&d);
            let bundle = redact_it.then(|| Bundle::new(evidence, stats));
            let written = write_ticket(dir, &report, bundle.as_ref(), self.all_links)?;
            let fixes = match (&self.write_fixes, fixes.len()) {
                (_, 0) => None,
                (Some(other), n) => Some(format!("{}/ ({n})", other.display())),
                (None, n) => Some(format!("fixes/ ({n})")),
            };
            writeln!(out, "{}", summary_line(&report, dir, &written, fixes))?;
            return Ok(code);
        }
        let report = Report::new(&d);
        let opts = report::Options {
            all_links: self.all_links,
            ..crate::terminal::options(self.color, self.width)
        };
        report::reporter_with(self.format, opts).render(&report, out)?;
        Ok(code)
    }
}

/// The files of the ticket bundle, in the order written.
const TICKET_FILES: [(&str, Format); 3] = [
    ("report.json", Format::Json),
    ("report.md", Format::Markdown),
    ("report.html", Format::Html),
];

/// Write the reports (and the redacted bundle) into `dir`, creating it; each file atomically. Gives the names
/// written.
fn write_ticket(
    dir: &Path,
    report: &Report,
    bundle: Option<&Bundle>,
    all_links: bool,
) -> Result<Vec<&'static str>, Failure> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let opts = report::Options {
        all_links,
        ..report::Options::piped()
    };
    let mut written = Vec::new();
    for (name, format) in TICKET_FILES {
        let mut bytes = Vec::new();
        report::reporter_with(format, opts).render(report, &mut bytes)?;
        output::write_file(&dir.join(name), &bytes)?;
        written.push(name);
    }
    if let Some(b) = bundle {
        output::write_bundle(
            &Target::File(dir.join("evidence.json")),
            b,
            &mut std::io::sink(),
        )?;
        written.push("evidence.json");
    }
    Ok(written)
}

/// The one line a runbook posts: the verdict in a word, the counts, the first root cause, where the files are.
/// `failures explained: 1 root cause, 12 failures in 5 accounts; R1 Service control policy explicitly denies
/// the action: DiagnosisBucket in 121212121212 (AWS-QuickSetup-SSM-DA-abcde, ap-northeast-1); in report/:
/// report.json report.md report.html fixes/ (1) evidence.json`
fn summary_line(report: &Report, dir: &Path, written: &[&str], fixes: Option<String>) -> String {
    use stackset_doctor::error::exit;
    let s = &report.summary;
    let word = match s.exit_code {
        exit::OK => "no failure found",
        exit::FAILURES_EXPLAINED => "failures explained",
        exit::FAILURES_UNEXPLAINED => "failures, some not explained",
        exit::INCOMPLETE => "no failure found, but evidence is missing (not an all-clear)",
        _ => "diagnosed",
    };
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let mut line = format!(
        "{word}: {}, {} in {}",
        plural(s.root_causes, "root cause"),
        plural(s.failures, "failure"),
        plural(s.accounts.len(), "account")
    );
    if let Some(r) = report.root_causes.first() {
        line.push_str(&format!(
            "; {} {}",
            r.id,
            r.title.as_deref().unwrap_or(r.category.as_str())
        ));
        let place: Vec<&str> = [
            r.logical_id.as_deref(),
            r.stack_set.as_deref(),
            r.account.as_deref(),
            r.region.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !place.is_empty() {
            line.push_str(&format!(" ({})", place.join(", ")));
        }
    }
    let (reports, rest) = written.split_at(written.len().min(TICKET_FILES.len()));
    let files: Vec<String> = reports
        .iter()
        .map(|f| (*f).to_owned())
        .chain(fixes)
        .chain(rest.iter().map(|f| (*f).to_owned()))
        .collect();
    line.push_str(&format!("; in {}: {}", dir.display(), files.join(" ")));
    stackset_doctor::text::sanitize(&line)
}
