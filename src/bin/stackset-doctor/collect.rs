//! `stackset-doctor collect`: gather the evidence from AWS and write it as a bundle.

use std::io::Write;
use std::path::PathBuf;

use crate::failure::{usage, Failure};
use crate::live::{collect_live, redact, LiveArgs};
use stackset_doctor::error::exit;
use stackset_doctor::evidence::Bundle;
use stackset_doctor::output::{self, Target};

pub const HELP: &str = "Reads, never writes: the tool refuses any API call outside its read-only allow-list \
(README: \"IAM permissions\"). Credentials and region come from the standard chain (environment, --profile, SSO, \
instance role). Gaps (an account where the member role cannot be assumed, a throttled call that ran out of retries, \
a timeout) are recorded in the bundle's coverage section and the collection goes on. In each account and Region \
with failing stacks, CloudTrail's event history is searched (cloudtrail:LookupEvents, through the member role) for \
the failed calls CloudFormation made in the failures' window; --no-cloudtrail skips it, and a refused search is a \
coverage note naming the permission.\n\nExamples:\n  \
stackset-doctor collect --quick-setup --region ap-northeast-1 --call-as DELEGATED_ADMIN -o bundle.json\n  \
stackset-doctor collect --stack-set my-set --operation-id 1a2b... --member-role OrganizationAccountAccessRole -o b.json\n  \
stackset-doctor collect --event event.json -o bundle.json --redact\n  \
stackset-doctor diagnose bundle.json\n\n\
--event FILE (or -) reads an EventBridge event of CloudFormation StackSets and collects what it names; an event \
that is no failure writes no bundle, says \"nothing to collect: ...\" on stderr and exits 0 (README: \"Run it from \
EventBridge\").";

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    live: LiveArgs,
    /// Where to write the evidence bundle (written atomically; - for stdout).
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
}

pub fn run(mut args: Args, out: &mut dyn Write) -> Result<i32, Failure> {
    // No AWS call, and no bundle, for an event that is no failure (docs/eventbridge.md).
    if let Some(why) = args.live.take_event()? {
        eprintln!(
            "stackset-doctor: nothing to collect: {}",
            crate::failure::for_stderr(&why)
        );
        return Ok(exit::OK);
    }
    if !args.live.wanted() {
        return Err(usage(
            "nothing to collect: give --stack-set NAME (repeatable), --quick-setup or --event FILE",
        ));
    }
    // The AWS CLI's habit: `--output json` names a format. Here --output names the bundle's file, which is always
    // JSON; a file called `json` is never what was meant.
    if let Some(fmt) = args
        .output
        .to_str()
        .filter(|o| ["json", "yaml", "yaml-stream", "text", "table"].contains(o))
    {
        return Err(usage(&format!(
            "--output {fmt} would write the bundle to a file named `{fmt}`: --output (-o) names the bundle's file \
             (always JSON), e.g. -o bundle.json, or -o - for stdout"
        )));
    }
    let collected = collect_live(&args.live)?;
    let mut evidence = collected.evidence;
    let mut stats = collected.stats;
    if args.live.redact {
        let mut r = redact(&mut evidence);
        stats.caller_account = r.text(&stats.caller_account);
    }
    let target = Target::of(&args.output);
    output::write_bundle(&target, &Bundle::new(evidence, Some(stats)), out)?;
    if target != Target::Stdout {
        eprintln!("stackset-doctor: wrote {}", args.output.display());
    }
    Ok(exit::OK)
}
