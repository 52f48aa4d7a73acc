//! The `stackset-doctor` command line: parses arguments, runs the pipeline, renders errors once, and maps
//! outcomes to the documented exit codes (`error::exit`).

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use stackset_doctor::classify::{self, ruletest, Catalog};
use stackset_doctor::collect;
use stackset_doctor::error::{exit, Error};
use stackset_doctor::report::{self, model, Format, Report};

#[derive(Parser)]
#[command(
    name = "stackset-doctor",
    version,
    about = "Explains why a CloudFormation StackSet deployment failed — across stack sets, accounts and regions — and what to change.",
    long_about = "Explains why a CloudFormation StackSet deployment failed — across stack sets, accounts and regions — \
and what to change.\n\nIt reads what the AWS CLI prints (describe-stack-events, list-stack-set-operation-results, \
list-stack-instances, ...), unwraps the error messages, classifies them with a rule catalog, links each failure to the \
failure that caused it (also across stack sets: a role another stack set never created), and reports the root causes \
with the chain of consequences and the fix.",
    after_help = "Examples:\n  stackset-doctor diagnose samples/quicksetup-scp-deny\n  stackset-doctor diagnose --quick-setup --region ap-northeast-1 --member-role OrganizationAccountAccessRole\n  stackset-doctor collect --stack-set my-set -o evidence.json --redact\n  aws cloudformation describe-stack-events --stack-name S --output json | stackset-doctor diagnose -\n  stackset-doctor diagnose evidence/ --format markdown > ticket.md\n  stackset-doctor explain 'Resource creation cancelled'\n  stackset-doctor rules list\n\nExit codes: 0 no failure; 1 bad input or error; 2 usage error; 3 failures, every root cause matched a rule; 4 failures, some root cause matched no rule."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Diagnose a failed deployment: from saved AWS CLI JSON or an evidence bundle, or collected live from AWS.
    #[command(
        after_help = "PATH is a file, a folder (read recursively; unrecognised files are skipped with a warning) \
or - for stdin. Files are recognised by content. Records that do not name their stack set \
(list-stack-set-operation-results) take it from the name of their folder.\n\nWithout PATH, --stack-set NAME or \
--quick-setup collects the evidence from AWS first (read-only; see `stackset-doctor collect --help`).\n\nExit codes: 0 no failure; 1 bad input; \
2 usage error; 3 failures found, every root cause matched a rule; 4 failures found, some root cause matched no rule."
    )]
    Diagnose(DiagnoseArgs),
    /// Gather the evidence of a failed deployment from AWS into an evidence bundle (read-only).
    #[command(after_help = COLLECT_HELP)]
    Collect(CollectArgs),
    /// Classify one message (or, with -, one message per line of stdin).
    Explain(ExplainArgs),
    /// List or test the rule catalog.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Evaluate a request against SCPs/RCPs, or propose a proven exemption.
    #[command(subcommand)]
    Scp(stackset_doctor::scp::cli::ScpCommand),
}

#[derive(Args)]
struct DiagnoseArgs {
    /// Files, folders, or - for stdin. Without PATH, --stack-set or --quick-setup collects from AWS.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// A folder of extra rule files (TOML), added to the built-in catalog; same id overrides.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// SCP or RCP files (`aws organizations describe-policy` output or policy documents) to evaluate SCP/RCP
    /// denies against: names the denying statement and proves the patch. Policies inside PATH folders count too.
    #[arg(long, value_name = "FILE")]
    scp: Vec<PathBuf>,
    /// Write the evidence read as a bundle (stackset-doctor/evidence/v1) to FILE.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// The largest input read (per file, or stdin): bytes, or with K, M, G.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = collect::read::parse_size)]
    max_input_size: u64,
    #[command(flatten)]
    live: LiveArgs,
}

const COLLECT_HELP: &str = "Reads, never writes: the tool refuses any API call outside its read-only allow-list \
(README: \"IAM permissions\"). Credentials and region come from the standard chain (environment, --profile, SSO, \
instance role). Gaps (an account where the member role cannot be assumed, a throttled call that ran out of retries, \
a timeout) are recorded in the bundle's coverage section and the collection goes on.\n\nExamples:\n  \
stackset-doctor collect --quick-setup --region ap-northeast-1 --call-as DELEGATED_ADMIN -o bundle.json\n  \
stackset-doctor collect --stack-set my-set --operation-id 1a2b... --member-role OrganizationAccountAccessRole -o b.json\n  \
stackset-doctor diagnose bundle.json";

#[derive(Args)]
struct CollectArgs {
    #[command(flatten)]
    live: LiveArgs,
    /// Where to write the evidence bundle (written atomically; - for stdout).
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CallAsArg {
    /// SELF first, then DELEGATED_ADMIN when the stack set is not found as SELF.
    Auto,
    #[value(name = "SELF")]
    SelfAccount,
    #[value(name = "DELEGATED_ADMIN")]
    DelegatedAdmin,
}

/// Where and how to collect from AWS (shared by `collect` and `diagnose`).
#[derive(Args)]
#[command(next_help_heading = "Collect from AWS")]
struct LiveArgs {
    /// Stack set to collect (repeat for several).
    #[arg(long = "stack-set", value_name = "NAME")]
    stack_sets: Vec<String>,
    /// Find Systems Manager Quick Setup's stack sets (AWS-QuickSetup-*) and configuration managers.
    #[arg(long)]
    quick_setup: bool,
    /// The failed operation to explain (default: the newest operation of each stack set that did not succeed).
    #[arg(long, value_name = "ID")]
    operation_id: Option<String>,
    /// Named profile from the AWS config files.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Region of the stack sets (the admin side).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Only instances in these regions (comma-separated).
    #[arg(long, value_name = "R1,R2", value_delimiter = ',')]
    regions: Vec<String>,
    /// For service-managed stack sets: SELF from the management account, DELEGATED_ADMIN from a delegated administrator.
    #[arg(long, value_enum, default_value_t = CallAsArg::Auto, value_name = "AS")]
    call_as: CallAsArg,
    /// Endpoint for every service (an emulator, a VPC endpoint); AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Role to assume in member accounts to read their stack events, e.g. OrganizationAccountAccessRole.
    #[arg(long, value_name = "NAME")]
    member_role: Option<String>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Seconds to wait for one attempt of a call before retrying it.
    #[arg(long, value_name = "SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// Replace account ids, ARNs' account parts, request ids and tokens with consistent pseudonyms.
    #[arg(long)]
    redact: bool,
}

impl LiveArgs {
    fn wanted(&self) -> bool {
        !self.stack_sets.is_empty() || self.quick_setup
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TextOrJson {
    Text,
    Json,
}

#[derive(Args)]
struct ExplainArgs {
    /// The message (quote it), or - to read one message per line from stdin.
    #[arg(value_name = "MESSAGE")]
    message: String,
    #[arg(long, short, value_enum, default_value_t = TextOrJson::Text)]
    format: TextOrJson,
    /// A folder of extra rule files.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// The failing resource's type, for rules that filter on it.
    #[arg(long, value_name = "TYPE")]
    resource_type: Option<String>,
    /// The failure's status (e.g. CREATE_FAILED), for rules that filter on it.
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List the rules: id, category, role, priority, title.
    List {
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        #[arg(long, short, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Run every rule's examples and counter-examples (the built-in catalog, or only the rules in DIR).
    Test {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the catalog page (rules/README.md) generated from the rule files.
    Doc {
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = run(cli, &mut out).and_then(|code| out.flush().map(|_| code).map_err(Failure::Io));
    match result {
        Ok(code) => ExitCode::from(code as u8),
        // A closed pipe (`| head`) is how the reader says it has enough.
        Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(exit::OK as u8)
        }
        Err(Failure::Io(e)) => {
            eprintln!("stackset-doctor: error: {}", for_stderr(&e.to_string()));
            ExitCode::from(exit::ERROR as u8)
        }
        Err(Failure::Input(e)) => {
            eprintln!("stackset-doctor: error: {}", for_stderr(&e.to_string()));
            ExitCode::from(e.exit_code() as u8)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("stackset-doctor: error: {msg}\n\nFor more information, try '--help'.");
            ExitCode::from(exit::USAGE as u8)
        }
    }
}

/// Errors can quote input (a bad value, a file name): strip control characters before they reach a terminal.
fn for_stderr(s: &str) -> String {
    if io::stderr().is_terminal() {
        stackset_doctor::text::sanitize(s)
    } else {
        s.to_owned()
    }
}

enum Failure {
    Input(Error),
    Io(io::Error),
    /// Arguments that clap accepts one by one but not together.
    Usage(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Input(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<i32, Failure> {
    match cli.command {
        Command::Diagnose(args) => diagnose(args, out),
        Command::Collect(args) => collect_cmd(args, out),
        Command::Explain(args) => explain(args, out),
        Command::Scp(c) => match stackset_doctor::scp::cli::run(c, out) {
            Ok(code) => Ok(code),
            Err(e) => {
                eprintln!("stackset-doctor: error: {}", for_stderr(&e.to_string()));
                Ok(e.exit_code())
            }
        },
        Command::Rules(RulesCommand::List { rules, format }) => {
            let catalog = Catalog::load(rules.as_deref())?;
            rules_list(&catalog, format, out)?;
            Ok(exit::OK)
        }
        Command::Rules(RulesCommand::Doc { rules }) => {
            let catalog = Catalog::load(rules.as_deref())?;
            write!(out, "{}", classify::rules::catalog_markdown(&catalog))?;
            Ok(exit::OK)
        }
        Command::Rules(RulesCommand::Test { dir }) => {
            let catalog = match &dir {
                Some(d) => Catalog::load_dir_only(d)?,
                None => Catalog::builtin()?,
            };
            rules_test(&catalog, out)
        }
    }
}

fn diagnose(args: DiagnoseArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    let catalog = Catalog::load(args.rules.as_deref())?;
    if args.live.wanted() && !args.paths.is_empty() {
        return Err(usage("give PATHs to diagnose saved evidence, or --stack-set/--quick-setup to collect it, not both"));
    }
    if args.save.as_deref() == Some(std::path::Path::new("-")) {
        return Err(usage(
            "--save - would mix the evidence bundle with the report on standard output: give a file, or use \
             `stackset-doctor collect -o -` for the bundle alone",
        ));
    }
    if !args.live.wanted() && args.paths.is_empty() {
        return Err(usage(
            "nothing to diagnose: give PATHs (files, folders, - for stdin), or --stack-set NAME / --quick-setup to collect from AWS",
        ));
    }
    let limits = collect::ReadLimits {
        max_bytes: args.max_input_size,
        ..collect::ReadLimits::default()
    };
    let (mut evidence, warnings, stats) = if args.live.wanted() {
        let collected = collect_live(&args.live)?;
        // `--scp FILE` adds policies to what was collected.
        let mut ev = collected.evidence;
        let mut warnings = Vec::new();
        if !args.scp.is_empty() {
            let loaded = collect::load_paths_with(&args.scp, &limits)?;
            warnings = loaded.warnings;
            ev.extend(loaded.evidence);
        }
        (ev, warnings, Some(collected.stats))
    } else {
        let mut paths = args.paths.clone();
        paths.extend(args.scp.iter().cloned());
        let loaded = collect::load_paths_with(&paths, &limits)?;
        if loaded.files_read == 0 {
            for w in &loaded.warnings {
                eprintln!("stackset-doctor: warning: {}", for_stderr(w));
            }
            return Err(Failure::Input(Error::UnknownShape {
                location: stackset_doctor::error::Location {
                    file: args
                        .paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    line: None,
                    column: None,
                },
                reason: "no recognised evidence in these paths".into(),
            }));
        }
        (loaded.evidence, loaded.warnings, None)
    };
    let (mut warnings, mut stats) = (warnings, stats);
    if args.live.redact {
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
        eprintln!("stackset-doctor: warning: {}", for_stderr(w));
    }
    if let Some(path) = &args.save {
        save_bundle(
            &stackset_doctor::output::Target::File(path.clone()),
            &evidence,
            stats,
            out,
        )?;
    }
    let d = stackset_doctor::diagnose(&evidence, &catalog, warnings);
    let report = Report::new(&d);
    report::reporter(args.format).render(&report, out)?;
    Ok(model::exit_code(&d))
}

fn usage(msg: &str) -> Failure {
    Failure::Usage(msg.to_owned())
}

/// `collect`: gather the evidence from AWS and write the bundle.
fn collect_cmd(args: CollectArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    if !args.live.wanted() {
        return Err(usage(
            "nothing to collect: give --stack-set NAME (repeatable) or --quick-setup",
        ));
    }
    let collected = collect_live(&args.live)?;
    let mut evidence = collected.evidence;
    let mut stats = collected.stats;
    if args.live.redact {
        let mut r = redact(&mut evidence);
        stats.caller_account = r.text(&stats.caller_account);
    }
    let target = stackset_doctor::output::Target::of(&args.output);
    save_bundle(&target, &evidence, Some(stats), out)?;
    if target != stackset_doctor::output::Target::Stdout {
        eprintln!("stackset-doctor: wrote {}", args.output.display());
    }
    Ok(exit::OK)
}

/// Run the live collector on a small tokio runtime and report its cost on stderr.
fn collect_live(a: &LiveArgs) -> Result<collect::live::Collected, Failure> {
    use collect::aws::{Sdk, SdkOptions};
    use collect::live::{CallAs, Options};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let sdk_opts = SdkOptions {
        profile: a.profile.clone(),
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        attempt_timeout: std::time::Duration::from_secs(a.timeout),
        ..SdkOptions::default()
    };
    let opts = Options {
        stack_sets: a.stack_sets.clone(),
        quick_setup: a.quick_setup,
        operation_id: a.operation_id.clone(),
        regions: a.regions.clone(),
        call_as: match a.call_as {
            CallAsArg::Auto => CallAs::Auto,
            CallAsArg::SelfAccount => CallAs::SelfAccount,
            CallAsArg::DelegatedAdmin => CallAs::DelegatedAdmin,
        },
        member_role: a.member_role.clone(),
        concurrency: usize::from(a.concurrency),
        progress: io::stderr().is_terminal(),
    };
    let collected = rt.block_on(async {
        let sdk = Sdk::load(&sdk_opts).await?;
        collect::live::collect(&opts, &sdk).await
    })?;
    eprintln!("stackset-doctor: {}", collected.summary());
    Ok(collected)
}

/// Pseudonymise the evidence in place and say what was replaced; the redactor goes on serving anything else
/// printed (same value, same stand-in).
fn redact(evidence: &mut stackset_doctor::evidence::Evidence) -> stackset_doctor::redact::Redactor {
    let mut r = stackset_doctor::redact::Redactor::new();
    r.evidence(evidence);
    let parts: Vec<String> = r
        .summary()
        .iter()
        .map(|&(kind, n)| format!("{n} {kind}{}", if n == 1 { "" } else { "s" }))
        .collect();
    eprintln!(
        "stackset-doctor: redacted: {}",
        if parts.is_empty() {
            "nothing to replace".into()
        } else {
            parts.join(", ")
        }
    );
    r
}

fn bundle_of(
    evidence: &stackset_doctor::evidence::Evidence,
    stats: Option<stackset_doctor::evidence::CollectionStats>,
) -> stackset_doctor::evidence::Bundle {
    use stackset_doctor::evidence::{Bundle, BUNDLE_SCHEMA};
    Bundle {
        schema: BUNDLE_SCHEMA.into(),
        generated_by: Some(format!("stackset-doctor {}", env!("CARGO_PKG_VERSION"))),
        collected_at: stats
            .as_ref()
            .map(|_| chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())),
        collection: stats,
        evidence: evidence.clone(),
    }
}

fn save_bundle(
    target: &stackset_doctor::output::Target,
    evidence: &stackset_doctor::evidence::Evidence,
    stats: Option<stackset_doctor::evidence::CollectionStats>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let mut json = Vec::new();
    report::json::write(&mut json, &bundle_of(evidence, stats), true)?;
    json.push(b'\n');
    stackset_doctor::output::write(target, &json, out)?;
    Ok(())
}

fn explain(args: ExplainArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    let catalog = Catalog::load(args.rules.as_deref())?;
    let messages: Vec<String> = if args.message == "-" {
        io::stdin()
            .lock()
            .lines()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Io {
                path: "<stdin>".into(),
                source,
            })?
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect()
    } else {
        vec![args.message.clone()]
    };
    let mut any_unknown = false;
    for m in &messages {
        let u = classify::unwrap::unwrap(m);
        let c = classify::classify_unwrapped(
            &catalog,
            &u,
            args.resource_type.as_deref(),
            args.status.as_deref(),
        );
        any_unknown |= c.rule.is_none();
        match args.format {
            TextOrJson::Json => {
                let v = serde_json::json!({
                    "message": m,
                    "innermost": u.innermost(),
                    "rule": c.rule,
                    "category": c.category,
                    "role": c.role,
                    "fields": c.fields,
                    "nearest": if c.rule.is_none() {
                        catalog.nearest(u.innermost(), 3).iter().map(|(r, _)| r.id.clone()).collect::<Vec<_>>()
                    } else {
                        Vec::new()
                    },
                });
                report::json::write(&mut *out, &v, false)?;
                writeln!(out)?;
            }
            TextOrJson::Text => explain_text(&catalog, &u, &c, out)?,
        }
    }
    Ok(if any_unknown {
        exit::FAILURES_UNEXPLAINED
    } else {
        exit::OK
    })
}

fn explain_text(
    catalog: &Catalog,
    u: &classify::Unwrapped<'_>,
    c: &classify::Classification,
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = stackset_doctor::text::sanitize;
    writeln!(out, "message      {}", s(u.innermost()))?;
    match &c.rule {
        Some(id) => {
            writeln!(
                out,
                "rule         {id}  ({}, {})",
                c.category,
                c.role.as_str()
            )?;
            if let Some(rule) = catalog.get(id) {
                writeln!(out, "title        {}", s(&rule.title))?;
                let f = &c.fields;
                for (k, v) in f {
                    writeln!(out, "  {k:<11}{}", s(v))?;
                }
                writeln!(
                    out,
                    "explanation  {}",
                    s(&classify::rules::render(&rule.explanation, f))
                )?;
                writeln!(
                    out,
                    "remediation  {}",
                    s(&classify::rules::render(&rule.remediation, f))
                )?;
            }
        }
        None => {
            writeln!(out, "rule         none: category other, role unknown")?;
            for (k, v) in &c.fields {
                writeln!(out, "  {k:<11}{}", s(v))?;
            }
            let near = catalog.nearest(u.innermost(), 3);
            if !near.is_empty() {
                let list: Vec<String> = near
                    .iter()
                    .map(|(r, s)| format!("{} ({:.0}% alike)", r.id, s * 100.0))
                    .collect();
                writeln!(out, "nearest      {}", list.join(", "))?;
            }
            writeln!(
                out,
                "hint         write a rule for it (see rules/README.md) and pass --rules DIR"
            )?;
        }
    }
    writeln!(out)
}

fn rules_list(catalog: &Catalog, format: TextOrJson, out: &mut dyn Write) -> io::Result<()> {
    match format {
        TextOrJson::Json => {
            let v: Vec<_> = catalog
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "title": r.title, "category": r.category, "role": r.role,
                        "priority": r.priority, "origin": r.origin, "examples": r.examples.len(),
                    })
                })
                .collect();
            report::json::write(&mut *out, &v, true)?;
            writeln!(out)
        }
        TextOrJson::Text => {
            let w = catalog.rules.iter().map(|r| r.id.len()).max().unwrap_or(10);
            for r in &catalog.rules {
                writeln!(
                    out,
                    "{:<w$}  {:<26} {:<11} {:>3}  {}",
                    r.id,
                    r.category.as_str(),
                    r.role.as_str(),
                    r.priority,
                    r.title
                )?;
            }
            writeln!(
                out,
                "{} rules, {} topologies",
                catalog.rules.len(),
                catalog.topologies.len()
            )
        }
    }
}

fn rules_test(catalog: &Catalog, out: &mut dyn Write) -> Result<i32, Failure> {
    let t = ruletest::run(catalog);
    for f in &t.failed {
        writeln!(out, "FAIL {}", stackset_doctor::text::sanitize(f))?;
    }
    writeln!(out, "by category (examples and counter-examples passing):")?;
    for (cat, (pass, total)) in &t.by_category {
        writeln!(out, "  {:<27} {pass}/{total}", cat.as_str())?;
    }
    let covered = t.by_category.len();
    writeln!(
        out,
        "{} rules covering {covered} of {} categories",
        t.rules,
        stackset_doctor::vocabulary::Category::ALL.len()
    )?;
    writeln!(out, "{} passed, {} failed", t.passed, t.failed.len())?;
    Ok(if t.ok() { exit::OK } else { exit::ERROR })
}
