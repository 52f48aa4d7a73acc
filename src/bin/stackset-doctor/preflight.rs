//! `stackset-doctor preflight`: read the template and the policies (files, a bundle, or live from AWS), run
//! `stackset_doctor::preflight` and the order across stack sets, print. Exit 0 nothing predicted, 3 a deny or an
//! ordering problem predicted, 5 nothing predicted but some target could not be checked, 1 bad input.

use std::io::Write;
use std::path::PathBuf;

use crate::failure::{usage, warn, Failure};
use crate::live::{collect_live_with, LiveArgs};
use crate::scp::read_policy_files;
use stackset_doctor::classify::Catalog;
use stackset_doctor::collect::{self, read, text};
use stackset_doctor::error::{Error, Location};
use stackset_doctor::evidence::Evidence;
use stackset_doctor::preflight::{
    self, input, ordering, ExecutionRole, Format, Group, Plan, Report, Reports,
};

pub const HELP: &str = "Examples:\n  \
stackset-doctor preflight --template template.yaml --policy scp.json --account 121212121212 --region ap-northeast-1\n  \
stackset-doctor preflight --template describe-stack-set.json --policy levels.json --account 121212121212\n  \
stackset-doctor preflight samples/quicksetup-scp-deny --format json\n  \
stackset-doctor preflight --quick-setup --region ap-northeast-1 --call-as DELEGATED_ADMIN\n  \
stackset-doctor preflight --stack-set my-set --stack-set my-base-set --region eu-west-1\n\n\
Each resource's create-handler actions (CloudFormation registry schemas, shipped in cfn-lint) are checked against \
the SCPs and RCPs of each target's policy path, as the stack set's execution role: certain (the template's \
properties make the handler call it) or possible. Accounts sharing a path are evaluated once. Verdicts that need \
what the template cannot tell are listed as unsettled. With a bundle, a folder or live, the order across stack sets \
is checked too: a name the template needs that another stack set creates (a role its trust policy names, an export \
it imports), or a stack set its AutoDeployment DependsOn names, whose instance where it lives is missing or not \
CURRENT. See docs/preflight.md.\n\n\
Live (--stack-set NAME, --quick-setup) reads each stack set's template (DescribeStackSet), its instances \
(ListStackInstances) and each target account's SCP/RCP path (Organizations), with the read-only calls `collect` \
uses; --region is then the stack sets' Region (for --template, the target's). Accounts whose policies cannot be \
read are listed as \"could not check\", never as clear.\n\n\
Exit codes: 0 no deny or ordering problem predicted, every target checked (unsettled actions may be listed); 1 bad \
input or error; 2 usage error; 3 some deny or ordering problem predicted; 5 none predicted, but some target could \
not be checked (not an all-clear).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Markdown,
}

#[derive(clap::Args)]
pub struct Args {
    /// A bundle, folder or files of saved AWS CLI output: each stack set's template (describe-stack-set), its
    /// targets (instances) and each account's policies.
    #[arg(value_name = "PATH", conflicts_with_all = ["template", "policies", "account"])]
    paths: Vec<PathBuf>,
    /// A template (YAML or JSON), or describe-stack-set output holding one.
    #[arg(long, value_name = "FILE", requires_all = ["policies", "account"])]
    template: Option<PathBuf>,
    /// Policy files as `scp check` takes them: documents or describe-policy output, root first (FullAWSAccess
    /// assumed at each level), or one levels file.
    #[arg(long = "policy", num_args = 1.., value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// The target account.
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// The execution role's name (default: a stacksets-exec-* role for service-managed stack sets,
    /// AWSCloudFormationStackSetExecutionRole or the stack set's ExecutionRoleName for self-managed ones).
    #[arg(long, value_name = "NAME")]
    execution_role: Option<String>,
    /// For a template file: deploy as a self-managed stack set (the default execution role is then
    /// AWSCloudFormationStackSetExecutionRole).
    #[arg(long)]
    self_managed: bool,
    /// A template parameter's value, repeatable.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    parameters: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Live: the stack sets to preflight (--stack-set, --quick-setup) and how to reach AWS. --region is the
    /// target's Region for --template (default us-east-1).
    #[command(flatten)]
    live: LiveArgs,
}

pub fn run(args: Args, out: &mut dyn Write) -> Result<i32, Failure> {
    let catalog = Catalog::builtin()?;
    let data = preflight::data::builtin()?;
    let format = match args.format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Markdown => Format::Markdown,
    };
    let merged: Reports = if args.live.wanted() {
        check_live_usage(&args)?;
        let collected = collect_live_with(&args.live, true)?;
        let region = collected.stats.region.clone();
        from_evidence(
            &collected.evidence,
            &format!("live ({region})"),
            &args,
            &catalog,
            data,
        )?
    } else if let Some(t) = &args.template {
        let plan = file_plan(&args, t, &catalog)?;
        Report::merge(vec![preflight::run(&plan, data)])
    } else {
        if args.paths.is_empty() {
            return Err(usage(
                "give a bundle or folder (PATH), --template FILE --policy FILE... --account ID, or --stack-set \
                 NAME / --quick-setup to read from AWS",
            ));
        }
        let loaded = collect::load_paths(&args.paths)?;
        for w in &loaded.warnings {
            warn(w);
        }
        let label = args
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        from_evidence(&loaded.evidence, &label, &args, &catalog, data)?
    };
    preflight::write(&merged, format, out)?;
    Ok(merged.exit_code())
}

/// Options that mean nothing to a live preflight are refused, not ignored.
fn check_live_usage(args: &Args) -> Result<(), Failure> {
    if !args.paths.is_empty() || args.template.is_some() {
        return Err(usage(
            "give PATHs or --template to preflight saved files, or --stack-set/--quick-setup to read from AWS, not \
             both",
        ));
    }
    let l = &args.live;
    let refused = [
        (!args.policies.is_empty(), "--policy (the policies come from Organizations)"),
        (args.account.is_some(), "--account (the targets are the stack set's instances)"),
        (args.self_managed, "--self-managed (the stack set says its permission model)"),
        (!args.parameters.is_empty(), "--parameter (the stack set's own values are used)"),
        (l.operation_id.is_some(), "--operation-id (a preflight explains no operation)"),
        (l.event.is_some(), "--event (an event reports a failure: diagnose --event)"),
        (l.member_role.is_some(), "--member-role (a preflight reads no member account's stacks)"),
        (l.no_cloudtrail, "--no-cloudtrail (a preflight never searches CloudTrail)"),
        (l.redact, "--redact (the preflight's output is not redacted; collect a bundle with --redact instead)"),
    ];
    let given: Vec<&str> = refused
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, what)| *what)
        .collect();
    if given.is_empty() {
        Ok(())
    } else {
        Err(usage(&format!(
            "a live preflight (--stack-set, --quick-setup) takes none of these options: {}",
            given.join("; ")
        )))
    }
}

/// The plans of every stack set of the evidence (saved or collected live), run, with the order across them.
fn from_evidence(
    evidence: &Evidence,
    label: &str,
    args: &Args,
    catalog: &Catalog,
    data: &preflight::Data,
) -> Result<Reports, Failure> {
    for c in &evidence.coverage {
        warn(&format!("{}: {}", c.scope, c.reason));
    }
    let (plans, notes) = input::plans_from_evidence(
        evidence,
        &catalog.resource_types,
        args.execution_role.as_deref(),
    )?;
    for n in &notes {
        warn(n);
    }
    if plans.is_empty() {
        return Err(Error::BadValue {
            location: Location::file(label),
            reason: "no stack set with a template (describe-stack-set) and instances to check"
                .into(),
        }
        .into());
    }
    let order = ordering::check(
        evidence,
        &catalog.topologies,
        &catalog.resource_types,
        &plans,
    );
    let reports: Vec<Report> = plans.iter().map(|p| preflight::run(p, data)).collect();
    Ok(Report::merge(reports).with_ordering(order))
}

fn file_plan<'c>(
    args: &Args,
    template: &std::path::Path,
    catalog: &'c Catalog,
) -> Result<Plan<'c>, Failure> {
    let label = template.display().to_string();
    let bytes = read::read_path(template, &read::ReadLimits::default())?;
    let t = input::template_from_text(&label, &text::decode(&label, &bytes)?)?;
    let path = stackset_doctor::scp::load_path(&read_policy_files(&args.policies)?)?;
    let account = args.account.clone().unwrap_or_default();
    if !stackset_doctor::ids::is_account_id(account.trim()) {
        return Err(usage(&format!(
            "--account {account:?} is not a 12-digit account id"
        )));
    }
    let region = args
        .live
        .region
        .clone()
        .unwrap_or_else(|| "us-east-1".into());
    let mut parameters = t.parameters;
    parameters.extend(input::parameters(&args.parameters)?);
    let (ss_name, model, exec_name) = t.stack_set.unwrap_or_default();
    let role = match (&args.execution_role, args.self_managed) {
        (Some(n), _) => ExecutionRole {
            name: n.trim().to_owned(),
            seen: Default::default(),
            why: "given with --execution-role".into(),
        },
        (None, true) => ExecutionRole::self_managed(exec_name.as_deref()),
        (None, false) => input::role_for(model.as_deref(), exec_name.as_deref()),
    };
    let label = args
        .policies
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" → ");
    Ok(Plan {
        stack_set: ss_name,
        template: t.template,
        types: &catalog.resource_types,
        parameters,
        role,
        groups: vec![Group {
            label,
            path,
            targets: vec![(account.trim().to_owned(), region)],
        }],
        unchecked: Vec::new(),
    })
}
