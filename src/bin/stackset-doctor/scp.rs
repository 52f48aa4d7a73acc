//! `stackset-doctor scp check|fix`: read the policies, build the request, evaluate or patch, print. Exit codes
//! are `stackset_doctor::scp::exit`: check 0 allowed, 3 denied, 1 bad input or cannot evaluate; fix 0 proven patch
//! printed (or nothing to fix), 3 no patch can be offered, 1 bad input.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::failure::{usage, Failure};
use stackset_doctor::collect::{read, text};
use stackset_doctor::json;
use stackset_doctor::output;
use stackset_doctor::scp::{self, exit, RequestSpec, ScpError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// What `check` and `fix` share: the policies and the request.
#[derive(Debug, Clone, clap::Args)]
pub struct RequestArgs {
    /// Policy files, root first, one level each: policy documents or `aws organizations describe-policy`
    /// output (FullAWSAccess is then assumed at each level); or one levels file
    /// ({"levels": [{"name": ..., "policies": [...]}, ...]}). - reads stdin.
    #[arg(long = "policy", required = true, num_args = 1.., value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// The principal as the error message shows it (STS session ARN) or as an IAM ARN.
    #[arg(long, value_name = "ARN")]
    principal: String,
    /// The action, e.g. s3:PutBucketPublicAccessBlock.
    #[arg(long, value_name = "ACTION")]
    action: String,
    /// The resource ARN (needed when a statement names resources).
    #[arg(long, value_name = "ARN")]
    resource: Option<String>,
    /// The account the OU path leads to (default: the principal's account).
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// The organization's management account, which SCPs and RCPs do not affect.
    #[arg(long, value_name = "ID")]
    management_account: Option<String>,
    /// A condition context value, repeatable (repeat a key for a multi-valued key), e.g. aws:SourceIp=10.0.0.1.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, Clone, clap::Args)]
pub struct FixArgs {
    #[command(flatten)]
    request: RequestArgs,
    /// Write the patched policy document to FILE (FILE.2.json, ... when several policies are patched).
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
}

/// `scp check` / `scp fix`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Evaluate a request against SCPs/RCPs and say why it is allowed or denied.
    Check {
        #[command(flatten)]
        request: RequestArgs,
    },
    /// Propose an exemption for an explicit deny, as a diff and a whole document, with its proof.
    Fix(FixArgs),
}

pub fn run(cmd: Command, out: &mut dyn Write) -> Result<i32, Failure> {
    match cmd {
        Command::Check { request } => check(request, out),
        Command::Fix(a) => fix(a, out),
    }
}

/// Policy files (`-` for stdin, once), read as every other input is (bounded, UTF-8 or UTF-16): (label, text).
/// `preflight` reads its `--policy` files the same way.
pub fn read_policy_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, Failure> {
    let mut files = Vec::new();
    let mut stdin_used = false;
    for p in paths {
        let (label, bytes) = if p == Path::new("-") {
            if stdin_used {
                return Err(ScpError::Invalid {
                    label: "-".into(),
                    reason: "stdin can be read only once".into(),
                }
                .into());
            }
            stdin_used = true;
            (
                "<stdin>".to_owned(),
                read::read_stdin(&read::ReadLimits::default())?,
            )
        } else {
            (
                p.display().to_string(),
                read::read_path(p, &read::ReadLimits::default())?,
            )
        };
        let text = text::decode(&label, &bytes)?;
        files.push((label, text));
    }
    Ok(files)
}

/// The policies and the request.
fn prepare(a: &RequestArgs) -> Result<(scp::OrgPath, scp::Request), Failure> {
    let files = read_policy_files(&a.policies)?;
    let spec = RequestSpec {
        principal: a.principal.clone(),
        action: a.action.clone(),
        resource: a.resource.clone(),
        account: a.account.clone(),
        management_account: a.management_account.clone(),
        context: a.context.clone(),
    };
    Ok(scp::request(&spec, &files)?)
}

fn print_json(out: &mut dyn Write, v: &impl serde::Serialize) -> Result<(), Failure> {
    json::write(&mut *out, v, true)?;
    writeln!(out)?;
    Ok(())
}

fn check(a: RequestArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    let (path, req) = prepare(&a)?;
    let ev = scp::evaluate(&path, &req);
    match a.format {
        OutputFormat::Text => scp::write_check(&ev, out)?,
        OutputFormat::Json => print_json(out, &ev)?,
    }
    Ok(ev.verdict.exit_code())
}

/// Where the patched documents go: FILE, then FILE.2.json, FILE.3.json, ...
fn write_targets(base: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            if i == 0 {
                return base.to_path_buf();
            }
            let stem = base
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = base
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            base.with_file_name(format!("{stem}.{}{ext}", i + 1))
        })
        .collect()
}

fn fix(args: FixArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    if args.write.as_deref() == Some(Path::new("-")) {
        return Err(usage(
            "--write - would mix the patched document with the fix on standard output: give a file (the fix \
             prints the whole patched document too)",
        ));
    }
    let (path, req) = prepare(&args.request)?;
    let format = args.request.format;
    let mut f = match scp::fix(&path, &req) {
        Ok(f) => f,
        Err(ScpError::Unproven { fix, .. }) => {
            match format {
                OutputFormat::Text => scp::write_fix(&fix, out)?,
                OutputFormat::Json => print_json(out, &fix)?,
            }
            return Ok(exit::NO_PATCH);
        }
        Err(e @ (ScpError::NothingToFix(_) | ScpError::NoPatch(_))) => {
            let code = e.exit_code();
            match format {
                OutputFormat::Text => writeln!(out, "{e}")?,
                OutputFormat::Json => print_json(
                    out,
                    &serde_json::json!({"fix": null, "reason": e.to_string()}),
                )?,
            }
            return Ok(code);
        }
        Err(e) => return Err(e.into()),
    };
    let mut written = Vec::new();
    if let Some(base) = &args.write {
        let targets = write_targets(base, f.patches.len());
        for (p, target) in f.patches.iter_mut().zip(targets) {
            output::write_file(&target, p.patched_text.as_bytes())?;
            let shown = target.display().to_string();
            if let Some(cmd) = &mut p.apply_command {
                *cmd = cmd.replace("PATCHED.json", &shown);
            }
            written.push(format!("{} written to {shown}", p.policy.display));
        }
    }
    match format {
        OutputFormat::Text => {
            scp::write_fix(&f, out)?;
            for w in &written {
                writeln!(out, "{w}")?;
            }
        }
        OutputFormat::Json => print_json(out, &f)?,
    }
    // Proven, but too large for AWS to store: there is no patch to apply as it stands.
    Ok(if f.patches.iter().all(|p| p.size.fits) {
        exit::ALLOWED
    } else {
        exit::NO_PATCH
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_targets_number_extra_files() {
        let t = write_targets(Path::new("/x/p.json"), 3);
        assert_eq!(
            t,
            [
                PathBuf::from("/x/p.json"),
                PathBuf::from("/x/p.2.json"),
                PathBuf::from("/x/p.3.json")
            ]
        );
    }

    #[test]
    fn args_parse() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(subcommand)]
            c: Command,
        }
        let t = T::try_parse_from([
            "t",
            "fix",
            "--policy",
            "a",
            "b",
            "--principal",
            "p",
            "--action",
            "s3:X",
            "--context",
            "k=v",
            "--write",
            "o",
        ])
        .unwrap();
        let Command::Fix(f) = t.c else { panic!() };
        assert_eq!(f.request.policies.len(), 2);
        assert_eq!(f.write, Some(PathBuf::from("o")));
    }
}
