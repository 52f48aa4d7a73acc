//! The `stackset-doctor` command line: parses arguments, hands each subcommand to its own module, renders every
//! error once, and maps outcomes to the documented exit codes (`stackset_doctor::error::exit`,
//! `stackset_doctor::scp::exit`).

mod collect;
mod diagnose;
mod explain;
mod failure;
mod live;
mod preflight;
mod rules;
mod schema;
mod scp;
mod terminal;
mod watch;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use failure::Failure;
use stackset_doctor::error::exit;

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
    after_help = "Examples:\n  \
stackset-doctor diagnose samples/quicksetup-scp-deny\n  \
stackset-doctor diagnose --quick-setup --region ap-northeast-1 \\\n    --member-role OrganizationAccountAccessRole\n  \
stackset-doctor collect --stack-set my-set -o evidence.json --redact\n  \
stackset-doctor watch --stack-set my-set --timeout 30m --early\n  \
aws cloudformation describe-stack-events --stack-name S --output json | \\\n    stackset-doctor diagnose -\n  \
stackset-doctor diagnose evidence/ --format markdown > ticket.md\n  \
stackset-doctor explain 'Resource creation cancelled'\n  \
stackset-doctor rules list\n  \
stackset-doctor preflight --template t.yaml --policy scp.json --account 121212121212\n\n\
Exit codes: 0 no failure; 1 bad input or error; 2 usage error; 3 failures, every root cause matched a rule; 4 \
failures, some root cause matched no rule; 5 no failure found, but evidence is missing (not an all-clear); `watch` also 6 its --timeout passed before the \
operation ended, 130 stopped by Ctrl-C. `scp check`/`scp fix` and `preflight` use 3 for \"denied\" (see their --help)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Diagnose a failed deployment: from saved AWS CLI JSON or an evidence bundle, or collected live from AWS.
    #[command(after_help = diagnose::HELP)]
    Diagnose(diagnose::Args),
    /// Gather the evidence of a failed deployment from AWS into an evidence bundle (read-only).
    #[command(after_help = collect::HELP)]
    Collect(collect::Args),
    /// Wait for a StackSet operation to end, showing its progress, then diagnose it (read-only).
    #[command(after_help = watch::HELP)]
    Watch(watch::Args),
    /// Classify one message (or, with -, one message per line of stdin).
    Explain(explain::Args),
    /// List or test the rule catalog.
    #[command(subcommand)]
    Rules(rules::Command),
    /// Evaluate a request against SCPs/RCPs, or propose a proven exemption.
    #[command(subcommand)]
    Scp(scp::Command),
    /// Predict which actions of a template the SCPs/RCPs will deny, per target account, before deploying; with
    /// one proven patch for the certain denies.
    #[command(after_help = preflight::HELP)]
    Preflight(preflight::Args),
    /// Print the JSON Schema of the report or of the evidence bundle, to validate them in automation.
    #[command(after_help = schema::HELP)]
    Schema(schema::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `stackset-doctor completions bash > ~/.local/share/bash-completion/completions/stackset-doctor`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `stackset-doctor man > ~/.local/share/man/man1/stackset-doctor.1`.
    Man,
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<i32, Failure> {
    match cli.command {
        Command::Diagnose(args) => diagnose::run(args, out),
        Command::Collect(args) => collect::run(args, out),
        Command::Watch(args) => watch::run(args, out),
        Command::Explain(args) => explain::run(args, out),
        Command::Rules(c) => rules::run(c, out),
        Command::Scp(c) => scp::run(c, out),
        Command::Preflight(args) => preflight::run(args, out),
        Command::Schema(args) => schema::run(args, out),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "stackset-doctor", out);
            Ok(exit::OK)
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(out)
                .map_err(Failure::Io)?;
            Ok(exit::OK)
        }
    }
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
    ExitCode::from(match result {
        Ok(code) => code,
        Err(f) => f.report(),
    } as u8)
}
