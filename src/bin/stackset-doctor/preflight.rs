//! `stackset-doctor preflight`: read the template and the policies (files, or a bundle), run
//! `stackset_doctor::preflight`, print. Exit 0 nothing predicted, 3 a deny predicted, 1 bad input.

use std::io::Write;
use std::path::PathBuf;

use crate::failure::{usage, warn, Failure};
use crate::scp::read_policy_files;
use stackset_doctor::classify::Catalog;
use stackset_doctor::collect::{self, read, text};
use stackset_doctor::error::{Error, Location};
use stackset_doctor::preflight::{self, input, ExecutionRole, Format, Group, Plan, Report};

pub const HELP: &str = "Examples:\n  \
stackset-doctor preflight --template template.yaml --policy scp.json --account 121212121212 --region ap-northeast-1\n  \
stackset-doctor preflight --template describe-stack-set.json --policy levels.json --account 121212121212\n  \
stackset-doctor preflight samples/quicksetup-scp-deny --format json\n\n\
Each resource's create-handler actions (CloudFormation registry schemas, shipped in cfn-lint) are checked against \
the SCPs and RCPs of each target's policy path, as the stack set's execution role: certain (the template's \
properties make the handler call it) or possible. Accounts sharing a path are evaluated once. Verdicts that need \
what the template cannot tell are listed as unsettled. See docs/preflight.md.\n\n\
Exit codes: 0 no deny predicted (unsettled actions may be listed); 1 bad input or error; 2 usage error; 3 some \
deny predicted.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Clone, clap::Args)]
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
    /// The target Region (default us-east-1).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
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
}

pub fn run(args: Args, out: &mut dyn Write) -> Result<i32, Failure> {
    let catalog = Catalog::builtin()?;
    let data = preflight::data::builtin()?;
    let format = match args.format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Markdown => Format::Markdown,
    };
    let reports: Vec<Report> = if let Some(t) = &args.template {
        let plan = file_plan(&args, t, &catalog)?;
        vec![preflight::run(&plan, data)]
    } else {
        if args.paths.is_empty() {
            return Err(usage(
                "give a bundle or folder (PATH), or --template FILE --policy FILE... --account ID",
            ));
        }
        let loaded = collect::load_paths(&args.paths)?;
        for w in &loaded.warnings {
            warn(w);
        }
        let (plans, notes) = input::plans_from_evidence(
            &loaded.evidence,
            &catalog.resource_types,
            args.execution_role.as_deref(),
        )?;
        for n in &notes {
            warn(n);
        }
        if plans.is_empty() {
            return Err(Error::BadValue {
                location: Location::file(
                    args.paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                reason: "no stack set with a template (describe-stack-set) and instances to check"
                    .into(),
            }
            .into());
        }
        plans.iter().map(|p| preflight::run(p, data)).collect()
    };
    let merged = Report::merge(reports);
    preflight::write(&merged, format, out)?;
    Ok(merged.exit_code())
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
    let region = args.region.clone().unwrap_or_else(|| "us-east-1".into());
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
    })
}
