//! Collecting from AWS, shared by `collect` and `diagnose`: the AWS options, the run on a small tokio runtime, and
//! `--redact`.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use clap::ValueEnum;

use crate::failure::{usage, warn, Failure};
use stackset_doctor::collect;
use stackset_doctor::collect::event::{StackSetEvent, Verdict};
use stackset_doctor::evidence::Evidence;
use stackset_doctor::redact::Redactor;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallAsArg {
    /// SELF first, then DELEGATED_ADMIN when the stack set is not found as SELF.
    Auto,
    #[value(name = "SELF")]
    SelfAccount,
    #[value(name = "DELEGATED_ADMIN")]
    DelegatedAdmin,
}

/// Where and how to collect from AWS (shared by `collect` and `diagnose`).
#[derive(clap::Args)]
#[command(next_help_heading = "Collect from AWS")]
pub struct LiveArgs {
    /// An EventBridge event from CloudFormation StackSets (a file, or - for stdin), as EventBridge delivers it to a
    /// target: collect exactly the stack set and operation (or stack instance) it names; nothing to do when it is
    /// no failure (docs/eventbridge.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["stack_sets", "quick_setup", "operation_id"])]
    pub event: Option<PathBuf>,
    /// Stack set to collect (repeat for several).
    #[arg(long = "stack-set", value_name = "NAME")]
    pub stack_sets: Vec<String>,
    /// Find Systems Manager Quick Setup's stack sets (AWS-QuickSetup-*) and configuration managers.
    #[arg(long)]
    pub quick_setup: bool,
    /// The failed operation to explain (default: the newest operation of each stack set that did not succeed).
    #[arg(long, value_name = "ID")]
    pub operation_id: Option<String>,
    /// Named profile from the AWS config files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region of the stack sets (the admin side).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Only instances in these regions: comma- or space-separated, as the AWS CLI takes lists
    /// (`--regions us-east-1 eu-west-1`).
    #[arg(long, value_name = "REGION", value_delimiter = ',', num_args = 1..)]
    pub regions: Vec<String>,
    /// For service-managed stack sets: SELF from the management account, DELEGATED_ADMIN from a delegated administrator.
    #[arg(long, value_enum, default_value_t = CallAsArg::Auto, value_name = "AS")]
    pub call_as: CallAsArg,
    /// Endpoint for every service (an emulator, a VPC endpoint); AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Role to assume in member accounts to read their stack events, e.g. OrganizationAccountAccessRole.
    #[arg(long, value_name = "NAME")]
    pub member_role: Option<String>,
    /// Requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Seconds to wait for one attempt of a call before retrying it.
    #[arg(long, value_name = "SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Do not search the failing accounts' CloudTrail event history (cloudtrail:LookupEvents) for the calls behind
    /// the failures.
    #[arg(long)]
    pub no_cloudtrail: bool,
    /// Replace account ids, ARNs' account parts, request ids and tokens with consistent pseudonyms.
    #[arg(long)]
    pub redact: bool,
    /// Only instances in these accounts (set from an instance event, never on the command line).
    #[arg(skip)]
    pub accounts: Vec<String>,
}

impl LiveArgs {
    pub fn wanted(&self) -> bool {
        !self.stack_sets.is_empty() || self.quick_setup || self.event.is_some()
    }

    /// With `--event`: read the event and turn it into what to collect (the stack set, its Region, the
    /// operation, or the instance's account and Region). `Some(why)` when the event is no failure: there is
    /// nothing to collect, and `why` says so. A malformed or unrelated event, or a `--region`/`--regions` that
    /// contradicts it, is a usage error (docs/eventbridge.md).
    pub fn take_event(&mut self) -> Result<Option<String>, Failure> {
        let Some(path) = self.event.clone() else {
            return Ok(None);
        };
        let limits = collect::ReadLimits::default();
        let (name, bytes) = if path.as_os_str() == "-" {
            ("<stdin>".to_owned(), collect::read::read_stdin(&limits)?)
        } else {
            (
                path.display().to_string(),
                collect::read::read_path(&path, &limits)?,
            )
        };
        let ev = StackSetEvent::parse(&name, &bytes).map_err(|e| Failure::Usage(e.to_string()))?;
        if let Some(r) = self.region.as_deref().filter(|r| *r != ev.region) {
            return Err(usage(&format!(
                "--region {r} contradicts the event: stack set {} lives in {} (its ARN in {name}), where its \
                 operations are read; leave --region out",
                ev.stack_set, ev.region
            )));
        }
        let note = match ev.verdict() {
            Verdict::Nothing(why) => return Ok(Some(why)),
            Verdict::Diagnose { note } => note,
        };
        eprintln!("stackset-doctor: event: {}", ev.describe());
        if let Some(n) = note {
            warn(&n);
        }
        self.stack_sets = vec![ev.stack_set.clone()];
        self.region = Some(ev.region.clone());
        self.operation_id = ev.operation_id().map(str::to_owned);
        if let Some((account, region)) = ev.instance() {
            if !self.regions.is_empty() && !self.regions.iter().any(|r| r == region) {
                return Err(usage(&format!(
                    "--regions {} leaves out the event's stack instance ({account} in {region}, from its stack id in \
                     {name}); leave --regions out",
                    self.regions.join(",")
                )));
            }
            self.regions = vec![region.to_owned()];
            self.accounts = vec![account.to_owned()];
        }
        Ok(None)
    }
}

/// Run the live collector on a small tokio runtime and report its cost on stderr.
pub fn collect_live(a: &LiveArgs) -> Result<collect::live::Collected, Failure> {
    collect_live_with(a, false)
}

/// The same, for a diagnosis (`preflight: false`) or for what a preflight reads (`collect::live::Options::preflight`).
pub fn collect_live_with(
    a: &LiveArgs,
    preflight: bool,
) -> Result<collect::live::Collected, Failure> {
    // A command that flattens LiveArgs must resolve --event first (`take_event`): never collect without it.
    if a.event.is_some() && a.stack_sets.is_empty() {
        return Err(usage("--event is not taken by this command"));
    }
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
        accounts: a.accounts.clone(),
        call_as: match a.call_as {
            CallAsArg::Auto => CallAs::Auto,
            CallAsArg::SelfAccount => CallAs::SelfAccount,
            CallAsArg::DelegatedAdmin => CallAs::DelegatedAdmin,
        },
        member_role: a.member_role.clone(),
        concurrency: usize::from(a.concurrency),
        cloudtrail: !a.no_cloudtrail && !preflight,
        progress: io::stderr().is_terminal(),
        preflight,
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
pub fn redact(evidence: &mut Evidence) -> Redactor {
    let mut r = Redactor::new();
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

/// The SDK's set-up for these options (as `collect_live` uses it).
pub fn sdk_options(a: &LiveArgs) -> collect::aws::SdkOptions {
    collect::aws::SdkOptions {
        profile: a.profile.clone(),
        region: a.region.clone(),
        endpoint_url: a.endpoint_url.clone(),
        attempt_timeout: std::time::Duration::from_secs(a.timeout),
        ..collect::aws::SdkOptions::default()
    }
}

/// `--call-as` as the collector takes it.
pub fn call_as(a: &LiveArgs) -> collect::live::CallAs {
    use collect::live::CallAs;
    match a.call_as {
        CallAsArg::Auto => CallAs::Auto,
        CallAsArg::SelfAccount => CallAs::SelfAccount,
        CallAsArg::DelegatedAdmin => CallAs::DelegatedAdmin,
    }
}
